/* In-page links land on their target although most of the article is not laid out yet.
   kb.css gives each article section below the first screen `content-visibility: auto`: it is laid
   out only when it comes near the screen, and until then counts as its placeholder height. A jump
   to an anchor (the page opened with #hash, a link to the table of contents, a footnote or an
   equation followed, the address edited, history) would land where the placeholders put it, not
   where the text is. So before the browser scrolls to a target, the sections above it (and
   around it) are laid out for real (class kb-shown, `content-visibility: visible`); when the
   browser has already scrolled (a hash change that was not a click), it scrolls again. The
   sections below the target stay skipped. */
(function () {
  var SECTIONS = ".bd-article section section";

  function targetOf(hash) {
    if (!hash || hash.length < 2) return null;
    var id;
    try {
      id = decodeURIComponent(hash.slice(1));
    } catch (e) {
      id = hash.slice(1);
    }
    return document.getElementById(id);
  }

  // Lays out every section that precedes or contains the target; true when one had been skipped.
  function showAbove(target) {
    var changed = false;
    document.querySelectorAll(SECTIONS).forEach(function (section) {
      if (section.classList.contains("kb-shown")) return;
      if (section.compareDocumentPosition(target) & Node.DOCUMENT_POSITION_FOLLOWING) {
        section.classList.add("kb-shown");
        changed = true;
      }
    });
    return changed;
  }

  function land(hash) {
    var target = targetOf(hash);
    if (target && showAbove(target)) target.scrollIntoView();
  }

  // A followed link to this page: lay out before the browser's own scroll, which then lands.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[href*='#']");
    if (!link || link.origin !== location.origin || link.pathname !== location.pathname) return;
    var target = targetOf(link.hash);
    if (target) showAbove(target);
  }, true);
  window.addEventListener("hashchange", function () {
    land(location.hash);
  });
  // Opened with a #hash: the browser may have scrolled to the placeholder position already.
  land(location.hash);
})();
