"""Search terms from a formula's TeX source: what makes ``\\bar\\alpha_t`` or ``KL`` findable.

A formula is indexed by the names in it, not by its layout: the site's shared macros are
expanded first (``\\KL`` becomes ``D_{\\mathrm{KL}}``, so ``KL`` is found), then

* every command name is a term (``\\nabla`` -> ``nabla``, ``\\log`` -> ``log``), except the
  ones that only lay out or style (``\\left``, ``\\mathrm``, ``\\quad`` ...);
* words inside ``\\mathrm{}``, ``\\text{}``, ``\\operatorname{}`` and other runs of two or more
  letters are terms (``\\operatorname{softmax}`` -> ``softmax``, ``\\mathrm{ELBO}`` -> ``elbo``);
* a name with a simple subscript is also a term of its own: ``\\alpha_t`` -> ``alpha_t``,
  ``\\nabla_{\\bm x}`` -> ``nabla_x``, ``x_0`` -> ``x_0``.

Single letters alone are not terms (every formula has them). The browser applies the same
rules to a query that looks like TeX (``search.js``: ``kbTexTerms``); tests/test_search_index.py
runs both on the same formulas and requires the same terms.
"""

from __future__ import annotations

import re

# Commands that lay out or style a formula; their names are not what a reader searches for.
LAYOUT = frozenset(
    """left right big Big bigg Bigg bigl bigr Bigl Bigr biggl biggr Biggl Biggr middle
    quad qquad mathrm mathit mathsf mathbf mathcal mathbb mathfrak mathscr mathtt bm boldsymbol
    text textrm textbf textit textsf texttt operatorname operatorname* begin end displaystyle
    textstyle scriptstyle limits nolimits hspace vspace mathop mathbin mathrel mathord tag label
    nonumber notag phantom hphantom vphantom underbrace overbrace cdot cdots ldots dots vdots
    ddots colon mid lvert rvert lVert rVert langle rangle lbrace rbrace""".split()
)
# Commands whose braced argument is a word (``\\mathrm{KL}``) rather than symbols.
WORD_ARGUMENT = frozenset(
    "mathrm mathit mathsf mathbf text textrm textbf textit textsf texttt operatorname".split()
)
# Styles that do not change which symbol a subscript names (``\\nabla_{\\bm x}`` is ``nabla_x``).
STYLE = frozenset("bm boldsymbol mathbf mathrm mathit mathsf mathcal mathbb mathfrak vec".split())

TOKEN = re.compile(r"\\[A-Za-z]+\*?|\\.|[A-Za-z]+|[0-9]+|\s+|.", re.S)


def expand_macros(tex: str, macros: dict[str, str], rounds: int = 3) -> str:
    """``tex`` with the site's macros (``kb_math_macros``) replaced by their bodies; ``#1``
    takes the braced argument that follows."""
    if not macros:
        return tex
    names = sorted(macros, key=len, reverse=True)
    pattern = re.compile("(" + "|".join(re.escape(n) for n in names) + r")(?![A-Za-z])")
    for _ in range(rounds):
        out: list[str] = []
        position = 0
        changed = False
        for match in pattern.finditer(tex):
            if match.start() < position:
                continue
            body = macros[match.group(1)]
            end = match.end()
            if "#1" in body:
                argument, end = _braced(tex, end)
                if argument is None:
                    continue
                body = body.replace("#1", argument)
            out.append(tex[position : match.start()])
            out.append(" " + body + " ")
            position = end
            changed = True
        out.append(tex[position:])
        tex = "".join(out)
        if not changed:
            break
    return tex


def _braced(tex: str, start: int) -> tuple[str | None, int]:
    """The content of the ``{...}`` group at ``start`` (after blanks) and the index after it."""
    i = start
    while i < len(tex) and tex[i].isspace():
        i += 1
    if i >= len(tex) or tex[i] != "{":
        return None, start
    depth = 0
    for j in range(i, len(tex)):
        if tex[j] == "{":
            depth += 1
        elif tex[j] == "}":
            depth -= 1
            if depth == 0:
                return tex[i + 1 : j], j + 1
    return None, start


LETTERS = re.compile(r"[A-Za-z]+")
DIGITS = re.compile(r"[0-9]+")
COMMAND = re.compile(r"\\[A-Za-z]+\*?")


def _tokens(tex: str) -> list[str]:
    return [t for t in TOKEN.findall(tex) if not t.isspace()]


def _simple(tokens: list[str]) -> str | None:
    """The one name a subscript group stands for (``{\\bm x}`` -> ``x``), or None."""
    names = [t for t in tokens if not (t.startswith("\\") and t[1:] in STYLE) and t not in "{}"]
    if len(names) != 1:
        return None
    name = names[0]
    if name.startswith("\\"):
        name = name[1:]
    return name if LETTERS.fullmatch(name) or DIGITS.fullmatch(name) else None


def tex_terms(tex: str, macros: dict[str, str] | None = None) -> list[str]:
    """The search terms of one formula, lowercased, in order of appearance (with repeats)."""
    tokens = _tokens(expand_macros(tex, macros or {}))
    terms: list[str] = []
    atom: str | None = None  # the name a following subscript attaches to
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if COMMAND.fullmatch(token):
            name = token[1:].rstrip("*")
            if name in WORD_ARGUMENT and i + 1 < len(tokens) and tokens[i + 1] == "{":
                depth, j, word = 0, i + 1, []
                while j < len(tokens):
                    if tokens[j] == "{":
                        depth += 1
                    elif tokens[j] == "}":
                        depth -= 1
                        if depth == 0:
                            break
                    elif LETTERS.fullmatch(tokens[j]) or DIGITS.fullmatch(tokens[j]):
                        word.append(tokens[j])
                    j += 1
                text = "".join(word)
                if len(text) >= 2:
                    terms.append(text.lower())
                atom = text.lower() or None
                i = j + 1
                continue
            if name not in LAYOUT and len(name) >= 2:
                terms.append(name.lower())
            atom = None if name in LAYOUT or name in STYLE else name.lower()
        elif LETTERS.fullmatch(token):
            if len(token) >= 2:
                terms.append(token.lower())
            atom = token[-1].lower()
        elif DIGITS.fullmatch(token):
            atom = None
        elif token == "_" and atom is not None and i + 1 < len(tokens):
            # The subscript is read on as usual afterwards (\\mathrm{KL} still gives kl).
            following = tokens[i + 1]
            if following == "{":
                depth, j = 0, i + 1
                while j < len(tokens):
                    depth += {"{": 1, "}": -1}.get(tokens[j], 0)
                    if depth == 0:
                        break
                    j += 1
                sub = _simple(tokens[i + 2 : j])
            else:
                sub = _simple([following])
            if sub is not None:
                terms.append(f"{atom}_{sub.lower()}")
            atom = None
        elif token in ("^", "{", "}"):
            pass  # a group keeps its atom: {\bar\alpha}_t is alpha_t
        else:
            atom = None
        i += 1
    return terms
