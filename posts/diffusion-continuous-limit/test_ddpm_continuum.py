"""ddpm_continuum 的测试：收敛阶用"步长减半、误差之比"检验；统计检验取 4 个标准误，
KS 距离用 Kolmogorov 分布的 0.1% 上分位点 1.95 / sqrt(n)。"""
import numpy as np
import pytest

from ddpm_continuum import (abar_sde, ancestral_sample, chain_abar, chain_betas, default_mixture,
                            exact_reverse, gaussian_reverse_chain_moments, ks_distance,
                            kl_to_moment_matched_gaussian, reverse_density, reverse_modes,
                            simulate_chain, taylor_reverse, taylor_vs_posterior_precision_error,
                            tweedie_reverse)

GM = default_mixture()
Z = 4.0


def ks_crit(n):
    return 1.95 / np.sqrt(n)


# ------------------------------------------------------------------ 闭式得分
def test_score_and_its_derivative_match_finite_differences():
    x, h = np.linspace(-5, 5, 101), 1e-5
    for abar in (0.999, 0.5, 0.05):
        fd1 = (GM.log_prob(x + h, abar) - GM.log_prob(x - h, abar)) / (2 * h)
        fd2 = (GM.score(x + h, abar) - GM.score(x - h, abar)) / (2 * h)
        np.testing.assert_allclose(GM.score(x, abar), fd1, atol=1e-6)
        np.testing.assert_allclose(GM.score_dx(x, abar), fd2, atol=1e-5)


