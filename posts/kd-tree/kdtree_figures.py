"""本文各图：2 维 kd 树的划分与一次最近邻查询的回溯过程；维数与检查点数、BBF 的召回率。"""
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Circle, Rectangle

from kdtree_search import KDTree


class TracedKDTree(KDTree):
    """文中的 KDTree，外加记录：搜索进入过哪些节点，以及每扫描一个叶子后的当前最近距离。"""

    def knn(self, q, k=1, prune="plane"):
        self.entered, self.scans = set(), []
        return super().knn(q, k, prune)

    def _knn(self, node, *args):
        self.entered.add(id(node))
        super()._knn(node, *args)

    def _scan_leaf(self, node, q, k, heap, stats):
        super()._scan_leaf(node, q, k, heap, stats)
        self.scans.append((id(node), float(np.sqrt(-heap[0][0]))))


def cells(node, lo, hi, depth=0):
    """先序遍历：(节点, 单元下界, 单元上界, 深度)。"""
    yield node, lo, hi, depth
    if not node.is_leaf:
        hi_left, lo_right = hi.copy(), lo.copy()
        hi_left[node.dim] = lo_right[node.dim] = node.val
        yield from cells(node.left, lo, hi_left, depth + 1)
        yield from cells(node.right, lo_right, hi, depth + 1)


def plot_search(seed=235):
    rng = np.random.default_rng(seed)                    # 这个种子的查询要回溯进 3 个远侧叶子，每次都找到更近的点
    X, q = rng.random((64, 2)), rng.random(2)
    tree = TracedKDTree(X, leaf_size=4)
    dist, idx, _ = tree.knn(q, 1)
    order = {leaf: k + 1 for k, (leaf, _) in enumerate(tree.scans)}
    all_cells = list(cells(tree.root, np.zeros(2), np.ones(2)))

    fig, (ax, axt) = plt.subplots(1, 2, figsize=(7.2, 3.7), width_ratios=[1, 1.05])
    # 左：平面划分。扫描过的叶子为蓝色并标出扫描顺序，被剪掉的子树的单元为灰色
    for node, lo, hi, depth in all_cells:
        if node.is_leaf and id(node) in tree.entered:
            ax.add_patch(Rectangle(lo, *(hi - lo), facecolor="C0", alpha=0.18, edgecolor="none"))
            # 序号写在单元里离 q 最远的角上，避开查询点附近的圆
            cx, cy = max(((x, y) for x in (lo[0], hi[0]) for y in (lo[1], hi[1])),
                         key=lambda c: np.hypot(c[0] - q[0], c[1] - q[1]))
            ax.text(cx + (0.015 if cx == lo[0] else -0.015), cy + (0.01 if cy == lo[1] else -0.01),
                    str(order[id(node)]), ha="left" if cx == lo[0] else "right",
                    va="bottom" if cy == lo[1] else "top", color="C0", fontweight="bold", zorder=6)
    for node, lo, hi, depth in all_cells:
        if id(node) not in tree.entered:
            ax.add_patch(Rectangle(lo, *(hi - lo), facecolor="#eaeef2", edgecolor="none", zorder=0))
        if not node.is_leaf:                              # 切分线：越靠近根越粗
            xs = [node.val, node.val] if node.dim == 0 else [lo[0], hi[0]]
            ys = [lo[1], hi[1]] if node.dim == 0 else [node.val, node.val]
            ax.plot(xs, ys, color="k", lw=2.2 - 0.4 * depth, zorder=2)
    ax.plot(*X.T, ".", color="C7", ms=5, zorder=3)
    radii = sorted({r for _, r in tree.scans}, reverse=True)   # 每扫描完一个叶子后的当前最近距离
    for r in radii[:-1]:
        ax.add_patch(Circle(q, r, fill=False, ls="--", color="C1", lw=1.1, zorder=4))
    ax.add_patch(Circle(q, float(dist[0]), fill=False, color="C3", lw=1.6, zorder=4))
    ax.plot(*X[idx[0]], "o", ms=8, mfc="none", mec="C3", mew=1.6, zorder=5)
    ax.plot(*q, "*", color="C3", ms=12, zorder=5)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])

    # 右：同一棵树。蓝色是搜索进入过的节点与边，灰色虚线通向被剪掉的子树
    pos, leaf_x = {}, iter(range(10**6))

    def layout(node, depth):
        if node.is_leaf:
            pos[id(node)] = (next(leaf_x), -depth)
        else:
            layout(node.left, depth + 1)
            layout(node.right, depth + 1)
            pos[id(node)] = ((pos[id(node.left)][0] + pos[id(node.right)][0]) / 2, -depth)

    layout(tree.root, 0)
    for node, lo, hi, depth in all_cells:
        if node.is_leaf:
            continue
        for child in (node.left, node.right):
            visited = id(child) in tree.entered
            (x0, y0), (x1, y1) = pos[id(node)], pos[id(child)]
            y1 += 0.3 if child.is_leaf else 0.0           # 连到叶子方框的上沿
            axt.plot([x0, x1], [y0, y1], color="C0" if visited else "C7", lw=1.8 if visited else 1.0,
                     ls="-" if visited else ":", zorder=1)
    for node, lo, hi, depth in all_cells:
        x, y = pos[id(node)]
        visited = id(node) in tree.entered
        if node.is_leaf:
            label = str(order[id(node)]) if id(node) in order else ""
            axt.add_patch(Rectangle((x - 0.4, y - 0.3), 0.8, 0.6, facecolor="C0" if visited else "#eaeef2",
                                    alpha=0.35 if visited else 1.0, edgecolor="C0" if visited else "C7",
                                    lw=0.8, zorder=2))
            axt.text(x, y, label, ha="center", va="center", color="C0", fontweight="bold", zorder=3)
        else:
            axt.text(x, y, "xy"[node.dim], ha="center", va="center", zorder=3,
                     color="white" if visited else "k",
                     bbox=dict(boxstyle="circle,pad=0.2", facecolor="C0" if visited else "#eaeef2",
                               edgecolor="C0" if visited else "C7"))
    axt.set_xlim(-0.8, next(leaf_x) - 0.2)
    axt.set_ylim(-tree.depth() - 0.6, 0.6)
    axt.set_axis_off()
    return fig


