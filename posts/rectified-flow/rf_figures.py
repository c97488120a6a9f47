"""本文各图：直线插值的交叉与 rectified flow 的轨迹、一维 reflow 前后的路径、Euler 误差与步数。

所有量都由 rectified_flow_toy.py 的精确速度场与求解器算出；为了让画图在一秒内完成，
样本数和步数比正文的实验少。
"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection

from rectified_flow_toy import (MonotoneCoupling1D, default_mixture_1d, default_mixture_2d, euler,
                                nw_reflow_velocity, rectified_map_1d, rk4_path,
                                standard_normal_quantile)

COMPONENT_COLOURS = ["C0", "C1", "C2", "C4"]


def _component(mix, x):
    """每个点离哪个分量中心最近（只用于着色）。"""
    return np.argmin(((x[:, None, :] - mix.mu[None]) ** 2).sum(-1), axis=1)


def plot_crossing_vs_rectified():
    """二维混合：独立耦合的直线插值（相互交叉）与 1-rectified flow 的轨迹（同一时刻互不重合）。"""
    mix = default_mixture_2d()
    rng = np.random.default_rng(3)
    n = 80
    x0 = rng.standard_normal((n, 2))
    x1 = mix.sample(n, rng)
    _, path = rk4_path(mix.v, x0, 60)

    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.7), sharex=True, sharey=True)
    pairs = [(np.stack([x0, x1], 1), _component(mix, x1)),
             (path.transpose(1, 0, 2), _component(mix, path[-1]))]
    titles = ["独立耦合：直线插值 $X_t$", "1-rectified flow：ODE 轨迹 $Z_t$"]
    for ax, (segs, comp), title in zip(axes, pairs, titles):
        colours = [COMPONENT_COLOURS[k] for k in comp]
        ax.add_collection(LineCollection(segs, colors=colours, linewidths=0.8, alpha=0.6))
        ax.scatter(segs[:, 0, 0], segs[:, 0, 1], s=6, color="k", zorder=3, label="起点（噪声）")
        ax.scatter(segs[:, -1, 0], segs[:, -1, 1], s=10, c=colours, zorder=3)
        ax.scatter(mix.mu[:, 0], mix.mu[:, 1], marker="x", s=50, color="k", linewidths=1.5,
                   zorder=4, label="分量中心")
        ax.set_title(title)
        ax.set_aspect("equal")
        ax.set_xlim(-4.3, 4.3)
        ax.set_ylim(-4.3, 4.3)
        ax.set_xlabel("$x_1$")
    axes[0].set_ylabel("$x_2$")
    axes[0].legend(loc="lower left", handletextpad=0.2, borderpad=0.3)
    return fig


def plot_reflow_1d():
    """一维：独立耦合的直线、1-rectified flow 的轨迹（保序、弯曲）、reflow 一次后的直线。"""
    mix = default_mixture_1d()
    n = 36
    z0 = standard_normal_quantile((np.arange(n) + 0.5) / n)          # 噪声的等分位点，按大小着色
    rng = np.random.default_rng(0)
    x1 = mix.sample(n, rng)[:, 0]
    grid = np.linspace(-7, 7, 701)
    coupling = MonotoneCoupling1D(grid, rectified_map_1d(mix, grid, n_steps=100))
    ts, rf1 = rk4_path(mix.v, z0[:, None], 60)
    _, rf2 = rk4_path(coupling.v, z0[:, None], 60)

    fig, axes = plt.subplots(1, 3, figsize=(7.2, 3.0), sharey=True)
    colours = plt.get_cmap("viridis")(np.linspace(0.25, 0.9, n))     # 两端太暗或太亮的颜色不用
    lines = np.stack([np.stack([np.zeros(n), z0], 1), np.stack([np.ones(n), x1], 1)], 1)
    curves = [np.stack([np.broadcast_to(ts[:, None], traj.shape[:2]), traj[..., 0]], -1).transpose(1, 0, 2)
              for traj in (rf1, rf2)]
    paths = [lines] + curves                                          # 每条线 (点数, 2) 的 (t, x) 坐标
    titles = ["独立耦合", "1-RF", "2-RF（reflow 一次）"]
    for ax, segs, title in zip(axes, paths, titles):
        ax.add_collection(LineCollection(segs, colors=colours, linewidths=0.9))
        ax.set_xlim(0, 1)
        ax.set_title(title)
        ax.set_xlabel("$t$")
        ax.set_xticks([0, 0.5, 1], ["0", "0.5", "1"])
    axes[0].set_ylim(-4.2, 5.2)
    fig.get_layout_engine().set(w_pad=0.12)
    axes[0].set_ylabel("$x$")
    return fig


def plot_euler_error():
    """Euler 端点误差随步数 N 的变化：1-RF 的误差按 1/N 下降，reflow 后一步即到位。"""
    steps = np.array([1, 2, 4, 8, 16, 32, 64])
    rng = np.random.default_rng(0)

    # 二维混合上的 1-RF：以 200 步 RK4 的端点为参照
    mix2 = default_mixture_2d()
    z2 = rng.standard_normal((400, 2))
    ref2 = rk4_path(mix2.v, z2, 200)[1][-1]
    err2 = [np.mean(np.linalg.norm(euler(mix2.v, z2, n) - ref2, axis=1)) for n in steps]

    # 一维：1-RF、理想 2-RF 与核回归 2-RF，都以 1-RF 的精确映射 T(z0) 为参照
    mix1 = default_mixture_1d()
    grid = np.linspace(-7, 7, 701)
    coupling = MonotoneCoupling1D(grid, rectified_map_1d(mix1, grid, n_steps=100))
    pairs0 = rng.standard_normal(1000)
    v_nw = nw_reflow_velocity(pairs0, coupling(pairs0), bandwidth=0.05)
    z1 = rng.standard_normal((120, 1))
    target = coupling(z1)
    err1 = {name: [np.mean(np.abs(euler(v, z1, n) - target)) for n in steps]
            for name, v in (("1-RF", mix1.v), ("核回归 2-RF", v_nw))}

    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    ax.loglog(steps, err2, "o-", color="C0", label="1-RF（二维混合）")
    ax.loglog(steps, err1["1-RF"], "s-", color="C1", label="1-RF（一维）")
    ax.loglog(steps, err1["核回归 2-RF"], "^-", color="C2", label="核回归 2-RF（一维）")
    ax.loglog(steps, 0.4 * err2[2] * steps[2] / steps, ":", color="C7", label="参考斜率 $1/N$")
    ax.set_xlabel("Euler 步数 $N$")
    ax.set_ylabel("端点平均误差")
    ax.set_xticks(steps, [str(n) for n in steps])
    ax.minorticks_off()
    ax.legend(loc="upper right")
    return fig
