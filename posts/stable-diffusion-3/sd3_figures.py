"""本文各图：MMDiT 块的结构图、玩具 MMDiT 块的联合注意力矩阵、logit-normal 时间密度与时间平移。

注意力矩阵由 sd3_mmdit_toy.mmdit_block 算出（与正文输出相同的尺寸：6 个文本 token、16 个图像 token、
4 个头）；密度与平移曲线由 logit_normal_pdf、sample_logit_normal、shift_time 算出。
"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import PowerNorm
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from sd3_mmdit_toy import (attention_entropy, init_stream, logit_normal_pdf, mmdit_block, sample_logit_normal,
                           shift_time)

TEXT, IMAGE = "C1", "C0"


def _box(ax, x, y, w, h, text, ec="k", fc="white", alpha=0.0):
    if alpha:
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.3,rounding_size=0.8",
                                    fc=fc, alpha=alpha, ec="none"))
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.3,rounding_size=0.8",
                                fc="none", ec=ec, lw=1.0))
    ax.text(x, y, text, ha="center", va="center")


def _arrow(ax, start, end, color="k", **kw):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=11, color=color, lw=1.0,
                                 shrinkA=0, shrinkB=0, **kw))


def plot_mmdit_block():
    """一个 MMDiT 块：文本与图像两个流各用一套权重，只在联合注意力里相遇；条件向量 y 经 adaLN 调制两个流。"""
    fig, ax = plt.subplots(figsize=(7.2, 5.0))
    ax.set_xlim(0, 100)
    ax.set_ylim(-2, 74)
    ax.set_axis_off()
    streams = ((20, TEXT, "c", "文本 token $H_c$"), (80, IMAGE, "x", "图像 token $H_x$"))
    rows = {"in": 2, "mod1": 13, "qkv": 24, "attn": 36, "out": 48, "mlp": 59, "top": 70}
    w, h = 31, 5.5

    for x, colour, sub, name in streams:
        _box(ax, x, rows["in"], w, 4.5, name, ec=colour)
        _arrow(ax, (x, rows["in"] + 2.6), (x, rows["mod1"] - 3))
        _box(ax, x, rows["mod1"], w, h, "LN，按 $\\boldsymbol{y}$ 缩放平移", ec=colour, fc=colour, alpha=0.15)
        _arrow(ax, (x, rows["mod1"] + 3), (x, rows["qkv"] - 3))
        _box(ax, x, rows["qkv"], w, h, f"$W^{{{sub}}}_{{Q,K,V}}$ + QK 归一化", ec=colour, fc=colour, alpha=0.15)
        _arrow(ax, (x, rows["qkv"] + 3), (x, rows["attn"] - 3.5))
        _arrow(ax, (x, rows["attn"] + 3.5), (x, rows["out"] - 3))
        _box(ax, x, rows["out"], w, h, f"$W^{{{sub}}}_O$，门控残差", ec=colour, fc=colour, alpha=0.15)
        _arrow(ax, (x, rows["out"] + 3), (x, rows["mlp"] - 3))
        _box(ax, x, rows["mlp"], w, h, "adaLN + MLP，门控残差", ec=colour, fc=colour, alpha=0.15)
        _arrow(ax, (x, rows["mlp"] + 3), (x, rows["top"] - 1.5))
        ax.text(x, rows["top"], "输出", ha="center", va="bottom", color=colour)

    # 联合注意力：两个流的 Q、K、V 沿序列拼接，做一次注意力
    ax.add_patch(FancyBboxPatch((3, rows["attn"] - 3.2), 94, 6.4, boxstyle="round,pad=0.3,rounding_size=0.8",
                                fc="#eaeef2", ec="k", lw=1.0))
    ax.text(50, rows["attn"], "联合注意力：$\\mathrm{softmax}(QK^\\top/\\sqrt{d_h})\\,V$，$Q,K,V$ 为 [文本; 图像] 的拼接",
            ha="center", va="center")

    # 条件向量 y
    _box(ax, 50, 6.5, 22, 8, "$\\boldsymbol{y}=\\mathrm{MLP}(\\boldsymbol{e}(t))$\n$+\\,\\mathrm{MLP}(\\boldsymbol{c}_{\\rm pool})$",
         ec="C2")
    for x in (20, 80):
        side = -1 if x < 50 else 1
        _arrow(ax, (50 + side * 11.5, 8.5), (x - side * (w / 2 + 0.5), rows["mod1"]), color="C2")
    ax.text(50, 19.5, "每个子层的 $\\boldsymbol{\\beta},\\boldsymbol{\\gamma},\\boldsymbol{g}$\n都由 $\\boldsymbol{y}$ 回归",
            ha="center", va="center", color="C2")
    ax.text(50, 54, "两个流的权重互不共享", ha="center", va="center", color="C7")
    return fig


def plot_joint_attention():
    """玩具 MMDiT 块第 1 个头的联合注意力矩阵：QK 归一化时（左）与不归一化且 Q、K 投影放大 30 倍时（右）。"""
    rng = np.random.default_rng(0)
    D, heads, n_text, n_image = 64, 4, 6, 16
    px, pc = init_stream(D, rng), init_stream(D, rng)
    x, c, y = rng.standard_normal((n_image, D)), rng.standard_normal((n_text, D)), rng.standard_normal(D)
    big = []
    for p in (px, pc):                                    # 只放大 q、k 的投影，模拟训练中 logits 的增长
        q = dict(p)
        q["Wqkv"] = p["Wqkv"].copy()
        q["Wqkv"][:, :2 * D] *= 30.0
        big.append(q)
    A_norm = mmdit_block(x, c, y, px, pc, heads, qk_norm=True, return_attn=True)[2]
    A_raw = mmdit_block(x, c, y, big[0], big[1], heads, qk_norm=False, return_attn=True)[2]

    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.7), sharey=True)
    for ax, A, title in zip(axes, (A_norm, A_raw), ("QK 归一化", "不归一化，$Q,K$ ×30")):
        im = ax.imshow(A[0], cmap="viridis", norm=PowerNorm(0.5, vmin=0, vmax=1), interpolation="nearest")
        for pos in (n_text - 0.5,):
            ax.axhline(pos, color="white", lw=1.5)
            ax.axvline(pos, color="white", lw=1.5)
        ax.set_title(f"{title}：熵 {attention_entropy(A):.2f}")
        ax.set_xticks([n_text / 2 - 0.5, n_text + n_image / 2 - 0.5], ["文本", "图像"])
        ax.set_xlabel("键（被看的 token）")
    axes[0].set_yticks([n_text / 2 - 0.5, n_text + n_image / 2 - 0.5], ["文本", "图像"])
    axes[0].set_ylabel("查询")
    fig.colorbar(im, ax=axes, shrink=0.8, label="注意力权重")
    return fig


def plot_time_sampling():
    """左：logit-normal 密度（几组 (m, s)）、(0, 1) 的采样直方图，以及 α = 3 平移后的密度；
    右：时间平移 t' = αt / (1 + (α-1)t)。"""
    t = np.linspace(1e-4, 1 - 1e-4, 600)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7.2, 4.2))
    samples = sample_logit_normal(20_000, np.random.default_rng(0))
    ax1.hist(samples, bins=40, range=(0, 1), density=True, color="#bfc8d2", label="$(0,1)$ 的采样")
    for (m, s), colour in (((0.0, 1.0), "C0"), ((0.5, 0.6), "C2"), ((0.0, 1.6), "C4")):
        ax1.plot(t, logit_normal_pdf(t, m, s), color=colour, label=f"$m={m:g},\\ s={s:g}$")
    ax1.plot(t, logit_normal_pdf(t, np.log(3.0), 1.0), "--", color="C1", label="$m=\\log 3,\\ s=1$")
    ax1.set_xlabel("$t$")
    ax1.set_ylabel("密度 $\\rho_{\\rm ln}(t;m,s)$")
    ax1.set_xlim(0, 1)
    ax1.set_ylim(0, 3.1)
    ax1.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, handlelength=1.2, columnspacing=0.8)

    for alpha, colour in ((1.0, "C7"), (2.0, "C9"), (3.0, "C1"), (4.0, "C3")):
        ax2.plot(t, shift_time(t, alpha), color=colour, label=f"$\\alpha={alpha:g}$")
    ax2.set_xlabel("平移前的 $t$")
    ax2.set_ylabel("平移后的 $t'$")
    ax2.set_xlim(0, 1)
    ax2.set_ylim(0, 1)
    ax2.set_aspect("equal")
    ax2.legend(loc="lower right")
    return fig
