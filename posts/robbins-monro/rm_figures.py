"""本文各图：全部由 robbins_monro_sa.py 中的迭代与理论公式计算（随机数用固定种子，链数比正文的实验少）。"""
import matplotlib.pyplot as plt
import numpy as np

from robbins_monro_sa import (asymptotic_mse_const, constant_step_plateau, dg_tanh, g_tanh,
                              kiefer_wolfowitz, kw_asymptotic_mse, robbins_monro, root_bisect)

W1 = -3.0                      # 正文实验的初值


def _schedules(c):
    """(名称, 步长函数, 颜色)：正文表格中的四种典型步长。"""
    return (("$a_k=(1/c)/k$", lambda k: (1 / c) / k, "C0"),
            ("$a_k=0.3/k$", lambda k: 0.3 / k, "C1"),
            (r"$a_k=1/\sqrt{k}$", lambda k: k ** -0.5, "C2"),
            (r"$a_k=0.1$（常数）", lambda k: 0.1, "C4"))


def _checkpoints(K, n=40):
    return tuple(np.unique(np.round(np.logspace(0, np.log10(K), n)).astype(int)))


def plot_paths():
    """四种步长下各 10 条独立链的迭代轨迹 w_{k+1}（横轴对数），虚线是根 w*。"""
    w_star = root_bisect(g_tanh)
    c = dg_tanh(w_star)
    K = 3000
    ks = np.arange(1, K + 1)
    fig, axes = plt.subplots(2, 2, figsize=(7.2, 5.0), sharex=True, sharey=True)
    for ax, (label, steps, color) in zip(axes.ravel(), _schedules(c)):
        out, _ = robbins_monro(g_tanh, W1, steps, K, R=10, seed=4, checkpoints=ks)
        paths = np.array([out[k] for k in ks])           # (K, 10)
        ax.plot(ks, paths, color=color, lw=0.7, alpha=0.5, rasterized=True)
        ax.axhline(w_star, color="k", lw=1.2, ls="--")
        ax.set_xscale("log")
        ax.set_ylim(-3.2, 3.5)
        ax.set_title(label)
    for ax in axes[1]:
        ax.set_xlabel("步数 $k$")
    for ax in axes[:, 0]:
        ax.set_ylabel("$w_{k+1}$")
    return fig


def plot_mse():
    """400 条链估计的均方误差 E[(w_{k+1} - w*)^2] 随 k 的变化（双对数），以及理论：
    a = 1/c 时的 C/(k+1)、0.3/k 的渐近斜率 k^{-2ac}（只画斜率）、常数步长的线性化稳态方差。"""
    w_star = root_bisect(g_tanh)
    c = dg_tanh(w_star)
    K = 10_000
    cps = _checkpoints(K)
    ks = np.array(cps)
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    mse = {}
    for label, steps, color in _schedules(c):
        out, _ = robbins_monro(g_tanh, W1, steps, K, R=400, seed=1, checkpoints=cps)
        mse[label] = np.array([np.mean((out[k] - w_star) ** 2) for k in cps])
        ax.loglog(ks, mse[label], color=color, lw=2, label=label)
    ax.loglog(ks, asymptotic_mse_const(1 / c, c) / (ks + 1), color="k", lw=1, ls="--",
              label=r"理论 $\sigma^2/(c^2(k+1))$")
    tail = ks >= 300
    slope = 2 * 0.3 * c
    anchor = mse["$a_k=0.3/k$"][tail][0] * 1.8
    ax.loglog(ks[tail], anchor * (ks[tail] / ks[tail][0]) ** -slope, color="k", lw=1, ls=":",
              label=rf"斜率 $-2ac={-slope:.2f}$")
    ax.axhline(constant_step_plateau(0.1, c), color="C4", lw=1, ls="--")
    ax.set_xlabel("步数 $k$")
    ax.set_ylabel(r"均方误差 $u_{k+1}$")
    ax.legend(loc="lower left", ncol=2)
    return fig


def plot_averaging_and_kw():
    """左：步长 k^{-0.7} 的末次迭代与 Polyak–Ruppert 平均的均方误差，虚线是最优值 sigma^2/(c^2 k)；
    右：Kiefer–Wolfowitz 的 RMSE 与理论 sqrt(C_KW / sqrt(k))，对照最优步长 Robbins–Monro 的 RMSE。"""
    w_star = root_bisect(g_tanh)
    c = dg_tanh(w_star)
    K = 10_000
    cps = _checkpoints(K, 30)
    ks = np.array(cps)
    fig, (ax, ax_r) = plt.subplots(1, 2, figsize=(7.2, 3.3))

    out, avg = robbins_monro(g_tanh, W1, lambda k: k ** -0.7, K, R=400, seed=2, checkpoints=cps,
                             average_from=1)
    ax.loglog(ks, [np.mean((out[k] - w_star) ** 2) for k in cps], color="C1", lw=2, label="末次迭代")
    ax.loglog(ks, [np.mean((avg[k] - w_star) ** 2) for k in cps], color="C0", lw=2, label="迭代平均")
    ax.loglog(ks, 1 / (c * c * ks), color="k", lw=1, ls="--", label=r"$\sigma^2/(c^2k)$")
    ax.set_ylim(1e-4, 20)
    ax.set_xlabel("步数 $k$")
    ax.set_ylabel("均方误差")
    ax.legend(loc="upper right")

    kw = kiefer_wolfowitz(lambda w: np.log(np.cosh(w - 1.5)), -2.0, K, R=400, seed=3, checkpoints=cps)
    rm, _ = robbins_monro(g_tanh, W1, lambda k: (1 / c) / k, K, R=400, seed=1, checkpoints=cps)
    ax_r.loglog(ks, [np.sqrt(np.mean((kw[k] - 1.5) ** 2)) for k in cps], color="C3", lw=2,
                label="Kiefer–Wolfowitz")
    ax_r.loglog(ks, np.sqrt(kw_asymptotic_mse(ks)), color="k", lw=1, ls="--", label=r"$\propto k^{-1/4}$")
    ax_r.loglog(ks, [np.sqrt(np.mean((rm[k] - w_star) ** 2)) for k in cps], color="C0", lw=2,
                label="RM，$a=1/c$")
    ax_r.loglog(ks, np.sqrt(asymptotic_mse_const(1 / c, c) / (ks + 1)), color="k", lw=1, ls=":",
                label=r"$\propto k^{-1/2}$")
    ax_r.set_xlabel("步数 $k$")
    ax_r.set_ylabel("RMSE")
    ax_r.legend(loc="upper right")
    return fig
