"""本文各图：各族的 sigma(t) 与 s、rho 时间表与 Euler/Heun 的误差、预条件化系数与不可约损失。"""
import matplotlib.pyplot as plt
import numpy as np

from edm_toy import (Mixture1D, edm_sample, edm_schedule, edm_sigmas, effective_target, flow_schedule,
                     precond, ve_schedule, vp_schedule)

SIGMA_MIN, SIGMA_MAX = 0.002, 80.0
STYLES = {"EDM": ("C0", "-"), "VE": ("C1", "--"), "VP": ("C2", "-"), "Flow": ("C4", "-")}


def plot_schedules():
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.2, 3.4))
    sg = np.geomspace(SIGMA_MIN, SIGMA_MAX, 200)
    for sched in (edm_schedule(), ve_schedule(), vp_schedule(), flow_schedule()):
        color, ls = STYLES[sched.name]
        t = sched.sigma_inv(sg)                     # 每族用自己的时间变量走过同一段 [sigma_min, sigma_max]
        left.plot(t, sched.sigma(t), color=color, ls=ls, label=sched.name)
        right.plot(sched.sigma(t), sched.s(t), color=color, ls=ls, label=sched.name)
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("各族自己的时间 $t$")
    left.set_ylabel(r"$\sigma(t)$")
    left.legend(loc="lower right", fontsize=9)
    right.set_xscale("log")
    right.set_xlabel(r"$\sigma$")
    right.set_ylabel("$s$")
    right.set_ylim(-0.03, 1.08)
    return fig


def plot_sampler():
    data = Mixture1D.standardized()
    rng = np.random.default_rng(0)
    n = 1000
    x_start = data.sample(n, rng) + SIGMA_MAX * rng.standard_normal(n)
    exact = data.exact_flow(x_start, SIGMA_MAX, 0.0)

    fig, (left, right) = plt.subplots(1, 2, figsize=(7.2, 3.4))
    for rho, color in ((1.0, "C3"), (3.0, "C1"), (7.0, "C0")):
        sg = edm_sigmas(16, rho=rho)[:-1]
        left.plot(np.arange(len(sg)), sg, "o-", color=color, ms=3.5, lw=1, label=rf"$\rho={rho:g}$")
    left.set_yscale("log")
    left.set_xlabel("步序号 $i$（$N=16$）")
    left.set_ylabel(r"$\sigma_i$")
    left.legend(loc="lower left", fontsize=9)

    Ns = np.array([4, 6, 8, 11, 16, 23, 32, 45, 64, 91, 128])
    rms = lambda out: np.sqrt(np.mean((out - exact) ** 2))
    err_e = [rms(edm_sample(data, x_start, edm_sigmas(N), "euler")) for N in Ns]
    err_h = [rms(edm_sample(data, x_start, edm_sigmas(N), "heun")) for N in Ns]
    right.loglog(Ns, err_e, "o-", color="C1", ms=3.5, label="Euler")
    right.loglog(2 * Ns - 1, err_h, "s-", color="C0", ms=3.5, label="Heun")
    ref = np.array([16.0, 256.0])                   # 斜率 -1 与 -2 的参考线，过各自 N=16 的点
    right.loglog(ref, err_e[4] * (ref / 16) ** -1, ":", color="C7", lw=1)
    right.loglog(ref, err_h[4] * (ref / 31) ** -2, ":", color="C7", lw=1)
    right.set_xlabel("网络调用次数 NFE")
    right.set_ylabel("RMS 误差")
    right.legend(loc="lower left", fontsize=9)
    return fig


def plot_preconditioning():
    data = Mixture1D.standardized()
    sd = 0.5
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.2, 3.4))
    sg = np.geomspace(SIGMA_MIN, SIGMA_MAX, 200)
    c_skip, c_out, c_in, _ = precond(sg, sd)
    left.loglog(sg, c_skip, color="C0", label=r"$c_{\mathrm{skip}}$")
    left.loglog(sg, c_out, color="C1", label=r"$c_{\mathrm{out}}$")
    left.loglog(sg, c_in, color="C2", label=r"$c_{\mathrm{in}}$")
    left.axvline(sd, color="C7", ls=":", lw=1)
    left.text(sd * 1.15, 2e-4, r"$\sigma=\sigma_{\mathrm{data}}$", color="C7", fontsize=9)
    left.set_ylim(1e-5, 5)
    left.set_xlabel(r"$\sigma$")
    left.legend(loc="lower left", fontsize=9)

    # 理想去噪器反推的 F* 与有效目标之差：有效损失的不可约下界（同一批样本，各 sigma 共用）
    rng = np.random.default_rng(0)
    y = data.sample(20_000, rng)
    e = rng.standard_normal(y.shape)
    grid = np.geomspace(SIGMA_MIN, SIGMA_MAX, 41)
    floor = []
    for s in grid:
        cs, co, _, _ = precond(s, sd)
        x = y + s * e
        floor.append(np.mean(((data.denoise(x, s) - cs * x) / co - effective_target(y, s * e, s, sd)) ** 2))
    right.semilogx(grid, floor, color="C0", label="不可约损失")
    ln_pdf = np.exp(-0.5 * ((np.log(sg) + 1.2) / 1.2) ** 2) / (1.2 * np.sqrt(2 * np.pi))
    right.fill_between(sg, 0, ln_pdf, color="C1", alpha=0.3, lw=0, label=r"$\ln\sigma$ 的训练分布")
    right.set_ylim(0, 1.1)
    right.set_xlabel(r"$\sigma$")
    right.legend(loc="center right", fontsize=9)
    return fig
