"""PCA 的两条计算路线（协方差特征分解 / SVD）、重建误差、解释方差，以及核 PCA。纯 NumPy。"""
import numpy as np


# ---------------------------------------------------------------- 经典 PCA
def pca_eig(X, k):
    """协方差矩阵特征分解。返回 (均值 mu, 主成分矩阵 U 形状 (d, k), 全部特征值降序 lam)。
    协方差按 1/n 归一化（最大似然口径），与重建误差的定义一致。"""
    mu = X.mean(0)
    Xc = X - mu
    S = Xc.T @ Xc / len(X)
    lam, V = np.linalg.eigh(S)                # eigh 返回升序
    order = np.argsort(lam)[::-1]
    return mu, V[:, order[:k]], lam[order]


def pca_svd(X, k):
    """对中心化数据矩阵做 SVD：Xc = P diag(s) Q^T，主成分为 Q 的前 k 列，特征值为 s^2 / n。"""
    mu = X.mean(0)
    _, s, Qt = np.linalg.svd(X - mu, full_matrices=False)
    lam = s ** 2 / len(X)
    if len(lam) < X.shape[1]:                 # n < d 时补零，保持与 pca_eig 相同的长度
        lam = np.concatenate([lam, np.zeros(X.shape[1] - len(lam))])
    return mu, Qt[:k].T, lam


def project(X, mu, U):
    """主成分得分 z = U^T (x - mu)，形状 (n, k)。"""
    return (X - mu) @ U


def reconstruct(Z, mu, U):
    return mu + Z @ U.T


def reconstruction_error(X, mu, U):
    """平均平方重建误差 (1/n) sum ||x - mu - U U^T (x - mu)||^2。"""
    R = X - reconstruct(project(X, mu, U), mu, U)
    return float((R ** 2).sum() / len(X))


def explained_variance_ratio(lam):
    return lam / lam.sum()


def choose_k(lam, threshold=0.95):
    """累计解释方差首次达到 threshold 的最小 k。"""
    return int(np.searchsorted(np.cumsum(explained_variance_ratio(lam)), threshold) + 1)


def align_signs(A, B):
    """把 B 的每一列乘以 ±1，使之与 A 的对应列同号（主成分只确定到符号）。"""
    s = np.sign((A * B).sum(0))
    s[s == 0] = 1
    return B * s


# ---------------------------------------------------------------- 核 PCA
def center_kernel(K):
    """K~ = H K H，H = I - 11^T / n：特征空间里减去样本均值后的内积矩阵。"""
    n = len(K)
    one = np.full((n, n), 1.0 / n)
    return K - one @ K - K @ one + one @ K @ one


def kernel_pca_fit(K, k):
    """返回 (alpha 形状 (n, k), 特征空间协方差的特征值 lam = mu / n)。
    alpha_i 归一化为 ||alpha_i||^2 = 1 / mu_i，使特征空间中的主方向 v_i = sum_n alpha_{n,i} phi~(x_n) 为单位向量。"""
    mu, A = np.linalg.eigh(center_kernel(K))
    order = np.argsort(mu)[::-1][:k]
    mu, A = mu[order], A[:, order]
    return A / np.sqrt(mu), mu / len(K)


def kernel_pca_transform(K_new, K_train, alpha):
    """新样本的得分。K_new[a, n] = k(x_new_a, x_n)；先按训练集的统计量中心化新核行。"""
    n = len(K_train)
    Kc = (K_new - K_new.mean(1, keepdims=True) - K_train.mean(0)[None, :] + K_train.mean())
    return Kc @ alpha


def linear_kernel(A, B):
    return A @ B.T


def rbf_kernel(A, B, gamma):
    d2 = (A ** 2).sum(1)[:, None] - 2 * A @ B.T + (B ** 2).sum(1)[None, :]
    return np.exp(-gamma * np.maximum(d2, 0.0))


# ---------------------------------------------------------------- 数据
def low_rank_data(n=500, d=10, scales=(5.0, 3.0, 2.0), noise=0.3, offset=10.0, seed=0):
    """rank-3 结构 + 各向同性噪声 + 一个远离原点的均值。返回 (X, 真实的子空间基 B 形状 (d, 3))。"""
    rng = np.random.default_rng(seed)
    B, _ = np.linalg.qr(rng.standard_normal((d, len(scales))))
    Z = rng.standard_normal((n, len(scales))) * np.asarray(scales)
    mean = offset * rng.standard_normal(d) / np.sqrt(d)
    return mean + Z @ B.T + noise * rng.standard_normal((n, d)), B


def circles(n=400, radii=(1.0, 3.0), noise=0.1, seed=0):
    """两个同心圆环，返回 (X, 标签)。"""
    rng = np.random.default_rng(seed)
    lab = np.arange(n) % 2
    th = rng.uniform(0, 2 * np.pi, n)
    r = np.asarray(radii)[lab] + noise * rng.standard_normal(n)
    return np.c_[r * np.cos(th), r * np.sin(th)], lab


