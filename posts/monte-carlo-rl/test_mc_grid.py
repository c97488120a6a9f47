"""mc_grid 的测试：MC 估计收敛到线性求解的真值，误差按 1/sqrt(n) 下降；MC Basic 与 eps-greedy 控制找到好策略。
统计容差按样本量推出（z 倍标准误），所有随机数都用固定种子。"""
from functools import lru_cache

import numpy as np
import pytest

from mc_grid import (GAMMA, N_ACTIONS, N_STATES, NEXT, REWARD, TARGET_S, epsilon_greedy, exact_values,
                     greedy, mc_basic, mc_epsilon_greedy, mc_evaluate, mc_returns_from_every_state,
                     running_mean, steps_to_target, truncated_values, value_iteration)

Z = 4.5                                    # 25 个状态同时检验，单个检验的双侧误报率约 7e-6
V_OPT = value_iteration()
Q_OPT = REWARD + GAMMA * V_OPT[NEXT]
PI_EVAL = epsilon_greedy(Q_OPT, 0.2)        # 被评估的随机策略
V_TRUE, Q_TRUE = exact_values(PI_EVAL)


def trunc_bias(length):
    """截断 length 步后丢掉的回报的绝对值上界：|r| <= 1 时为 gamma^length / (1 - gamma)。"""
    return GAMMA ** length / (1 - GAMMA)


@lru_cache(maxsize=None)
def returns(n, length, seed):
    return mc_returns_from_every_state(PI_EVAL, n, length, np.random.default_rng(seed))


# ------------------------------------------------------------ 均值估计
def test_running_mean_is_the_sample_mean():
    x = np.random.default_rng(0).normal(3.0, 2.0, 1000)
    np.testing.assert_allclose(running_mean(x), np.cumsum(x) / np.arange(1, 1001), rtol=1e-12)


def test_exact_values_satisfy_bellman_and_value_iteration_is_optimal():
    np.testing.assert_allclose(V_TRUE, np.sum(PI_EVAL * Q_TRUE, axis=1), atol=1e-12)
    v_star_pi, _ = exact_values(greedy(Q_OPT))
    np.testing.assert_allclose(v_star_pi, V_OPT, atol=1e-9)


# ------------------------------------------------------------ MC 策略评估
@pytest.mark.parametrize("n", [20, 200, 2000])
def test_mc_estimate_within_standard_error_of_exact_values(n):
    G = returns(n, 80, n)
    se = G.std(axis=1, ddof=1) / np.sqrt(n)
    assert np.all(np.abs(G.mean(axis=1) - V_TRUE) <= Z * se + trunc_bias(80))


def test_error_shrinks_like_one_over_sqrt_n():
    rms = []
    for n in (20, 200, 2000):
        G = returns(n, 80, n)
        err = G.mean(axis=1) - V_TRUE
        rms.append(np.sqrt(np.mean(err ** 2)))
        # 均方根误差与"由样本方差预测的均方根误差"之比服从 sqrt(chi2_25 / 25) 型分布，
        # 其 1e-4 与 1 - 1e-4 分位数约为 0.52 与 1.55
        predicted = np.sqrt(np.mean(G.var(axis=1, ddof=1) / n))
        assert 0.45 < rms[-1] / predicted < 1.7
    assert rms[0] > rms[1] > rms[2]
    assert rms[0] / rms[2] > 100 ** 0.5 / 2             # 样本量乘 100，误差约缩小 10 倍


def test_short_episodes_estimate_the_truncated_value_not_v():
    G = returns(2000, 5, 7)
    se = G.std(axis=1, ddof=1) / np.sqrt(2000)
    v5 = truncated_values(PI_EVAL, 5)
    assert np.all(np.abs(G.mean(axis=1) - v5) <= Z * se)          # 无偏地估计了"前 5 步"的期望
    assert np.max(np.abs(v5 - V_TRUE)) > 4.0                       # 但离 v_pi 很远
    assert np.all(np.abs(v5 - V_TRUE) <= trunc_bias(5) + 1e-12)    # 偏差不超过 gamma^5 / (1 - gamma)


