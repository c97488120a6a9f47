"""grid_bellman 的测试：贝尔曼方程的两种解法一致、迭代按 gamma 收缩、闭式值与轨迹回报吻合。"""
import numpy as np
import pytest

from grid_bellman import (action_values, default_world, rollout_return, shortest_path_policy,
                          solve_bellman_exact, solve_bellman_iterative, uniform_policy)

WORLD = default_world()
GAMMA = WORLD.gamma


def random_policy(seed):
    """每个状态上独立抽一个 Dirichlet(1,...,1) 分布作为随机策略。"""
    return np.random.default_rng(seed).dirichlet(np.ones(WORLD.n_actions), size=WORLD.n_states)


POLICIES = {"shortest": shortest_path_policy(WORLD), "uniform": uniform_policy(WORLD),
            "dirichlet": random_policy(0)}


@pytest.mark.parametrize("name", POLICIES)
def test_policy_matrices_are_stochastic(name):
    r_pi, P_pi = WORLD.policy_matrices(POLICIES[name])
    assert np.all(P_pi >= 0)
    np.testing.assert_allclose(P_pi.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(np.abs(r_pi) <= 1.0)                     # |r| <= 1 的奖励取平均后仍有界


@pytest.mark.parametrize("name", POLICIES)
def test_linear_solve_and_iteration_agree(name):
    pi = POLICIES[name]
    v_exact = solve_bellman_exact(WORLD, pi)
    v_iter, _ = solve_bellman_iterative(WORLD, pi, tol=1e-13)
    # 停止时 |v_{k+1} - v_k| < tol，由收缩性 |v_{k+1} - v*| <= gamma/(1-gamma) * tol
    assert np.max(np.abs(v_iter - v_exact)) < GAMMA / (1 - GAMMA) * 1e-13 + 1e-12
    # v_exact 确实满足贝尔曼方程
    r_pi, P_pi = WORLD.policy_matrices(pi)
    np.testing.assert_allclose(v_exact, r_pi + GAMMA * P_pi @ v_exact, atol=1e-12)


@pytest.mark.parametrize("name", POLICIES)
def test_error_contracts_at_rate_gamma(name):
    pi = POLICIES[name]
    v_star = solve_bellman_exact(WORLD, pi)
    _, hist = solve_bellman_iterative(WORLD, pi, v0=np.random.default_rng(1).normal(0, 5, 25))
    err = np.array([np.max(np.abs(v - v_star)) for v in hist])
    # 每一轮 ||e_{k+1}|| <= gamma ||e_k||（加上浮点舍入的余量）
    assert np.all(err[1:] <= GAMMA * err[:-1] + 1e-12)
    # 先验界 ||e_k|| <= gamma^k ||e_0||
    k = np.arange(len(err))
    assert np.all(err <= GAMMA ** k * err[0] + 1e-12)


def test_bellman_operator_is_gamma_contraction_on_random_pairs():
    rng = np.random.default_rng(2)
    for name, pi in POLICIES.items():
        r_pi, P_pi = WORLD.policy_matrices(pi)
        T = lambda v: r_pi + GAMMA * P_pi @ v          # noqa: E731
        for _ in range(200):
            u, v = rng.normal(0, 10, (2, WORLD.n_states))
            assert np.max(np.abs(T(u) - T(v))) <= GAMMA * np.max(np.abs(u - v)) + 1e-12


def test_rate_is_exactly_gamma_for_the_shortest_path_policy():
    # 最短路策略下所有状态最终都停在目标，P_pi^k 收敛到"全部指向目标"的矩阵，误差比趋于 gamma
    pi = POLICIES["shortest"]
    v_star = solve_bellman_exact(WORLD, pi)
    _, hist = solve_bellman_iterative(WORLD, pi)
    err = np.array([np.max(np.abs(v - v_star)) for v in hist])
    ratios = err[21:60] / err[20:59]
    np.testing.assert_allclose(ratios, GAMMA, rtol=1e-9)


@pytest.mark.parametrize("name", POLICIES)
def test_inverse_is_nonnegative_neumann_series_with_row_sums(name):
    _, P_pi = WORLD.policy_matrices(POLICIES[name])
    n = WORLD.n_states
    A = np.eye(n) - GAMMA * P_pi
    M = np.linalg.inv(A)
    assert np.all(M >= -1e-12)
    np.testing.assert_allclose(M.sum(axis=1), 1 / (1 - GAMMA), rtol=1e-12)   # (I - gamma P)^{-1} 1 = 1/(1-gamma)
    # Neumann 级数 sum_k gamma^k P^k，截断在 K 项时剩余项的 inf 范数为 gamma^K/(1-gamma)
    S, term = np.zeros((n, n)), np.eye(n)
    for _ in range(400):
        S += term
        term = GAMMA * term @ P_pi
    np.testing.assert_allclose(S, M, atol=GAMMA ** 400 / (1 - GAMMA) + 1e-12)
    # 所有特征值满足 |1 - gamma*lambda| >= 1 - gamma > 0
    assert np.min(np.abs(np.linalg.eigvals(A))) >= 1 - GAMMA - 1e-12


def test_shortest_path_values_have_closed_form():
    v = solve_bellman_exact(WORLD, POLICIES["shortest"])
    dist = WORLD.bfs_distance()
    for s in range(WORLD.n_states):
        if s in WORLD.forbidden:
            continue
        d = dist[s]
        # 前 d-1 步奖励为 0，第 d 步进入目标后每步 +1
        expected = 1 / (1 - GAMMA) if d == 0 else GAMMA ** (d - 1) / (1 - GAMMA)
        assert v[s] == pytest.approx(expected, abs=1e-12)
    assert v[WORLD.index(2, 1)] == pytest.approx(GAMMA ** 7 * 10, abs=1e-12)     # 被三面禁区围住的格子


def test_value_equals_discounted_return_of_the_trajectory():
    pi = POLICIES["shortest"]
    v = solve_bellman_exact(WORLD, pi)
    actions = np.argmax(pi, axis=1)
    for s in range(WORLD.n_states):
        # 截断 400 步的误差不超过 gamma^400 / (1 - gamma) ≈ 5e-18
        assert rollout_return(WORLD, actions, s, 400) == pytest.approx(v[s], abs=1e-12)


@pytest.mark.parametrize("name", POLICIES)
def test_state_value_is_policy_average_of_action_values(name):
    pi = POLICIES[name]
    v = solve_bellman_exact(WORLD, pi)
    q = action_values(WORLD, v)
    np.testing.assert_allclose(np.sum(pi * q, axis=1), v, atol=1e-12)


def test_greedy_step_on_uniform_values_improves_every_state():
    # 用 q_pi 做一步贪心得到的新策略在每个状态上都不差（策略改进，为后续文章铺垫）
    v_old = solve_bellman_exact(WORLD, POLICIES["uniform"])
    q = action_values(WORLD, v_old)
    greedy = np.zeros_like(q)
    greedy[np.arange(WORLD.n_states), np.argmax(q, axis=1)] = 1.0
    v_new = solve_bellman_exact(WORLD, greedy)
    assert np.all(v_new >= v_old - 1e-12) and np.any(v_new > v_old + 1.0)