# ------------------------------------------------------------------ 前向链 -> VP SDE
def test_euler_chain_abar_converges_to_sde_at_rate_one_over_n():
    errs = [abs(chain_abar(chain_betas(N))[N // 2] / abar_sde(0.5) - 1) for N in (200, 400, 800, 1600)]
    ratios = np.array(errs[:-1]) / np.array(errs[1:])
    assert np.all((ratios > 1.8) & (ratios < 2.2))
    # "精确离散化"的链在网格点上与 SDE 完全一致，与 N 无关
    for N in (5, 50):
        t = np.arange(N + 1) / N
        np.testing.assert_allclose(chain_abar(chain_betas(N, "exact")), abar_sde(t), rtol=1e-12)


def test_marginal_distance_to_sde_shrinks_like_one_over_n():
    grid = np.linspace(-6, 6, 4001)
    ks = [np.max(np.abs(GM.cdf(grid, chain_abar(chain_betas(N))[N // 2]) - GM.cdf(grid, abar_sde(0.5))))
          for N in (200, 400, 800)]
    assert 1.8 < ks[0] / ks[1] < 2.2 and 1.8 < ks[1] / ks[2] < 2.2


@pytest.mark.parametrize("N, distinguishable", [(25, True), (400, False)])
def test_simulated_chain_vs_discrete_and_continuous_marginals(N, distinguishable):
    n = 200_000
    x = simulate_chain(GM.sample(n, np.random.default_rng(0)), chain_betas(N)[: N // 2],
                       np.random.default_rng(1))
    a_disc = chain_abar(chain_betas(N))[N // 2]
    assert ks_distance(x, GM, a_disc) < ks_crit(n)           # 模拟确实服从离散链的边缘
    mean, var = GM.moments(a_disc)
    assert abs(x.mean() - mean) < Z * np.sqrt(var / n)
    # 与 t = 0.5 处 VP SDE 边缘的距离：N = 25 时超出统计分辨率，N = 400 时已看不出来
    assert (ks_distance(x, GM, float(abar_sde(0.5))) > ks_crit(n)) == distinguishable


# ------------------------------------------------------------------ 反向一步
@pytest.mark.parametrize("abar_prev, beta", [(0.9, 0.01), (0.5, 0.1), (0.2, 0.5), (0.05, 0.9)])
def test_tweedie_form_gives_exact_reverse_moments_for_any_step(abar_prev, beta):
    x = np.linspace(-4, 4, 81)
    m, v, _ = exact_reverse(GM, x, abar_prev, beta)
    mt, vt = tweedie_reverse(GM, x, abar_prev, beta)
    np.testing.assert_allclose(mt, m, atol=1e-12)
    np.testing.assert_allclose(vt, v, atol=1e-12)


@pytest.mark.parametrize("x0", [-1.0, 1.0, 2.0])
def test_bayes_taylor_step_has_second_order_error(x0):
    x = np.array([x0])
    betas = [0.02, 0.01, 0.005, 0.0025]
    em, ev, es = [], [], []
    for b in betas:
        m, v, _ = exact_reverse(GM, x, 0.5, b)
        mb, vb = taylor_reverse(GM, x, 0.5, b)
        ms, _ = taylor_reverse(GM, x, 0.5, b, order="sde")
        em.append(abs(mb - m)[0]), ev.append(abs(vb - v)[0]), es.append(abs(ms - m)[0])
        # 由 Tweedie 形式，方差误差恰为 beta^2 |d score/dx| / alpha（p_i 处的得分导数）
        pred = b ** 2 * abs(GM.score_dx(x, 0.5 * (1 - b)))[0] / (1 - b)
        assert abs(ev[-1] / pred - 1) < 1e-8
    for e in (em, ev, es):
        r = np.array(e[:-1]) / np.array(e[1:])
        assert np.all((r > 3.6) & (r < 4.4))                  # 步长减半，误差变为 1/4


def test_reverse_kernel_becomes_gaussian_like_beta_cubed():
    kl = [kl_to_moment_matched_gaussian(GM, 1.0, 0.5, b) for b in (0.02, 0.01, 0.005)]
    r = np.array(kl[:-1]) / np.array(kl[1:])
    assert np.all((r > 6.0) & (r < 9.0))
    assert kl_to_moment_matched_gaussian(GM, 0.0, 0.95, 0.5) > 0.1    # 一大步跨过两峰分开的阶段：双峰


def test_reverse_density_and_modes():
    for x, abar_prev, beta in ((1.0, 0.5, 0.02), (0.0, 0.95, 0.5)):
        mean, var, _ = exact_reverse(GM, np.array([x]), abar_prev, beta)
        y = np.linspace(mean[0] - 12 * np.sqrt(var[0]), mean[0] + 12 * np.sqrt(var[0]), 40001)
        q, dy = reverse_density(GM, x, abar_prev, beta, y), y[1] - y[0]
        assert abs(q.sum() * dy - 1) < 1e-8 and abs((y * q).sum() * dy - mean[0]) < 1e-8
    assert len(reverse_modes(GM, 1.0, 0.5, 0.02)) == 1               # 小步：单峰，接近高斯
    modes = reverse_modes(GM, 0.0, 0.95, 0.5)                         # 一大步：两个峰，分居 0 两侧
    assert len(modes) == 2 and modes[0] < -1 and modes[1] > 1


def test_point_mass_taylor_needs_beta_small_compared_with_accumulated_noise():
    for t in (2, 10, 100, 500):
        err, pred = taylor_vs_posterior_precision_error(t)
        assert abs(err - pred) < 1e-10
    assert taylor_vs_posterior_precision_error(2)[0] > 1.0        # 第 2 步：近似方差是真值的两倍多
    assert taylor_vs_posterior_precision_error(500)[0] < 0.02


# ------------------------------------------------------------------ 整条反向链
def test_gaussian_data_reverse_chain_variance_choices():
    mu0, rho0 = 0.7, 0.2
    for N in (10, 100):
        M, S = gaussian_reverse_chain_moments(mu0, rho0, chain_betas(N, "exact"), "exact")
        assert abs(M - mu0) < 1e-12 and abs(S - rho0 ** 2) < 1e-12   # 高斯数据：反向条件恰为高斯
    err = {}
    for N in (100, 1000):
        b = chain_betas(N, "exact")
        S_beta = gaussian_reverse_chain_moments(mu0, rho0, b, "beta")[1]
        S_tilde = gaussian_reverse_chain_moments(mu0, rho0, b, "tilde")[1]
        assert S_tilde < rho0 ** 2 < S_beta                      # 两种常用方差一个偏小、一个偏大
        err[N] = S_beta - rho0 ** 2
    assert 8 < err[100] / err[1000] < 12                      # sigma^2 = beta 的误差约为 O(1/N)


@pytest.fixture(scope="module")
def x_N():
    return np.random.default_rng(2).standard_normal(20_000)


@pytest.mark.parametrize("kernel, N, ok", [("exact_moments", 5, False), ("exact_moments", 100, True),
                                           ("sde", 20, False), ("sde", 300, True)])
def test_mixture_reverse_chain_needs_small_steps(x_N, kernel, N, ok):
    x = ancestral_sample(GM, x_N, chain_betas(N, "exact"), np.random.default_rng(3), kernel)
    ks = ks_distance(x, GM)
    if ok:
        mean, var = GM.moments()
        assert ks < ks_crit(len(x))
        assert abs(x.mean() - mean) < Z * np.sqrt(var / len(x))
    else:
        assert ks > 2 * ks_crit(len(x))
