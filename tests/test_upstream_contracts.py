"""What the site's extensions assume about other packages' internals, stated so an upgrade fails
loudly here instead of quietly turning a feature off.

Each test names the code that relies on the assumption. When one fails after an upgrade, read
that code: the workaround may be obsolete (then delete it), or must follow the new internals.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import ablog
import ablog.blog
import ablog.post
import docutils.nodes
import pydata_sphinx_theme
import pytest
import sphinx
import sphinx.search
from sphinx.application import Sphinx

from sitebuild import ROOT


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Sphinx:
    """A tiny Sphinx project with ABlog, sphinxcontrib-bibtex and the math domain loaded."""
    src = tmp_path_factory.mktemp("contracts")
    (src / "conf.py").write_text(
        "extensions = ['ablog', 'sphinxcontrib.bibtex']\nbibtex_bibfiles = ['refs.bib']\n"
        "blog_baseurl = 'https://example.org/'\n",
        encoding="utf-8",
    )
    (src / "refs.bib").write_text("@misc{a2020b, title={T}, author={A, B}, year={2020}}\n", encoding="utf-8")
    (src / "index.rst").write_text(
        "Title\n=====\n\n.. math:: x\n   :label: eq-x\n\nSee :eq:`eq-x`.\n", encoding="utf-8"
    )
    application = Sphinx(
        str(src),
        str(src),
        str(src / "_build"),
        str(src / "_build/.doctrees"),
        "html",
        status=None,
        warning=None,
        freshenv=True,
    )
    application.build()
    return application


# -- ABlog ----------------------------------------------------------------------------------------


def test_ablog_connects_the_two_handlers_the_blog_replaces(app: Sphinx):
    """kb/blog/collections.py removes ABlog's collection-page and feed handlers by identity from
    Sphinx's private ``EventManager.listeners``; if ABlog renamed or split them, ABlog would write
    its own pages and feeds again (replace_ablog_handlers raises then, too)."""
    from kb.blog.collections import ABLOG_HANDLERS

    listeners = app.events.listeners["html-collect-pages"]
    assert all(hasattr(listener, "handler") for listener in listeners)
    assert {listener.handler for listener in listeners} >= set(ABLOG_HANDLERS)
    assert [h.__name__ for h in ABLOG_HANDLERS] == ["generate_archive_pages", "generate_atom_feeds"]


def test_ablog_reads_a_posts_stored_body_only_through_deepcopy():
    """kb/blog/bodies.py replaces ``info["doctree"]`` with a StoredBody that only implements
    ``deepcopy()``: ABlog must not use the body in any other way."""
    source = inspect.getsource(ablog.blog) + inspect.getsource(ablog.post)
    uses = re.findall(r"self\.doctree\.(\w+)", source)
    assert uses == ["deepcopy"], uses
    assert re.search(r'self\.doctree = info\["doctree"\]', source)


def test_ablog_helpers_the_blog_calls_or_replaces_exist():
    """kb/blog/feeds.py calls ``ablog.post.register_posts`` and ``generate_atom_feeds`` (for
    options it does not implement); kb/blog/collections.py replaces ``ablog.blog.new_document``
    with Sphinx's cached one and calls ``generate_archive_pages``."""
    assert callable(ablog.post.register_posts)
    assert callable(ablog.post.generate_archive_pages) and callable(ablog.post.generate_atom_feeds)
    assert "new_document" in vars(ablog.blog)
    assert "new_document(" in inspect.getsource(ablog.blog.Post.to_html)


def test_ablog_version_is_the_one_the_takeover_follows():
    """kb/blog/collections.py and feeds.py reproduce what ABlog 0.11's html-collect-pages handlers
    write (pages, feed entries); a new ABlog may write more: compare, then move this pin."""
    assert ablog.__version__ == "0.11.13"


# -- docutils and Sphinx --------------------------------------------------------------------------


def test_docutils_nodes_keep_their_document_in_document_attribute():
    """kb/blog/bodies.py sets ``node._document = None`` so that ABlog's stored copy of a post does
    not drag the whole original document into a pickle."""
    import pickle

    document = docutils.utils.new_document("x", docutils.frontend.get_default_settings())
    document += docutils.nodes.paragraph("", "一段很长的正文" * 2000)
    paragraph = docutils.nodes.paragraph("", "摘要")
    document += paragraph
    assert vars(paragraph)["_document"] is document
    paragraph.parent = None
    with_document = len(pickle.dumps(paragraph))
    paragraph._document = None
    assert paragraph.document is None
    assert len(pickle.dumps(paragraph)) < with_document / 10


def test_html_builder_exposes_template_mtime_config_hash_and_jinja_environment(app: Sphinx):
    """kb/blog/collections.py keys the collection pages on ``templates.newest_template_mtime()``
    and ``build_info.config_hash``; kb/assets/template_cache.py sets the Jinja environment's
    bytecode cache."""
    builder = app.builder
    assert isinstance(builder.templates.newest_template_mtime(), float)
    assert isinstance(builder.build_info.config_hash, str) and builder.build_info.config_hash
    assert hasattr(builder.templates.environment, "bytecode_cache")


