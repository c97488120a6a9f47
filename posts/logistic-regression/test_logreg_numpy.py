"""logreg_numpy 的测试：有限差分检验导数，牛顿法 / IRLS / 梯度下降 / scikit-learn 互相印证。"""
import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from logreg_numpy import (fit_gd, fit_l1, fit_newton, fit_softmax, grad, hessian, irls_step,
                          make_data, nll, sample_logistic, sigmoid, softmax, softmax_grad,
                          softmax_nll)

LAM = 0.01


# ------------------------------------------------------------ 逻辑斯谛分布
def test_sigmoid_is_cdf_of_logistic_distribution():
    n = 200_000
    e = np.sort(sample_logistic(n, np.random.default_rng(0)))
    ecdf = np.arange(1, n + 1) / n
    ks = np.max(np.maximum(np.abs(ecdf - sigmoid(e)), np.abs(ecdf - 1 / n - sigmoid(e))))
    assert ks < 1.95 / np.sqrt(n)              # KS 检验 0.1% 水平的临界值
    # 方差 pi^2/3；逻辑斯谛分布的四阶中心矩为 4.2 sigma^4，样本方差的标准误 = sigma^2 sqrt(3.2/n)
    v = np.pi ** 2 / 3
    assert abs(e.var() - v) < 4 * v * np.sqrt(3.2 / n)
    z = np.linspace(-30, 30, 121)
    np.testing.assert_allclose(sigmoid(-z), 1 - sigmoid(z), atol=1e-15)
    d = (sigmoid(z + 1e-6) - sigmoid(z - 1e-6)) / 2e-6            # 密度 = sigma (1 - sigma)
    np.testing.assert_allclose(d, sigmoid(z) * (1 - sigmoid(z)), atol=1e-9)


def test_latent_variable_mle_recovers_true_parameters():
    X, y, w_true = make_data(n=5000, seed=3)
    w, _ = fit_newton(X, y, 0.0)
    cov = np.linalg.inv(hessian(w, X, y) * len(y))   # 逆 Fisher 信息（观测版）
    z = (w - w_true) / np.sqrt(np.diag(cov))
    assert np.all(np.abs(z) < 4)


# ------------------------------------------------------------ 导数
@pytest.mark.parametrize("lam", [0.0, LAM, 1.0])
def test_gradient_and_hessian_match_finite_differences(lam):
    X, y, _ = make_data()
    rng = np.random.default_rng(1)
    h = 1e-6
    for _ in range(5):
        w = rng.normal(size=3)
        E = np.eye(3)
        fd_g = np.array([(nll(w + h * e, X, y, lam) - nll(w - h * e, X, y, lam)) / (2 * h) for e in E])
        g = grad(w, X, y, lam)
        # 中心差分：截断误差 O(h^2) ~ 1e-12，舍入误差 ~ 1e-16 / h ~ 1e-10
        assert np.linalg.norm(fd_g - g) < 1e-7 * max(1.0, np.linalg.norm(g))
        fd_H = np.column_stack([(grad(w + h * e, X, y, lam) - grad(w - h * e, X, y, lam)) / (2 * h)
                                for e in E])
        np.testing.assert_allclose(fd_H, hessian(w, X, y, lam), atol=1e-7)


# ------------------------------------------------------------ 优化
def test_newton_converges_quadratically_and_agrees_with_gd():
    X, y, _ = make_data()
    w_nt, norms = fit_newton(X, y, LAM)
    w_gd, it = fit_gd(X, y, LAM)
    assert norms[-1] < 1e-12 and len(norms) <= 10
    checked = 0
    for a, b in zip(norms[:-1], norms[1:]):
        if 1e-7 < a < 1e-2:                       # 进入二次收敛区，且 a^2 仍高于舍入误差的底
            assert b < 10 * a * a                 # 二次收敛：误差平方式下降
            checked += 1
    assert checked >= 2
    assert it < 200_000
    # 截距不受罚，强凸常数不能直接取 lam；但黑塞矩阵在解处的最小特征值约 0.069 > lam，
    # 所以 ||w - w*|| <~ ||grad|| / lam = 1e-10 / 0.01
    assert np.max(np.abs(w_gd - w_nt)) < 1e-8


def test_irls_step_is_newton_step():
    X, y, _ = make_data()
    rng = np.random.default_rng(2)
    for lam in (0.0, LAM):
        w = rng.normal(size=3) * 0.5
        newton = w - np.linalg.solve(hessian(w, X, y, lam), grad(w, X, y, lam))
        np.testing.assert_allclose(irls_step(w, X, y, lam), newton, rtol=1e-10, atol=1e-12)