OUTPUT = Path(__file__).resolve().parent / "kdtree_search.output.txt"


def read_output(path=OUTPUT):
    """从 kdtree_search.py 的输出里读出两张表：各维数的检查比例（两种剪枝）与 BBF/截断 DFS 的召回率。"""
    text = path.read_text(encoding="utf-8")
    n = int(re.search(r"n = (\d+)", text)[1])
    dims = [(int(d), float(p) / n, float(c) / n) for d, p, c in
            re.findall(r"d=\s*(\d+): 超平面剪枝\s+([\d.]+) 点.*?单元距离剪枝\s+([\d.]+) 点", text)]
    recall = [(int(b), float(r1), float(r2)) for b, r1, r2 in
              re.findall(r"最多检查\s+(\d+) 个叶子：BBF ([\d.]+)\s+截断 DFS ([\d.]+)", text)]
    return np.array(dims), np.array(recall)


def plot_dimension_and_bbf():
    dims, recall = read_output()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7.2, 3.2))
    ax1.semilogy(dims[:, 0], dims[:, 1], "o-", color="C0", label="超平面剪枝")
    ax1.semilogy(dims[:, 0], dims[:, 2], "s--", color="C1", label="单元距离剪枝")
    ax1.axhline(1, color="C7", lw=1, ls=":")
    ax1.set_xscale("log", base=2)
    ax1.set_xticks(dims[:, 0], [str(int(d)) for d in dims[:, 0]])
    ax1.set_xlabel("维数 $d$")
    ax1.set_ylabel("检查的点占 $n$ 的比例")
    ax1.legend(loc="lower right")

    ax2.semilogx(recall[:, 0], recall[:, 1], "o-", color="C0", label="BBF")
    ax2.semilogx(recall[:, 0], recall[:, 2], "s--", color="C1", label="截断回溯")
    ax2.set_xticks(recall[:, 0], [str(int(b)) for b in recall[:, 0]])
    ax2.set_ylim(0, 1.05)
    ax2.set_xlabel("叶子预算 $E_{\\max}$")
    ax2.set_ylabel("1-NN 召回率")
    ax2.legend(loc="upper left")
    return fig
