"""本文各图：全部调用 upsample_ops.py 里的算子（纯 NumPy）计算。"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, Rectangle

from upsample_ops import (_linear_weights, conv2d, conv_transpose2d, overlap_count, pixel_shuffle,
                          upsample_bilinear, upsample_nearest)

def _ink():
    """正文文字的颜色（深色模式会替换它）。不用 "k" 填充：SVG 里黑色填充不写颜色，深色模式换不掉。"""
    return plt.rcParams["text.color"]


LABEL_BOX = dict(boxstyle="round,pad=0.25", facecolor="white", edgecolor="none", alpha=0.85)


def _value_grid(ax, values, title, norm):
    """一个小块的数值图：颜色表示与块内均值之比（各图共用 norm），每格写上数值（白底标签，深浅两种模式都可读）。"""
    lo, hi = float(values.min()), float(values.max())
    ax.imshow(values / values.mean(), cmap="viridis", norm=norm)
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=11, bbox=LABEL_BOX)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=11)
    ax.set_xlabel("均匀" if hi == lo else f"最大 : 最小 = {hi:g} : {lo:g}", fontsize=11)


def checkerboard_crops(n_in=8, seed=0):
    """常数输入经过四种 2 倍上采样后，内部从相位 0 开始的 4×4 块。"""
    rng = np.random.default_rng(seed)
    ones = np.ones((1, n_in, n_in))
    k4 = rng.integers(1, 4, size=(1, 1, 4, 4)).astype(float)     # 小整数核，方便读数
    k3 = rng.integers(1, 4, size=(1, 1, 3, 3)).astype(float)
    s = 2
    crop = lambda img, k: img[s * k:s * k + 2 * s, s * k:s * k + 2 * s]   # noqa: E731
    resize_conv = conv2d(upsample_nearest(ones, (2 * n_in, 2 * n_in)), k3, stride=1, padding=1)[0]
    return [
        ("转置卷积 $k=3$，全 1 核", crop(overlap_count(n_in, 3, s), 3)),
        ("转置卷积 $k=4$，全 1 核", crop(overlap_count(n_in, 4, s), 4)),
        ("转置卷积 $k=4$，随机核", crop(conv_transpose2d(ones, k4, stride=s)[0], 4)),
        ("最近邻放大 + $3\\times3$ 卷积", crop(resize_conv, 3)),
    ]


def plot_checkerboard():
    crops = checkerboard_crops()
    ratios = np.concatenate([(v / v.mean()).ravel() for _, v in crops])
    norm = plt.Normalize(ratios.min(), ratios.max())
    fig, axes = plt.subplots(2, 2, figsize=(5.2, 5.6))
    for ax, (title, values) in zip(axes.flat, crops):
        _value_grid(ax, values, title, norm)
    return fig


def plot_align_corners(n_in=4, n_out=8):
    """输入像素看成单位方格；每个输出像素画在它覆盖的区间上，箭头指向它在输入上的采样坐标。"""
    x = np.arange(n_in, dtype=float)[None, None]                    # 序列 0, 1, ..., n_in-1
    r = n_out / n_in
    h, y_in, y_out = 0.5, 1.15, 0.0
    fig, axes = plt.subplots(2, 1, figsize=(6.4, 4.4))
    for ax, ac in zip(axes, (False, True)):
        for i in range(n_in):
            ax.add_patch(Rectangle((i, y_in), 1, h, facecolor="#eaeef2", edgecolor="k", lw=1))
            ax.text(i + 0.5, y_in + h / 2, f"$x_{i}={i}$", ha="center", va="center", fontsize=11)
            ax.plot(i + 0.5, y_in, "o", color=_ink(), ms=3)
        i0, _, lam = _linear_weights(n_in, n_out, ac)
        src = i0 + lam                                              # 截断之后的源坐标
        raw = (np.arange(n_out) + 0.5) / r - 0.5 if not ac else src
        vals = upsample_bilinear(x, (1, n_out), ac)[0, 0]
        for d in range(n_out):
            left = d / r
            ax.add_patch(Rectangle((left, y_out), 1 / r, h, facecolor="white", edgecolor="C0", lw=1))
            ax.text(left + 0.5 / r, y_out + h / 2, f"{vals[d]:.2f}".rstrip("0").rstrip("."),
                    ha="center", va="center", fontsize=10)
            clipped = (raw[d] < 0) or (i0[d] == n_in - 1 and lam[d] > 0)   # 越界：取到边界像素
            ax.add_patch(FancyArrowPatch((left + 0.5 / r, y_out + h), (src[d] + 0.5, y_in),
                                         arrowstyle="-|>", mutation_scale=8, lw=1.2,
                                         color="C3" if clipped else "C0", shrinkA=1, shrinkB=1))
        ax.text(-0.1, y_in + h / 2, "输入", ha="right", va="center", fontsize=11)
        ax.text(-0.1, y_out + h / 2, "输出", ha="right", va="center", fontsize=11)
        ax.set_title(f"align_corners={ac}", fontsize=11)
        ax.set_xlim(-0.75, n_in + 0.05)
        ax.set_ylim(y_out - 0.05, y_in + h + 0.05)
        ax.set_aspect("equal")
        ax.set_axis_off()
    return fig


def plot_pixel_shuffle(r=2, H=2, W=3):
    """r² 个通道、每个 H×W，经 PixelShuffle 变成一个 rH×rW 的通道；颜色标出每个输出元素来自哪个输入通道。"""
    C = r * r
    z = np.arange(C * H * W, dtype=float).reshape(C, H, W)
    channel_of = np.repeat(np.arange(C), H * W).reshape(C, H, W).astype(float)
    out = pixel_shuffle(z, r)[0]
    src = pixel_shuffle(channel_of, r)[0].astype(int)
    fig, ax = plt.subplots(figsize=(7.2, 3.0))
    gap = 0.6
    origin = {}                                                      # 通道 c 左上角的位置
    for c in range(C):
        ox, oy = (c % 2) * (W + gap), (c // 2) * (H + gap + 0.3)
        origin[c] = (ox, oy)
        for i in range(H):
            for j in range(W):
                ax.add_patch(Rectangle((ox + j, -(oy + i) - 1), 1, 1, facecolor=f"C{c}", alpha=0.3,
                                       edgecolor="k", lw=0.6))
                ax.text(ox + j + 0.5, -(oy + i) - 0.5, f"{z[c, i, j]:g}", ha="center", va="center",
                        fontsize=11)
        ax.add_patch(Rectangle((ox, -oy - 1), 1, 1, fill=False, edgecolor="k", lw=2.2))   # 位置 (0, 0)
        ax.text(ox + W / 2, -oy + 0.25, f"通道 {c}", ha="center", va="bottom", fontsize=10)
    x0 = 2 * W + gap + 2.4                                           # 输出网格的左边界
    for i in range(r * H):
        for j in range(r * W):
            ax.add_patch(Rectangle((x0 + j, -i - 1), 1, 1, facecolor=f"C{src[i, j]}", alpha=0.3,
                                   edgecolor="k", lw=0.6))
            ax.text(x0 + j + 0.5, -i - 0.5, f"{out[i, j]:g}", ha="center", va="center", fontsize=11)
    ax.add_patch(Rectangle((x0, -r), r, r, fill=False, edgecolor="k", lw=2.2))  # 来自位置 (0, 0) 的 r×r 块
    ax.text(x0 + r * W / 2, 0.25, f"输出（${r * H}\\times{r * W}$）", ha="center", va="bottom", fontsize=10)
    mid_y = -(H + gap / 2 + 0.15) - 0.5
    ax.add_patch(FancyArrowPatch((2 * W + gap + 0.3, mid_y), (x0 - 0.3, mid_y), arrowstyle="-|>",
                                 mutation_scale=14, lw=1.5, color=_ink()))
    ax.text((2 * W + gap + x0) / 2, mid_y + 0.2, f"PixelShuffle\n$r={r}$", ha="center", va="bottom",
            fontsize=10)
    ax.set_xlim(-0.1, x0 + r * W + 0.1)
    ax.set_ylim(-(2 * H + gap + 0.3) - 0.1, 0.8)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return fig
