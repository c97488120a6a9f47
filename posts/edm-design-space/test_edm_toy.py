"""edm_toy 的测试：日程与原始定义一致、统一 ODE 与各族已知形式一致、预条件化给出单位方差、
Heun 二阶而 Euler 一阶。所有随机数固定种子，统计容差取 4 个标准误。"""
from functools import lru_cache

import numpy as np
import pytest

from edm_toy import (Mixture1D, edm_sample, edm_schedule, edm_sigmas, effective_target, flow_schedule,
                     loss_weight, ode_velocity, precond, sample_training_sigma, solve_ode, ve_schedule,
                     vp_discrete, vp_schedule)

DATA = Mixture1D.standardized()
SD = 0.5
Z = 4.0
SCHEDULES = [vp_schedule(), ve_schedule(), edm_schedule(), flow_schedule()]


def assert_standard_normal(r):
    """残差 r 应是 N(0, 1) 样本：均值、方差在 Z 个标准误内（方差的标准误为 sqrt(2/n)）。"""
    n = len(r)
    assert abs(r.mean()) < Z / np.sqrt(n)
    assert abs(r.var() - 1) < Z * np.sqrt(2 / n)


# ------------------------------------------------------------ 各族的 s(t), sigma(t) 与原始定义一致
def test_ddpm_chain_matches_vp_discrete():
    rng = np.random.default_rng(0)
    beta = np.linspace(1e-4, 0.02, 1000)
    abar = np.cumprod(1 - beta)
    x0 = DATA.sample(20_000, rng)
    x = x0.copy()
    s, sg = vp_discrete(abar)
    for i in range(1000):                                   # x_i = sqrt(1-beta_i) x_{i-1} + sqrt(beta_i) z
        x = np.sqrt(1 - beta[i]) * x + np.sqrt(beta[i]) * rng.standard_normal(x.shape)
        if i + 1 in (10, 100, 500, 1000):
            assert_standard_normal((x / s[i] - x0) / sg[i])  # x_t = s (x_0 + sigma eps)


def test_vp_sde_matches_vp_schedule():
    rng = np.random.default_rng(1)
    sched = vp_schedule()
    x0 = DATA.sample(20_000, rng)
    x, K, t_end = x0.copy(), 1000, 0.5
    dt = t_end / K
    for k in range(K):                                      # Euler–Maruyama: dx = -beta x / 2 dt + sqrt(beta) dw
        b = sched_beta(k * dt)
        x = x - 0.5 * b * x * dt + np.sqrt(b * dt) * rng.standard_normal(x.shape)
    assert_standard_normal((x / sched.s(t_end) - x0) / sched.sigma(t_end))


def sched_beta(t, beta_min=0.1, beta_d=19.9):
    return beta_min + beta_d * t


def test_smld_chain_matches_ve_schedule():
    rng = np.random.default_rng(2)
    sched = ve_schedule()
    t = np.linspace(0, 4.0, 201)                            # sigma(t)^2 = t
    x0 = DATA.sample(20_000, rng)
    x = x0.copy()
    for i in range(1, len(t)):                              # x_i = x_{i-1} + sqrt(sigma_i^2 - sigma_{i-1}^2) z
        x = x + np.sqrt(sched.sigma(t[i]) ** 2 - sched.sigma(t[i - 1]) ** 2) * rng.standard_normal(x.shape)
    assert_standard_normal((x - x0) / sched.sigma(t[-1]))


def test_flow_interpolation_is_the_same_family():
    rng = np.random.default_rng(3)
    sched = flow_schedule()
    x0, eps = DATA.sample(1000, rng), rng.standard_normal(1000)
    for t in (0.1, 0.5, 0.9):
        np.testing.assert_allclose((1 - t) * x0 + t * eps, sched.s(t) * (x0 + sched.sigma(t) * eps), atol=1e-12)


