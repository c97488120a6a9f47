"""本文各图：由玩具库生成的公开 API 树，以及一个符号从装饰器到生成文件的经过。"""
import importlib
import sys
import tempfile

import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch

from tf_export_registry import API_ATTRS, API_ATTRS_V1, TOYLIB_SOURCES, collect, render, write_toylib

PKG, OUT = "toylib", "toyapi"


def toy_api():
    """把玩具库写到临时目录并导入（装饰器在这时执行），收集出 ApiTree 并生成源码；
    返回 (ops 模块, ApiTree, {目标模块: __init__.py 源码})，导入的模块用完即从 sys.modules 移除。"""
    with tempfile.TemporaryDirectory() as tmp:
        write_toylib(tmp, PKG)
        sys.path.insert(0, tmp)
        try:
            ops = importlib.import_module(f"{PKG}.ops")
            importlib.import_module(f"{PKG}.reexport")
            tree = collect([PKG], version=2, compat_versions=(1,))
            texts = render(tree, OUT)
        finally:
            sys.path.remove(tmp)
            for name in [m for m in sys.modules if m.split(".")[0] == PKG]:
                del sys.modules[name]
    return ops, tree, texts


def _chosen_source(cands):
    """与 render 相同的规则：优先级最高，同分按字母序。"""
    return sorted(cands, key=lambda c: (-c[2], c[0], c[1]))[0]


def plot_api_tree():
    ops, tree, _ = toy_api()
    modules = sorted(tree.modules())  # a set: sorted, so the drawing does not depend on hash order
    children = {m: [] for m in modules}
    for m in modules:
        if m:
            children[m.rpartition(".")[0]].append(m)
    objects = sorted({_chosen_source(c)[1] for names in tree.imports.values() for c in names.values()})
    colour = {name: f"C{i}" for i, name in enumerate(objects)}

    fig, ax = plt.subplots(figsize=(6.4, 5.0))
    rows = []                                   # 每个叶子一行：(深度, 公开名字, 源对象名)

    def place(module, depth):
        """子模块在前、符号在后，按字母序；返回本节点的 y（子节点 y 的中点）。"""
        ys = []
        for child in sorted(children[module]):
            ys.append(place(child, depth + 1))
        for name, cands in sorted(tree.imports.get(module, {}).items()):
            rows.append((depth + 1, name, _chosen_source(cands)[1]))
            ys.append(-len(rows))
            leaf_edges.append((module, depth + 1, -len(rows)))
        y_of[module] = sum(ys) / len(ys)
        return y_of[module]

    leaf_edges, y_of = [], {}
    place("", 0)
    dx = 1.25

    def node_xy(module):
        depth = 0 if not module else module.count(".") + 1
        return depth * dx, y_of[module]

    for module in modules:                                  # 模块之间的边
        if module:
            x0, y0 = node_xy(module.rpartition(".")[0])
            x1, y1 = node_xy(module)
            ax.plot([x0 + 0.45, x0 + 0.6, x0 + 0.6, x1 - 0.1], [y0, y0, y1, y1], color="C7", lw=1)
    for module, depth, y in leaf_edges:                            # 模块到符号的边
        x0, y0 = node_xy(module)
        ax.plot([x0 + 0.45, x0 + 0.6, x0 + 0.6, depth * dx - 0.1], [y0, y0, y, y], color="#bfc8d2", lw=1)
    for module in modules:
        x, y = node_xy(module)
        label = OUT if not module else module.rpartition(".")[2]
        ax.text(x, y, label, ha="left", va="center", family="monospace",
                bbox=dict(boxstyle="round,pad=0.25", facecolor="#eaeef2", edgecolor="C7"))
    for depth, name, source in rows:
        y = -rows.index((depth, name, source)) - 1
        ax.text(depth * dx, y, name, ha="left", va="center", family="monospace", color=colour[source],
                fontweight="bold")

    # 右侧：实现所在的两个文件。ops.py 中的对象与叶子同色；reexport.py 又导入了其中几个，
    # 同一对象也能从那里取到，但优先级低，生成的代码不从它导入（灰色）
    unused = sorted({(c[0], c[1]) for names in tree.imports.values() for cands in names.values()
                     for c in cands if c != _chosen_source(cands)})
    files = [(f"{PKG}/ops.py", [(n, colour[n]) for n in objects])]
    for module in sorted({m for m, _ in unused}):
        files.append((module.replace(".", "/") + ".py",
                      [(n, "C7") for m, n in unused if m == module]))
    x_impl, top = 4 * dx + 1.5, -0.6
    for path, items in files:
        ax.text(x_impl, top, path, ha="left", va="center", family="monospace")
        for i, (name, c) in enumerate(items):
            ax.text(x_impl + 0.15, top - 0.9 * (i + 1), name, ha="left", va="center", family="monospace",
                    color=c, fontweight="bold")
        h = 0.9 * len(items) + 0.5
        ax.add_patch(FancyBboxPatch((x_impl, top - h), 2.0, h - 0.3, boxstyle="round,pad=0.05",
                                    facecolor="none", edgecolor="C7", lw=1))
        top -= h + 0.8
    ax.set_xlim(-0.2, x_impl + 2.2)
    ax.set_ylim(-len(rows) - 0.6, 0.2)
    ax.set_axis_off()
    return fig


