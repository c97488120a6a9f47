"""本文各图：一个 JVM 进程里共享与私有的运行时数据区，以及 Thread.State 的状态机。

画图时不运行 Java（构建网站的机器上不一定有 JDK）：图中的线程名、状态序列和计数都读自
java_thread_demo.output.txt，即测试核对过的那份 java_thread_demo.py 的输出。
"""
import re
from collections import deque
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

OUTPUT = Path(__file__).resolve().parent / "java_thread_demo.output.txt"


def read_report(path=OUTPUT):
    """解析 report() 的输出：线程列表、两个演示线程的状态序列、堆实验的计数。"""
    text = path.read_text(encoding="utf-8")
    threads = [dict(id=int(i), daemon=d == "true", state=s, name=n)
               for i, d, s, n in re.findall(r"id=(\d+)\s+daemon=(\w+)\s+state=(\w+)\s+name=(.+)", text)]
    sequences = {name: seq.split(" -> ") for name, seq in re.findall(r"(demo-\w+) 依次处于：(.+)", text)}
    shared, local0, local1 = map(int, re.search(r"共享计数 (\d+).*?局部计数 (\d+) / (\d+)", text).groups())
    return dict(threads=threads, sequences=sequences, shared=shared, locals=(local0, local1))


def _box(ax, x, y, w, h, colour, fill=0.12, lw=1.2, ls="-"):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0,rounding_size=0.08",
                                facecolor=colour, alpha=fill, edgecolor="none"))
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0,rounding_size=0.08",
                                facecolor="none", edgecolor=colour, lw=lw, ls=ls))


def plot_memory_areas():
    info = read_report()
    daemons = [t["name"] for t in info["threads"] if t["daemon"]]
    fig, ax = plt.subplots(figsize=(7.2, 5.0))
    W = 10.0
    _box(ax, 0, 0, W, 7.3, "C7", fill=0.0, lw=1.5)
    ax.text(0.15, 7.05, "一个 JVM 进程 = 一个操作系统进程", va="center")

    # 共享区：堆与方法区
    _box(ax, 0.2, 4.75, 6.9, 1.95, "C0")
    ax.text(0.35, 6.45, "堆（所有线程共享）", va="center", color="C0")
    heap_y = 5.05
    _box(ax, 0.4, heap_y, 6.5, 0.8, "C0", fill=0.25)
    ax.text(3.65, heap_y + 0.4, f"AtomicInteger 对象：值 = {info['shared']}", ha="center", va="center")
    _box(ax, 7.25, 4.75, 2.55, 1.95, "C4")
    ax.text(7.4, 6.45, "方法区（共享）", va="center", color="C4")
    ax.text(7.4, 5.45, "类 ThreadListing：\n字节码、\n运行时常量池", va="center", linespacing=1.4)

    # 每个线程私有：虚拟机栈（栈顶在上）、程序计数器、本地方法栈。
    # 栈帧里 shared 是引用（●），指向堆上同一个对象；mine 是 int，值就在栈帧里
    columns = [("main", [("sharedHeap…()", ["shared ●"]), ("main()", ["args"])]),
               ("worker-0", [("lambda 体", ["shared ●", f"mine = {info['locals'][0]}"]), ("Thread.run()", [])]),
               ("worker-1", [("lambda 体", ["shared ●", f"mine = {info['locals'][1]}"]), ("Thread.run()", [])])]
    x, cw, gap = 0.2, 2.2, 0.15
    for name, frames in columns:
        _box(ax, x, 0.2, cw, 4.35, "C2")
        ax.text(x + 0.12, 4.3, f"线程 {name}", va="center", color="C2")
        ax.text(x + 0.12, 3.85, "虚拟机栈", va="center", color="C2")
        fy = 3.6
        for method, local_vars in frames:
            h = 0.42 * (len(local_vars) + 1) + 0.1
            _box(ax, x + 0.12, fy - h, cw - 0.24, h, "C2", fill=0.25, lw=0.8)
            ax.text(x + 0.22, fy - 0.26, method, va="center")
            for i, var in enumerate(local_vars):
                vy = fy - 0.26 - 0.42 * (i + 1)
                if var.endswith("●"):                       # 引用：画一个点，箭头指向堆上的对象
                    px = x + cw - 0.3
                    ax.text(x + 0.34, vy, var[:-1].strip(), va="center")
                    ax.plot(px, vy, "o", color="C0", ms=6, zorder=6)
                    ax.add_patch(FancyArrowPatch((px, vy), (px, heap_y), arrowstyle="-|>",
                                                 mutation_scale=12, color="C0", lw=1.3, shrinkA=0,
                                                 shrinkB=1, zorder=5))
                else:
                    ax.text(x + 0.34, vy, var, va="center")
            fy -= h + 0.08
        for k, label in enumerate(["程序计数器", "本地方法栈"]):
            _box(ax, x + 0.12, 0.85 - 0.6 * k, cw - 0.24, 0.48, "C2", fill=0.25, lw=0.8)
            ax.text(x + cw / 2, 1.09 - 0.6 * k, label, ha="center", va="center")
        x += cw + gap
    # 其余的守护线程（读自输出的线程列表）
    _box(ax, x, 0.2, W - 0.2 - x, 4.35, "C7", fill=0.06, ls="--")
    ax.text(x + (W - 0.2 - x) / 2, 4.3, f"另 {len(daemons)} 个守护线程", ha="center", va="center", color="C7")
    for i, name in enumerate(daemons):
        ax.text(x + (W - 0.2 - x) / 2, 3.6 - 0.62 * i, name, ha="center", va="center", color="C7")
    ax.text(x + (W - 0.2 - x) / 2, 3.6 - 0.62 * len(daemons), "（各有私有区）", ha="center", va="center",
            color="C7")
    ax.set_xlim(-0.05, W + 0.05)
    ax.set_ylim(-0.05, 7.35)
    ax.set_axis_off()
    return fig


