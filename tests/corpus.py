"""A synthetic corpus of N Chinese posts in the site's front-matter format, and the same corpus for
MkDocs Material's blog plugin.

Each post: 2–3k Chinese characters of prose, 5–15 inline and 2–5 display formulas, 1–3 code
blocks, one category from ``kb_categories``, 2–4 tags from a pool of 40, a date between 2019 and
2026. Everything is drawn from ``random.Random(seed)``, so the same N gives the same corpus.

    python benchmarks/corpus.py --posts 300 --out /tmp/site      # posts/bench-0000/index.md …
    python benchmarks/corpus.py --posts 300 --out /tmp/mk --mkdocs  # docs/blog/posts/*.md
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

CATEGORIES = [
    "Generative Model",
    "Deep Learning",
    "Machine Learning",
    "Reinforcement Learning",
    "LLM",
    "Python",
    "Java",
    "Algorithm",
]
TAGS = [
    "扩散模型",
    "得分匹配",
    "概率流 ODE",
    "采样加速",
    "归一化流",
    "条件生成",
    "变分推断",
    "注意力机制",
    "Transformer",
    "卷积网络",
    "优化器",
    "正则化",
    "集成学习",
    "降维",
    "聚类",
    "核方法",
    "决策树",
    "强化学习",
    "策略梯度",
    "价值函数",
    "蒙特卡洛",
    "时序差分",
    "PyTorch",
    "TensorFlow",
    "分布式训练",
    "自动微分",
    "数值稳定性",
    "大语言模型",
    "对齐",
    "多模态",
    "Java",
    "并发",
    "数据结构",
    "动态规划",
    "图算法",
    "排序",
    "概率论",
    "线性代数",
    "信息论",
    "统计学习",
]
WORDS = [
    "模型",
    "分布",
    "噪声",
    "梯度",
    "样本",
    "参数",
    "损失",
    "训练",
    "推导",
    "采样",
    "变量",
    "函数",
    "矩阵",
    "向量",
    "期望",
    "方差",
    "概率",
    "数据",
    "网络",
    "结构",
    "方法",
    "问题",
    "过程",
    "条件",
    "边缘",
    "后验",
    "先验",
    "似然",
    "优化",
    "收敛",
    "步长",
    "误差",
    "估计",
    "特征",
    "空间",
    "维度",
    "映射",
    "变换",
    "算法",
    "复杂度",
    "时间",
    "序列",
    "状态",
    "策略",
    "奖励",
    "价值",
    "更新",
    "迭代",
    "近似",
    "精度",
    "稳定",
    "连续",
    "离散",
    "高斯",
    "扩散",
    "得分",
    "流场",
    "速度",
    "轨迹",
    "积分",
    "微分",
    "方程",
    "求解",
    "性质",
    "定理",
    "证明",
]
GLUE = [
    "的",
    "在",
    "中",
    "把",
    "对",
    "与",
    "和",
    "由",
    "从",
    "可以",
    "因此",
    "于是",
    "注意到",
    "也就是说",
    "换句话说",
    "我们",
    "这里",
    "这个",
    "每一个",
    "如果",
    "那么",
    "其中",
]
INLINE = [
    r"\bm x_t",
    r"\bar\alpha_t",
    r"\sigma_t^2",
    r"\nabla_{\bm x}\log p_t(\bm x)",
    r"\E[\norm{\bm\epsilon}^2]",
    r"\KL(q\,\|\,p)",
    r"\beta_t\in(0,1)",
    r"\N(\bm 0,\I)",
    r"\theta^\ast=\argmin_\theta L(\theta)",
    r"f:\R^d\to\R",
    r"\tr(\bm A)",
    r"\abs{x-y}",
]
DISPLAY = [
    r"\bm x_t=\sqrt{\bar\alpha_t}\,\bm x_0+\sqrt{1-\bar\alpha_t}\,\bm\epsilon",
    r"\dd\bm x=\Big[\bm f(\bm x,t)-g(t)^2\nabla_{\bm x}\log p_t(\bm x)\Big]\dd t+g(t)\,\dd\bar{\bm w}",
    r"L(\theta)=\E_{t,\bm x_0,\bm\epsilon}\Big[\norm{\bm\epsilon-\bm\epsilon_\theta(\bm x_t,t)}^2\Big]",
    r"\frac{\partial p_t}{\partial t}=-\nabla\cdot(\bm f p_t)+\frac12 g^2\Delta p_t",
    r"\begin{aligned}\Var[X]&=\E[X^2]-\E[X]^2\\&\ge 0\end{aligned}",
    r"w_j^\ast=-\frac{G_j}{H_j+\lambda},\qquad \text{Gain}=\frac12\Big[\frac{G_L^2}{H_L+\lambda}+\frac{G_R^2}{H_R+\lambda}-\frac{(G_L+G_R)^2}{H_L+H_R+\lambda}\Big]-\gamma",
]
CODE = [
    "```python\nimport numpy as np\n\n\ndef sample(n, rng=np.random.default_rng(0)):\n"
    "    x = rng.standard_normal((n, 2))\n    return x / np.linalg.norm(x, axis=1, keepdims=True)\n```",
    "```python\ndef window_max(a, k):\n    from collections import deque\n    q, out = deque(), []\n"
    "    for i, v in enumerate(a):\n        while q and a[q[-1]] <= v:\n            q.pop()\n"
    "        q.append(i)\n        if q[0] <= i - k:\n            q.popleft()\n"
    "        if i >= k - 1:\n            out.append(a[q[0]])\n    return out\n```",
    "```pycon\n>>> import math\n>>> math.exp(1.0)\n2.718281828459045\n```",
    "```java\npublic class Hello {\n    public static void main(String[] args) {\n"
    "        System.out.println(Thread.currentThread().getName());\n    }\n}\n```",
]


@dataclass
class Post:
    slug: str
    title: str
    date: datetime
    category: str
    tags: list[str]
    body: str


def _sentence(rng: random.Random) -> list[str]:
    words = [rng.choice(GLUE) + rng.choice(WORDS) + rng.choice(WORDS) for _ in range(rng.randint(4, 8))]
    words[-1] += rng.choice(["。", "。", "，因此结论成立。", "；"])
    return words


def _paragraph(rng: random.Random, chars: int, inline: int) -> str:
    words: list[str] = []
    while sum(map(len, words)) < chars:
        words += _sentence(rng)
    for _ in range(inline):  # between two words, never inside another formula
        words.insert(rng.randrange(len(words) + 1), f" ${rng.choice(INLINE)}$ ")
    return "".join(words)


def make_post(i: int, rng: random.Random) -> Post:
    start = datetime(2019, 1, 1, 8, 0)
    date = start + timedelta(minutes=rng.randrange(0, 7 * 365 * 24 * 60 // 10) * 10)
    category = rng.choice(CATEGORIES)
    tags = rng.sample(TAGS, rng.randint(2, 4))
    title = f"{rng.choice(WORDS)}{rng.choice(WORDS)}与{rng.choice(WORDS)}{rng.choice(WORDS)}（第 {i} 篇）"
    total = rng.randint(2000, 3000)
    inline = rng.randint(5, 15)
    display = rng.randint(2, 5)
    code = rng.randint(1, 3)
    sections = max(display, code) + 1
    blocks = [_paragraph(rng, 120, 0)]  # excerpt: plain prose
    inline_left = inline
    for s in range(sections):
        blocks.append(f"## {rng.choice(WORDS)}的{rng.choice(WORDS)} {s + 1}")
        n_inline = inline_left if s == sections - 1 else min(inline_left, inline // sections)
        inline_left -= n_inline
        blocks.append(_paragraph(rng, total // sections, n_inline))
        if s < display:
            blocks.append("$$\n" + rng.choice(DISPLAY) + "\n$$")
        if s < code:
            blocks.append(rng.choice(CODE))
    return Post(f"bench-{i:04d}", title, date, category, tags, "\n\n".join(blocks))


def make_corpus(n: int, seed: int = 0) -> list[Post]:
    rng = random.Random(seed)
    return [make_post(i, rng) for i in range(n)]


def write_sphinx(posts: list[Post], site: Path) -> None:
    for post in posts:
        folder = site / "posts" / post.slug
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "index.md").write_text(
            "---\nblogpost: true\n"
            f"date: {post.date:%Y-%m-%d %H:%M}\ncategory: {post.category}\n"
            f"tags: {', '.join(post.tags)}\nauthor: 站长\n---\n\n# {post.title}\n\n{post.body}\n",
            encoding="utf-8",
        )


def write_mkdocs(posts: list[Post], site: Path) -> None:
    """The same posts for MkDocs Material's blog plugin (math via arithmatex, Chinese search)."""
    posts_dir = site / "docs" / "blog" / "posts"
    posts_dir.mkdir(parents=True, exist_ok=True)
    (site / "docs" / "index.md").write_text("# 机器学习知识库\n", encoding="utf-8")
    (site / "docs" / "blog" / "index.md").write_text("# 博客\n", encoding="utf-8")
    (site / "mkdocs.yml").write_text(
        "site_name: 机器学习知识库\n"
        "theme:\n  name: material\n  language: zh\n"
        "plugins:\n  - search:\n      lang: zh\n  - blog\n"
        "markdown_extensions:\n  - pymdownx.arithmatex:\n      generic: true\n"
        "  - pymdownx.highlight\n  - pymdownx.superfences\n",
        encoding="utf-8",
    )
    for post in posts:
        tags = "".join(f"  - {t}\n" for t in post.tags)
        (posts_dir / f"{post.slug}.md").write_text(
            f"---\ndate: {post.date:%Y-%m-%d}\ncategories:\n  - {post.category}\ntags:\n{tags}---\n\n"
            f"# {post.title}\n\n{post.body.replace('```pycon', '```python')}\n",
            encoding="utf-8",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mkdocs", action="store_true", help="write the MkDocs Material corpus")
    args = parser.parse_args()
    posts = make_corpus(args.posts, args.seed)
    (write_mkdocs if args.mkdocs else write_sphinx)(posts, args.out)


if __name__ == "__main__":
    main()
