/**
 * Search ranking for the knowledge base (html_search_scorer in conf.py).
 *
 * Sphinx scores a page by the best single match: any word in any section heading scores as
 * much as a word in the page's own title, and the body's term counts are not in the index.
 * With many related articles, a query such as "随机逼近" then ties dozens of pages and the ties
 * are broken alphabetically. This scorer keeps Sphinx's weights and adds up to 20 points for
 * the share of the query's words (as the site's splitter cuts them) that appear in the page's
 * own title, so the article *about* the query comes first.
 */
var Scorer = {
  score: (result) => {
    const [, title, , , score] = result;
    const query = (new URLSearchParams(window.location.search).get("q") || "").trim();
    if (!query) return score;
    const words = (typeof splitQuery === "function" ? splitQuery(query) : query.split(/\s+/))
      .map((word) => word.toLowerCase())
      .filter((word) => word.length > 0);
    if (words.length === 0) return score;
    const pageTitle = String(title).split(" > ")[0].toLowerCase();
    const inTitle = words.filter((word) => pageTitle.includes(word)).length;
    return score + Math.round((20 * inTitle) / words.length);
  },
  objNameMatch: 11,
  objPartialMatch: 6,
  objPrio: { 0: 15, 1: 5, 2: -5 },
  objPrioDefault: 0,
  title: 15,
  partialTitle: 7,
  term: 5,
  partialTerm: 2,
};
