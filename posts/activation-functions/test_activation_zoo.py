"""activation_zoo 的测试：解析导数对中心差分、几个推导出的恒等式与界、以及小实验的数值结论。"""
from math import pi, sqrt

import numpy as np
import pytest

from activation_zoo import (ACTIVATIONS, GELU_TANH_A, GELU_TAYLOR_A, d_sigmoid, d_swish_beta,
                            d_tanh, dead_relu_fraction, elu, ffn_param_count, ffn_swiglu,
                            ffn_swiglu_backward, gelu, gelu_sigmoid, gelu_tanh, heaviside,
                            gradient_norm_through_depth, leaky_relu, minimax_gelu_constant,
                            perceptron_train, prelu_grad_a, relu, sigmoid, std_normal_cdf,
                            std_normal_pdf, swiglu_hidden, swish)

H = 1e-5   # 中心差分步长：截断误差 ~ H²·|f'''|/6 ≈ 1e-11，舍入误差 ~ 1e-16/H ≈ 1e-11


def central_diff(f, x, h=H):
    return (f(x + h) - f(x - h)) / (2 * h)


# ------------------------------------------------------------ 导数
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_derivative_matches_central_difference(name):
    f, df = ACTIVATIONS[name]
    x = np.linspace(-6, 6, 1201) + 0.0037      # 平移一点，避开 ReLU 类在 0 处的折点
    np.testing.assert_allclose(df(x), central_diff(f, x), rtol=0, atol=1e-8)


def test_parameter_gradients_prelu_and_swish_beta():
    x = np.linspace(-5, 5, 101) + 0.0037
    for a in (0.1, 0.25):
        prelu = lambda a_: np.maximum(x, 0) + a_ * np.minimum(x, 0)
        np.testing.assert_allclose(prelu_grad_a(x), central_diff(prelu, a), atol=1e-8)
    for beta in (0.5, 1.0, 2.0):
        np.testing.assert_allclose(d_swish_beta(x, beta), central_diff(lambda b: swish(x, b), beta),
                                   atol=1e-8)


# ------------------------------------------------------------ S 型函数的界与恒等式
def test_sigmoid_and_tanh_derivative_bounds():
    x = np.linspace(-20, 20, 400_001)            # 网格包含 0
    assert d_sigmoid(x).max() == pytest.approx(0.25, abs=1e-15)
    assert np.argmax(d_sigmoid(x)) == 200_000     # 最大值恰在 x = 0
    assert d_tanh(x).max() == pytest.approx(1.0, abs=1e-15)
    np.testing.assert_allclose(np.tanh(x), 2 * sigmoid(2 * x) - 1, atol=1e-15)
    assert np.all(np.isfinite(sigmoid(np.array([-1e4, 1e4]))))   # 分支实现不溢出


def test_sigmoid_vanishes_geometrically_with_depth_while_relu_he_does_not():
    depth = 30
    r_sig = gradient_norm_through_depth("sigmoid", depth=depth, init="xavier")
    r_tanh = gradient_norm_through_depth("tanh", depth=depth, init="xavier")
    r_relu = gradient_norm_through_depth("relu", depth=depth, init="he")
    per_layer = (r_sig[0] / r_sig[-1]) ** (1 / depth)
    # 平均场估计：每层因子 ≈ sqrt(n·Var(w)·E[σ'(z)²]) ≤ 1/4，z 偏离 0 时更小
    assert 0.2 < per_layer < 0.25
    assert r_tanh[0] / r_tanh[-1] > 0.05        # tanh 在 0 附近 f'≈1，衰减慢得多
    assert 0.5 < r_relu[0] / r_relu[-1] < 2.0   # He 初始化：期望意义下逐层保持


# ------------------------------------------------------------ 整流族
def test_rectifier_family_basic_properties():
    x = np.linspace(-5, 5, 1001)
    assert np.all(relu(x) >= 0) and np.all(relu(x[x > 0]) == x[x > 0])
    np.testing.assert_allclose(leaky_relu(x, 0.2), np.maximum(x, 0.2 * x))
    assert elu(np.array([-50.0]))[0] == pytest.approx(-1.0)   # 负向饱和到 -alpha
    # ELU 的导数在 0 两侧都等于 1（alpha = 1 时处处连续可导）
    assert central_diff(elu, 1e-3) == pytest.approx(1.0, abs=2e-3)
    assert central_diff(elu, -1e-3) == pytest.approx(1.0, abs=2e-3)


