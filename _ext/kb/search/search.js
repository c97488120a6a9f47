/**
 * The site's search (kb.search): results page and instant results in the Ctrl+K dialog.
 *
 * The index lives in _search/ (written by _ext/kb/search/index.py) and is fetched in pieces:
 * index.json (block boundaries, filters, version) when a search field is first used, then the
 * vocabulary blocks and postings a query needs, then one record per listed page for its title,
 * section and excerpt. Nothing is loaded on a page until the reader starts to search.
 *
 * A query is cut as the index was: a run of Chinese characters into the words the index holds
 * (the cut with the fewest unknown characters, then the fewest pieces, as jieba's words were
 * indexed); Latin words lowercased and stemmed (Snowball English, as in Python); TeX such as
 * \bar\alpha_t into the terms of its names (the rules of _ext/kb/search/tex.py). A Latin word
 * that is not in the index is completed as a prefix, or corrected to the nearest indexed word
 * (one edit, two for long words). Every word must occur in a page. Ranking: the weakest of the
 * words' best places (title > heading or tag > prose > formula or code) first, then a tf-idf
 * score, more when all words share a section, plus a prior for pages that more pages link to;
 * equal scores keep the index's order (newest post first).
 *
 * Titles, tags, categories and excerpts are inserted as text, never as HTML.
 */
"use strict";

const KB_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff";
const KB_CJK_OR_NOT = new RegExp(`[${KB_CJK}]+|[^${KB_CJK}]+`, "g");
const KB_IS_CJK = new RegExp(`^[${KB_CJK}]`);
const KB_LATIN = /[A-Za-z0-9_]+/g;
const KB_MAX_WORD = 12;
const KB_MATH_OPEN = "\ue000";
const KB_MATH_CLOSE = "\ue001";
// Sphinx's English stop words that can be a word here (the ones without an apostrophe).
const KB_STOPWORDS = new Set(
  ("a about above after again against all am an and any are as at be because been before being " +
    "below between both but by cannot could did do does doing down during each few for from " +
    "further had has have having he her here hers herself him himself his how i if in into is it " +
    "its itself me more most my myself no nor not of off on once only or other ought our ours " +
    "ourselves out over own same she should so some such than that the their theirs them " +
    "themselves then there these they this those through to too under until up very was we were " +
    "what when where which while who whom why with would you your yours yourself yourselves").split(" "),
);
// Function words a reader types but the index need not hold; dropped from Chinese queries.
const KB_ZH_STOPWORDS = new Set([
  "的", "了", "和", "与", "及", "或", "是", "在", "中", "对", "把", "被", "从", "到", "为",
  "吗", "呢", "吧", "啊", "什么", "怎么", "怎样", "如何", "为什么", "哪些", "一个", "这个",
]);
// Ranking weights of a word's best place in a page, by tier (formula/code, prose, heading, title).
const KB_TIER_WEIGHT = [2, 5, 20, 60];
const KB_TIER_NAMES = ["公式或代码", "正文", "小节标题", "标题"];

// -- TeX terms: the same rules as _ext/kb/search/tex.py ------------------------------------------

const KB_TEX_LAYOUT = new Set(
  `left right big Big bigg Bigg bigl bigr Bigl Bigr biggl biggr Biggl Biggr middle
  quad qquad mathrm mathit mathsf mathbf mathcal mathbb mathfrak mathscr mathtt bm boldsymbol
  text textrm textbf textit textsf texttt operatorname operatorname* begin end displaystyle
  textstyle scriptstyle limits nolimits hspace vspace mathop mathbin mathrel mathord tag label
  nonumber notag phantom hphantom vphantom underbrace overbrace cdot cdots ldots dots vdots
  ddots colon mid lvert rvert lVert rVert langle rangle lbrace rbrace`.split(/\s+/),
);
const KB_TEX_WORD_ARGUMENT = new Set(
  "mathrm mathit mathsf mathbf text textrm textbf textit textsf texttt operatorname".split(" "),
);
const KB_TEX_STYLE = new Set("bm boldsymbol mathbf mathrm mathit mathsf mathcal mathbb mathfrak vec".split(" "));
const KB_TEX_TOKEN = /\\[A-Za-z]+\*?|\\[\s\S]|[A-Za-z]+|[0-9]+|\s+|[\s\S]/g;
const KB_LETTERS = /^[A-Za-z]+$/;
const KB_DIGITS = /^[0-9]+$/;
const KB_COMMAND = /^\\[A-Za-z]+\*?$/;

