"""本文各图。结构图中的打包序列、2×2 合并分组与被选中的专家由 kimi_vl_toy.py 的函数生成；
二维 RoPE 的分数与负载均衡的曲线也都由它计算。结构图里的层数、维度、专家数取自正文引用的公开配置。"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyBboxPatch, Rectangle

from kimi_vl_toy import (block_diag_mask, init_moe, load_fractions, loss_free_balancing,
                         merge_tokens, rope_1d, rope_2d, route)


# ---------------------------------------------------------------- 结构图
def _box(ax, x, y, w, h, title, lines=(), fill="#eaeef2", edge="k"):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.4,rounding_size=1.2",
                                facecolor=fill, edgecolor=edge, lw=1.2))
    ax.text(x + w / 2, y + h - 2.2, title, ha="center", va="top", fontweight="bold")
    for n, line in enumerate(lines):
        ax.text(x + w / 2, y + h - 7.0 - 4.4 * n, line, ha="center", va="top")


def _arrow(ax, start, end):
    ax.annotate("", xy=end, xytext=start,
                arrowprops=dict(arrowstyle="-|>", color="k", lw=1.4, mutation_scale=14))


def _cells(ax, x, y, n_rows, n_cols, size, colors, lw=0.6):
    """左上角在 (x, y) 的 n_rows×n_cols 小方格，colors[i][j] 为填充色（None 表示不画）。"""
    for i in range(n_rows):
        for j in range(n_cols):
            if colors[i][j] is None:
                continue
            ax.add_patch(Rectangle((x + j * size, y - (i + 1) * size), size, size,
                                   facecolor=colors[i][j], edgecolor="white", lw=lw))


def plot_architecture():
    """Kimi-VL 的数据流：原生分辨率图像 -> 打包 -> MoonViT -> 2×2 合并 + MLP -> 与文本拼接 -> MoE 解码器。"""
    fig, ax = plt.subplots(figsize=(7.2, 5.0))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 70)
    ax.set_aspect("equal")
    ax.set_axis_off()

    # 第一行：两张不同大小的图 -> 打包成一条序列（块对角掩码）-> MoonViT
    shapes = [(3, 4), (2, 2)]                           # 两张图的 patch 网格（行, 列）
    _cells(ax, 1, 66, *shapes[0], 3.0, [["C0"] * 4] * 3)
    _cells(ax, 15, 66, *shapes[1], 3.0, [["C1"] * 2] * 2)
    ax.text(10, 53.5, "原生分辨率的图像\n切成 patch", ha="center", va="top")
    _arrow(ax, (22, 60.5), (27, 60.5))
    lengths = [r * c for r, c in shapes]
    mask = block_diag_mask(lengths)                     # 打包后的注意力掩码：谁能看见谁
    seg = np.repeat(np.arange(len(lengths)), lengths)
    size = 14 / len(seg)
    ax.add_patch(Rectangle((29, 67.5 - 14), 14, 14, facecolor="#eaeef2", edgecolor="none"))
    for a, colour in enumerate(("C0", "C1")):          # 只画掩码为真的格子，其余是底色
        cells = [[colour if mask[i, j] and seg[i] == a else None for j in range(len(seg))]
                 for i in range(len(seg))]
        _cells(ax, 29, 67.5, len(seg), len(seg), size, cells, lw=0.3)
    ax.text(36, 52, "打包成一条序列\n块对角注意力掩码", ha="center", va="top")
    _arrow(ax, (44.5, 60.5), (50, 60.5))
    _box(ax, 51, 49.5, 47, 19, "MoonViT（27 层，约 4 亿参数）",
         ["NaViT 式打包，原生分辨率", "插值的绝对位置编码 + 二维 RoPE", "输出 $H_p\\times W_p$ 个 1152 维特征"])

    # 第二行（从右往左）：2×2 合并 -> MLP 投影 -> 与文本 token 拼接
    _arrow(ax, (86, 49), (86, 44))
    groups = merge_tokens(np.arange(16.0).reshape(4, 4, 1))      # 每行是一个合并后 token 的 4 个 patch
    token_of = np.empty(16, dtype=int)
    for t, members in enumerate(groups.astype(int)):
        token_of[members] = t
    palette = ["C0", "C2", "C4", "C9"]
    _cells(ax, 79.6, 42.5, 4, 4, 3.2, [[palette[token_of[4 * i + j]] for j in range(4)] for i in range(4)])
    ax.text(86, 28.5, "2×2 邻域\n拼成一个 token", ha="center", va="top")
    _arrow(ax, (78, 35.5), (73.5, 35.5))
    _box(ax, 48, 24, 24.5, 20, "MLP 投影", ["LayerNorm 后拼接", "$4608\\to4608\\to2048$", "token 数变为 1/4"])
    _arrow(ax, (47, 35.5), (42.5, 35.5))
    seq = ["C7"] * 3 + palette + ["C7"] * 5           # 合并后的 4 个图像 token 插在文本 token 之间
    _cells(ax, 3, 37.5, 1, len(seq), 3.2, [seq])
    ax.text(22, 31.5, "图像 token（彩色）与\n文本 token（灰）拼接", ha="center", va="top")

    # 第三行：MoE 语言模型
    _arrow(ax, (22, 24), (22, 20.5))
    _box(ax, 1, 0.5, 97, 18.5, "")
    ax.text(3, 17.8, "Moonlight MoE 解码器（27 层，$d=2048$，总参数 16B，激活 2.8B）",
            ha="left", va="top", fontweight="bold")
    ax.text(3, 11.5, "每个 MoE 层的输出 =\n  共享专家之和\n  + 选中专家按 $g_i$ 加权求和", ha="left", va="top",
            linespacing=1.5)
    # 64 个路由专家中被 route 选中的 6 个（玩具路由器、随机输入，仅示意选择的稀疏性）
    rng = np.random.default_rng(0)
    toy = {"router": rng.normal(size=(8, 64)), "k": 6}
    chosen = set(route(toy, rng.normal(size=(1, 8)))[0][0])
    ax.text(51, 10, "共享专家 ×2", ha="center", va="bottom")
    _cells(ax, 47, 9.2, 1, 2, 4.0, [["C1", "C1"]])
    ax.text(79, 10, "路由专家 ×64，选 6 个", ha="center", va="bottom")
    _cells(ax, 63, 9.2, 4, 16, 2.0, [["C3" if 16 * i + j in chosen else "C7" for j in range(16)]
                                     for i in range(4)], lw=0.4)
    return fig


# ---------------------------------------------------------------- 二维 RoPE
def plot_rope_relative(dim=64, height=8, query=(4, 3)):
    """查询放在 query 处，键取图中每一个位置，两者的内容向量相同（q = k），画出注意力分数。
    上行：二维 RoPE；下行：按光栅顺序展平后用一维 RoPE。左列图宽 8，右列图宽 16。"""
    q = np.random.default_rng(0).standard_normal(dim)
    qh, qw = query
    maps = {}
    for width in (8, 16):
        hs, ws = np.divmod(np.arange(height * width), width)
        maps["2d", width] = np.array([rope_2d(q, qh, qw) @ rope_2d(q, h, w)
                                      for h, w in zip(hs, ws)]).reshape(height, width)
        maps["1d", width] = np.array([rope_1d(q, qh * width + qw) @ rope_1d(q, h * width + w)
                                      for h, w in zip(hs, ws)]).reshape(height, width)
    lo = min(m.min() for m in maps.values())
    hi = max(m.max() for m in maps.values())
    fig, axes = plt.subplots(2, 2, figsize=(7.2, 4.3), gridspec_kw={"width_ratios": [8, 16]})
    for row, kind in enumerate(("2d", "1d")):
        for col, width in enumerate((8, 16)):
            ax = axes[row, col]
            im = ax.imshow(maps[kind, width], cmap="cividis", vmin=lo, vmax=hi)
            ax.plot(qw, qh, "o", color="C3", markersize=7)
            ax.set_xticks(range(0, width, 2 if width == 8 else 4))
            ax.set_yticks(range(0, height, 2))
            if row == 0:
                ax.set_title(f"图宽 {width}")
            if row == 1:
                ax.set_xlabel("列 $w$")
            if col == 0:
                ax.set_ylabel(("二维 RoPE" if kind == "2d" else "展平 + 一维 RoPE") + "\n行 $h$")
    fig.colorbar(im, ax=axes, shrink=0.8, label="注意力分数")
    return fig


# ---------------------------------------------------------------- 负载均衡
def _skewed_router():
    """与 kimi_vl_toy.py 主程序相同的偏斜路由器和输入（同样的种子与随机数顺序）。"""
    rng = np.random.default_rng(0)
    rng.standard_normal((1000, 16))                       # 主程序先用这些随机数生成 MoE 一节的输入
    skew = init_moe(seed=1)
    xs = rng.standard_normal((2000, skew["d"]))
    xs[:, 0] = 1.0
    skew["router"][0, 0] += 1.0
    return skew, xs


def plot_load_balancing():
    """左：偏斜路由器上各专家的负载 f_i，偏置调节前与 200 步之后；右：最忙专家负载 / 平均负载随步数的变化。"""
    moe, xs = _skewed_router()
    ratios, bias = loss_free_balancing(moe, xs)
    before = load_fractions(route(moe, xs)[0], moe["E"])
    after = load_fractions(route(moe, xs, bias)[0], moe["E"])
    fig, (ax, ax_r) = plt.subplots(1, 2, figsize=(7.2, 3.2))
    e = np.arange(moe["E"])
    ax.bar(e - 0.2, before, 0.4, color="C1", label="调节前")
    ax.bar(e + 0.2, after, 0.4, color="C0", label="200 步后")
    ax.axhline(1 / moe["E"], color="k", lw=1, ls="--", label="均衡 $1/E$")
    ax.set_xticks(e)
    ax.set_xlabel("专家编号 $i$")
    ax.set_ylabel("负载 $f_i$")
    ax.legend(loc="upper right")
    ax_r.plot(np.arange(len(ratios)), ratios, color="C0", lw=2)
    ax_r.axhline(1.0, color="k", lw=1, ls="--")
    ax_r.set_xlabel("偏置调节步数")
    ax_r.set_ylabel("最大负载 / 平均负载")
    return fig
