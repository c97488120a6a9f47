"""Unit tests of the local extensions in _ext/."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sphinx.search
from docutils import nodes
from sphinx.errors import ExtensionError

from kb.blog import frontmatter, post_meta
from kb.math import mathml, prerender
from kb.math.renderer import KatexRenderer
from sitebuild import ROOT, site_config

KATEX = ROOT / "node_modules" / "katex"


# -- frontmatter -------------------------------------------------------------------------------


def test_front_matter_keeps_text_and_line_numbers():
    front = frontmatter.FrontMatter.parse(
        textwrap.dedent("""\
        ---
        blogpost: true
        date: 2026-01-10
        tags: [扩散模型, DDIM]
        category: Generative Model
        ---
        # 标题
        """)
    )
    assert front.values == {
        "blogpost": "true",
        "date": "2026-01-10",
        "tags": ["扩散模型", "DDIM"],
        "category": "Generative Model",
    }
    assert front.lines == {"blogpost": 2, "date": 3, "tags": 4, "category": 5}
    assert front.end_line == 6


def test_front_matter_absent_or_unclosed():
    assert frontmatter.FrontMatter.parse("# 只有标题\n") is None
    with pytest.raises(ValueError) as error:
        frontmatter.FrontMatter.parse("---\ndate: 2026-01-01\n# 标题\n")
    assert error.value.args == ("front matter starts with '---' but is never closed", 1)


def test_front_matter_yaml_error_has_the_right_line():
    with pytest.raises(ValueError) as error:
        frontmatter.FrontMatter.parse("---\na: 1\nb: [1\nc: 2\n---\n")
    assert error.value.args[1] == 4


@pytest.mark.parametrize(
    "value,tags",
    [
        ("扩散模型, DDIM", ["扩散模型", "DDIM"]),
        (["扩散模型", "DDIM"], ["扩散模型", "DDIM"]),
        ("单个", ["单个"]),
        ("a,,b", ["a", "", "b"]),
        ({"a": 1}, None),
    ],
)
def test_split_tags(value, tags):
    assert frontmatter.split_tags(value) == tags


@pytest.mark.parametrize(
    "docname,slug",
    [
        ("posts/ddim-sampling/index", "ddim-sampling"),
        ("posts/ml/ddim-sampling/index", "ddim-sampling"),
        ("posts/ddim-sampling", None),
        ("index", None),
    ],
)
def test_post_slug(docname, slug):
    assert frontmatter.post_slug(docname) == slug


def test_dates():
    assert frontmatter.parse_date("2026-01-10 09:30").hour == 9
    assert frontmatter.parse_date("2026-01-10").day == 10
    assert frontmatter.parse_date("10/01/2026") is None


# -- search: query rules in the browser agree with the index's --------------------------------

SEARCH_JS = ROOT / "_ext" / "kb" / "search" / "search.js"
STEMMER_JS = [
    Path(sphinx.search.__file__).parent / "minified-js" / n for n in ("base-stemmer.js", "english-stemmer.js")
]


def run_search_js(expression: str) -> object:
    """Evaluate ``expression`` in node with search.js's functions (and the stemmer) loaded."""
    stemmer = "\n".join(p.read_text(encoding="utf-8") for p in STEMMER_JS)
    stemmer += "\nglobalThis.kbStemmer = new EnglishStemmer();"
    script = textwrap.dedent(f"""
        const vm = require("vm");
        vm.runInThisContext({json.dumps(stemmer)});
        const module_ = {{exports: {{}}}};
        new Function("module", {json.dumps(SEARCH_JS.read_text(encoding="utf-8"))})(module_);
        const kb = module_.exports;
        console.log(JSON.stringify({expression}));
        """)
    result = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def segment(queries: list[str], pages: dict[str, int]) -> object:
    return run_search_js(
        f"{json.dumps(queries)}.map(q => kb.kbSegmentChinese(q, w => ({json.dumps(pages)})[w] || 0))"
    )


def test_query_segmentation_cuts_chinese_into_indexed_words():
    pages = {
        w: 5 for w in ["扩散", "模型", "扩散模型", "采样", "研究", "生命", "研究生", "起源", "单调", "队列"]
    }
    pages |= {"单调队列": 3, "统计": 40, "计量": 2, "滑动": 9, "用非": -2, "非马尔可夫": 4, "马尔可夫": 9}
    assert segment(
        [
            "扩散模型",
            "扩散模型的采样",
            "研究生命起源",
            "量子",
            "如何用扩散模型",
            "扩散模型采样吗",
            "量子色扩散",
            "滑动统计量",
            "用非马尔可夫",
        ],
        pages,
    ) == [
        ["扩散模型"],
        ["扩散模型", "采样"],  # 的 is a function word
        ["研究", "生命", "起源"],  # fewest unknown characters beats fewest pieces
        ["量子"],  # not on the site: kept, so the search finds nothing
        ["扩散模型"],
        ["扩散模型", "采样"],
        ["量子色", "扩散"],
        ["滑动", "统计"],  # on a tie, the more common word (统计 + 量, not 统 + 计量)
        ["非马尔可夫"],  # a guessed pair counts as an unknown character: 用 + 非马尔可夫
    ]


FORMULAS = [
    r"\bar\alpha_t",
    r"{\bar\alpha}_t",
    r"\nabla_{\bm x}\log p_t(\bm x)",
    r"\KL(q\,\|\,p)",
    r"\operatorname{softmax}(z)_i",
    r"\mathcal{L}_{\mathrm{ELBO}}",
    r"\E[\norm{\bm\epsilon}^2]",
    r"x_{t-1}",
    r"\theta^\ast=\argmin_\theta L(\theta)",
    r"\text{速度}v_t",
    r"\begin{aligned}\Var[X]&=\E[X^2]-\E[X]^2\\&\ge 0\end{aligned}",
    r"(I-\gamma P_\pi)^{-1}",
]


def test_tex_terms_name_the_symbols_of_a_formula():
    from kb.search.tex import tex_terms

    macros = site_config()["kb_math_macros"]
    assert tex_terms(r"\bar\alpha_t") == ["bar", "alpha", "alpha_t"]
    assert tex_terms(r"\nabla_{\bm x}\log p_t(\bm x)") == ["nabla", "nabla_x", "log", "p_t"]
    assert "kl" in tex_terms(r"\KL(q\|p)", macros)  # the site's macro expanded
    assert tex_terms(r"\operatorname{softmax}(z)") == ["softmax"]
    assert tex_terms(r"\mathcal{L}_{\mathrm{ELBO}}") == ["l_elbo", "elbo"]
    assert tex_terms(r"x + y") == []  # single letters are not terms


def test_browser_and_index_agree_on_tex_terms_latin_terms_and_stop_words():
    from sphinx.search._stopwords.en import ENGLISH_STOPWORDS

    from kb.search.tex import tex_terms
    from kb.search.zh import latin_term

    macros = site_config()["kb_math_macros"]
    in_browser = run_search_js(f"{json.dumps(FORMULAS)}.map(f => kb.kbTexTerms(f, {json.dumps(macros)}))")
    assert in_browser == [tex_terms(f, macros) for f in FORMULAS]
    words = [
        "inversion",
        "Diffusion",
        "models",
        "was",
        "alpha_t",
        "predictor",
        "corrector",
        "heapq",
        "deques",
    ]
    assert run_search_js(f"{json.dumps(words)}.map(kb.kbLatinTerm)") == [latin_term(w) for w in words]
    plain = sorted(w for w in ENGLISH_STOPWORDS if "'" not in w)
    assert sorted(run_search_js("[...kb.KB_STOPWORDS]")) == plain


def test_typo_distance_counts_one_edit_or_swap():
    assert run_search_js(
        "[kb.kbEditDistance('difus', 'diffus', 2), kb.kbEditDistance('autogard', 'autograd', 2),"
        " kb.kbEditDistance('xgbost', 'xgboost', 2), kb.kbEditDistance('abc', 'xyz', 1)]"
    ) == [1, 1, 1, 2]


# -- KaTeX renderer ----------------------------------------------------------------------------


def test_renderer_renders_macros_and_reports_errors():
    renderer = KatexRenderer("node", KATEX, {r"\E": r"\mathbb{E}"}, timeout=30)
    try:
        ok, bad, loose = renderer.render_many(
            [
                {"latex": r"\E[x]", "display": False},
                {"latex": r"\frac{1}{", "display": True},
                {"latex": "x 为 y", "display": False},
            ]
        )
    finally:
        renderer.close()
    assert 'mathvariant="double-struck"' in ok["html"] and not ok["warnings"]
    assert "Unexpected end of input" in bad["error"]
    assert loose["warnings"] and "unicodeTextInMathMode" in loose["warnings"][0]


