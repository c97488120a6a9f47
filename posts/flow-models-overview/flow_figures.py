"""本文各图：连续归一化流把网格与密度一起变形；Flow Matching 的条件路径与边缘轨迹。"""
import matplotlib.pyplot as plt
import numpy as np
from scipy.special import ndtri

from flow_overview_toy import MixtureOTPath, MLPField, gauss_logpdf, rk4


def _pushforward_logdensity(field, x1, n_steps=40):
    """log p_1(x_1)：从 x_1 沿 ODE 反向积分到 t = 0，同时累积 l = -int div v dt（从 1 积到 0），
    于是 l(0) = int_0^1 div v dt，log p_1(x_1) = log p_0(x_0) - l(0)（瞬时变量替换公式）。"""
    d = x1.shape[1]

    def f(y, t):
        x = y[:, :d]
        return np.concatenate([field.v(x, t), -field.div(x, t)[:, None]], axis=1)

    y = rk4(f, np.concatenate([x1, np.zeros((len(x1), 1))], axis=1), 1.0, 0.0, n_steps)
    x0 = y[:, :d]
    return gauss_logpdf(x0, np.zeros(d), np.eye(d)) - y[:, d]


def plot_cnf_grid():
    field = MLPField()
    lim, n_img = 3.0, 64
    xs = np.linspace(-lim, lim, n_img)
    X, Y = np.meshgrid(xs, xs)
    pts = np.stack([X.ravel(), Y.ravel()], axis=1)
    dens0 = np.exp(gauss_logpdf(pts, np.zeros(2), np.eye(2))).reshape(X.shape)
    shift = rk4(lambda x, t: field.v(x, t), np.zeros((1, 2)), 0.0, 1.0, 60)[0]   # 右图的窗口跟着原点平移
    xs1 = xs + shift[0]
    ys1 = xs + shift[1]
    X1, Y1 = np.meshgrid(xs1, ys1)
    pts1 = np.stack([X1.ravel(), Y1.ravel()], axis=1)
    dens1 = np.exp(_pushforward_logdensity(field, pts1)).reshape(X1.shape)

    # 网格线：t = 0 时的直线，经流映射 phi_1 变成曲线
    ticks = np.linspace(-2.5, 2.5, 11)
    s = np.linspace(-2.5, 2.5, 101)
    lines = [np.stack([np.full_like(s, a), s], axis=1) for a in ticks] + \
            [np.stack([s, np.full_like(s, a)], axis=1) for a in ticks]
    moved = rk4(lambda x, t: field.v(x, t), np.concatenate(lines), 0.0, 1.0, 60).reshape(len(lines), len(s), 2)

    vmax = max(dens0.max(), dens1.max())
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.0, 3.5))
    for ax, gx, gy, dens, curves, label in ((left, xs, xs, dens0, lines, "$t=0$：$p_0=\\mathcal{N}(\\mathbf{0},\\mathbf{I})$"),
                                            (right, xs1, ys1, dens1, moved, "$t=1$：$p_1=(\\phi_1)_\\#\\,p_0$")):
        ax.pcolormesh(gx, gy, dens, cmap="viridis", vmin=0, vmax=vmax, shading="gouraud", rasterized=True)
        for c in curves:
            ax.plot(c[:, 0], c[:, 1], color="C7", lw=0.7)
        ax.set_xlim(gx[0], gx[-1])
        ax.set_ylim(gy[0], gy[-1])
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(label)
    return fig


def plot_fm_paths():
    path = MixtureOTPath()
    ts_img = np.linspace(0.0, 1.0, 120)
    xs_img = np.linspace(-4.5, 5.0, 160)
    T, Xg = np.meshgrid(ts_img, xs_img)
    dens = path.marginal_density(Xg.ravel(), T.ravel()).reshape(Xg.shape)

    rng = np.random.default_rng(0)
    k = rng.choice(len(path.w), size=14, p=path.w)
    x1 = path.mu[k] + path.s[k] * rng.standard_normal(14)
    eps = rng.standard_normal(14)
    ts = np.linspace(0.0, 1.0, 101)
    cond = ts[:, None] * x1[None] + path.sigma(ts)[:, None] * eps[None]      # 条件路径：直线

    # 边缘轨迹：从 N(0,1) 的 14 个分位点出发，沿边缘速度 u_t(x) 用 RK4 积分
    starts = ndtri((np.arange(14) + 0.5) / 14)
    marg, x = [starts], starts.copy()
    for t0, t1 in zip(ts[:-1], ts[1:]):
        x = rk4(lambda y, t: path.marginal_velocity(y, np.full_like(y, t)), x, t0, t1, 1)
        marg.append(x)
    marg = np.array(marg)

    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.3), sharey=True)
    for ax, curves, name in ((axes[0], cond, "条件路径"), (axes[1], marg, "边缘轨迹")):
        ax.pcolormesh(ts_img, xs_img, dens, cmap="viridis", shading="auto", rasterized=True)
        ax.plot(ts, curves, color="C7", lw=0.9)
        ax.set_xlim(0, 1)
        ax.set_ylim(xs_img[0], xs_img[-1])
        ax.set_xlabel("$t$（0 为噪声，1 为数据）")
        ax.text(0.03, 0.95, name, transform=ax.transAxes, ha="left", va="top",
                bbox=dict(facecolor="white", edgecolor="none", alpha=0.85, pad=2))
    axes[0].set_ylabel("$x$")
    return fig
