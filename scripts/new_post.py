"""Scaffold a new post that builds and passes the tests as it is: ``make post``.

    python scripts/new_post.py --slug flow-matching --title "Flow Matching 入门" \
        --category "Generative Model" --tags "流匹配, 生成模型" \
        [--description "一句话摘要"] [--series 扩散模型系列 [--series-order 9]]

It writes ``posts/<slug>/``, following every rule of the site (README, "Writing a post"):

* ``index.md``: front matter with ``description`` (and ``series``/``series_order``), the title,
  an intro paragraph to rewrite (it is the excerpt), a worked example in the site's conventions
  (a formula with a label, a citation from ``references.bib``, the code, its test and its stored
  output included from files, a numbered figure drawn by the post's code and referred to with
  ``{numref}``) and ``## 参考文献`` holding only ``{footbibliography}``;
* ``<name>_demo.py``, ``test_<name>_demo.py``, ``<name>_demo.output.txt`` (what the program
  prints, produced by running it) and ``<name>_figures.py``, where ``<name>`` comes from the slug
  so that no other post has a module of that name.

The example is gradient descent on a least-squares line: small, real, and to be replaced. Bad
arguments (unknown category, author or series, a bad or existing slug, a taken series position,
a description over 160 characters …) are reported one per line, and nothing is written.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import runpy
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))  # run as a script by make post

from kb.blog.frontmatter import MAX_DESCRIPTION, SLUG, FrontMatter  # noqa: E402

INDEX = """\
---
{front_matter}
---

# {title}

本文主题：{title}。这一段是首页、归档和订阅里显示的摘要：发布前把它改写成两三句话，说明这篇文章讲什么、读者读完能得到什么。

% 以下各节是一个能通过构建与全部测试的示例（用梯度下降拟合直线），演示本站文章的约定：
% 公式与编号、引用 references.bib 里的文献、代码与测试放在文件里引入、程序输出存成文件、
% 由文章自己的代码画出带编号的图。逐节换成本文的内容；约定见 README 的 "Writing a post"。

## 问题与记号

给定数据 $(x_i, y_i)_{{i=1}}^n$，用直线 $\\hat y = w x + b$ 拟合，最小化均方误差

$$
L(w, b) = \\frac{{1}}{{n}}\\sum_{{i=1}}^n \\left(w x_i + b - y_i\\right)^2 .
$$ (eq-{slug}-loss)

梯度下降（gradient descent）每一步沿负梯度方向更新参数{{footcite}}`bottou2016optimization`：

$$
w \\leftarrow w - \\eta\\,\\frac{{\\partial L}}{{\\partial w}},\\qquad
b \\leftarrow b - \\eta\\,\\frac{{\\partial L}}{{\\partial b}} .
$$

式 {{eq}}`eq-{slug}-loss` 是 $(w, b)$ 的凸二次函数，步长 $\\eta$ 足够小时，迭代收敛到最小二乘解。

## 代码与结果

```{{literalinclude}} {demo}.py
```

测试把梯度下降的结果与最小二乘的闭式解比较，并检查损失逐步下降：

```{{literalinclude}} test_{demo}.py
```

程序的输出：

```{{literalinclude}} {demo}.output.txt
:language: text
```

{{numref}}`fig-{slug}-loss` 画出损失随迭代步数的变化。

:::{{code-figure}} {figures}.py:plot_loss
:name: fig-{slug}-loss
:alt: 折线图：横轴是迭代步数，纵轴是均方误差（对数坐标），曲线从第 1 步起单调下降，最后趋于平稳。

梯度下降拟合直线时，均方误差随迭代步数的变化。
:::

画图的代码：

```{{literalinclude}} {figures}.py
```

## 小结

用两三句话总结本文的结论。

## 参考文献

