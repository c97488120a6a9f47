"""本文各图。只用 NumPy 与 feature_formulas.py 里的手写公式（测试已把它们与 scikit-learn 逐项核对），
不导入 scikit-learn；鸢尾花数据要经 scikit-learn 读取，所以图用的是固定种子生成的合成数据。"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Circle

from feature_formulas import lda_manual, mutual_info_binned, pca_manual, standardize


def two_scale_data(n=40, seed=0):
    """两类样本：特征 1 的数值小（约 1 到 2），决定类别；特征 2 的数值大（约 50±15），与类别无关。"""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n)
    X = np.column_stack([np.where(y == 0, 1.0, 2.0) + 0.25 * rng.standard_normal(2 * n),
                         50 + 15 * rng.standard_normal(2 * n)])
    return X, y


def nearest(X, i, k):
    """样本 i 的 k 个最近邻（欧氏距离，不含自己）与第 k 近的距离。"""
    d = np.linalg.norm(X - X[i], axis=1)
    d[i] = np.inf
    idx = np.argsort(d, kind="stable")[:k]
    return idx, d[idx[-1]]


def plot_scaling_knn(k=7):
    X, y = two_scale_data()
    Z = standardize(X)
    i = int(np.argmin(np.abs(X[:, 0] - 1.0) + np.abs(X[:, 1] - 50) / 15 + 10 * (y != 0)))  # 类 0 中部的一个点
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.8))
    for ax, data, title in ((axes[0], X, "原始单位"), (axes[1], Z, "标准化后")):
        idx, r = nearest(data, i, k)
        ax.add_patch(Circle(data[i], r, facecolor="C7", alpha=0.12, edgecolor="C7", lw=1))
        for c, marker in ((0, "o"), (1, "s")):
            ax.plot(*data[y == c].T, marker, ls="none", ms=5, color=f"C{c}", alpha=0.8, label=f"类 {c}")
        for j in idx:
            ax.plot(*np.c_[data[i], data[j]], color="k", lw=0.8)
        ax.plot(*data[i], "*", color="C3", ms=13, mec="k", mew=0.5, label="查询点")
        same = int(np.sum(y[idx] == y[i]))
        ax.set_title(f"{title}：{k} 个近邻中 {same} 个同类")
    axes[0].set_xlabel("特征 1（cm）")
    axes[0].set_ylabel("特征 2（g）")
    axes[1].set_xlabel("特征 1（标准化）")
    axes[1].set_ylabel("特征 2（标准化）")
    axes[1].set_aspect("equal", adjustable="datalim")
    handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, frameon=False)
    return fig


def elongated_classes(n=60, seed=1):
    """三类二维样本：每类都沿同一个方向拉长（方差大），类中心沿与之近乎垂直的方向排开（方差小）。"""
    rng = np.random.default_rng(seed)
    long_axis = np.array([np.cos(0.5), np.sin(0.5)])
    short_axis = np.array([-long_axis[1], long_axis[0]])
    y = np.repeat([0, 1, 2], n)
    X = (3.0 * rng.standard_normal((3 * n, 1)) * long_axis
         + 0.35 * rng.standard_normal((3 * n, 1)) * short_axis
         + (y[:, None] - 1) * 1.2 * short_axis)
    return X, y


def plot_pca_vs_lda():
    X, y = elongated_classes()
    _, pcs = pca_manual(X)
    _, lds, _, _ = lda_manual(X, y)
    pc1 = pcs[:, 0]
    ld1 = lds[:, 0] / np.linalg.norm(lds[:, 0])
    fig, (ax, axp) = plt.subplots(1, 2, figsize=(7.2, 3.4), width_ratios=[1.1, 1])
    mu = X.mean(0)
    for c in range(3):
        ax.plot(*X[y == c].T, "o", ms=3.5, color=f"C{c}", alpha=0.7)
    for v, colour, name in ((pc1, "C7", "PCA 第一主成分"), (ld1, "k", "LDA 第一判别方向")):
        v = v * np.sign(v[0] if abs(v[0]) > 1e-12 else v[1])
        ax.annotate("", xy=mu + 6 * v, xytext=mu - 6 * v,
                    arrowprops=dict(arrowstyle="-|>", color=colour, lw=2))
        ax.text(*(mu + 6.3 * v), name, color=colour, ha="left" if v[0] > 0.3 else "center", va="bottom")
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_axis_off()
    # 右：样本在两个方向上的一维投影，每类一行（抖开一点便于看清）
    rng = np.random.default_rng(0)
    for row, (v, name) in enumerate(((pc1, "投影到 PCA"), (ld1, "投影到 LDA"))):
        proj = (X - mu) @ v
        proj = proj / proj.std()
        for c in range(3):
            yy = 1.5 * row + 0.25 * (c - 1) + 0.05 * rng.standard_normal((y == c).sum())
            axp.plot(proj[y == c], yy, "|", ms=7, color=f"C{c}", alpha=0.8)
        axp.text(-3.6, 1.5 * row + 0.5, name, ha="left", va="bottom")
    axp.set_yticks([])
    axp.set_xlim(-3.7, 3.7)
    axp.set_ylim(-0.6, 2.45)
    axp.set_xlabel("投影坐标（除以其标准差）")
    for side in ("left", "right", "top"):
        axp.spines[side].set_visible(False)
    return fig


def plot_mi_bias(n_bins=10, K=3, reps=100, seed=0):
    """特征与标签独立（真实互信息为 0）时，分箱代入式估计的均值随样本量 n 的变化。"""
    rng = np.random.default_rng(seed)
    ns = np.array([30, 60, 150, 300, 600, 1500, 3000])
    means, q10, q90 = [], [], []
    for n in ns:
        est = [mutual_info_binned(rng.standard_normal(n), rng.integers(K, size=n), n_bins) for _ in range(reps)]
        means.append(np.mean(est))
        q10.append(np.quantile(est, 0.1))
        q90.append(np.quantile(est, 0.9))
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    ax.fill_between(ns, q10, q90, color="C0", alpha=0.2, lw=0, label="10%–90% 分位")
    ax.loglog(ns, means, "o-", color="C0", label="估计值的均值")
    grid = np.geomspace(ns[0], ns[-1], 100)
    ax.loglog(grid, (n_bins - 1) * (K - 1) / (2 * grid), "--", color="C1",
              label="$($箱数$-1)(K-1)/(2n)$")
    ax.axvline(150, color="C7", lw=1, ls=":")
    ax.text(150 * 1.08, ax.get_ylim()[0] * 1.5, "$n=150$", color="C7")
    ax.set_xlabel("样本量 $n$")
    ax.set_ylabel("互信息估计（nat）")
    ax.legend(loc="upper right")
    return fig
