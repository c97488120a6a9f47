"""本文各图：视图的逻辑下标如何落到存储上（别名），以及在重叠视图上原地写入时执行顺序如何改变结果。
只用 strided_layout.py（纯 Python）；其中的步长规则由测试与 PyTorch 对照。"""
import itertools

import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

from strided_layout import (address, alias_counts_of, expanded_strides, quick_overlap_check,
                            simulate_inplace)


def alias_examples():
    """三个 3×3 视图：(名字, 存储长度, 形状, 步长, 偏移)。前两个由 expand 的步长规则算出。"""
    col = expanded_strides((3, 1), (1, 1), (3, 3))          # a.view(3, 1).expand(3, 3)
    row = expanded_strides((1, 3), (3, 1), (3, 3))          # a.view(1, 3).expand(3, 3)
    return [("列向量 expand", 3, *col, 0),
            ("行向量 expand", 3, *row, 0),
            ("as_strided 滑动窗口", 6, (3, 3), (1, 1), 0)]


def _grid(ax, x0, y0, values, colors, alpha=0.35, edge="C7"):
    """左上角在 (x0, y0) 的格子阵列，values[i][j] 写在格中。"""
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            ax.add_patch(Rectangle((x0 + j, y0 - i - 1), 1, 1, facecolor=colors[i][j], alpha=alpha,
                                   edgecolor="none"))
            ax.add_patch(Rectangle((x0 + j, y0 - i - 1), 1, 1, fill=False, edgecolor=edge, lw=0.8))
            ax.text(x0 + j + 0.5, y0 - i - 0.5, v, ha="center", va="center", fontsize=11)


def plot_alias_map():
    fig, axes = plt.subplots(1, 3, figsize=(7.2, 3.5))
    for ax, (name, n_store, sizes, strides, offset) in zip(axes, alias_examples()):
        addr = [[address(offset, strides, (i, j)) for j in range(sizes[1])] for i in range(sizes[0])]
        count = alias_counts_of(sizes, strides, offset)
        _grid(ax, (n_store - sizes[1]) / 2, 0, [[f"[{a}]" for a in r] for r in addr],
              [[f"C{a}" for a in r] for r in addr])
        _grid(ax, 0, -4.2, [[f"[{k}]" for k in range(n_store)]],
              [[f"C{k}" if count[k] else "#eaeef2" for k in range(n_store)]])
        for k in range(n_store):                          # 每个存储单元被几个逻辑元素引用
            ax.text(k + 0.5, -5.45, f"×{count[k]}", ha="center", va="top", fontsize=10,
                    color="C3" if count[k] > 1 else "C7")
        ax.text(n_store / 2, 0.3, f"{name}\n步长 {strides}", ha="center", va="bottom", fontsize=10)
        ax.text(n_store / 2, -3.35, "存储", ha="center", va="center", fontsize=10)
        ax.text(n_store / 2, -6.3, f"快速判定：{quick_overlap_check(sizes, strides)}", ha="center",
                va="top", fontsize=10)
        ax.set_xlim(n_store / 2 - 3.2, n_store / 2 + 3.2)          # 三幅图同一比例
        ax.set_ylim(-7.2, 1.6)
        ax.set_aspect("equal")
        ax.set_axis_off()
    return fig


def inplace_outcomes(n_rows=3, n_cols=4):
    """x = zeros(3, 1).expand(3, 4)，执行 x += arange(4)：数学定义要求的结果与三种执行顺序下读回的结果。"""
    sizes, strides = expanded_strides((n_rows, 1), (1, 1), (n_rows, n_cols))
    want = [[j for j in range(n_cols)] for _ in range(n_rows)]
    out = [("数学定义", None, want)]
    for order, name in [("sequential", "逐元素读-改-写"), ("snapshot", "先全部读出再写回"),
                        ("reversed", "先读出再倒序写回")]:
        store = simulate_inplace([0] * n_rows, sizes, strides, 0, lambda v, idx: v + idx[1], order)
        view = [[store[address(0, strides, (i, j))] for j in range(n_cols)] for i in range(n_rows)]
        out.append((name, store, view))
    return out


def plot_inplace_orders():
    outcomes = inplace_outcomes()
    want = outcomes[0][2]
    fig, axes = plt.subplots(2, 2, figsize=(6.4, 3.9))
    for ax, (name, store, view) in zip(axes.flat, outcomes):
        colors = [["C2" if store is None else ("C3" if v != w else "C2") for v, w in zip(r, rw)]
                  for r, rw in zip(view, want)]
        _grid(ax, 0, 0, [[str(v) for v in r] for r in view], colors, alpha=0.25)
        title = name if store is None else f"{name}：存储 {store}"
        ax.text(len(view[0]) / 2, 0.25, title, ha="center", va="bottom", fontsize=11)
        if store is None:
            ax.text(len(view[0]) / 2, -len(view) - 0.2, "每行 4 个值只有 1 个存储单元",
                    ha="center", va="top", fontsize=10)
        ax.set_xlim(-0.1, len(view[0]) + 0.1)
        ax.set_ylim(-len(view) - 0.9, 1.0)
        ax.set_aspect("equal")
        ax.set_axis_off()
    return fig