def test_feed_formulas_keep_only_mathml():
    renderer = KatexRenderer("node", KATEX, {}, timeout=30)
    try:
        inline, display = renderer.render_many(
            [
                {"latex": r"\sqrt{\alpha_t}\,x_0", "display": False},  # an <svg> inside the spans
                {"latex": r"\frac{a}{b}", "display": True},
            ]
        )
    finally:
        renderer.close()
    page = f"<p>前文 {inline['html']} 中间</p><div>{display['html']}</div><span>后文</span>"
    feed = mathml.mathml_only(page)
    assert "katex-html" not in feed and "<svg" not in feed
    assert feed.count("<math") == 2 and 'display="block"' in feed
    assert r'<annotation encoding="application/x-tex">\sqrt{\alpha_t}\,x_0</annotation>' in feed
    assert (
        feed.startswith("<p>前文 ") and " 中间</p><div>" in feed and feed.endswith("</div><span>后文</span>")
    )
    # Only KaTeX's HTML rendering goes: every other span stays, and the spans balance.
    # span.katex and span.katex-mathml twice, span.katex-display, and the page's own span.
    assert feed.count("<span") == feed.count("</span>") == 6
    assert mathml.mathml_only("<p>无公式</p>") == "<p>无公式</p>"
    with pytest.raises(ValueError, match="unclosed"):
        mathml.mathml_only('<span class="katex-html" aria-hidden="true"><span>')


def test_page_formulas_drop_the_mathml_and_are_named_by_their_tex():
    renderer = KatexRenderer("node", KATEX, {}, timeout=30)
    try:
        inline, display = renderer.render_many(
            [
                {"latex": r"\sqrt{\alpha_t}\,x_0 < \frac{a}{b}", "display": False},
                {"latex": '\\begin{aligned}\na &= "b"\n\\end{aligned}', "display": True},
            ]
        )
    finally:
        renderer.close()
    page = mathml.page_formula(inline["html"], r"\sqrt{\alpha_t}\,x_0 < \frac{a}{b}")
    assert "<math" not in page and "katex-mathml" not in page and "<annotation" not in page
    # All of KaTeX's HTML rendering stays, hidden from screen readers, and the spans balance.
    assert inline["html"].split('<span class="katex-html"')[1] in page
    assert page.count("<span") == page.count("</span>")
    assert page.startswith(
        '<span class="katex" role="math" aria-label="\\sqrt{\\alpha_t}\\,x_0 &lt; \\frac{a}{b}">'
    )
    assert '<span class="katex-html" aria-hidden="true">' in page
    # A display formula: the label is its source on one line, quotes escaped for the attribute.
    block = mathml.page_formula(display["html"], '\\begin{aligned}\na &= "b"\n\\end{aligned}')
    assert block.startswith('<span class="katex-display"><span class="katex" role="math" ')
    assert 'aria-label="\\begin{aligned} a &amp;= &quot;b&quot; \\end{aligned}"' in block
    assert block.count('role="math"') == 1 and "<math" not in block
    # What is not a KaTeX formula passes through.
    error = '<span class="katex-error">\\frac{</span>'
    assert mathml.page_formula(error, "\\frac{") == error
    # A feed entry keeps both renderings (and then only the MathML, mathml_only).
    with mathml.rendering_for_feed():
        assert mathml.page_formula(inline["html"], "x") == inline["html"]
    assert "<math" not in mathml.page_formula(inline["html"], "x")


def test_renderer_without_node_is_a_clear_error():
    with pytest.raises(ExtensionError, match="cannot start Node.js"):
        KatexRenderer("/nonexistent/node", KATEX, {}, timeout=5)


def test_silent_renderer_times_out_instead_of_hanging(tmp_path: Path):
    silent = tmp_path / "node"
    silent.write_text("#!/bin/sh\nexec sleep 60\n")
    silent.chmod(0o755)
    start = time.monotonic()
    with pytest.raises(ExtensionError, match="no answer within 1 s"):
        KatexRenderer(str(silent), KATEX, {}, timeout=1)
    assert time.monotonic() - start < 10


def test_crashing_renderer_is_a_clear_error(tmp_path: Path):
    crash = tmp_path / "node"
    crash.write_text("#!/bin/sh\necho 'katex exploded' >&2\nexit 3\n")
    crash.chmod(0o755)
    with pytest.raises(ExtensionError, match="exited with code 3: katex exploded"):
        KatexRenderer(str(crash), KATEX, {}, timeout=5)


def test_renderer_exits_when_the_build_goes_away():
    renderer = KatexRenderer("node", KATEX, {}, timeout=30)
    process = renderer.process
    process.stdin.close()  # what the OS does when the Python process dies
    assert process.wait(timeout=5) == 0


def test_renderer_started_early_waits_for_node_on_first_use(tmp_path: Path):
    # builder-inited starts node without waiting; the first batch waits for its greeting.
    slow = tmp_path / "node"
    slow.write_text('#!/bin/sh\nsleep 1\nexec node "$@"\n')
    slow.chmod(0o755)
    start = time.monotonic()
    renderer = KatexRenderer(str(slow), KATEX, {}, timeout=30, wait=False)
    try:
        assert time.monotonic() - start < 0.5 and not renderer.ready
        (answer,) = renderer.render_many([{"latex": "x^2", "display": False}])
        assert renderer.ready and "katex" in answer["html"]
    finally:
        renderer.close()
    # A greeting that is not KaTeX's is still the clear error, at first use.
    silent = tmp_path / "silent"
    silent.write_text("#!/bin/sh\necho '{}'\nexec sleep 60\n")
    silent.chmod(0o755)
    quiet = KatexRenderer(str(silent), KATEX, {}, timeout=5, wait=False)
    with pytest.raises(ExtensionError, match="instead of its version"):
        quiet.render_many([{"latex": "x", "display": False}])
    quiet.process.kill()
    quiet.process.wait()


def test_forked_process_starts_its_own_renderer(monkeypatch: pytest.MonkeyPatch):
    # A renderer another process started (inherited through Sphinx's forks) is kept aside, not
    # used: its pipe is the parent's and its reader thread is gone.
    from kb.math import renderer as module

    app: Any = SimpleNamespace(
        confdir=str(ROOT),
        config=SimpleNamespace(
            kb_math_node="node",
            kb_math_node_modules="node_modules",
            kb_math_macros={},
            kb_math_render_timeout=30,
        ),
    )
    monkeypatch.setattr(module.State, "renderer", None)
    monkeypatch.setattr(module.State, "inherited", [])
    # Without node, starting early is silent: the first formula reports it.
    app.config.kb_math_node = "/nonexistent/node"
    module.start_renderer_early(app)
    assert module.State.renderer is None
    with pytest.raises(ExtensionError, match="cannot start Node.js"):
        module.renderer(app)
    app.config.kb_math_node = "node"
    module.start_renderer_early(app)
    parents = module.State.renderer
    assert parents is not None and not parents.ready
    try:
        assert module.renderer(app) is parents and parents.ready  # this process's own
        parents.owner = os.getpid() + 1  # as seen from a forked child
        own = module.renderer(app)
        try:
            assert own is not parents and module.State.inherited == [parents]
            assert own.owner == os.getpid() and own.render_many([{"latex": "y", "display": False}])
        finally:
            own.close()
    finally:
        parents.close()


def test_numbered_amsmath_environments_are_left_to_sphinx():
    block = nodes.math_block("", "\\begin{align}a &= b\\\\ c &= d\\end{align}", nowrap=True)
    assert prerender.latex_for_katex(block) == "\\begin{align*}a &= b\\\\ c &= d\\end{align*}"
    plain = nodes.math_block("", "\\begin{aligned}a\\end{aligned}", nowrap=False)
    assert prerender.latex_for_katex(plain) == "\\begin{aligned}a\\end{aligned}"


# -- reading time ------------------------------------------------------------------------------

CONFIG = SimpleNamespace(
    kb_reading_cjk_per_minute=300,
    kb_reading_words_per_minute=200,
    kb_reading_math_symbols_per_minute=300,
    kb_reading_code_lines_per_minute=120,
    kb_reading_first_image_seconds=12,
    kb_reading_least_image_seconds=3,
)


def doc(*children: nodes.Node) -> nodes.document:
    document = nodes.section()
    document.extend(children)
    return document


def test_reading_time_counts_chinese_characters_and_latin_words():
    assert post_meta.reading_minutes(doc(nodes.paragraph(text="字" * 300)), CONFIG) == 1
    assert post_meta.reading_minutes(doc(nodes.paragraph(text="字" * 3000)), CONFIG) == 10
    assert post_meta.reading_minutes(doc(nodes.paragraph(text="字" * 3001)), CONFIG) == 11
    assert post_meta.reading_minutes(doc(nodes.paragraph(text="word " * 1000)), CONFIG) == 5
    assert post_meta.reading_minutes(doc(nodes.paragraph(text="，。、")), CONFIG) == 1  # never 0


