"""dpo_toy 的测试：DPO 梯度与有限差分一致、闭式最优策略确实最大化 KL 正则目标、
配分函数在 BT 模型中抵消、DPO 的最优解就是 RLHF 的最优策略、确定性偏好下 DPO 发散而 IPO 收敛。"""
import numpy as np
import pytest

from dpo_toy import (aggregate_pairs, bt_prob, dpo_grad, dpo_loss, dpo_margin, fit_reward_model,
                     implicit_reward, ipo_loss_and_grad, kl_objective, log_softmax, make_problem,
                     optimal_policy, policy_logp, sample_preferences, sigmoid, train_dpo)


def random_loglinear(seed=0, P=4, K=6, d=5, n=40):
    """一般的对数线性策略（特征共享、d < P*K），以及随机的偏好三元组与权重。"""
    rng = np.random.default_rng(seed)
    phi = rng.normal(size=(P, K, d))
    theta, theta_ref = rng.normal(size=d), rng.normal(size=d)
    x = rng.integers(0, P, n)
    a = rng.integers(0, K, n)
    b = (a + rng.integers(1, K, n)) % K
    w = rng.random(n)
    return phi, theta, policy_logp(theta_ref, phi), np.stack([x, a, b], 1), w / w.sum()


# ------------------------------------------------------------ 损失与梯度
@pytest.mark.parametrize("beta", [0.1, 0.5, 2.0])
def test_dpo_gradient_matches_finite_differences(beta):
    phi, theta, logp_ref, pairs, w = random_loglinear()
    g = dpo_grad(theta, logp_ref, phi, pairs, beta, w)
    h = 1e-6
    fd = np.array([(dpo_loss(theta + h * e, logp_ref, phi, pairs, beta, w)
                    - dpo_loss(theta - h * e, logp_ref, phi, pairs, beta, w)) / (2 * h) for e in np.eye(len(theta))])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)


def test_gradient_is_weighted_difference_of_features():
    # 同一提示下 E_pi[phi] 在 grad log pi(y_w) - grad log pi(y_l) 中抵消：DPO 是特征差上的加权逻辑回归
    phi, theta, logp_ref, pairs, w = random_loglinear(seed=1)
    beta = 0.7
    x, yw, yl = pairs.T
    h = dpo_margin(theta, logp_ref, phi, pairs, beta)
    expected = -beta * ((w * sigmoid(-h)) @ (phi[x, yw] - phi[x, yl]))
    np.testing.assert_allclose(dpo_grad(theta, logp_ref, phi, pairs, beta, w), expected, rtol=1e-12, atol=1e-15)
    # 权重 sigma(-h) 在隐式奖励排错（h < 0）时大于 1/2，排对且间隔大时趋于 0
    assert np.all((sigmoid(-h) > 0.5) == (h < 0))


# ------------------------------------------------------------ KL 正则目标的闭式解
def test_closed_form_policy_maximises_kl_objective():
    rng = np.random.default_rng(2)
    P, K, beta = 3, 6, 0.4
    r = rng.normal(size=(P, K))
    logp_ref = log_softmax(rng.normal(size=(P, K)))
    lp_star, logZ = optimal_policy(logp_ref, r, beta)
    J_star = kl_objective(lp_star, logp_ref, r, beta)
    np.testing.assert_allclose(J_star, beta * logZ, rtol=1e-12)            # J(pi*) = beta log Z
    for _ in range(500):
        lp = np.log(rng.dirichlet(np.full(K, 0.5), size=P) + 1e-300)
        J = kl_objective(lp, logp_ref, r, beta)
        kl_to_star = (np.exp(lp) * (lp - lp_star)).sum(1)
        np.testing.assert_allclose(J_star - J, beta * kl_to_star, rtol=1e-9, atol=1e-12)  # 差值恰为 beta KL
        assert np.all(J <= J_star + 1e-12)
    # 在 pi* 处对 logits 的梯度为零（数值微分）
    z, h = lp_star.copy(), 1e-6
    for k in range(K):
        e = np.zeros((P, K))
        e[:, k] = h
        dJ = (kl_objective(log_softmax(z + e), logp_ref, r, beta) - kl_objective(log_softmax(z - e), logp_ref, r, beta)) / (2 * h)
        assert np.max(np.abs(dJ)) < 1e-8


def test_partition_function_cancels_in_bradley_terry():
    phi, r, theta_ref = make_problem()
    logp_ref = policy_logp(theta_ref, phi)
    beta = 0.5
    lp_star, logZ = optimal_policy(logp_ref, r, beta)
    r_implicit = implicit_reward(lp_star, logp_ref, beta)
    np.testing.assert_allclose(r - r_implicit, np.repeat(beta * logZ[:, None], r.shape[1], 1), rtol=1e-12)
    assert np.ptp(beta * logZ) > 0.1                                        # 各提示的常数确实不同
    x, a, b = np.meshgrid(np.arange(3), np.arange(5), np.arange(5), indexing="ij")
    np.testing.assert_allclose(bt_prob(r, x, a, b), bt_prob(r_implicit, x, a, b), rtol=1e-12)


