"""kd 树：构建、精确 k 近邻（回溯 + 剪枝）、正交范围查询与球形范围查询、
best-bin-first 近似搜索，以及访问计数。纯 NumPy + 标准库 heapq。"""
import heapq
import itertools

import numpy as np


class Node:
    __slots__ = ("dim", "val", "left", "right", "idx")

    def __init__(self, dim=-1, val=0.0, left=None, right=None, idx=None):
        self.dim, self.val, self.left, self.right, self.idx = dim, val, left, right, idx

    @property
    def is_leaf(self):
        return self.idx is not None


class KDTree:
    """kd 树。split="variance"：选当前子集方差最大的维；split="cycle"：按深度轮换维度。
    切分值取该维的中位数；叶子最多存 leaf_size 个点。"""

    def __init__(self, X, leaf_size=8, split="variance"):
        self.X = np.asarray(X, float)
        self.leaf_size, self.split = leaf_size, split
        self.n_nodes = 0
        self.root = self._build(np.arange(len(self.X)), 0)

    def _build(self, idx, depth):
        self.n_nodes += 1
        if len(idx) <= self.leaf_size:
            return Node(idx=idx)
        P = self.X[idx]
        dim = int(np.argmax(P.var(0))) if self.split == "variance" else depth % self.X.shape[1]
        m = len(idx) // 2
        order = np.argpartition(P[:, dim], m)          # O(n) 选出中位数：左半 <= val <= 右半
        val = float(P[order[m], dim])
        return Node(dim, val, self._build(idx[order[:m]], depth + 1), self._build(idx[order[m:]], depth + 1))

    def depth(self, node=None):
        node = self.root if node is None else node
        return 0 if node.is_leaf else 1 + max(self.depth(node.left), self.depth(node.right))

    # ------------------------------------------------------------ 精确 k 近邻
    def knn(self, q, k=1, prune="plane"):
        """返回 (距离升序的 k 个距离, 对应下标, 统计)。
        prune="plane"：超球与切分超平面相交才访问远侧子树（|q_dim - val| < r）；
        prune="cell" ：用 q 到远侧子树整个矩形单元的距离判断（Arya-Mount 增量距离），剪得更多。"""
        q = np.asarray(q, float)
        heap = []                                     # 最大堆：(-距离平方, 下标)
        stats = {"nodes": 0, "leaves": 0, "points": 0}
        self._knn(self.root, q, k, heap, stats, prune, np.zeros(len(q)), 0.0)
        res = sorted((-d2, i) for d2, i in heap)
        return np.sqrt([d for d, _ in res]), np.array([i for _, i in res]), stats

    def _scan_leaf(self, node, q, k, heap, stats):
        stats["leaves"] += 1
        stats["points"] += len(node.idx)
        d2 = ((self.X[node.idx] - q) ** 2).sum(1)
        for dist2, i in zip(d2, node.idx):
            if len(heap) < k:
                heapq.heappush(heap, (-dist2, int(i)))
            elif dist2 < -heap[0][0]:
                heapq.heapreplace(heap, (-dist2, int(i)))
            else:
                continue
            stats["last_improve"] = stats["leaves"]   # 结果最后一次改进发生在第几个叶子

    def _knn(self, node, q, k, heap, stats, prune, off, rd):
        stats["nodes"] += 1
        if node.is_leaf:
            self._scan_leaf(node, q, k, heap, stats)
            return
        diff = q[node.dim] - node.val
        near, far = (node.left, node.right) if diff < 0 else (node.right, node.left)
        self._knn(near, q, k, heap, stats, prune, off, rd)
        worst = -heap[0][0] if len(heap) == k else np.inf
        if prune == "plane":
            if diff * diff < worst:
                self._knn(far, q, k, heap, stats, prune, off, rd)
        else:                                         # 到远侧单元的距离平方：只改这一维的偏移
            old = off[node.dim]
            rd_far = rd - old * old + diff * diff
            if rd_far < worst:
                off[node.dim] = abs(diff)
                self._knn(far, q, k, heap, stats, prune, off, rd_far)
                off[node.dim] = old

    # ------------------------------------------------------------ 范围查询
    def range_box(self, lo, hi):
        """正交范围查询：返回落在 [lo, hi]（逐维闭区间）内的所有点的下标（升序）。"""
        lo, hi, out, stats = np.asarray(lo, float), np.asarray(hi, float), [], {"nodes": 0}

        def rec(node):
            stats["nodes"] += 1
            if node.is_leaf:
                P = self.X[node.idx]
                out.extend(node.idx[np.all((P >= lo) & (P <= hi), axis=1)].tolist())
                return
            if lo[node.dim] <= node.val:
                rec(node.left)
            if hi[node.dim] >= node.val:
                rec(node.right)
        rec(self.root)
        return np.sort(np.array(out, dtype=int)), stats

    def range_ball(self, q, r):
        """球形范围查询：返回 ||x - q|| <= r 的所有点的下标（升序）。"""
        q, out = np.asarray(q, float), []

        def rec(node):
            if node.is_leaf:
                d2 = ((self.X[node.idx] - q) ** 2).sum(1)
                out.extend(node.idx[d2 <= r * r].tolist())
                return
            diff = q[node.dim] - node.val
            if diff <= r:                             # 左子树的点在该维 <= val
                rec(node.left)
            if diff >= -r:
                rec(node.right)
        rec(self.root)
        return np.sort(np.array(out, dtype=int))

    # ------------------------------------------------------------ 近似搜索
    def bbf(self, q, k=1, max_leaves=np.inf):
        """best-bin-first：用优先队列按“q 到单元的距离”从近到远检查叶子，最多检查 max_leaves 个叶子。
        max_leaves = inf 时是精确搜索（队首单元已比当前第 k 近更远时才停止）。"""
        q = np.asarray(q, float)
        heap, stats = [], {"nodes": 0, "leaves": 0, "points": 0}
        tie = itertools.count()
        pq = [(0.0, next(tie), self.root, np.zeros(len(q)))]
        while pq and stats["leaves"] < max_leaves:
            rd, _, node, off = heapq.heappop(pq)
            if len(heap) == k and rd >= -heap[0][0]:
                break
            while not node.is_leaf:                   # 沿近侧一路下降，把远侧分支放进队列
                stats["nodes"] += 1
                diff = q[node.dim] - node.val
                near, far = (node.left, node.right) if diff < 0 else (node.right, node.left)
                off_far = off.copy()
                off_far[node.dim] = abs(diff)
                heapq.heappush(pq, (rd - off[node.dim] ** 2 + diff * diff, next(tie), far, off_far))
                node = near
            stats["nodes"] += 1
            self._scan_leaf(node, q, k, heap, stats)
        res = sorted((-d2, i) for d2, i in heap)
        return np.sqrt([d for d, _ in res]), np.array([i for _, i in res]), stats

    def dfs_limited(self, q, k=1, max_leaves=np.inf):
        """对照组：普通回溯搜索，但检查 max_leaves 个叶子后就强行停止。"""
        q = np.asarray(q, float)
        heap, stats = [], {"nodes": 0, "leaves": 0, "points": 0}

        def rec(node):
            if stats["leaves"] >= max_leaves:
                return
            stats["nodes"] += 1
            if node.is_leaf:
                self._scan_leaf(node, q, k, heap, stats)
                return
            diff = q[node.dim] - node.val
            near, far = (node.left, node.right) if diff < 0 else (node.right, node.left)
            rec(near)
            if len(heap) < k or diff * diff < -heap[0][0]:
                rec(far)
        rec(self.root)
        res = sorted((-d2, i) for d2, i in heap)
        return np.sqrt([d for d, _ in res]), np.array([i for _, i in res]), stats


