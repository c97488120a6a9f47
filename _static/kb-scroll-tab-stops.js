/* Keyboard access to code blocks and tables that scroll sideways (WCAG 2.1.1), as the theme's
   addTabStopsToScrollableElements gives it, but each element is measured when it comes near the
   screen: measuring them all on load forced the browser to lay out every section that
   content-visibility: auto skips (_ext/kb/assets/theme_script.py takes the theme's measurement
   out). Until measured, an element is a tab stop; reaching it by Tab scrolls it into view, and
   it is measured then. */
(function () {
  var selector = "pre, .nboutput > .output_area, .cell_output > .output, .jp-RenderedHTMLCommon, " +
    ".pst-scrollable-table-container";
  function measure(el) {
    el.tabIndex = el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight ? 0 : -1;
  }
  var observer = new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (entry.isIntersecting) measure(entry.target);
    });
  }, { rootMargin: "200px 0px" });
  var timer = null;
  function start() {
    document.querySelectorAll(selector).forEach(function (el) {
      if (!el.hasAttribute("tabindex")) el.tabIndex = 0;
      observer.observe(el);
    });
  }
  // A new width changes what scrolls: measure again what is near the screen.
  window.addEventListener("resize", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      observer.disconnect();
      start();
    }, 300);
  });
  start();
})();