@pytest.mark.parametrize("sched", SCHEDULES, ids=lambda s: s.name)
def test_schedule_derivatives_and_inverse(sched):
    t = np.array([0.05, 0.2, 0.5, 0.8])
    h = 1e-6
    np.testing.assert_allclose(sched.ds(t), (sched.s(t + h) - sched.s(t - h)) / (2 * h), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(sched.dsigma(t), (sched.sigma(t + h) - sched.sigma(t - h)) / (2 * h), rtol=1e-6)
    np.testing.assert_allclose(sched.sigma_inv(sched.sigma(t)), t, rtol=1e-10)


# ------------------------------------------------------------ 统一的 ODE
def test_unified_ode_equals_vp_probability_flow():
    sched, h = vp_schedule(), 1e-5
    x = np.linspace(-2, 2, 41)
    for t in (0.02, 0.1, 0.4, 0.9):
        s, sg = sched.s(t), sched.sigma(t)
        log_pt = lambda y: DATA.log_p(y / s, sg) - np.log(s)     # x = s * xbar 的密度
        score = (log_pt(x + h) - log_pt(x - h)) / (2 * h)
        vp_pf = -0.5 * sched_beta(t) * (x + score)               # f - g^2/2 * score，f = -beta x/2，g^2 = beta
        np.testing.assert_allclose(ode_velocity(sched, DATA, x, t), vp_pf, rtol=1e-6, atol=1e-6)


def test_unified_ode_equals_flow_matching_velocity():
    # 流匹配的速度场 v(x, t) = E[eps - x_0 | x_t = x]，用 x_0 网格上的数值积分独立计算
    sched = flow_schedule()
    x0 = np.linspace(-4, 4, 16001)
    log_p0 = DATA.log_p(x0, 1e-9)
    for t in (0.1, 0.4, 0.8):
        for x in (-0.7, 0.0, 0.3, 1.1):
            eps = (x - (1 - t) * x0) / t
            lw = log_p0 - 0.5 * eps ** 2                      # p(x_0) q(x_t | x_0)，雅可比常数已约去
            wgt = np.exp(lw - lw.max())
            v_ref = wgt @ (eps - x0) / wgt.sum()
            assert abs(ode_velocity(sched, DATA, np.array([x]), t)[0] - v_ref) < 1e-6


@pytest.mark.parametrize("sched", SCHEDULES, ids=lambda s: s.name)
def test_every_family_reaches_the_exact_flow_map(sched):
    rng = np.random.default_rng(4)
    sg = np.geomspace(20.0, 0.01, 600)
    xbar = DATA.sample(400, rng) + sg[0] * rng.standard_normal(400)
    t = sched.sigma_inv(sg)
    out = solve_ode(sched, DATA, sched.s(t[0]) * xbar, t, "heun") / sched.s(t[-1])
    assert np.max(np.abs(out - DATA.exact_flow(xbar, sg[0], sg[-1]))) < 1e-3


def test_euler_in_flow_time_is_euler_in_sigma():
    # Euler 步在 (s=1, sigma=t) 与 (s=1-t, sigma=t/(1-t)) 两种参数化下逐点相同（都是 DDIM 的更新）
    rng = np.random.default_rng(5)
    sg = edm_sigmas(12)[:-1]
    xbar = DATA.sample(500, rng) + sg[0] * rng.standard_normal(500)
    a = solve_ode(edm_schedule(), DATA, xbar, sg, "euler")
    fs = flow_schedule()
    t = fs.sigma_inv(sg)
    b = solve_ode(fs, DATA, fs.s(t[0]) * xbar, t, "euler") / fs.s(t[-1])
    assert np.max(np.abs(a - b)) < 1e-9


# ------------------------------------------------------------ 预条件化
SIGMAS = (0.002, 0.05, 0.3, 1.0, 5.0, 80.0)


def test_preconditioning_closed_form_identities():
    sg = np.geomspace(1e-3, 1e3, 50)
    c_skip, c_out, c_in, c_noise = precond(sg, SD)
    np.testing.assert_allclose(c_in ** 2 * (SD ** 2 + sg ** 2), 1, rtol=1e-12)
    np.testing.assert_allclose(((1 - c_skip) ** 2 * SD ** 2 + c_skip ** 2 * sg ** 2) / c_out ** 2, 1, rtol=1e-12)
    np.testing.assert_allclose(loss_weight(sg, SD) * c_out ** 2, 1, rtol=1e-12)
    np.testing.assert_allclose(c_noise, 0.25 * np.log(sg))


def test_preconditioning_gives_unit_second_moments_on_non_gaussian_data():
    rng = np.random.default_rng(6)
    y = DATA.sample(200_000, rng)
    n0 = rng.standard_normal(y.shape)
    for sg in SIGMAS:
        _, _, c_in, _ = precond(sg, SD)
        for z in (c_in * (y + sg * n0), effective_target(y, sg * n0, sg, SD)):
            m2 = z ** 2
            assert abs(m2.mean() - 1) < Z * m2.std() / np.sqrt(len(m2))


def test_c_skip_minimises_output_scale():
    grid = np.linspace(0, 1, 100_001)
    step = grid[1] - grid[0]
    for sg in SIGMAS:
        c_out_sq = (1 - grid) ** 2 * SD ** 2 + grid ** 2 * sg ** 2   # 目标单位方差所需的 c_out^2
        c_skip, c_out, _, _ = precond(sg, SD)
        assert abs(grid[np.argmin(c_out_sq)] - c_skip) <= step
        # c_out^2 是 c_skip 的二次函数，二次项系数 SD^2 + sg^2：网格最小值与真最小值之差不超过它乘 step^2
        assert 0 <= c_out_sq.min() - c_out ** 2 <= (SD ** 2 + sg ** 2) * step ** 2


def test_target_interpolates_between_eps_and_x0_prediction():
    rng = np.random.default_rng(7)
    y, e = DATA.sample(50_000, rng), rng.standard_normal(50_000)
    lo = effective_target(y, 0.002 * e, 0.002, SD)
    hi = effective_target(y, 80.0 * e, 80.0, SD)
    assert np.corrcoef(lo, -e)[0, 1] > 0.999                # 小噪声：预测 -eps
    assert np.corrcoef(hi, y)[0, 1] > 0.999                 # 大噪声：预测 y / sigma_data


def test_ideal_denoiser_loss_is_unit_at_both_ends_lower_in_middle():
    rng = np.random.default_rng(8)
    y, e = DATA.sample(100_000, rng), rng.standard_normal(100_000)
    loss = {}
    for sg in (0.002, 0.1, 80.0):
        c_skip, c_out, _, _ = precond(sg, SD)
        x = y + sg * e
        f_star = (DATA.denoise(x, sg) - c_skip * x) / c_out
        loss[sg] = np.mean((f_star - effective_target(y, sg * e, sg, SD)) ** 2)
    assert loss[0.002] > 0.99 and loss[80.0] > 0.99
    assert loss[0.1] < 0.9


def test_training_sigma_distribution():
    ls = np.log(sample_training_sigma(100_000, np.random.default_rng(9)))
    assert abs(ls.mean() + 1.2) < Z * 1.2 / np.sqrt(len(ls))
    assert abs(ls.std() - 1.2) < Z * 1.2 / np.sqrt(2 * len(ls))


# ------------------------------------------------------------ 时间离散与采样器
def test_rho_schedule_limits():
    s = edm_sigmas(10, rho=7)
    assert np.isclose(s[0], 80) and np.isclose(s[-2], 0.002) and s[-1] == 0 and np.all(np.diff(s) < 0)
    np.testing.assert_allclose(edm_sigmas(10, rho=1)[:-1], np.linspace(80, 0.002, 10), rtol=1e-10)
    np.testing.assert_allclose(edm_sigmas(10, rho=1e6)[:-1], np.geomspace(80, 0.002, 10), rtol=1e-4)


@lru_cache(maxsize=None)
def start_and_exact(n=2000):
    rng = np.random.default_rng(10)
    x = DATA.sample(n, rng) + 80.0 * rng.standard_normal(n)
    return x, DATA.exact_flow(x, 80.0, 0.0)


def rms_error(N, method, rho=7.0):
    x, exact = start_and_exact()
    return np.sqrt(np.mean((edm_sample(DATA, x, edm_sigmas(N, rho=rho), method) - exact) ** 2))


def test_heun_is_second_order_euler_first_order():
    e = {m: [rms_error(N, m) for N in (16, 32, 64)] for m in ("euler", "heun")}
    for m, (lo, hi) in {"euler": (0.8, 1.2), "heun": (1.7, 2.3)}.items():
        orders = np.log2(np.array(e[m][:-1]) / np.array(e[m][1:]))
        assert np.all((orders > lo) & (orders < hi)), (m, orders)
    # 相同调用次数下 Heun 更准：Heun N=16（31 次）对 Euler N=32（32 次），
    # Heun N=32（63 次）对 Euler N=64（64 次），差距随调用次数增大
    assert e["heun"][0] < e["euler"][1]
    assert e["heun"][1] < 0.5 * e["euler"][2]


def test_larger_rho_spends_steps_where_needed():
    err = [rms_error(16, "heun", rho) for rho in (1.0, 3.0, 7.0)]
    assert err[0] > 10 * err[1] and err[1] > err[2]


def test_stochastic_churn_sampler_reproduces_data():
    x, _ = start_and_exact(4000)
    out = edm_sample(DATA, x, edm_sigmas(32), s_churn=40, s_tmin=0.01, s_tmax=50, rng=np.random.default_rng(11))
    grid = np.linspace(-2, 2, 4001)
    ks = np.max(np.abs(np.searchsorted(np.sort(out), grid, side="right") / len(out) - DATA.cdf(grid, 0.0)))
    assert ks < 1.95 / np.sqrt(len(out))                    # Kolmogorov 分布 0.1% 上分位点
    det = edm_sample(DATA, x, edm_sigmas(32), rng=np.random.default_rng(12))
    assert not np.allclose(out, det)                       # 确实注入了噪声
