"""本文各图：得分、密度和样本都由 smld_langevin.py 里的函数计算，这里只负责画。"""
import matplotlib.pyplot as plt
import numpy as np

from smld_langevin import (EPS, N_STEPS, SIGMA_MAX, SIGMA_MIN, IsoGaussianMixture, default_mixture,
                           geometric_sigmas, mode_fractions, run_annealed, run_single_level)

N_SAMPLES = 4000      # 与正文实验相同的样本数和种子：图中的比例就是 smld_langevin.py 输出里的数
N_SHOWN = 1000        # 散点图只画其中的前 1000 个


def _score_streamlines(ax, gm, sigma, lim=4.5):
    """背景：sigma 噪声级下得分场 grad log q_sigma 的流线。"""
    g = np.linspace(-lim, lim, 41)
    X, Y = np.meshgrid(g, g)
    S = gm.score(np.column_stack([X.ravel(), Y.ravel()]), sigma)
    ax.streamplot(X, Y, S[:, 0].reshape(X.shape), S[:, 1].reshape(X.shape), color="C7",
                  density=0.9, linewidth=0.7, arrowsize=0.8)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")


def plot_langevin_modes():
    """单一噪声级朗之万与退火朗之万的终点样本，背景是最小噪声级的得分流线。"""
    gm = default_mixture()
    _, x_single = run_single_level(N_SAMPLES, 20 * N_STEPS, seed=0)
    x_annealed = run_annealed(N_SAMPLES, 10, seed=0)
    runs = [(f"单一噪声级，{20 * N_STEPS} 步", x_single), ("退火，$L=10$", x_annealed)]

    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.7), sharey=True)
    for ax, (label, x) in zip(axes, runs):
        _score_streamlines(ax, gm, SIGMA_MIN)
        ax.scatter(x[:N_SHOWN, 0], x[:N_SHOWN, 1], s=4, color="C0", alpha=0.5, lw=0,
                   rasterized=True)
        frac = mode_fractions(gm, x)
        for k, (mu, w) in enumerate(zip(gm.mu, gm.w)):
            ax.annotate(f"{frac[k]:.2f}（真值 {w:.1f}）", mu, xytext=(0, 26 if k else -26),
                        textcoords="offset points", ha="center", va="center", color="C3",
                        bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.85))
        ax.set_title(label, fontsize=11)
        ax.set_xlabel("$x_1$")
    axes[0].set_ylabel("$x_2$")
    return fig


def plot_noise_levels():
    """一维两峰混合加噪后的密度 q_sigma，以及权重不同的两个混合在小噪声、大噪声下的得分。"""
    gm = IsoGaussianMixture([0.2, 0.8], [[-2.0], [2.0]], [0.5, 0.5])
    even = IsoGaussianMixture([0.5, 0.5], gm.mu, gm.rho)
    x = np.linspace(-5, 5, 501)
    fig, (ax, bx, cx) = plt.subplots(1, 3, figsize=(7.2, 3.0), width_ratios=[1.25, 1, 1])

    for sigma, colour in zip((0.1, 0.7, 1.5, 3.0), ("k", "C0", "C2", "C1")):
        ax.plot(x, np.exp(gm.log_prob(x[:, None], sigma)), color=colour, lw=1.4,
                label=f"$\\sigma={sigma:g}$")
    ax.set_xlabel("$x$")
    ax.set_ylabel("$q_\\sigma(x)$")
    ax.set_ylim(0, None)
    ax.legend(loc="upper left", handlelength=1.2)

    for axis, sigma in ((bx, 0.1), (cx, 1.5)):
        s_w, s_even = gm.score(x[:, None], sigma)[:, 0], even.score(x[:, None], sigma)[:, 0]
        axis.axhline(0, color="#bfc8d2", lw=0.8, zorder=0)
        axis.plot(x, s_w, color="C0", lw=1.6, label="0.2/0.8")
        axis.plot(x, s_even, color="C1", lw=1.3, ls="--", label="0.5/0.5")
        lim = 1.1 * np.abs(s_w).max()
        axis.set_ylim(-lim, lim)
        axis.set_xlabel("$x$")
        axis.set_title(f"得分，$\\sigma={sigma:g}$", fontsize=11)
    bx.legend(loc="upper right", title="权重", handlelength=1.5)
    return fig


def plot_weight_freezing():
    """退火过程中小峰所占比例随噪声级的变化，对照各级 q_sigma 自身的比例（平衡值）。"""
    gm = default_mixture()
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    grid = geometric_sigmas(SIGMA_MAX, SIGMA_MIN, 25)
    rng = np.random.default_rng(7)
    eq = np.array([mode_fractions(gm, gm.sample(20_000, rng, sigma=s)[0])[0] for s in grid])
    band = 2 * np.sqrt(eq * (1 - eq) / N_SAMPLES)      # N_SAMPLES 个独立样本时比例的 2 个标准误
    ax.fill_between(grid, eq - band, eq + band, color="C7", alpha=0.2, lw=0)
    ax.plot(grid, eq, color="k", lw=1.4, label="$q_\\sigma$ 本身（平衡值）")
    L = 10
    _, levels = run_annealed(N_SAMPLES, L, seed=0, return_levels=True)
    ax.plot(geometric_sigmas(SIGMA_MAX, SIGMA_MIN, L), [mode_fractions(gm, x)[0] for x in levels],
            "o-", color="C0", ms=5, lw=1.2, label=f"退火 $L={L}$，每级结束时")
    ax.axhline(gm.w[0], color="C7", lw=1, ls=":")
    ax.annotate("真实权重", (SIGMA_MIN / 1.3, gm.w[0]), xytext=(-2, -3), textcoords="offset points",
                ha="right", va="top", color="C7")
    ax.set_xscale("log")
    ax.set_xlim(SIGMA_MAX * 1.3, SIGMA_MIN / 1.3)         # 退火的方向：噪声从大到小，从左到右
    ax.set_xlabel("噪声级 $\\sigma$")
    ax.set_ylabel("小峰所占比例")
    ax.legend(loc="upper right")
    return fig
