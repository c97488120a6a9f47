"""本文各图：全部由 pca_principal.py 里的函数计算，这里只负责画。"""
import matplotlib.pyplot as plt
import numpy as np

from pca_principal import (circles, explained_variance_ratio, kernel_pca_fit, kernel_pca_transform,
                           low_rank_data, pca_eig, project, rbf_kernel, reconstruct,
                           reconstruction_error)


def ink():
    """正文文字的颜色。实心的黑色标记要用它：matplotlib 写 SVG 时省略黑色填充，深色模式无法替换。"""
    return plt.rcParams["text.color"]


def plot_axes_and_projection():
    """二维数据的主轴（按 sqrt(lambda) 缩放）、到第一主轴的投影，以及不中心化时的“主方向”。"""
    X, _ = low_rank_data(n=150, d=2, scales=(2.0,), noise=0.5, offset=6.0, seed=0)
    mu, U, lam = pca_eig(X, 2)
    U1 = U[:, :1]
    Xhat = reconstruct(project(X, mu, U1), mu, U1)          # 第一主轴上的投影点

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(7.2, 3.6), width_ratios=[1.15, 1])
    # 左：中心化 PCA
    for i in range(0, len(X), 3):                           # 残差线段：点到投影的垂线
        ax.plot([X[i, 0], Xhat[i, 0]], [X[i, 1], Xhat[i, 1]], color="C7", lw=0.6, alpha=0.7)
    ax.scatter(X[:, 0], X[:, 1], s=9, color="C0", alpha=0.6, lw=0)
    t = np.array([-3.2, 3.2]) * np.sqrt(lam[0])
    ax.plot(mu[0] + t * U[0, 0], mu[1] + t * U[1, 0], color="C1", lw=1, ls="--")
    ax.scatter(Xhat[::3, 0], Xhat[::3, 1], s=7, color="C1", zorder=3)
    for j, c in ((0, "C3"), (1, "C2")):
        v = np.sqrt(lam[j]) * U[:, j]
        ax.annotate("", xy=mu + v, xytext=mu,
                    arrowprops=dict(arrowstyle="-|>", color=c, lw=2, shrinkA=0, shrinkB=0))
        ax.annotate(fr"$\sqrt{{\lambda_{j + 1}}}\,\boldsymbol{{v}}_{j + 1}$", xy=mu + v,
                    xytext=(-62, -6) if j == 0 else (12, 6), textcoords="offset points", color=c,
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85))
    ax.plot(*mu, "o", color=ink(), ms=4)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")

    # 右：不中心化，直接对 X 做 SVD，第一方向从原点指向均值
    _, _, Vt = np.linalg.svd(X, full_matrices=False)
    v0 = Vt[0] * np.sign(Vt[0] @ mu)
    bx.scatter(X[:, 0], X[:, 1], s=6, color="C0", alpha=0.5, lw=0)
    r = np.linalg.norm(mu) * 1.25
    bx.plot([0, r * v0[0]], [0, r * v0[1]], color="C4", lw=1.8, label="未中心化 SVD")
    bx.plot(mu[0] + t * U[0, 0], mu[1] + t * U[1, 0], color="C1", lw=1.8, label="PCA 第一主轴")
    bx.plot(0, 0, "+", color="k", ms=9, mew=1.5)
    bx.annotate("原点", (0, 0), xytext=(5, 4), textcoords="offset points")
    bx.plot(*mu, "o", color=ink(), ms=4)
    bx.annotate(r"$\bar{\boldsymbol{x}}$", mu, xytext=(-14, -14), textcoords="offset points")
    bx.set_aspect("equal")
    bx.set_xlabel("$x_1$")
    bx.legend(loc="lower right", fontsize=9)
    return fig


def plot_scree():
    """碎石图与累计解释方差；以及“总方差 = 保留的方差 + 重建误差”。"""
    X, _ = low_rank_data()
    mu, _, lam = pca_eig(X, 0)
    d = len(lam)
    ks = np.arange(1, d + 1)
    ratio = explained_variance_ratio(lam)

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(7.2, 3.3))
    ax.bar(ks, ratio, color="C0", width=0.6, label=r"$\lambda_j/\mathrm{tr}\,S$")
    ax.plot(ks, np.cumsum(ratio), "o-", color="C1", ms=4, label="累计")
    ax.axhline(0.95, color="C7", lw=0.8, ls="--")
    ax.text(d + 0.4, 0.93, "95%", va="top", ha="right", color="C7", fontsize=9)
    ax.set_xticks(ks)
    ax.set_xlabel("主成分序号 $j$")
    ax.set_ylabel("解释方差比")
    ax.set_ylim(0, 1.08)
    ax.legend(loc="center right", fontsize=9)

    k = np.arange(0, 7)
    err = np.array([reconstruction_error(X, mu, pca_eig(X, int(kk))[1]) for kk in k])
    kept = np.array([lam[:kk].sum() for kk in k])
    bx.bar(k, kept, color="C0", width=0.6, label="保留的方差")
    bx.bar(k, err, bottom=kept, color="C1", width=0.6, label="重建误差")
    bx.axhline(lam.sum(), color="k", lw=0.8, ls=":")
    bx.text(6.4, lam.sum(), r"$\mathrm{tr}\,S$", va="bottom", ha="right")
    bx.set_xticks(k)
    bx.set_xlabel("保留的维数 $k$")
    bx.set_ylim(0, lam.sum() * 1.15)
    bx.legend(loc="lower right", fontsize=9)
    return fig


def plot_kernel_pca():
    """同心圆：原始数据，以及线性 PCA 与 RBF 核 PCA 的第一成分得分。"""
    Xc, lab = circles()
    _, Ul, _ = pca_eig(Xc, 1)
    zl = project(Xc, Xc.mean(0), Ul)[:, 0]
    K = rbf_kernel(Xc, Xc, gamma=0.5)
    alpha, _ = kernel_pca_fit(K, 1)
    zr = kernel_pca_transform(K, K, alpha)[:, 0]

    fig = plt.figure(figsize=(7.2, 3.4))
    gs = fig.add_gridspec(2, 2, width_ratios=[1, 1.3])
    ax = fig.add_subplot(gs[:, 0])
    for c, name in ((0, "内环"), (1, "外环")):
        ax.scatter(*Xc[lab == c].T, s=8, color=f"C{c}", lw=0, alpha=0.8, label=name)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(loc="upper right", fontsize=9, handletextpad=0.1, borderpad=0.3)
    rng = np.random.default_rng(1)           # 与 circles 的种子不同，抖动才与角度无关
    jitter = rng.uniform(-0.3, 0.3, len(lab))
    for row, (z, name) in enumerate(((zl, "线性 PCA"), (zr, r"RBF 核 PCA"))):
        bx = fig.add_subplot(gs[row, 1])
        z = z / z.std()
        for c in (0, 1):
            bx.scatter(z[lab == c], c + jitter[lab == c], s=6, color=f"C{c}", lw=0, alpha=0.6)
        bx.set_yticks([0, 1], ["内环", "外环"])
        bx.set_ylim(-0.6, 1.6)
        bx.set_title(name, fontsize=10, loc="left")
        bx.set_xlabel("第一成分得分（标准化）" if row == 1 else None)
    return fig