def test_dead_relu_fraction_matches_prediction():
    n_units = 512
    prev = -1.0
    for shift in (0.0, 3.0, 4.0, 5.0, 6.0):
        emp, pred = dead_relu_fraction(shift, n_units=n_units)
        # 给定权重后各单元是否死亡相互独立（输入共享，但条件概率已对输入积分，只作近似），
        # 容差取二项分布 4 个标准误再加 0.01 的余量
        tol = 4 * sqrt(max(pred * (1 - pred), 1e-4) / n_units) + 0.01
        assert abs(emp - pred) < tol
        assert emp >= prev
        prev = emp
    assert dead_relu_fraction(0.0)[0] == 0.0 and dead_relu_fraction(6.0)[0] > 0.9


# ------------------------------------------------------------ GELU / Swish
def test_gelu_is_x_times_normal_cdf_and_its_minimum():
    x = np.linspace(-4, 4, 801)
    # Φ 的积分定义：Φ(x) = ∫_{-∞}^x φ，用梯形法在 [-12, x] 上积分核对
    for xi in (-2.0, -0.5, 0.0, 1.3):
        t = np.linspace(-12, xi, 200_001)
        cdf = np.trapezoid(std_normal_pdf(t), t)
        assert gelu(np.array([xi]))[0] == pytest.approx(xi * cdf, abs=1e-9)
    v = gelu(x)
    assert v.min() < 0 and np.all(gelu(x[x > 0]) > 0)
    # 极小点满足 Φ(x) + xφ(x) = 0：在 -0.7518 附近
    x_star = -0.751791524693564
    assert std_normal_cdf(x_star) + x_star * std_normal_pdf(x_star) == pytest.approx(0, abs=1e-12)
    assert gelu(np.array([x_star]))[0] == pytest.approx(-0.16997, abs=1e-5)


def test_gelu_tanh_approximation_error_and_constants():
    x = np.linspace(-10, 10, 40_001)
    err_paper = np.abs(gelu_tanh(x) - gelu(x)).max()
    err_taylor = np.abs(gelu_tanh(x, GELU_TAYLOR_A) - gelu(x)).max()
    assert 4.6e-4 < err_paper < 4.8e-4           # 实测 4.73e-4
    assert err_taylor > 1.5 * err_paper           # 局部最优 ≠ 全局最优
    assert np.abs(gelu_sigmoid(x) - gelu(x)).max() < 0.021
    assert GELU_TAYLOR_A == pytest.approx(0.045540, abs=1e-6)
    a_star, e_star = minimax_gelu_constant()
    assert a_star == pytest.approx(GELU_TANH_A, abs=1e-6)   # 0.044715 正是对 Φ 的极小极大常数
    assert e_star == pytest.approx(1.789e-4, rel=1e-3)


def test_taylor_constant_kills_the_cubic_error_term():
    # 近似 Φ 的误差在 0 附近 ≈ ½·√(2/π)·(a - a_T)·x³ + O(x⁵)：a = a_T 时首项消失
    c = sqrt(2 / pi)
    approx = lambda x, a: 0.5 * (1 + np.tanh(c * (x + a * x ** 3)))
    x1, x2 = 0.02, 0.04
    e = lambda x, a: approx(np.array([x]), a)[0] - std_normal_cdf(np.array([x]))[0]
    assert e(x2, GELU_TANH_A) / e(x1, GELU_TANH_A) == pytest.approx(8, rel=0.01)     # ∝ x³
    assert e(x1, GELU_TANH_A) == pytest.approx(0.5 * c * (GELU_TANH_A - GELU_TAYLOR_A) * x1 ** 3,
                                               rel=0.01)
    assert e(x2, GELU_TAYLOR_A) / e(x1, GELU_TAYLOR_A) == pytest.approx(32, rel=0.02)  # ∝ x⁵