const kbBraced = (tex, start) => {
  let i = start;
  while (i < tex.length && /\s/.test(tex[i])) i++;
  if (i >= tex.length || tex[i] !== "{") return [null, start];
  let depth = 0;
  for (let j = i; j < tex.length; j++) {
    if (tex[j] === "{") depth++;
    else if (tex[j] === "}") {
      depth--;
      if (depth === 0) return [tex.slice(i + 1, j), j + 1];
    }
  }
  return [null, start];
};

const kbExpandMacros = (tex, macros, rounds = 3) => {
  const names = Object.keys(macros || {}).sort((a, b) => b.length - a.length);
  if (names.length === 0) return tex;
  const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const pattern = new RegExp(`(${names.map(escape).join("|")})(?![A-Za-z])`, "g");
  for (let round = 0; round < rounds; round++) {
    const out = [];
    let position = 0;
    let changed = false;
    for (const match of tex.matchAll(pattern)) {
      if (match.index < position) continue;
      let body = macros[match[1]];
      let end = match.index + match[0].length;
      if (body.includes("#1")) {
        const [argument, after] = kbBraced(tex, end);
        if (argument === null) continue;
        body = body.replaceAll("#1", argument);
        end = after;
      }
      out.push(tex.slice(position, match.index), " " + body + " ");
      position = end;
      changed = true;
    }
    out.push(tex.slice(position));
    tex = out.join("");
    if (!changed) break;
  }
  return tex;
};

const kbTexSimple = (tokens) => {
  const names = tokens.filter(
    (t) => !(t.startsWith("\\") && KB_TEX_STYLE.has(t.slice(1))) && t !== "{" && t !== "}",
  );
  if (names.length !== 1) return null;
  const name = names[0].startsWith("\\") ? names[0].slice(1) : names[0];
  return KB_LETTERS.test(name) || KB_DIGITS.test(name) ? name : null;
};

const kbTexTerms = (tex, macros) => {
  const tokens = (kbExpandMacros(tex, macros).match(KB_TEX_TOKEN) || []).filter((t) => !/^\s+$/.test(t));
  const terms = [];
  let atom = null;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (KB_COMMAND.test(token)) {
      const name = token.slice(1).replace(/\*+$/, "");
      if (KB_TEX_WORD_ARGUMENT.has(name) && tokens[i + 1] === "{") {
        let depth = 0;
        let j = i + 1;
        const word = [];
        for (; j < tokens.length; j++) {
          if (tokens[j] === "{") depth++;
          else if (tokens[j] === "}") {
            depth--;
            if (depth === 0) break;
          } else if (KB_LETTERS.test(tokens[j]) || KB_DIGITS.test(tokens[j])) word.push(tokens[j]);
        }
        const text = word.join("");
        if (text.length >= 2) terms.push(text.toLowerCase());
        atom = text.toLowerCase() || null;
        i = j;
        continue;
      }
      if (!KB_TEX_LAYOUT.has(name) && name.length >= 2) terms.push(name.toLowerCase());
      atom = KB_TEX_LAYOUT.has(name) || KB_TEX_STYLE.has(name) ? null : name.toLowerCase();
    } else if (KB_LETTERS.test(token)) {
      if (token.length >= 2) terms.push(token.toLowerCase());
      atom = token[token.length - 1].toLowerCase();
    } else if (KB_DIGITS.test(token)) {
      atom = null;
    } else if (token === "_" && atom !== null && i + 1 < tokens.length) {
      let sub;
      if (tokens[i + 1] === "{") {
        let depth = 0;
        let j = i + 1;
        for (; j < tokens.length; j++) {
          depth += tokens[j] === "{" ? 1 : tokens[j] === "}" ? -1 : 0;
          if (depth === 0) break;
        }
        sub = kbTexSimple(tokens.slice(i + 2, j));
      } else {
        sub = kbTexSimple([tokens[i + 1]]);
      }
      if (sub !== null) terms.push(`${atom}_${sub.toLowerCase()}`);
      atom = null;
    } else if (token === "^" || token === "{" || token === "}") {
      // a group keeps its atom: {\bar\alpha}_t is alpha_t
    } else {
      atom = null;
    }
  }
  return terms;
};

// -- Latin words: lowercase, Snowball English stem (_ext/kb/search/zh.py: latin_term) ------------

const kbLatinTerm = (word) => {
  const lower = word.toLowerCase();
  const stem = globalThis.kbStemmer ? globalThis.kbStemmer.stemWord(lower) : lower;
  return lower.length >= 3 && stem.length < 3 ? lower : stem;
};

const kbLatinWords = (text) =>
  (text.match(KB_LATIN) || [])
    .filter((w) => w.length > 1 && !KB_STOPWORDS.has(w.toLowerCase()))
    .map(kbLatinTerm)
    .filter((t) => t.length > 1);

