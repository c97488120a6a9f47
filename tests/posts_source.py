"""What the sources say the site must contain: every post with its front matter."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sphinx.util.matching import Matcher

from kb.blog.drafts import build_date, find_unpublished
from kb.blog.frontmatter import FrontMatter, parse_date, search_queries, split_tags
from sitebuild import ROOT, site_config


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


def unpublished_posts(root: Path = ROOT) -> set[str]:
    """The slugs of the drafts and scheduled posts, which a build leaves out (kb.blog.drafts)."""
    config = site_config()
    patterns = config["exclude_patterns"]
    assert isinstance(patterns, list)
    found = find_unpublished(root, build_date(str(config["kb_timezone"])), Matcher(patterns))
    return {docname.split("/")[-2] for docname in found}


def source_posts(root: Path = ROOT) -> list[SourcePost]:
    """The published posts, newest first."""
    posts = []
    unpublished = unpublished_posts(root)
    for path in sorted((root / "posts").glob("*/index.md")):
        if path.parent.name in unpublished:
            continue
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