# ---------------------------------------------------------------- 暴力对照
def brute_knn(X, q, k=1):
    d = np.sqrt(((X - q) ** 2).sum(1))
    idx = np.argsort(d, kind="stable")[:k]
    return d[idx], idx


def mean_visits(tree, Q, k=1, prune="plane"):
    """每次查询平均检查的点数与访问的节点数。"""
    s = [tree.knn(q, k, prune)[2] for q in Q]
    return float(np.mean([t["points"] for t in s])), float(np.mean([t["nodes"] for t in s]))


def bbf_recall(tree, Q, k, max_leaves, method="bbf"):
    """近似结果中真正的 k 近邻所占比例（对所有查询平均）。"""
    hit = 0
    for q in Q:
        _, true_idx = brute_knn(tree.X, q, k)
        _, idx, _ = (tree.bbf if method == "bbf" else tree.dfs_limited)(q, k, max_leaves)
        hit += len(set(true_idx.tolist()) & set(idx.tolist()))
    return hit / (k * len(Q))


def main():
    rng = np.random.default_rng(0)
    n, n_q = 4096, 100
    print(f"n = {n}，叶子容量 8，每个维数 {n_q} 个查询，1-NN，平均检查的点数（占 n 的比例）与访问节点数：")
    for d in (2, 4, 8, 16, 32):
        X, Q = rng.random((n, d)), rng.random((n_q, d))
        t = KDTree(X)
        p, nodes = mean_visits(t, Q)
        pc, nodes_c = mean_visits(t, Q, prune="cell")
        print(f"  d={d:2d}: 超平面剪枝 {p:7.1f} 点 ({p / n:6.1%}) {nodes:7.1f} 节点 | "
              f"单元距离剪枝 {pc:7.1f} 点 ({pc / n:6.1%})  树深 {t.depth()}")
    print("d = 2 时随 n 增长（平均检查点数）：")
    for n2 in (1024, 4096, 16384):
        X, Q = rng.random((n2, 2)), rng.random((n_q, 2))
        print(f"  n={n2:6d}: {mean_visits(KDTree(X), Q)[0]:6.1f} 点，树深 {KDTree(X).depth()}")
    # 切分维的选择：各维尺度悬殊时
    scale = np.array([1.0, 1.0, 20.0, 20.0])
    X, Q = rng.random((n, 4)) * scale, rng.random((n_q, 4)) * scale
    for rule in ("cycle", "variance"):
        print(f"各向异性数据，split={rule:8s}: 平均检查 {mean_visits(KDTree(X, split=rule), Q)[0]:.1f} 点")
    # 16 维：均匀数据 vs 内在维数为 4 的数据
    X, Q = rng.random((8192, 16)), rng.random((n_q, 16))
    t = KDTree(X)
    Xc, Qc = clustered_data(rng, 8192, 16), clustered_data(rng, n_q, 16)
    tc = KDTree(Xc)
    for name, tree, QQ in (("均匀", t, Q), ("内在 4 维", tc, Qc)):
        s = [tree.knn(q, 1)[2] for q in QQ]
        print(f"n=8192, d=16, {name:6s}：精确 1-NN 平均检查 {np.mean([x['leaves'] for x in s]):6.1f} / "
              f"{sum(1 for _ in leaves(tree.root))} 个叶子，最近邻平均在第 {np.mean([x['last_improve'] for x in s]):5.1f} 个叶子处找到")
    print("BBF 与截断 DFS 在 16 维均匀数据上的 1-NN 召回率：")
    for B in (1, 5, 20, 50, 200):
        print(f"  最多检查 {B:3d} 个叶子：BBF {bbf_recall(t, Q, 1, B):.2f}   截断 DFS {bbf_recall(t, Q, 1, B, 'dfs'):.2f}")


def clustered_data(rng, n, d, n_clusters=32, intrinsic=4, seed=123):
    """有低维内在结构的数据：32 个团簇中心（固定），每个团簇在一个 4 维随机子空间内展开，加少量噪声。"""
    g = np.random.default_rng(seed)
    centres = g.random((n_clusters, d)) * 4
    bases = [np.linalg.qr(g.standard_normal((d, intrinsic)))[0] for _ in range(n_clusters)]
    lab = rng.integers(n_clusters, size=n)
    Z = rng.standard_normal((n, intrinsic)) * 0.4
    return np.stack([centres[c] + bases[c] @ z for c, z in zip(lab, Z)]) + 0.02 * rng.standard_normal((n, d))


def leaves(node):
    if node.is_leaf:
        yield node
    else:
        yield from leaves(node.left)
        yield from leaves(node.right)


if __name__ == "__main__":
    main()
