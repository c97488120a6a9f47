"""robbins_monro_sa 的测试。R 条独立链并排运行；均方误差的容差取 4 个标准误：
若误差 e ~ N(m, v)，则 e^2 的方差为 2 v^2 + 4 m^2 v，R 条链平均后标准误为 sqrt((2 v^2 + 4 m^2 v) / R)。"""
from functools import lru_cache

import numpy as np

from robbins_monro_sa import (asymptotic_mse_const, constant_step_mean, constant_step_plateau,
                              deterministic_residual, dg_tanh, g_tanh, incremental_mean,
                              kiefer_wolfowitz, kw_asymptotic_mse, linear_mse_exact, robbins_monro,
                              root_bisect)

R, Z = 2000, 4.0
W_STAR = root_bisect(g_tanh)
C_SLOPE = dg_tanh(W_STAR)


def mse_se(u, m=0.0):
    """真均方误差为 u、均值为 m 的高斯误差，R 条链平均 e^2 的标准误。"""
    v = u - m * m
    return np.sqrt((2 * v * v + 4 * m * m * v) / R)


# ------------------------------------------------------------ 增量均值
def test_incremental_mean_is_running_average_and_forgets_w1():
    x = np.random.default_rng(0).normal(3.0, 2.0, 5000)
    run = np.cumsum(x) / np.arange(1, 5001)
    for w1 in (0.0, 100.0, -7.5):
        np.testing.assert_allclose(incremental_mean(x, w1), run, rtol=1e-12, atol=1e-12)


def test_incremental_mean_error_is_sigma2_over_k():
    sigma = 2.0
    X = np.random.default_rng(1).normal(3.0, sigma, (1000, R))
    W = incremental_mean(X)
    mse = {k: np.mean((W[k - 1] - 3.0) ** 2) for k in (10, 100, 1000)}
    assert mse[10] > mse[100] > mse[1000]
    for k, val in mse.items():
        assert abs(val - sigma ** 2 / k) < Z * mse_se(sigma ** 2 / k)


def test_constant_step_mean_does_not_converge():
    sigma, alpha = 2.0, 0.1
    X = np.random.default_rng(2).normal(3.0, sigma, (1000, R))
    W = constant_step_mean(X, alpha, w1=3.0)
    plateau = alpha * sigma ** 2 / (2 - alpha)                  # 稳态方差 alpha sigma^2 / (2 - alpha)
    for k in (500, 1000):
        assert abs(np.mean((W[k - 1] - 3.0) ** 2) - plateau) < Z * mse_se(plateau)
    assert np.mean((W[-1] - 3.0) ** 2) > 20 * sigma ** 2 / 1000  # 远大于 1/k 步长的 sigma^2 / k


# ------------------------------------------------------------ 线性情形：与精确递推对照
def test_linear_rm_matches_exact_mse_recursion():
    c, e1, K, cps = 1.0, 5.0, 5000, (1, 10, 100, 1000, 5000)
    for name, steps in (("1/k", lambda k: 1.0 / k), ("0.3/k", lambda k: 0.3 / k),
                        ("k^-0.7", lambda k: k ** -0.7), ("const", lambda k: 0.05)):
        exact = linear_mse_exact(c, steps, e1, K, checkpoints=cps)
        sim, _ = robbins_monro(lambda w: c * w, e1, steps, K, checkpoints=cps, R=R, seed=3)
        for k in cps:
            u, m = exact[k]
            assert abs(np.mean(sim[k] ** 2) - u) < Z * mse_se(u, m), (name, k)


def test_summable_steps_stop_short_of_the_root():
    e = 1.0
    for k in range(1, 100_001):
        e *= 1 - 0.5 / k ** 2
    # 截断在 K = 1e5 的尾部因子 prod_{k>K}(1 - 0.5/k^2) 与 1 相差约 0.5/K = 5e-6
    assert abs(e - deterministic_residual(1.0, 0.5)) < 1e-5
    assert e > 0.35                                            # 没有噪声，误差也只缩小到约 36%


# ------------------------------------------------------------ 非线性 Robbins–Monro
@lru_cache(maxsize=None)
def optimal_run():
    a = 1.0 / C_SLOPE                                          # 最优系数 a = 1 / g'(w*)
    return robbins_monro(g_tanh, -3.0, lambda k: a / k, 10_000,
                         checkpoints=(10, 100, 1000, 5000, 10_000), R=R, seed=4)[0]


def test_rm_nonlinear_converges_at_derived_rate():
    K, cps = 10_000, (10, 100, 1000, 10_000)
    sim = optimal_run()
    mse = {k: np.mean((sim[k] - W_STAR) ** 2) for k in cps}
    assert mse[10] > mse[100] > mse[1000] > mse[10_000]
    u = asymptotic_mse_const(1.0 / C_SLOPE, C_SLOPE) / (K + 1)  # sim[K] 是 w_{K+1}
    assert abs(mse[K] - u) < Z * mse_se(u)
    # 渐近正态：|e| <= 1.96 sqrt(u) 的链所占比例应接近 95%
    cover = np.mean(np.abs(sim[K] - W_STAR) <= 1.96 * np.sqrt(u))
    assert abs(cover - 0.95) < Z * np.sqrt(0.95 * 0.05 / R)


def test_step_size_coefficient_matters():
    K = 5000
    run = lambda steps: np.mean((robbins_monro(g_tanh, -3.0, steps, K, checkpoints=(K,), R=R,
                                               seed=5)[0][K] - W_STAR) ** 2)
    best = np.mean((optimal_run()[K] - W_STAR) ** 2)
    small = run(lambda k: 0.3 / k)                             # 2ac = 0.35 < 1：只有 k^{-0.35} 的速度
    const = run(lambda k: 0.1)
    plateau = constant_step_plateau(0.1, C_SLOPE)
    assert small > 100 * best
    assert abs(const - plateau) < 0.15 * plateau               # 线性化稳态方差，非线性修正在 15% 以内
    assert const > 100 * best


def test_polyak_ruppert_averaging_reaches_optimal_variance():
    K = 10_000
    last, avg = robbins_monro(g_tanh, -3.0, lambda k: k ** -0.7, K, checkpoints=(K,), R=R, seed=6,
                              average_from=1)
    bound = 1.0 / (C_SLOPE ** 2 * K)                           # sigma^2 / (g'(w*)^2 K)
    mse_avg, mse_last = np.mean((avg[K] - W_STAR) ** 2), np.mean((last[K] - W_STAR) ** 2)
    assert 0.85 * bound < mse_avg < 1.25 * bound               # 4 个标准误（12.6%）+ 初始瞬态的少量偏差
    assert mse_last > 3 * mse_avg


# ------------------------------------------------------------ Kiefer–Wolfowitz
def test_kiefer_wolfowitz_converges_at_k_to_minus_half_mse():
    K, cps = 4000, (100, 1000, 4000)
    out = kiefer_wolfowitz(lambda w: np.log(np.cosh(w - 1.5)), -2.0, K, checkpoints=cps, R=R, seed=7)
    mse = {k: np.mean((out[k] - 1.5) ** 2) for k in cps}
    assert mse[100] > mse[1000] > mse[K]
    u = kw_asymptotic_mse(K)
    # f 关于 1.5 对称，中心差分不会移动不动点，只使有效斜率略小于 h（相对修正 O(kappa_k^2)）；
    # 另给一个 (kappa_k^2 / 3)^2 = O(kappa_k^4) 量级的微小余量
    slack = ((1.0 / 3.0) * K ** -0.5) ** 2
    assert abs(mse[K] - u) < Z * mse_se(u) + slack             # 理论值 u 只含方差