def plot_symbol_journey(symbol="multiply"):
    ops, tree, texts = toy_api()
    source = TOYLIB_SOURCES["ops.py"].splitlines()
    at = next(i for i, line in enumerate(source) if line.startswith(f"def {symbol}("))
    head, _, v1 = source[at - 1].partition(", v1=")           # 太长，在 v1= 处折行
    decorator = [head + ","] + [" " * len("@tf_export(") + "v1=" + v1] if v1 else [head]
    func = getattr(ops, symbol)
    attrs = [f"{a} = {vars(func)[a]!r}" for a in (API_ATTRS["tensorflow"].names, API_ATTRS_V1["tensorflow"].names)]
    records = sorted((m, name) for m, names in tree.imports.items() for name, cands in names.items()
                     if _chosen_source(cands)[1] == symbol)
    lines = []
    for m, name in records:
        path = "/".join([OUT, *(m.split(".") if m else []), "__init__.py"])
        line = next(line for line in texts[m].splitlines()
                    if line.startswith("from ") and line.split(" import ")[1] in (symbol, f"{symbol} as {name}"))
        lines.append(f"{path}: {line}")

    stages = [
        (f"定义处：{PKG}/ops.py 里的装饰器", decorator, "C0"),
        ("导入时：记在函数对象上的属性", attrs, "C0"),
        ("生成时：collect 登记的 (目标模块, 名字)", [f"({m!r}, {n!r})" for m, n in records], "C1"),
        ("生成时：render 写出的导入语句", lines, "C1"),
    ]
    fig, ax = plt.subplots(figsize=(7.2, 5.6))
    y, gap, line_h = 0.0, 0.55, 0.42
    for k, (title, body, colour) in enumerate(stages):
        h = 0.5 + line_h * len(body)
        ax.add_patch(FancyBboxPatch((0, y - h), 10, h, boxstyle="round,pad=0,rounding_size=0.15",
                                    facecolor=colour, alpha=0.10, edgecolor=colour, lw=1.2))
        ax.text(0.2, y - 0.25, title, ha="left", va="center", color=colour)
        for i, text in enumerate(body):
            ax.text(0.35, y - 0.5 - line_h * (i + 0.5), text, ha="left", va="center", family="monospace")
        y -= h
        if k < len(stages) - 1:
            ax.annotate("", xy=(5, y - gap + 0.02), xytext=(5, y - 0.02),
                        arrowprops=dict(arrowstyle="-|>", color="C7", lw=1.5))
            y -= gap
    ax.set_xlim(-0.05, 10.05)
    ax.set_ylim(y - 0.05, 0.05)
    ax.set_axis_off()
    return fig
