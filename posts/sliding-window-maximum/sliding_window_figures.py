"""本文各图：单调队列在手算示例上的逐轮状态，以及三种方法的工作量随 k 的变化。"""
import random
from collections import deque

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

import sliding_window as sw

EXAMPLE, K = [2, 7, 3, 3, 5, -1, 4, 4, 1], 3


class _TracingDeque(deque):
    """记下每一次 append / pop / popleft 以及当时的下标。"""

    def __init__(self):
        super().__init__()
        self.log = []

    def append(self, x):
        super().append(x)
        self.log.append(("append", x, list(self)))

    def pop(self):
        x = super().pop()
        self.log.append(("pop", x, None))
        return x

    def popleft(self):
        x = super().popleft()
        self.log.append(("popleft", x, None))
        return x


def trace_deque(nums, k):
    """运行文中的 max_monotonic_deque（把模块里的 deque 临时换成记录版），
    按轮次整理：[(i, 过期弹出的下标, 被支配弹出的下标, 本轮结束时的队列)]，以及输出。"""
    made = []
    saved = sw.deque
    sw.deque = lambda: made.append(_TracingDeque()) or made[-1]
    try:
        out = sw.max_monotonic_deque(nums, k)
    finally:
        sw.deque = saved
    rounds, expired, dominated = [], [], []
    for op, x, state in made[0].log:                   # 每轮恰好 append 一次，它结束这一轮
        if op == "popleft":
            expired.append(x)
        elif op == "pop":
            dominated.append(x)
        else:
            rounds.append((x, expired, dominated, state))
            expired, dominated = [], []
    return rounds, out


def plot_deque_trace():
    rounds, out = trace_deque(EXAMPLE, K)
    n = len(EXAMPLE)
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    for j, a in enumerate(EXAMPLE):                    # 表头：下标与数组
        ax.text(j, 1.0, f"{j}", ha="center", va="center", color="C7")
        ax.text(j, 0.2, f"{a}", ha="center", va="center", fontweight="bold")
    ax.text(-0.75, 1.0, "下标", ha="right", va="center", color="C7")
    ax.text(-0.75, 0.2, "$a_j$", ha="right", va="center")
    ax.axhline(-0.35, color="#bfc8d2", lw=1)
    for i, expired, dominated, state in rounds:
        y = -1 - i
        lo = max(0, i - K + 1)
        ax.add_patch(Rectangle((lo - 0.5, y - 0.45), i - lo + 1, 0.9, facecolor="#eaeef2", edgecolor="none"))
        for j in state:                                # 本轮结束时队列里的下标
            front = j == state[0]                      # 队首：当前窗口的最大值
            ax.add_patch(Rectangle((j - 0.4, y - 0.36), 0.8, 0.72, facecolor="C0", alpha=0.5 if front else 0.2,
                                   edgecolor="C0", lw=1.5 if front else 0.8))
            ax.text(j, y, f"{EXAMPLE[j]}", ha="center", va="center")
        for j in dominated:                            # 本轮被新元素支配、从队尾弹出
            ax.text(j, y, f"{EXAMPLE[j]}", ha="center", va="center", color="C3")
            ax.plot([j - 0.3, j + 0.3], [y - 0.28, y + 0.28], color="C3", lw=1.5)
        for j in expired:                              # 本轮滑出窗口、从队首弹出
            ax.text(j, y, f"{EXAMPLE[j]}", ha="center", va="center", color="C1")
            ax.plot([j - 0.3, j + 0.3], [y - 0.28, y + 0.28], color="C1", lw=1.5)
        ax.text(-0.75, y, f"$i={i}$", ha="right", va="center")
        if i >= K - 1:
            ax.text(n + 0.2, y, f"$m_{{{i - K + 1}}}={out[i - K + 1]}$", ha="left", va="center")
    handles = [Rectangle((0, 0), 1, 1, facecolor="#eaeef2", edgecolor="none", label="窗口 $W_i$"),
               Rectangle((0, 0), 1, 1, facecolor="C0", alpha=0.35, edgecolor="C0", label="队列 $D$"),
               plt.Line2D([], [], color="C3", lw=1.5, label="被支配弹出"),
               plt.Line2D([], [], color="C1", lw=1.5, label="过期弹出")]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=4, frameon=False,
              handlelength=1.2, columnspacing=1.0)
    ax.set_xlim(-1.9, n + 1.3)
    ax.set_ylim(-n - 0.55, 1.4)
    ax.set_axis_off()
    return fig


def plot_work_vs_k():
    n = 2000
    rng = random.Random(7)                             # 与正文输出中第二张表相同的随机数组
    data = [rng.randint(-10**6, 10**6) for _ in range(n)]
    # 对数网格，再加上暴力法最慢的 k = (n+2)/2 与 k = n 附近几个点（那里比较次数陡降到 n-1）
    ks = np.unique(np.r_[np.round(np.logspace(0, np.log10(n), 14)), (n + 2) // 2, n - 100, n - 10, n]
                   .astype(int))
    brute, heap, dq = [], [], []
    for k in ks:
        brute.append((n - k + 1) * (k - 1))
        _, pops = sw.heap_lazy_stats(data, int(k))
        heap.append(n + pops)
        pushes, popped, _ = sw.deque_op_counts(data, int(k))
        dq.append(pushes + popped)
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.loglog(ks[1:], brute[1:], "o-", color="C3", ms=4, label="暴力法：比较次数")
    ax.loglog(ks, heap, "s-", color="C1", ms=4, label="懒删除堆：入堆+出堆")
    ax.loglog(ks, dq, "^-", color="C0", ms=4, label="单调队列：入队+出队")
    ax.axhline(2 * n, color="C7", ls="--", lw=1)
    ax.text(ks[0], 2 * n * 1.15, "$2n$", color="C7", va="bottom")
    ax.set_xlabel("窗口宽度 $k$")
    ax.set_ylabel("操作次数")
    ax.legend(loc="upper left")
    return fig
