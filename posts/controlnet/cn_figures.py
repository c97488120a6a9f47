"""本文各图：一个块上的 ControlNet 结构图，以及零卷积玩具的梯度“逐层苏醒”和训练曲线。

数值都由 controlnet_zero_conv.py 的前向、反向传播与优化器算出（同样的任务与种子）。
"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from controlnet_zero_conv import (adam_train, controlnet_forward, grad_norms, init_controlnet, loss_and_grads,
                                  make_task, sgd_step)

F = 4                                   # 条件图与特征的分辨率之比（与 main() 相同）
LOCKED, TRAINABLE, ZERO = "#eaeef2", "C1", "C2"


def _box(ax, x, y, w, h, text, fc, alpha=1.0, ec="k", ls="-"):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.3,rounding_size=0.8",
                                fc=fc, alpha=alpha, ec="none"))
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.3,rounding_size=0.8",
                                fc="none", ec=ec, lw=1.0, ls=ls))
    ax.text(x, y, text, ha="center", va="center")


def _arrow(ax, start, end, color="k", **kw):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=11, color=color, lw=1.0,
                                 shrinkA=0, shrinkB=0, **kw))


def _plus(ax, x, y, r=2.0):
    ax.add_patch(Circle((x, y), r, fc="white", ec="k", lw=1.0))
    ax.text(x, y, "+", ha="center", va="center")


def plot_block_diagram():
    """式 (eq-cn-block) 的结构：锁定块、可训练副本、两个零卷积、条件编码器，以及输出加到跳跃连接上。"""
    fig, ax = plt.subplots(figsize=(7.2, 4.3))
    ax.set_xlim(0, 100)
    ax.set_ylim(-3, 62)
    ax.set_axis_off()
    ya, yb, yc, yd = 50, 31, 14, 1

    # 第一行：锁定的原模型
    _box(ax, 8, ya, 12, 5, "特征 $\\boldsymbol{x}$", "white")
    _arrow(ax, (14.5, ya), (36.5, ya))
    _box(ax, 48, ya, 22, 5, "锁定块 $\\mathcal{F}(\\cdot;\\Theta)$", LOCKED)
    _arrow(ax, (59.5, ya), (74, ya))
    _plus(ax, 76, ya)
    _arrow(ax, (78, ya), (85.5, ya))
    _box(ax, 92.5, ya, 11, 5, "解码器", LOCKED)
    ax.text(81.7, ya + 1.4, "$\\boldsymbol{s}_k$", ha="center", va="bottom")
    _arrow(ax, (66, ya), (66, ya + 8.5))
    ax.text(67, ya + 7, "下一个锁定块", ha="left", va="center", color="C7")

    # 第二行：可训练副本（输入是 x 加上条件）
    ax.plot([26], [ya], "o", color="k", ms=3)
    _arrow(ax, (26, ya), (26, yb + 2))
    _plus(ax, 26, yb)
    _arrow(ax, (28, yb), (36.5, yb))
    _box(ax, 48, yb, 22, 5, "可训练副本 $\\mathcal{F}(\\cdot;\\Theta_c)$", TRAINABLE, alpha=0.3, ec="C1")
    _arrow(ax, (59.5, yb), (70.5, yb))
    _box(ax, 76, yb, 10, 5, "$\\mathcal{Z}_2$", ZERO, alpha=0.3, ec="C2")
    _arrow(ax, (76, yb + 2.8), (76, ya - 2))
    ax.text(77, (ya + yb) / 2, "×$\\lambda$", ha="left", va="center")
    _arrow(ax, (66, yb), (66, yb - 8.5))
    ax.text(67, yb - 7, "下一个副本块", ha="left", va="center", color="C7")

    # 第三、四行：条件图 -> 条件编码器 -> 第一个零卷积
    _box(ax, 10, yd, 17, 4.5, "条件图 $\\boldsymbol{c}_{\\rm i}$", "white")
    _arrow(ax, (10, yd + 2.5), (10, yc - 2.5))
    _box(ax, 10, yc, 17, 4.5, "条件编码器 $\\mathcal{E}_c$", TRAINABLE, alpha=0.3, ec="C1")
    _arrow(ax, (18.8, yc), (21.5, yc))
    _box(ax, 26, yc, 7, 4.5, "$\\mathcal{Z}_1$", ZERO, alpha=0.3, ec="C2")
    _arrow(ax, (26, yc + 2.6), (26, yb - 2))
    ax.text(27, (yb + yc) / 2, "$\\boldsymbol{c}_{\\rm f}$ 经零卷积", ha="left", va="center")

    # 图例
    for i, (fc, ec, text) in enumerate(((LOCKED, "k", "锁定"), (TRAINABLE, "C1", "可训练"),
                                         (ZERO, "C2", "零卷积（权重与偏置初始为 0）"))):
        y = 12 - i * 5
        _box(ax, 47, y, 4, 2.4, "", fc, alpha=1.0 if fc == LOCKED else 0.3, ec=ec)
        ax.text(51, y, text, ha="left", va="center")
    return fig


def plot_gradient_wakeup():
    """左：前三步 SGD 中各组参数的梯度范数（0 单独标出）；右：零初始化与高斯初始化的 Adam 训练损失。"""
    rng = np.random.default_rng(0)                           # 与 main() 相同的任务、初始化与随机数流
    base, x, c, target = make_task(rng)
    ctrl = init_controlnet(base, c.shape[1], rng)
    groups = [("Z2W", "输出零卷积 $\\mathcal{Z}_2$"), ("copy.A1", "副本"), ("Z1W", "输入零卷积 $\\mathcal{Z}_1$"),
              ("P", "条件编码器")]
    norms = []
    for _ in range(3):                                       # 与 main() 相同：SGD，学习率 1e-4
        _, g, _ = loss_and_grads(base, ctrl, x, c, target, F)
        norms.append(grad_norms(g))
        sgd_step(ctrl, g, lr=1e-4)

    zero = init_controlnet(base, c.shape[1], np.random.default_rng(1))
    gauss = init_controlnet(base, c.shape[1], np.random.default_rng(1), zero=False)
    loss_zero = adam_train(base, zero, x, c, target, F)
    loss_gauss = adam_train(base, gauss, x, c, target, F)
    base_loss = 0.5 * float(((controlnet_forward(base, zero, x, c, F)[1] - target) ** 2).sum())

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7.2, 3.4), gridspec_kw={"width_ratios": [1.1, 1]})
    floor, width = 0.3, 0.2
    for j, (key, label) in enumerate(groups):
        xs = np.arange(1, 4) + (j - 1.5) * width
        vals = np.array([n[key] for n in norms])
        ax1.bar(xs, np.where(vals > 0, vals - floor, np.nan), width, bottom=floor, color=f"C{[0, 1, 4, 5][j]}",
                label=label)
        for xv, v in zip(xs, vals):
            if v == 0.0:
                ax1.text(xv, floor * 1.3, "0", ha="center", va="bottom")
    ax1.set_yscale("log")
    ax1.set_ylim(floor, 3e5)
    ax1.set_xticks([1, 2, 3], ["第 1 步", "第 2 步", "第 3 步"])
    ax1.set_ylabel("梯度的范数")
    ax1.legend(loc="upper right", ncol=2, columnspacing=0.8, handlelength=1.2)

    steps = np.arange(1, len(loss_zero) + 1)
    ax2.plot(steps, loss_zero, color="C2", label="零初始化")
    ax2.plot(steps, loss_gauss, color="C3", label="高斯初始化")
    ax2.axhline(base_loss, color="C7", ls=":", lw=1.0, label="原模型的损失")
    ax2.set_yscale("log")
    ax2.set_xlabel("Adam 步数")
    ax2.set_ylabel("损失")
    ax2.legend(loc="upper right")
    return fig
