"""rectified_flow_toy 的测试：固定种子；统计容差取 Z = 4 个标准误（由样本本身估计）。"""
from functools import lru_cache
from math import erf

import numpy as np
import pytest

from rectified_flow_toy import (GaussianRF, MixtureRF, MonotoneCoupling1D, default_mixture_1d,
                                default_mixture_2d, euler, mean_sq_velocity, nw_reflow_velocity,
                                rectified_map_1d, rk4_path, straightness, transport_costs_1d)

Z = 4.0
G = GaussianRF(mu=[2.0, -1.0], Sigma=[[2.0, 0.8], [0.8, 0.6]])
MIX = default_mixture_2d()
M1 = default_mixture_1d()
GRID = np.linspace(-7, 7, 1401)


@lru_cache(maxsize=None)
def mixture_run(n=2000, n_steps=100):
    """二维混合：RK4 参照轨迹与直线度。"""
    z0 = np.random.default_rng(0).standard_normal((n, 2))
    S, path = straightness(MIX.v, z0, n_steps)
    return z0, path, S


@lru_cache(maxsize=None)
def map_1d():
    return rectified_map_1d(M1, GRID)


def assert_moments(x, mean, cov):
    """样本均值与协方差各元素都在 Z 个标准误之内（标准误由样本估计）。"""
    n = len(x)
    assert np.all(np.abs(x.mean(0) - mean) < Z * x.std(0, ddof=1) / np.sqrt(n))
    c = x - x.mean(0)
    prods = c[:, :, None] * c[:, None, :]
    se = prods.std(0, ddof=1) / np.sqrt(n)
    assert np.all(np.abs(prods.mean(0) - cov) < Z * se)


# ------------------------------------------------------------ 速度场本身
def test_gaussian_velocity_is_the_regression_of_x1_minus_x0_on_xt():
    rng = np.random.default_rng(1)
    n, t = 400_000, 0.35
    x0 = rng.standard_normal((n, 2))
    x1 = G.mu + x0 @ np.zeros((2, 2)) + rng.standard_normal((n, 2)) @ G.root.T   # 与 x0 独立
    xt = t * x1 + (1 - t) * x0
    A = np.hstack([xt, np.ones((n, 1))])
    coef, *_ = np.linalg.lstsq(A, x1 - x0, rcond=None)                          # 线性回归 = 条件期望
    probe = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    fitted = np.hstack([probe, np.ones((3, 1))]) @ coef
    np.testing.assert_allclose(fitted, G.v(probe, t), atol=0.02)


@pytest.mark.parametrize("t0, x0", [(0.3, (0.5, 0.5)), (0.7, (1.5, -1.5))])
def test_mixture_velocity_matches_windowed_average(t0, x0):
    rng = np.random.default_rng(2)
    n = 1_000_000
    x1, e = MIX.sample(n, rng), rng.standard_normal((n, 2))
    xt, x1_minus_x0 = t0 * x1 + (1 - t0) * e, x1 - e
    sel = np.sum((xt - np.array(x0)) ** 2, 1) < 0.06 ** 2
    m = sel.sum()
    assert m > 300
    se = x1_minus_x0[sel].std(0, ddof=1) / np.sqrt(m)
    # 圆形窗口内速度场的线性变化相互抵消，留 0.03 的二阶余量
    assert np.all(np.abs(x1_minus_x0[sel].mean(0) - MIX.v(np.array([x0]), t0)[0]) < Z * se + 0.03)


def test_one_euler_step_of_1rf_collapses_to_the_data_mean():
    # t = 0 时 X_t = X_0 与 X_1 独立，所以 v(x, 0) = E[X_1] - x，一步 Euler 把所有点送到均值
    z0 = np.random.default_rng(3).standard_normal((500, 2))
    np.testing.assert_allclose(euler(G.v, z0, 1), np.broadcast_to(G.mu, z0.shape), atol=1e-12)
    np.testing.assert_allclose(euler(MIX.v, z0, 1), np.broadcast_to(MIX.mean(), z0.shape), atol=1e-12)


# ------------------------------------------------------------ 高斯 -> 高斯：1-RF 是 OT，2-RF 是直线
def test_gaussian_1rf_map_is_the_optimal_transport_map():
    z0 = np.random.default_rng(4).standard_normal((300, 2))
    _, path = rk4_path(G.v, z0, 100)
    np.testing.assert_allclose(path[-1], G.ot_map(z0), atol=1e-8)


def test_gaussian_2rf_is_straight_and_exact_in_one_step():
    z0 = np.random.default_rng(5).standard_normal((300, 2))
    S1, _ = straightness(G.v, z0, 100)
    S2, _ = straightness(G.v_reflow, z0, 100)
    assert S1 > 0.5 and S2 < 1e-20
    for n in (1, 3):
        np.testing.assert_allclose(euler(G.v_reflow, z0, n), G.ot_map(z0), atol=1e-12)


def test_gaussian_transport_cost_drops_to_w2():
    z0 = np.random.default_rng(6).standard_normal((4000, 2))
    _, path = rk4_path(G.v, z0, 50)
    c = np.sum((path[-1] - z0) ** 2, 1)
    assert abs(c.mean() - G.cost_ot()) < Z * c.std(ddof=1) / np.sqrt(len(c))
    assert G.cost_ot() < G.cost_independent()