const kbEditDistance = (a, b, limit) => {
  // Optimal string alignment: insertions, deletions, substitutions and adjacent swaps.
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let older = null;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
      if (older && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        current[j] = Math.min(current[j], older[j - 2] + 1);
      best = Math.min(best, current[j]);
    }
    if (best > limit) return limit + 1;
    older = previous;
    previous = current;
  }
  return previous[b.length];
};

/**
 * Cut a run of Chinese characters into the words the index knows (``pages(word)``: on how many
 * pages a word occurs, 0 for none, negative for a pair of characters that is no dictionary
 * word, which costs as much as one unknown character): fewest unknown characters, then fewest
 * pieces, then the more common words (as jieba prefers likelier words). Function words are
 * dropped, a lone unknown character too; two or more unknown characters in a row stay a word,
 * so a query about what the site lacks finds nothing.
 */
const kbSegmentChinese = (run, pages) => {
  const n = run.length;
  const best = new Array(n + 1).fill(null);
  best[0] = [0, 0, 0, []];
  const better = (a, b) => a[0] < b[0] || (a[0] === b[0] && (a[1] < b[1] || (a[1] === b[1] && a[2] > b[2])));
  const offer = (j, candidate) => {
    if (best[j] === null || better(candidate, best[j])) best[j] = candidate;
  };
  for (let i = 0; i < n; i++) {
    if (best[i] === null) continue;
    const [unknown, pieces, weight, tokens] = best[i];
    offer(i + 1, [unknown + 1, pieces, weight, [...tokens, null]]);
    for (let j = Math.min(n, i + KB_MAX_WORD); j >= i + 1; j--) {
      const word = run.slice(i, j);
      if (KB_ZH_STOPWORDS.has(word)) offer(j, [unknown, pieces, weight, [...tokens, word.length]]);
      else if (j >= i + 2) {
        const count = pages(word);
        if (count > 0) offer(j, [unknown, pieces + 1, weight + Math.log(1 + count), [...tokens, word]]);
        else if (count < 0) offer(j, [unknown + 1, pieces + 1, weight, [...tokens, word]]);
      }
    }
  }
  const words = [];
  let pending = "";
  let position = 0;
  const flush = () => {
    if (pending.length >= 2) words.push(pending);
    pending = "";
  };
  for (const token of best[n][3]) {
    if (token === null) {
      pending += run[position];
      position += 1;
    } else if (typeof token === "number") {
      flush();
      position += token;
    } else {
      flush();
      words.push(token);
      position += token.length;
    }
  }
  flush();
  return words;
};

// -- The index, fetched in pieces ------------------------------------------------------------------

class KbIndex {
  constructor(base) {
    this.base = base;
    this.meta = null;
    this.cache = new Map();
  }

  async load() {
    if (!this.meta) {
      this.meta = this.fetchJSON("index.json", { cache: "no-cache" }).catch((error) => {
        this.meta = null;
        throw error;
      });
    }
    return this.meta;
  }

  async fetchJSON(path, options = {}) {
    const response = await fetch(this.base + path, options);
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response.json();
  }

  async piece(path) {
    const meta = await this.load();
    if (!this.cache.has(path)) {
      const promise = this.fetchJSON(`${path}?v=${meta.v}`);
      this.cache.set(path, promise);
      promise.catch(() => this.cache.delete(path));
    }
    return this.cache.get(path);
  }

  blockOf(meta, term) {
    const blocks = meta.blocks;
    let low = 0;
    let high = blocks.length - 1;
    if (high < 0 || term < blocks[0]) return -1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (blocks[middle] <= term) low = middle;
      else high = middle - 1;
    }
    return low;
  }

  async entries(terms) {
    const meta = await this.load();
    const wanted = new Map();
    for (const term of terms) {
      const block = this.blockOf(meta, term);
      if (block >= 0) wanted.set(term, block);
    }
    const blocks = new Map();
    await Promise.all(
      [...new Set(wanted.values())].map(async (b) => blocks.set(b, await this.piece(`t/${b}.json`))),
    );
    const found = new Map();
    for (const [term, block] of wanted) {
      const entry = blocks.get(block)[term];
      if (entry !== undefined) found.set(term, entry);
    }
    return found;
  }

  async postings(entry) {
    const flat = Array.isArray(entry) ? entry : entry.p || (await this.piece(`p/${entry.f}.json`));
    const pages = new Map();
    let id = 0;
    for (let i = 0; i < flat.length; i += 3) {
      id += flat[i];
      const packed = flat[i + 1];
      pages.set(id, { tier: packed >> 12, prior: (packed >> 7) & 31, count: packed & 127, mask: flat[i + 2] });
    }
    return pages;
  }

  async prefixed(prefix, limit = 12) {
    const meta = await this.load();
    const first = Math.max(0, this.blockOf(meta, prefix));
    const terms = [];
    for (let b = first; b < meta.blocks.length && terms.length < limit; b++) {
      if (b > first && !meta.blocks[b].startsWith(prefix)) break;
      const block = await this.piece(`t/${b}.json`);
      for (const term of Object.keys(block)) {
        if (term.startsWith(prefix) && term !== prefix) terms.push(term);
        if (terms.length >= limit) break;
      }
    }
    return terms;
  }

  async nearest(term) {
    const meta = await this.load();
    const limit = term.length >= 8 ? 2 : 1;
    const lengths = meta.lengths.filter((l) => Math.abs(l - term.length) <= limit);
    const lists = await Promise.all(lengths.map((l) => this.piece(`w/${l}.json`)));
    let best = null;
    for (const list of lists) {
      for (const [candidate, word, pages] of list) {
        const distance = kbEditDistance(term, candidate, limit);
        if (distance > limit) continue;
        if (best === null || distance < best.distance || (distance === best.distance && pages > best.pages))
          best = { term: candidate, word, distance, pages };
      }
    }
    return best;
  }

  page(id) {
    return this.piece(`d/${id}.json`);
  }
}

