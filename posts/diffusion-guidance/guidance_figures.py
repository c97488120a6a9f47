"""本文各图：引导强度 w 下两种采样器的样本与锐化分布 p(x)p(c|x)^w 的对比，以及比值 R_t。"""
import matplotlib.pyplot as plt
import numpy as np

from guidance_toy import (TwoClassGaussians, ddim_sample, ddpm_sample, linear_schedule, tilt_ratio,
                          tilted_target)


def plot_samples_vs_w():
    model, c = TwoClassGaussians(), 1
    x_T = np.random.default_rng(0).standard_normal(1200)
    lo, _ = model.class1_interval()
    grid = np.linspace(-4, 5, 901)
    bins = np.linspace(-4, 5, 46)
    ws = np.array([0.0, 1.0, 3.0, 5.0])
    # 引导公式对 w 逐元素成立，四个 w 拼成一批一起采样（每个 w 用同一批 x_T）
    w_all = np.repeat(ws, len(x_T))
    ddpm_all = ddpm_sample(model, np.tile(x_T, len(ws)), c, w_all, np.random.default_rng(1)).reshape(len(ws), -1)
    ddim_all = ddim_sample(model, np.tile(x_T, len(ws)), c, w_all).reshape(len(ws), -1)
    fig, axes = plt.subplots(2, 2, figsize=(7.2, 4.6), sharex=True, sharey=True)
    for ax, w, ddpm, ddim in zip(axes.ravel(), ws, ddpm_all, ddim_all):
        x, p, _, _, _ = tilted_target(model, c, w, grid)
        ax.hist(ddpm, bins=bins, density=True, color="C0", alpha=0.35, label="DDPM")
        ax.hist(ddim, bins=bins, density=True, histtype="step", color="C1", lw=1.3, label="DDIM")
        ax.plot(x, p / (x[1] - x[0]), color="black", lw=1.2, label=r"$p(x)\,p(c\,|\,x)^w$")
        ax.axvline(lo, color="C7", ls=":", lw=1)
        ax.text(0.03, 0.93, f"$w={w:g}$", transform=ax.transAxes, ha="left", va="top")
    for ax in axes[1]:
        ax.set_xlabel("$x$")
    for ax in axes[:, 0]:
        ax.set_ylabel("密度")
    axes[0, 0].legend(loc="upper right", fontsize=9)
    return fig


def plot_tilt_ratio():
    model, c, t, w = TwoClassGaussians(), 1, 300, 3.0
    _, abar = linear_schedule()
    x = np.linspace(-1.5, 3.5, 41)
    ratio, dlog = tilt_ratio(model, x, abar[t], c, w)
    guided = model.scores(x, abar[t])[1] + w * model.classifier_grad(x, abar[t], c)

    fig, (left, right) = plt.subplots(1, 2, figsize=(7.2, 3.3))
    left.semilogy(x, ratio, color="C0")
    left.axhline(1.0, color="C7", ls=":", lw=1)
    left.set_xlabel("$x$")
    left.set_ylabel("$R_t(x)$")
    right.plot(x, guided, color="C0", label=r"引导得分 $\tilde s_w$")
    right.plot(x, guided + dlog, color="C3", ls="--", label="锐化后再加噪的得分")
    right.axhline(0.0, color="C7", ls=":", lw=1)
    right.set_xlabel("$x$")
    right.set_ylabel("得分")
    right.legend(loc="lower left", fontsize=9)
    return fig