# ------------------------------------------------------------ 二维混合：边缘保持、步数与误差
def test_many_step_euler_matches_target_moments_and_weights():
    z0 = np.random.default_rng(7).standard_normal((4000, 2))
    x = euler(MIX.v, z0, 256)
    # 256 步 Euler 的端点误差均值约 0.006；步数太少时 Euler 会系统性地把分布"收窄"，
    # 64 步时协方差的迹已经偏低约 1.5%，在 4000 个样本下就能被检测出来
    assert_moments(x, MIX.mean(), MIX.cov())
    k = np.argmin(np.sum((x[:, None, :] - MIX.mu[None]) ** 2, -1), 1)
    frac = np.bincount(k, minlength=4) / len(x)
    assert np.all(np.abs(frac - MIX.w) < Z * np.sqrt(MIX.w * (1 - MIX.w) / len(x)))


def test_ode_preserves_the_interpolation_marginal_at_t_half():
    z0, path, _ = mixture_run()
    t = 0.5
    zt = path[50]                                     # 100 步网格上的 t = 0.5
    assert_moments(zt, t * MIX.mean(), t ** 2 * MIX.cov() + (1 - t) ** 2 * np.eye(2))


def test_euler_error_is_first_order_in_step_size():
    z0, path, _ = mixture_run()
    ref = path[-1]
    err = {n: np.mean(np.linalg.norm(euler(MIX.v, z0, n) - ref, axis=1)) for n in (8, 16, 32)}
    for a, b in ((8, 16), (16, 32)):
        assert 1.7 < err[a] / err[b] < 2.3              # 一阶方法：步长减半，误差减半
    assert err[32] < 0.06


def test_cost_plus_straightness_equals_mean_squared_velocity():
    # 逐轨迹恒等式 ||Z1 - Z0||^2 + ∫||(Z1 - Z0) - v||^2 dt = ∫||v(Z_t, t)||^2 dt，
    # 再由边缘保持换成对 X_t 的期望；两边用独立的样本估计
    z0, path, S = mixture_run()
    ts = np.linspace(0, 1, path.shape[0])
    per_traj = np.trapezoid(np.stack([np.sum(MIX.v(path[i], t) ** 2, 1) for i, t in enumerate(ts)]), ts, axis=0)
    lhs = np.mean(np.sum((path[-1] - z0) ** 2, 1)) + S
    assert abs(lhs - per_traj.mean()) < 1e-3 * lhs      # 恒等式本身（只差积分误差）
    rhs, se_rhs = mean_sq_velocity(MIX, 20_000, np.random.default_rng(8))
    se_lhs = per_traj.std(ddof=1) / np.sqrt(len(per_traj))
    assert abs(lhs - rhs) < Z * np.hypot(se_lhs, se_rhs)
    indep = np.trace(MIX.cov()) + MIX.mean() @ MIX.mean() + 2
    assert rhs < indep - 1.0                            # 差值是 E[Var(X1 - X0 | X_t)] > 0


@pytest.mark.parametrize("power", [1, 2, 4])
def test_convex_transport_costs_do_not_increase(power):
    z0, path, _ = mixture_run()
    rng = np.random.default_rng(9)
    x0 = rng.standard_normal((20_000, 2))
    x1 = MIX.sample(20_000, rng)
    c_rf = np.linalg.norm(path[-1] - z0, axis=1) ** power
    c_ind = np.linalg.norm(x1 - x0, axis=1) ** power
    se = np.hypot(c_rf.std() / np.sqrt(len(c_rf)), c_ind.std() / np.sqrt(len(c_ind)))
    assert c_rf.mean() < c_ind.mean() - Z * se


# ------------------------------------------------------------ 一维：单调映射、W2 与 reflow
def test_1d_rectified_map_is_monotone_quantile_map():
    T = map_1d()
    assert np.all(np.diff(T) > 0)                        # 轨迹不相交 => 保序
    zc = np.linspace(-3, 3, 13)
    q = M1.quantile_1d(0.5 * (1 + np.vectorize(erf)(zc / np.sqrt(2))))
    np.testing.assert_allclose(np.interp(zc, GRID, T), q, atol=1e-5)


def test_1d_rectified_cost_equals_w2_squared():
    indep, rf, w2 = transport_costs_1d(M1, map_1d(), GRID)
    assert abs(rf - w2) < 1e-4
    assert rf < indep / 3


def test_1d_reflow_straightens_paths_and_enables_one_step_sampling():
    T = map_1d()
    coupling = MonotoneCoupling1D(GRID, T)
    rng = np.random.default_rng(10)
    z0 = rng.standard_normal((1000, 1))
    S1, _ = straightness(M1.v, z0, 100)
    S2, _ = straightness(coupling.v, z0, 100)
    assert S1 > 0.5 and S2 < 1e-20
    np.testing.assert_allclose(euler(coupling.v, z0, 1), coupling(z0), atol=1e-12)
    # 实际做法：只有样本对 (Z0, Z1)，用回归估计 reflow 的速度场
    vnw = nw_reflow_velocity(z0[:, 0], coupling(z0[:, 0]), bandwidth=0.05)
    zq = rng.standard_normal((300, 1))
    S3, _ = straightness(vnw, zq, n_steps=6)
    assert S3 < 1e-3 * S1
    one = euler(vnw, zq, 1)
    assert np.mean(np.abs(one - coupling(zq))) < 0.05
    assert np.mean(np.abs(euler(M1.v, zq, 1) - coupling(zq))) > 1.0   # 对照：1-RF 一步很差
