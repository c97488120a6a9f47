"""正文各变换的"手写"NumPy 版本：只依赖 NumPy，不导入 scikit-learn。

feature_engineering_iris.py 与测试用它们核对 scikit-learn 的结果与正文里的公式；
本文的图（feature_engineering_figures.py）也只用这些函数，所以构建网站时不需要 scikit-learn。
"""
import numpy as np


def standardize(X, mean=None, std=None):
    """z = (x - mu) / sigma，sigma 用总体标准差（ddof = 0），与 StandardScaler 一致。"""
    mean = X.mean(0) if mean is None else mean
    std = X.std(0) if std is None else std
    return (X - mean) / std


def chi2_manual(X, y):
    """scikit-learn 的 chi2：把非负特征值当作"计数"，构造 类别 x 特征 的列联表。
    O[c, j] = sum_{i in c} x_ij，E[c, j] = (n_c / n) * sum_i x_ij，chi2_j = sum_c (O - E)^2 / E。"""
    classes = np.unique(y)
    O = np.array([X[y == c].sum(0) for c in classes])
    prior = np.array([np.mean(y == c) for c in classes])
    E = np.outer(prior, X.sum(0))
    return ((O - E) ** 2 / E).sum(0)


def mutual_info_binned(x, y, n_bins=10):
    """等频分箱后的代入式（plug-in）互信息估计，单位 nat：I = sum p(a,c) log[p(a,c) / (p(a) p(c))]。"""
    edges = np.quantile(x, np.linspace(0, 1, n_bins + 1)[1:-1])
    a = np.searchsorted(edges, x, side="right")
    joint = np.zeros((n_bins, len(np.unique(y))))
    np.add.at(joint, (a, y), 1.0)
    joint /= joint.sum()
    pa, pc = joint.sum(1, keepdims=True), joint.sum(0, keepdims=True)
    nz = joint > 0
    return float(np.sum(joint[nz] * np.log(joint[nz] / (pa @ pc)[nz])))


def pca_manual(X):
    """协方差矩阵的特征分解：返回按降序排列的特征值与特征向量（列）。"""
    Xc = X - X.mean(0)
    C = Xc.T @ Xc / (len(X) - 1)
    vals, vecs = np.linalg.eigh(C)
    order = np.argsort(vals)[::-1]
    return vals[order], vecs[:, order]


def lda_manual(X, y):
    """Fisher LDA：求广义特征值问题 S_B v = lambda S_W v，返回降序特征值与对应方向。"""
    mu = X.mean(0)
    d = X.shape[1]
    Sw, Sb = np.zeros((d, d)), np.zeros((d, d))
    for c in np.unique(y):
        Xc = X[y == c]
        mc = Xc.mean(0)
        Sw += (Xc - mc).T @ (Xc - mc)
        Sb += len(Xc) * np.outer(mc - mu, mc - mu)
    vals, vecs = np.linalg.eig(np.linalg.solve(Sw, Sb))
    order = np.argsort(vals.real)[::-1]
    return vals.real[order], vecs.real[:, order], Sw, Sb
