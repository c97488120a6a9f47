"""Scaffold a new post: posts/<slug>/index.md with valid front matter.

    python scripts/new_post.py --slug my-topic --title "标题" --category "Deep Learning" \
        --tags "标签1, 标签2"

The category must be one of ``kb_categories`` and the author one of ``blog_authors`` from
conf.py; the slug must be lowercase ASCII words joined by '-'. The date is now.
"""

from __future__ import annotations

import argparse
import runpy
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "_ext"))  # run as a script by make post

from kb.blog.frontmatter import SLUG  # noqa: E402

TEMPLATE = """\
---
blogpost: true
date: {date}
category: {category}
tags: {tags}
author: {author}
---

# {title}

（第一段是首页和订阅里的摘要：用两三句话说明这篇文章讲什么、为什么值得读。）

## 动机

## 设定与记号

## 推导

## 小结

## 参考文献

1. 作者. 年份. 标题. arXiv:xxxx.xxxxx.
"""


def main(argv: list[str] | None = None) -> int:
    conf = runpy.run_path(str(ROOT / "conf.py"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slug", required=True, help="English URL name, e.g. ddim-sampling")
    parser.add_argument("--title", required=True, help="the article title (Chinese)")
    parser.add_argument("--category", required=True, help=", ".join(conf["kb_categories"]))
    parser.add_argument("--tags", required=True, help="comma-separated, e.g. '扩散模型, DDIM'")
    parser.add_argument("--author", default=conf["blog_default_author"])
    parser.add_argument("--posts-dir", type=Path, default=ROOT / "posts")
    args = parser.parse_args(argv)

    problems = []
    if not SLUG.match(args.slug):
        problems.append(f"slug {args.slug!r} must be lowercase ASCII words joined by '-'")
    if args.category not in conf["kb_categories"]:
        problems.append(
            f"unknown category {args.category!r}; choose one of: " + ", ".join(conf["kb_categories"])
        )
    if args.author not in conf["blog_authors"]:
        problems.append(f"unknown author {args.author!r}")
    tags = [t.strip() for t in args.tags.split(",") if t.strip()]
    if not tags:
        problems.append("give at least one tag")
    if not args.title.strip():
        problems.append("give a title")
    target = args.posts_dir / args.slug / "index.md"
    if target.exists():
        problems.append(f"{target} already exists")
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2

    target.parent.mkdir(parents=True)
    target.write_text(
        TEMPLATE.format(
            date=datetime.now().strftime("%Y-%m-%d %H:%M"),
            category=args.category,
            tags=", ".join(tags),
            author=args.author,
            title=args.title.strip(),
        ),
        encoding="utf-8",
    )
    print(f"created {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")
    print("preview it with: make livehtml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