def test_formulas_cost_their_symbols_not_their_markup():
    assert post_meta.tex_symbols(r"\frac{a}{b}") == 3
    assert post_meta.tex_symbols(r"\sqrt{\bar\alpha_t}\,\bm{x}_0") == 6
    assert post_meta.tex_symbols(r"\left( x \right) \quad \mathbb{E}[y]") == 7  # ( x ) E [ y ]
    assert post_meta.tex_symbols("\\begin{aligned} a &= b \\\\ c &= d \\end{aligned}") == 6
    # the same formula written with more markup reads the same
    assert post_meta.tex_symbols(r"\mathrm{d}x") == post_meta.tex_symbols("dx")


def test_reading_time_weighs_code_math_and_figures():
    text = nodes.paragraph(text="字" * 1500)  # 5 minutes
    code = nodes.literal_block(text="\n".join(["x = 1", ""] * 240))  # 240 lines and blanks: 2 minutes
    formulas = [nodes.math_block(text="x + y = z" * 5) for _ in range(12)]  # 12 * 25 symbols: 1 minute
    figures = [nodes.figure() for _ in range(12)]  # 12 + 11 + ... + 3, then 3 + 3: 81 s
    assert post_meta.reading_minutes(doc(text.deepcopy()), CONFIG) == 5
    assert post_meta.reading_minutes(doc(text.deepcopy(), code), CONFIG) == 7
    assert post_meta.reading_minutes(doc(text.deepcopy(), code.deepcopy(), *formulas), CONFIG) == 8
    length = post_meta.measure(doc(text.deepcopy(), code.deepcopy(), *formulas, *figures))
    assert length == post_meta.Length(cjk=1500, math_symbols=300, code_lines=240, figures=12)
    assert post_meta.reading_seconds(length, CONFIG) == 300 + 120 + 60 + sum(range(3, 13)) + 6


def test_length_counts_the_prose_only():
    """字数: Chinese characters and Latin words of what is read, not code, formulas or the
    reference list."""
    reference = nodes.footnote("", nodes.paragraph(text="Ho, J. 去噪扩散概率模型. 2020."))
    body = doc(
        nodes.paragraph("", "", nodes.Text("扩散模型 DDIM 采样"), nodes.math(text=r"\alpha_t")),
        nodes.literal_block(text="def sample(): 采样"),
        reference,
    )
    length = post_meta.measure(body)
    assert (length.cjk, length.words, length.characters) == (6, 1, 7)


# -- icon_font -----------------------------------------------------------------------------------


def test_icon_rules_are_parsed_with_aliases_after_trimming():
    from kb.assets import icon_font, unused_css

    css = (
        '.x{color:red}.fa-bars,.fa-navicon{--fa:"\\f0c9"}.fa-sun{--fa:"\\f185"}'
        '.fa-moon{--fa:"\uf186"}:root{--pst-icon-download:"\\f019";--pst-icon-gone:"\\f000"}'
        ".download:before{content:var(--pst-icon-download)}.fa-solid:before{content:var(--fa)}"
    )
    table = icon_font.icon_codepoints(css)
    assert table["fa-bars"] == table["fa-navicon"] == {0xF0C9}
    assert table["fa-moon"] == {0xF186}
    assert icon_font.theme_codepoints(css) == {0xF019, 0xF000}
    # What icon_font reads after unused_css: the used icons' rules, serialised by tinycss2.
    trimmed = unused_css.trim_stylesheets(
        {"t.css": css}, {"fa-navicon", "fa-moon", "fa-solid", "download"}, set()
    )["t.css"]
    table = icon_font.icon_codepoints(trimmed)
    assert table == {"fa-navicon": {0xF0C9}, "fa-moon": {0xF186}}  # unused alias fa-bars: gone
    assert icon_font.theme_codepoints(trimmed) == {0xF019}  # --pst-icon-gone: nothing uses it


# -- css_bundle ----------------------------------------------------------------------------------


def test_the_bundle_resolves_imports_rebases_urls_and_names_its_encoding_once(tmp_path: Path):
    from kb.assets import css_bundle

    static = tmp_path / "_static"
    (static / "styles").mkdir(parents=True)
    (static / "katex" / "fonts").mkdir(parents=True)
    (static / "basic.css").write_text("div.body { margin: 0 }\n", encoding="utf-8")
    (static / "styles" / "theme.css").write_text('@import "../basic.css";\n', encoding="utf-8")
    (static / "styles" / "pydata-sphinx-theme.css").write_text(
        '@charset "UTF-8";.a{background:url(../vendor/i.svg)}\n/*# sourceMappingURL=p.css.map */\n',
        encoding="utf-8",
    )
    (static / "katex" / "katex.min.css").write_text(
        "@font-face{font-family:K;src:url(fonts/K.woff2) format(\"woff2\"),url('fonts/K.woff')}"
        '.b{background:url("data:image/svg+xml;utf8,<svg/>")}.c{background:url(#m)}',
        encoding="utf-8",
    )
    (static / "kb.css").write_text('.d{content:"→"}', encoding="utf-8")
    text = css_bundle.bundle_text(
        static, ["styles/theme.css", "styles/pydata-sphinx-theme.css", "katex/katex.min.css", "kb.css"]
    )
    assert text.startswith('@charset "UTF-8";\n') and text.count("@charset") == 1
    assert "@import" not in text and "sourceMappingURL" not in text
    assert text.index("div.body") < text.index(".a{") < text.index("@font-face") < text.index(".d{")
    assert "url(../vendor/i.svg)" in text  # the bundle's own folder: as it was
    assert "url(../katex/fonts/K.woff2) format(\"woff2\"),url('../katex/fonts/K.woff')" in text
    assert 'url("data:image/svg+xml;utf8,<svg/>")' in text and "url(#m)" in text


@pytest.mark.parametrize(
    "rule, problem",
    [
        ('@import "b.css";', "@import cycle"),
        ('@import url("https://cdn.example.org/x.css");', "cannot bundle"),
        ('@import "c.css" print;', "cannot bundle"),
    ],
)
def test_the_bundle_refuses_imports_it_cannot_inline(tmp_path: Path, rule: str, problem: str):
    from kb.assets import css_bundle

    (tmp_path / "a.css").write_text('@import "b.css";', encoding="utf-8")
    (tmp_path / "b.css").write_text(rule.replace("b.css", "a.css"), encoding="utf-8")
    (tmp_path / "c.css").write_text(".c{}", encoding="utf-8")
    with pytest.raises(ValueError, match=problem):
        css_bundle.part_text(tmp_path, "a.css")


# -- related_posts: Chinese-aware text similarity ------------------------------------------------


def _doctree(markdown_like: list[tuple[str, str]]):
    from docutils import nodes

    document = nodes.section()
    for kind, text in markdown_like:
        node = {"p": nodes.paragraph, "code": nodes.literal_block, "math": nodes.math_block}[kind]
        document += node(text, text)
    return document


def test_related_terms_are_cjk_bigrams_and_latin_words_without_code_or_math():
    from kb.pages.related_posts import text_terms

    terms = text_terms(
        _doctree([("p", "扩散模型用 DDIM 采样"), ("code", "print('扩散')"), ("math", r"\nabla \log p")])
    )
    assert terms == {"扩散": 1, "散模": 1, "模型": 1, "型用": 1, "ddim": 1, "采样": 1}


def _bigrams(text: str) -> dict[str, int]:
    from collections import Counter

    counts: Counter[str] = Counter()
    for run in re.findall(r"[\u4e00-\u9fff]+", text):
        counts.update(run[i : i + 2] for i in range(len(run) - 1))
    return dict(counts)


def _reference_vectors(terms: dict[str, dict[str, int]], top: int) -> dict[str, dict[str, float]]:
    """The definition, computed the slow way: sublinear TF-IDF, top terms, unit length."""
    import math

    from kb.pages.related_posts import term_key

    n = len(terms)
    df: dict[str, int] = {}
    for counts in terms.values():
        for term in counts:
            df[term] = df.get(term, 0) + 1
    vectors = {}
    for doc, counts in terms.items():
        weights = {t: (1 + math.log(c)) * math.log(n / df[t]) for t, c in counts.items() if df[t] < n}
        kept = sorted(weights.items(), key=lambda item: (-item[1], term_key(item[0])))[:top]
        norm = math.sqrt(sum(w * w for _t, w in kept)) or 1.0
        vectors[doc] = {t: w / norm for t, w in kept}
    return vectors


def _reference_cosines(terms: dict[str, dict[str, int]], top: int) -> dict[tuple[str, str], float]:
    vectors = _reference_vectors(terms, top)
    return {
        (a, b): sum(w * vectors[b].get(t, 0.0) for t, w in vectors[a].items()) for a in terms for b in terms
    }