/** On how many pages a vocabulary entry occurs: inline postings, {p: postings, g: 1} for a
 * pair of characters that is no word, or {f: file, n: pages}. Negative for such a pair. */
const kbPageCount = (entry) => {
  const count = Array.isArray(entry) ? entry.length / 3 : entry.p ? entry.p.length / 3 : entry.n;
  return entry.g ? -count : count;
};

const kbLoadStemmer = (() => {
  let loading = null;
  return (root) => {
    if (globalThis.kbStemmer) return Promise.resolve();
    if (!loading) {
      loading = new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = `${root}_static/kb-search-stemmer.js`;
        script.onload = resolve;
        script.onerror = () => {
          loading = null;
          reject(new Error("the stemmer did not load"));
        };
        document.head.appendChild(script);
      });
    }
    return loading;
  };
})();

/** The words of a query, each with the index terms that stand for it. */
const kbAnalyse = async (index, query) => {
  const meta = await index.load();
  const words = []; // {text, kind: "zh" | "latin" | "tex", term}
  const runs = query.match(KB_CJK_OR_NOT) || [];
  // Chinese runs are cut against the index: every substring that could be a word is looked up.
  const candidates = new Set();
  for (const run of runs) {
    if (!KB_IS_CJK.test(run)) continue;
    for (let i = 0; i < run.length; i++)
      for (let j = i + 2; j <= Math.min(run.length, i + KB_MAX_WORD); j++) candidates.add(run.slice(i, j));
  }
  const known = await index.entries(candidates);
  for (const run of runs) {
    if (KB_IS_CJK.test(run)) {
      const pages = (w) => (known.has(w) ? kbPageCount(known.get(w)) : 0);
      for (const word of kbSegmentChinese(run, pages)) words.push({ text: word, kind: "zh", term: word });
    } else if (/[\\^{}]/.test(run)) {
      for (const term of kbTexTerms(run, meta.macros)) {
        const t = kbLatinTerm(term);
        if (t.length > 1) words.push({ text: term, kind: "tex", term: t });
      }
    } else {
      for (const match of run.match(KB_LATIN) || []) {
        if (match.length < 2 || KB_STOPWORDS.has(match.toLowerCase())) continue;
        const t = kbLatinTerm(match);
        if (t.length > 1) words.push({ text: match, kind: "latin", term: t });
      }
    }
  }
  const unique = [];
  for (const word of words) if (!unique.some((u) => u.term === word.term)) unique.push(word);
  return unique;
};

/**
 * Search the index. Returns {words, hits, corrections}: hits are {id, score, tier, mask},
 * best first; corrections name the indexed words used for words of the query that are not
 * in the index.
 */