```{{footbibliography}}
```
"""

DEMO = '''\
"""本文的示例代码：用梯度下降拟合一条直线。换成本文自己的代码，并同步更新测试、输出与图。"""

import numpy as np


def make_data(n=50, seed=0):
    """直线 y = 2x + 1 上的 n 个点，加上标准差 0.1 的高斯噪声。"""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, n)
    y = 2.0 * x + 1.0 + 0.1 * rng.standard_normal(n)
    return x, y


def fit_line(x, y, lr=0.1, steps=200):
    """梯度下降最小化均方误差，返回 (w, b) 与每一步更新前的损失。"""
    w = b = 0.0
    losses = []
    for _ in range(steps):
        residual = w * x + b - y
        losses.append(float(np.mean(residual**2)))
        w -= lr * 2.0 * float(np.mean(residual * x))
        b -= lr * 2.0 * float(np.mean(residual))
    return w, b, losses


if __name__ == "__main__":
    x, y = make_data()
    w, b, losses = fit_line(x, y)
    print(f"w = {w:.4f}, b = {b:.4f}")
    print(f"初始损失 {losses[0]:.4f}，最终损失 {losses[-1]:.6f}")
'''

TEST = '''\
"""{demo}.py 的测试：`make test` 与 `make check` 运行它。"""

import numpy as np

from {demo} import fit_line, make_data


def test_gradient_descent_reaches_the_least_squares_line():
    x, y = make_data()
    w, b, _losses = fit_line(x, y)
    w_ls, b_ls = np.polyfit(x, y, 1)
    assert abs(w - w_ls) < 1e-4 and abs(b - b_ls) < 1e-4


def test_the_loss_never_increases():
    _w, _b, losses = fit_line(*make_data())
    assert all(later <= earlier for earlier, later in zip(losses, losses[1:]))
'''

FIGURES = '''\
"""本文的图：损失随梯度下降迭代步数的变化。"""

import matplotlib.pyplot as plt

from {demo} import fit_line, make_data


def plot_loss():
    _w, _b, losses = fit_line(*make_data())
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    ax.semilogy(range(1, len(losses) + 1), losses, color="C0")
    ax.set_xlabel("迭代步数")
    ax.set_ylabel("均方误差")
    return fig
'''


class ScaffoldError(Exception):
    """Arguments the site would reject; each message is one line."""


def yaml_scalar(value: str) -> str:
    """``value`` as a YAML scalar: plain when YAML reads it back unchanged, else double-quoted
    (a JSON string is a YAML double-quoted scalar)."""
    plain = (
        value == value.strip()
        and not re.search(r":(\s|$)|\s#|^[-?:,\[\]{}#&*!|>'\"%@`]", value)
        and value.lower() not in {"true", "false", "yes", "no", "null", "~", "on", "off"}
    )
    return value if plain else json.dumps(value, ensure_ascii=False)


def module_names(posts_dir: Path) -> dict[str, str]:
    """Every Python module name some post already uses -> that post's slug."""
    return {path.stem: path.parent.name for path in sorted(posts_dir.glob("*/*.py"))}


