"""本文各图：学到的映射把隐空间的网格推成什么样、逐层撤销耦合层时的剪切、训练前后的密度。

模型与数据都来自 nice_coupling.py。为了让画图在一秒内完成，训练集更小、步数更少
（400 步，正文实验是 1500 步），学到的映射与正文的结果相近但不逐位相同。
"""
import matplotlib.pyplot as plt
import numpy as np

from nice_coupling import NICE, banana, banana_log_prob, train

LIM = 2.5                      # 隐空间网格的范围 [-LIM, LIM]^2：每一维覆盖先验约 98.8% 的质量


def trained_model(steps=400):
    rng = np.random.default_rng(0)
    model = NICE(2, n_coupling=4, hidden=32, seed=0)
    train(model, banana(4000, rng), steps=steps)
    return model


def grid_lines(lim=LIM, n_lines=9, n_points=120):
    """[-lim, lim]^2 上的网格线：先是竖线（第一个坐标固定），再是横线，每条线 n_points 个点。"""
    ticks, s = np.linspace(-lim, lim, n_lines), np.linspace(-lim, lim, n_points)
    vertical = [np.stack([np.full_like(s, a), s], 1) for a in ticks]
    horizontal = [np.stack([s, np.full_like(s, a)], 1) for a in ticks]
    return vertical, horizontal


def _draw_grid(ax, vertical, horizontal, **kw):
    for line in vertical:
        ax.plot(line[:, 0], line[:, 1], color="C0", lw=0.9, **kw)
    for line in horizontal:
        ax.plot(line[:, 0], line[:, 1], color="C1", lw=0.9, **kw)


def plot_latent_grid():
    """左：隐空间 h 的规则网格与先验样本；右：同一网格经解码 f^{-1} 推到数据空间，叠在数据样本上。"""
    model = trained_model()
    rng = np.random.default_rng(1)
    data = banana(1500, rng)
    vertical, horizontal = grid_lines()

    fig, (ax_h, ax_x) = plt.subplots(1, 2, figsize=(7.2, 3.5))
    ax_h.scatter(*rng.standard_normal((1500, 2)).T, s=2, color="C7", alpha=0.5, rasterized=True)
    _draw_grid(ax_h, vertical, horizontal)
    ax_h.set_title("隐空间 $\\boldsymbol{h}$（先验样本）")
    ax_h.set_xlabel("$h_1$")
    ax_h.set_ylabel("$h_2$")

    ax_x.scatter(*data.T, s=2, color="C7", alpha=0.5, rasterized=True)
    _draw_grid(ax_x, [model.decode(line) for line in vertical], [model.decode(line) for line in horizontal])
    ax_x.set_title("数据空间 $\\boldsymbol{x}=f^{-1}(\\boldsymbol{h})$（数据样本）")
    ax_x.set_xlabel("$x_1$")
    ax_x.set_ylabel("$x_2$")
    ax_h.set_xlim(-3.2, 3.2)
    ax_h.set_ylim(-3.2, 3.2)
    ax_h.set_aspect("equal")
    ax_x.set_xlim(-3.6, 3.6)
    ax_x.set_ylim(-2.6, 4.8)
    return fig


def plot_coupling_shears():
    """解码方向上逐层看：隐空间网格先除以缩放 e^s，再依次撤销第 4、3、2、1 个耦合层。
    每一步只沿一个坐标方向平移网格点（剪切）；灰线是上一步的网格。"""
    model = trained_model()
    vertical, horizontal = grid_lines()
    stages = [[line * np.exp(-model.s) for line in vertical + horizontal]]
    order = list(range(len(model.layers)))[::-1]
    for k in order:
        stages.append([model.layers[k].inverse(line) for line in stages[-1]])

    fig, axes = plt.subplots(2, 2, figsize=(6.4, 5.4), sharex=True, sharey=True)
    for ax, k, before, after in zip(axes.flat, order, stages[:-1], stages[1:]):
        for line in before:
            ax.plot(line[:, 0], line[:, 1], color="#bfc8d2", lw=0.8)
        _draw_grid(ax, after[:len(vertical)], after[len(vertical):])
        moved = "$x_2$" if model.layers[k].b[0] == 1 else "$x_1$"
        ax.set_title(f"撤销第 {k + 1} 层：只移动 {moved}")
    for ax in axes[1]:
        ax.set_xlabel("$x_1$")
    for ax in axes[:, 0]:
        ax.set_ylabel("$x_2$")
    return fig


def plot_density_before_after():
    """模型密度 p_X（颜色）在训练前后的对比，橙色等高线是真实的香蕉分布。"""
    model = NICE(2, n_coupling=4, hidden=32, seed=0)
    g = np.linspace(-3.5, 3.5, 141)
    X1, X2 = np.meshgrid(g, g + 0.6)
    pts = np.stack([X1.ravel(), X2.ravel()], 1)
    true = np.exp(banana_log_prob(pts)).reshape(X1.shape)
    before = np.exp(model.log_prob(pts)).reshape(X1.shape)     # 耦合层是恒等、s = 0：就是先验
    model = trained_model()
    after = np.exp(model.log_prob(pts)).reshape(X1.shape)

    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.4), sharex=True, sharey=True)
    vmax = max(before.max(), after.max(), true.max())
    for ax, dens, title in zip(axes, (before, after), ("训练前（即先验）", "训练 400 步后")):
        mesh = ax.pcolormesh(X1, X2, dens, cmap="viridis", vmin=0, vmax=vmax, shading="auto", rasterized=True)
        ax.contour(X1, X2, true, levels=true.max() * np.array([0.05, 0.3, 0.7]), colors="C1", linewidths=1.0)
        ax.set_title(title)
        ax.set_xlabel("$x_1$")
        ax.set_aspect("equal")
    axes[0].set_ylabel("$x_2$")
    fig.colorbar(mesh, ax=axes, shrink=0.85, label="$p_X(\\boldsymbol{x})$")
    return fig
