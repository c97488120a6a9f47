"""som_kohonen 的测试：固定种子，断言有序性、量化/拓扑误差、能量梯度与批量更新的性质。"""
from functools import lru_cache

import numpy as np

from som_kohonen import (activity_bubble, batch_step, bubble_input, mexican_hat, bmu, energy, energy_grad_fixed_winners, distance_profile,
                         grid_codebook_correlation, grid_coords, grid_sqdist, is_grid_ordered,
                         is_monotone, kmeans, quantization_error, square_demo_data,
                         topographic_error, train_online, two_cluster_data, u_matrix)

SHAPE = (10, 10)
COORDS = grid_coords(SHAPE)
X2 = square_demo_data()
W_INIT = 0.45 + 0.1 * np.random.default_rng(2).random((100, 2))
LATTICE_QE = 0.1 * (np.sqrt(2) + np.log(1 + np.sqrt(2))) / 6     # 边长 0.1 的正方形格子的平均量化距离


@lru_cache(maxsize=None)
def square_som(sigma0=5.0, seed=3):
    return train_online(X2, SHAPE, 5000, seed=seed, W0=W_INIT, sigma=(sigma0, 0.5))


# ------------------------------------------------------------ 侧抑制
def test_lateral_inhibition_forms_single_bubble_around_input_peak():
    L = mexican_hat(60)
    for seed in range(10):
        inp = bubble_input(seed=seed)
        act = np.flatnonzero(activity_bubble(inp, L) > 0.01)
        assert np.all(np.diff(act) == 1)              # 只有一个连通的活动区
        assert 3 <= len(act) <= 8                     # 输入在 60 个神经元上都为正，输出只剩一小团
        assert np.argmax(inp) in act                  # 气泡落在输入最强处


# ------------------------------------------------------------ 一维：有序化与“有序是吸收态”
def test_1d_chain_becomes_ordered_and_evenly_spread():
    X = np.random.default_rng(0).random((2000, 1))
    W0 = np.random.default_rng(1).random((20, 1))
    assert not is_monotone(W0)
    w = np.sort(train_online(X, (20,), 4000, seed=1, sigma=(5.0, 0.5), W0=W0).ravel())
    assert is_monotone(train_online(X, (20,), 4000, seed=1, sigma=(5.0, 0.5), W0=W0))
    assert w[0] < 0.1 and w[-1] > 0.9                 # 铺满区间
    gaps = np.diff(w)
    assert gaps.max() / gaps.min() < 1.5              # 均匀数据 -> 间距大致相等


def test_ordered_chain_stays_ordered_under_any_update():
    """正文引理：一维链已有序时，只要 lr * h < 1 且 h 随网格距离单调不增，任何输入都不会破坏顺序。"""
    rng = np.random.default_rng(7)
    m = 15
    w = np.sort(rng.random(m))
    pos = np.arange(m, dtype=float)
    for _ in range(5000):
        x = rng.uniform(-0.5, 1.5)                    # 输入甚至可以落在码本范围之外
        a, s = rng.uniform(0.01, 0.99), rng.uniform(0.3, 10.0)
        c = np.argmin(np.abs(w - x))
        w = w + a * np.exp(-(pos - c) ** 2 / (2 * s * s)) * (x - w)
        assert np.all(np.diff(w) > 0)


# ------------------------------------------------------------ 二维：展开成有序网格
def test_2d_map_unfolds_and_preserves_neighbourhoods():
    W = square_som()
    qe0, qe = quantization_error(X2, W_INIT), quantization_error(X2, W)
    assert qe < qe0 / 5                               # 0.326 -> 0.046
    assert qe < 1.3 * LATTICE_QE                      # 理想正方形格子为 0.0383，边界收缩带来少量额外误差
    assert topographic_error(X2, W, COORDS) < 0.02
    assert is_grid_ordered(W, SHAPE) and not is_grid_ordered(W_INIT, SHAPE)
    assert grid_codebook_correlation(W, COORDS) > 0.98
    prof = distance_profile(W, COORDS, max_k=9)
    vals = np.array([prof[k] for k in sorted(prof)])
    assert np.all(np.diff(vals) > 0)                  # 网格上越远，码本向量越远
    assert abs(prof[1] - 0.1) < 0.02                  # 相邻单元间距 ≈ 1/10


def test_without_ordering_phase_topological_defects_remain():
    W = square_som(sigma0=0.5)
    assert not is_grid_ordered(W, SHAPE)
    assert topographic_error(X2, W, COORDS) > 10 * topographic_error(X2, square_som(), COORDS)


def test_kmeans_quantises_better_but_has_no_topology():
    Wk, W = kmeans(X2, 100, seed=4), square_som()
    assert quantization_error(X2, Wk) < quantization_error(X2, W)
    assert topographic_error(X2, Wk, COORDS) > 0.5
    assert abs(grid_codebook_correlation(Wk, COORDS)) < 0.1


# ------------------------------------------------------------ 能量视角
def test_energy_gradient_matches_finite_differences():
    rng = np.random.default_rng(11)
    X, W = rng.random((200, 2)), rng.random((12, 2))
    d2 = grid_sqdist(grid_coords((3, 4)))
    c = bmu(X, W)
    g = energy_grad_fixed_winners(X, W, d2, 1.2, c)
    h = 1e-6
    fd = np.zeros_like(W)
    for j in range(W.shape[0]):
        for k in range(W.shape[1]):
            E = np.zeros_like(W)
            E[j, k] = h
            fd[j, k] = (energy(X, W + E, d2, 1.2, c) - energy(X, W - E, d2, 1.2, c)) / (2 * h)
            # 扰动很小时获胜单元不变，带 BMU 重新计算的能量给出同样的差分
            assert np.array_equal(bmu(X, W + E), c) and np.array_equal(bmu(X, W - E), c)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)
    # 单样本能量的负梯度乘学习率，就是一次在线 Kohonen 更新
    x, a = X[:1], 0.3
    W_online = W + a * np.exp(-d2[c[0]] / (2 * 1.2 ** 2))[:, None] * (x - W)
    np.testing.assert_allclose(W_online, W - a * energy_grad_fixed_winners(x, W, d2, 1.2, c[:1]), atol=1e-12)


def test_batch_step_is_exact_minimiser_for_fixed_winners():
    rng = np.random.default_rng(12)
    X, W = rng.random((300, 2)), rng.random((12, 2))
    d2 = grid_sqdist(grid_coords((3, 4)))
    c = bmu(X, W)
    W1 = batch_step(X, W, d2, 1.0)
    assert np.max(np.abs(energy_grad_fixed_winners(X, W1, d2, 1.0, c))) < 1e-12
    assert energy(X, W1, d2, 1.0, c) < energy(X, W, d2, 1.0, c)
    # sigma = 0：每个码本向量变成其 Voronoi 胞内样本的均值（k-means 的一步）
    W0 = batch_step(X, W, d2, 0)
    for j in np.unique(c):
        np.testing.assert_allclose(W0[j], X[c == j].mean(0), atol=1e-12)


# ------------------------------------------------------------ U-matrix
def test_u_matrix_shows_ridge_between_clusters():
    X3 = two_cluster_data()
    W3 = train_online(X3, SHAPE, 10000, seed=5)
    U3, U2 = u_matrix(W3, SHAPE), u_matrix(square_som(), SHAPE)
    assert U3.max() / np.median(U3) > 4
    assert U2.max() / np.median(U2) < 1.5
    ca, cb = set(bmu(X3[:500], W3)), set(bmu(X3[500:], W3))
    assert not (ca & cb)                              # 两个团簇映到不相交的单元集合