# Thread.State 的转换：(起点, 终点, 标注, 弧度, 标注位置, 对齐)。标注是正文里列出的典型触发方式；
# 往返的两条边向两侧弯开（arc3 的弧度），标注的位置只是排版。
TRANSITIONS = [
    ("NEW", "RUNNABLE", "start()", 0.0, (2.45, 2.3), "center"),
    ("RUNNABLE", "TERMINATED", "run() 结束", 0.0, (7.0, 2.3), "center"),
    ("RUNNABLE", "BLOCKED", "争锁", 0.3, (4.15, 3.0), "left"),
    ("BLOCKED", "RUNNABLE", "得锁", 0.3, (3.05, 3.0), "right"),
    ("RUNNABLE", "WAITING", "wait/join/park", 0.25, (1.85, 1.5), "right"),
    ("WAITING", "RUNNABLE", "unpark 等", 0.25, (3.45, 0.3), "right"),
    ("RUNNABLE", "TIMED_WAITING", "sleep/wait(ms)", -0.25, (5.35, 1.5), "left"),
    ("TIMED_WAITING", "RUNNABLE", "超时/中断", -0.25, (3.75, 0.3), "left"),
    ("WAITING", "BLOCKED", "被 notify", -0.45, (1.15, 2.95), "right"),
    ("TIMED_WAITING", "BLOCKED", "被 notify", 0.45, (6.05, 2.95), "left"),
]
POSITIONS = {"NEW": (0.0, 2.0), "RUNNABLE": (3.6, 2.0), "TERMINATED": (8.3, 2.0),
             "BLOCKED": (3.6, 4.0), "WAITING": (1.0, 0.0), "TIMED_WAITING": (6.2, 0.0)}


def state_path(observed):
    """把观察到的状态序列补成状态机上的一条路径：相邻两个状态之间没有直接的边时，
    用广度优先搜索补上中间状态（例如 BLOCKED → TERMINATED 要经过 RUNNABLE）。"""
    succ = {}
    for a, b, *_ in TRANSITIONS:
        succ.setdefault(a, []).append(b)
    path = [observed[0]]
    for target in observed[1:]:
        prev, queue = {path[-1]: None}, deque([path[-1]])
        while queue:
            s = queue.popleft()
            for t in succ.get(s, []):
                if t not in prev:
                    prev[t] = s
                    queue.append(t)
        hop, back = target, []
        while hop != path[-1]:
            back.append(hop)
            hop = prev[hop]
        path += back[::-1]
    return path


def plot_state_machine():
    info = read_report()
    path = state_path(info["sequences"]["demo-waiter"])
    on_path = {(a, b): k + 1 for k, (a, b) in enumerate(zip(path, path[1:]))}
    sleeper = state_path(info["sequences"]["demo-sleeper"])
    sleeper_only = set(zip(sleeper, sleeper[1:])) - set(on_path)

    fig, ax = plt.subplots(figsize=(7.2, 4.0))
    boxes = {}
    for state, (x, y) in POSITIONS.items():
        t = ax.text(x, y, state, ha="center", va="center", family="monospace", zorder=4,
                    bbox=dict(boxstyle="round,pad=0.4", facecolor="#eaeef2", edgecolor="k", lw=1.0))
        boxes[state] = t.get_bbox_patch()            # 箭头在方框边上截断
    for a, b, label, rad, (lx, ly), align in TRANSITIONS:
        step = on_path.get((a, b))
        colour, lw = ("C0", 2.2) if step else ("C1", 2.2) if (a, b) in sleeper_only else ("C7", 1.0)
        ax.add_patch(FancyArrowPatch(POSITIONS[a], POSITIONS[b], patchA=boxes[a], patchB=boxes[b],
                                     connectionstyle=f"arc3,rad={rad}", arrowstyle="-|>",
                                     mutation_scale=14, color=colour, lw=lw, shrinkA=2, shrinkB=2,
                                     zorder=1))
        ax.text(lx, ly, (f"{step} " if step else "") + label, ha=align, va="center", color=colour,
                fontweight="bold" if lw > 1 else "normal", zorder=3,
                bbox=dict(boxstyle="round,pad=0.1", facecolor="white", edgecolor="none", alpha=0.9))
    ax.set_xlim(-0.6, 9.2)
    ax.set_ylim(-0.4, 4.4)
    ax.set_axis_off()
    return fig