def test_related_similarity_prefers_shared_topics_and_ignores_insertion_order():
    from kb.pages.related_posts import term_counts, tfidf_matrix

    texts = {
        "a": "扩散模型的得分函数与朗之万采样，扩散模型逐步去噪。",
        "b": "得分函数驱动的朗之万采样也用于扩散模型的去噪。",
        "c": "Java 的进程与线程：线程共享堆内存，进程之间彼此隔离。",
        "d": "线程调度与进程间通信，Java 虚拟机中的线程状态。",
    }
    terms = {key: term_counts(_bigrams(text)) for key, text in texts.items()}
    docs = sorted(terms)
    matrix = tfidf_matrix(terms, docs)
    scores = (matrix @ matrix.T).toarray()
    a, b, c, d = range(4)
    assert scores[a, b] > scores[a, c] and scores[a, b] > scores[a, d]
    assert scores[c, d] > scores[c, a]
    assert scores[a, b] == scores[b, a]
    assert abs(scores[a, a] - 1) < 1e-12  # unit vectors
    reordered = tfidf_matrix(dict(reversed(list(terms.items()))), docs)
    assert (reordered != matrix).nnz == 0


def test_related_matrix_matches_the_slow_definition_with_truncated_vectors():
    import random

    from kb.pages.related_posts import term_counts, tfidf_matrix

    rng = random.Random(7)
    alphabet = "扩散模型得分函数朗之万采样去噪线程进程调度内存梯度方差"
    terms = {
        f"doc{i:02d}": _bigrams("".join(rng.choice(alphabet) for _ in range(rng.randint(5, 120))))
        for i in range(25)
    }
    docs = sorted(terms)
    matrix = tfidf_matrix(
        {doc: term_counts(terms[doc]) for doc in docs}, docs, top=12
    )  # small enough that truncation and ties matter
    assert max(matrix.getnnz(axis=1)) == 12
    scores = (matrix @ matrix.T).toarray()
    expected = _reference_cosines(terms, top=12)
    for i, x in enumerate(docs):
        for j, y in enumerate(docs):
            assert abs(scores[i, j] - expected[x, y]) < 1e-9, (x, y)


def _related_site(size: int, seed: int):
    """A site of ``size`` posts with random prose, tags, dates and links, as ``related`` sees it."""
    import random
    from datetime import datetime, timedelta
    from types import SimpleNamespace

    from kb.pages.related_posts import term_counts

    rng = random.Random(seed)
    alphabet = "扩散模型得分函数朗之万采样去噪线程进程调度内存梯度方差"
    tag_pool = ["扩散", "采样", "并发", "优化", "概率", "Java"]
    docs = [f"posts/p{i:02d}/index" for i in range(size)]
    terms = {doc: _bigrams("".join(rng.choice(alphabet) for _ in range(rng.randint(5, 80)))) for doc in docs}
    infos = {
        doc: [
            {
                "tags": rng.sample(tag_pool, rng.randint(0, 3)),
                "date": datetime(2024, 1, 1) + timedelta(days=rng.randrange(60)),  # dates repeat
            }
        ]
        for doc in docs
    }
    links = {
        doc: {other for other in rng.sample(docs, 2) if other != doc and rng.random() < 0.2} for doc in docs
    }
    env = SimpleNamespace(
        ablog_posts=infos,
        found_docs=set(docs),
        kb_post_terms={doc: term_counts(terms[doc]) for doc in docs},
    )
    config = SimpleNamespace(kb_related_count=5, kb_related_weights={"text": 0.5, "tags": 0.3, "links": 0.2})
    return env, config, terms, links


def _reference_related(env, terms, links, cap: int) -> dict[str, list[str]]:
    """``related``'s documented definition, the slow way: every pair, the capped cosine, the
    tag and tag-pair neighbourhoods in date order, Jaccard, links; rounded, ties by name."""
    import itertools

    from kb.pages.related_posts import TOP_TERMS

    docs = sorted(terms)
    vectors = _reference_vectors(terms, TOP_TERMS)
    heaviest: dict[str, list[str]] = {}
    for term in {t for vector in vectors.values() for t in vector}:
        holders = sorted((d for d in docs if term in vectors[d]), key=lambda d: (-vectors[d][term], d))
        heaviest[term] = holders[:cap]
    tags = {doc: set(env.ablog_posts[doc][0]["tags"]) for doc in docs}
    dated = sorted(docs, key=lambda d: (str(env.ablog_posts[d][0]["date"]), d))
    near = set()
    groups = {
        g
        for d in docs
        for g in itertools.chain(((t,) for t in tags[d]), itertools.combinations(sorted(tags[d]), 2))
    }
    for group in groups:
        members = [d for d in dated if set(group) <= tags[d]]
        near |= {(a, b) for i, a in enumerate(members) for b in members[i + 1 : i + 1 + cap]}
    result = {}
    for a in docs:
        scores = {}
        for b in docs:
            cosine = sum(
                w * vectors[b][t]
                for t, w in vectors[a].items()
                if t in vectors[b] and {a, b} <= set(heaviest[t])
            )
            linked = b in links[a] or a in links[b]
            candidate = a != b and (cosine > 0 or linked or (a, b) in near or (b, a) in near)
            union = len(tags[a] | tags[b])
            jaccard = len(tags[a] & tags[b]) / union if union else 0.0
            score = round(0.5 * cosine + 0.3 * jaccard + 0.2 * linked, 9)
            if candidate and score > 0:
                scores[b] = score
        result[a] = sorted(scores, key=lambda b: (-scores[b], b))[:5]
    return result


@pytest.mark.parametrize("dense", [True, False], ids=["n-by-n", "sparse"])
@pytest.mark.parametrize("cap", [2, 5, 40])
def test_related_lists_follow_the_documented_candidate_rule(monkeypatch, cap: int, dense: bool):
    """``related`` scores candidate pairs only (kb/pages/related_posts.py). With the cap above
    the site's size that is every pair (the lists a full scoring gives); with a small cap, terms
    and tags held by more posts than the cap are cut exactly as the docstring says. Both ways of
    scoring them: as n x n arrays (small sites) and through the candidates' sparse lists."""
    from kb.pages import related_posts

    env, config, terms, links = _related_site(30, seed=cap)
    monkeypatch.setattr(related_posts, "CAP", cap)
    monkeypatch.setattr(related_posts, "DENSE_UP_TO", 30 if dense else 0)
    monkeypatch.setattr(related_posts, "links_between_posts", lambda env, posts: {p: links[p] for p in posts})
    lists = {doc: [b for b, _reason in items] for doc, items in related_posts.related(env, config).items()}
    assert lists == _reference_related(env, terms, links, cap)
    if cap == 2:  # the cap cuts something here: a full scoring gives other lists
        assert lists != _reference_related(env, terms, links, 100)


def test_both_ways_of_scoring_give_the_same_lists_and_reasons(monkeypatch):
    """A site with ties (few distinct words, repeated dates and tags) and a cap that cuts: the
    n x n arrays and the candidates' sparse lists give the same lists, reasons included."""
    from kb.pages import related_posts

    env, config, _terms, links = _related_site(120, seed=7)
    monkeypatch.setattr(related_posts, "CAP", 6)
    monkeypatch.setattr(related_posts, "links_between_posts", lambda env, posts: {p: links[p] for p in posts})
    dense = related_posts.related(env, config)
    monkeypatch.setattr(related_posts, "DENSE_UP_TO", 0)
    sparse = related_posts.related(env, config)
    assert dense == sparse
    assert sum(map(len, dense.values())) > 300 and any(
        "文中互有引用" in r for v in dense.values() for _b, r in v
    )


@pytest.mark.parametrize("dense", [True, False], ids=["n-by-n", "sparse"])
def test_posts_that_share_nothing_have_no_related_articles(monkeypatch, dense: bool):
    from types import SimpleNamespace

    from kb.pages import related_posts

    monkeypatch.setattr(related_posts, "DENSE_UP_TO", 3 if dense else 0)

    docs = ["posts/a/index", "posts/b/index", "posts/c/index"]
    env: Any = SimpleNamespace(
        ablog_posts={doc: [{"tags": [], "date": None}] for doc in docs},
        found_docs=set(docs),
        kb_post_terms={"posts/a/index": related_posts.term_counts({})},  # no prose (code only)
    )
    config = SimpleNamespace(kb_related_count=5, kb_related_weights={"text": 0.5, "tags": 0.3, "links": 0.2})
    monkeypatch.setattr(related_posts, "links_between_posts", lambda env, posts: {p: set() for p in posts})
    assert related_posts.related(env, config) == {doc: () for doc in docs}


def test_capped_columns_keep_each_columns_heaviest_entries_ties_to_the_smaller_row():
    from scipy import sparse

    from kb.pages.related_posts import capped_columns

    matrix = sparse.csr_matrix([[0.5, 0.1], [0.2, 0.3], [0.5, 0.3], [0.9, 0.0]])
    assert capped_columns(matrix, 2).toarray().tolist() == [[0.5, 0.0], [0.0, 0.3], [0.0, 0.3], [0.9, 0.0]]
    assert capped_columns(matrix, 4).toarray().tolist() == matrix.toarray().tolist()


