"""pf_ode_transport 的测试：偏微分方程恒等式用有限差分检验；采样检验取 4 个标准误。"""
import numpy as np
import pytest

from pf_ode_transport import (VEPath, VPPath, conditional_velocity_average, default_mixture,
                              drift_coeffs, integrate, mode_summary, sample_by_ode, velocity,
                              velocity_and_divergence)

GM = default_mixture()
PATHS = [VPPath(), VEPath()]
Z = 4.0


def probe_points(n=60, seed=0):
    x, _ = GM.sample(n, np.random.default_rng(seed))
    return np.concatenate([x, np.random.default_rng(seed + 1).uniform(-4, 4, size=(n, 2))])


def ode_points(n=40, seed=3):
    """沿 ODE 积分用的点：数据样本加三个两峰之间或偏离数据的点（离数据极远的点需要更多步，见正文）。"""
    x, _ = GM.sample(n, np.random.default_rng(seed))
    return np.concatenate([x, [[0.0, 0.0], [3.0, 3.0], [-3.0, -2.0]]])


# ------------------------------------------------------------------ 闭式量
@pytest.mark.parametrize("path, t", [(PATHS[0], 0.01), (PATHS[0], 0.3), (PATHS[1], 0.05), (PATHS[1], 2.0)])
def test_score_and_hessian_match_finite_differences(path, t):
    x, h = probe_points(), 1e-5
    E = np.eye(2)
    fd_s = np.stack([(GM.log_prob(x + h * e, path, t) - GM.log_prob(x - h * e, path, t)) / (2 * h)
                     for e in E], axis=1)
    fd_h = np.stack([(GM.score(x + h * e, path, t) - GM.score(x - h * e, path, t)) / (2 * h)
                     for e in E], axis=2)
    np.testing.assert_allclose(GM.score(x, path, t), fd_s, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(GM.hessian(x, path, t), fd_h, rtol=1e-5, atol=1e-4)
    _, tr_h = GM.score_and_laplacian_terms(x, path, t)
    np.testing.assert_allclose(tr_h, np.trace(GM.hessian(x, path, t), axis1=1, axis2=2), atol=1e-10)


def test_vp_coefficients_are_beta():
    vp = PATHS[0]
    t = np.linspace(0.01, 1, 50)
    f, g2 = drift_coeffs(vp, t)
    np.testing.assert_allclose(f, -0.5 * vp.beta(t), rtol=1e-12)
    np.testing.assert_allclose(g2, vp.beta(t), rtol=1e-10)


# ------------------------------------------------------------------ 偏微分方程
def dlogp_dt(path, x, t, h):
    return (GM.log_prob(x, path, t + h) - GM.log_prob(x, path, t - h)) / (2 * h)


@pytest.mark.parametrize("path, t", [(PATHS[0], 0.05), (PATHS[0], 0.5), (PATHS[1], 0.3), (PATHS[1], 3.0)])
def test_noised_density_solves_fokker_planck(path, t):
    """d log p/dt = -f (d + x.s) + 1/2 g^2 (tr H + |s|^2)，即 dp/dt = -div(f x p) + 1/2 g^2 Lap p 除以 p。"""
    x = probe_points()
    f, g2 = drift_coeffs(path, t)
    s, tr_h = GM.score_and_laplacian_terms(x, path, t)
    rhs = -f * (2 + np.einsum("ni,ni->n", x, s)) + 0.5 * g2 * (tr_h + np.einsum("ni,ni->n", s, s))
    lhs = dlogp_dt(path, x, t, 1e-5 * t)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-5, atol=1e-5 * np.max(np.abs(rhs)))


@pytest.mark.parametrize("path, t", [(PATHS[0], 0.05), (PATHS[0], 0.5), (PATHS[1], 0.3), (PATHS[1], 3.0)])
def test_probability_flow_velocity_solves_continuity_equation(path, t):
    """(dp/dt + div(p v)) / p = d log p/dt + v.s + div v = 0。"""
    x = probe_points()
    v, div = velocity_and_divergence(GM, path, x, t)
    s = GM.score(x, path, t)
    resid = dlogp_dt(path, x, t, 1e-5 * t) + np.einsum("ni,ni->n", v, s) + div
    assert np.max(np.abs(resid)) < 1e-5 * np.max(np.abs(div))


@pytest.mark.parametrize("path, t", [(PATHS[0], 0.02), (PATHS[0], 0.7), (PATHS[1], 0.1), (PATHS[1], 5.0)])
def test_velocity_equals_average_conditional_velocity(path, t):
    x = probe_points()
    np.testing.assert_allclose(conditional_velocity_average(GM, path, x, t), velocity(GM, path, x, t),
                               rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------ 沿 ODE 的密度变化
@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_instantaneous_change_of_variables_gives_exact_log_density(path):
    pts = ode_points(40, seed=3)
    errs = {}
    for steps in (100, 200):
        ts = path.grid(steps)[::-1]                                   # t_min -> T
        xT, ell = integrate(GM, path, pts, ts, with_logdet=True)
        errs[steps] = np.max(np.abs(GM.log_prob(xT, path, ts[-1]) + ell - GM.log_prob(pts, path, ts[0])))
    assert errs[200] < 1e-4
    assert errs[100] / errs[200] > 10                                 # RK4：步数加倍，误差约降为 1/16


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_jacobian_determinant_of_flow_map_equals_exp_integrated_divergence(path):
    pts = ode_points(10, seed=4)
    ts = path.grid(400)[::-1]
    _, ell = integrate(GM, path, pts, ts, with_logdet=True)
    h = 1e-5
    cols = [(integrate(GM, path, pts + h * e, ts) - integrate(GM, path, pts - h * e, ts)) / (2 * h)
            for e in np.eye(2)]
    J = np.stack(cols, axis=2)                                        # J[n, i, j] = d x_T^i / d x_0^j
    np.testing.assert_allclose(np.log(np.abs(np.linalg.det(J))), ell, atol=1e-5)


# ------------------------------------------------------------------ 用 ODE 搬运样本
@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_ode_transports_prior_samples_to_data_distribution(path):
    n = 4000
    x = sample_by_ode(GM, path, n, 100, np.random.default_rng(6))
    frac, means, covs, k = mode_summary(GM, x)
    assert np.all(np.abs(frac - GM.w) < Z * np.sqrt(GM.w * (1 - GM.w) / n))
    for j in range(len(GM.w)):
        nj, C = np.sum(k == j), GM.cov[j]
        assert np.all(np.abs(means[j] - GM.mu[j]) < Z * np.sqrt(np.diag(C) / nj))
        se_cov = np.sqrt((np.outer(np.diag(C), np.diag(C)) + C ** 2) / nj)   # 高斯样本协方差的标准误
        assert np.all(np.abs(covs[j] - C) < Z * se_cov)


def test_ode_is_deterministic_and_invertible():
    vp = PATHS[0]
    x0 = ode_points(30, seed=7)
    ts = vp.grid(200)[::-1]
    xT = integrate(GM, vp, x0, ts)
    assert np.array_equal(xT, integrate(GM, vp, x0, ts))
    back = integrate(GM, vp, xT, ts[::-1])
    assert np.max(np.abs(back - x0)) < 1e-4