def test_swish_limits_and_minimum():
    x = np.linspace(-6, 6, 1201)
    np.testing.assert_allclose(swish(x, 0.0), x / 2)
    assert np.abs(swish(x, 50.0) - relu(x)).max() < 0.01    # β→∞ 趋于 ReLU（误差 ≤ 0.2785/β）
    # SiLU 的极小点满足 1 + x(1-σ(x)) = 0，极小值恰为 x* + 1
    g = lambda t: 1 + t * (1 - sigmoid(np.array([t]))[0])    # g(-3) < 0 < g(-0.5)
    lo, hi = -3.0, -0.5
    for _ in range(60):                                        # 二分法求根
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if g(mid) < 0 else (lo, mid)
    x_star = 0.5 * (lo + hi)
    assert swish(np.array([x_star]))[0] == pytest.approx(x_star + 1, abs=1e-12)
    assert x_star == pytest.approx(-1.27846, abs=1e-5)


# ------------------------------------------------------------ 感知机
def test_perceptron_mistake_bound_and_xor():
    rng = np.random.default_rng(0)
    w_true = np.array([1.0, -2.0, 0.5])
    X = rng.uniform(-1, 1, (400, 2))
    margin = (np.hstack([X, np.ones((400, 1))]) @ w_true) / np.linalg.norm(w_true)
    keep = np.abs(margin) > 0.1                  # 人为留出间隔 γ
    X, y = X[keep], np.sign(margin[keep])
    w, mistakes, ok = perceptron_train(X, y)
    R = np.linalg.norm(np.hstack([X, np.ones((len(X), 1))]), axis=1).max()
    gamma = np.abs(margin[keep]).min()
    assert ok and mistakes <= (R / gamma) ** 2    # Novikoff 界
    assert np.all(np.sign(np.hstack([X, np.ones((len(X), 1))]) @ w) == y)
    # XOR 线性不可分：单个阈值单元永远学不会
    Xx = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    yx = np.array([-1, 1, 1, -1.0])
    assert not perceptron_train(Xx, yx, max_epochs=200)[2]
    # 两层阈值网络：OR 与 NAND 相与就是 XOR
    h = heaviside(np.stack([Xx @ [1, 1] - 0.5, -(Xx @ [1, 1]) + 1.5], axis=1))
    out = heaviside(h @ [1, 1] - 1.5)
    np.testing.assert_array_equal(out, (yx > 0).astype(float))


# ------------------------------------------------------------ SwiGLU
def test_swiglu_parameter_count_matches_standard_ffn():
    for d in (96, 768, 1536, 3072):               # d 被 3 整除时可以精确相等
        h = swiglu_hidden(d)
        assert h == 8 * d // 3
        assert ffn_param_count(d, h, "swiglu") == ffn_param_count(d, 4 * d, "relu")
    assert swiglu_hidden(768) == 2048             # Shazeer (2020) 的 d_ff = 2048
    h = swiglu_hidden(4096, multiple_of=256)
    assert h == 11008                             # LLaMA-7B 的中间维度
    ratio = ffn_param_count(4096, h, "swiglu") / ffn_param_count(4096, 4 * 4096, "relu")
    assert 1.0 < ratio < 1.01


def test_swiglu_backward_matches_finite_differences():
    rng = np.random.default_rng(1)
    n, d, h = 3, 5, 4
    x, W, V, W2 = (rng.standard_normal(s) * 0.7 for s in [(n, d), (d, h), (d, h), (h, d)])
    G = rng.standard_normal((n, d))                # 损失 L = Σ G ⊙ FFN(x)
    grads = ffn_swiglu_backward(x, W, V, W2, G)
    params = [x, W, V, W2]
    for k, P in enumerate(params):
        num = np.zeros_like(P)
        for idx in np.ndindex(P.shape):
            old = P[idx]
            P[idx] = old + H
            up = np.sum(G * ffn_swiglu(*params))
            P[idx] = old - H
            down = np.sum(G * ffn_swiglu(*params))
            P[idx] = old
            num[idx] = (up - down) / (2 * H)
        np.testing.assert_allclose(grads[k], num, rtol=1e-6, atol=1e-8)
