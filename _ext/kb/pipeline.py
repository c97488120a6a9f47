"""The order in which the site's extensions act, where order matters: one place, named.

Sphinx calls the handlers of an event by priority (lower first; 500 is the default), then by the
order in which they were connected. The handlers below depend on each other; each module
connects its handler with the constant here instead of a bare number, so the whole order can be
read, and changed, in this file. README.md draws the same pipeline (docs/pipeline.svg).
"""

# -- config-inited / builder-inited: the environment is loaded between the two --------------------
PAUSE_THE_COLLECTOR = 990  # rebuilds: no garbage collection while the environment is unpickled
FREEZE_THE_LOADED_ENVIRONMENT = 0  # rebuilds: the loaded environment frozen, the collector back

# -- doctree-read: a document has been parsed ---------------------------------------------------
# ABlog copies each post's excerpt and body into the environment at 500; what those copies must
# already contain happens before, what works on ABlog's record of the post happens after.
RENDER_MATH = 400  # math: each formula rendered by KaTeX, stored on its node
ABSOLUTIZE_DOC_LINKS = 450  # blog: relative {doc} links made absolute, so ABlog's copies work
NOTE_LINKS = 460  # blog: the cross-references of the document (knowledge map, related)
ADD_POST_META = 600  # blog: the metadata line under the title (needs ABlog's post record)
NOTE_RELATED_TERMS = 600  # pages: the words of the post, for related articles
STORE_SEARCH_RECORD = 650  # search: the page's text, formulas and terms (skips the meta line)
STORE_POST_BODIES = 900  # blog: ABlog's copy of the post moved out of the environment

# -- env-before-read-docs: Sphinx has listed what to read ---------------------------------------
READ_FEW_SERIALLY = 900  # rebuilds: a few documents read in the main process, after anything
# that changes the list

# -- env-get-updated / env-updated: every document has been read --------------------------------
RESTORE_PARALLEL_WRITING = 10  # rebuilds: -j given back for writing
FREEZE_THE_ENVIRONMENT = 990  # rebuilds: the environment, complete, hidden from the collector
ORDER_ABLOG_POSTS = 50  # blog: ABlog's post records in document order, however read (-j)
COLLECT_FIGURES = 100  # figures: wait for the drawing workers before anything uses figures
ASSIGN_FIGURE_NUMBERS = 800  # figures: after Sphinx's toctree collector (500) numbered its own
START_SEARCH_INDEX = 60  # search: with -j, _search/ assembled in a forked process while the
# other handlers here compute (the related articles ...) and the pages are written; it needs only
# what reading stored (records, titles, metadata, links), complete once ABlog's posts are ordered

# -- missing-reference ----------------------------------------------------------------------------
REGISTER_POSTS_FIRST = 400  # blog: fill ABlog's registry before ABlog's own handler (500) looks

# -- doctree-resolved: a page is about to be written ----------------------------------------------
ADD_LICENSE_AND_CITATION = 450  # blog: 版权声明 and 引用本文 at the end of a post, before the
# related articles (pages.related_posts, 500), which end the page
MARK_UNPUBLISHED_POSTS = 600  # blog: preview marks in post lists, after ABlog made them (500)

# -- html-page-context ----------------------------------------------------------------------------
ADD_PAGE_META = 400  # pages: Open Graph, description and article meta
ESCAPE_CONTEXT_TEXT = 600  # pages: text that ABlog and the theme (500) put in markup, escaped
DEFER_HEAD_SCRIPTS = 900  # assets: the head's scripts deferred, once everyone has added theirs
BUNDLE_STYLESHEETS = 900  # assets: the page links one stylesheet, once everyone has added theirs

# -- build-finished: every page has been written --------------------------------------------------
SAVE_WARNED_DOCUMENTS = 0  # warned_documents: which documents warned, noted before the handlers
# below (they run in every build, so their warnings recur anyway)
START_MATH_FONTS = 20  # math: with -j, KaTeX's fonts cut in a forked process meanwhile
COPY_FIGURES = 510  # figures: the SVGs the pages show, stale ones removed
REMOVE_STALE_BLOG_OUTPUTS = 520  # blog: outputs of removed posts and collections deleted
WRITE_SITE_FILES = 600  # pages: sitemap.xml and robots.txt, from the pages that now exist
TRIM_CSS = 700  # assets: stylesheets cut to the classes the pages use; it records
# those classes (unused_css.site_classes) ...
SUBSET_ICON_FONT = 750  # assets: ... which the icon font is subset to
WRITE_STYLESHEET_BUNDLE = 760  # assets: the stylesheets, trimmed, concatenated into one file
PATCH_THEME_SCRIPT = 800  # assets: the theme's script without its on-load tab-stop measurement
SUBSET_MATH_FONTS = 840  # math: KaTeX's fonts cut to the characters the formulas show (or the
# forked process of START_MATH_FONTS waited for); nothing above reads them
WRITE_SEARCH_INDEX = 850  # search: _search/ assembled from the pages' records (or the forked
# process of START_SEARCH_INDEX waited for)
SAVE_BLOG_STATE = 860  # blog: the feeds written in a forked process (with -j) waited for, and
# what the blog wrote saved for the next build
SAVE_THE_ENVIRONMENT = 880  # rebuilds: the forked process that pickles the environment (-j),
# started when Sphinx saved it after reading, waited for as late as it may be: before the
# renderers stop, since the fork holds a copy of KaTeX's input pipe, and node sees its end only
# once every copy is closed
STOP_RENDERERS = 900  # math, figures: the KaTeX process and the drawing workers end
