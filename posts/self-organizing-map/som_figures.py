"""本文各图：训练、误差指标与侧抑制都由 som_kohonen.py 计算，这里只负责画。"""
import matplotlib.pyplot as plt
import numpy as np

from som_kohonen import (activity_bubble, bmu, bubble_input, grid_coords, mexican_hat,
                         quantization_error, square_demo_data, topographic_error, train_online,
                         two_cluster_data, u_matrix)

SHAPE = (10, 10)


def initial_codebook():
    """与 som_kohonen.main() 相同：100 个码本向量挤在中心 [0.45, 0.55]^2 的小方块里。"""
    return 0.45 + 0.1 * np.random.default_rng(2).random((100, 2))


def draw_grid(ax, W, color="C0"):
    """把码本画成网格：网格上相邻（同行或同列相邻）的单元之间连一条线。"""
    G = W.reshape(SHAPE + (2,))
    for i in range(SHAPE[0]):
        ax.plot(G[i, :, 0], G[i, :, 1], color=color, lw=0.9)
    for j in range(SHAPE[1]):
        ax.plot(G[:, j, 0], G[:, j, 1], color=color, lw=0.9)
    ax.plot(W[:, 0], W[:, 1], "o", color=color, ms=2)


def plot_bubble():
    """墨西哥帽形的侧向连接，以及它把宽而平缓的输入锐化成的活动气泡。"""
    inp = bubble_input()
    L = mexican_hat(len(inp))
    eta = activity_bubble(inp, L)
    n = len(inp)
    d = np.arange(-n // 2, n // 2 + 1)

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(7.2, 3.2), width_ratios=[1, 1.5])
    ax.plot(d, L[0, d % n], color="C4", lw=1.6)
    ax.axhline(0, color="C7", lw=0.8)
    ax.set_xlabel("两神经元的距离 $i-k$")
    ax.set_ylabel("侧向连接 $L_{ik}$")

    k = np.arange(n)
    bx.plot(k, inp, color="C1", lw=1.6, label=r"外部输入 $\phi_i$")
    bx.bar(k, eta, color="C0", width=0.8, alpha=0.85, label=r"稳定后的活动 $\eta_i$")
    bx.set_xlabel("神经元 $i$")
    bx.set_ylim(0, 1.25)
    bx.legend(loc="upper right", fontsize=9)
    return fig


def plot_unfolding():
    """10x10 网格在输入空间中的展开过程：初始半径 5（上排）与 1（下排），训练 100、1000、5000 步。"""
    X = square_demo_data()
    steps = (100, 1000, 5000)
    fig, axes = plt.subplots(2, 3, figsize=(7.2, 5.0), sharex=True, sharey=True)
    for row, s0 in enumerate((5.0, 1.0)):
        snaps = {}

        def record(t, W, snaps=snaps):
            if t in steps:
                snaps[t] = W.copy()
        train_online(X, SHAPE, 5000, seed=3, W0=initial_codebook(), sigma=(s0, 0.5), callback=record)
        for col, t in enumerate(steps):
            ax = axes[row, col]
            ax.add_patch(plt.Rectangle((0, 0), 1, 1, fc="#eaeef2", ec="none"))
            draw_grid(ax, snaps[t], color="C0" if s0 == 5.0 else "C3")
            ax.set_aspect("equal")
            ax.set_xlim(-0.05, 1.05)
            ax.set_ylim(-0.05, 1.05)
            ax.set_xticks([0, 1])
            ax.set_yticks([0, 1])
            if row == 0:
                ax.set_title(f"{t} 步", fontsize=10)
        axes[row, 0].set_ylabel(fr"$\sigma_0={s0:g}$")
    return fig


def plot_errors():
    """量化误差与拓扑误差随训练步数的变化，不同的初始邻域半径（每个半径训练一次，种子 0）。"""
    X = square_demo_data()
    Xe = X[:1000]                                      # 评估用前 1000 个样本，省时间
    coords = grid_coords(SHAPE)
    checks = set(np.unique(np.round(np.geomspace(10, 5000, 18)).astype(int)).tolist())

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(7.2, 3.3), sharex=True)
    for s0, c in zip((0.5, 1.0, 2.0, 5.0), ("C3", "C1", "C2", "C0")):
        rec = {}

        def record(t, W, rec=rec):
            if t in checks:
                rec[t] = (quantization_error(Xe, W), topographic_error(Xe, W, coords))
        train_online(X, SHAPE, 5000, seed=0, W0=initial_codebook(), sigma=(s0, 0.5), callback=record)
        t = np.array(sorted(rec))
        qe, te = np.array([rec[k] for k in t]).T
        ax.plot(t, qe, color=c, lw=1.6, label=fr"$\sigma_0={s0:g}$")
        bx.plot(t, te, color=c, lw=1.6)
    ax.set_xscale("log")
    ax.set_xlabel("训练步数")
    ax.set_ylabel("量化误差 QE")
    ax.set_ylim(0, None)
    ax.legend(fontsize=9)
    bx.set_xlabel("训练步数")
    bx.set_ylabel("拓扑误差 TE")
    bx.set_ylim(0, None)
    return fig


def plot_u_matrix():
    """两个三维高斯团簇训练出的 U-matrix，标出每个团簇的样本落在哪些单元上。"""
    X3 = two_cluster_data()
    W3 = train_online(X3, SHAPE, 10000, seed=5)            # 与 som_kohonen.main() 相同
    U = u_matrix(W3, SHAPE)
    coords = grid_coords(SHAPE)

    fig, ax = plt.subplots(figsize=(4.6, 3.8))
    im = ax.imshow(U.T, origin="lower", cmap="cividis")   # 横轴为网格第 0 轴，纵轴为第 1 轴
    for part, m in ((X3[:500], "o"), (X3[500:], "^")):
        hit = coords[np.unique(bmu(part, W3))]
        ax.plot(hit[:, 0], hit[:, 1], m, ms=4.5, mfc="none", mec="C1", mew=1.1)
    ax.set_xlabel("网格第 0 轴")
    ax.set_ylabel("网格第 1 轴")
    fig.colorbar(im, ax=ax, label="到邻居码本的平均距离")
    return fig
