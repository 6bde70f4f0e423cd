/* Allopregnanolone Evidence Atlas: sorting (vendored tablesort) and filtering of summary tables.
   Without JavaScript the table is complete and readable; the filter controls stay hidden.
   A table split into pages (allokb.render.paging: the filter box lists the pages in
   data-allokb-pages) is filtered across all of them: a filter fetches the other pages that can
   match (each option names them in data-pages; a text filter needs them all), once, from the
   same site, and shows their matching rows in this table; without a filter, only this page's
   rows are shown, with the links to the other pages. */
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
      var none = box.parentElement.querySelector("[data-allokb-none]");
      var byName = {};
      selects.forEach(function (sel) { byName[sel.dataset.allokbFilter] = sel; });
      // Filters live in the URL (?population=men-on-trt&outcome=anxiety&q=...), so a filtered view
      // can be linked; only values the page offers are taken from it.
      var params = new URLSearchParams(window.location.search);
      selects.forEach(function (sel) {
        var want = params.get(sel.dataset.allokbFilter);
        if (want && [].some.call(sel.options, function (o) { return o.value === want; })) sel.value = want;
      });
      if (params.get("q")) text.value = params.get("q");
      function label(sel) {  // "Men on TRT" -> "men on TRT": lower case unless it starts an acronym
        var t = sel && sel.value ? sel.options[sel.selectedIndex].textContent : "";
        return t.length > 1 && t[1] === t[1].toLowerCase() ? t[0].toLowerCase() + t.slice(1) : t;
      }
      function evidence(row, pop, out) {
        // The evidence cell: the main outcome's row, or, filtered, the rows of that population
        // and/or outcome; none studied is said in words. Sorting follows what is shown.
        var cell = row.querySelector("[data-allokb-evidence]");
        if (!cell) return;
        var main = cell.querySelector("[data-main]"), empty = cell.querySelector("[data-empty]"), best = 0, any = false;
        cell.querySelectorAll("[data-ev-population]").forEach(function (span) {
          var ok = (pop || out) && (!pop || span.dataset.evPopulation === pop) && (!out || span.dataset.evOutcome === out);
          span.hidden = !ok;
          if (ok) { any = true; best = Math.max(best, +span.dataset.rank); }
        });
        main.hidden = !!(pop || out);
        empty.hidden = !(pop || out) || any;
        if ((pop || out) && !any) {
          empty.textContent = "No graded evidence" + (out ? " for " + label(byName.outcome) : "") +
            (pop ? " in " + label(byName.population) : "");
        }
        cell.setAttribute("data-sort", (pop || out) ? String(best) : cell.dataset.mainRank);
      }
      // The pages of a paged table: their URLs, this page's number, the entries of all of them.
      var pages = (box.dataset.allokbPages || "").split(" ").filter(Boolean).map(function (href) {
        return new URL(href, window.location.href).href;
      });
      var here = +(box.dataset.allokbPage || 1), total = +(box.dataset.allokbTotal || 0);
      var paging = box.parentElement.querySelectorAll("[data-allokb-paging]");
      var loaded = {}, failed = [];  // page number -> true once its rows are in the table
      loaded[here] = true;
      [].forEach.call(table.tBodies[0].rows, function (row) { row.dataset.allokbPage = String(here); });
      function wanted(needle) {
        // The pages that can hold a match: those every chosen option names (all for a text filter).
        var want = null;
        selects.forEach(function (sel) {
          if (!sel.value) return;
          var opt = sel.options[sel.selectedIndex];
          var these = (opt.dataset.pages || "").split(" ").filter(Boolean).map(Number);
          want = want === null ? these : want.filter(function (n) { return these.indexOf(n) !== -1; });
        });
        if (want === null) want = needle ? pages.map(function (_, i) { return i + 1; }) : [];
        return want.filter(function (n) { return !loaded[n] && failed.indexOf(n) === -1 && n <= pages.length; });
      }
      var fetching = {};  // page number -> the promise of its rows (a page is fetched once)
      function fetchPage(n) {
        // Parse the page (never run: DOMParser) and insert its rows in page order, their links
        // made absolute (they were written relative to their own page).
        return fetching[n] || (fetching[n] = window.fetch(pages[n - 1]).then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.text();
        }).then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var body = doc.querySelector("table.allokb-summary tbody"), mine = table.tBodies[0];
          var before = [].filter.call(mine.rows, function (r) { return +r.dataset.allokbPage > n; })[0] || null;
          [].slice.call(body ? body.rows : []).forEach(function (row) {
            row.querySelectorAll("a[href]").forEach(function (a) {
              a.setAttribute("href", new URL(a.getAttribute("href"), pages[n - 1]).href);
            });
            var copy = document.importNode(row, true);
            copy.dataset.allokbPage = String(n);
            copy.hidden = true;
            mine.insertBefore(copy, before);
          });
          loaded[n] = true;
        }).catch(function () { failed.push(n); }));
      }
      function load(numbers) { return Promise.all(numbers.map(fetchPage)); }
      var generation = 0;
      function apply() {
        var needle = (text.value || "").trim().toLowerCase();
        var missing = pages.length > 1 ? wanted(needle) : [];
        var filtering = !!needle || [].some.call(selects, function (sel) { return !!sel.value; });
        paging.forEach(function (nav) { nav.hidden = filtering; });
        show(needle, filtering, missing.length > 0);
        if (missing.length) {
          var mine = ++generation;
          load(missing).then(function () { if (mine === generation) apply(); });
        }
      }
      function show(needle, filtering, loading) {
        var shown = 0, rows = table.tBodies[0].rows, counted = 0;
        var pop = byName.population ? byName.population.value : "", out = byName.outcome ? byName.outcome.value : "";
        for (var i = 0; i < rows.length; i++) {
          var row = rows[i], ok = !needle || row.textContent.toLowerCase().indexOf(needle) !== -1;
          // Unfiltered, a paged table shows its own page's rows only, as without JavaScript.
          if (!filtering && +row.dataset.allokbPage !== here) { row.hidden = true; continue; }
          counted++;
          selects.forEach(function (sel) {
            var want = sel.value, have = (row.dataset[sel.dataset.allokbFilter] || "").split(" ");
            if (want && have.indexOf(want) === -1) ok = false;
          });
          row.hidden = !ok;
          evidence(row, pop, out);
          if (ok) shown++;
        }
        var of = pages.length > 1 ? total : counted;
        count.textContent = shown + " of " + of + " shown" + (loading ? ", searching the other pages\u2026" : "") +
          (failed.length ? " (page " + failed.join(", ") + " could not be loaded)" : "");
        if (none) {
          none.hidden = shown > 0 || loading;
          none.textContent = shown || loading ? "" : "No intervention in this knowledge base has graded evidence" +
            (out ? " for " + label(byName.outcome) : "") + (pop ? " in " + label(byName.population) : "") +
            (needle ? " matching \u201c" + text.value.trim() + "\u201d" : "") + ".";
        }
        var next = new URLSearchParams();
        selects.forEach(function (sel) { if (sel.value) next.set(sel.dataset.allokbFilter, sel.value); });
        if (needle) next.set("q", text.value.trim());
        var query = next.toString();
        window.history.replaceState(null, "", window.location.pathname + (query ? "?" + query : "") + window.location.hash);
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
