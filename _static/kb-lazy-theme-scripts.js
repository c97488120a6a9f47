/* Load the theme's bootstrap.js when the reader first interacts with the page (see
   _templates/layout.html): tooltips, the colour-mode dropdown and back-to-top need it, reading
   does not. A dropdown clicked before it has loaded opens once it has; a tooltip hovered
   meanwhile is shown. */
(function () {
  var me = document.currentScript;
  var src = me && me.getAttribute("data-kb-lazy-src");
  if (!src) return;
  var requested = false, pending = null;
  function load() {
    if (requested) return;
    requested = true;
    var script = document.createElement("script");
    script.src = src;
    script.onload = function () {
      if (!window.bootstrap) return;
      if (pending) bootstrap.Dropdown.getOrCreateInstance(pending).toggle();
      pending = null;
      document.querySelectorAll('[data-bs-toggle="tooltip"]').forEach(function (el) {
        if (el.matches(":hover") || el.matches(":focus-visible")) {
          var tip = bootstrap.Tooltip.getInstance(el);
          if (tip) tip.show();
        }
      });
    };
    document.head.appendChild(script);
  }
  ["pointerover", "pointerdown", "touchstart", "keydown", "focusin", "scroll", "wheel"].forEach(function (type) {
    window.addEventListener(type, load, { capture: true, passive: true, once: true });
  });
  document.addEventListener("click", function (event) {
    if (window.bootstrap) return;
    var toggle = event.target.closest && event.target.closest('[data-bs-toggle="dropdown"]');
    if (!toggle) return;
    event.preventDefault();
    pending = toggle;
    load();
  }, true);
})();