def test_term_numbers_are_numpys_unique():
    import numpy as np

    from kb.pages.related_posts import _term_numbers

    keys = np.array([7, 3, 7, 2**63 + 5, 3, 0, 7], np.uint64)
    vocabulary, inverse = np.unique(keys, return_inverse=True)
    number, df = _term_numbers(keys)
    assert number.tolist() == inverse.tolist()
    assert df.tolist() == np.bincount(inverse).tolist()


def test_term_columns_kept_across_builds_are_those_of_sorting_every_key():
    """``term_columns`` numbers the terms from ids kept in the environment; through reading
    posts again, new posts, removed ones and the ids given anew, it gives what sorting every
    key gives (``_term_numbers``), and so the same TF-IDF matrix."""
    import random
    from types import SimpleNamespace

    import numpy as np

    from kb.pages.related_posts import _term_numbers, term_columns, term_counts, tfidf_matrix

    rng = random.Random(3)

    def prose(alphabet: str = "扩散模型得分函数朗之万采样去噪线程进程调度内存梯度方差") -> dict[str, int]:
        return _bigrams("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))))

    env: Any = SimpleNamespace(kb_post_terms={f"p{i:02d}": term_counts(prose()) for i in range(20)})

    def check(docs: list[str]) -> None:
        keys = [np.frombuffer(env.kb_post_terms[doc][0], np.uint64) for doc in docs]
        number, df = term_columns(env, docs)
        expected_number, expected_df = _term_numbers(np.concatenate(keys))
        assert number.tolist() == expected_number.tolist()
        assert df.tolist() == expected_df.tolist()
        kept = tfidf_matrix(env.kb_post_terms, docs, columns=(number, df))
        assert (kept != tfidf_matrix(env.kb_post_terms, docs)).nnz == 0

    docs = sorted(env.kb_post_terms)
    check(docs)
    stable, others = docs[:5], docs[5:]
    ids = {doc: env.kb_post_term_ids[doc] for doc in stable}
    for round_ in range(30):
        # What a build does: a post read again loses its ids (env-purge-doc) and gets new terms;
        # a post is added; a post is removed.
        for doc in rng.sample(others, 3):
            env.kb_post_term_ids.pop(doc)
            env.kb_post_terms[doc] = term_counts(prose())
        others.append(f"new{round_:02d}")
        env.kb_post_terms[others[-1]] = term_counts(prose())
        gone = others.pop(rng.randrange(len(others)))
        env.kb_post_terms.pop(gone)
        env.kb_post_term_ids.pop(gone, None)
        check(sorted(stable + others))
    assert {doc: env.kb_post_term_ids[doc] for doc in stable} == ids  # kept, not given again

    # Every post rewritten with other words: most ids fall out of use, and all are given anew.
    before = len(env.kb_term_ids)
    for doc in stable + others:
        env.kb_post_term_ids.pop(doc)
        env.kb_post_terms[doc] = term_counts(prose("一二三四"))
    check(sorted(stable + others))
    assert len(env.kb_term_ids) < before // 4

    env.kb_post_terms = {"only": term_counts({})}
    env.kb_post_term_ids.clear()
    check(["only"])  # a post without prose: no terms at all


def test_tfidf_rows_kept_across_builds_are_those_computed_anew(monkeypatch):
    """``kept_tfidf_matrix`` takes a post's row from the last build unless the post was read
    again, the number of posts changed or one of its terms' document frequency did. Through
    edits that change counts only, add a term, drop a shared term, add and remove posts, its
    matrix is the one computed anew, value for value, and it computes only the rows it must."""
    import random
    from types import SimpleNamespace

    import numpy as np

    from kb.pages import related_posts
    from kb.pages.related_posts import kept_tfidf_matrix, term_counts, tfidf_matrix

    rng = random.Random(11)
    alphabet = "扩散模型得分函数朗之万采样去噪线程进程调度内存梯度方差"

    def prose() -> dict[str, int]:
        return _bigrams("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 90))))

    computed: list[int] = []
    unit_rows = related_posts._unit_rows
    monkeypatch.setattr(
        related_posts,
        "_unit_rows",
        lambda counts, *args: (computed.append(len(counts)), unit_rows(counts, *args))[1],
    )
    env: Any = SimpleNamespace(kb_post_terms={f"p{i:02d}": term_counts(prose()) for i in range(40)})

    def check() -> list[str]:
        """Build: the kept matrix equals the one computed anew. Returns the docs whose rows
        this build computed."""
        docs = sorted(env.kb_post_terms)
        before = dict(env.__dict__.get("kb_post_tfidf", {}))
        computed.clear()
        kept = kept_tfidf_matrix(env, docs, top=12)  # small enough that the cut matters
        rows_computed = sum(computed)
        fresh = tfidf_matrix(env.kb_post_terms, docs, top=12)
        assert np.array_equal(kept.indptr, fresh.indptr)
        assert np.array_equal(kept.indices, fresh.indices)
        assert kept.data.tobytes() == fresh.data.tobytes()  # the same numbers, bit for bit
        assert sorted(env.kb_post_tfidf) == docs
        redone = [d for d in docs if before.get(d) is not env.kb_post_tfidf[d]]
        assert rows_computed == len(redone)
        return redone

    def read_again(doc: str, terms: dict[str, int]) -> None:
        """What a build does to a post it reads again (env-purge-doc, then doctree-read)."""
        env.kb_post_tfidf.pop(doc, None)
        env.kb_post_term_ids.pop(doc, None)
        env.kb_post_terms[doc] = term_counts(terms)

    assert len(check()) == 40
    assert check() == []  # nothing read again: every row kept
    terms = {doc: _bigrams("".join(rng.choice(alphabet) for _ in range(60))) for doc in ("p03", "p04")}
    for doc, words in terms.items():
        read_again(doc, words)
    check()

    # Only the counts change: the post's own row, nothing else.
    read_again("p03", {term: count + 1 for term, count in terms["p03"].items()})
    assert check() == ["p03"]
    # A term no other post has: its frequency is new, and only this post has it.
    read_again("p03", {**terms["p03"], "新词": 3})
    assert check() == ["p03"]
    # A term a few other posts share leaves the post: every post that has it changes, and
    # keeping their old rows would be wrong (a rare term is heavy enough to be kept in them).
    holders_of = {
        term: [d for d in sorted(env.kb_post_terms) if d != "p03" and term in _bigrams_of(env, d)]
        for term in terms["p03"]
    }
    shared = min((t for t in holders_of if holders_of[t]), key=lambda t: (len(holders_of[t]), t))
    holders = holders_of[shared]
    old_rows = {d: env.kb_post_tfidf[d] for d in holders}
    read_again("p03", {t: c for t, c in terms["p03"].items() if t != shared})
    redone = check()
    assert set(holders) <= set(redone) and len(redone) < 40
    assert any(env.kb_post_tfidf[d] != old_rows[d] for d in holders)
    # A post added, then one removed: the number of posts changes every IDF.
    env.kb_post_terms["p99"] = term_counts(prose())
    assert len(check()) == 41
    del env.kb_post_terms["p10"]
    env.kb_post_term_ids.pop("p10")
    assert len(check()) == 40 and "p10" not in env.kb_post_tfidf
    for _round in range(15):  # edits of every kind at once
        for doc in rng.sample(sorted(env.kb_post_terms), 3):
            read_again(doc, prose())
        check()


def _bigrams_of(env: Any, doc: str) -> set[str]:
    """The terms of a post whose counts ``_bigrams`` made, by key."""
    import numpy as np

    from kb.pages.related_posts import term_key

    keys = set(np.frombuffer(env.kb_post_terms[doc][0], np.uint64).tolist())
    alphabet = "扩散模型得分函数朗之万采样去噪线程进程调度内存梯度方差"
    return {a + b for a in alphabet for b in alphabet if term_key(a + b) in keys}


def test_split_text_indexes_every_dictionary_word_and_stems():
    from kb.search.zh import split_text

    words = split_text("PyTorch DDP 快速上手：inversion 的 models，非马尔可夫过程")
    assert {"快速", "上手", "pytorch", "ddp", "invers", "model", "马尔可夫", "过程"} <= set(words)
    assert "的" not in words and "上" not in words
    assert words.count("快速") == 1


def test_a_headings_formulas_are_searchable_like_the_texts():
    """A formula in a section heading stays in the heading as TeX and is one of the chunk's
    formulas, so that math search finds the section by it."""
    from docutils import nodes
    from docutils.utils import new_document

    from kb.search.extract import page_chunks

    document = new_document("test")
    page = nodes.section(ids=["page"])
    page += nodes.title("", "文章")
    document += page
    section = nodes.section(ids=["why"])
    section += nodes.title(
        "", "为什么 ", nodes.math("I-\\gamma P_\\pi", "I-\\gamma P_\\pi"), nodes.Text(" 可逆")
    )
    section += nodes.paragraph("", "", nodes.Text("因为 "), nodes.math("\\gamma<1", "\\gamma<1"))
    page += section
    [chunk] = [c for c in page_chunks(document) if c.anchor == "why"]
    assert chunk.heading == "为什么 I-\\gamma P_\\pi 可逆"
    assert chunk.formulas == ["I-\\gamma P_\\pi", "\\gamma<1"]


def test_search_records_come_back_through_the_cache_and_its_changes(tmp_path: Path):
    """kb/search/index.py ``load_records``: an edit writes the changed record to the small
    changes pickle, not the whole cache; many changes write the cache again; a removed page is
    forgotten; a damaged pickle costs a re-read, never a stale record."""
    from kb.search import index

    app: Any = SimpleNamespace(doctreedir=str(tmp_path), config=SimpleNamespace(kb_math_macros={}))
    folder = index.records_dir(app)
    folder.mkdir()
    base, changes = tmp_path / index.RECORDS_CACHE, tmp_path / index.RECORDS_CHANGES

    def write(name: str, text: str) -> None:
        path = folder / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"text": text}), encoding="utf-8")

    names = [f"posts/p{i:02d}/index" for i in range(40)]
    for name in names:
        write(name, f"first {name}")
    assert index.load_records(app, set(names)) == {name: {"text": f"first {name}"} for name in names}
    assert base.is_file() and not changes.exists()
    base_stamp = base.stat().st_mtime_ns
    write(names[3], "edited")
    (folder / f"{names[4]}.json").unlink()
    time.sleep(0.01)
    records = index.load_records(app, set(names) - {names[4]})
    assert records[names[3]] == {"text": "edited"} and names[4] not in records
    assert base.stat().st_mtime_ns == base_stamp and changes.is_file()
    assert index.load_records(app, set(names) - {names[4]}) == records  # read back from both pickles
    changes.write_bytes(b"damaged")
    assert index.load_records(app, set(names) - {names[4]}) == records
    for name in names[:35]:  # more changes than the changes pickle keeps
        write(name, f"second {name}")
    expected = {name: {"text": f"second {name}"} for name in names[:35] if name != names[4]}
    expected.update({name: {"text": f"first {name}"} for name in names[35:]})
    assert index.load_records(app, set(expected)) == expected
    assert base.stat().st_mtime_ns != base_stamp and not changes.exists()
    assert index.load_records(app, set(expected)) == expected


