"""pca_principal 的测试：两条计算路线一致、重建误差恒等式、最大方差性质、中心化、核 PCA。"""
import numpy as np

from pca_principal import (align_signs, center_kernel, choose_k, circles, ill_conditioned_data,
                           kernel_pca_fit, kernel_pca_transform, linear_kernel, low_rank_data,
                           pca_eig, pca_svd, project, rbf_kernel, reconstruct,
                           reconstruction_error, separation)

X, B_TRUE = low_rank_data()
N, D = X.shape
MU, U_ALL, LAM = pca_eig(X, D)
S = (X - MU).T @ (X - MU) / N


def test_eig_and_svd_routes_agree_up_to_sign():
    for k in (1, 3, D):
        mu_e, Ue, lam_e = pca_eig(X, k)
        mu_s, Us, lam_s = pca_svd(X, k)
        np.testing.assert_allclose(lam_e, lam_s, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(Ue, align_signs(Ue, Us), atol=1e-9)
        Ze, Zs = project(X, mu_e, Ue), project(X, mu_s, Us)
        np.testing.assert_allclose(Ze, align_signs(Ze, Zs), atol=1e-9)


def test_reconstruction_error_equals_sum_of_discarded_eigenvalues():
    for k in range(D + 1):
        _, U, _ = pca_eig(X, k)
        np.testing.assert_allclose(reconstruction_error(X, MU, U), LAM[k:].sum(), rtol=1e-10, atol=1e-10)


def test_principal_directions_maximise_projected_variance():
    rng = np.random.default_rng(1)
    u = rng.standard_normal((D, 5000))
    u /= np.linalg.norm(u, axis=0)
    var = np.einsum("ij,ik,kj->j", u, S, u)                    # u^T S u
    assert var.max() <= LAM[0] + 1e-12
    np.testing.assert_allclose(U_ALL[:, 0] @ S @ U_ALL[:, 0], LAM[0], rtol=1e-12)
    # 拉格朗日条件 S u = lambda u 在解处成立
    np.testing.assert_allclose(S @ U_ALL[:, :3], U_ALL[:, :3] * LAM[:3], atol=1e-10)
    # k 维：任意正交基上 tr(U^T S U) 都不超过前 k 个特征值之和
    for k in (2, 3, 5):
        for _ in range(200):
            Q = np.linalg.qr(rng.standard_normal((D, k)))[0]
            assert np.trace(Q.T @ S @ Q) <= LAM[:k].sum() + 1e-10


def test_recovers_true_subspace_and_chooses_rank():
    _, U3, _ = pca_eig(X, 3)
    cosines = np.linalg.svd(B_TRUE.T @ U3, compute_uv=False)   # 主角的余弦
    assert cosines.min() > 0.999
    assert choose_k(LAM, 0.95) == 3


def test_mean_is_the_optimal_offset():
    """J(b) - J(mean) = ||(I - UU^T)(b - mean)||^2：均值是最优偏移，且只有垂直于子空间的偏差有代价。"""
    _, U, _ = pca_eig(X, 3)
    Pi = U @ U.T                                # 到 span(U) 上的正交投影
    rng = np.random.default_rng(2)
    J0 = reconstruction_error(X, MU, U)
    for _ in range(20):
        delta = rng.standard_normal(D)
        J = reconstruction_error(X, MU + delta, U)
        np.testing.assert_allclose(J - J0, np.sum(((np.eye(D) - Pi) @ delta) ** 2), rtol=1e-9)


def test_without_centring_first_direction_chases_the_mean():
    _, _, Vt = np.linalg.svd(X, full_matrices=False)
    m = MU / np.linalg.norm(MU)
    assert abs(Vt[0] @ m) > 0.99                               # 未中心化：第一方向≈均值方向
    assert abs(U_ALL[:, 0] @ m) < 0.2                          # 中心化：与均值方向几乎无关
    # 过原点的最佳 3 维子空间（未中心化 SVD）重建误差远大于 PCA
    U0 = Vt[:3].T
    err0 = float(((X - X @ U0 @ U0.T) ** 2).sum() / N)
    assert err0 > 2 * LAM[3:].sum()


def test_svd_route_is_accurate_on_ill_conditioned_data():
    Xi, lam_true = ill_conditioned_data()
    rel_svd = np.abs(pca_svd(Xi, 1)[2] / lam_true - 1)
    rel_eig = np.abs(pca_eig(Xi, 1)[2] / lam_true - 1)
    assert rel_svd.max() < 1e-6                                # 最小特征值 1e-18 也有 9 位以上有效数字
    assert rel_eig[-1] > 0.1                                   # 协方差路线：条件数平方后完全失真


def test_kernel_pca_with_linear_kernel_equals_pca():
    K = linear_kernel(X, X)                                    # 注意：用的是未中心化的 X
    np.testing.assert_allclose(center_kernel(K), (X - MU) @ (X - MU).T, atol=1e-8)
    alpha, lam_k = kernel_pca_fit(K, 3)
    np.testing.assert_allclose(lam_k, LAM[:3], rtol=1e-10)
    Zp = project(X, MU, U_ALL[:, :3])
    Zk = kernel_pca_transform(K, K, alpha)
    np.testing.assert_allclose(Zk, align_signs(Zk, Zp), atol=1e-8)
    # 新样本：核行按训练集统计量中心化后，投影与 PCA 一致
    Xn = low_rank_data(n=50, seed=7)[0]
    Zn_p = project(Xn, MU, U_ALL[:, :3])
    Zn_k = kernel_pca_transform(linear_kernel(Xn, X), K, alpha)
    s = np.sign((Zk * Zp).sum(0))
    np.testing.assert_allclose(Zn_k, Zn_p * s, atol=1e-8)
    # 重建：用 3 个得分加上均值，误差与 PCA 相同
    np.testing.assert_allclose(reconstruction_error(X, MU, U_ALL[:, :3]),
                               float(((X - reconstruct(Zp, MU, U_ALL[:, :3])) ** 2).sum() / N))


def test_rbf_kernel_pca_separates_concentric_circles():
    Xc, lab = circles()
    _, Ul, _ = pca_eig(Xc, 1)
    K = rbf_kernel(Xc, Xc, gamma=0.5)
    alpha, _ = kernel_pca_fit(K, 1)
    assert separation(project(Xc, Xc.mean(0), Ul)[:, 0], lab) < 0.5
    assert separation(kernel_pca_transform(K, K, alpha)[:, 0], lab) > 5
