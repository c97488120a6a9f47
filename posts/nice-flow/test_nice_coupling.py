"""nice_coupling 的测试：可逆性、单位雅可比、对数行列式、归一化、梯度、训练效果与去量化下界。"""
from functools import lru_cache

import numpy as np
import pytest

from nice_coupling import (BANANA_A, BANANA_S, NICE, AdditiveCoupling, GaussianPrior, LogisticPrior,
                           banana, banana_log_prob, dequantized_bound, grid_mass, numerical_jacobian,
                           train)

Z = 4.0


def random_nice(d, prior=GaussianPrior, seed=1, s_scale=0.3):
    """耦合网络最后一层也随机初始化（否则耦合层一开始就是恒等映射，检验没有意义）。"""
    net = NICE(d, n_coupling=4, hidden=16, prior=prior, seed=seed, zero_last=False)
    net.s = s_scale * np.random.default_rng(seed + 100).standard_normal(d)
    return net


@lru_cache(maxsize=None)
def trained():
    rng = np.random.default_rng(0)
    data, test = banana(20_000, rng), banana(20_000, rng)
    model = NICE(2, n_coupling=4, hidden=32, seed=0)
    init_nll = -model.log_prob(test).mean()
    train(model, data, steps=1500)
    return model, test, init_nll


# ------------------------------------------------------------ 结构性质
def test_exact_invertibility_both_directions():
    net = random_nice(6)
    rng = np.random.default_rng(2)
    x, h = rng.standard_normal((100, 6)), rng.standard_normal((100, 6))
    assert np.max(np.abs(net.decode(net.encode(x)) - x)) < 1e-12
    assert np.max(np.abs(net.encode(net.decode(h)) - h)) < 1e-12
    assert np.max(np.abs(net.encode(x) - x)) > 0.1          # 映射不是恒等


def test_single_coupling_jacobian_is_unit_triangular():
    layer = AdditiveCoupling([0, 2, 4], [1, 3, 5], 16, np.random.default_rng(3), zero_last=False)
    x = np.random.default_rng(4).standard_normal((4, 6))
    J = numerical_jacobian(lambda z: layer.forward(z)[0], x)
    a, b = layer.a, layer.b
    np.testing.assert_allclose(J[:, a][:, :, a], np.broadcast_to(np.eye(3), (4, 3, 3)), atol=1e-9)
    np.testing.assert_allclose(J[:, a][:, :, b], 0.0, atol=1e-9)       # y_A 不依赖 x_B
    np.testing.assert_allclose(J[:, b][:, :, b], np.broadcast_to(np.eye(3), (4, 3, 3)), atol=1e-9)
    assert np.max(np.abs(J[:, b][:, :, a])) > 0.05                      # 左下块就是 m 的雅可比
    np.testing.assert_allclose(np.linalg.det(J), 1.0, atol=1e-8)


def test_logdet_of_whole_stack_equals_sum_of_scales():
    net = random_nice(6)
    x = np.random.default_rng(5).standard_normal((10, 6))
    sign, logdet = np.linalg.slogdet(numerical_jacobian(net.encode, x))
    assert np.all(sign > 0)
    np.testing.assert_allclose(logdet, net.log_det(), atol=1e-8)


def test_three_couplings_needed_for_full_interaction():
    net = random_nice(6)
    x = np.random.default_rng(6).standard_normal((5, 6))
    b = net.layers[0].b
    dev = {}
    for k in (2, 3):
        J = numerical_jacobian(lambda z: net.encode(z, upto=k), x)
        dev[k] = np.max(np.abs(J[:, b][:, :, b] - np.eye(len(b))))
    assert dev[2] < 1e-8            # 两层之后，B 组内部的坐标彼此仍互不影响
    assert dev[3] > 0.1             # 第三层之后才真正混合


@pytest.mark.parametrize("prior", [GaussianPrior, LogisticPrior])
def test_log_prob_matches_brute_force_change_of_variables(prior):
    net = random_nice(4, prior=prior)
    x = np.random.default_rng(7).standard_normal((10, 4))
    brute = prior.log_prob(net.encode(x)) + np.linalg.slogdet(numerical_jacobian(net.encode, x))[1]
    np.testing.assert_allclose(net.log_prob(x), brute, atol=1e-8)


