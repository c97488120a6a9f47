"""本文各图：BatchNorm 的状态放在模块里与交给调用者的对比图；不同动量下滑动统计量随批数的变化。
不依赖 torch：图中的参数、buffer 与函数参数的名字由 test_bn_running_stats.py 与 PyTorch 对照。"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from bn_running_stats import LOC, SCALE, make_batches_np, running_stats_trajectory

BN_PARAMETERS = ("weight", "bias")                                  # nn.BatchNorm1d 的 named_parameters()
BN_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")   # nn.BatchNorm1d 的 named_buffers()
F_BATCH_NORM_ARGS = ("input", "running_mean", "running_var", "weight", "bias", "training",
                     "momentum", "eps")                               # F.batch_norm 的参数顺序


def _ink():
    """正文文字的颜色（深色模式会替换它）。不用 "k" 填充：SVG 里黑色填充不写颜色，深色模式换不掉。"""
    return plt.rcParams["text.color"]


def _box(ax, x, y, w, h, face, edge, lw=1.0, ls="-"):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.04", facecolor=face,
                                edgecolor=edge, lw=lw, ls=ls))


def _arrow(ax, start, end, color=None, ls="-", rad=0.0):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=10, lw=1.1,
                                 color=color or _ink(), ls=ls, connectionstyle=f"arc3,rad={rad}"))


def plot_module_vs_functional():
    fig, ax = plt.subplots(figsize=(7.2, 4.0))
    groups = [("Parameter", BN_PARAMETERS, "C0"), ("buffer", BN_BUFFERS, "C2"), ("属性", ("training",), "C7")]
    # ---- 左：模块
    ax.text(2.35, 6.35, "模块：bn(x)", ha="center", va="bottom", fontsize=11)
    _box(ax, 0.55, 0.3, 3.75, 5.8, "#eaeef2", _ink(), lw=1.3)
    ax.text(0.7, 5.75, "nn.BatchNorm1d", ha="left", va="center", fontsize=10)
    y = 5.3
    for title, names, color in groups:
        h = 0.42 * len(names) + 0.45
        _box(ax, 0.8, y - h, 3.25, h, "white", color, lw=1.2)
        ax.text(0.95, y - 0.22, title, ha="left", va="center", fontsize=10, color=color)
        for i, name in enumerate(names):
            ax.text(1.0, y - 0.62 - 0.42 * i, name, ha="left", va="center", fontsize=10)
        y -= h + 0.25
    _arrow(ax, (-0.35, 3.2), (0.5, 3.2))
    ax.text(-0.35, 3.35, "$x$", ha="left", va="bottom", fontsize=11)
    _arrow(ax, (4.35, 3.2), (5.1, 3.2))
    ax.text(5.1, 3.35, "$y$", ha="right", va="bottom", fontsize=11)
    ax.text(2.35, -0.1, "parameters() 交给优化器，state_dict()、.to()\n遍历 Parameter 与 buffer，eval() 改 training",
            ha="center", va="top", fontsize=10)
    # ---- 右：函数
    x0 = 8.1
    ax.text(x0 + 1.2, 6.35, "函数：F.batch_norm(...)", ha="center", va="bottom", fontsize=11)
    colors = {"input": None, "training": "C7", "momentum": "C7", "eps": "C7"}
    for name in BN_PARAMETERS:
        colors[name] = "C0"
    for name in BN_BUFFERS:
        colors[name] = "C2"
    n = len(F_BATCH_NORM_ARGS)
    for i, name in enumerate(F_BATCH_NORM_ARGS):
        yy = 5.7 - i * 0.7
        c = colors[name] or _ink()
        ax.text(x0 - 0.2, yy, name, ha="right", va="center", fontsize=10, color=c)
        _arrow(ax, (x0 - 0.1, yy), (x0 + 0.95, 3.75 - 1.1 * i / (n - 1)), color=c)   # 分散到方框左边
    _box(ax, x0 + 1.0, 2.6, 1.4, 1.2, "white", _ink(), lw=1.3)
    ax.text(x0 + 1.7, 3.2, "无状态", ha="center", va="center", fontsize=10)
    _arrow(ax, (x0 + 2.5, 3.2), (x0 + 3.2, 3.2))
    ax.text(x0 + 3.2, 3.35, "$y$", ha="right", va="bottom", fontsize=11)
    ax.text(x0 + 0.6, -0.1, "全部状态由调用者保管、传入；training=True 时\n函数原地更新传入的 running_mean、running_var",
            ha="center", va="top", fontsize=10)
    ax.set_xlim(-0.4, x0 + 3.3)
    ax.set_ylim(-1.0, 6.8)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return fig


def plot_running_stats(k=50, channel=0):
    batches = make_batches_np(k)
    t = np.arange(k + 1)
    fig, (ax_m, ax_v) = plt.subplots(1, 2, figsize=(7.2, 3.4), sharex=True)
    for momentum, color in [(0.1, "C0"), (0.5, "C1"), (None, "C2")]:
        rm, rv = running_stats_trajectory(batches, momentum)
        label = f"$m={momentum}$" if momentum is not None else "momentum=None"
        ax_m.plot(t, rm[:, channel], color=color, lw=1.5, label=label)
        ax_v.plot(t, rv[:, channel], color=color, lw=1.5, label=label)
    mu, var = LOC[channel], SCALE[channel] ** 2
    ax_m.plot(t, (1 - 0.9 ** t) * mu, color="C0", ls=":", lw=1.2, label=f"$(1-0.9^t)\\times{mu:g}$")
    ax_m.axhline(mu, color="C7", lw=1, ls="--")
    ax_v.axhline(var, color="C7", lw=1, ls="--")
    ax_m.set_ylabel(r"$r_\mu^{(t)}$")
    ax_v.set_ylabel(r"$r_{\sigma^2}^{(t)}$")
    for ax in (ax_m, ax_v):
        ax.set_xlabel("批数 $t$")
        ax.set_xlim(0, k)
    ax_m.legend(loc="lower right", fontsize=10)
    return fig
