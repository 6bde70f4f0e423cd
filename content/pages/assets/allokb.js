/* Allopregnanolone Evidence Atlas: sorting (vendored tablesort) and filtering of summary tables.
   Without JavaScript the table is complete and readable; the filter controls stay hidden. */
(function () {
  "use strict";
  function scrollRegions() {
    // A table wider than the screen scrolls sideways; keyboard users must be able to reach it.
    document.querySelectorAll(".md-typeset__scrollwrap").forEach(function (wrap) {
      if (wrap.scrollWidth > wrap.clientWidth && !wrap.hasAttribute("tabindex")) {
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("role", "region");
        wrap.setAttribute("aria-label", "Table (scrolls sideways)");
      }
    });
  }
  function setup() {
    scrollRegions();
    document.querySelectorAll("table[data-allokb-sortable]").forEach(function (table) {
      if (table.dataset.allokbReady) return;
      table.dataset.allokbReady = "1";
      if (window.Tablesort) new window.Tablesort(table);
    });
    document.querySelectorAll("[data-allokb-filters]").forEach(function (box) {
      if (box.dataset.allokbReady) return;
      box.dataset.allokbReady = "1";
      var table = box.parentElement.querySelector("table[data-allokb-sortable]");
      if (!table) return;
      var text = box.querySelector("[data-allokb-filter-text]");
      var selects = box.querySelectorAll("select[data-allokb-filter]");
      var count = box.querySelector("[data-allokb-count]");
      function apply() {
        var needle = (text.value || "").trim().toLowerCase();
        var shown = 0, rows = table.tBodies[0].rows;
        for (var i = 0; i < rows.length; i++) {
          var row = rows[i], ok = !needle || row.textContent.toLowerCase().indexOf(needle) !== -1;
          selects.forEach(function (sel) {
            var want = sel.value, have = (row.dataset[sel.dataset.allokbFilter] || "").split(" ");
            if (want && have.indexOf(want) === -1) ok = false;
          });
          row.hidden = !ok;
          if (ok) shown++;
        }
        count.textContent = shown + " of " + rows.length + " shown";
      }
      text.addEventListener("input", apply);
      selects.forEach(function (sel) { sel.addEventListener("change", apply); });
      box.hidden = false;
      apply();
    });
  }
  if (window.document$ && window.document$.subscribe) window.document$.subscribe(setup);  // Material instant loading
  else document.addEventListener("DOMContentLoaded", setup);
})();
