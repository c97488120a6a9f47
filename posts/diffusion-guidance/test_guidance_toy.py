"""guidance_toy 的测试：闭式得分、两种引导的等价性、w=0/1 的精确性、纯度随 w 单调上升。
随机数全部固定种子；统计容差取 4 个标准误（Z = 4）。"""
from functools import lru_cache

import numpy as np
import pytest

from guidance_toy import (TwoClassGaussians, ddim_sample, ddpm_sample, guided_eps, linear_schedule,
                          posterior_expectation, summarize, tilt_ratio, tilted_target)

M = TwoClassGaussians()
_, ABAR = linear_schedule()
Z = 4.0
C = 1


def x_T(n, seed=0):
    return np.random.default_rng(seed).standard_normal(n)


def exact_moments(c=None):
    """p(x)（c=None）或 p(x|c) 的均值与方差，以及四阶中心矩（用于方差的标准误）。"""
    pi = np.array([1.0, 0.0]) if c == 0 else np.array([0.0, 1.0]) if c == 1 else M.pi
    mean = float(pi @ M.mu)
    d, v = M.mu - mean, M.s ** 2
    var = float(pi @ (d ** 2 + v))
    mu4 = float(pi @ (d ** 4 + 6 * d ** 2 * v + 3 * v ** 2))
    return mean, var, mu4


def assert_matches(x, c_dist):
    """样本与 p(x)（c_dist=None）或 p(x|C) 的均值、方差、纯度在 Z 个标准误内一致。"""
    n = len(x)
    mean, var, mu4 = exact_moments(c_dist)
    pur = M.purity_exact(C, "uncond" if c_dist is None else "cond")
    r = summarize(M, x, C)
    assert abs(r["mean"] - mean) < Z * np.sqrt(var / n)
    assert abs(r["std"] ** 2 - var) < Z * np.sqrt((mu4 - var ** 2) / n)
    assert abs(r["purity"] - pur) < Z * np.sqrt(pur * (1 - pur) / n)


