"""What the site's extensions assume about other packages' internals, stated so an upgrade fails
loudly here instead of quietly turning a feature off.

Each test names the code that relies on the assumption. When one fails after an upgrade, read
that code: the workaround may be obsolete (then delete it), or must follow the new internals.
"""

from __future__ import annotations

import hashlib
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ablog
import ablog.blog
import ablog.post
import docutils.nodes
import pydata_sphinx_theme
import pytest
import sphinx
import sphinx.search
from sphinx.application import Sphinx
from sphinx.util.docutils import docutils_namespace

from kb import empty_templates
from kb.blog import excerpts
from sitebuild import ROOT


def in_order(source: str, *fragments: str) -> bool:
    """Whether each fragment occurs in ``source`` after the one before (the first occurrence of
    each; a missing fragment raises, as ``str.index`` does)."""
    positions = [source.index(fragment) for fragment in fragments]
    return all(a < b for a, b in zip(positions, positions[1:]))


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sphinx]:
    """A tiny Sphinx project with ABlog, sphinxcontrib-bibtex and the math domain loaded.

    A build forked from this process later (the warm builds of tests/test_incremental.py) must
    not inherit it: it is built inside ``docutils_namespace``, as sphinx-build builds (Sphinx
    registers its node classes with docutils for the whole process, and the later build would
    warn that they are already registered), and ABlog's blog, whose state every ``Blog`` of the
    process shares, is emptied afterwards."""
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
    with docutils_namespace():
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
        yield application
    ablog.blog.Blog._dict.clear()


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


def test_an_ablog_collection_knows_a_post_by_the_name_the_feeds_give_it():
    """kb/blog/feeds.py finds the feeds that list an edited post by asking each collection
    whether it holds the post's name (``_post_name``: the document, and ``#section`` for a post
    that is a section of it), as ``Collection.add`` names them."""
    from types import SimpleNamespace

    from kb.blog.feeds import _lists_any, _post_name

    catalog = SimpleNamespace(blog=SimpleNamespace(references={}), xref="blog-tag", path="blog/tag")
    collection = ablog.blog.Collection(catalog, "tag")
    whole = SimpleNamespace(docname="posts/a/index", section="")
    part = SimpleNamespace(docname="posts/b/index", section="second-post")
    for post in (whole, part):
        collection.add(post)
    assert [_post_name(post) in collection for post in (whole, part)] == [True, True]
    assert _lists_any(collection, {"posts/b/index#second-post", "posts/c/index"})
    assert not _lists_any(collection, {"posts/b/index", "posts/c/index"})
    assert not _lists_any(collection, set())


def test_the_html_builder_names_output_files_as_the_collections_join_them(app: Sphinx):
    """kb/blog/collections.py checks that every kept collection page still exists by joining the
    output folder, the page name and the suffix as strings (``_output_files``), not through
    ``builder.get_outfilename``: the two must agree."""
    from kb.blog.collections import _output_files

    names = ["blog", "blog/tag/扩散模型", "blog/2026/page-2"]
    assert list(_output_files(app, names)) == [str(app.builder.get_outfilename(name)) for name in names]


def test_ablog_helpers_the_blog_calls_or_replaces_exist():
    """kb/blog/feeds.py calls ``ablog.post.register_posts`` and ``generate_atom_feeds`` (for
    options it does not implement); kb/blog/collections.py replaces ``ablog.blog.new_document``
    with Sphinx's cached one and calls ``generate_archive_pages``."""
    assert callable(ablog.post.register_posts)
    assert callable(ablog.post.generate_archive_pages) and callable(ablog.post.generate_atom_feeds)
    assert "new_document" in vars(ablog.blog)
    assert "new_document(" in inspect.getsource(excerpts._upstream_to_html)


def test_ablog_renders_excerpts_as_the_kept_excerpts_assume():
    """kb/blog/excerpts.py replaces ``ablog.blog.Post.to_html`` and keeps a page-independent
    excerpt's HTML for the build; when it reuses one, it leaves on the builder what ABlog's
    ``html_builder_write_doc`` leaves. A new ``to_html`` may render excerpts differently (compare,
    then move the digest); a new attribute set there must be set on reuse too."""
    assert ablog.blog.Post.to_html in (excerpts._upstream_to_html, excerpts.to_html)
    source = inspect.getsource(excerpts._upstream_to_html)
    assert hashlib.sha256(source.encode()).hexdigest() == (
        "ec4e01307af808bf5221df7b452939feeb4d478a54e8ddde99afff03edff41ee"
    )
    write = inspect.getsource(ablog.blog.html_builder_write_doc)
    assert re.findall(r"self\.(\w+) = ", write) == [
        "secnumbers",
        "fignumbers",
        "imgpath",
        "dlpath",
        "current_docname",
    ]
    assert "img_src_path = relative_uri(self.get_target_uri(docname), img_folder)" in write
    assert 'self.dlpath = relative_uri(self.get_target_uri(docname), "_downloads")' in write


