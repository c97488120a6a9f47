"""本文各图：样本、密度和误差都由 ddim_toy.py 里的函数计算，这里只负责画。"""
import matplotlib.pyplot as plt
import numpy as np
from scipy.special import ndtri

from ddim_toy import (ddim_sample, ddim_step, ddpm_sample, default_mixture, linear_schedule,
                      make_tau, summarize)

T = 1000


def _density_image(ax, gm, abar, x_grid, t_grid):
    """背景：各时刻边缘密度 p_t(x)，横轴 t、纵轴 x。"""
    dens = np.array([np.exp(gm.log_prob(x_grid, abar[t])) for t in t_grid]).T
    return ax.pcolormesh(t_grid, x_grid, dens, cmap="viridis", shading="nearest",
                         vmin=0.0, vmax=dens.max(), rasterized=True)


def _paths(gm, x_T, tau, eta, seed):
    """沿子序列 tau 逐步调用 ddim_step，记下每个时刻的样本；返回 (时刻, 样本) 两个数组。"""
    _, abar = linear_schedule(T)
    rng = np.random.default_rng(seed)
    x = np.array(x_T, float)
    ts, xs = [tau[-1]], [x]
    for i in range(len(tau) - 1, 0, -1):
        t, s = tau[i], tau[i - 1]
        x = ddim_step(gm, x, abar[t], abar[s], eta, rng.standard_normal(x.shape))
        ts.append(s)
        xs.append(x)
    return np.array(ts), np.array(xs)


def plot_sample_paths():
    """DDPM（η=1，1000 步）与 DDIM（η=0，50 步）从同一批 x_T 出发的轨迹，背景是 p_t 的密度。"""
    gm = default_mixture()
    _, abar = linear_schedule(T)
    x_T = ndtri((np.arange(12) + 0.5) / 12)    # N(0, 1) 的 12 个等概率分位点
    x_grid = np.linspace(-4.2, 4.6, 177)
    t_grid = np.arange(0, T + 1, 10)
    runs = [("DDPM 祖先采样（$\\eta=1$，1000 步）", np.arange(T + 1), 1.0),
            ("DDIM（$\\eta=0$，50 步）", make_tau(50), 0.0)]

    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.4), sharey=True)
    for ax, (label, tau, eta) in zip(axes, runs):
        mesh = _density_image(ax, gm, abar, x_grid, t_grid)
        ts, xs = _paths(gm, x_T, tau, eta, seed=1)
        ax.plot(ts, xs, color="C1", lw=0.8)
        ax.set_xlim(T, 0)                      # 生成沿 t 减小的方向进行：从左（t=T）到右（t=0）
        ax.set_ylim(x_grid[0], x_grid[-1])
        ax.set_xlabel("时间步 $t$")
        ax.set_title(label, fontsize=11)
    axes[0].set_ylabel("$x_t$")
    fig.colorbar(mesh, ax=axes, label="$p_t(x)$", fraction=0.05, pad=0.02)
    return fig


def plot_histograms_vs_steps():
    """DDIM（η=0）在 10/20/50 步与 1000 步 DDPM 的样本直方图，对照真实密度 p_0。"""
    gm = default_mixture()
    x_T = np.random.default_rng(0).standard_normal(10_000)   # 与 ddim_toy.main() 相同的 x_T 和种子
    grid = np.linspace(-4.5, 5.5, 400)
    dens = np.exp(gm.log_prob(grid, 1.0))
    bins = np.linspace(-4.5, 5.5, 61)
    cases = [(f"DDIM $\\eta=0$，{S} 步",
              ddim_sample(gm, x_T, make_tau(S), 0.0, np.random.default_rng(3))) for S in (10, 20, 50)]
    cases.append(("DDPM，1000 步", ddpm_sample(gm, x_T, np.random.default_rng(2))))

    fig, axes = plt.subplots(2, 2, figsize=(7.2, 4.6), sharex=True, sharey=True)
    for ax, (label, x) in zip(axes.flat, cases):
        ax.hist(x, bins=bins, density=True, color="C0", alpha=0.55, lw=0)
        ax.plot(grid, dens, color="k", lw=1.2)
        r = summarize(gm, x)
        ax.text(0.02, 0.96, f"{label}\n方差 {r['var']:.2f}，$W_1$ {r['w1']:.3f}",
                transform=ax.transAxes, va="top", ha="left", linespacing=1.4)
    for ax in axes[1]:
        ax.set_xlabel("$x_0$")
    for ax in axes[:, 0]:
        ax.set_ylabel("密度")
    axes[0, 0].set_ylim(0, dens.max() * 1.75)
    return fig


def plot_eta_effect():
    """固定少量步数时，W1 与样本方差随 η 的变化。"""
    gm = default_mixture()
    x_T = np.random.default_rng(0).standard_normal(10_000)   # 与 ddim_toy.main() 相同的 x_T 和种子
    etas = np.linspace(0.0, 1.0, 6)
    true_var = gm.central_moment(2)

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(7.2, 3.2))
    for S, colour, marker in ((10, "C3", "o"), (20, "C1", "s"), (50, "C0", "^")):
        res = [summarize(gm, ddim_sample(gm, x_T, make_tau(S), eta, np.random.default_rng(3)))
               for eta in etas]
        ax.plot(etas, [r["w1"] for r in res], marker=marker, color=colour, ms=5, label=f"{S} 步")
        bx.plot(etas, [r["var"] for r in res], marker=marker, color=colour, ms=5, label=f"{S} 步")
    floor = summarize(gm, gm.sample(10_000, np.random.default_rng(1))[0])["w1"]
    ax.axhline(floor, color="C7", lw=1, ls=":")
    ax.annotate("直接抽样", (1.0, floor), xytext=(0, 3), textcoords="offset points",
                ha="right", va="bottom", color="C7")
    ax.set_xlabel("$\\eta$")
    ax.set_ylabel("$W_1$（到 $p_0$）")
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left")
    bx.axhline(true_var, color="k", lw=1, ls="--")
    bx.annotate("真实方差", (1.0, true_var), xytext=(0, -4), textcoords="offset points",
                ha="right", va="top")
    bx.set_xlabel("$\\eta$")
    bx.set_ylabel("样本方差")
    return fig
