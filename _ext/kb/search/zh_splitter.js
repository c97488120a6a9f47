/**
 * Query splitter for Chinese (and mixed Chinese/English) search, installed by _ext/search_zh.py.
 *
 * Latin letters and digits form words as in the index ([A-Za-z0-9_]+). A run of Chinese
 * characters is cut into words that the search index really contains (jieba's words, from
 * `terms` and `titleterms`): the cut with the fewest unknown characters, then the fewest
 * pieces, wins. Common function words (的, 如何, …) are dropped; a single unknown character is
 * dropped too (single characters are never indexed), but a run of two or more unknown
 * characters stays a search word, so a query about something the site lacks finds nothing.
 * Before the index has loaded, a Chinese run is kept whole.
 */
const KB_CJK_RUN = /[A-Za-z0-9_]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+/g;
const KB_MAX_WORD = 12;
let kbIndexWords = null;

const kbIndexHasWord = (word) => {
  if (kbIndexWords === null) {
    if (typeof Search === "undefined" || !Search._index) return null;
    kbIndexWords = new Set([
      ...Object.keys(Search._index.terms || {}),
      ...Object.keys(Search._index.titleterms || {}),
    ]);
  }
  return kbIndexWords.has(word);
};

// Function words a reader types but the index need not hold; dropped from queries.
const KB_STOPWORDS = new Set([
  "的", "了", "和", "与", "及", "或", "是", "在", "中", "对", "把", "被", "从", "到", "为",
  "吗", "呢", "吧", "啊", "什么", "怎么", "怎样", "如何", "为什么", "哪些", "一个", "这个",
]);

const kbSegmentChinese = (run) => {
  if (kbIndexHasWord(run) === null) return [run];
  const n = run.length;
  // best[i] = [unknown characters, pieces, tokens] for the prefix run.slice(0, i); a token is
  // an indexed word, the length of a dropped function word, or null for one character that
  // starts no indexed word.
  const best = new Array(n + 1).fill(null);
  best[0] = [0, 0, []];
  const offer = (j, candidate) => {
    const b = best[j];
    if (b === null || candidate[0] < b[0] || (candidate[0] === b[0] && candidate[1] < b[1]))
      best[j] = candidate;
  };
  for (let i = 0; i < n; i++) {
    if (best[i] === null) continue;
    const [unknown, pieces, tokens] = best[i];
    offer(i + 1, [unknown + 1, pieces, [...tokens, null]]);
    for (let j = Math.min(n, i + KB_MAX_WORD); j >= i + 1; j--) {
      const word = run.slice(i, j);
      if (KB_STOPWORDS.has(word)) offer(j, [unknown, pieces, [...tokens, word.length]]);
      else if (j >= i + 2 && kbIndexHasWord(word)) offer(j, [unknown, pieces + 1, [...tokens, word]]);
    }
  }
  // A lone unknown character (a particle) is dropped; two or more unknown characters in a row
  // are a word the site does not contain, kept so that the query honestly finds nothing.
  const words = [];
  let pending = "";
  let position = 0;
  const flush = () => {
    if (pending.length >= 2) words.push(pending);
    pending = "";
  };
  for (const token of best[n][2]) {
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

var splitQuery = (query) => {
  const words = [];
  for (const match of query.matchAll(KB_CJK_RUN)) {
    const run = match[0];
    if (/^[A-Za-z0-9_]/.test(run)) words.push(run);
    else words.push(...kbSegmentChinese(run));
  }
  return words;
};