def test_the_theme_checks_empty_templates_through_the_function_the_site_replaces():
    """kb/empty_templates.py replaces ``pydata_sphinx_theme.utils._update_and_remove_templates``,
    which the theme looks up through its module on every page, and reproduces it step for step
    (tests/test_render_once.py compares the two); when the theme changes it, follow the change."""
    import pydata_sphinx_theme.utils

    assert "utils._update_and_remove_templates(" in inspect.getsource(
        pydata_sphinx_theme.update_and_remove_templates
    )
    assert "= _update_and_remove_templates(" in inspect.getsource(
        pydata_sphinx_theme.utils.set_secondary_sidebar_items
    )
    source = inspect.getsource(empty_templates._upstream)
    assert hashlib.sha256(source.encode()).hexdigest() == (
        "705e9e656105fff7f278476e703a11edc55807eef6893b9f42e59598b6672eec"
    )


def test_ablog_version_is_the_one_the_takeover_follows():
    """kb/blog/collections.py and feeds.py reproduce what ABlog 0.11's html-collect-pages handlers
    write (pages, feed entries); a new ABlog may write more: compare, then move this pin."""
    assert ablog.__version__ == "0.11.13"


ABLOG_TEMPLATES = Path(ablog.__file__).parent / "templates" / "ablog"
# Our copies that differ from ABlog's only by |e on what they print (see each file's comment).
ESCAPED_ONLY = [
    "archives.html",
    "authors.html",
    "categories.html",
    "languages.html",
    "locations.html",
    "postcard2.html",
    "postnavy.html",
    "redirect.html",
    "tagcloud.html",
]
# Our copies that change more (pagination, preview marks): the upstream versions they follow.
FOLLOWED = {
    "collection.html": "7adffc44a5ad96c7b55e5d81c0ddc5d4c84b93729a7af404524b99b1601a24d3",
    "catalog.html": "50980fe5d3a03cddfbc9aa3a187dc20c6954d7b570effe3ff72820088ee58bda",
    "recentposts.html": "60fa0d8dfbe7b455e0fa5809fc5073d695823b85b30e6664018efa7336640b7f",
}


@pytest.mark.parametrize("name", ESCAPED_ONLY)
def test_escaping_ablog_templates_differ_from_ablogs_only_by_escaping(name: str):
    """_templates/ablog/ overrides ABlog's templates to print names and titles as text; a new
    ABlog template (a new field, a fix) must be copied again, with |e added."""
    ours = (ROOT / "_templates" / "ablog" / name).read_text(encoding="utf-8")
    ours = re.sub(r"\{#-.*?-#\}\n", "", ours, count=1, flags=re.DOTALL)  # our header comment
    # tagcloud.html's stylesheet is linked only when the site's bundle does not hold it.
    ours = re.sub(r"  \{%- if not kb_css_bundle %\}\n(.*?)  \{%- endif %\}\n", r"\1", ours, flags=re.DOTALL)
    theirs = (ABLOG_TEMPLATES / name).read_text(encoding="utf-8")
    assert "|e" in ours
    assert re.sub(r"\|e(\s*\}\})", r"\1", ours) == theirs


def test_every_ablog_template_the_site_shows_is_overridden():
    """Every ABlog template that prints a title, tag, category or author is one of ours."""
    ours = {path.name for path in (ROOT / "_templates" / "ablog").glob("*.html")}
    printing = {
        path.name
        for path in ABLOG_TEMPLATES.glob("*.html")
        if re.search(
            r"\{\{[^}]*\b(title|coll|collection|header)\b[^}|]*\}\}", path.read_text(encoding="utf-8")
        )
    }
    assert printing <= ours, sorted(printing - ours)
    assert set(ESCAPED_ONLY) | set(FOLLOWED) == ours


@pytest.mark.parametrize("name", sorted(FOLLOWED))
def test_rewritten_ablog_templates_follow_the_installed_ones(name: str):
    """_templates/ablog/collection.html, catalog.html and recentposts.html are ABlog's with
    pagination, escaping and preview marks; when ABlog changes its template, merge the change."""
    digest = hashlib.sha256((ABLOG_TEMPLATES / name).read_bytes()).hexdigest()
    assert digest == FOLLOWED[name], f"ABlog's {name} changed: compare it with _templates/ablog/{name}"


def test_archive_pages_follow_ablogs_generate_archive_pages():
    """kb/blog/collections.py:archive_pages reproduces ABlog's ``generate_archive_pages`` with
    pagination and escaped titles; when ABlog changes it, follow the change."""
    source = inspect.getsource(ablog.post.generate_archive_pages)
    assert (
        hashlib.sha256(source.encode()).hexdigest()
        == "966cc04cc91db9ecdb75b7c0edd959f81e1f2d2d73ad0581c9746a02a4b62365"
    )


def test_ablog_decides_drafts_with_the_module_global_the_site_overrides():
    """kb/blog/drafts.py sets ``ablog.blog.TOMORROW`` so that ABlog counts every post it sees as
    published (the site leaves drafts out of the sources itself)."""
    assert isinstance(ablog.blog.TOMORROW, __import__("datetime").datetime)
    for code in (ablog.blog.Blog.register, ablog.blog.Post.__init__):
        assert "< TOMORROW" in inspect.getsource(code), code


