"""本文各图：日程、边缘分布、反向条件都由 ddpm_continuum.py 里的函数计算，这里只负责画。"""
import matplotlib.pyplot as plt
import numpy as np

from ddpm_continuum import (abar_sde, chain_abar, chain_betas, default_mixture, exact_reverse,
                            kl_to_moment_matched_gaussian, reverse_density, reverse_modes)


def plot_forward_limit():
    """左：t = 0.2 处离散链的边缘分布随 N 趋近 VP 方程的边缘；右：abar 的相对误差与 KS 距离按 1/N 下降。"""
    gm = default_mixture()
    x = np.linspace(-3.2, 3.2, 400)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(7.2, 3.3), width_ratios=[1.1, 1])

    t = 0.2
    for N, colour, style in ((25, "C3", "--"), (100, "C1", "-.")):
        a = chain_abar(chain_betas(N))[round(t * N)]
        ax.plot(x, np.exp(gm.log_prob(x, a)), color=colour, ls=style, lw=1.4, label=f"离散链 $N={N}$")
    ax.plot(x, np.exp(gm.log_prob(x, abar_sde(t))), color="k", lw=1.2, label="VP 方程")
    ax.plot(x, np.exp(gm.log_prob(x, 1.0)), color="C7", lw=1, alpha=0.7, label="数据 $p_0$")
    ax.set_xlabel(f"$x$（$t={t}$）")
    ax.set_ylabel("边缘密度")
    ax.set_ylim(0, 0.8)
    ax.legend(loc="upper center", ncol=2, handlelength=1.6, columnspacing=0.8)

    Ns = np.array([25, 50, 100, 200, 400, 1000, 2000])
    grid = np.linspace(-6, 6, 2001)
    a_c = float(abar_sde(0.5))
    rel, ks = [], []
    for N in Ns:
        a_d = chain_abar(chain_betas(N))[N // 2]
        rel.append(abs(a_d / a_c - 1))
        ks.append(np.max(np.abs(gm.cdf(grid, a_d) - gm.cdf(grid, a_c))))
    bx.loglog(Ns, rel, "o-", color="C0", ms=4, label=r"$|\bar\alpha_i/e^{-B(t)}-1|$")
    bx.loglog(Ns, ks, "s-", color="C2", ms=4, label="边缘的 KS 距离")
    bx.loglog(Ns, 3.0 / Ns, color="C7", lw=1, ls=":", label="$\\propto 1/N$")
    bx.set_xlabel("步数 $N$（$t=0.5$）")
    bx.set_ylabel("误差")
    bx.set_ylim(2e-5, 1)
    bx.legend(loc="lower left")
    return fig


def _sci(v):
    """把数写成 mathtext：0.42 或 3.1\\times10^{-7}。"""
    if v >= 0.01:
        return f"{v:.2f}"
    mant, exp = f"{v:.1e}".split("e")
    return f"{mant}\\times10^{{{int(exp)}}}"


def plot_reverse_kernel():
    """小步与大步时真实的反向条件 q(x_{i-1} | x_i) 和同均值同方差的高斯。"""
    gm = default_mixture()
    cases = [("小步", 1.0, 0.5, 0.02), ("大步", 0.0, 0.95, 0.5)]
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.2))
    for ax, (name, x, abar_prev, beta) in zip(axes, cases):
        mean, var, _ = exact_reverse(gm, np.array([x]), abar_prev, beta)
        mean, sd = mean[0], np.sqrt(var[0])
        y = np.linspace(mean - 4 * sd, mean + 4 * sd, 600)
        q = reverse_density(gm, x, abar_prev, beta, y)
        g = np.exp(-0.5 * (y - mean) ** 2 / var[0]) / np.sqrt(2 * np.pi * var[0])
        ax.fill_between(y, q, color="C0", alpha=0.25, lw=0)
        ax.plot(y, q, color="C0", lw=1.6, label="真实反向条件")
        ax.plot(y, g, color="C1", lw=1.4, ls="--", label="同均值同方差的高斯")
        modes = reverse_modes(gm, x, abar_prev, beta)
        if len(modes) > 1:
            qm = reverse_density(gm, x, abar_prev, beta, modes)
            ax.plot(modes, qm, "v", color="C0", ms=6)
            for m, h in zip(modes, qm):
                ax.annotate(f"{m:.2f}", (m, h), xytext=(0, 7), textcoords="offset points",
                            ha="center", va="bottom", color="C0")
        kl = kl_to_moment_matched_gaussian(gm, x, abar_prev, beta)
        ax.text(0.03, 0.97, f"{name}：$\\beta={beta}$\n$x_i={x:g}$，$\\bar\\alpha_{{i-1}}={abar_prev}$\n"
                f"KL $={_sci(kl)}$", transform=ax.transAxes, va="top", ha="left", linespacing=1.5)
        ax.set_ylim(0, q.max() * 1.6)
        ax.set_xlabel("$x_{i-1}$")
    axes[0].set_ylabel("密度")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="upper center", ncol=2,
               bbox_to_anchor=(0.5, 0.0))
    return fig