const kbSearch = async (index, query) => {
  const meta = await index.load();
  const words = await kbAnalyse(index, query);
  const corrections = [];
  if (words.length === 0) return { words, hits: [], corrections };
  const entries = await index.entries(words.map((w) => w.term));
  const perWord = await Promise.all(
    words.map(async (word) => {
      const alternatives = [];
      if (entries.has(word.term)) alternatives.push([entries.get(word.term), 1]);
      else if (word.kind !== "zh") {
        const longer = await index.prefixed(word.term);
        const found = await index.entries(longer);
        for (const term of longer) if (found.has(term)) alternatives.push([found.get(term), 0.8]);
        if (alternatives.length === 0 && word.term.length >= 4) {
          const near = await index.nearest(word.term);
          if (near) {
            const got = await index.entries([near.term]);
            if (got.has(near.term)) {
              alternatives.push([got.get(near.term), 0.7]);
              corrections.push([word.text, near.word]);
              word.matched = [near.term];
            }
          }
        } else {
          word.matched = longer;
        }
      }
      if (!word.matched) word.matched = [word.term];
      const pages = new Map();
      for (const [entry, factor] of alternatives) {
        for (const [id, p] of await index.postings(entry)) {
          const seen = pages.get(id);
          if (!seen) pages.set(id, { ...p, factor });
          else {
            seen.tier = Math.max(seen.tier, p.tier);
            seen.count += p.count;
            seen.mask |= p.mask;
            seen.factor = Math.max(seen.factor, factor);
          }
        }
      }
      return pages;
    }),
  );
  if (perWord.some((pages) => pages.size === 0)) return { words, hits: [], corrections };
  const order = perWord.map((_p, i) => i).sort((a, b) => perWord[a].size - perWord[b].size);
  const hits = [];
  for (const id of perWord[order[0]].keys()) {
    if (!order.every((i) => perWord[i].has(id))) continue;
    let tier = 3;
    let score = perWord[order[0]].get(id).prior; // pages more of the site links to, first
    let shared = -1;
    let any = 0;
    for (const pages of perWord) {
      const p = pages.get(id);
      const idf = Math.log(1 + meta.n / pages.size);
      tier = Math.min(tier, p.tier);
      score += idf * p.factor * (KB_TIER_WEIGHT[p.tier] + Math.log2(1 + p.count));
      shared &= p.mask;
      any |= p.mask;
    }
    if (perWord.length > 1 && shared !== 0) score *= 1.5; // all words in one section
    hits.push({ id, tier, score: tier * 1e6 + score, mask: shared !== 0 ? shared : any });
  }
  hits.sort((a, b) => b.score - a.score || a.id - b.id);
  return { words, hits, corrections };
};

// -- Excerpts ---------------------------------------------------------------------------------------

const kbEscapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Where the query's words occur in ``text``: sorted, merged [start, end) ranges. */
const kbMatches = (text, words, macros) => {
  const ranges = [];
  const latin = new Set();
  for (const word of words) {
    if (word.kind === "zh") {
      let at = text.indexOf(word.term);
      while (at >= 0) {
        ranges.push([at, at + word.term.length]);
        at = text.indexOf(word.term, at + word.term.length);
      }
    } else for (const term of word.matched || [word.term]) latin.add(term);
  }
  const pattern = new RegExp(`${KB_MATH_OPEN}[^${KB_MATH_CLOSE}]*${KB_MATH_CLOSE}|[A-Za-z0-9_]+`, "g");
  for (const match of text.matchAll(pattern)) {
    const token = match[0];
    if (token[0] === KB_MATH_OPEN) {
      const terms = kbTexTerms(token.slice(1, -1), macros).map(kbLatinTerm);
      if (terms.some((t) => latin.has(t))) ranges.push([match.index, match.index + token.length]);
    } else if (latin.has(kbLatinTerm(token))) ranges.push([match.index, match.index + token.length]);
  }
  ranges.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const merged = [];
  for (const range of ranges) {
    const last = merged[merged.length - 1];
    if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
    else merged.push([...range]);
  }
  return merged;
};

const kbMaskChunks = (mask, count) => {
  const chunks = [];
  for (let i = 0; i < count; i++) if (mask & (1 << Math.min(i, 30))) chunks.push(i);
  return chunks;
};

/** The chunk of a page to show for a hit: the one whose text holds the most query words. */
const kbBestChunk = (page, hit, words, macros) => {
  let best = 0;
  let bestCount = -1;
  const candidates = kbMaskChunks(hit.mask, page.s.length);
  for (const i of candidates.length ? candidates : page.s.map((_c, i) => i)) {
    const [, heading, text, code] = page.s[i];
    const haystack = `${heading}\n${text}\n${code}`;
    // Words found in the chunk, those in its heading counting half again (a section about them).
    let count = 0;
    for (const word of words) {
      if (kbMatches(haystack, [word], macros).length > 0) count += 1;
      if (i > 0 && kbMatches(heading, [word], macros).length > 0) count += 0.5;
    }
    if (count > bestCount) {
      best = i;
      bestCount = count;
    }
  }
  return best;
};

/** Segments of an excerpt around the densest matches of ``text``: [kind, text] pairs, kind
 * being "text", "mark", "math" or "math-mark". */