@pytest.mark.parametrize("prior, s_scale, lo", [(GaussianPrior, 0.3, -7.0), (LogisticPrior, 1.2, -9.0)])
def test_density_integrates_to_one(prior, s_scale, lo):
    net = random_nice(2, prior=prior, s_scale=0.0)
    net.s = np.array([s_scale, s_scale])             # 对 logistic 用较大的缩放，让尾部落在积分区域内
    mass = grid_mass(net.log_prob, lo, -lo, 281)
    assert abs(mass - 1.0) < 2e-3
    # 对照：如果忘了缩放层的行列式，积分就会差一个 exp(sum s) 的因子
    wrong = grid_mass(lambda z: prior.log_prob(net.encode(z)), lo, -lo, 281)
    assert abs(wrong - np.exp(-net.s.sum())) < 2e-3


def test_logistic_prior_is_a_density_with_correct_score_and_variance():
    h = np.linspace(-40, 40, 80_001)[:, None]
    p = np.exp(LogisticPrior.log_prob(h))
    assert abs(np.trapezoid(p, h[:, 0]) - 1) < 1e-9
    eps = 1e-6
    fd = (LogisticPrior.log_prob(h + eps) - LogisticPrior.log_prob(h - eps)) / (2 * eps)
    np.testing.assert_allclose(LogisticPrior.score(h)[:, 0], fd, atol=1e-7)
    x = LogisticPrior.sample((200_000,), np.random.default_rng(8))
    var, mu4 = np.pi ** 2 / 3, 7 * np.pi ** 4 / 15                     # logistic 的方差与四阶矩
    assert abs(x.var() - var) < Z * np.sqrt((mu4 - var ** 2) / len(x))


@pytest.mark.parametrize("prior", [GaussianPrior, LogisticPrior])
def test_backprop_matches_finite_differences(prior):
    net = random_nice(4, prior=prior, seed=3)
    x = np.random.default_rng(9).standard_normal((32, 4))
    _, grads = net.loss_and_grads(x)
    rng = np.random.default_rng(10)
    for name, p in net.parameters().items():
        idx = tuple(rng.integers(0, n) for n in p.shape)
        old, h = p[idx], 1e-6
        p[idx] = old + h
        lp = net.loss_and_grads(x)[0]
        p[idx] = old - h
        lm = net.loss_and_grads(x)[0]
        p[idx] = old
        assert abs((lp - lm) / (2 * h) - grads[name][idx]) < 1e-6 * max(1.0, abs(grads[name][idx])), name


# ------------------------------------------------------------ 训练
def test_training_reaches_the_entropy_of_the_data():
    model, test, init_nll = trained()
    nll_model = -model.log_prob(test)
    nll_true = -banana_log_prob(test)
    gap = nll_model - nll_true                       # 其均值是 KL(q || p_model) 的无偏估计
    se = gap.std(ddof=1) / np.sqrt(len(gap))
    assert gap.mean() > -Z * se                      # KL 不可能显著为负
    assert gap.mean() < 0.03                         # 质量门槛：离真实密度只差 0.03 nat 以内
    assert init_nll - nll_model.mean() > 0.4         # 训练确实起了作用


def test_learned_volume_change_matches_the_exact_solution():
    # 精确的编码映射 h = (x1, (x2 - a(x1^2 - 1)) / s) 的雅可比行列式恒为 1/s；
    # 加性耦合保体积，所以总体积变化只能由缩放层给出：sum(s) 应接近 -log s
    model, _, _ = trained()
    assert abs(model.s.sum() + np.log(BANANA_S)) < 0.05


def test_samples_reproduce_data_moments_and_density_is_normalised():
    model, _, _ = trained()
    xs = model.sample(20_000, np.random.default_rng(11))
    np.testing.assert_allclose(xs.mean(0), [0.0, 0.0], atol=0.1)
    np.testing.assert_allclose(np.cov(xs.T), [[1.0, 0.0], [0.0, 2 * BANANA_A ** 2 + BANANA_S ** 2]], atol=0.1)
    assert abs(grid_mass(model.log_prob) - 1.0) < 1e-3


def test_dequantization_gives_a_lower_bound_on_the_discrete_probability():
    model, _, _ = trained()
    cells = np.array([[0, 0], [-2, -1], [3, 2], [-5, 1], [1, -3]])
    rng = np.random.default_rng(12)
    n_u = 4000
    lower, exact = dequantized_bound(model.log_prob, cells, 0.25, n_u, rng)
    # 下界本身是 n_u 个样本的均值，给它留 4 个标准误（用一次额外抽样估计标准差）
    u = rng.uniform(size=(n_u, len(cells), 2))
    lp = model.log_prob(((cells[None] + u) * 0.25).reshape(-1, 2)).reshape(n_u, -1)
    se = lp.std(0, ddof=1) / np.sqrt(n_u)
    assert np.all(lower <= exact + Z * se)
    assert np.all(exact - lower < 0.1)               # 格子比密度的变化尺度小，Jensen 间隙很小
