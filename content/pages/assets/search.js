/* Allopregnanolone Evidence Atlas: the search box in the header, over the Pagefind index that the
   build writes to pagefind/ (allokb.search). Nothing of Pagefind (its script, WebAssembly or index)
   is fetched until the reader opens the search: a click on the search box or its icon, or the
   keys / s f (as in Material). Results come from our own pages, but page text is contributor text:
   titles are set as text, and an excerpt is split on Pagefind's <mark> markers into text nodes,
   never parsed as HTML. Filters: the kind of page (data-pagefind-filter="kind:…" in main.html).
   pagefind/delta/delta.json says whether a second bundle is there, pagefind/delta/: the pages
   `allokb serve` rewrote since its last full index (allokb.livesearch), merged into the search
   (Pagefind's mergeIndex); the full bundle's results it replaces (a page the delta holds again,
   or one that is gone) are dropped, by their page id (a delta's ids never equal a full bundle's).
   A built site's delta is empty: no pages, nothing replaced. */
(function () {
  "use strict";
  var script = document.currentScript;
  var box = document.querySelector("[data-allokb-search]");
  var toggle = document.getElementById("__search");
  if (!script || !box || !toggle) return;
  var input = box.querySelector(".md-search__input");
  var form = box.querySelector(".md-search__form");
  var meta = box.querySelector(".md-search-result__meta");
  var list = box.querySelector(".md-search-result__list");
  var kinds = box.querySelectorAll("input[name=kind]");
  var site = new URL("../", script.src);  // this script is assets/search.js
  var KIND_LABEL = {intervention: "Intervention", mechanism: "Mechanism", reference: "Reference", page: "Page"};
  var MAX = 12;
  var bundle = new URL("pagefind/", site), delta = new URL("delta/", bundle);
  var pagefind = null, replaced = Object.create(null), timer = 0, generation = 0;

  function manifest() {
    // fetched again on each page load: the preview rewrites it after each edit
    return fetch(new URL("delta.json", delta).href, {cache: "no-store"}).then(function (response) {
      if (!response.ok) throw new Error("delta.json: " + response.status);
      return response.json();
    });
  }

  function load() {
    if (!pagefind) {
      pagefind = Promise.all([import(new URL("pagefind.js", bundle).href), manifest()]).then(function (both) {
        var pf = both[0], changes = both[1];
        changes.replaced.forEach(function (id) { replaced[id] = true; });
        return Promise.resolve(pf.options({baseUrl: site.pathname}))
          .then(function () { return pf.init(); })
          .then(function () { return changes.pages && pf.mergeIndex(delta.pathname, {baseUrl: site.pathname}); })
          .then(function () { return pf; });
      });
      pagefind.catch(function () { meta.textContent = "The search could not be loaded."; });
    }
    return pagefind;
  }

  function open() {
    toggle.checked = true;
    load();
    input.focus();
  }

  function close() {
    toggle.checked = false;
    input.blur();
  }

  function decode(text) {
    // Pagefind writes a page's `<` and `>` as &lt; and &gt; in excerpts and leaves `&` as it is
    // (so a page's literal "&lt;" reads as "<": harmless, the result is text either way).
    return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">");
  }

  function excerpt(parent, text) {
    // Pagefind marks each hit as <mark>…</mark>: the pieces alternate between plain and marked.
    text.split(/<mark>|<\/mark>/).forEach(function (piece, i) {
      var node = document.createTextNode(decode(piece));
      if (i % 2) {
        var mark = document.createElement("mark");
        mark.appendChild(node);
        parent.appendChild(mark);
      } else {
        parent.appendChild(node);
      }
    });
  }

  function ours(url) {
    var target = new URL(url, site);
    return target.origin === site.origin && target.pathname.indexOf(site.pathname) === 0 ? target.href : null;
  }

  function item(data) {
    var href = ours(data.url);
    if (!href) return null;
    var li = document.createElement("li");
    li.className = "md-search-result__item";
    var a = document.createElement("a");
    a.className = "md-search-result__link";
    a.href = href;
    var article = document.createElement("article");
    article.className = "md-search-result__article md-search-result__article--document md-typeset";
    var icon = document.createElement("div");
    icon.className = "md-search-result__icon md-icon";
    var title = document.createElement("h1");
    title.textContent = (data.meta && data.meta.title) || href;
    var kind = (data.filters && data.filters.kind && data.filters.kind[0]) || "page";
    var label = document.createElement("span");
    label.className = "allokb-search-kind";
    label.textContent = KIND_LABEL[kind] || "Page";
    var text = document.createElement("p");
    excerpt(text, data.excerpt || "");
    article.append(icon, label, title, text);
    a.appendChild(article);
    li.appendChild(a);
    return li;
  }

  function kind() {
    for (var i = 0; i < kinds.length; i++) if (kinds[i].checked) return kinds[i].value;
    return "";
  }

  function search() {
    var query = input.value.trim(), mine = ++generation;
    if (!query) {
      list.textContent = "";
      list.setAttribute("data-query", "|" + kind());  // an empty list is what an empty query shows
      meta.textContent = "Type to search";
      return;
    }
    load().then(function (pf) {
      var filters = kind() ? {kind: kind()} : {};
      return pf.search(query, {filters: filters}).then(function (found) {
        var results = found.results.filter(function (r) { return !replaced[r.id]; });
        return Promise.all(results.slice(0, MAX).map(function (r) { return r.data(); })).then(function (all) {
          if (mine !== generation) return;  // a later query has started
          var n = results.length;
          meta.textContent = n === 0 ? "No matching documents" : n === 1 ? "1 matching document"
            : n + " matching documents" + (n > MAX ? ", the first " + MAX + " shown" : "");
          list.textContent = "";
          list.setAttribute("data-query", query + "|" + kind());  // what the list shows (for tests)
          all.forEach(function (data) {
            var li = item(data);
            if (li) list.appendChild(li);
          });
        });
      });
    });
  }

  function editable(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }

  input.addEventListener("focus", function () { toggle.checked = true; load(); });
  toggle.addEventListener("change", function () { if (toggle.checked) open(); });
  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(search, 120);
  });
  kinds.forEach(function (radio) { radio.addEventListener("change", search); });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var first = list.querySelector("a");
    if (first) first.click();
  });
  form.addEventListener("reset", function () {
    window.setTimeout(function () { search(); input.focus(); }, 0);
  });
  document.addEventListener("keydown", function (event) {
    if (event.metaKey || event.ctrlKey || event.altKey) return;
    if (toggle.checked) {
      var links = Array.prototype.slice.call(list.querySelectorAll("a"));
      var at = links.indexOf(document.activeElement);
      if (event.key === "Escape") {
        close();
      } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (!links.length) return;
        event.preventDefault();
        var next = event.key === "ArrowDown" ? at + 1 : at - 1;
        if (next < 0) input.focus();
        else links[Math.min(next, links.length - 1)].focus();
      }
      return;
    }
    if (!editable(document.activeElement) && (event.key === "/" || event.key === "s" || event.key === "f")) {
      event.preventDefault();
      open();
    }
  });
})();