const kbExcerpt = (text, ranges, before = 40, after = 110) => {
  let center = 0;
  let bestCount = -1;
  for (const [start] of ranges) {
    const count = ranges.filter(([s]) => s >= start && s < start + after).length;
    if (count > bestCount) {
      center = start;
      bestCount = count;
    }
  }
  let from = Math.max(0, center - before);
  let to = Math.min(text.length, center + after);
  // Never cut a formula in two: widen to its delimiters.
  const open = text.lastIndexOf(KB_MATH_OPEN, from);
  if (open >= 0 && text.indexOf(KB_MATH_CLOSE, open) >= from) from = open;
  const close = text.indexOf(KB_MATH_CLOSE, to - 1);
  if (close >= 0 && text.lastIndexOf(KB_MATH_OPEN, close) < to) to = close + 1;
  const segments = [];
  if (from > 0) segments.push(["text", "…"]);
  let position = from;
  const push = (end, marked) => {
    const piece = text.slice(position, end);
    const parts = piece.split(new RegExp(`(${KB_MATH_OPEN}[^${KB_MATH_CLOSE}]*${KB_MATH_CLOSE})`));
    for (const part of parts) {
      if (!part) continue;
      if (part[0] === KB_MATH_OPEN) segments.push([marked ? "math-mark" : "math", kbShortFormula(part.slice(1, -1))]);
      else segments.push([marked ? "mark" : "text", part.replace(/\s*\n\s*/g, " ")]);
    }
    position = end;
  };
  for (const [start, end] of ranges) {
    if (end <= from || start >= to) continue;
    push(Math.max(start, from), false);
    push(Math.min(end, to), true);
  }
  push(to, false);
  if (to < text.length) segments.push(["text", "…"]);
  return segments;
};

/** A long formula cut to its first characters (a derivation can fill a screen). */
const kbShortFormula = (tex, limit = 90) => {
  const flat = tex.replace(/\s+/g, " ").trim();
  return flat.length > limit ? `${flat.slice(0, limit)}…` : flat;
};

/** The code lines of a chunk that hold query words (when the prose does not). */
const kbCodeLines = (code, words, macros) => {
  const lines = code.split("\n");
  const hits = lines.filter((line) => kbMatches(line, words, macros).length > 0);
  return hits.slice(0, 2).map((line) => line.trim().slice(0, 120));
};

// -- Rendering (text only: every string from the index goes through textContent) -------------

const kbElement = (tag, className, text) => {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
};

const kbAppendMarked = (parent, text, words, macros) => {
  let position = 0;
  for (const [start, end] of kbMatches(text, words, macros)) {
    parent.append(text.slice(position, start), kbElement("mark", "", text.slice(start, end)));
    position = end;
  }
  parent.append(text.slice(position));
};

const kbFillHit = (item, root, page, hit, words, macros, { compact }) => {
  const chunkIndex = kbBestChunk(page, hit, words, macros);
  const [anchor, heading, text, code] = page.s[chunkIndex] || ["", "", "", ""];
  const link = kbElement("a", "kb-hit-link");
  link.href = root + page.u + (anchor && chunkIndex > 0 ? `#${anchor}` : "");
  const title = kbElement("span", "kb-hit-title");
  kbAppendMarked(title, page.t, words, macros);
  link.append(title);
  if (heading && chunkIndex > 0) {
    const section = kbElement("span", "kb-hit-section");
    kbAppendMarked(section, heading, words, macros);
    link.append(section);
  }
  const meta = kbElement("span", "kb-hit-meta");
  for (const value of [page.c, page.d]) if (value) meta.append(kbElement("span", "kb-hit-meta-item", value));
  if (!compact) for (const tag of page.g) meta.append(kbElement("span", "kb-hit-tag", tag));
  const excerpt = kbElement("span", "kb-hit-excerpt");
  const ranges = kbMatches(text, words, macros);
  const lines = ranges.length === 0 && code ? kbCodeLines(code, words, macros) : [];
  if (lines.length) {
    for (const line of lines) {
      const element = kbElement("code", "kb-hit-code");
      kbAppendMarked(element, line, words, macros);
      excerpt.append(element);
    }
  } else {
    for (const [kind, piece] of kbExcerpt(text, ranges, compact ? 24 : 40, compact ? 70 : 110)) {
      if (kind === "text") excerpt.append(piece);
      else if (kind === "mark") excerpt.append(kbElement("mark", "", piece));
      else excerpt.append(kbElement("code", kind === "math-mark" ? "kb-hit-math is-match" : "kb-hit-math", piece));
    }
  }
  link.append(excerpt);
  if (meta.childNodes.length) link.append(meta);
  item.replaceChildren(link);
  item.dataset.url = page.u;
};