def test_ablog_puts_the_blog_title_raw_into_feed_title():
    """kb/pages/page_meta.py escapes ``feed_title``, which ABlog's page.html prints as markup."""
    source = inspect.getsource(ablog.html_page_context)
    assert 'context["feed_title"] = blog.blog_title' in source
    page = (ABLOG_TEMPLATES.parent / "page.html").read_text(encoding="utf-8")
    assert 'title="{{ feed_title }}"' in page


# -- docutils and Sphinx --------------------------------------------------------------------------


def test_sphinx_finds_documents_with_the_live_exclude_patterns_before_env_get_outdated():
    """kb/blog/drafts.py adds the unpublished posts to ``exclude_patterns`` at builder-inited and
    takes them out at env-get-outdated: Sphinx must read the patterns from the configuration
    object itself (``env.config`` is ``app.config``) when it looks for documents, between the two."""
    from sphinx.builders import Builder
    from sphinx.environment import BuildEnvironment

    find_files = inspect.getsource(BuildEnvironment.find_files)
    assert "self.config.exclude_patterns" in find_files
    assert "self.config = app.config" in inspect.getsource(BuildEnvironment.setup)
    read = inspect.getsource(Builder.read)
    assert in_order(read, "self.env.find_files(", "'env-get-outdated'")


def test_sphinx_checks_consistency_only_after_a_read_so_drafts_check_on_env_updated():
    """kb/blog/drafts.py checks links to drafts at env-updated, which every build emits; Sphinx
    checks consistency only when a document was read (a failed build would pass next time)."""
    from sphinx.builders import Builder

    build = inspect.getsource(Builder.build)
    assert "if updated_docnames:" in build and "check_consistency()" in build
    assert "'env-updated'" in inspect.getsource(Builder.read)


def test_sphinx_decides_parallel_reading_after_env_before_read_docs_and_writing_after_env_updated():
    """kb/rebuilds.py sets ``app.parallel`` to 1 at env-before-read-docs for a small read and gives
    it back at env-updated: Sphinx must decide how to read after the first event, from
    ``app.parallel``, and how to write after the second."""
    from sphinx.builders import Builder

    read = inspect.getsource(Builder.read)
    assert in_order(read, "'env-before-read-docs'", "self._app.parallel > 1", "'env-updated'")
    build = inspect.getsource(Builder.build)
    assert in_order(build, "self.read()", "self._app.parallel > 1 and self.allow_parallel")


def test_sphinx_saves_the_environment_with_the_builders_module_global_pickle_before_writing():
    """kb/rebuilds.py saves the environment in a forked process by standing in for the ``pickle``
    that ``sphinx.builders`` looks up: ``Builder.build`` must save it with that module global's
    ``dump``, into a file it opened on ``environment.pickle``, after reading and before writing, and
    nothing in the build may read that file again."""
    import pickle

    import sphinx.builders
    from sphinx.builders import Builder

    assert sphinx.builders.pickle is pickle
    build = inspect.getsource(Builder.build)
    assert in_order(
        build,
        "self.read()",
        "open(self.doctreedir / ENV_PICKLE_FILENAME, 'wb') as f",
        "pickle.dump(self.env, f,",
    )
    assert in_order(build, "pickle.dump(self.env, f,", "self.write(docnames")
    package = Path(sphinx.__file__).parent
    readers = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "ENV_PICKLE_FILENAME" in path.read_text(encoding="utf-8")
    ]
    assert sorted(readers) == ["application.py", "builders/__init__.py"], readers


def test_sphinx_loads_the_environment_between_config_inited_and_builder_inited():
    """kb/rebuilds.py pauses the garbage collector at config-inited and starts it again at
    builder-inited: the environment must be unpickled in between, and nothing else as long."""
    from sphinx.application import Sphinx

    init = inspect.getsource(Sphinx.__init__)
    assert in_order(
        init,
        "self.events.emit('config-inited'",
        "self.env = self._init_env(freshenv)",
        "self._init_builder()",
    )
    assert "pickle.load(" in inspect.getsource(Sphinx._load_existing_env)
    assert "'builder-inited'" in inspect.getsource(Sphinx._init_builder)


def test_sphinx_gets_its_environment_from_init_env_and_sets_up_what_it_unpickled():
    """scripts/livehtml.py hands a warm build the server's copy of the environment by replacing
    ``Sphinx._init_env(freshenv)``: Sphinx must get its environment from it alone, from the file
    ``doctreedir / ENV_PICKLE_FILENAME``, and do with an unpickled environment only what the
    replacement does (``env.setup(app)``, then ``_fresh_env_used = False``)."""
    from sphinx.application import ENV_PICKLE_FILENAME, Sphinx

    assert ENV_PICKLE_FILENAME == "environment.pickle"
    assert inspect.signature(Sphinx._init_env).parameters.keys() == {"self", "freshenv"}
    assert inspect.getsource(Sphinx.__init__).count("pickle.load") == 0
    assert in_order(
        inspect.getsource(Sphinx._init_env),
        "filename = self.doctreedir / ENV_PICKLE_FILENAME",
        "return self._load_existing_env(filename)",
    )
    load = inspect.getsource(Sphinx._load_existing_env)
    assert in_order(load, "env = pickle.load(f)", "env.setup(self)", "self._fresh_env_used = False")
    assert load.count("env.") == 1  # nothing else is done with the environment


