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
    doseFilter();
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
  function doseFilter() {
    // The dose tables of an intervention page: filter their rows by route and by amount.
    document.querySelectorAll("[data-allokb-dose-filter]").forEach(function (box) {
      if (box.dataset.allokbReady) return;
      box.dataset.allokbReady = "1";
      var tables = [], node = box.nextElementSibling;
      while (node && node.tagName !== "H2") {  // the tables of this section only
        node.querySelectorAll && node.querySelectorAll("table").forEach(function (t) { tables.push(t); });
        if (node.tagName === "TABLE") tables.push(node);
        node = node.nextElementSibling;
      }
      var route = box.querySelector("[data-allokb-dose-route]"), amount = box.querySelector("[data-allokb-dose-amount]");
      var count = box.querySelector("[data-allokb-count]");
      function column(table, name) {
        var heads = table.tHead ? table.tHead.rows[0].cells : [];
        for (var i = 0; i < heads.length; i++) if (heads[i].textContent.trim() === name) return i;
        return -1;
      }
      function apply() {
        var want = route.value, needle = (amount.value || "").trim().toLowerCase(), shown = 0, total = 0;
        tables.forEach(function (table) {
          var r = column(table, "Route"), a = column(table, "Amount"), rows = table.tBodies[0].rows;
          for (var i = 0; i < rows.length; i++) {
            var cells = rows[i].cells, ok = true;
            if (want && r >= 0 && cells[r].textContent.trim() !== want) ok = false;
            if (needle && a >= 0 && cells[a].textContent.toLowerCase().indexOf(needle) === -1) ok = false;
            rows[i].hidden = !ok;
            total++;
            if (ok) shown++;
          }
        });
        count.textContent = shown + " of " + total + " doses shown";
      }
      route.addEventListener("change", apply);
      amount.addEventListener("input", apply);
      box.hidden = false;
      apply();
    });
  }
  if (window.document$ && window.document$.subscribe) window.document$.subscribe(setup);  // Material instant loading
  else document.addEventListener("DOMContentLoaded", setup);
})();
/* The corrections page's filters by kind of error. Without JavaScript every row is shown and the
   ranking line is plain text; with it, the line's kinds become buttons, and the chosen kind lives
   in the URL (`?kind=figure-not-in-source`), so that a filtered view can be linked. */
(function () {
  "use strict";
  function kindFilters() {
    var line = document.querySelector("p[data-allokb-kinds]");
    var table = document.querySelector("table.allokb-errors");
    if (!line || !table || line.dataset.allokbReady) return;
    line.dataset.allokbReady = "1";
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var box = document.createElement("div");
    box.className = "allokb-kinds";
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "Show one kind of error");
    var status = document.createElement("span");
    status.setAttribute("role", "status");
    var buttons = [];
    function kindsOf(row) { return (row.dataset.kinds || "").split(" "); }
    function add(kind, label) {
      var count = kind ? rows.filter(function (r) { return kindsOf(r).indexOf(kind) !== -1; }).length : rows.length;
      if (!count) return;
      var b = document.createElement("button");
      b.type = "button";
      b.dataset.kind = kind;
      b.textContent = label + " (" + count + ")";
      b.addEventListener("click", function () { apply(kind, true); });
      buttons.push(b);
      box.appendChild(b);
    }
    function apply(kind, remember) {
      var shown = 0;
      rows.forEach(function (r) {
        var ok = !kind || kindsOf(r).indexOf(kind) !== -1;
        r.hidden = !ok;
        if (ok) shown++;
      });
      buttons.forEach(function (b) { b.setAttribute("aria-pressed", String(b.dataset.kind === kind)); });
      status.textContent = shown + " of " + rows.length + " shown";
      if (remember && window.history && window.URL) {
        var url = new URL(window.location.href);
        if (kind) url.searchParams.set("kind", kind); else url.searchParams.delete("kind");
        window.history.replaceState(window.history.state, "", url.toString());
      }
    }
    add("", "All");
    line.querySelectorAll("[data-kind]").forEach(function (s) { add(s.dataset.kind, s.textContent); });
    box.appendChild(status);
    line.parentNode.insertBefore(box, line.nextSibling);
    var wanted = new URLSearchParams(window.location.search).get("kind") || "";
    apply(buttons.some(function (b) { return b.dataset.kind === wanted; }) ? wanted : "", false);
  }
  if (window.document$ && window.document$.subscribe) window.document$.subscribe(kindFilters);
  else document.addEventListener("DOMContentLoaded", kindFilters);
})();
