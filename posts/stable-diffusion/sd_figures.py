"""本文各图：SD v1 的结构图、潜变量缩放对信噪比的影响、正弦时间嵌入。

结构图里 UNet 各层级的分辨率、通道数以及哪些层级带交叉注意力，都从 sd_latent_toy.sd_unet_layers()
给出的层清单里读出；日程与嵌入由 sd_schedule、effective_log_snr、timestep_embedding 算出。
"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from sd_latent_toy import effective_log_snr, sd_schedule, sd_unet_layers, timestep_embedding

LATENT = 64          # 512×512 图像、f = 8 时潜变量的边长
SCALE = 0.18215      # SD v1 的潜变量缩放因子 s


def unet_levels(layers):
    """从层清单读出编码器一侧的各个分辨率层级：(边长, 通道数, 是否带交叉注意力)，从高到低。
    通道数取该层级第一个残差块的宽度（残差块的 3×3 卷积后面紧跟着时间嵌入的投影层）；
    中间块也在最低层级上带一个交叉注意力，所以一个层级只有多于一个交叉注意力时才算“带”。"""
    channels, n_attn = {}, {}
    for item, nxt in zip(layers, layers[1:]):
        if item[0] == "conv" and nxt[0] == "linear" and nxt[1] is None:
            channels.setdefault(item[1], item[3])
        elif item[0] == "crossattn":
            n_attn[item[1]] = n_attn.get(item[1], 0) + 1
    return [(LATENT // ds, ch, n_attn.get(ds, 0) > 1) for ds, ch in sorted(channels.items())]


def _box(ax, x, y, w, h, text, fc="white", ec="k", alpha=1.0, **kw):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.3,rounding_size=0.8",
                                fc=fc, ec=ec, lw=1.0, alpha=alpha))
    ax.text(x, y, text, ha="center", va="center", **kw)


def _arrow(ax, start, end, style="-|>", color="k", **kw):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=11, color=color,
                                 lw=1.0, shrinkA=0, shrinkB=0, **kw))


def plot_architecture():
    """SD v1 的数据流：自编码器、带交叉注意力与时间嵌入的 UNet、CLIP 文本编码器、调度器。"""
    levels = unet_levels(sd_unet_layers())
    fig, ax = plt.subplots(figsize=(7.2, 4.8))
    ax.set_xlim(0, 100)
    ax.set_ylim(-1, 66)
    ax.set_axis_off()

    # 左：像素空间 -> 潜空间（训练时由编码器得到 z_0 再加噪；推理时从纯噪声开始）
    _box(ax, 10, 12, 17, 6, "图像 $\\boldsymbol{x}$\n512×512×3", fc="#eaeef2")
    _arrow(ax, (10, 15.5), (10, 24.7))
    _box(ax, 10, 27, 17, 4.5, "编码器 $\\mathcal{E}$，×$s$")
    _arrow(ax, (10, 29.5), (10, 37.5))
    _box(ax, 10, 42, 17, 6, "潜变量 $\\boldsymbol{z}_t$\n64×64×4", ec="C0")
    ax.text(11, 33.5, "训练时", ha="left", va="center", color="C7")

    # 中：UNet 的层级（从层清单读出），虚线是跳跃连接
    top, step, w, h = 44, 8.5, 14.5, 5
    xe, xd = 38, 62
    for i, (side, ch, attn) in enumerate(levels):
        y = top - i * step
        for x in (xe, xd):
            _box(ax, x, y, w, h, f"{side}²×{ch}", fc="C0" if attn else "#eaeef2", alpha=0.3 if attn else 1.0)
        _arrow(ax, (xe + w / 2 + 0.6, y), (xd - w / 2 - 0.6, y), linestyle="--")
        if i < len(levels) - 1:
            _arrow(ax, (xe, y - h / 2 - 0.4), (xe, y - step + h / 2 + 0.4))
            _arrow(ax, (xd, y - step + h / 2 + 0.4), (xd, y - h / 2 - 0.4))
    ax.text(50, top + 5.2, "UNet $\\boldsymbol{\\epsilon}_\\theta$", ha="center", va="center")
    ax.add_patch(FancyBboxPatch((xe - w / 2 - 1.5, top - (len(levels) - 1) * step - h / 2 - 1.5),
                                xd - xe + w + 3, (len(levels) - 1) * step + h + 3 + 4.5,
                                boxstyle="round,pad=0,rounding_size=1.5", fc="none", ec="C7", lw=0.8,
                                linestyle=":"))
    _arrow(ax, (19, 42.5), (xe - w / 2 - 0.6, top))
    unet_bottom = top - (len(levels) - 1) * step - h / 2 - 1.5

    # 下：文本条件与时间嵌入
    _box(ax, 30, 3, 30, 4.5, "CLIP 文本编码器：77×768", ec="C1")
    _arrow(ax, (40, 5.6), (40, unet_bottom), color="C1")
    ax.text(39, 9.5, "交叉注意力的 $K,V$\n（蓝色层级）", ha="right", va="center", color="C1")
    _box(ax, 70, 3, 28, 4.5, "$t$ → 正弦嵌入 → MLP", ec="C2")
    _arrow(ax, (60, 5.6), (60, unet_bottom), color="C2")
    ax.text(61, 9.5, "加到每个残差块", ha="left", va="center", color="C2")

    # 右：调度器（无分类器引导 + 一步更新）与解码器
    _arrow(ax, (xd + w / 2 + 0.6, top), (81, 42.5))
    _box(ax, 90, 42, 17, 6, "调度器\n引导 + 一步", ec="C0")
    _arrow(ax, (90, 38.5), (90, 29.5))
    ax.text(89, 33.5, "结束后", ha="right", va="center", color="C7")
    _box(ax, 90, 27, 17, 4.5, "解码器 $\\mathcal{D}$，÷$s$")
    _arrow(ax, (90, 24.5), (90, 15.5))
    _box(ax, 90, 12, 17, 6, "图像 $\\tilde{\\boldsymbol{x}}$\n512×512×3", fc="#eaeef2")

    # 上：采样循环
    _arrow(ax, (90, 45.5), (10, 45.5), connectionstyle="bar,fraction=0.18", color="C0")
    ax.text(50, 62.8, "$\\boldsymbol{z}_t\\to\\boldsymbol{z}_{t-1}$，重复 20–50 步", ha="center", va="center",
            color="C0")
    return fig


def plot_log_snr_shift():
    """SD v1 日程下的对数信噪比与 z_t、z_0 的相关系数：未缩放的潜变量（std ≈ 1/s）与缩放后的对比。"""
    abar = sd_schedule()[1:]
    t = np.arange(1, len(abar) + 1)
    raw, scaled = effective_log_snr(abar, 1 / SCALE), effective_log_snr(abar, 1.0)
    corr = lambda l: np.sqrt(np.exp(l) / (1 + np.exp(l)))

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7.2, 3.3))
    ax1.plot(t, raw, color="C1", label=f"未缩放（std ≈ {1 / SCALE:.2f}）")
    ax1.plot(t, scaled, color="C0", label="乘 $s$ 之后（std ≈ 1）")
    ax1.annotate("", xy=(t[-1], raw[-1]), xytext=(t[-1], scaled[-1]),
                 arrowprops=dict(arrowstyle="<->", color="k", lw=1.0))
    ax1.text(t[-1] - 30, (raw[-1] + scaled[-1]) / 2, "$2\\log\\sigma_z$", ha="right", va="center")
    ax1.axhline(0, color="#bfc8d2", lw=0.8, zorder=0)
    ax1.set_xlabel("时刻 $t$")
    ax1.set_ylabel("$\\log\\mathrm{SNR}_{\\rm eff}(t)$")
    ax1.legend(loc="upper right")

    ax2.plot(t, corr(raw), color="C1")
    ax2.plot(t, corr(scaled), color="C0")
    ax2.set_ylim(0, 1.02)
    ax2.set_xlabel("时刻 $t$")
    ax2.set_ylabel("$\\boldsymbol{z}_t$ 与 $\\boldsymbol{z}_0$ 的相关系数")
    return fig


def plot_time_embedding():
    """左：t = 0..999 的正弦嵌入（每行一个通道）；右：两个嵌入的归一化内积只依赖时间差 Δ。"""
    d = 320
    e = timestep_embedding(np.arange(1000), d)

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7.2, 3.2), gridspec_kw={"width_ratios": [1.15, 1]})
    im = ax1.imshow(e.T, aspect="auto", cmap="viridis", origin="upper", extent=(0, 999, d, 0),
                    interpolation="nearest", rasterized=True)
    ax1.set_xlabel("时刻 $t$")
    ax1.set_ylabel("通道（前半 cos，后半 sin）")
    fig.colorbar(im, ax=ax1, fraction=0.05, pad=0.02)

    deltas = np.arange(-250, 251)
    for t0, style, colour in ((500, "-", "C0"), (300, "--", "C1")):
        k = e[t0] @ e[t0 + deltas].T / (d / 2)                       # ||e(t)||^2 = d/2
        ax2.plot(deltas, k, style, color=colour, label=f"$t={t0}$")
    ax2.axhline(0, color="#bfc8d2", lw=0.8, zorder=0)
    ax2.set_ylim(-0.05, 1.05)
    ax2.set_xlabel("时间差 $\\Delta$")
    ax2.set_ylabel("归一化内积")
    ax2.legend(loc="upper right")
    return fig