def test_sphinx_keeps_loaded_doctrees_bytes_in_a_dict_by_docname():
    """kb/rebuilds.py drops a page's entry from ``env._pickled_doctree_cache`` once the page is
    resolved: Sphinx must keep the bytes there, by docname, and read the file when they are gone."""
    from sphinx.environment import BuildEnvironment

    source = inspect.getsource(BuildEnvironment.get_doctree)
    assert "serialised = self._pickled_doctree_cache[docname]" in source
    assert "except KeyError:" in source and "f.read()" in source


def test_jieba_keeps_its_whole_dictionary_in_freq_and_total():
    """kb/search/zh.py loads jieba's dictionary (with the site's words) from its own pickle into
    ``jieba.dt.FREQ`` and ``jieba.dt.total`` and marks the tokenizer initialized: that must be all
    that jieba's own initialization sets for cutting."""
    import jieba

    initialize = inspect.getsource(jieba.Tokenizer.initialize)
    assert "self.FREQ, self.total = marshal.load(cf)" in initialize
    assert "self.FREQ, self.total = self.gen_pfdict(" in initialize
    assert "self.initialized = True" in initialize
    assert "self.check_initialized()" in inspect.getsource(jieba.Tokenizer.get_DAG)
    assert jieba.__version__ == "0.42.1"  # unmaintained since 2020; a new release is worth a look
    # kb/search/zh.py's one-pass cut: both modes split the text with the same block pattern and
    # look words up with get_DAG; the accurate mode without HMM routes with calc.
    cut = inspect.getsource(jieba.Tokenizer.cut)
    assert "re_han = re_han_default" in cut and "re_skip = re_skip_default" in cut
    assert "re_han_cut_all" not in cut
    assert "dag = self.get_DAG(sentence)" in inspect.getsource(jieba.Tokenizer._Tokenizer__cut_all)
    no_hmm = inspect.getsource(jieba.Tokenizer._Tokenizer__cut_DAG_NO_HMM)
    assert (
        "self.calc(sentence, DAG, route)" in no_hmm and "re_eng.match(l_word) and len(l_word) == 1" in no_hmm
    )


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


def test_templates_rendered_from_a_string_are_compiled_as_the_cache_compiles_them(app: Sphinx):
    """kb/assets/template_cache.py replaces the builder's ``render_string`` with one that keeps the
    compiled code in the bytecode cache: Sphinx's must be Jinja's ``from_string`` and render, and
    ``from_string`` the compile and ``from_code`` the cache calls; the two give the same text,
    from the cache too."""
    import jinja2
    from sphinx.jinja2glue import BuiltinTemplateLoader

    from kb.assets.template_cache import CACHE_DIR, use_bytecode_cache

    assert "return self.environment.from_string(source).render(context)" in inspect.getsource(
        BuiltinTemplateLoader.render_string
    )
    from_string = inspect.getsource(jinja2.Environment.from_string)
    assert "cls.from_code(self, self.compile(source), gs, None)" in from_string
    assert "gs = self.make_globals(globals)" in from_string
    templates = app.builder.templates
    source = "{{ project|e }}{% for x in items %}[{{ loop.index }}:{{ x }}]{% endfor %}{{ pathto('a', 1) }}"
    context = {"project": "<知识库>", "items": ["a", "b"], "pathto": lambda name, kind: f"{name}/{kind}"}
    sphinx_text = templates.render_string(source, context)
    kept = templates.environment.bytecode_cache
    try:
        use_bytecode_cache(app)
        first = templates.render_string(source, context)
        cached = list((Path(app.doctreedir) / CACHE_DIR).rglob("__jinja2_*.cache"))
        again = templates.render_string(source, context)
    finally:
        del templates.render_string
        templates.environment.bytecode_cache = kept
    assert cached, "the compiled template was not kept"
    assert first == again == sphinx_text == "&lt;知识库&gt;[1:a][2:b]a/1"


def test_html_builder_makes_no_search_index_when_search_is_off():
    """kb/search/index.py sets ``builder.search = False`` so Sphinx neither indexes pages nor
    writes ``searchindex.js`` and its search page (the site writes its own)."""
    from sphinx.builders.html import StandaloneHTMLBuilder

    assert StandaloneHTMLBuilder.search is True
    source = inspect.getsource(StandaloneHTMLBuilder.prepare_writing)
    assert "if self.search:" in source and "self.indexer = None" in source
    assert "if self.search:" in inspect.getsource(StandaloneHTMLBuilder.gen_additional_pages)
    assert "if self.indexer is None:" in inspect.getsource(StandaloneHTMLBuilder.dump_search_index)


