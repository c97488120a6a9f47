"""kdtree_search 的测试：与暴力搜索逐一对照，并检查访问计数随维数 / 样本量的变化和 BBF 的召回率。"""
from functools import lru_cache

import numpy as np
import pytest

from kdtree_search import KDTree, bbf_recall, brute_knn, leaves, mean_visits


def assert_same_knn(tree, X, q, k):
    d_true, i_true = brute_knn(X, q, k)
    for d, i in (tree.knn(q, k, "plane")[:2], tree.knn(q, k, "cell")[:2], tree.bbf(q, k)[:2],
                 tree.dfs_limited(q, k)[:2]):
        np.testing.assert_allclose(d, d_true, rtol=0, atol=1e-12)
        np.testing.assert_allclose(np.sqrt(((X[i] - q) ** 2).sum(1)), d_true, atol=1e-12)  # 下标与距离一致


@pytest.mark.parametrize("d", [1, 2, 3, 7])
@pytest.mark.parametrize("split", ["variance", "cycle"])
def test_knn_matches_brute_force(d, split):
    rng = np.random.default_rng(d)
    X = rng.standard_normal((500, d))
    tree = KDTree(X, leaf_size=4, split=split)
    for q in rng.standard_normal((20, d)) * 1.5:
        for k in (1, 5, 20):
            assert_same_knn(tree, X, q, k)


def test_knn_with_many_duplicate_coordinates():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 4, size=(400, 3)).astype(float)     # 只有 64 个不同的点，大量并列
    tree = KDTree(X, leaf_size=3)
    for q in rng.uniform(-1, 5, size=(30, 3)):
        for k in (1, 7, 30):
            assert_same_knn(tree, X, q, k)


def test_box_and_ball_range_queries_match_brute_force():
    rng = np.random.default_rng(1)
    X = rng.random((2000, 3))
    tree = KDTree(X, leaf_size=8)
    for _ in range(50):
        a, b = rng.random(3), rng.random(3)
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        got, _ = tree.range_box(lo, hi)
        np.testing.assert_array_equal(got, np.flatnonzero(np.all((X >= lo) & (X <= hi), axis=1)))
        q, r = rng.random(3), rng.uniform(0.02, 0.4)
        np.testing.assert_array_equal(tree.range_ball(q, r), np.flatnonzero(((X - q) ** 2).sum(1) <= r * r))
    # 小盒子只访问树的一小部分节点
    _, stats = tree.range_box([0.4] * 3, [0.45] * 3)
    assert stats["nodes"] < 0.1 * tree.n_nodes


def test_tree_is_balanced():
    for n in (1000, 4096, 5000):
        tree = KDTree(np.random.default_rng(n).random((n, 2)), leaf_size=8)
        n_leaves = sum(1 for _ in leaves(tree.root))
        assert tree.n_nodes == 2 * n_leaves - 1                # 满二叉树
        assert tree.depth() == int(np.ceil(np.log2(n / 8)))    # 中位数切分 => 深度 ceil(log2(n / 叶子容量))
        sizes = [len(l.idx) for l in leaves(tree.root)]
        assert max(sizes) <= 8 and min(sizes) >= 4


def test_cell_pruning_never_examines_more_points():
    rng = np.random.default_rng(2)
    for d in (2, 6):
        X = rng.random((2000, d))
        tree = KDTree(X)
        for q in rng.random((30, d)):
            assert tree.knn(q, 3, "cell")[2]["points"] <= tree.knn(q, 3, "plane")[2]["points"]


@lru_cache(maxsize=None)
def visit_fraction(d, n=2048, seed=3):
    rng = np.random.default_rng(seed)
    X, Q = rng.random((n, d)), rng.random((30, d))
    return mean_visits(KDTree(X), Q)[0] / n


def test_examined_fraction_grows_with_dimension():
    f = [visit_fraction(d) for d in (2, 4, 8, 16)]
    assert all(a < b for a, b in zip(f, f[1:]))
    assert f[0] < 0.02 and f[-1] > 0.9                        # 16 维时几乎退化为暴力搜索


def test_low_dimension_cost_barely_grows_with_n():
    rng = np.random.default_rng(3)
    cost = {}
    for n in (1024, 16384):
        X, Q = rng.random((n, 2)), rng.random((100, 2))
        cost[n] = mean_visits(KDTree(X), Q)[0]
    assert cost[16384] < 1.5 * cost[1024]                     # n 增大 16 倍，检查的点数几乎不变
    assert cost[16384] < 30


def test_variance_split_helps_on_anisotropic_data():
    rng = np.random.default_rng(4)
    scale = np.array([1.0, 1.0, 20.0, 20.0])
    X, Q = rng.random((4096, 4)) * scale, rng.random((100, 4)) * scale
    assert mean_visits(KDTree(X, split="variance"), Q)[0] < 0.5 * mean_visits(KDTree(X, split="cycle"), Q)[0]


def test_bbf_recall_with_node_budget():
    rng = np.random.default_rng(5)
    X, Q = rng.random((4096, 16)), rng.random((60, 16))
    tree = KDTree(X)
    rec = {B: bbf_recall(tree, Q, 1, B) for B in (5, 20, 100)}
    dfs = {B: bbf_recall(tree, Q, 1, B, "dfs") for B in (5, 20, 100)}
    assert rec[5] <= rec[20] <= rec[100]
    assert rec[100] > 0.9                                      # 只检查 100 / 512 个叶子
    for B in rec:
        assert rec[B] >= dfs[B]
    assert rec[20] > dfs[20] + 0.15                            # 按单元距离排序明显优于按树结构回溯
    # 精确搜索几乎要检查全部叶子
    assert np.mean([tree.knn(q, 1)[2]["leaves"] for q in Q[:20]]) > 0.9 * 512
