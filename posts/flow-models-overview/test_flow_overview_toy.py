"""flow_overview_toy 的测试：固定种子；统计容差取 Z = 4 个标准误（由样本本身估计）。"""
from functools import lru_cache

import numpy as np

from flow_overview_toy import (AffineField, MixtureOTPath, MLPField, affine_gaussian_moments,
                               cfm_fm_experiment, features, gauss_logpdf, hutchinson,
                               hutchinson_variance, least_squares, logdet_flow_map_fd,
                               push_with_hutchinson, push_with_logdensity, random_affine_field,
                               sample_with_field)

Z = 4.0


@lru_cache(maxsize=None)
def experiment(seed=0):
    return cfm_fm_experiment(seed=seed)


# ------------------------------------------------------------ 瞬时变量替换
def test_affine_flow_log_density_matches_gaussian_moments():
    field = random_affine_field(d=3, seed=0)
    m0, S0 = np.array([0.5, -1.0, 0.0]), np.array([[1.0, 0.3, 0.0], [0.3, 0.5, 0.1], [0.0, 0.1, 2.0]])
    x0 = np.random.default_rng(1).multivariate_normal(m0, S0, size=20)
    x1, logp1 = push_with_logdensity(field, x0, gauss_logpdf(x0, m0, S0), n_steps=100)
    m1, S1 = affine_gaussian_moments(field, m0, S0, n_steps=100)
    # 两条独立的计算路线：积分 -tr A(t)，或积分矩方程后直接写高斯密度
    np.testing.assert_allclose(logp1, gauss_logpdf(x1, m1, S1), atol=1e-8)
    # Liouville：log det S_1 - log det S_0 = 2 ∫ tr A(t) dt = 2 (tr A0 + tr A1 / 2)
    lhs = np.linalg.slogdet(S1)[1] - np.linalg.slogdet(S0)[1]
    assert abs(lhs - 2 * (np.trace(field.A0) + 0.5 * np.trace(field.A1))) < 1e-8


def test_sign_matters_expanding_field_lowers_density():
    # v = x（纯膨胀）：tr = d，log p 应按 -d t 下降，x 按 e^t 放大
    field = AffineField(np.eye(2), np.zeros((2, 2)), np.zeros(2), np.zeros(2))
    x0 = np.array([[0.3, -0.2]])
    x1, logp1 = push_with_logdensity(field, x0, np.array([0.0]), n_steps=100)
    np.testing.assert_allclose(x1, x0 * np.e, rtol=1e-8)
    assert abs(logp1[0] + 2.0) < 1e-10


def test_mlp_jacobian_and_divergence_are_consistent():
    mlp = MLPField(d=3, seed=2)
    x = np.random.default_rng(3).standard_normal((5, 3))
    h = 1e-6
    fd = np.stack([(mlp.v(x + h * e, 0.4) - mlp.v(x - h * e, 0.4)) / (2 * h) for e in np.eye(3)], axis=2)
    np.testing.assert_allclose(mlp.jac(x, 0.4), fd, atol=1e-8)
    np.testing.assert_allclose(mlp.div(x, 0.4), np.trace(mlp.jac(x, 0.4), axis1=1, axis2=2), atol=1e-12)


def test_nonlinear_flow_divergence_integral_equals_brute_force_logdet():
    mlp = MLPField(d=2, seed=1)
    x0 = np.random.default_rng(4).standard_normal((8, 2))
    logp0 = gauss_logpdf(x0, np.zeros(2), np.eye(2))
    _, logp1 = push_with_logdensity(mlp, x0, logp0, n_steps=100)
    brute = logp0 - logdet_flow_map_fd(mlp, x0, n_steps=100)
    np.testing.assert_allclose(logp1, brute, atol=1e-7)
    assert np.max(np.abs(logp1 - logp0)) > 0.05      # 流确实改变了密度，检验不是空转


def test_hutchinson_inside_the_ode_is_unbiased():
    mlp = MLPField(d=2, seed=1)
    x0 = np.random.default_rng(4).standard_normal((1, 2))
    logp0 = gauss_logpdf(x0, np.zeros(2), np.eye(2))
    _, exact = push_with_logdensity(mlp, x0, logp0, n_steps=50)
    m = 2000
    _, est = push_with_hutchinson(mlp, np.repeat(x0, m, axis=0), np.repeat(logp0, m),
                                  np.random.default_rng(5), n_steps=50)
    assert abs(est.mean() - exact[0]) < Z * est.std(ddof=1) / np.sqrt(m)
    assert est.std() > 0.05                           # 单个探针确实有噪声