@pytest.mark.parametrize("first_visit", [True, False])
def test_first_and_every_visit_are_both_consistent(first_visit):
    v, n_visits, n_episodes, se = mc_evaluate(PI_EVAL, 400, np.random.default_rng(3), first_visit=first_visit)
    ok = n_episodes >= 15                                       # 簇标准误需要足够多的簇（回合）
    assert ok.sum() >= 20
    assert np.all(np.abs(v - V_TRUE)[ok] <= Z * se[ok] + trunc_bias(100))
    if first_visit:
        np.testing.assert_array_equal(n_visits, n_episodes)     # first-visit 每条回合至多贡献一个样本


# ------------------------------------------------------------ epsilon-greedy 的策略改进
def test_epsilon_greedy_improvement_is_monotone_over_eps_soft_policies():
    eps = 0.2
    pi = np.full((N_STATES, N_ACTIONS), 1.0 / N_ACTIONS)           # 均匀策略是 eps-soft 的
    v_prev = exact_values(pi)[0]
    for _ in range(10):
        _, q = exact_values(pi)
        pi = epsilon_greedy(q, eps)
        assert np.all(pi >= eps / N_ACTIONS - 1e-15)
        v = exact_values(pi)[0]
        assert np.all(v >= v_prev - 1e-10)
        v_prev = v
    # 收敛到的 eps-greedy 策略的贪心部分就是最优策略
    np.testing.assert_allclose(exact_values(greedy(exact_values(pi)[1]))[0], V_OPT, atol=1e-9)


def test_key_inequality_on_random_eps_soft_policies():
    # sum_a pi'(a|s) q_pi(s, a) >= v_pi(s)，pi' 为 q_pi 的 eps-greedy 策略
    rng = np.random.default_rng(4)
    eps = 0.3
    for _ in range(50):
        pi = eps / N_ACTIONS + (1 - eps) * rng.dirichlet(np.ones(N_ACTIONS), size=N_STATES)
        v, q = exact_values(pi)
        new = epsilon_greedy(q, eps)
        assert np.all(np.sum(new * q, axis=1) >= v - 1e-10)
        assert np.all(exact_values(new)[0] >= v - 1e-10)


def test_epsilon_greedy_of_a_deterministic_optimal_policy_is_worse():
    # 前提"旧策略是 eps-soft 的"不能省：从确定性的最优策略出发，eps-greedy 反而变差
    v_eps = exact_values(epsilon_greedy(Q_OPT, 0.2))[0]
    assert np.all(v_eps < V_OPT)


# ------------------------------------------------------------ MC Basic
@lru_cache(maxsize=None)
def basic(length):
    return mc_basic(length)


@pytest.mark.parametrize("length", [5, 10, 30])
def test_mc_basic_with_long_enough_episodes_is_optimal(length):
    pi, history = basic(length)
    assert len(history) <= 8
    np.testing.assert_allclose(exact_values(pi)[0], V_OPT, atol=1e-9)


def test_mc_basic_q_estimate_equals_truncated_q_in_a_deterministic_world():
    pi, history = basic(10)
    # 最后一轮的估计是对当前（已最优）策略截断 10 步的 q；与真正的 q* 相差不超过 gamma^10 / (1 - gamma)
    assert np.max(np.abs(history[-1] - Q_OPT)) <= trunc_bias(10) + 1e-12


@pytest.mark.parametrize("length", [1, 4])
def test_mc_basic_with_too_short_episodes_is_not_optimal(length):
    pi, _ = basic(length)
    assert np.max(V_OPT - exact_values(pi)[0]) > 1.0
    if length == 1:                                            # 只看一步时，离目标 2 步以上的状态分不出好坏
        assert sum(steps_to_target(pi, s) is not None for s in range(N_STATES)) < N_STATES


# ------------------------------------------------------------ epsilon-greedy MC 控制
def test_mc_epsilon_greedy_control_finds_a_policy_that_reaches_the_target():
    q, count = mc_epsilon_greedy(0.2, 6, 30_000, np.random.default_rng(1))
    pi = greedy(q)
    steps = [steps_to_target(pi, s) for s in range(N_STATES)]
    assert all(t is not None for t in steps)
    assert steps[TARGET_S] == 0 and max(steps) <= 6
    assert count.min() > 0                                     # 不需要探索性起始动作，每个 (s, a) 都被访问到
    assert np.max(V_OPT - exact_values(pi)[0]) < 1.0           # 离最优策略很近（本种子下恰好等于最优）