# ------------------------------------------------------------ 闭式得分与加噪分类器
@pytest.mark.parametrize("t", [1, 50, 300, 700, 1000])
def test_scores_match_finite_differences(t):
    a, h = ABAR[t], 1e-5
    x = np.linspace(-5, 5, 41)
    fd = lambda f: (f(x + h) - f(x - h)) / (2 * h)
    g, uncond, _ = M.scores(x, a)
    for c in (0, 1):
        np.testing.assert_allclose(g[c], fd(lambda y: M.log_p(y, a, c)), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(M.classifier_grad(x, a, c), fd(lambda y: M.log_classifier(y, a, c)),
                                   rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(uncond, fd(lambda y: M.log_p(y, a)), rtol=1e-6, atol=1e-7)


def test_noisy_classifier_is_posterior_average_of_clean_classifier():
    # p_t(c | x_t) = E[p_0(c | x_0) | x_t]；而 p_t(c|x)^w 一般不等于 E[p_0(c|x_0)^w | x_t]
    clean = lambda x0: np.exp(M.log_classifier(x0, 1.0, C))
    x = np.linspace(-3, 3, 13)
    for t in (100, 300, 600):
        a = ABAR[t]
        avg = posterior_expectation(M, x, a, clean)
        np.testing.assert_allclose(np.exp(M.log_classifier(x, a, C)), avg, atol=1e-6)
    a = ABAR[300]
    gap = posterior_expectation(M, x, a, lambda x0: clean(x0) ** 3) - np.exp(3 * M.log_classifier(x, a, C))
    assert np.max(np.abs(gap)) > 0.05          # "先锐化再加噪" 与 "加噪后再锐化" 不交换


def test_guided_score_differs_from_noised_tilted_score_by_grad_log_ratio():
    # 把 p(x) p(c|x)^w 按前向过程加噪，直接在 x_0 网格上数值积分出它的得分（不经过 R_t），
    # 应等于引导得分 s_w 加上 d/dx log R_t；R_t 随 x 明显变化，所以两个得分确实不同
    t, w = 300, 3.0
    a = ABAR[t]
    x = np.linspace(-1.5, 3.0, 10)
    x0 = np.linspace(-8, 8, 16001)
    log_tilt = M.log_p(x0, 1.0) + w * M.log_classifier(x0, 1.0, C)
    ref = np.empty_like(x)
    for i, xt in enumerate(x):
        lw = log_tilt - 0.5 * (xt - np.sqrt(a) * x0) ** 2 / (1 - a)
        wgt = np.exp(lw - lw.max())
        ref[i] = wgt @ (-(xt - np.sqrt(a) * x0) / (1 - a)) / wgt.sum()
    ratio, dlog = tilt_ratio(M, x, a, C, w)
    guided = M.scores(x, a)[1] + w * M.classifier_grad(x, a, C)
    np.testing.assert_allclose(guided + dlog, ref, atol=1e-5)
    assert np.all(ratio > 1)                   # w > 1：幂的平均大于平均的幂（Jensen）
    assert ratio.max() / ratio.min() > 10      # 比值随 x 变化，不是一个可以被归一化吸收的常数
    assert np.max(np.abs(dlog)) > 1


# ------------------------------------------------------------ 两种引导的代数关系
def test_classifier_guidance_equals_cfg_and_endpoints():
    x = np.linspace(-4, 4, 101)
    for t in (1, 200, 800):
        a, sig = ABAR[t], np.sqrt(1 - ABAR[t])
        g, uncond, _ = M.scores(x, a)
        for w in (0.0, 0.5, 1.0, 3.0, 7.5):
            e_cfg = guided_eps(M, x, a, C, w, "cfg")
            e_cls = guided_eps(M, x, a, C, w, "classifier")
            np.testing.assert_allclose(e_cfg, e_cls, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(guided_eps(M, x, a, C, 0.0), -sig * uncond, rtol=1e-14)
        np.testing.assert_allclose(guided_eps(M, x, a, C, 1.0), -sig * g[C], rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------ w = 0 / 1 的采样分布
def test_w0_gives_unconditional_and_w1_gives_conditional_ddim():
    xs = ddim_sample(M, np.tile(x_T(20_000), 2), C, np.repeat([0.0, 1.0], 20_000), S=200)
    assert_matches(xs[:20_000], None)
    assert_matches(xs[20_000:], C)


def test_w1_ddpm_gives_conditional():
    assert_matches(ddpm_sample(M, x_T(10_000, 1), C, 1.0, np.random.default_rng(2)), C)


# ------------------------------------------------------------ 引导强度的效果
W_GRID = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0)
N_GRID = 10_000


@lru_cache(maxsize=None)
def ddim_grid():
    w = np.repeat(W_GRID, N_GRID)
    xs = ddim_sample(M, np.tile(x_T(N_GRID, 3), len(W_GRID)), C, w, S=100)
    return [summarize(M, xs[i * N_GRID:(i + 1) * N_GRID], C) for i in range(len(W_GRID))]


def test_purity_and_confidence_increase_diversity_decreases():
    rows = ddim_grid()
    pur = np.array([r["purity"] for r in rows])
    conf = np.array([r["conf"] for r in rows])
    std = np.array([r["std"] for r in rows])
    se = np.sqrt(pur * (1 - pur) / N_GRID)               # 各点纯度的二项标准误
    unsat = pur[:-1] < 0.999                              # 纯度饱和之前，每一步都显著上升
    assert np.all((np.diff(pur) > Z * np.hypot(se[:-1], se[1:]))[unsat])
    assert pur[-1] > 0.999
    assert np.all(np.diff(conf) > 0)                      # 平均分类置信度一直上升
    assert np.all(np.diff(std) < 0)                       # 样本的标准差（多样性）一直下降


def test_guided_samplers_are_not_the_tilted_distribution():
    # w = 3：DDPM 与 DDIM 给出不同的分布，且都比 p(x) p(c|x)^w 更"锐"（均值更靠外）
    w, n = 3.0, 10_000
    a = summarize(M, ddpm_sample(M, x_T(n, 4), C, w, np.random.default_rng(5)), C)
    b = ddim_grid()[W_GRID.index(w)]
    _, _, _, m_tilt, s_tilt = tilted_target(M, C, w)
    se = s_tilt / np.sqrt(n)
    assert a["mean"] - m_tilt > 10 * se
    assert b["mean"] - a["mean"] > 10 * se
    assert b["std"] < a["std"] < s_tilt