def test_sphinx_ships_the_minified_stemmers_the_search_module_reads():
    """kb/search/index.py serves Sphinx's Snowball English stemmer to the browser, which must
    stem query words as snowballstemmer stemmed the index's words."""
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


# -- the theme and link previews ------------------------------------------------------------------


def test_book_theme_puts_the_raw_title_into_pagetitle():
    """kb/pages/page_meta.py escapes ``pagetitle`` and ``root_title``, which sphinx-book-theme
    sets from ``astext()`` and prints as markup (the print header of every page)."""
    import sphinx_book_theme

    source = inspect.getsource(sphinx_book_theme.add_metadata_to_page)
    assert 'context["pagetitle"] = title.astext()' in source
    assert 'context["root_title"] = app.env.titles[context["root_doc"]].astext()' in source
    layout = (
        Path(sphinx_book_theme.__file__).parent / "theme" / "sphinx_book_theme" / "layout.html"
    ).read_text(encoding="utf-8")
    assert "<h1>{{ pagetitle }}</h1>" in layout


def test_the_layouts_css_block_is_the_themes_minus_fontawesome():
    """_templates/layout.html copies pydata-sphinx-theme's ``css`` block to leave out
    fontawesome.js, and the theme's stylesheets when the site's bundle holds them; the copy must
    follow the theme's block line by line otherwise."""
    theme = (
        Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "layout.html"
    ).read_text(encoding="utf-8")
    ours = (ROOT / "_templates" / "layout.html").read_text(encoding="utf-8")

    def block(text: str) -> list[str]:
        body = text[text.index("{%- block css %}") : text.index("{%- endblock css %}")]
        body = re.sub(r"\{#.*?#\}|<!--.*?-->", "", body, flags=re.DOTALL)
        return [line.strip() for line in body.splitlines() if line.strip()]

    theirs, mine = block(theme), block(ours)
    # The theme's stylesheets are in the site's bundle (kb/assets/css_bundle.py) when it is there.
    bundle = [
        "{%- if kb_css_bundle %}",
        '<link rel="stylesheet" href="{{ kb_css_bundle }}" />',
        "{%- else %}",
    ]
    start = mine.index(bundle[0])
    assert mine[start : start + 3] == bundle and mine[start + 4] == "{%- endif %}"
    mine = [*mine[:start], mine[start + 3], *mine[start + 5 :]]
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


def test_the_themes_script_measures_scrollable_elements_where_theme_script_cuts_it():
    """kb/assets/theme_script.py replaces the body of the theme's addTabStopsToScrollableElements
    loop in the shipped, minified script; kb-scroll-tab-stops.js repeats its selector."""
    from kb.assets.theme_script import MEASUREMENT, without_measurement

    static = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static"
    shipped = (static / "scripts" / "pydata-sphinx-theme.js").read_text(encoding="utf-8")
    assert shipped.count(MEASUREMENT) == 1
    patched = without_measurement(shipped)
    assert MEASUREMENT not in patched and without_measurement(patched) == patched
    source = (
        Path(pydata_sphinx_theme.__file__).parent / "assets" / "scripts" / "pydata-sphinx-theme.js"
    ).read_text(encoding="utf-8")
    loop = source[source.index("function addTabStopsToScrollableElements") :]
    selector = re.findall(r'^\s*"([^"]+)",$', loop[: loop.index('].join(", ")')], re.M)
    ours = (ROOT / "_static" / "kb-scroll-tab-stops.js").read_text(encoding="utf-8")
    ours_selector = "".join(
        re.findall(
            r'"([^"]*)"', ours[ours.index("var selector") : ours.index(";", ours.index("var selector"))]
        )
    )
    assert [s.strip() for s in ours_selector.split(",")] == selector
    with pytest.raises(Exception, match="pydata-sphinx-theme changed"):
        without_measurement(shipped.replace(MEASUREMENT, "e.tabIndex=0"))


def test_the_themes_script_resolves_auto_as_the_layouts_head_does():
    """_templates/layout.html resolves a first visit's theme "auto" to light or dark in the head,
    as the theme's setTheme does once the page is parsed, so that setTheme changes nothing."""
    source = (
        Path(pydata_sphinx_theme.__file__).parent / "assets" / "scripts" / "pydata-sphinx-theme.js"
    ).read_text(encoding="utf-8")
    assert 'prefersDark = window.matchMedia("(prefers-color-scheme: dark)")' in source
    set_theme = source[
        source.index("function setTheme(mode)") : source.index("function updateColorModeDropdown")
    ]
    assert 'var colorScheme = prefersDark.matches ? "dark" : "light";' in set_theme
    assert 'var theme = mode == "auto" ? colorScheme : mode;' in set_theme
    layout = (ROOT / "_templates" / "layout.html").read_text(encoding="utf-8")
    assert 'matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light"' in layout