def test_matches_scikit_learn():
    X, y, _ = make_data()
    w, _ = fit_newton(X, y, LAM)
    # sklearn 的目标是 C * sum(loss) + ||coef||^2 / 2，除以 C n 即得本文的目标：C = 1 / (n lam)
    clf = LogisticRegression(C=1 / (len(y) * LAM), solver="newton-cholesky", tol=1e-12,
                             max_iter=100).fit(X[:, 1:], y)
    np.testing.assert_allclose(np.r_[clf.intercept_, clf.coef_.ravel()], w, atol=1e-8)


def test_score_equations_give_moment_matching():
    X, y, _ = make_data()
    w, _ = fit_newton(X, y, 0.0)
    p = sigmoid(X @ w)
    np.testing.assert_allclose(X.T @ (y - p), 0.0, atol=1e-9)    # 含截距列：sum p = sum y
    assert abs(p.mean() - y.mean()) < 1e-12


def test_separable_data_has_no_finite_mle_but_l2_fixes_it():
    X = np.c_[np.ones(6), [-3.0, -2.0, -1.0, 1.0, 2.0, 3.0]]
    y = np.array([0, 0, 0, 1, 1, 1], float)
    norms = [np.linalg.norm(fit_gd(X, y, 0.0, max_iter=k)[0]) for k in (100, 1000, 10_000)]
    assert norms[0] < norms[1] < norms[2]             # 无正则：||w|| 不断增大，没有极小点
    assert nll(fit_gd(X, y, 0.0, max_iter=10_000)[0], X, y) < 1e-3
    w, norms_nt = fit_newton(X, y, 0.1)
    assert norms_nt[-1] < 1e-12 and np.linalg.norm(w) < 5


# ------------------------------------------------------------ L1
def test_l1_solution_satisfies_kkt_and_is_sparse():
    rng = np.random.default_rng(1)
    X = np.c_[np.ones(400), rng.normal(size=(400, 8))]
    y = (rng.random(400) < sigmoid(X[:, :4] @ np.array([0.2, 1.5, -1.0, 0.8]))).astype(float)
    nnz = []
    for lam1 in (0.01, 0.05, 0.1):
        w = fit_l1(X, y, lam1)
        g = grad(w, X, y)
        nz = np.abs(w) > 1e-10
        nz[0] = True
        # 次梯度最优性：截距 g_0 = 0；非零系数 g_j = -lam1 sign(w_j)；零系数 |g_j| <= lam1
        assert abs(g[0]) < 1e-8
        np.testing.assert_allclose(g[1:][nz[1:]], -lam1 * np.sign(w[1:][nz[1:]]), atol=1e-8)
        assert np.all(np.abs(g[1:][~nz[1:]]) <= lam1 + 1e-8)
        nnz.append(int(nz[1:].sum()))
        if lam1 >= 0.05:
            assert np.all(w[4:] == 0.0)              # 五个噪声特征全被置零
    assert nnz[0] >= nnz[1] >= nnz[2]


# ------------------------------------------------------------ softmax
def test_softmax_gradient_matches_finite_differences():
    X, y, _ = make_data()
    yk = (y + (X[:, 1] > 1)).astype(int)             # 构造 3 个类
    W = np.random.default_rng(4).normal(size=(3, 3))
    h = 1e-6
    fd = np.zeros_like(W)
    for idx in np.ndindex(*W.shape):
        E = np.zeros_like(W)
        E[idx] = h
        fd[idx] = (softmax_nll(W + E, X, yk, LAM) - softmax_nll(W - E, X, yk, LAM)) / (2 * h)
    np.testing.assert_allclose(fd, softmax_grad(W, X, yk, LAM), atol=1e-8)


def test_two_class_softmax_is_logistic_with_half_penalty():
    X, y, _ = make_data()
    W, _ = fit_softmax(X, y.astype(int), 2, lam=LAM, tol=1e-11)
    w, _ = fit_newton(X, y, LAM / 2)
    np.testing.assert_allclose(W[:, 1] - W[:, 0], w, atol=1e-8)
    np.testing.assert_allclose(softmax(X @ W)[:, 1], sigmoid(X @ w), atol=1e-9)


def test_softmax_on_iris_matches_scikit_learn():
    X, y = load_iris(return_X_y=True)
    Xs = (X - X.mean(0)) / X.std(0)
    Xd = np.c_[np.ones(len(y)), Xs]
    lam = 0.01
    W, _ = fit_softmax(Xd, y, 3, lam=lam, tol=1e-10)
    clf = LogisticRegression(C=1 / (len(y) * lam), tol=1e-12, max_iter=10_000).fit(Xs, y)
    np.testing.assert_allclose(softmax(Xd @ W), clf.predict_proba(Xs), atol=1e-6)
    # 惩罚项使各类系数之和为 0（对称解）；截距不受罚，只能比较中心化之后的值
    np.testing.assert_allclose(W[1:].T, clf.coef_, atol=1e-5)
    np.testing.assert_allclose(W[1:].sum(axis=1), 0.0, atol=1e-9)
