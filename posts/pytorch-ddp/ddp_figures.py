"""本文各图：DistributedSampler 的切分、正文实验的分桶、分桶与通信重叠的示意时间线。
规则都来自 ddp_rules.py（纯 Python，测试把它与 PyTorch 的实现对照过）。"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyBboxPatch, Rectangle

from ddp_rules import (DEMO, MIB, assign_buckets, ddp_bucket_sizes, mlp_parameters,
                       overlap_timeline, shard_indices)

LABEL_BOX = dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none", alpha=0.85)


def _cell(ax, x, y, text, color, alpha=0.35, hatch=None, dashed=False):
    ax.add_patch(Rectangle((x, y), 1, 1, facecolor=color, alpha=alpha, edgecolor="none"))
    ax.add_patch(Rectangle((x, y), 1, 1, fill=False, edgecolor="C7", lw=0.8, hatch=hatch,
                           ls="--" if dashed else "-"))
    ax.text(x + 0.5, y + 0.5, text, ha="center", va="center", fontsize=11)


def plot_sampler(n=10, world_size=4, seed=0):
    """N = 10 个样本、W = 4 个进程：同一个排列，补齐（或截断）后按 rank 间隔取样。"""
    order = np.random.default_rng(seed).permutation(n).tolist()
    fig, axes = plt.subplots(2, 1, figsize=(7.2, 4.6))
    width = world_size * (-(-n // world_size) + 0.6)         # 下排最宽的情形（补齐时）
    for ax, drop_last in zip(axes, (False, True)):
        shards = [shard_indices(order, world_size, r, drop_last) for r in range(world_size)]
        total = len(shards[0]) * world_size
        seq = (order * 2)[:total] if not drop_last else order
        for p, idx in enumerate(seq):                       # 上排：全局顺序（含补齐 / 截掉的部分）
            kept = p < total
            _cell(ax, p, 2.2, str(idx), f"C{p % world_size}" if kept else "#eaeef2",
                  hatch="//" if p >= n else None, dashed=not kept)
        note = f"drop_last=False（默认）：排列补齐到 {total} 个，从头部重复 {total - n} 个（斜线）" \
            if not drop_last else f"drop_last=True：排列截掉尾部 {n - total} 个（虚线）"
        ax.text(0, 3.45, note, ha="left", va="bottom", fontsize=10)
        x = 0.0
        for r, shard in enumerate(shards):                   # 下排：每个 rank 拿到的样本
            ax.text(x + len(shard) / 2, 1.05, f"rank {r}", ha="center", va="bottom", fontsize=10)
            for j, idx in enumerate(shard):
                _cell(ax, x + j, 0, str(idx), f"C{r}")
            x += len(shard) + 0.6
        ax.set_xlim(-0.1, max(len(seq), width) + 0.1)
        ax.set_ylim(-0.1, 4.1)
        ax.set_aspect("equal")
        ax.set_axis_off()
    return fig


def plot_buckets():
    """正文实验（3 层网络、bucket_cap_mb=0.001、float64）每个参数落在哪个桶，按通信顺序从左到右。"""
    params = list(reversed(mlp_parameters(DEMO["dim"], DEMO["hidden"])))   # 梯度就绪顺序
    sizes = [s for _, s in params]
    cap = int(DEMO["bucket_cap_mb"] * MIB)
    rows = [("第 1 次迭代", [list(range(len(params)))]),
            ("第 2 次起", assign_buckets(sizes, DEMO["element_size"], [cap]))]
    # 与 ddp_bucket_sizes（正文实验实际观察到的桶）一致
    assert [sum(sizes[i] for i in b) for b in rows[1][1]] == ddp_bucket_sizes(
        [s for _, s in reversed(params)], DEMO["element_size"], DEMO["bucket_cap_mb"], False)
    w, gap = 1.55, 0.15
    fig, ax = plt.subplots(figsize=(7.2, 2.9))
    for row, (label, buckets) in enumerate(rows):
        y = -row * 1.7
        ax.text(-0.15, y + 0.4, label, ha="right", va="center", fontsize=11)
        for j, b in enumerate(buckets):
            x0, x1 = b[0] * (w + gap), b[-1] * (w + gap) + w
            ax.add_patch(FancyBboxPatch((x0 - 0.06, y - 0.08), x1 - x0 + 0.12, 0.96,
                                        boxstyle="round,pad=0.02", facecolor=f"C{j}", alpha=0.15,
                                        edgecolor=f"C{j}", lw=1.4))
            elems = sum(sizes[i] for i in b)
            ax.text((x0 + x1) / 2, y + 0.95, f"桶 {j}：{elems} 个元素，{elems * DEMO['element_size']} 字节",
                    ha="center", va="bottom", fontsize=10, color=f"C{j}")
        for i, (name, size) in enumerate(params):
            x = i * (w + gap)
            ax.add_patch(Rectangle((x, y), w, 0.8, facecolor="white", edgecolor="C7", lw=0.8))
            ax.text(x + w / 2, y + 0.55, name, ha="center", va="center", fontsize=10)
            ax.text(x + w / 2, y + 0.22, f"{size}", ha="center", va="center", fontsize=10)
    ax.text(0, -1.7 - 0.25, "从左到右：参数的逆序，即反向中梯度大致的就绪顺序", ha="left", va="top", fontsize=10)
    ax.text(len(params) * (w + gap) - gap, -1.7 - 0.25, f"上限 bucket_cap_mb = {DEMO['bucket_cap_mb']}（{cap} 字节）",
            ha="right", va="top", fontsize=10)
    ax.set_xlim(-2.3, len(params) * (w + gap))
    ax.set_ylim(-2.2, 1.4)
    ax.set_axis_off()
    return fig


# 示意时间线用的模型：6 层，每层一个 1024×1024 的权重、一个偏置和一对归一化参数，float32
TIMELINE_LAYERS = 6
TIMELINE_TENSORS = [1024 * 1024, 1024, 1024, 1024] * TIMELINE_LAYERS
TIMELINE_CAP_MB = 8
ALPHA = 0.3                      # 一次 all-reduce 的启动延迟（时间单位）
BETA = 4 * MIB / 0.7             # 有效带宽：4 MiB 用 0.7 个时间单位（字节 / 时间单位）


def timeline_strategies():
    """三种通信方式的 (名字, 各张量的计算区间, 各桶的通信区间, 每个张量所在的桶)。时间单位 = 一层的反向耗时。"""
    ready = list(reversed(TIMELINE_TENSORS))
    per_elem = TIMELINE_LAYERS / sum(TIMELINE_TENSORS)
    plans = [("全部算完再通信", [list(range(len(ready)))]),
             ("每个张量单独通信", [[i] for i in range(len(ready))]),
             (f"分桶（{TIMELINE_CAP_MB} MiB）", assign_buckets(ready, 4, [TIMELINE_CAP_MB * MIB]))]
    out = []
    for name, buckets in plans:
        compute, comm = overlap_timeline(TIMELINE_TENSORS, 4, buckets, per_elem, ALPHA, BETA)
        owner = {i: j for j, b in enumerate(buckets) for i in b}
        out.append((name, compute, comm, owner))
    return out


def plot_timeline():
    strategies = timeline_strategies()
    fig, ax = plt.subplots(figsize=(7.2, 3.9))
    lane_h, yticks, ylabels = 0.7, [], []
    end_max = max(c[-1][1] for _, _, c, _ in strategies)
    for k, (name, compute, comm, owner) in enumerate(strategies):
        y_comp, y_comm = -3 * k, -3 * k - 1
        coloured = len(comm) not in (1, len(compute))        # 只给“分桶”按桶着色
        for i, (a, b) in enumerate(compute):
            color = f"C{owner[i]}" if coloured else "C7"
            ax.add_patch(Rectangle((a, y_comp), b - a, lane_h, facecolor=color, alpha=0.55,
                                   edgecolor="none"))
        for j, (a, b) in enumerate(comm):
            color = f"C{j}" if coloured else "C7"
            ax.add_patch(Rectangle((a, y_comm), b - a, lane_h, facecolor=color, alpha=0.9,
                                   edgecolor="white", lw=0.6))
        end = comm[-1][1]
        ax.plot([end, end], [y_comm - 0.15, y_comp + lane_h + 0.15], color="C3", lw=1.2, ls="--")
        ax.text(end + 0.1, y_comm + lane_h / 2, f"{end:.2f}", ha="left", va="center", fontsize=10,
                color="C3")
        ax.text(0, y_comp + lane_h + 0.2, name, ha="left", va="bottom", fontsize=11)
        yticks += [y_comp + lane_h / 2, y_comm + lane_h / 2]
        ylabels += ["反向", "all-reduce"]
    ax.set_yticks(yticks, ylabels, fontsize=10)
    ax.tick_params(axis="y", length=0)
    ax.set_xlim(0, end_max + 1.0)
    ax.set_ylim(-3 * len(strategies) + 1.6, 1.1)
    ax.set_xlabel("时间（单位：一层反向计算的耗时）")
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.xaxis.set_major_locator(plt.MultipleLocator(1))
    return fig