def ill_conditioned_data(n=200, d=6, smallest=1e-9, seed=0):
    """已中心化、奇异值精确已知的数据：X = P diag(s) Q^T，P 的列正交且与全 1 向量正交。
    返回 (X, 协方差的真实特征值 s^2 / n)。"""
    rng = np.random.default_rng(seed)
    M = np.c_[np.ones(n), rng.standard_normal((n, d))]
    P = np.linalg.qr(M)[0][:, 1:]                  # 与全 1 向量正交 => 每列均值为 0
    Q = np.linalg.qr(rng.standard_normal((d, d)))[0]
    s = np.sqrt(n) * np.logspace(0, np.log10(smallest), d)
    return (P * s) @ Q.T, s ** 2 / n


def below(x, tol):
    """舍入误差量级的数只报告是否低于 tol：它们的具体数字随 BLAS/LAPACK 版本与线程数而变。"""
    return f"< {tol:.0e}" if x < tol else f"{x:.2e}"


def separation(z, lab):
    """一维得分把两类分开的程度：类均值之差 / 类内标准差的平均。"""
    a, b = z[lab == 0], z[lab == 1]
    return float(abs(a.mean() - b.mean()) / (0.5 * (a.std() + b.std())))


def main():
    X, B = low_rank_data()
    n, d = X.shape
    mu, Ue, lam = pca_eig(X, 3)
    _, Us, lam_s = pca_svd(X, 3)
    print("特征值（eig）:", np.round(lam, 4))
    print("特征值 eig 与 SVD 的最大差:", below(np.max(np.abs(lam - lam_s)), 1e-12),
          "  主成分（对齐符号后）最大差:", below(np.max(np.abs(Ue - align_signs(Ue, Us))), 1e-12))
    print("累计解释方差:", np.round(np.cumsum(explained_variance_ratio(lam)), 4), " 95% 阈值选出 k =", choose_k(lam))
    print("前 3 个主成分与真实子空间的主角余弦:", np.round(np.linalg.svd(B.T @ Ue, compute_uv=False), 5))
    for k in range(0, 6):
        _, U, _ = pca_eig(X, k)
        print(f"k={k}: 重建误差={reconstruction_error(X, mu, U):.6f}  丢弃特征值之和={lam[k:].sum():.6f}")

    # 病态数据：协方差路线把条件数平方，小特征值丢失精度
    Xi, lam_true = ill_conditioned_data()
    le, ls = pca_eig(Xi, 1)[2], pca_svd(Xi, 1)[2]
    print("病态数据 真实特征值:", lam_true)
    print("  eig 路线相对误差:", np.array2string(np.abs(le / lam_true - 1), precision=1))
    print("  SVD 路线相对误差:", np.array2string(np.abs(ls / lam_true - 1), precision=1))

    # 不中心化：第一方向被均值“吸走”
    _, _, Vt = np.linalg.svd(X, full_matrices=False)
    m = X.mean(0) / np.linalg.norm(X.mean(0))
    print(f"未中心化 SVD 第一方向与均值方向的 |cos| = {abs(Vt[0] @ m):.4f}；"
          f"中心化后第一主成分与均值方向的 |cos| = {abs(Ue[:, 0] @ m):.4f}")
    U0 = Vt[:3].T                               # 过原点的最佳 3 维子空间
    err0 = float(((X - X @ U0 @ U0.T) ** 2).sum() / n)
    print(f"过原点的 3 维子空间重建误差 = {err0:.4f}，PCA（过均值）= {lam[3:].sum():.4f}，"
          f"比值 {err0 / lam[3:].sum():.1f}")

    # 核 PCA：线性核 = PCA
    alpha, lam_k = kernel_pca_fit(linear_kernel(X, X), 3)
    Zp = project(X, mu, Ue)
    Zk = kernel_pca_transform(linear_kernel(X, X), linear_kernel(X, X), alpha)
    print("线性核 PCA 与 PCA：特征值最大差", below(np.max(np.abs(lam_k - lam[:3])), 1e-12),
          " 得分最大差", below(np.max(np.abs(Zp - align_signs(Zp, Zk))), 1e-12))

    # 核 PCA：RBF 核分开同心圆
    Xc, lab = circles()
    _, Ul, _ = pca_eig(Xc, 2)
    Zl = project(Xc, Xc.mean(0), Ul)
    Kr = rbf_kernel(Xc, Xc, gamma=0.5)
    ar, _ = kernel_pca_fit(Kr, 2)
    Zr = kernel_pca_transform(Kr, Kr, ar)
    print("同心圆 第一成分的类间分离度：线性 PCA", round(separation(Zl[:, 0], lab), 3),
          "  RBF 核 PCA", round(separation(Zr[:, 0], lab), 3))


if __name__ == "__main__":
    main()
