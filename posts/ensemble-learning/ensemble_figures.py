"""本文各图：AdaBoost 与多数投票都由 ensemble_adaboost.py 计算，这里只负责画。"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

from ensemble_adaboost import adaboost, circle_data, majority_vote_error, stump_predict

T = 200


def plot_majority_vote():
    """M 个独立分类器多数投票的错误率随 M 的变化，几种单个错误率 q。"""
    Ms = np.arange(1, 52, 2)
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for q, c in zip((0.3, 0.4, 0.45, 0.55), ("C0", "C2", "C1", "C3")):
        ax.plot(Ms, [majority_vote_error(q, int(M)) for M in Ms], "o-", color=c, ms=3, lw=1.4,
                label=f"$q={q}$")
    ax.axhline(0.5, color="C7", lw=0.8, ls=":")
    ax.set_xlabel("分类器个数 $M$")
    ax.set_ylabel("多数投票的错误率")
    ax.set_ylim(0, 0.85)
    ax.set_xlim(0, 52)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=4, fontsize=9)
    return fig


def staged_scores(model, X):
    """每一轮之后的 F_t(X)，形状 (T, n)。"""
    return np.cumsum([a * stump_predict(X, s) for a, s in zip(model["alpha"], model["stump"])], axis=0)


def plot_adaboost_curves():
    """训练错误率、测试错误率、指数损失上界随轮数的变化；以及每轮的加权错误率 eps_t。"""
    X, y = circle_data()
    model = adaboost(X, y, T)
    Xt, yt = circle_data(5000, seed=99)                 # 与 ensemble_adaboost.main() 相同的测试集
    test_err = (np.sign(staged_scores(model, Xt)) != yt).mean(1)
    t = np.arange(1, T + 1)

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(7.2, 3.3), width_ratios=[1.5, 1])
    ax.plot(t, model["bound"], color="C3", lw=1.6, label=r"上界 $Z_1Z_2\cdots Z_t$")
    ax.plot(t, model["train_err"], color="C0", lw=1.2, label="训练错误率")
    ax.plot(t, test_err, color="C1", lw=1.2, label="测试错误率")
    ax.set_xlabel("轮数 $t$")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=9)
    bx.plot(t, model["eps"], ".", color="C4", ms=3)
    bx.axhline(0.5, color="C7", lw=0.8, ls=":")
    bx.set_xlabel("轮数 $t$")
    bx.set_ylabel(r"加权错误率 $\epsilon_t$")
    bx.set_ylim(0.3, 0.52)
    return fig


def plot_adaboost_boundary():
    """10 轮与 200 轮之后 sign(F_t) 的判别区域，虚线为真实的圆。"""
    X, y = circle_data()
    model = adaboost(X, y, T)
    g = np.linspace(-1, 1, 161)
    G1, G2 = np.meshgrid(g, g)
    F = staged_scores(model, np.c_[G1.ravel(), G2.ravel()])
    cmap = ListedColormap(["C1", "C0"])
    th = np.linspace(0, 2 * np.pi, 200)
    r = np.sqrt(2 / np.pi)

    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.5), sharey=True)
    for ax, rounds in zip(axes, (10, T)):
        ax.pcolormesh(G1, G2, (F[rounds - 1] > 0).reshape(G1.shape), cmap=cmap, alpha=0.25,
                      shading="nearest", rasterized=True)
        for cls, c, m in ((1, "C0", "o"), (-1, "C1", "^")):
            ax.scatter(*X[y == cls].T, s=9, color=c, marker=m, lw=0)
        ax.plot(r * np.cos(th), r * np.sin(th), color="k", lw=1, ls="--")
        ax.set_title(f"{rounds} 轮", fontsize=10)
        ax.set_aspect("equal")
        ax.set_xlabel("$x_1$")
    axes[0].set_ylabel("$x_2$")
    return fig