def _assert_mirrored(method: str, steps: list[str], code_lines: int, mirror: str) -> None:
    """Sphinx's ``method`` (its source) still has every step the mirror repeats, and exactly
    ``code_lines`` lines of code (blank lines and comments aside), so any change fails here."""
    for step in steps:
        assert step in method, step
    lines = [line for line in method.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert len(lines) == code_lines, f"Sphinx's method changed: compare it with {mirror}"


def test_sphinx_parallel_read_is_the_method_kb_rebuilds_stands_in_for():
    """kb/rebuilds.py replaces ``Builder._read_parallel`` on the builder with ``read_in_parallel``,
    which does the same steps except when it merges: Sphinx must call that method to read with
    ``-j``, and the method must still be the one mirrored (purge and clear every outdated
    document, fork readers over ``make_chunks``, each reading with ``_cache=False`` and sending
    its pickled environment, merged with ``merge_info_from``). A change here must be mirrored."""
    from sphinx.builders import Builder

    read = inspect.getsource(Builder.read)
    assert "self._read_parallel(docnames, nproc=self._app.parallel)" in read
    method = inspect.getsource(Builder._read_parallel)
    steps = [
        "chunks = make_chunks(docnames, nproc)",
        "self.events.emit('env-purge-doc', self.env, docname)",
        "self.env.clear_doc(docname)",
        "self.env._app = self._app",
        "self.read_doc(docname, _cache=False)",
        "return pickle.dumps(self.env, pickle.HIGHEST_PROTOCOL)",
        "env = pickle.loads(otherenv)",
        "self.env.merge_info_from(docs, env, self._app)",
        "tasks = ParallelTasks(nproc)",
        "tasks.add_task(read_process, chunk, merge)",
        "tasks.join()",
    ]
    _assert_mirrored(method, steps, 26, "kb.rebuilds.read_in_parallel")


def test_sphinx_parallel_write_is_the_method_kb_rebuilds_stands_in_for():
    """kb/rebuilds.py replaces ``Builder._write_parallel`` with ``write_in_parallel``: Sphinx must
    call it to write with ``-j`` (with one writer fewer than ``-j``, which the replacement does
    not use), and the method must still be the one mirrored (the first page written by
    ``_write_docname``, then each page resolved and ``write_doc_serialized`` in the main process
    and written by ``write_doc`` in a forked writer). The replacement waits for a free writer with
    ``ParallelTasks._join_one``, which must collect a finished writer (True when it did) and start
    waiting ones up to ``nproc``."""
    from sphinx.builders import Builder, _write_docname
    from sphinx.util.parallel import ParallelTasks

    assert "self._write_parallel(sorted_docnames, nproc=self._app.parallel - 1)" in inspect.getsource(
        Builder.write_documents
    )
    assert list(inspect.signature(_write_docname).parameters) == ["docname", "env", "builder", "tags"]
    method = inspect.getsource(Builder._write_parallel)
    steps = [
        "self.phase = BuildPhase.WRITING",
        "self.write_doc(docname, doctree)",
        "firstname, docnames = docnames[0], docnames[1:]",
        "_write_docname(firstname, env=self.env, builder=self, tags=self.tags)",
        "chunks = make_chunks(docnames, nproc)",
        "self.phase = BuildPhase.RESOLVING",
        "doctree = self.env.get_and_resolve_doctree(",
        "self.write_doc_serialized(docname, doctree)",
        "tasks.add_task(write_process, arg, on_chunk_done)",
        "tasks.join()",
    ]
    _assert_mirrored(method, steps, 30, "kb.rebuilds.write_in_parallel")
    join_one = inspect.getsource(ParallelTasks._join_one)
    assert "return joined_any" in join_one
    assert "while self._precvs_waiting and self._pworking < self.nproc:" in join_one


def test_html_builder_keeps_the_site_wide_stylesheets_before_writing_and_copies_assets_first():
    """kb/assets/css_bundle.py bundles ``_orig_css_files`` (the stylesheets every page links, kept
    by ``prepare_writing`` before pages add their own) in the order of their priority, as a page
    links them, and versions the bundle by its parts as
    ``copy_assets`` left them before the pages were written, as Sphinx's ``_file_checksum`` does
    for each stylesheet."""
    from sphinx.builders import Builder
    from sphinx.builders.html import StandaloneHTMLBuilder
    from sphinx.builders.html._assets import _CascadingStyleSheet

    assert "self._orig_css_files = list(" in inspect.getsource(StandaloneHTMLBuilder.prepare_writing)
    assert "self._css_files[:] = self._orig_css_files" in inspect.getsource(StandaloneHTMLBuilder.handle_page)
    write = inspect.getsource(Builder.write)
    assert in_order(write, "self.prepare_writing(", "self.copy_assets()", "self.write_documents(")
    assert "key=lambda css: css.priority" in inspect.getsource(StandaloneHTMLBuilder.handle_page)
    sheet = _CascadingStyleSheet("_static/x.css", rel="stylesheet", type="text/css")
    assert str(sheet.filename) == "_static/x.css" and sheet.attributes["rel"] == "stylesheet"


def test_the_html_highlighter_writes_code_with_the_formatter_kb_code_spans_sets():
    """kb/assets/code_spans.py sets the HTML builder's ``highlighter.formatter`` at
    ``builder-inited``, wrapping ``HtmlFormatter.format_unencoded``: Sphinx must create the
    highlighter before that event and highlight every block with ``self.formatter``, Pygments
    must write through ``format_unencoded``, and the theme must write pygments.css from the two
    style options code_spans reads."""
    import pydata_sphinx_theme.pygments
    from pygments.formatter import Formatter
    from pygments.formatters import HtmlFormatter
    from sphinx.builders.html import StandaloneHTMLBuilder
    from sphinx.highlighting import PygmentsBridge

    from kb.assets.code_spans import STYLE_OPTIONS

    assert "self.init_highlighter()" in inspect.getsource(StandaloneHTMLBuilder.init)
    assert "self.formatter: type[Formatter[str]] = self.html_formatter" in inspect.getsource(
        PygmentsBridge.__init__
    )
    assert "return self.formatter(**kwargs)" in inspect.getsource(PygmentsBridge.get_formatter)
    assert "formatter = self.get_formatter(**kwargs)" in inspect.getsource(PygmentsBridge.highlight_block)
    assert "return self.format_unencoded(tokensource, outfile)" in inspect.getsource(Formatter.format)
    assert "format_unencoded" in vars(HtmlFormatter)
    overwrite = inspect.getsource(pydata_sphinx_theme.pygments.overwrite_pygments_css)
    assert 'style_key = f"pygments_{light_or_dark}_style"' in overwrite
    assert STYLE_OPTIONS == ("pygments_light_style", "pygments_dark_style")
    assert "theme_options.get(style_key, None)" in overwrite
    assert "app.builder.theme.get_options()[style_key]" in overwrite


def test_sphinx_reads_every_document_again_when_an_extensions_env_version_changes():
    """kb's packages give Sphinx ``env_version`` = ``kb.source_version()`` so that a change to
    the extensions' code rebuilds every page: Sphinx must compare the saved environment's
    versions with the extensions' metadata, and start a fresh environment when they differ."""
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment, _get_env_version

    assert "ext.metadata.get('env_version')" in inspect.getsource(_get_env_version)
    setup = inspect.getsource(BuildEnvironment.setup)
    assert "if self.version and self.version != _get_env_version(app.extensions):" in setup
    assert "raise BuildEnvironmentError(__('build environment version not current'))" in setup
    load = inspect.getsource(Sphinx._load_existing_env)
    assert "env.setup(self)" in load and "env = self._create_fresh_env()" in load


def test_html_builder_writes_a_page_with_what_its_last_template_rendering_returned():
    """kb/assets/unused_css.py (``record_written_pages``) scans the text a page was written with
    instead of reading the file again: it takes the last value ``self.templates.render`` returned
    during ``handle_page``, and the file's stamp after the call. That holds while
    ``handle_page`` renders the page once, last, and writes exactly that string, UTF-8 with
    character references for what cannot be encoded, to ``outfilename`` or
    ``get_output_path(pagename)``."""
    from sphinx.builders.html import StandaloneHTMLBuilder

    source = inspect.getsource(StandaloneHTMLBuilder.handle_page)
    steps = [
        "output = self.templates.render(templatename, ctx)",
        "output_path = Path(outfilename)",
        "output_path = self.get_output_path(pagename)",
        "output_path.write_text(",
        "output, encoding=ctx['encoding'], errors='xmlcharrefreplace'",
    ]
    positions = [source.find(step) for step in steps]
    assert -1 not in positions and positions == sorted(positions), "compare with kb.assets.unused_css"
    assert source.count("self.templates.render(") == 1 and source.count("output =") == 1
    assert list(inspect.signature(StandaloneHTMLBuilder.handle_page).parameters) == [
        "self",
        "pagename",
        "addctx",
        "templatename",
        "outfilename",
        "event_arg",
    ]
    assert (
        inspect.getsource(StandaloneHTMLBuilder.get_output_path)
        .strip()
        .endswith("return Path(self.outdir, page_name + self.out_suffix)")
    )


def _sphinx_discover(srcdir: Path, excluded: list[str], included: list[str]) -> tuple:
    from sphinx.project import Project

    project = Project(srcdir, (".md", ".rst"))
    project.discover(excluded, included)
    return (
        sorted(project.docnames),
        list(project._path_to_docname.items()),
        list(project._docname_to_path.items()),
    )


def _kept_discover(srcdir: Path, cache: Path, excluded: list[str], included: list[str]) -> tuple:
    from sphinx.project import Project

    from kb import found_documents

    project = Project(srcdir, (".md", ".rst"))
    found_documents.discover(project, excluded, included, cache_path=cache)
    return (
        sorted(project.docnames),
        list(project._path_to_docname.items()),
        list(project._docname_to_path.items()),
    )


def test_kept_search_for_documents_finds_what_sphinx_finds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """kb/found_documents.py walks the source folder as ``get_matching_files`` does and then
    takes ``Project.discover``'s steps, listing again only the folders whose time changed. On a
    tree with excluded folders, a link to a folder, other suffixes, hidden files and non-ASCII
    names, and after each kind of change, it finds what Sphinx's own method finds, listing only the
    folders that changed."""
    import os
    import time
    import unicodedata

    from kb import found_documents

    src, cache = tmp_path / "src", tmp_path / "doctrees" / found_documents.CACHE_FILE
    files = [
        "index.md",
        "posts/a/index.md",
        "posts/a/code.py",
        "posts/b/index.rst",
        "posts/b/notes.txt",
        "posts/c/deep/er/page.md",
        "_build/html/x.md",
        "drafts/secret.md",
        "drafts/keep/not.md",
        "posts/d/__pycache__/junk.md",
        ".#lock.md",
        "posts/é/index.md",
    ]
    for name in files:
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text("# t\n", encoding="utf-8")
    (src / "linked").symlink_to(src / "posts" / "c", target_is_directory=True)
    excluded, included = ["_build", "drafts", "**/__pycache__"], ["**"]
    age = [100.0]

    def settle() -> None:
        """Every folder's time in the past, each change a distinct time, as a later build sees them."""
        age[0] += 10
        stamp = time.time() - 10_000 + age[0]
        for folder, _dirs, _files in os.walk(src):
            if Path(folder).stat().st_mtime > time.time() - found_documents.RECENT_NS / 1e9:
                os.utime(folder, (stamp, stamp))

    listed: list[str] = []
    list_folder = found_documents._list

    def counted_list(project: Any, path: str, *rest: Any) -> Any:
        listed.append(path)
        return list_folder(project, path, *rest)

    monkeypatch.setattr(found_documents, "_list", counted_list)

    def check(relisted: int | None) -> None:
        listed.clear()
        assert _kept_discover(src, cache, excluded, included) == _sphinx_discover(src, excluded, included)
        if relisted is not None:
            assert len(listed) == relisted, listed

    settle()
    check(None)  # no cache yet: every folder listed
    found = _sphinx_discover(src, excluded, included)[0]
    assert "posts/a/index" in found and "linked/deep/er/page" in found and "posts/b/index" in found
    assert not any(doc.startswith(("_build", "drafts", ".#")) or "__pycache__" in doc for doc in found)
    check(0)  # nothing changed: nothing listed
    (src / "posts/a/index.md").write_text("# edited in place\n", encoding="utf-8")
    settle()
    check(0)
    # An editor's save: a new file renamed over the old one changes the folder's time.
    (src / "posts/a/.index.md.swp").write_text("x", encoding="utf-8")
    os.replace(src / "posts/a/.index.md.swp", src / "posts/a/index.md")
    settle()
    check(1)
    (src / "posts/new/sub").mkdir(parents=True)
    (src / "posts/new/sub/index.md").write_text("# new\n", encoding="utf-8")
    settle()
    check(3)  # posts, posts/new, posts/new/sub
    (src / "posts/b/index.rst").rename(src / "posts/b/index.md")  # another suffix, same document
    settle()
    check(1)
    for name in ("code.py", "index.md"):
        (src / "posts/a" / name).unlink()
    (src / "posts/a").rmdir()
    settle()
    check(1)
    (src / "drafts/another.md").write_text("# excluded\n", encoding="utf-8")
    settle()
    check(0)  # an excluded folder is not looked at
    # A change seen within RECENT_NS of it: that folder is listed again by the next build too.
    (src / "posts/new/sub/late.md").write_text("# late\n", encoding="utf-8")
    check(1)
    check(1)
    settle()
    check(1)
    check(0)
    # Where Sphinx warns, its own method runs: two files for one document, and a file whose name
    # is not in NFC (Sphinx looks for the NFC name, and finds it "unreadable").
    (src / "posts/b/index.rst").write_text("dup\n", encoding="utf-8")
    settle()
    check(None)
    (src / "posts/b/index.rst").unlink()
    (src / unicodedata.normalize("NFD", "posts/ü/index.md")).parent.mkdir()
    (src / unicodedata.normalize("NFD", "posts/ü/index.md")).write_text("# nfd\n", encoding="utf-8")
    settle()
    check(None)
    (src / unicodedata.normalize("NFD", "posts/ü/index.md")).unlink()
    settle()
    check(None)
    check(0)
    # A pattern that is an absolute path matches nothing (sphinxcontrib-katex adds a new one to
    # the static paths every build): the folders are kept all the same.
    excluded.append(str(tmp_path / "katex-static"))
    check(0)
    other = tmp_path / "other" / found_documents.CACHE_FILE
    assert _kept_discover(src, other, ["_build"], included) == _sphinx_discover(src, ["_build"], included)


def test_sphinx_finds_documents_through_the_projects_discover_between_builder_inited_and_env_get_outdated():
    """kb/found_documents.py replaces ``app.project.discover`` at ``builder-inited`` and puts
    Sphinx's back at ``env-get-outdated``: the environment calls it from ``find_files``, which
    the builder's ``read`` calls before it emits ``env-get-outdated``."""
    from sphinx.builders import Builder
    from sphinx.environment import BuildEnvironment

    assert "self.project.discover(" in inspect.getsource(BuildEnvironment.find_files)
    assert in_order(inspect.getsource(Builder.read), "self.env.find_files(", "'env-get-outdated'")
