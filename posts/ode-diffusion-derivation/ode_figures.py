"""本文各图：概率流 ODE 与逆时间 SDE 的轨迹、连续性方程里的密度与速度场。

一维的图用正文的 Mixture2D 构造：第二个坐标在每个分量里都是 N(0, 1)，于是 p_t(x, y) = p_t(x) N(y; 0, 1)，
y = 0 上的粒子一直留在 y = 0，横坐标的运动恰好是一维混合的概率流。
"""
import matplotlib.pyplot as plt
import numpy as np
from scipy.special import ndtri

from pf_ode_transport import Mixture2D, VPPath, default_mixture, drift_coeffs, integrate, velocity


def _mixture_1d():
    """一维三峰混合（权重、横坐标均值与方差取自正文的二维混合），嵌入二维、纵坐标与分量无关。"""
    gm = default_mixture()
    covs = [[[c[0, 0], 0.0], [0.0, 1.0]] for c in gm.cov]
    return Mixture2D(gm.w, [[m[0], 0.0] for m in gm.mu], covs)


def _on_axis(x):
    return np.stack([x, np.zeros_like(x)], axis=1)


def _density_image(gm, path, ts, xs):
    """p_t(x) 在 (t, x) 网格上的值（除去纵坐标的常数因子）。"""
    return np.array([np.exp(gm.log_prob(_on_axis(xs), path, t)) * np.sqrt(2 * np.pi) for t in ts]).T


def plot_ode_vs_sde():
    gm, path = _mixture_1d(), VPPath()
    t_show = 0.6                                                  # t > 0.6 时 p_t 已几乎是 N(0, 1)，轨迹近乎水平
    ts_img, xs_img = np.linspace(path.t_min, t_show, 120), np.linspace(-3.2, 3.2, 120)
    img = _density_image(gm, path, ts_img, xs_img)
    starts = ndtri((np.arange(16) + 0.5) / 16)                    # p_T ≈ N(0, 1) 的 16 个分位点
    marked = (2, 8, 13)                                           # 两幅图里用同一颜色标出的三个起点

    grid = path.grid(150)                                         # t 从 1 递减到 t_min
    x, ode = _on_axis(starts), [starts]
    for t0, t1 in zip(grid[:-1], grid[1:]):
        x = integrate(gm, path, x, [t0, t1])
        ode.append(x[:, 0])
    ode = np.array(ode)

    # 逆时间 SDE dx = [f x - g^2 grad log p_t] dt + g dw（t 递减），Euler-Maruyama，同一批起点
    rng = np.random.default_rng(6)
    sde_grid = path.grid(400)
    x, sde = starts.copy(), [starts]
    for t0, t1 in zip(sde_grid[:-1], sde_grid[1:]):
        f, g2 = drift_coeffs(path, t0)
        drift = f * x - g2 * gm.score(_on_axis(x), path, t0)[:, 0]
        x = x + (t1 - t0) * drift + np.sqrt(g2 * (t0 - t1)) * rng.standard_normal(len(x))
        sde.append(x)
    sde = np.array(sde)

    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.3), sharey=True)
    for ax, ts, paths, name in ((axes[0], grid, ode, "概率流 ODE"), (axes[1], sde_grid, sde, "逆时间 SDE")):
        ax.pcolormesh(ts_img, xs_img, img, cmap="viridis", shading="auto", rasterized=True)
        rest = [i for i in range(len(starts)) if i not in marked]
        ax.plot(ts, paths[:, rest], color="C7", lw=0.8)
        for i, c in zip(marked, ("C1", "C3", "C6")):
            ax.plot(ts, paths[:, i], color=c, lw=1.6)
        ax.set_xlim(0, t_show)
        ax.set_ylim(xs_img[0], xs_img[-1])
        ax.set_xlabel("$t$")
        ax.text(0.97, 0.95, name, transform=ax.transAxes, ha="right", va="top",
                bbox=dict(facecolor="white", edgecolor="none", alpha=0.85, pad=2))
    axes[0].set_ylabel("$x$")
    return fig


def plot_density_and_velocity():
    gm, path = _mixture_1d(), VPPath()
    xs = np.linspace(-3.2, 3.2, 321)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.4, 4.4), sharex=True)
    for t, c in zip((0.02, 0.1, 0.25), ("C0", "C1", "C2")):
        p = np.exp(gm.log_prob(_on_axis(xs), path, t)) * np.sqrt(2 * np.pi)
        top.plot(xs, p, color=c, label=f"$t={t:g}$")
        bottom.plot(xs, velocity(gm, path, _on_axis(xs), t)[:, 0], color=c)
    bottom.axhline(0.0, color="#bfc8d2", lw=0.8, zorder=0)
    top.set_ylabel("$p_t(x)$")
    bottom.set_ylabel("$v(x,t)$")
    bottom.set_xlabel("$x$")
    top.legend(loc="upper right")
    return fig