def test_larger_beta_less_reward_less_kl():
    phi, r, theta_ref = make_problem()
    logp_ref = policy_logp(theta_ref, phi)
    er, kl = [], []
    for beta in (0.05, 0.2, 0.5, 1.0, 5.0):
        lp, _ = optimal_policy(logp_ref, r, beta)
        pi = np.exp(lp)
        er.append(np.mean((pi * r).sum(1)))
        kl.append(np.mean((pi * (lp - logp_ref)).sum(1)))
    assert np.all(np.diff(er) < 0) and np.all(np.diff(kl) < 0)


# ------------------------------------------------------------ DPO 的解就是 RLHF 的解
@pytest.mark.parametrize("beta", [0.1, 0.5, 2.0])
def test_population_dpo_recovers_kl_optimal_policy(beta):
    phi, r, theta_ref = make_problem()
    P, K, _ = phi.shape
    logp_ref = policy_logp(theta_ref, phi)
    x, a, b = (m.ravel() for m in np.meshgrid(np.arange(P), np.arange(K), np.arange(K), indexing="ij"))
    keep = a != b
    pairs = np.stack([x[keep], a[keep], b[keep]], 1)
    w = bt_prob(r, *pairs.T)                                                 # 总体：a 胜 b 的概率作为权重
    w /= w.sum()
    theta = train_dpo(theta_ref.copy(), logp_ref, phi, pairs, beta, steps=3000, weights=w)
    lp_dpo = policy_logp(theta, phi)
    lp_star, _ = optimal_policy(logp_ref, r, beta)
    np.testing.assert_allclose(np.exp(lp_dpo), np.exp(lp_star), atol=1e-8)
    # 隐式奖励与真实奖励只差每个提示上的常数
    diff = implicit_reward(lp_dpo, logp_ref, beta) - r
    assert np.max(np.ptp(diff, axis=1)) < 1e-6


def test_dpo_equals_reward_model_route_on_finite_data():
    phi, r, theta_ref = make_problem()
    P, K, _ = phi.shape
    logp_ref = policy_logp(theta_ref, phi)
    beta, rng = 0.5, np.random.default_rng(3)
    lp_star, _ = optimal_policy(logp_ref, r, beta)
    tv = {}
    for n in (100, 100_000):
        pairs, w = aggregate_pairs(sample_preferences(r, n, rng))
        lp_rlhf, _ = optimal_policy(logp_ref, fit_reward_model(pairs, P, K, w), beta)
        lp_dpo = policy_logp(train_dpo(theta_ref.copy(), logp_ref, phi, pairs, beta, steps=3000, weights=w), phi)
        np.testing.assert_allclose(np.exp(lp_dpo), np.exp(lp_rlhf), atol=1e-8)
        tv[n] = 0.5 * np.abs(np.exp(lp_dpo) - np.exp(lp_star)).sum(1).max()
    assert tv[100_000] < 0.02 and tv[100] > 5 * tv[100_000]


def test_aggregation_preserves_loss():
    phi, r, theta_ref = make_problem()
    logp_ref = policy_logp(theta_ref, phi)
    raw = sample_preferences(r, 300, np.random.default_rng(4))
    pairs, w = aggregate_pairs(raw)
    theta = np.random.default_rng(5).normal(size=theta_ref.shape)
    assert np.isclose(dpo_loss(theta, logp_ref, phi, raw, 0.3), dpo_loss(theta, logp_ref, phi, pairs, 0.3, w), rtol=1e-12)


# ------------------------------------------------------------ 确定性偏好：DPO 过拟合，IPO 不会
def test_deterministic_preference_dpo_diverges_ipo_converges():
    phi, _, theta_ref = make_problem()
    logp_ref = policy_logp(theta_ref, phi)
    pairs, tau = np.array([[0, 1, 2]]), 0.5
    th_d, th_i = theta_ref.copy(), theta_ref.copy()
    margins = {}
    for step in range(1, 3001):
        th_d -= 2.0 * dpo_grad(th_d, logp_ref, phi, pairs, 0.1)
        th_i -= 0.2 * ipo_loss_and_grad(th_i, logp_ref, phi, pairs, tau)[1]
        if step in (300, 3000):
            margins[step] = dpo_margin(th_d, logp_ref, phi, pairs, 1.0)[0]
    assert margins[3000] > margins[300] + 10                                 # 间隔仍在增长，没有有限的最优点
    assert np.exp(policy_logp(th_d, phi)[0, 2]) < 1e-15                      # y_l 的概率被压向 0
    assert abs(dpo_margin(th_i, logp_ref, phi, pairs, 1.0)[0] - 1 / (2 * tau)) < 1e-9
