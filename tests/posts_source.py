"""What the sources say the site must contain: every post with its front matter."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kb.blog.frontmatter import FrontMatter, parse_date, search_queries, split_tags
from sitebuild import ROOT


@dataclass(frozen=True)
class SourcePost:
    slug: str
    title: str
    date: datetime
    category: str
    tags: tuple[str, ...]
    author: str
    # Queries that must find the post (front matter ``search_queries``, optional).
    search_queries: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"posts/{self.slug}/index.html"


def source_posts(root: Path = ROOT) -> list[SourcePost]:
    posts = []
    for path in sorted((root / "posts").glob("*/index.md")):
        text = path.read_text(encoding="utf-8")
        front = FrontMatter.parse(text)
        assert front is not None, path
        title = re.search(r"^# (.+)$", text, re.MULTILINE)
        assert title, path
        date, tags = parse_date(front.values["date"]), split_tags(front.values["tags"])
        assert date is not None and tags is not None, path
        posts.append(
            SourcePost(
                slug=path.parent.name,
                title=title[1].strip(),
                date=date,
                category=front.values["category"],
                tags=tuple(tags),
                author=front.values["author"],
                search_queries=tuple(search_queries(front.values.get("search_queries", [])) or ()),
            )
        )
    return sorted(posts, key=lambda p: p.date, reverse=True)