def test_search_indexer_keeps_word_mappings_in_private_dicts(app: Sphinx):
    """kb/search/zh.py deletes words whose page set is empty from ``_mapping`` and
    ``_title_mapping`` (word -> set of docnames), or incremental indexes differ from clean ones."""
    indexer = app.builder.indexer
    assert isinstance(indexer._mapping, dict) and isinstance(indexer._title_mapping, dict)
    assert all(isinstance(docs, set) for docs in indexer._mapping.values())


def test_sphinx_still_breaks_chinese_search_so_the_stemmer_workaround_is_needed():
    """sphinx-doc/sphinx#14229: Sphinx 9.0's language_data.js names a ChineseStemmer that does
    not exist; kb/search/zh.py ships the English stemmer instead. Fixed in 9.1.1: once that is
    installed, delete the workaround (``js_stemmer_code``) and this test."""
    version = tuple(int(part) for part in sphinx.__version__.split(".")[:3])
    assert version < (9, 1, 1), "Sphinx >= 9.1.1 fixes #14229: remove the workaround in kb/search/zh.py"


def test_sphinx_ships_the_minified_stemmers_the_search_module_reads():
    folder = Path(sphinx.search.__file__).parent / "minified-js"
    assert (folder / "base-stemmer.js").is_file() and (folder / "english-stemmer.js").is_file()


def test_math_domain_maps_equation_labels_to_documents(app: Sphinx):
    """kb/blog/post_links.py reads ``data["objects"]`` (label -> (docname, number)) to find the
    article an {eq} link points to."""
    objects = app.env.get_domain("math").data["objects"]
    assert objects["eq-x"][0] == "index"


def test_bibtex_domain_exposes_citations_bibfiles_and_backend(app: Sphinx):
    """kb/pages/bibliography_index.py reads sphinxcontrib-bibtex's ``citation_refs``,
    ``bibdata.bibfiles`` (path -> info with ``mtime``) and ``backend``."""
    domain = app.env.get_domain("cite")
    assert isinstance(domain.citation_refs, list)
    assert all(hasattr(info, "mtime") for info in domain.bibdata.bibfiles.values())
    assert hasattr(domain.backend, "paragraph")


# -- the theme ------------------------------------------------------------------------------------


def test_the_layouts_css_block_is_the_themes_minus_fontawesome():
    """_templates/layout.html copies pydata-sphinx-theme's ``css`` block to leave out
    fontawesome.js; the copy must follow the theme's block line by line otherwise."""
    theme = (
        Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "layout.html"
    ).read_text(encoding="utf-8")
    ours = (ROOT / "_templates" / "layout.html").read_text(encoding="utf-8")

    def block(text: str) -> list[str]:
        body = text[text.index("{%- block css %}") : text.index("{%- endblock css %}")]
        body = re.sub(r"\{#.*?#\}|<!--.*?-->", "", body, flags=re.DOTALL)
        return [line.strip() for line in body.splitlines() if line.strip()]

    theirs, mine = block(theme), block(ours)
    assert "{{ _webpack.head_js_preload() }}" in theirs
    position = theirs.index("{{ _webpack.head_js_preload() }}")
    assert mine[:position] == theirs[:position]
    assert mine[-1] == "{%- endfor %}" and "fontawesome.js" in " ".join(mine[position:])
    macros = (
        Path(pydata_sphinx_theme.__file__).parent
        / "theme"
        / "pydata_sphinx_theme"
        / "static"
        / "webpack-macros.html"
    ).read_text(encoding="utf-8")
    preload = macros[
        macros.index("macro head_js_preload") : macros.index(
            "endmacro", macros.index("macro head_js_preload")
        )
    ]
    assert "fontawesome.js" in preload, "the theme no longer preloads fontawesome.js: simplify layout.html"


def test_ablog_keeps_only_its_post_records_from_reading():
    """kb/blog/parallel.py makes ABlog parallel-read-safe by merging ``env.ablog_posts``; that is
    only right while ABlog writes nothing else into the environment when a document is read
    (besides Sphinx's own ``env.metadata`` and the standard domain's labels for the post, which
    Sphinx merges per document, and intersphinx's inventory, which the site does not load), and
    while ABlog still declares itself unsafe (sunpy/ablog#327): once it does not, delete the
    override."""
    import ablog.post

    source = inspect.getsource(ablog.post.process_posts)
    writes = set(re.findall(r"\benv\.(\w+)\s*(?:\[[^\]]*\])*\s*(?:=|\.append|\.setdefault|\.update)", source))
    writes |= set(re.findall(r"\bapp\.env\.(\w+)\[", source))
    assert writes <= {"ablog_posts", "metadata", "domains", "intersphinx_inventory"}, writes
    assert set(re.findall(r'env\.domains\["(\w+)"\]\.data\["(\w+)"\]', source)) == {
        ("std", "labels"),
        ("std", "anonlabels"),
    }
    metadata = ablog.setup(_Recorder())
    assert metadata["parallel_read_safe"] is False, "ABlog is parallel-read-safe now: remove the override"


class _Recorder:
    """Enough of a Sphinx application for ablog.setup() to run."""

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: None