def series_positions(posts_dir: Path, series: str) -> dict[int, str]:
    taken: dict[int, str] = {}
    for path in sorted(posts_dir.glob("*/index.md")):
        try:
            front = FrontMatter.parse(path.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            continue
        values = front.values if front is not None else {}
        order = values.get("series_order")
        if values.get("series") == series and isinstance(order, str) and order.isdigit():
            taken[int(order)] = path.parent.name
    return taken


def parse_args(argv: list[str] | None, conf: dict) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--slug", required=True, help="English URL name, e.g. ddim-sampling")
    parser.add_argument("--title", required=True, help="the article title (Chinese)")
    parser.add_argument("--category", required=True, help=", ".join(conf["kb_categories"]))
    parser.add_argument("--tags", required=True, help="comma-separated, e.g. '扩散模型, DDIM'")
    parser.add_argument("--author", default=conf["blog_default_author"])
    parser.add_argument("--description", default="", help=f"one line, at most {MAX_DESCRIPTION} characters")
    parser.add_argument("--series", default="", help="a series declared in kb_series (conf.py)")
    parser.add_argument("--series-order", default="", help="position in the series (default: next free)")
    parser.add_argument("--posts-dir", type=Path, default=ROOT / "posts")
    return parser.parse_args(argv)


def check(args: argparse.Namespace, conf: dict) -> dict[str, str]:
    """The scaffold's names and front matter; raises ScaffoldError listing every problem."""
    problems = []
    slug, title = args.slug.strip(), " ".join(args.title.split())
    if not slug:
        problems.append("give a slug: make post SLUG=my-topic TITLE=… CATEGORY=… TAGS=…")
    elif not SLUG.match(slug):
        problems.append(f"slug {slug!r} must be lowercase ASCII words joined by '-' (it becomes the URL)")
    elif (args.posts_dir / slug).exists():
        problems.append(f"posts/{slug} already exists: choose another slug")
    slug_ok = not problems  # the module names below come from the slug: one problem, one line
    if not title:
        problems.append("give a title: TITLE=…")
    if args.category not in conf["kb_categories"]:
        problems.append(
            f"unknown category {args.category!r}; choose one of: {', '.join(conf['kb_categories'])}"
        )
    if args.author not in conf["blog_authors"]:
        problems.append(f"unknown author {args.author!r}; authors are declared in blog_authors (conf.py)")
    tags = [tag.strip() for tag in args.tags.split(",") if tag.strip()]
    if not tags:
        problems.append("give at least one tag: TAGS='标签1, 标签2'")
    elif len(set(tags)) != len(tags):
        problems.append(f"duplicate tags in {', '.join(tags)}")
    description = " ".join(args.description.split()) or f"{title}：{'、'.join(tags)}的推导、代码与实验。"
    if len(description) > MAX_DESCRIPTION:
        problems.append(
            f"description has {len(description)} characters; keep it under {MAX_DESCRIPTION}"
            + ("" if args.description.strip() else " (give a shorter one: DESCRIPTION=…)")
        )
    front = {
        "blogpost": "true",
        "date": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "category": args.category,
        "tags": ", ".join(tags),
        "author": args.author,
        "description": description,
    }
    names = [entry["name"] for entry in conf.get("kb_series", [])]
    if args.series:
        if args.series not in names:
            problems.append(
                f"unknown series {args.series!r}; series are declared in kb_series: {', '.join(names)}"
            )
        else:
            taken = series_positions(args.posts_dir, args.series)
            order = args.series_order.strip() or str(max(taken, default=0) + 1)
            if not (order.isdigit() and int(order) >= 1):
                problems.append(f"series order {order!r} must be a positive whole number")
            elif int(order) in taken:
                problems.append(
                    f"position {order} of series {args.series!r} is taken by posts/{taken[int(order)]}"
                )
            front.update(series=args.series, series_order=order)
    elif args.series_order:
        problems.append("a series order needs a series: SERIES=…")
    base = re.sub(r"^(?=\d)", "post_", slug.replace("-", "_"))
    demo, figures = f"{base}_demo", f"{base}_figures"
    used = module_names(args.posts_dir) if slug_ok else {}
    for module in (demo, figures, f"test_{demo}") if slug_ok else ():
        if module in used:
            problems.append(f"module name {module} is used by posts/{used[module]}: choose another slug")
            break
        if importlib.util.find_spec(module) is not None:
            problems.append(f"module name {module} would shadow an installed module: choose another slug")
            break
    if problems:
        raise ScaffoldError("\n".join(problems))
    return {"slug": slug, "title": title, "demo": demo, "figures": figures, **front}


def write_post(names: dict[str, str], posts_dir: Path) -> Path:
    """Write the post into a temporary folder, run its program for the stored output, and move
    the folder into place: on any failure nothing is left in ``posts_dir``."""
    keys = ["date", "category", "tags", "author", "description", "series", "series_order"]
    front_matter = "\n".join(
        ["blogpost: true", *(f"{key}: {yaml_scalar(names[key])}" for key in keys if key in names)]
    )
    parsed = FrontMatter.parse(f"---\n{front_matter}\n---\n")
    assert parsed is not None and all(parsed.values[key] == names[key] for key in parsed.values), front_matter
    demo, figures = names["demo"], names["figures"]
    files = {
        "index.md": INDEX.format(
            front_matter=front_matter, title=names["title"], slug=names["slug"], demo=demo, figures=figures
        ),
        f"{demo}.py": DEMO,
        f"test_{demo}.py": TEST.format(demo=demo),
        f"{figures}.py": FIGURES.format(demo=demo),
    }
    with tempfile.TemporaryDirectory(prefix="new-post-") as scratch:
        folder = Path(scratch) / names["slug"]
        folder.mkdir()
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        result = subprocess.run(
            [sys.executable, f"{demo}.py"], cwd=folder, capture_output=True, text=True, timeout=300
        )
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise ScaffoldError(f"the example program failed ({sys.executable}): {last}")
        (folder / f"{demo}.output.txt").write_text(result.stdout, encoding="utf-8")
        target = posts_dir / names["slug"]
        shutil.copytree(folder, target)
    return target


def main(argv: list[str] | None = None) -> int:
    conf = runpy.run_path(str(ROOT / "conf.py"))
    args = parse_args(argv, conf)
    try:
        target = write_post(check(args, conf), args.posts_dir)
    except ScaffoldError as error:
        for line in str(error).splitlines():
            print(f"make post: error: {line}", file=sys.stderr)
        return 2
    shown = target.relative_to(ROOT) if target.is_relative_to(ROOT) else target
    print(f"created {shown}/: index.md, the example's code, test, stored output and figure code")
    print("next: rewrite the intro, description and example; preview with make livehtml; then make check")
    return 0


if __name__ == "__main__":
    sys.exit(main())
