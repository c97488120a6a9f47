// Knowledge map: highlight a post's links and neighbours on hover or keyboard focus.
// The map is complete without this script; it only adds emphasis.
(function () {
  "use strict";
  function setup(svg) {
    var edges = Array.prototype.slice.call(svg.querySelectorAll(".kb-map-edge"));
    var nodes = Array.prototype.slice.call(svg.querySelectorAll(".kb-map-node"));
    function clear() {
      svg.classList.remove("kb-map-focus");
      edges.concat(nodes).forEach(function (el) { el.classList.remove("is-active"); });
    }
    function show(doc) {
      clear();
      var near = {};
      near[doc] = true;
      edges.forEach(function (edge) {
        var a = edge.getAttribute("data-a"), b = edge.getAttribute("data-b");
        if (a === doc || b === doc) {
          edge.classList.add("is-active");
          near[a] = near[b] = true;
        }
      });
      nodes.forEach(function (node) {
        if (near[node.getAttribute("data-doc")]) node.classList.add("is-active");
      });
      svg.classList.add("kb-map-focus");
    }
    nodes.forEach(function (node) {
      var doc = node.getAttribute("data-doc");
      node.addEventListener("mouseenter", function () { show(doc); });
      node.addEventListener("focus", function () { show(doc); });
      node.addEventListener("mouseleave", clear);
      node.addEventListener("blur", clear);
    });
  }
  function init() {
    Array.prototype.forEach.call(document.querySelectorAll(".kb-map-svg"), setup);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