def test_preloaded_pickles_are_taken_while_their_files_are_unchanged(tmp_path: Path, monkeypatch):
    """kb/preloaded.py: ``make livehtml``'s server unpickles the registered files after a build;
    a build takes its copy only of the very file (same stamp), else unpickles the file."""
    import pickle

    from kb import preloaded

    monkeypatch.setattr(preloaded, "FILES", set())
    monkeypatch.setattr(preloaded, "_kept", {})
    held, damaged = tmp_path / "held.pickle", tmp_path / "damaged.pickle"
    held.write_bytes(pickle.dumps({"value": 1}))
    damaged.write_bytes(b"not a pickle")
    for name in ("held.pickle", "damaged.pickle", "missing.pickle"):
        preloaded.register(name)
    assert preloaded.load(held) == {"value": 1}  # nothing preloaded: the file
    assert preloaded.load(held) is not preloaded.load(held)
    assert preloaded.preload(tmp_path) == 1  # the damaged and the missing file are not held
    assert preloaded.load(held) is preloaded.load(held) == {"value": 1}
    with pytest.raises(pickle.UnpicklingError):
        preloaded.load(damaged)
    time.sleep(0.01)
    held.write_bytes(pickle.dumps({"value": 2}))  # written by the next build
    assert preloaded.load(held) == {"value": 2}
    assert preloaded.preload(tmp_path) == 1 and preloaded.load(held) is preloaded.load(held)
    time.sleep(0.01)
    held.write_bytes(pickle.dumps({"value": 3, "more": "x" * 100}))  # grown past the limit
    monkeypatch.setattr(preloaded, "MAX_BYTES", held.stat().st_size - 1)
    assert preloaded.preload(tmp_path) == 0 and preloaded.load(held) is not preloaded.load(held)
    assert preloaded.load(held)["value"] == 3
    held.unlink()
    assert preloaded.preload(tmp_path) == 0
    with pytest.raises(FileNotFoundError):
        preloaded.load(held)


def test_the_collector_is_paused_only_while_the_environment_loads():
    """kb/rebuilds.py: no garbage collection from config-inited to builder-inited (Sphinx
    unpickles the environment in between), and from then on collections, also when the
    collector was paused before (scripts/build_site.py pauses it before importing Sphinx)."""
    import gc

    from kb import rebuilds

    app = SimpleNamespace(fresh_env_used=False)
    assert gc.isenabled()
    try:
        rebuilds.pause_the_collector(app, None)
        assert not gc.isenabled()
        rebuilds.freeze_the_loaded_environment(app)
        assert gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()


def test_a_rebuild_reads_few_documents_in_the_main_process_and_writes_in_parallel():
    """kb/rebuilds.py: a read of a few documents (or of a small share of a big site) runs with
    ``app.parallel`` 1, given back at env-updated; a big read keeps -j."""
    from kb import rebuilds

    for to_read, documents, serial in [
        (1, 40, True),
        (7, 40, True),
        (8, 40, False),
        (30, 1000, True),
        (32, 1000, False),
    ]:
        app = SimpleNamespace(parallel=2)
        env = SimpleNamespace(found_docs=set(range(documents)))
        rebuilds.read_few_documents_serially(app, env, [f"doc{i}" for i in range(to_read)])
        assert app.parallel == (1 if serial else 2), (to_read, documents)
        rebuilds.restore_parallel_writing(app, env)
        assert app.parallel == 2
    app = SimpleNamespace(parallel=1)  # -j 1 stays -j 1
    rebuilds.read_few_documents_serially(app, SimpleNamespace(found_docs={"a"}), ["a"])
    rebuilds.restore_parallel_writing(app, SimpleNamespace())
    assert app.parallel == 1


SPLIT_WITH_CACHE = """
import json, sys
from pathlib import Path
sys.path.insert(0, {ext!r})
from kb.search import zh
zh.quiet_jieba()
zh.use_dictionary(Path({dictionary!r}), Path({cache!r}))
text = "扩散模型的非马尔可夫前向过程与朗之万动力学，用非原地运算；Score Matching 与 DDIM 采样"
print(json.dumps([zh.split_text(text), zh.is_guess("用非"), zh.is_guess("扩散")], ensure_ascii=False))
"""


def test_jiebas_dictionary_from_the_sites_pickle_cuts_as_jieba_does(tmp_path: Path):
    """kb/search/zh.py keeps jieba's dictionary with the site's words as one pickle: a build
    that loads it cuts exactly as one that built it, and a damaged pickle is rebuilt."""
    dictionary = ROOT / "_ext/kb/search/search_dict.txt"
    script = SPLIT_WITH_CACHE.format(ext=str(ROOT / "_ext"), dictionary=str(dictionary), cache=str(tmp_path))

    def split() -> list:
        done = subprocess.run(
            [str(ROOT / ".venv/bin/python"), "-c", script], capture_output=True, text=True, check=True
        )
        return json.loads(done.stdout)

    built = split()
    (cache,) = tmp_path.glob("kb-jieba-*.pickle")
    assert built == split()  # from the pickle
    assert built[1:] == [True, False] and "朗之万" in built[0]  # 朗之万 is a word of the site dictionary
    cache.write_bytes(b"damaged")
    assert split() == built
    assert cache.stat().st_size > 1_000_000


def test_head_scripts_are_deferred_but_inline_async_module_and_documentation_options():
    from sphinx.builders.html._assets import _JavaScript

    from kb.assets.deferred_scripts import deferred

    plain = _JavaScript("_static/doctools.js", priority=200)
    assert deferred(plain).attributes == {"defer": "defer"} and deferred(plain).priority == 200
    assert deferred(_JavaScript("scripts/x.js", id="x")).attributes == {"id": "x", "defer": "defer"}
    kept = [
        _JavaScript("_static/documentation_options.js", priority=200),
        _JavaScript(None, body="DOCUMENTATION_OPTIONS.pagename = 'x';"),
        _JavaScript("a.js", defer="defer"),
        _JavaScript("b.js", **{"async": "async"}),
        _JavaScript("c.mjs", type="module"),
        "old-style.js",
    ]
    assert [deferred(script) for script in kept] == kept


