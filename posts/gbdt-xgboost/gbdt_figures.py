"""本文各图：提升与分裂都由 gbdt_xgboost.py 计算，这里只负责画。"""
from functools import cache

import matplotlib.pyplot as plt
import numpy as np

from gbdt_xgboost import (best_split, boost, logistic_grad_hess, split_gain, squared_loss,
                          weighted_quantile_candidates)

ETAS = (1.0, 0.3, 0.1)
N_ROUNDS = 100
NOISE = 0.4                                          # 回归数据的噪声标准差


def truth(x):
    return np.sin(1.3 * x)


def regression_data(n, seed, noise=NOISE):
    """一维回归：y = sin(1.3 x) + 噪声，x ~ U(0, 6)。"""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 6, n)
    return x[:, None], truth(x) + noise * rng.standard_normal(n)


@cache
def run(eta):
    """以学习率 eta 提升 N_ROUNDS 轮（平方损失、深度 2、lam = 1）。返回 dict：训练数据、
    每轮之后的训练损失与测试损失、网格上的分阶段预测（第 t 行 = 前 t+1 棵树）。"""
    X, y = regression_data(100, seed=0)
    Xt, yt = regression_data(200, seed=1)
    grid = np.linspace(0, 6, 241)[:, None]
    trees, train_hist = boost(X, y, "squared", n_rounds=N_ROUNDS, eta=eta, base_score=y.mean(),
                              max_depth=2, lam=1.0)
    F_test = y.mean() + eta * np.cumsum([t.predict(Xt) for t in trees], axis=0)
    test_hist = np.r_[squared_loss(yt, y.mean()).mean(), squared_loss(yt[None], F_test).mean(1)]
    return {"X": X, "y": y, "grid": grid, "train": train_hist, "test": test_hist, "trees": trees}


def plot_staged_predictions():
    """eta = 0.1 时提升 1、5、20、100 轮后的模型。"""
    r = run(0.1)
    staged = r["y"].mean() + 0.1 * np.cumsum([t.predict(r["grid"]) for t in r["trees"]], axis=0)
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    ax.scatter(r["X"][:, 0], r["y"], s=10, color="C7", alpha=0.6, lw=0, label="训练样本")
    ax.plot(r["grid"][:, 0], truth(r["grid"][:, 0]), color="k", lw=1, ls="--", label="真实函数")
    for t, c in zip((1, 5, 20, 100), ("C1", "C2", "C0", "C3")):
        ax.plot(r["grid"][:, 0], staged[t - 1], color=c, lw=1.8, label=f"{t} 轮")
    ax.set_xlabel("$x$")
    ax.set_ylabel("$y$")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=6, fontsize=9,
              handlelength=1.4, columnspacing=1.0)
    return fig


def plot_shrinkage():
    """不同学习率下训练损失与测试损失随轮数的变化。"""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(7.2, 3.3), sharex=True)
    rounds = np.arange(N_ROUNDS + 1)
    for eta, c in zip(ETAS, ("C3", "C1", "C0")):
        train, test = run(eta)["train"], run(eta)["test"]
        ax.plot(rounds, train, color=c, lw=1.6, label=fr"$\nu={eta}$")
        bx.plot(rounds, test, color=c, lw=1.6)
        j = int(np.argmin(test))
        bx.plot(j, test[j], "o", color=c, ms=5)
    floor = 0.5 * NOISE ** 2                         # 预测等于真实函数时的期望平方损失
    bx.axhline(floor, color="C7", lw=0.8, ls=":")
    bx.text(N_ROUNDS, floor, "噪声下限", ha="right", va="top", color="C7", fontsize=9)
    ax.set_yscale("log")
    ax.set_xlabel("轮数")
    ax.set_ylabel("训练损失")
    ax.legend(fontsize=9)
    bx.set_xlabel("轮数")
    bx.set_ylabel("测试损失")
    bx.set_ylim(0.06, 0.2)
    return fig


def plot_gain_curve():
    """3000 个样本的单特征分裂：增益随阈值变化，以及 eps = 0.05 的加权分位数候选。"""
    lam = 1.0
    rng = np.random.default_rng(5)                   # 与 gbdt_xgboost.main() 中的实验相同
    x = rng.normal(size=3000)
    y = (rng.random(3000) < 1 / (1 + np.exp(-3 * (x - 0.37)))).astype(float)
    g, h = logistic_grad_hess(y, np.zeros(3000))
    order = np.argsort(x)
    xs, cg, ch = x[order], np.cumsum(g[order]), np.cumsum(h[order])
    thr = 0.5 * (xs[1:] + xs[:-1])                   # 相邻取值的中点，左边 = 前 i+1 个样本
    gain = split_gain(cg[:-1], ch[:-1], g.sum() - cg[:-1], h.sum() - ch[:-1], lam, 0.0)
    exact = best_split(x[:, None], g, h, lam, 0.0)

    cands = weighted_quantile_candidates(x, h, 0.05)[1:-1]    # 内部候选（两端的切分没有意义）
    left = x[None, :] < cands[:, None]
    cgain = split_gain(left @ g, left @ h, g.sum() - left @ g, h.sum() - left @ h, lam, 0.0)
    j = int(np.argmax(cgain))

    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    ax.plot(thr, gain, color="C0", lw=1.4, label="每个阈值的增益（精确贪心）")
    ax.plot(cands, cgain, "o", color="C1", ms=5, label=r"加权分位数候选（$\epsilon=0.05$）")
    ax.axvline(exact["threshold"], color="C0", lw=0.8, ls="--")
    ax.annotate(f"精确最优 {exact['threshold']:.3f}", (exact["threshold"], exact["gain"]),
                xytext=(-1.2, exact["gain"] * 1.05), ha="right", va="center", color="C0",
                arrowprops=dict(arrowstyle="->", color="C0", lw=0.8, shrinkB=3))
    ax.annotate(f"候选最优 {cands[j]:.3f}", (cands[j], cgain[j]), xytext=(1.2, exact["gain"] * 1.05),
                ha="left", va="center", color="C1",
                arrowprops=dict(arrowstyle="->", color="C1", lw=0.8, shrinkB=4))
    ax.set_xlim(-3, 3)
    ax.set_ylim(0, exact["gain"] * 1.15)
    ax.set_xlabel("阈值 $s$")
    ax.set_ylabel("增益")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize=9)
    return fig
