/**
 * Query splitter for Chinese (and mixed Chinese/English) search, installed by _ext/search_zh.py.
 *
 * Latin letters and digits form words as in the index ([A-Za-z0-9_]+). A run of Chinese
 * characters is cut into words that the search index really contains (jieba's words, from
 * `terms` and `titleterms`): among all cuts, the one with the fewest pieces wins, and
 * characters that start no indexed word are dropped (single characters are never indexed).
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

const kbSegmentChinese = (run) => {
  if (kbIndexHasWord(run) === null) return [run];
  const n = run.length;
  // best[i]: [pieces, dropped characters, words] for the prefix run.slice(0, i)
  const best = new Array(n + 1).fill(null);
  best[0] = [0, 0, []];
  for (let i = 0; i < n; i++) {
    if (best[i] === null) continue;
    const [pieces, dropped, words] = best[i];
    const offer = (j, candidate) => {
      const b = best[j];
      if (
        b === null ||
        candidate[1] < b[1] ||
        (candidate[1] === b[1] && candidate[0] < b[0])
      ) best[j] = candidate;
    };
    offer(i + 1, [pieces, dropped + 1, words]); // drop one character
    for (let j = Math.min(n, i + KB_MAX_WORD); j >= i + 2; j--) {
      const word = run.slice(i, j);
      if (kbIndexHasWord(word)) offer(j, [pieces + 1, dropped, [...words, word]]);
    }
  }
  return best[n][2];
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