const kbStatusText = (result, shown, query) => {
  const notes = result.corrections.map(([typed, used]) => `“${typed}”按“${used}”搜索`).join("，");
  const prefix = notes ? `${notes}。` : "";
  if (result.hits.length === 0) return `${prefix}没有找到与“${query}”相关的文章。`;
  return `${prefix}找到 ${result.hits.length} 个页面${shown < result.hits.length ? `，显示前 ${shown} 个` : ""}。`;
};

// -- Results page ------------------------------------------------------------------------------

const KB_PAGE_SIZE = 20;

const kbResultsPage = (index, root) => {
  const form = document.querySelector("#kb-search-page form");
  const input = form.querySelector("input[name=q]");
  const category = form.querySelector("select[name=category]");
  const tag = form.querySelector("select[name=tag]");
  const status = document.getElementById("kb-search-status");
  const list = document.getElementById("kb-search-results");
  const more = document.getElementById("kb-search-more");
  let run = 0;
  let current = null;

  const fillFilters = async () => {
    const meta = await index.load();
    const params = new URLSearchParams(window.location.search);
    for (const [select, values, key] of [
      [category, meta.categories, "category"],
      [tag, meta.tags, "tag"],
    ]) {
      if (select.options.length > 1) continue;
      for (const [name, count] of values) {
        const option = kbElement("option", "", `${name}（${count}）`);
        option.value = name;
        select.append(option);
      }
      select.value = params.get(key) || "";
    }
  };

  const filtered = async (hits) => {
    const meta = await index.load();
    let result = hits;
    for (const [select, values, prefix] of [
      [category, meta.categories, "c"],
      [tag, meta.tags, "t"],
    ]) {
      const position = values.findIndex(([name]) => name === select.value);
      if (!select.value || position < 0) continue;
      const deltas = await index.piece(`f/${prefix}${position}.json`);
      const ids = new Set();
      let id = 0;
      for (const delta of deltas) ids.add((id += delta));
      result = result.filter((hit) => ids.has(hit.id));
    }
    return result;
  };

  const showMore = async (mine) => {
    const meta = await index.load();
    const start = list.children.length;
    const batch = current.hits.slice(start, start + KB_PAGE_SIZE);
    const items = batch.map(() => {
      const item = kbElement("li", "kb-hit is-loading");
      list.append(item);
      return item;
    });
    await Promise.all(
      batch.map(async (hit, i) => {
        const page = await index.page(hit.id);
        if (mine !== run) return;
        kbFillHit(items[i], root, page, hit, current.words, meta.macros, { compact: false });
        items[i].classList.remove("is-loading");
      }),
    );
    if (mine !== run) return;
    more.hidden = list.children.length >= current.hits.length;
    status.textContent = kbStatusText(current, list.children.length, current.query);
    status.dataset.state = "done";
  };

  const execute = async () => {
    const mine = ++run;
    const query = input.value.trim();
    list.replaceChildren();
    more.hidden = true;
    if (!query) {
      status.textContent = "";
      status.dataset.state = "idle";
      return;
    }
    status.textContent = "正在搜索……";
    status.dataset.state = "searching";
    try {
      await Promise.all([index.load(), kbLoadStemmer(root)]);
      await fillFilters();
      const result = await kbSearch(index, query);
      if (mine !== run) return;
      current = { ...result, hits: await filtered(result.hits), query };
      if (mine !== run) return;
      await showMore(mine);
    } catch (error) {
      if (mine !== run) return;
      status.textContent = `搜索出错：${error.message}`;
      status.dataset.state = "error";
    }
  };

  const syncURL = () => {
    const params = new URLSearchParams();
    params.set("q", input.value.trim());
    if (category.value) params.set("category", category.value);
    if (tag.value) params.set("tag", tag.value);
    const url = `${window.location.pathname}?${params}`;
    if (url !== window.location.pathname + window.location.search) window.history.pushState(null, "", url);
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    syncURL();
    execute();
  });
  for (const select of [category, tag])
    select.addEventListener("change", () => {
      syncURL();
      execute();
    });
  more.addEventListener("click", () => showMore(run));
  const fromURL = () => {
    const params = new URLSearchParams(window.location.search);
    input.value = params.get("q") || "";
    category.value = params.get("category") || "";
    tag.value = params.get("tag") || "";
    if (params.get("category") || params.get("tag")) fillFilters().then(execute);
    else execute();
  };
  window.addEventListener("popstate", fromURL);
  fromURL();
  input.focus();
};

// -- Instant results in the Ctrl+K dialog ------------------------------------------------------

const KB_DIALOG_HITS = 8;

