"""The end of every post: its licence (版权声明) and how to cite it (引用本文).

The licence is declared once, in ``kb_license`` (``conf.py``): its short name, its full name and
its URL. Every post ends, before the related articles, with

* 版权声明: the licence, linked, the author and the post's permanent address;
* 引用本文: a one-line citation in the GB/T 7714-2015 form for electronic resources, and a BibTeX
  entry. Both are code blocks, so sphinx-copybutton gives each a copy button.

The licence also goes into every page's ``<head>`` (``<link rel="license">``, see
:func:`license_link`) and into the Atom feeds (``<rights>`` and ``<link rel="license">``, see
:mod:`kb.blog.feeds`).

Titles and names are text: the docutils nodes escape them in HTML, and :func:`bibtex_escape`
escapes what BibTeX treats as markup. The blocks are added when the page is written, from the
post's own title, date and author and the configuration, so they are never in the search index
(``no-search``), the excerpts, the feeds or the reading time.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from ablog.blog import os_path_join
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

from .. import pipeline
from ..cross_page import is_whole_page, title

logger = logging.getLogger(__name__)

# What BibTeX (and LaTeX after it) reads as markup in a field's text, and its escaped form.
_BIBTEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "&": r"\&",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]


def bibtex_escape(text: str) -> str:
    return "".join(_BIBTEX_SPECIAL.get(char, char) for char in text)


def permanent_url(app: Sphinx, docname: str) -> str:
    return os_path_join(app.config.blog_baseurl, app.builder.get_target_uri(docname))


def bibtex_entry(key: str, authors: list[str], title: str, site: str, date: datetime, url: str) -> str:
    """A ``@misc`` entry (BibTeX and biblatex read it); the title's braces keep its case, each
    author's braces keep a name BibTeX would otherwise split into first and last names."""
    fields = [
        ("author", "{" + " and ".join(f"{{{bibtex_escape(name)}}}" for name in authors) + "}"),
        ("title", f"{{{{{bibtex_escape(title)}}}}}"),
        ("howpublished", f"{{{bibtex_escape(site)}}}"),
        ("year", f"{{{date.year}}}"),
        ("month", MONTHS[date.month - 1]),
        ("url", f"{{{url}}}"),
    ]
    width = max(len(name) for name, _value in fields)
    body = ",\n".join(f"  {name.ljust(width)} = {value}" for name, value in fields)
    return f"@misc{{{key},\n{body}\n}}"


def gbt7714_citation(authors: list[str], title: str, site: str, date: datetime, url: str) -> str:
    """GB/T 7714-2015, electronic resource: 责任者. 题名[EB/OL]. 出版者, (发表日期). 访问路径."""
    return f"{', '.join(authors)}. {title}[EB/OL]. {site}, ({date:%Y-%m-%d}). {url}"


def _code(text: str, language: str, css_class: str) -> nodes.literal_block:
    block = nodes.literal_block(text, text, language=language, classes=[css_class])
    block["linenos"] = False
    return block


def add_license_and_citation(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    env = app.env
    infos = getattr(env, "ablog_posts", {}).get(docname)
    if not infos or not is_whole_page(env, doctree, docname):
        return
    info = infos[0]
    license_ = app.config.kb_license
    authors = [app.config.blog_authors.get(a, (a, None))[0] for a in info["author"] or ()] or [
        str(app.config.author)
    ]
    post_title = title(env, docname)
    url = permanent_url(app, docname)
    site = app.config.project
    date: datetime | None = info["date"]
    if date is None:
        return  # frontmatter.py reports the missing date
    slug = docname.split("/")[-2] if docname.endswith("/index") else docname.split("/")[-1]

    notice = nodes.container(classes=["kb-license", "no-search"])
    notice += nodes.rubric("版权声明", "版权声明")
    paragraph = nodes.paragraph()
    paragraph += nodes.Text("本文由 ")
    paragraph += nodes.strong("、".join(authors), "、".join(authors))
    paragraph += nodes.Text(" 发布，采用 ")
    paragraph += nodes.reference(license_["name"], license_["name"], refuri=license_["url"])
    paragraph += nodes.Text(f"（{license_['title']}）许可。转载或改编请注明作者与原文地址：")
    paragraph += nodes.reference(url, url, refuri=url, classes=["kb-permalink"])
    paragraph += nodes.Text("。")
    notice += paragraph

    cite = nodes.container(classes=["kb-cite", "no-search"])
    cite += nodes.rubric("引用本文", "引用本文")
    cite += nodes.paragraph("", "GB/T 7714：")
    cite += _code(gbt7714_citation(authors, post_title, site, date, url), "text", "kb-cite-text")
    cite += nodes.paragraph("", "BibTeX：")
    key = f"{app.config.kb_citation_key_prefix}:{slug}"
    cite += _code(bibtex_entry(key, authors, post_title, site, date, url), "bibtex", "kb-cite-bibtex")
    doctree += notice
    doctree += cite


def license_link(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """``<link rel="license">`` in every page's head: the site's articles are under the licence."""
    license_ = app.config.kb_license
    tag = (
        f'<link rel="license" href="{html.escape(license_["url"])}" title="{html.escape(license_["name"])}">'
    )
    context["metatags"] = context.get("metatags", "") + f"    {tag}\n"


def check_license(app: Sphinx, config: Any) -> None:
    missing = [key for key in ("name", "title", "url") if not config.kb_license.get(key)]
    if missing:
        logger.warning(
            "kb_license in conf.py needs %s (the licence's short name, full name and URL)",
            ", ".join(missing),
            type="kb",
            subtype="license",
        )


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value(
        "kb_license",
        {
            "name": "CC BY-NC-SA 4.0",
            "title": "知识共享署名-非商业性使用-相同方式共享 4.0 国际许可协议",
            "url": "https://creativecommons.org/licenses/by-nc-sa/4.0/",
        },
        "html",
        types=[dict],
    )
    app.add_config_value("kb_citation_key_prefix", "kb", "html", types=[str])
    app.connect("config-inited", check_license)
    app.connect("doctree-resolved", add_license_and_citation, priority=pipeline.ADD_LICENSE_AND_CITATION)
    app.connect("html-page-context", license_link)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
