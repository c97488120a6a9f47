"""本文的图：scalar_autodiff.py 为正文例子建出的计算图（纯 Python，不需要 torch）。

布局是简单的分层布局：运算节点的层号是它到叶子的最长路径长度，常数叶子放在用到它的节点的下一层，
两个输入放在最底层；层内顺序用“相邻节点平均位置”（barycenter）启发式上下各扫几遍，以减少边的交叉。
"""
import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from scalar_autodiff import Value, example_expression, topological_order

X1, X2 = 0.7, -1.3            # 正文的求值点
OP_LABELS = {"*": "×", "+": "+", "**-1": r"$(\cdot)^{-1}$", "**2": r"$(\cdot)^{2}$"}


def build_example_graph():
    """对正文的例子做一次前向与反向，返回 (拓扑序, 输入节点 x1, x2, 输出节点)。"""
    x1, x2 = Value(X1), Value(X2)
    out = example_expression(x1, x2)
    out.backward()
    return topological_order(out), x1, x2, out


def layered_layout(order, inputs, sweeps=4):
    """返回 {id(节点): (层内位置, 层号)}。inputs 放在第 0 层，其余叶子（常数）紧挨在用到它的节点下面。"""
    children = {id(n): [] for n in order}
    for n in order:
        for p, _ in n.parents:
            children[id(p)].append(n)
    level = {}
    for n in order:                                   # 拓扑序保证父节点先算好
        level[id(n)] = 1 + max((level[id(p)] for p, _ in n.parents), default=-1)
    for n in order:
        if not n.parents and not any(n is m for m in inputs):
            level[id(n)] = min(level[id(c)] for c in children[id(n)]) - 1
    layers = {}
    for n in order:
        layers.setdefault(level[id(n)], []).append(n)
    pos = {id(n): float(i) for layer in layers.values() for i, n in enumerate(layer)}

    def reorder(layer, neighbours):
        def key(n):
            nb = neighbours(n)
            return sum(pos[id(m)] for m in nb) / len(nb) if nb else pos[id(n)]
        layer.sort(key=key)
        for i, n in enumerate(layer):
            pos[id(n)] = i - (len(layer) - 1) / 2       # 每层居中

    top = max(layers)
    for _ in range(sweeps):
        for k in range(1, top + 1):                   # 自下而上：按父节点的位置排
            reorder(layers[k], lambda n: [p for p, _ in n.parents])
        for k in range(top - 1, -1, -1):              # 自上而下：按子节点的位置排
            reorder(layers[k], lambda n: children[id(n)])
    return {id(n): (pos[id(n)], level[id(n)]) for n in order}


def plot_graph():
    order, x1, x2, out = build_example_graph()
    xy = layered_layout(order, (x1, x2))
    sx, sy = 1.45, 1.0                                # 层内间距与层间距（英寸级的数据单位）
    w, h = 1.05, 0.62
    fig, ax = plt.subplots(figsize=(7.2, 6.6))
    centre = {k: (px * sx, py * sy) for k, (px, py) in xy.items()}

    for n in order:                                   # 边：父节点 -> 子节点（前向方向）
        cx, cy = centre[id(n)]
        seen = {}
        for p, local in n.parents:
            k = seen[id(p)] = seen.get(id(p), 0) + 1
            px, py = centre[id(p)]
            rad = 0.0 if sum(q is p for q, _ in n.parents) == 1 else (0.25 if k == 1 else -0.25)
            is_x1 = p is x1
            ax.add_patch(FancyArrowPatch((px, py + h / 2), (cx, cy - h / 2),
                                         connectionstyle=f"arc3,rad={rad}", arrowstyle="-|>",
                                         mutation_scale=9, lw=1.6 if is_x1 else 0.9,
                                         color="C3" if is_x1 else "C7", zorder=1))
    for n in order:
        cx, cy = centre[id(n)]
        const = not n.parents and n is not x1 and n is not x2
        if n is x1 or n is x2:
            name, face = ("$x_1$" if n is x1 else "$x_2$"), "#eaeef2"
        elif const:
            name, face = f"{n.data:g}", "white"
        else:
            name, face = OP_LABELS.get(n.op, n.op), "white"
        bw = 0.55 if const else w
        ax.add_patch(FancyBboxPatch((cx - bw / 2, cy - h / 2), bw, h, boxstyle="round,pad=0.02",
                                    facecolor=face, edgecolor="C7" if const else "k",
                                    ls="--" if const else "-", lw=1.3 if n is out else 0.9, zorder=2))
        if const:
            ax.text(cx, cy, name, ha="center", va="center", fontsize=11, zorder=3)
            continue
        ax.text(cx, cy + 0.13, name, ha="center", va="center", fontsize=11, zorder=3)
        ax.text(cx - 0.04, cy - 0.15, f"{n.data:.2f}", ha="right", va="center", fontsize=10,
                zorder=3)
        ax.text(cx + 0.04, cy - 0.15, f"{n.grad:.2f}", ha="left", va="center", fontsize=10,
                color="C0", zorder=3)
    # x1 的伴随是它三条出边贡献之和（式 eq-ag-dag）：每条边贡献 子节点伴随 × 局部导数
    parts = [c.grad * local for c in order for p, local in c.parents if p is x1]
    terms = " ".join(f"{t:+.3f}" for t in parts)
    ax.text(0.0, 1.0, f"$x_1$ 的伴随：{terms} = {x1.grad:.3f}", transform=ax.transAxes, ha="left",
            va="top", fontsize=11, color="C3")
    xs = [c[0] for c in centre.values()]
    ys = [c[1] for c in centre.values()]
    ax.set_xlim(min(xs) - w / 2 - 0.05, max(xs) + w / 2 + 0.05)
    ax.set_ylim(min(ys) - h / 2 - 0.05, max(ys) + h / 2 + 0.05)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return fig
