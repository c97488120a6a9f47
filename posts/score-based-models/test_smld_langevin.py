"""smld_langevin 的测试。随机性全部用固定种子；统计容差取 Z = 4 个标准误。"""
import numpy as np
import pytest

from smld_langevin import (EPS, N_STEPS, SIGMA_MAX, SIGMA_MIN, IsoGaussianMixture, default_mixture,
                           dsm_loss, esm_loss, fisher_information, geometric_sigmas, ism_loss,
                           langevin, langevin_gaussian_stationary_var, mode_fractions,
                           predicted_within_var, run_annealed, run_single_level, sliced_sm_terms,
                           within_mode_stats)

Z = 4.0
GM = default_mixture()
GM1 = IsoGaussianMixture([0.2, 0.8], [[-2.0], [2.0]], [0.5, 0.5])
THETAS = [(-1.0, 0.0, 0.0), (-2.0, 0.3, 1.5), (-0.5, -0.2, -2.0), (0.3, 1.0, -4.0)]


# ------------------------------------------------------------------ 闭式得分
@pytest.mark.parametrize("sigma", [0.0, 0.1, 1.0, 5.0])
def test_score_equals_finite_difference_of_log_density(sigma):
    x = np.random.default_rng(0).uniform(-5, 5, size=(200, 2))
    h = 1e-5
    fd = np.stack([(GM.log_prob(x + h * e, sigma) - GM.log_prob(x - h * e, sigma)) / (2 * h)
                   for e in np.eye(2)], axis=1)
    np.testing.assert_allclose(GM.score(x, sigma), fd, rtol=1e-6, atol=1e-6)


def test_score_is_finite_far_away():
    x = np.array([[1e3, -1e3], [-1e3, -1e3]])
    assert np.all(np.isfinite(GM.score(x, 0.1))) and np.all(np.isfinite(GM.log_prob(x, 0.1)))


def test_mixture_weights_invisible_to_score_near_modes_but_visible_at_large_noise():
    other = IsoGaussianMixture([0.5, 0.5], GM.mu, GM.rho)
    rng = np.random.default_rng(1)
    near = np.concatenate([GM.mu[k] + 0.5 * rng.standard_normal((100, 2)) for k in range(2)])
    # 小噪声：两峰之间密度几乎为零，各自吸引域内的得分与权重无关
    assert np.max(np.abs(GM.score(near, SIGMA_MIN) - other.score(near, SIGMA_MIN))) < 1e-6
    # 大噪声：两峰重叠，得分明显依赖权重
    assert np.max(np.abs(GM.score(near, 3.0) - other.score(near, 3.0))) > 0.1


# ------------------------------------------------------------------ 得分匹配目标之间的等价
def test_esm_minus_ism_is_the_constant_half_fisher_information():
    const = 0.5 * fisher_information(GM1)
    diffs = [esm_loss(th, GM1) - ism_loss(th, GM1) for th in THETAS]
    np.testing.assert_allclose(diffs, const, rtol=0, atol=1e-8)


@pytest.mark.parametrize("sigma", [0.3, 0.5, 1.0])
def test_dsm_minus_esm_on_noisy_density_is_constant(sigma):
    const = 0.5 * (1.0 / sigma ** 2 - fisher_information(GM1, sigma))
    diffs = [dsm_loss(th, GM1, sigma) - esm_loss(th, GM1, sigma) for th in THETAS]
    np.testing.assert_allclose(diffs, const, rtol=0, atol=1e-6)


def test_sliced_score_matching_is_unbiased_for_implicit_objective():
    rng = np.random.default_rng(2)
    x, _ = GM.sample(40_000, rng)
    v = rng.standard_normal(x.shape)
    A, b = np.array([[0.8, 0.2], [0.1, 0.5]]), np.array([0.3, -0.2])
    ssm, ism = sliced_sm_terms(A, b, x, v)
    d = ssm - ism
    assert abs(d.mean()) < Z * d.std() / np.sqrt(len(d))


# ------------------------------------------------------------------ 朗之万动力学
@pytest.mark.parametrize("step_over_v", [0.1, 1.0])
def test_langevin_stationary_variance_on_gaussian(step_over_v):
    v, n = 2.0, 40_000
    step = step_over_v * v
    rng = np.random.default_rng(3)
    x = langevin(lambda y: -y / v, np.zeros((n, 1)), step, 400, rng)[:, 0]
    pred = langevin_gaussian_stationary_var(v, step)
    assert abs(x.var() - pred) < Z * pred * np.sqrt(2 / n)
    if step_over_v == 1.0:                              # 步长大时偏差远超统计误差
        assert x.var() - v > 10 * v * np.sqrt(2 / n)


@pytest.fixture(scope="module")
def annealed():
    return run_annealed(4000, L=20, seed=4)


def test_annealed_langevin_recovers_mode_weights(annealed):
    fr = mode_fractions(GM, annealed)
    tol = Z * np.sqrt(GM.w * (1 - GM.w) / len(annealed))
    assert np.all(np.abs(fr - GM.w) < tol)


def test_annealed_langevin_within_mode_moments(annealed):
    means, var = within_mode_stats(GM, annealed)
    counts = np.bincount(GM.responsibilities(annealed).argmax(1), minlength=2)
    pred = predicted_within_var(0.5, geometric_sigmas(SIGMA_MAX, SIGMA_MIN, 20), EPS, N_STEPS)
    for k in range(2):
        assert np.all(np.abs(means[k] - GM.mu[k]) < Z * np.sqrt(pred / counts[k]))
    m = annealed.size                                   # 逐坐标合并
    assert abs(var - pred) < Z * pred * np.sqrt(2 / m)
    assert 0.0 < pred - (0.25 + SIGMA_MIN ** 2) < 0.01  # 离散化带来的方差膨胀很小且为正


def test_single_noise_level_langevin_keeps_initial_basin_fractions():
    x_init, x = run_single_level(2000, 1000, seed=5)
    fr, fr0 = mode_fractions(GM, x), mode_fractions(GM, x_init)
    n = len(x)
    # 文章的论断：权重由初始点所在的吸引域决定（约 1/2），而不是 0.2 / 0.8
    assert abs(fr[0] - fr0[0]) < 0.01
    assert abs(fr[0] - 0.5) < Z * np.sqrt(0.25 / n)
    assert fr[0] - GM.w[0] > 0.25