def test_one_pass_cut_gives_jiebas_two_cuts_on_every_post():
    """kb/search/zh.py's one-pass cut of every post's text (and of odd input: other CJK blocks,
    digits in words, spaces, punctuation) is jieba's accurate cut without HMM, word for word,
    and the words of two or more Chinese characters of jieba's full mode, as often as it gives them."""
    import jieba

    from kb.search import zh

    zh.split_text("预热")  # loads the dictionary (with the site's words, as the build does)
    texts = [path.read_text(encoding="utf-8") for path in sorted((ROOT / "posts").glob("*/index.md"))]
    texts += [
        "",
        "  \r\n\t",
        "㐀㐁 㐀㐁㐂 豈更 扩散模型DDIM采样3步 B超 T恤",
        "x_t = a+b#c&d.e_f%g-h",
        "非马尔可夫链，朗之万动力学。",
    ]
    assert len(texts) > 30
    for text in texts:
        words, dictionary_words = zh._cut(text)
        assert words == list(jieba.cut(text, HMM=False)), text[:60]
        full = Counter(word for word in jieba.cut(text, cut_all=True) if zh.CJK_WORD.fullmatch(word))
        assert dictionary_words == full, text[:60]


def test_newest_commits_read_from_one_git_log(tmp_path: Path):
    """kb/pages/last_updated.py: each file's newest commit (author time), merges included; files
    Git does not know get nothing; in a shallow clone a file last changed at the clone's
    boundary gets None (its real date is in history the clone lacks)."""
    from kb.pages.last_updated import newest_commits

    repo = tmp_path / "repo"
    (repo / "posts/a").mkdir(parents=True)

    def git(*args: str, when: int = 0, cwd: Path = repo) -> None:
        stamp = {"GIT_AUTHOR_DATE": f"@{when} +0000", "GIT_COMMITTER_DATE": f"@{when} +0000"}
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=cwd,
            check=True,
            capture_output=True,
            env={**os.environ, **stamp},
        )

    git("init", "-q", "-b", "main")
    (repo / "posts/a/index.md").write_text("a\n")
    (repo / "posts/a/code.py").write_text("x = 1\n")
    git("add", "-A")
    git("commit", "-qm", "one", when=1_000_000)
    git("checkout", "-qb", "side")
    (repo / "posts/a/code.py").write_text("x = 2\n")
    git("commit", "-qam", "side", when=3_000_000)
    git("checkout", "-q", "main")
    (repo / "posts/a/index.md").write_text("a, again\n")
    git("commit", "-qam", "two", when=2_000_000)
    git("merge", "-q", "--no-ff", "-m", "merge", "side", when=4_000_000)  # brings code.py's change
    (repo / "posts/a/index.md").write_text("a, a third time\n")
    git("commit", "-qam", "three", when=5_000_000)
    (repo / "untracked.md").write_text("new\n")
    files = {"posts/a/index.md", "posts/a/code.py", "untracked.md"}
    assert newest_commits(repo, files) == {"posts/a/index.md": 5_000_000, "posts/a/code.py": 4_000_000}
    assert newest_commits(repo / "posts", {"a/index.md"}) == {"a/index.md": 5_000_000}  # --relative
    assert newest_commits(tmp_path, {"repo/posts/a/index.md"}) == {}  # not a repository

    shallow = tmp_path / "shallow"
    git("clone", "-q", "--depth", "1", f"file://{repo}", str(shallow), cwd=tmp_path)
    # The clone's one commit is its boundary, which Git shows as adding every file: no file's
    # newest commit is known.
    assert newest_commits(shallow, {"posts/a/index.md", "posts/a/code.py"}) == {
        "posts/a/index.md": None,
        "posts/a/code.py": None,
    }
    git("fetch", "-q", "--deepen", "1", cwd=shallow)  # the boundary moves behind "three"
    assert newest_commits(shallow, {"posts/a/index.md"}) == {"posts/a/index.md": 5_000_000}


def test_resolved_pages_drop_their_doctree_bytes_and_free_memory_is_released():
    """kb/rebuilds.py: a resolved page's bytes leave Sphinx's doctree cache; the rest stay."""
    from types import SimpleNamespace

    from kb import rebuilds

    app = SimpleNamespace(env=SimpleNamespace(_pickled_doctree_cache={"a": b"1", "b": b"2"}))
    rebuilds.forget_pickled_doctree(app, None, "a")
    assert app.env._pickled_doctree_cache == {"b": b"2"}
    rebuilds.forget_pickled_doctree(app, None, "never-loaded")
    assert rebuilds.release_free_memory() == [] and rebuilds._malloc_trim() is not None  # glibc here


class _ReaderEnv:
    """A stand-in environment for kb.rebuilds.read_in_parallel: it records what was read into it
    and what was merged, and a merge adds the other environment's documents (as Sphinx's does)."""

    def __init__(self) -> None:
        self.documents: list[str] = []
        self.merges: list[tuple[list[str], list[str]]] = []
        self._app = None

    def clear_doc(self, docname: str) -> None:
        pass

    def merge_info_from(self, docnames: list[str], other: _ReaderEnv, app: object) -> None:
        self.merges.append((list(docnames), list(other.documents)))
        self.documents.extend(docnames)


class _ReaderBuilder:
    def __init__(self) -> None:
        from types import SimpleNamespace

        self.env = _ReaderEnv()
        self.config = SimpleNamespace(verbosity=0)
        self.events = SimpleNamespace(emit=lambda *args: None)
        self._app = None

    def read_doc(self, docname: str, _cache: bool = True) -> None:
        assert not _cache
        self.env.documents.append(docname)


@pytest.mark.parametrize("limit", [None, 0])
def test_a_parallel_reader_sends_back_only_what_it_read(monkeypatch, limit: int | None):
    """kb/rebuilds.py: each reader is forked from the environment as it was before reading, so
    it sends back its own chunk and nothing merged before it (Sphinx's own method sends back
    everything merged so far); results are merged in chunk order. With the held results over
    the limit, they are merged at once, as Sphinx does, and every document is still merged once."""
    from sphinx.util.parallel import make_chunks

    from kb import rebuilds

    if limit is not None:
        monkeypatch.setattr(rebuilds, "HELD_RESULTS_LIMIT", limit)
    docnames = [f"posts/p{i:03d}/index" for i in range(120)]
    builder = _ReaderBuilder()
    rebuilds.read_in_parallel(builder, docnames, 2)  # type: ignore[arg-type]
    chunks = make_chunks(docnames, 2)
    assert len(chunks) > 2
    assert sorted(builder.env.documents) == docnames  # every document merged, once
    if limit is None:
        assert builder.env.merges == [(chunk, chunk) for chunk in chunks]
    else:
        assert sorted(docs for docs, _ in builder.env.merges) == sorted(chunks)
        assert any(len(sent) > len(docs) for docs, sent in builder.env.merges)  # carried earlier ones


class _WriterBuilder:
    """A stand-in builder for kb.rebuilds.write_in_parallel: pages are written as files named
    after them; the main process counts what it resolved."""

    def __init__(self, outdir: Path, parallel: int) -> None:
        from types import SimpleNamespace

        self.outdir = outdir
        self.resolved: list[str] = []
        self.serialized: list[str] = []
        self.env = SimpleNamespace(get_and_resolve_doctree=self.resolve)
        self.config = SimpleNamespace(verbosity=0)
        self.tags = None
        self._app = SimpleNamespace(parallel=parallel)
        self.phase = None

    def resolve(self, docname: str, builder: object, tags: object = None) -> str:
        self.resolved.append(docname)
        return f"doctree of {docname}"

    def write_doc_serialized(self, docname: str, doctree: str) -> None:
        self.serialized.append(docname)

    def write_doc(self, docname: str, doctree: str) -> None:
        (self.outdir / docname).write_text(doctree, encoding="utf-8")


def test_parallel_writing_resolves_only_a_few_chunks_ahead_and_uses_every_process(
    monkeypatch, tmp_path: Path
):
    """kb/rebuilds.py: pages are resolved in the main process no more than 2 x -j chunks ahead of
    the writers (Sphinx's own method resolves the whole site first), -j writers run (Sphinx: one
    fewer), and every page is resolved, serialized and written once."""
    import sphinx.util.parallel

    from kb import rebuilds

    held: list[int] = []
    writers: list[int] = []

    class CountingTasks(sphinx.util.parallel.ParallelTasks):
        def add_task(self, task_func, arg=None, result_func=None) -> None:
            writers.append(self.nproc)
            super().add_task(task_func, arg, result_func)
            held.append(len(self._args))  # chunks resolved and not yet written

    monkeypatch.setattr(rebuilds, "ParallelTasks", CountingTasks)
    monkeypatch.setattr(
        rebuilds, "_write_docname", lambda docname, **kwargs: (tmp_path / docname).write_text("first")
    )
    docnames = [f"page{i:03d}" for i in range(400)]
    builder = _WriterBuilder(tmp_path, parallel=2)
    rebuilds.write_in_parallel(builder, docnames, 1)  # type: ignore[arg-type]
    assert builder.resolved == builder.serialized == docnames[1:]
    assert sorted(path.name for path in tmp_path.iterdir()) == docnames
    assert len(held) > 8 and max(held) <= 2 * 2 + 1
    assert set(writers) == {2}


