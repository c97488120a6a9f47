"""本文各图：轨迹、密度和误差都由 sde_toy.py 里的函数计算，这里只负责画。"""
import matplotlib.pyplot as plt
import numpy as np
from scipy.special import ndtri

from sde_toy import (T_EPS, forward_sde_em, log_prob, pf_ode_solve, reverse_sde_em, sample_data)


def _density_image(ax, t_grid, x_grid):
    """背景：各时刻边缘密度 p_t(x)，横轴 t、纵轴 x。"""
    dens = np.exp(np.array([log_prob(x_grid, t) for t in t_grid])).T
    return ax.pcolormesh(t_grid, x_grid, dens, cmap="viridis", shading="nearest", vmin=0.0,
                         vmax=dens.max(), rasterized=True)


def plot_forward_paths():
    """前向 VP SDE 的轨迹从数据出发散开（背景是 p_t），右边是几个时刻的边缘密度。"""
    x0 = np.sort(sample_data(12, np.random.default_rng(4)))
    ts, xs = forward_sde_em(x0, 1.0, 500, np.random.default_rng(5), return_path=True)
    x_grid = np.linspace(-3.6, 3.6, 181)
    t_grid = np.linspace(0.0, 1.0, 201)

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(7.2, 3.3), width_ratios=[1.35, 1])
    _density_image(ax, t_grid, x_grid)
    ax.plot(ts, xs, color="C1", lw=0.8)
    ax.plot(np.zeros_like(x0), x0, "o", color="C1", ms=3.5)
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(x_grid[0], x_grid[-1])
    ax.set_xlabel("时间 $t$")
    ax.set_ylabel("$x_t$")

    for t, colour in zip((0.0, 0.1, 0.2, 0.35, 1.0), ("k", "C4", "C0", "C9", "C1")):
        bx.plot(x_grid, np.exp(log_prob(x_grid, t)), color=colour, lw=1.4, label=f"$t={t:g}$")
    bx.set_xlabel("$x$")
    bx.set_ylabel("$p_t(x)$")
    bx.set_ylim(0, 0.56)
    bx.legend(loc="upper center", ncol=3, handlelength=1.2, columnspacing=0.8)
    return fig


def plot_reverse_vs_ode():
    """从同一批 x_1 出发：逆时间 SDE（Euler–Maruyama）与概率流 ODE（RK4）的轨迹。"""
    x1 = ndtri((np.arange(12) + 0.5) / 12)      # N(0, 1) 的 12 个等概率分位点
    x_grid = np.linspace(-3.6, 3.6, 181)
    t_grid = np.linspace(T_EPS, 1.0, 201)
    runs = [("逆时间 SDE", reverse_sde_em(len(x1), 500, np.random.default_rng(6), x_start=x1,
                                          return_path=True)),
            ("概率流 ODE", pf_ode_solve(x1, 1.0, T_EPS, 100, return_path=True))]

    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.3), sharey=True)
    for ax, (label, (ts, xs)) in zip(axes, runs):
        mesh = _density_image(ax, t_grid, x_grid)
        ax.plot(ts, xs, color="C1", lw=0.8)
        ax.set_xlim(1.0, 0.0)                   # 生成沿 t 减小的方向：从左（t=1）到右（t=0）
        ax.set_ylim(x_grid[0], x_grid[-1])
        ax.set_xlabel("时间 $t$")
        ax.set_title(label, fontsize=11)
    axes[0].set_ylabel("$x_t$")
    fig.colorbar(mesh, ax=axes, label="$p_t(x)$", fraction=0.05, pad=0.02)
    return fig


def plot_solver_order():
    """概率流 ODE 各求解器相对 RK4 1000 步参考解的均方根误差随步数的变化（双对数）。"""
    x1 = np.random.default_rng(0).standard_normal(300)
    ref = pf_ode_solve(x1, 1.0, T_EPS, 1000)
    steps = np.array([10, 25, 50, 100, 200])
    fig, ax = plt.subplots(figsize=(6.4, 3.5))
    for method, colour, marker, label in (("euler", "C0", "o", "Euler（$t$ 上）"),
                                          ("ddim", "C1", "s", "DDIM"),
                                          ("heun", "C2", "^", "Heun"),
                                          ("rk4", "C4", "D", "RK4")):
        err = [np.sqrt(np.mean((pf_ode_solve(x1, 1.0, T_EPS, k, method) - ref) ** 2)) for k in steps]
        ax.loglog(steps, err, marker=marker, color=colour, ms=5, label=label)
    for order, y0 in ((1, 4e-2), (2, 8e-3), (4, 2.5e-4)):    # 参考斜率，画在对应曲线下方
        ax.loglog(steps, y0 * (steps / steps[0]) ** -order, color="C7", lw=0.9, ls=":")
        ax.annotate(f"$N^{{-{order}}}$", (steps[-1], y0 * (steps[-1] / steps[0]) ** -order),
                    xytext=(4, 0), textcoords="offset points", va="center", color="C7")
    ax.set_xlim(8, 330)
    ax.set_xlabel("步数 $N$")
    ax.set_ylabel("均方根误差")
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5))
    return fig