# ------------------------------------------------------------ Hutchinson
def test_hutchinson_mean_and_variance_formulas():
    A = np.random.default_rng(3).standard_normal((30, 30)) + 2 * np.eye(30)
    n = 20_000
    var = {}
    for kind in ("gaussian", "rademacher"):
        est = hutchinson(A, n, np.random.default_rng(4), kind)
        assert abs(est.mean() - np.trace(A)) < Z * np.sqrt(hutchinson_variance(A, kind) / n)
        # 样本方差的相对标准误约 sqrt((kurtosis - 1) / n)，这里用样本峰度估计
        k = np.mean((est - est.mean()) ** 4) / est.var() ** 2
        assert abs(est.var() / hutchinson_variance(A, kind) - 1) < Z * np.sqrt((k - 1) / n)
        var[kind] = hutchinson_variance(A, kind)
    assert var["rademacher"] < var["gaussian"]


def test_rademacher_is_exact_for_diagonal_matrices():
    A = np.diag(np.arange(1.0, 11.0))
    est = hutchinson(A, 50, np.random.default_rng(0), "rademacher")
    np.testing.assert_allclose(est, np.trace(A), rtol=1e-14)
    assert hutchinson_variance(A, "rademacher") == 0.0


# ------------------------------------------------------------ CFM 与 FM
def test_marginal_velocity_is_conditional_mean_of_conditional_velocity():
    # 蛮力：固定 t，在 x 的一个窄窗口里对条件速度取平均，应接近闭式 u_t(x)
    path = MixtureOTPath()
    rng = np.random.default_rng(6)
    for t0, x0 in ((0.3, -0.5), (0.7, 1.0), (0.9, -1.8)):
        xt, uc = path.sample_at(t0, 400_000, rng)
        sel = np.abs(xt - x0) < 0.02
        m = sel.sum()
        assert m > 1000
        se = uc[sel].std(ddof=1) / np.sqrt(m)
        # 对称窗口内速度场的线性变化互相抵消，剩下 O(窗口宽^2) 的偏差，留 0.01 余量
        assert abs(uc[sel].mean() - path.marginal_velocity(np.array([x0]), np.array([t0]))[0]) < Z * se + 0.01


def test_cfm_minus_fm_gradient_gap_is_pure_noise():
    exp = experiment()
    z = exp["grad_gap"] / exp["grad_gap_se"]
    assert np.max(np.abs(z)) < Z


def test_cfm_minus_fm_is_the_same_constant_for_any_theta():
    exp = experiment()
    C = exp["path"].expected_conditional_variance()
    other = cfm_fm_experiment(n=20_000, seed=1)        # 在独立样本上拟合的 theta，避免与本批样本相关
    p = exp["Phi"].shape[1]
    thetas = [np.zeros(p), other["th_fm"], other["th_cfm"], 3 * np.random.default_rng(7).standard_normal(p)]
    for th in thetas:
        pred = exp["Phi"] @ th
        D = (pred - exp["u_c"]) ** 2 - (pred - exp["u_m"]) ** 2
        assert abs(D.mean() - C) < Z * D.std(ddof=1) / np.sqrt(len(D))
    assert C > 2.0                                     # 常数本身不小：CFM 损失有一个降不下去的底


def test_wrong_marginal_field_is_detected():
    # 反例：把混合权重弄错后的"边缘场"不再是条件期望，梯度差显著不为零
    exp = experiment()
    wrong = MixtureOTPath(w=(1 / 3, 1 / 3, 1 / 3)).marginal_velocity(exp["xt"], exp["t"])
    prod = exp["Phi"] * (exp["u_c"] - wrong)[:, None]
    z = prod.mean(axis=0) / (prod.std(axis=0, ddof=1) / np.sqrt(len(prod)))
    assert np.max(np.abs(z)) > 3 * Z


def test_cfm_and_fm_minimizers_agree():
    exp = experiment()
    n, p = exp["Phi"].shape
    C = exp["path"].expected_conditional_variance()
    rms = np.sqrt(np.mean((exp["Phi"] @ (exp["th_cfm"] - exp["th_fm"])) ** 2))
    # 最小二乘的估计噪声：预测差的均方约为 p * C / n，给 2 倍余量
    assert rms < 2 * np.sqrt(p * C / n)


def test_sampling_with_exact_and_fitted_fields_recovers_data_moments():
    path = MixtureOTPath()
    n = 4_000
    mu4 = float(path.w @ ((path.mu - path.mean()) ** 4 + 6 * (path.mu - path.mean()) ** 2 * path.s ** 2
                          + 3 * path.s ** 4))
    tol_mean, tol_var = Z * np.sqrt(path.var() / n), Z * np.sqrt((mu4 - path.var() ** 2) / n)
    th = experiment()["th_cfm"]
    for v in (path.marginal_velocity, lambda x, t: features(x, t) @ th):
        xs = sample_with_field(v, n=n, n_steps=25, seed=8)
        assert abs(xs.mean() - path.mean()) < tol_mean
        assert abs(xs.var() - path.var()) < tol_var
