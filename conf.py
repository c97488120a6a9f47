"""Sphinx configuration of the knowledge base. Declarative only: logic lives in _ext/."""

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

# -- Project -----------------------------------------------------------------------------------

project = "机器学习知识库"
author = "站长"
copyright = "2026, 站长"
language = "zh_CN"
locale_dirs = ["locales"]  # Chinese UI strings for ABlog
# Canonical address of the site: Read the Docs provides it; the feed needs absolute links.
site_url = os.environ.get("READTHEDOCS_CANONICAL_URL", "https://ml-kb.readthedocs.io/zh-cn/latest/")

# -- General -----------------------------------------------------------------------------------

extensions = [
    "myst_parser",
    "ablog",
    "sphinx_copybutton",
    "sphinxcontrib.katex",
    "sphinxcontrib.bibtex",
    "notfound.extension",
    # the site's own extensions (_ext/kb/), one package per subsystem
    "kb.blog",
    "kb.math",
    "kb.figures",
    "kb.search",
    "kb.pages",
    "kb.assets",
]
source_suffix = {".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    ".venv",
    ".venv-*",
    "node_modules",
    "README.md",
    "tests",
    "benchmarks",
    "**/__pycache__",
    ".pytest_cache",
    "**/.pytest_cache",
]
nitpicky = True
# Figures are numbered per article ("图 1") and referred to with {numref} (_ext/kb/figures/).
numfig = True
numfig_format = {"figure": "图 %s", "table": "表 %s"}
math_numfig = False  # equations keep their own per-article numbers (the math domain's)

# -- MyST --------------------------------------------------------------------------------------

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_dmath_double_inline = True
myst_heading_anchors = 3

# -- Math (KaTeX, rendered at build time by _ext/kb/math/) --------------------------------------

html_math_renderer = "katex_prerendered"
katex_prerender = True
katex_css_path = "katex/katex.min.css"  # copied from node_modules/katex, never a CDN
# Macros shared by every article; KaTeX itself provides \bm.
kb_math_macros = {
    r"\E": r"\mathbb{E}",
    r"\Var": r"\operatorname{Var}",
    r"\Cov": r"\operatorname{Cov}",
    r"\KL": r"D_{\mathrm{KL}}",
    r"\R": r"\mathbb{R}",
    r"\N": r"\mathcal{N}",
    r"\dd": r"\mathrm{d}",
    r"\I": r"\mathbf{I}",
    r"\tr": r"\operatorname{tr}",
    r"\diag": r"\operatorname{diag}",
    r"\argmin": r"\operatorname*{arg\,min}",
    r"\argmax": r"\operatorname*{arg\,max}",
    r"\norm": r"\left\lVert #1 \right\rVert",
    r"\abs": r"\left\lvert #1 \right\rvert",
}

# -- Blog (ABlog) ------------------------------------------------------------------------------

blog_title = project
blog_baseurl = site_url
blog_path = "blog"
blog_authors = {"站长": ("站长", None)}
blog_default_author = "站长"
blog_feed_fulltext = True
blog_feed_archives = True  # one Atom feed per category, tag and year
blog_feed_subtitle = "生成模型、深度学习、机器学习、强化学习与工程实践的推导与代码"
post_date_format = "%Y-%m-%d"
post_date_format_short = "%Y-%m-%d"  # ABlog's default prints English month names
post_auto_excerpt = 1
post_show_prev_next = True
# Post lists (blog.html, each category, tag, year and author) are split into pages of this many
# posts: blog/page/2.html, blog/tag/<tag>/page/2.html … (_ext/kb/blog/collections.py). The
# homepage shows the latest 10 and links to page 2 of the list.
kb_posts_per_page = 10
kb_catalog_latest = 5  # blog/tag.html, blog/category.html: each one's latest posts and a link
# Drafts and scheduled posts (_ext/kb/blog/drafts.py): a post with `draft: true`, or dated after
# the build's date (SOURCE_DATE_EPOCH when set), is left out of the site. `make livehtml` and
# `DRAFTS=1 make html` build a preview into _build/preview with them, marked 草稿 / 定时发布.
kb_drafts = False
kb_timezone = "Asia/Shanghai"  # post dates are local times here; so is "now"
# pydata-sphinx-theme sets this at run time, which counts as a config change that re-reads every
# document on every build (pydata/pydata-sphinx-theme#1222); set here, builds stay incremental.
fontawesome_included = True
# The category vocabulary: a post names exactly one of these (checked by _ext/kb/blog/frontmatter.py).
kb_categories = [
    "Generative Model",
    "Deep Learning",
    "Machine Learning",
    "Reinforcement Learning",
    "LLM",
    "Python",
    "Java",
    "Algorithm",
]

# -- Reading time and length under each post's title (_ext/kb/blog/post_meta.py) -------------

