"""本文各图：Ring 的调度表（由模拟器实际发出的消息生成）与 α–β 代价模型。"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyBboxPatch

from ring_allreduce_sim import (Stats, cost_naive, cost_ring, cost_tree, crossover_bytes,
                                naive_allreduce, ring_all_gather, ring_allreduce,
                                ring_reduce_scatter, tree_allreduce)


def ring_schedule(N=4):
    """用字符串拼接当归约运算跑一遍模拟器（每块一个元素，rank r 贡献字符 "r"），
    每步投递之后给所有 rank 的缓冲区拍一张快照。返回 [(阶段, s, {rank: (块号, 消息内容)})]
    以及 reduce-scatter 结束时的缓冲区。块号取自接收方被改写的那一块，内容取自发送方上一张快照。"""
    bufs = [np.array([str(r)] * N, dtype=object) for r in range(N)]
    stats = Stats(N)
    snaps = [[b.copy() for b in bufs]]
    deliver = stats.deliver

    def deliver_and_snapshot(messages):
        deliver(messages)
        snaps.append([b.copy() for b in bufs])

    stats.deliver = deliver_and_snapshot          # 只多拍快照，消息本身照常记账
    ring_reduce_scatter(bufs, op=np.add, stats=stats)
    after_rs = [b.copy() for b in bufs]
    ring_all_gather(bufs, stats=stats)
    rows = []
    for k, step in enumerate(stats.steps):
        before, after = snaps[k], snaps[k + 1]
        sends = {}
        for src, dst, _ in step:
            (c,) = [c for c in range(N) if after[dst][c] != before[dst][c]]
            sends[src] = (c, before[src][c])
        phase = "RS" if k < N - 1 else "AG"
        rows.append((phase, k % (N - 1), sends))
    return rows, after_rs


def _cell(ax, x, y, w, h, colour, text, strong=False):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.06",
                                facecolor=colour, alpha=0.45 if strong else 0.18, edgecolor=colour,
                                linewidth=1.6 if strong else 1.0))
    ax.text(x, y, text, ha="center", va="center")


def plot_schedule():
    N = 4
    rows, after_rs = ring_schedule(N)
    fig, ax = plt.subplots(figsize=(6.4, 4.1))
    w, h = 0.9, 0.72
    labels = []
    y = 0
    for r in range(N):                                         # 表头：rank r 发给 r+1
        ax.text(r, y, f"rank {r}→{(r + 1) % N}", ha="center", va="center")
    for k, (phase, s, sends) in enumerate(rows):
        y -= 1
        if k == N - 1:                                         # reduce-scatter 结束时各 rank 的完整块
            for r in range(N):
                (c,) = [c for c in range(N) if len(after_rs[r][c]) == N]
                _cell(ax, r, y, w, h, f"C{c}", f"持有块 {c}", strong=True)
            labels.append((y, "RS 结束"))
            ax.axhline(y - 0.5, color="#bfc8d2", lw=1)
            ax.axhline(y + 0.5, color="#bfc8d2", lw=1)
            y -= 1
        for r in range(N):
            c, content = sends[r]
            _cell(ax, r, y, w, h, f"C{c}", f"块 {c}: " + "+".join(content), strong=len(content) == N)
        labels.append((y, f"{phase} $s={s}$"))
    for yy, text in labels:
        ax.text(-0.6, yy, text, ha="right", va="center")
    ax.set_xlim(-1.55, N - 0.5)
    ax.set_ylim(y - 0.5, 0.5)
    ax.set_axis_off()
    return fig


def plot_cost_model():
    alpha, beta = 5e-6, 1e-10
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7.2, 3.4))

    N = 64
    m = np.logspace(3, 9, 200)
    for f, name, colour in [(cost_naive, "朴素", "C3"), (cost_tree, "二项树", "C1"), (cost_ring, "Ring", "C0")]:
        ax1.loglog(m, f(N, m, alpha, beta), color=colour, label=name)
    m_star = crossover_bytes(N, alpha, beta)
    ax1.axvline(m_star, color="C7", ls="--", lw=1)
    ax1.annotate("$m^*$", (m_star, 1.5e-4), xytext=(5, 0), textcoords="offset points", color="C7")
    ax1.set_xlabel("消息大小 $m$（字节）")
    ax1.set_ylabel("耗时（秒）")
    ax1.legend(loc="upper left")
    ax1.text(0.97, 0.04, f"$N={N}$", transform=ax1.transAxes, ha="right", va="bottom")

    Ns = [2, 4, 8, 16, 32, 64]
    n = 64                                            # 每个 rank 64 个元素：N 整除 n
    size = n * 8
    sent = {name: [] for name in ("朴素", "二项树", "Ring")}
    for N in Ns:
        data = [np.ones(n) for _ in range(N)]
        for name, algo in [("朴素", naive_allreduce), ("二项树", tree_allreduce), ("Ring", ring_allreduce)]:
            _, stats = algo(data)
            sent[name].append(stats.sent.max() / size)
    for name, colour in [("朴素", "C3"), ("二项树", "C1"), ("Ring", "C0")]:
        ax2.plot(Ns, sent[name], "o-", color=colour, label=name)
    ax2.axhline(2, color="C7", ls="--", lw=1)
    ax2.text(64, 2.4, "上界 $2m$", color="C7", ha="right", va="bottom")
    ax2.set_xscale("log", base=2)
    ax2.set_yscale("log", base=2)
    ax2.set_xticks(Ns, [str(N) for N in Ns])
    ax2.set_yticks([1, 2, 4, 16, 64], ["1", "2", "4", "16", "64"])
    ax2.set_xlabel("进程数 $N$")
    ax2.set_ylabel("最忙 rank 的发送量（$\\times m$）")
    return fig