# -- site_files ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "urls",
    [
        [],
        [("https://example.org/a.html", None)],
        [
            ("https://example.org/a.html", "2024-01-02"),
            ("https://example.org/b%20c.html?x=1&y=<2>", None),
            ("https://example.org/中文/页.html", "2025-12-31"),
        ],
    ],
)
def test_sitemap_is_what_elementtree_writes(urls):
    """``sitemap_xml`` writes the sitemap as text; ElementTree, which it replaced, is the
    reference: the same bytes, escapes and empty sitemap included."""
    from xml.etree import ElementTree

    from kb.pages.site_files import SITEMAP_NS, sitemap_xml

    ElementTree.register_namespace("", SITEMAP_NS)
    root = ElementTree.Element(f"{{{SITEMAP_NS}}}urlset")
    for loc, lastmod in urls:
        url = ElementTree.SubElement(root, f"{{{SITEMAP_NS}}}url")
        ElementTree.SubElement(url, f"{{{SITEMAP_NS}}}loc").text = loc
        if lastmod:
            ElementTree.SubElement(url, f"{{{SITEMAP_NS}}}lastmod").text = lastmod
    ElementTree.indent(root)
    expected = ElementTree.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
    assert sitemap_xml(urls) == expected


# -- code_spans --------------------------------------------------------------------------------


def _style(name: str, styles: dict) -> type:
    from pygments.style import Style

    return type(name, (Style,), {"styles": styles})


def test_plain_token_types_are_the_types_every_style_draws_as_plain_text():
    from pygments.token import Keyword, Name, Punctuation, Text

    from kb.assets.code_spans import plain_token_types

    light = _style("Light", {Text: "#111", Name: "#111", Punctuation: "#111", Keyword: "bold #111"})
    dark = _style("Dark", {Text: "#eee", Name: "#eee", Punctuation: "#f00", Keyword: "#eee"})
    assert Name in plain_token_types([light])
    assert Keyword not in plain_token_types([light])  # bold: not plain
    plain = plain_token_types([light, dark])
    assert Name in plain
    assert Punctuation not in plain  # red in the dark style
    assert Keyword not in plain and Text not in plain  # Text has no class: nothing to drop
    assert Name.Builtin in plain  # a standard subtype inherits the colour here
    assert Name.Madeup not in plain  # a lexer's own subtype keeps its classes


def test_plain_runs_formatter_writes_the_same_code_with_fewer_spans():
    import html

    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer
    from pygments.styles import get_style_by_name

    from kb.assets.code_spans import PlainRunsHtmlFormatter, plain_token_types

    source = (ROOT / "posts" / "edm-design-space" / "edm_toy.py").read_text(encoding="utf-8")
    styles = [get_style_by_name("a11y-high-contrast-light"), get_style_by_name("a11y-high-contrast-dark")]
    formatter = type("F", (PlainRunsHtmlFormatter,), {"plain_types": plain_token_types(styles)})
    stock = highlight(source, PythonLexer(), HtmlFormatter(hl_lines=[3]))
    ours = highlight(source, PythonLexer(), formatter(hl_lines=[3]))

    def text(markup: str) -> str:
        return html.unescape(re.sub(r"<[^>]+>", "", markup))

    assert text(ours) == text(stock)
    assert text(ours).strip() == source.strip()
    assert '<span class="n">' in stock and '<span class="n">' not in ours and '<span class="p">' not in ours
    assert '<span class="k">' in ours and '<span class="hll">' in ours  # coloured tokens, options
    assert ours.count("<span") < 0.5 * stock.count("<span"), (ours.count("<span"), stock.count("<span"))


def test_loading_the_themes_pygments_style_leaves_logging_as_it_was():
    """a11y_pygments configures the root logger when imported; kb.assets.code_spans loads the
    styles without letting it (a fresh interpreter: the module must not be imported yet)."""
    code = (
        "import logging, sys; sys.path.insert(0, '_ext')\n"
        "from kb.assets.code_spans import load_style\n"
        "assert 'a11y_pygments' not in sys.modules\n"
        "load_style('a11y-high-contrast-light')\n"
        "assert 'a11y_pygments' in sys.modules\n"
        "root = logging.getLogger()\n"
        "print(len(root.handlers), root.level)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["0", str(30)]  # no handler, WARNING


# -- the extensions' env_version -------------------------------------------------------------


def test_source_version_follows_the_content_of_the_extensions_files(tmp_path: Path):
    from kb import source_version

    (tmp_path / "blog").mkdir()
    (tmp_path / "blog" / "feeds.py").write_text("x = 1\n")
    (tmp_path / "search.js").write_text("let a;\n")
    first = source_version.__wrapped__(tmp_path)
    (tmp_path / "blog" / "__pycache__").mkdir()
    (tmp_path / "blog" / "__pycache__" / "feeds.cpython-311.pyc").write_bytes(b"\0")
    os.utime(tmp_path / "search.js", (1, 1))  # a new time, the same content
    assert source_version.__wrapped__(tmp_path) == first
    (tmp_path / "search.js").write_text("let b;\n")
    assert source_version.__wrapped__(tmp_path) != first
    (tmp_path / "search.js").write_text("let a;\n")
    (tmp_path / "search.js").rename(tmp_path / "blog" / "search.js")  # moved: another file
    assert source_version.__wrapped__(tmp_path) != first
    assert isinstance(first, int) and first > 0


def test_every_kb_package_gives_sphinx_the_source_version_as_its_env_version():
    import importlib

    from kb import source_version

    for package in ("blog", "math", "figures", "search", "pages", "assets"):
        source = (ROOT / "_ext" / "kb" / package / "__init__.py").read_text(encoding="utf-8")
        assert '"env_version": source_version()' in source, package
        assert importlib.import_module(f"kb.{package}").source_version is source_version


def test_background_work_is_waited_for_once_and_its_result_reaches_this_process():
    """kb/background.py: work started in a forked process is waited for by name; its result goes
    to ``done`` here; a name with nothing started (or already waited for) waits for nothing."""
    from kb import background

    app = SimpleNamespace(parallel=2)
    results: list[int] = []
    background.start(app, "sum", lambda: sum(range(10)), results.append)
    assert background.wait(app, "sum") and results == [45]
    assert not background.wait(app, "sum") and not background.wait(app, "other")


class _PickledBy:
    """Unpickles as the id of the process that pickled it; ``fail`` makes pickling raise."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def __reduce__(self) -> tuple[object, tuple[int]]:
        if self.fail:
            raise RuntimeError("cannot pickle this environment")
        return (int, (os.getpid(),))


def test_the_environment_is_pickled_by_a_forked_process_and_waited_for(tmp_path: Path):
    """kb/rebuilds.py: with -j, ``sphinx.builders.pickle.dump(env, f)`` on the environment file
    returns at once; a forked process writes the file, complete once build-finished has waited.
    Any other object or file is pickled here, and the stand-in is gone after the build."""
    import pickle

    import sphinx.builders

    from kb import rebuilds

    env = _PickledBy()
    app: Any = SimpleNamespace(parallel=2, env=env)
    rebuilds.save_environment_aside(app)
    try:
        stand_in = sphinx.builders.pickle
        assert isinstance(stand_in, rebuilds.EnvironmentSavedAside)
        path = tmp_path / "environment.pickle"
        with path.open("wb") as f:
            stand_in.dump(env, f, stand_in.HIGHEST_PROTOCOL)
        other = tmp_path / "other.pickle"
        with other.open("wb") as f:
            stand_in.dump(env, f, pickle.HIGHEST_PROTOCOL)
        assert pickle.loads(other.read_bytes()) == os.getpid()
        rebuilds.wait_for_the_saved_environment(app, None)
        assert sphinx.builders.pickle is pickle
        pickler = pickle.loads(path.read_bytes())
        assert pickler != os.getpid()  # a forked process wrote it
    finally:
        sphinx.builders.pickle = pickle
    # A fork that fails: its error is raised at the end, and no half-written file stays behind.
    failing: Any = SimpleNamespace(parallel=2, env=_PickledBy(fail=True))
    rebuilds.save_environment_aside(failing)
    try:
        with path.open("wb") as f:
            sphinx.builders.pickle.dump(failing.env, f, pickle.HIGHEST_PROTOCOL)
        with pytest.raises(Exception, match="cannot pickle this environment"):
            rebuilds.wait_for_the_saved_environment(failing, None)
        assert not path.exists() and sphinx.builders.pickle is pickle
    finally:
        sphinx.builders.pickle = pickle
    # -j 1: the module stays Sphinx's own.
    serial: Any = SimpleNamespace(parallel=1, env=env)
    rebuilds.save_environment_aside(serial)
    assert sphinx.builders.pickle is pickle
