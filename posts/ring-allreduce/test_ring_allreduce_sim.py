"""ring_allreduce_sim 的测试：正确性、通信量公式、步数、归约顺序与 float32 误差界。"""
import numpy as np
import pytest

from ring_allreduce_sim import (chunk_bounds, cost_ring, cost_tree, crossover_bytes,
                                float32_order_demo, naive_allreduce, ring_all_gather,
                                ring_allreduce, ring_fold_reference, ring_reduce_scatter,
                                simulated_time, tree_allreduce)


def int_data(N, n, seed=0):
    # 整数值的 float64：任何求和顺序都精确，可以要求逐位相等
    rng = np.random.default_rng(seed)
    return [rng.integers(-1000, 1000, n).astype(np.float64) for _ in range(N)]


@pytest.mark.parametrize("N,n", [(1, 5), (2, 7), (3, 37), (5, 5), (8, 64), (7, 100)])
def test_ring_allreduce_gives_the_sum_on_every_rank(N, n):
    data = int_data(N, n)
    out, stats = ring_allreduce(data)
    total = np.sum(data, axis=0)
    for r in range(N):
        np.testing.assert_array_equal(out[r], total)
    assert len(stats.steps) == 2 * (N - 1)
    for step in stats.steps:                       # 每步每个 rank 恰好发一条、收一条
        assert sorted(m[0] for m in step) == list(range(N))
        assert sorted(m[1] for m in step) == list(range(N))
        assert all(m[1] == (m[0] + 1) % N for m in step)   # 只和环上的下一个邻居通信


@pytest.mark.parametrize("N", [2, 4, 8, 16])
def test_bytes_per_rank_is_2_times_N_minus_1_over_N_times_size(N):
    n = 64 * N                                     # N 整除 n：每个 rank 恰好发送 2(N-1)/N·n 个元素
    data = int_data(N, n)
    _, stats = ring_allreduce(data)
    size = n * 8
    expect = 2 * (N - 1) * size // N
    assert np.all(stats.sent == expect) and np.all(stats.recv == expect)


@pytest.mark.parametrize("N,n", [(3, 37), (5, 13), (7, 100)])
def test_bytes_when_size_not_divisible(N, n):
    _, stats = ring_allreduce(int_data(N, n))
    # 每块在 reduce-scatter 与 all-gather 中各被发送 N-1 次
    assert stats.sent.sum() == 2 * (N - 1) * n * 8
    assert stats.sent.max() <= 2 * (N - 1) * int(np.ceil(n / N)) * 8


def test_reduce_scatter_then_all_gather_separately():
    N, n = 5, 23
    data = int_data(N, n, seed=3)
    b = chunk_bounds(n, N)
    total = np.sum(data, axis=0)
    bufs = [d.copy() for d in data]
    ring_reduce_scatter(bufs)
    for r in range(N):                             # rank r 持有第 (r+1) mod N 块的完整和
        c = (r + 1) % N
        np.testing.assert_array_equal(bufs[r][b[c]:b[c + 1]], total[b[c]:b[c + 1]])
    # all-gather 单独使用：每个 rank 只有自己那一块正确，其余是垃圾
    own = [np.full(n, np.nan) for _ in range(N)]
    for r in range(N):
        c = (r + 1) % N
        own[r][b[c]:b[c + 1]] = total[b[c]:b[c + 1]]
    ring_all_gather(own)
    for r in range(N):
        np.testing.assert_array_equal(own[r], total)


def test_non_commutative_op_reveals_rotated_order():
    N = 4
    labels = [np.array([str(r)] * N, dtype=object) for r in range(N)]
    out, _ = ring_allreduce(labels)
    assert list(out[0]) == ["0123", "1230", "2301", "3012"]   # 第 c 块从 rank c 开始折叠
    assert all(list(o) == list(out[0]) for o in out)           # 但所有 rank 一致
    # 结合律仍成立时，结果等于各块的循环折叠
    assert list(ring_fold_reference(labels)) == list(out[0])


def test_float32_results_are_bitwise_identical_across_ranks_but_order_dependent():
    N = 8
    d = float32_order_demo(N=N, n=20_000, seed=1)
    ring = d["ring"]
    for x in ring:
        assert np.array_equal(x, ring[0])          # all-gather 只复制，不重新计算
    assert np.array_equal(ring[0], ring_fold_reference(d["data"]))
    assert np.mean(ring[0] != d["seq"]) > 0.1      # 换一个顺序，大量元素的最低位不同
    assert np.mean(ring[0] != d["rev"]) > 0.1
    # 标准误差界：|fl(Σx) - Σx| ≤ γ_{N-1} Σ|x|，γ_m = m·u / (1 - m·u)，u = 2^-24
    u = 2.0 ** -24
    gamma = (N - 1) * u / (1 - (N - 1) * u)
    for v in (ring[0], d["seq"], d["rev"]):
        err = np.abs(v.astype(np.float64) - d["exact"])
        assert np.all(err <= gamma * d["abs_sum"])


def test_naive_and_tree_traffic():
    N, n = 8, 1000
    data = int_data(N, n)
    total = np.sum(data, axis=0)
    out_n, st_n = naive_allreduce(data)
    out_t, st_t = tree_allreduce(data)
    for o in out_n + out_t:
        np.testing.assert_array_equal(o, total)
    size = n * 8
    assert st_n.sent[0] == (N - 1) * size and st_n.recv[0] == (N - 1) * size   # root 的链路承担一切
    assert st_t.sent.max() == np.log2(N) * size and len(st_t.steps) == 2 * np.log2(N)
    _, st_r = ring_allreduce(data)
    assert st_r.sent.max() < st_t.sent.max() < st_n.sent.max()


def test_cost_model_matches_simulation_and_crossover():
    alpha, beta = 5e-6, 1e-10
    for N in (4, 8, 16):
        n = 1024 * N
        data = [np.zeros(n) for _ in range(N)]
        _, st_r = ring_allreduce(data)
        _, st_t = tree_allreduce(data)
        assert simulated_time(st_r, alpha, beta) == pytest.approx(cost_ring(N, n * 8, alpha, beta))
        assert simulated_time(st_t, alpha, beta) == pytest.approx(cost_tree(N, n * 8, alpha, beta))
        m = crossover_bytes(N, alpha, beta)
        assert cost_ring(N, m, alpha, beta) == pytest.approx(cost_tree(N, m, alpha, beta))
        assert cost_ring(N, 2 * m, alpha, beta) < cost_tree(N, 2 * m, alpha, beta)
        assert cost_ring(N, m / 2, alpha, beta) > cost_tree(N, m / 2, alpha, beta)
    # 带宽项随 N 趋于常数 2·size·β，不随 N 线性增长
    big = [cost_ring(N, 1e9, 0.0, 1.0) / 1e9 for N in (2, 16, 1024)]
    assert big == pytest.approx([1.0, 1.875, 2 * 1023 / 1024])