# Prose: 300 Chinese characters a minute. Native readers read the Chinese IReST paragraphs aloud
# at 255 ± 29 characters a minute (Trauzettel-Klosinski & Dietz 2012, "Standardized assessment of
# reading performance: the new International Reading Speed Texts IReST", IOVS 53(9):5452, table 2),
# and silent reading of non-fiction is about 1.3 times as fast as reading aloud (238 against 183
# words a minute in English; Brysbaert 2019, "How many words do we read per minute?", J. Memory
# and Language 109:104047): about 330 a minute for easy general text. A derivation is read more
# carefully than that, and not more slowly than aloud. (Medium's 500 a minute for Chinese posts
# is a rate for general text.)
kb_reading_cjk_per_minute = 300
# Latin words in the Chinese text: below Brysbaert's 238 words a minute for English non-fiction
# read by native readers.
kb_reading_words_per_minute = 200
# Formulas and code have no published rate; these are the site's assumptions. A formula symbol
# (a TeX token: \frac{a}{b} is three) costs what a Chinese character costs; code listings (and
# program output) are skimmed at two lines a second.
kb_reading_math_symbols_per_minute = 300
kb_reading_code_lines_per_minute = 120
# Figures as Medium counts images: 12 s for the first, one second less for each next, at least 3 s.
kb_reading_first_image_seconds = 12
kb_reading_least_image_seconds = 3

# -- Licence and citation (_ext/kb/blog/citation.py) ------------------------------------------

# Every post ends with this licence and its permanent address (版权声明) and a ready citation
# (引用本文); the licence is also each page's <link rel="license"> and each feed's <rights>.
kb_license = {
    "name": "CC BY-NC-SA 4.0",
    "title": "知识共享署名-非商业性使用-相同方式共享 4.0 国际许可协议",
    "url": "https://creativecommons.org/licenses/by-nc-sa/4.0/",
}
kb_citation_key_prefix = "mlkb"  # BibTeX keys: mlkb:<slug>

# -- Knowledge base: series, related posts, references --------------------------------------

# A post joins a series with `series: <name>` and `series_order: <n>` (see _ext/kb/pages/series.py);
# `notation` names a page of the series' shared notation, linked from each member's series box.
kb_series = [
    {
        "name": "扩散模型系列",
        "slug": "diffusion",
        "description": "从得分匹配出发，经过 SDE 与概率流 ODE、流模型与整流流、引导，"
        "到潜在扩散、ControlNet、SD3 与 EDM 的设计空间。",
        "notation": "notation",  # the series' notation table, linked from every member's box
    },
    {
        "name": "强化学习入门",
        "slug": "rl-basics",
        "description": "从网格世界里的贝尔曼方程，到蒙特卡洛估计、随机逼近，再到用偏好数据对齐语言模型。",
    },
    {
        "name": "PyTorch 实践",
        "slug": "pytorch",
        "description": "自动微分的机制、nn 与 functional 的分工、张量视图与原地操作的陷阱，以及多进程数据并行。",
    },
]
kb_related_count = 5  # "相关文章" at the end of every post (see _ext/kb/pages/related_posts.py)
# One shared BibTeX file; articles cite with {footcite} and list with {footbibliography}.
bibtex_bibfiles = ["references.bib"]
bibtex_default_style = "unsrt"
bibtex_reference_style = "author_year"
bibtex_foot_reference_style = "foot"

# -- HTML output -------------------------------------------------------------------------------

html_theme = "sphinx_book_theme"
html_title = project
html_baseurl = site_url
html_static_path = ["_static"]
html_favicon = "_static/favicon.svg"
html_context = {"default_mode": "auto"}  # light/dark follows the reader's system
html_css_files = ["kb.css"]
# Stylesheets cut to the rules some page or script of the site can use (_ext/kb/assets/unused_css.py):
# Bootstrap inside the theme's CSS is 46 of the 95 KB (gzip) that every first view loads.
unused_css_files = [
    "styles/pydata-sphinx-theme.css",
    "styles/sphinx-book-theme.css",
    "basic.css",
    "pygments.css",
    "katex/katex.min.css",
]
# Classes that scripts assemble from parts, so their words do not name them.
unused_css_keep = [r"bs-(tooltip|popover)-auto"]  # Bootstrap: `bs-${this.constructor.NAME}-auto`
# "Last updated" from the last Git commit of a page or the files it includes (where Git history
# exists: a tarball or a temporary test site has none, and then no date is shown).
html_last_updated_fmt = "%Y-%m-%d"
html_copy_source = False
html_show_sourcelink = False
# Search (_ext/kb/search/): jieba plus the site's dictionary of domain terms, an index in pieces
# loaded on demand under _search/, results page and instant results in the Ctrl+K dialog.
kb_search_dictionary = "_ext/kb/search/search_dict.txt"
# Sections that list other articles or references: not searched, never an excerpt.
kb_search_skip_headings = ["相关文章", "参考文献"]
html_theme_options = {
    "search_bar_text": "搜索文章……",
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "home_page_in_toc": False,
    "navigation_with_keys": False,
}
_blog_sidebars = [
    "navbar-logo.html",
    "kb-nav.html",
    "ablog/recentposts.html",
    "ablog/categories.html",
    "ablog/tagcloud.html",
    "ablog/archives.html",
]
html_sidebars = {
    "**": _blog_sidebars,
}

# -- Link previews, 404 page -----------------------------------------------------------------

# Open Graph and description tags: _ext/kb/pages/page_meta.py, from html_baseurl and project.
# The 404 page is served for any missing path, so its links are absolute; its text is
# _ext/kb/pages/notfound.html.
notfound_urls_prefix = urlsplit(site_url).path

# -- Copy button -------------------------------------------------------------------------------

# Copy only the code: drop shell/Python prompts, and with them the output lines.
copybutton_prompt_text = r">>> |\.\.\. |\$ |In \[\d*\]: | {2,5}\.\.\.: "
copybutton_prompt_is_regexp = True
copybutton_only_copy_prompt_lines = True
copybutton_exclude = ".linenos, .gp, .go"
