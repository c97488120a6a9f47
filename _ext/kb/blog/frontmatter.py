"""Validate the front matter of every blog post and report problems as ``file:line``.

A post is ``posts/<slug>/index.md`` (grouping folders in between are allowed) whose MyST
front matter declares ``blogpost: true``, a ``date``, exactly one ``category`` from
``kb_categories``, ``tags`` and an ``author`` from ``blog_authors``, followed by one
level-1 heading that is the title. ABlog would accept much less, and a mistake there silently
hides a post (an unparsable date makes it a draft, a typo in a key drops the field), so every
deviation is a warning, which ``-W`` turns into a failed build. A post that is not published
yet says so with ``draft: true`` or a date after the build's date (:mod:`kb.blog.drafts`).

Tags may be written as a comma-separated string or as a YAML list. myst-parser json-dumps
non-string front matter into the docinfo, which turns a list of Chinese tags into
``\\u6269…`` escapes before ABlog reads it; the list is rewritten to the string form here.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from ablog.blog import slugify
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.transforms import SphinxTransform
from sphinx.util import logging

from ..cross_page import track_per_document

logger = logging.getLogger(__name__)

POSTS_DIR = "posts"
DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d")
MAX_DESCRIPTION = 160
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
REQUIRED = ("blogpost", "date", "category", "tags", "author")
BOOLEANS = {"true": True, "false": False}  # the values of ``draft``
# libyaml's parser when PyYAML was built with it: 13x faster than the pure-Python one, and the
# front matter of every post is read before each build (kb.blog.drafts).
YAML_LOADER = getattr(yaml, "CBaseLoader", yaml.BaseLoader)
# Keys ABlog or Sphinx understand; anything else in a post is most likely a typo.
KNOWN_KEYS = frozenset(REQUIRED) | {
    "title",
    "excerpt",
    "image",
    "language",
    "location",
    "redirect",
    "nocomments",
    "external_link",
    "exclude",
    "canonical_link",
    "orphan",
    "nosearch",
    "html_meta",
    "myst",
    "description",
    "series",
    "series_order",
    "search_queries",
    "draft",
}
MAX_SEARCH_QUERY = 60


class FrontMatter:
    """The YAML front matter of a Markdown file, every scalar kept as text, with line numbers."""

    def __init__(self, values: dict[str, Any], lines: dict[str, int], end_line: int):
        self.values = values
        self.lines = lines
        self.end_line = end_line

    @classmethod
    def parse(cls, text: str) -> FrontMatter | None:
        """Return the front matter, ``None`` when the file has none; raise ``ValueError``
        with a 1-based line number in ``args[1]`` when it cannot be read."""
        lines = text.splitlines()
        if not lines or lines[0].strip() != "---":
            return None
        try:
            end = next(i for i, line in enumerate(lines[1:], start=1) if line.strip() == "---")
        except StopIteration:
            raise ValueError("front matter starts with '---' but is never closed", 1) from None
        block = "\n".join(lines[1:end])
        try:
            root = yaml.compose(block, Loader=YAML_LOADER)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 2 if mark is not None else 1
            problem = getattr(exc, "problem", None) or str(exc)
            raise ValueError(f"front matter is not valid YAML: {problem}", line) from None
        if root is None:
            return cls({}, {}, end + 1)
        if not isinstance(root, yaml.MappingNode):
            raise ValueError("front matter must be a mapping of 'key: value' lines", 2)
        values: dict[str, Any] = {}
        line_of: dict[str, int] = {}
        for key_node, value_node in root.value:
            key = key_node.value
            line_of[key] = key_node.start_mark.line + 2
            if isinstance(value_node, yaml.ScalarNode):
                values[key] = value_node.value
            elif isinstance(value_node, yaml.SequenceNode):
                values[key] = [
                    item.value if isinstance(item, yaml.ScalarNode) else None for item in value_node.value
                ]
            else:
                values[key] = {k.value: v for k, v in value_node.value}
        return cls(values, line_of, end + 1)

    @classmethod
    def read(cls, path: Path) -> FrontMatter | None:
        """The front matter of a file, reading no further than its end (see :meth:`parse`)."""
        with path.open(encoding="utf-8") as lines:
            head = [next(lines, "")]
            if head[0].strip() == "---":
                for line in lines:
                    head.append(line)
                    if line.strip() == "---":
                        break
        return cls.parse("".join(head))


def split_tags(value: Any) -> list[str] | None:
    """Tags as a list, from ``"a, b"`` or ``[a, b]``; ``None`` when the value is unusable."""
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = value
    else:
        return None
    return [item.strip() for item in items]


def parse_bool(value: Any) -> bool | None:
    """``true``/``false`` (any case) as a bool; ``None`` for anything else."""
    return BOOLEANS.get(value.strip().lower()) if isinstance(value, str) else None


def parse_date(value: str) -> datetime | None:
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(value.strip(), fmt)
        except ValueError:
            continue
    return None


def post_slug(docname: str) -> str | None:
    """``posts/<...>/<slug>/index`` -> slug; ``None`` when the path has another shape."""
    parts = docname.split("/")
    if len(parts) >= 3 and parts[0] == POSTS_DIR and parts[-1] == "index":
        return parts[-2]
    return None


def is_post_source(docname: str) -> bool:
    return docname.startswith(POSTS_DIR + "/")


class ValidatePostFrontMatter(SphinxTransform):
    """Check a post's front matter before ABlog reads it (ABlog's transform has priority 800)."""

    default_priority = 790

    def apply(self, **kwargs: Any) -> None:
        docname = self.env.docname
        source = Path(self.document["source"])
        if not is_post_source(docname) or source.suffix != ".md":
            return
        checker = _Checker(docname, self.config)
        try:
            front = FrontMatter.parse(source.read_text(encoding="utf-8"))
        except ValueError as exc:
            message, line = exc.args
            checker.error(message, line)
            return
        if front is None:
            checker.error(
                "post has no front matter; start the file with a '---' block "
                f"declaring {', '.join(REQUIRED)}",
                1,
            )
            return
        tags = checker.check(front)
        self.env.kb_front[docname] = checker.extras(front)
        if tags is not None:
            # myst-parser json-dumps non-string front matter (mdit_to_docutils/base.py, no upstream
            # issue): a list of Chinese tags would reach ABlog as \u escapes.
            _rewrite_docinfo_field(self.document, "tags", ", ".join(tags))
        if not any(isinstance(n, nodes.section) for n in self.document.children):
            checker.error("post has no title: add one '# 标题' line after the front matter", front.end_line)


class _Checker:
    def __init__(self, docname: str, config: Any):
        self.docname = docname
        self.config = config

    def error(self, message: str, line: int) -> None:
        logger.warning(message, location=(self.docname, line), type="kb", subtype="frontmatter")

    def check(self, front: FrontMatter) -> list[str] | None:
        """Report every problem; return the normalised tags when they are valid."""
        values, lines = front.values, front.lines
        slug = post_slug(self.docname)
        if slug is None:
            self.error(f"a post must be a file named posts/<slug>/index.md, not {self.docname}.md", 1)
        elif not SLUG.match(slug):
            self.error(f"slug {slug!r} must be lowercase ASCII words joined by '-' (it becomes the URL)", 1)
        for key in REQUIRED:
            if key not in values or values[key] in ("", None, []):
                self.error(f"front matter is missing {key!r}", lines.get(key, front.end_line))
        for key in values:
            if key not in KNOWN_KEYS:
                self.error(
                    f"unknown front matter key {key!r} (known: {', '.join(sorted(KNOWN_KEYS))})", lines[key]
                )

        if "blogpost" in values and values["blogpost"] != "true":
            self.error("'blogpost' must be true for every file under posts/", lines["blogpost"])
        if "draft" in values and parse_bool(values["draft"]) is None:
            self.error(f"draft must be true or false, not {values['draft']!r}", lines["draft"])

        date = values.get("date")
        if date:
            parsed = parse_date(date) if isinstance(date, str) else None
            if parsed is None:
                self.error(
                    f"date {date!r} is not a date: write YYYY-MM-DD or YYYY-MM-DD HH:MM", lines["date"]
                )

        category = values.get("category")
        if category:
            vocabulary = self.config.kb_categories
            if not isinstance(category, str) or "," in category:
                self.error("exactly one category is allowed", lines["category"])
            elif category not in vocabulary:
                self.error(
                    f"unknown category {category!r}; choose one of: {', '.join(vocabulary)}",
                    lines["category"],
                )

        author = values.get("author")
        if author and author not in self.config.blog_authors:
            self.error(
                f"unknown author {author!r}; authors are declared in blog_authors: "
                f"{', '.join(self.config.blog_authors)}",
                lines["author"],
            )

        if "tags" not in values or not values["tags"]:
            return None
        tags = split_tags(values["tags"])
        if tags is None or not all(tags):
            self.error("tags must be a comma-separated string or a list of non-empty names", lines["tags"])
            return None
        if len(set(tags)) != len(tags):
            self.error(f"duplicate tags in {', '.join(tags)}", lines["tags"])
        for tag in tags:
            if not slugify(tag):
                self.error(f"tag {tag!r} has no letter or digit to make its page's URL from", lines["tags"])
        return tags

    def extras(self, front: FrontMatter) -> dict[str, Any]:
        """Check the optional keys other extensions read and return them, with their lines."""
        values, lines = front.values, front.lines
        extras: dict[str, Any] = {}
        description = values.get("description")
        if description is not None:
            if not isinstance(description, str) or not description.strip():
                self.error("description must be one line of text", lines["description"])
            elif len(description) > MAX_DESCRIPTION:
                self.error(
                    f"description has {len(description)} characters; keep it under "
                    f"{MAX_DESCRIPTION} (it is the summary shown by search engines and "
                    "link previews)",
                    lines["description"],
                )
            else:
                extras["description"] = description.strip()
        queries = values.get("search_queries")
        if queries is not None:
            parsed = search_queries(queries)
            if parsed is None:
                self.error(
                    "search_queries must be a list of queries (each one line of at most "
                    f"{MAX_SEARCH_QUERY} characters) that find this post",
                    lines["search_queries"],
                )
        series, order = values.get("series"), values.get("series_order")
        names = [entry["name"] for entry in self.config.kb_series]
        if series is None and order is not None:
            self.error("series_order without series", lines["series_order"])
        elif series is not None:
            if series not in names:
                self.error(
                    f"unknown series {series!r}; series are declared in kb_series: {', '.join(names)}",
                    lines["series"],
                )
            elif order is None:
                self.error(f"series {series!r} needs a series_order (1, 2, …)", lines["series"])
            elif not (isinstance(order, str) and order.isdigit() and int(order) >= 1):
                self.error(f"series_order {order!r} must be a positive whole number", lines["series_order"])
            else:
                extras["series"] = (series, int(order), lines["series_order"])
        return extras


def search_queries(value: Any) -> list[str] | None:
    """The queries a post declares with ``search_queries`` (a YAML list, or one string); each
    must find the post among the first three results (tests/test_browser.py). None when
    malformed."""
    queries = [value] if isinstance(value, str) else value
    if not isinstance(queries, list) or not queries:
        return None
    if not all(
        isinstance(q, str) and q.strip() and "\n" not in q and len(q) <= MAX_SEARCH_QUERY for q in queries
    ):
        return None
    return [q.strip() for q in queries]


def _rewrite_docinfo_field(document: nodes.document, name: str, text: str) -> None:
    for field in document.findall(nodes.field):
        if field[0].astext() == name:
            field[1].children = []
            field[1] += nodes.paragraph(text, text)


def check_duplicate_slugs(app: Sphinx, env: BuildEnvironment) -> None:
    """Two posts with the same slug would share ABlog's label and confuse every link."""
    seen: dict[str, str] = {}
    for docname in sorted(env.found_docs):
        slug = post_slug(docname)
        if slug is None:
            continue
        if slug in seen:
            logger.warning(
                "duplicate slug %r: %s uses it too",
                slug,
                env.doc2path(seen[slug]),
                location=(docname, 1),
                type="kb",
                subtype="frontmatter",
            )
        else:
            seen[slug] = docname


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("kb_categories", [], "env", types=[list])
    # [{"name": "扩散模型系列", "slug": "diffusion", "description": "…"}, …]
    app.add_config_value("kb_series", [], "env", types=[list])
    track_per_document(app, "kb_front")  # docname -> checked optional keys (description, series)
    app.add_transform(ValidatePostFrontMatter)
    app.connect("env-check-consistency", check_duplicate_slugs)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