const kbDialog = (index, root) => {
  const dialog = document.getElementById("pst-search-dialog");
  const form = dialog && dialog.querySelector("form");
  const input = form && form.querySelector("input[name=q]");
  if (!input) return;
  dialog.classList.add("kb-search-dialog");
  dialog.setAttribute("aria-label", "搜索");
  const panel = kbElement("div", "kb-dialog-panel");
  const status = kbElement("p", "kb-dialog-status");
  status.id = "kb-dialog-status";
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  const list = kbElement("ul", "kb-dialog-results");
  list.id = "kb-dialog-results";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", "搜索结果");
  const all = kbElement("a", "kb-dialog-all", "在搜索页查看全部结果");
  all.hidden = true;
  panel.append(status, list, all);
  form.after(panel);
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", list.id);
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-describedby", status.id);

  let run = 0;
  let timer = null;
  let active = -1;
  const options = () => [...list.querySelectorAll("[role=option]")];
  const activate = (i) => {
    const all_ = options();
    active = all_.length ? (i + all_.length) % all_.length : -1;
    all_.forEach((option, j) => {
      option.setAttribute("aria-selected", String(j === active));
      option.classList.toggle("is-active", j === active);
    });
    if (active >= 0) {
      input.setAttribute("aria-activedescendant", all_[active].id);
      all_[active].scrollIntoView({ block: "nearest" });
    } else input.removeAttribute("aria-activedescendant");
  };

  const execute = async () => {
    const mine = ++run;
    const query = input.value.trim();
    const started = performance.now();
    if (!query) {
      list.replaceChildren();
      status.textContent = "";
      all.hidden = true;
      input.setAttribute("aria-expanded", "false");
      activate(-1);
      dialog.dataset.state = "idle";
      return;
    }
    dialog.dataset.state = "searching";
    try {
      await Promise.all([index.load(), kbLoadStemmer(root)]);
      const meta = await index.load();
      const result = await kbSearch(index, query);
      if (mine !== run) return;
      const hits = result.hits.slice(0, KB_DIALOG_HITS);
      const pages = await Promise.all(hits.map((hit) => index.page(hit.id)));
      if (mine !== run) return;
      const items = hits.map((hit, i) => {
        // The link itself is the option (an option holding a link nests interactive controls).
        const item = kbElement("li", "kb-hit");
        item.setAttribute("role", "none");
        kbFillHit(item, root, pages[i], hit, result.words, meta.macros, { compact: true });
        const link = item.querySelector("a");
        link.id = `kb-dialog-option-${i}`;
        link.setAttribute("role", "option");
        link.setAttribute("aria-selected", "false");
        link.tabIndex = -1;
        return item;
      });
      list.replaceChildren(...items);
      status.textContent = kbStatusText(result, hits.length, query);
      all.href = `${root}search.html?q=${encodeURIComponent(query)}`;
      all.hidden = result.hits.length === 0;
      all.textContent = result.hits.length > hits.length ? `在搜索页查看全部 ${result.hits.length} 个结果` : "在搜索页打开";
      input.setAttribute("aria-expanded", String(items.length > 0));
      activate(-1);
      dialog.dataset.state = "done";
      dialog.dataset.ms = String(Math.round(performance.now() - started));
    } catch (error) {
      if (mine !== run) return;
      status.textContent = `搜索出错：${error.message}`;
      dialog.dataset.state = "error";
    }
  };

  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(execute, 120);
  });
  input.addEventListener("focus", () => {
    index.load().catch(() => {});
    kbLoadStemmer(root).catch(() => {});
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (options().length) activate(active + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter") {
      const option = options()[active];
      if (option) {
        event.preventDefault();
        window.location.href = option.href;
      }
    }
  });
  form.addEventListener("submit", (event) => {
    // Enter without a chosen result: the results page, as a shareable URL.
    event.preventDefault();
    const query = input.value.trim();
    if (query) window.location.href = `${root}search.html?q=${encodeURIComponent(query)}`;
  });
  dialog.addEventListener("close", () => {
    window.clearTimeout(timer);
    activate(-1);
  });
};

// -- Start -------------------------------------------------------------------------------------

if (typeof module !== "undefined" && module.exports) {
  module.exports = { kbTexTerms, kbExpandMacros, kbLatinTerm, kbSegmentChinese, kbEditDistance, kbExcerpt, kbMatches, KB_STOPWORDS };
} else {
  const kbStart = () => {
    const root = document.documentElement.dataset.content_root ?? "";
    const index = new KbIndex(`${root}_search/`);
    globalThis.kbSearchIndex = index;
    globalThis.kbSearchQuery = (query) => kbLoadStemmer(root).then(() => kbSearch(index, query));
    kbDialog(index, root);
    if (document.getElementById("kb-search-page")) kbResultsPage(index, root);
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", kbStart);
  else kbStart();
}
