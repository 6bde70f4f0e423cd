/* Allopregnanolone Evidence Atlas: the few behaviours of Material's 114 KB bundle that the site uses,
   in a script of its own (the bundle is no longer loaded: site_templates/overrides/main.html).
   - the palette toggle (light/dark), remembered as the theme stores it (__md_set "__palette"),
     so that the theme's inline palette script restores it before the first paint;
   - the back-to-top button (navigation.top);
   - tables without a class scroll sideways inside their own box, as the theme wraps them;
   - a copy button on code blocks (content.code.copy), with the theme's "Copied" dialog;
   - the header shows the page's title once its heading scrolls away, and the table of contents
     marks the section being read.
   Every class name it sets is an `md-*` name: allokb.stylesheet keeps their rules. */
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("js");

  function palette() {
    var form = document.querySelector("form[data-md-component=palette]");
    if (!form) return;
    var inputs = Array.prototype.slice.call(form.querySelectorAll("input[name=__palette]"));
    if (!inputs.length) return;
    function show(input) {
      // The label after the chosen option is the button that switches to the next one.
      form.querySelectorAll("label").forEach(function (label) { label.hidden = true; });
      var label = input.nextElementSibling;
      if (label && label.tagName === "LABEL") label.hidden = false;
    }
    function apply(input, remember) {
      var color = {};
      ["media", "scheme", "primary", "accent"].forEach(function (key) {
        var value = input.getAttribute("data-md-color-" + key);
        if (value === null) return;
        color[key] = value;
        if (key !== "media") document.body.setAttribute("data-md-color-" + key, value);
      });
      input.checked = true;
      show(input);
      if (remember && window.__md_set) window.__md_set("__palette", {index: inputs.indexOf(input), color: color});
    }
    var stored = window.__md_get ? window.__md_get("__palette") : null;
    var chosen = stored && typeof stored.index === "number" ? inputs[stored.index] : null;
    if (!chosen) {
      chosen = inputs.filter(function (input) {
        var media = input.getAttribute("data-md-color-media");
        return media && window.matchMedia(media).matches;
      })[0] || inputs[0];
    }
    apply(chosen, false);
    inputs.forEach(function (input) {
      input.addEventListener("change", function () { if (input.checked) apply(input, true); });
    });
  }

  function backToTop() {
    var button = document.querySelector(".md-top");
    if (!button) return;
    // Shown while the reader scrolls back up, away from the top (the theme fades it in and out).
    var last = window.scrollY;
    window.addEventListener("scroll", function () {
      var y = window.scrollY;
      button.hidden = !(y < last && y > 400);
      last = y;
    }, {passive: true});
    button.addEventListener("click", function () {
      button.blur();
      window.scrollTo({top: 0});
    });
  }

  function tables() {
    document.querySelectorAll(".md-typeset table:not([class])").forEach(function (table) {
      if (table.parentElement && table.parentElement.classList.contains("md-typeset__table")) return;
      var wrap = document.createElement("div");
      wrap.className = "md-typeset__scrollwrap";
      var inner = document.createElement("div");
      inner.className = "md-typeset__table";
      table.parentNode.insertBefore(wrap, table);
      wrap.appendChild(inner);
      inner.appendChild(table);
    });
  }

  function dialog(text) {
    var box = document.querySelector(".md-dialog");
    var inner = box && box.querySelector(".md-dialog__inner");
    if (!inner) return;
    inner.textContent = text;
    box.classList.add("md-dialog--active");
    window.setTimeout(function () { box.classList.remove("md-dialog--active"); }, 2000);
  }

  function copyButtons() {
    if (!navigator.clipboard) return;
    document.querySelectorAll(".md-typeset .highlight pre > code").forEach(function (code, n) {
      var pre = code.parentElement;
      if (pre.querySelector(".md-code__nav")) return;
      if (!pre.id) pre.id = "__code_" + n;
      var nav = document.createElement("nav");
      nav.className = "md-code__nav";
      var button = document.createElement("button");
      button.className = "md-code__button";
      button.type = "button";
      button.title = "Copy to clipboard";
      button.setAttribute("aria-label", "Copy to clipboard");
      button.setAttribute("data-md-type", "copy");
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(code.innerText.replace(/\n$/, "") + "\n").then(function () {
          button.focus();
          dialog("Copied to clipboard");
        });
      });
      nav.appendChild(button);
      pre.insertBefore(nav, code);
    });
  }

  function headerTitle() {
    var title = document.querySelector(".md-header__title");
    var heading = document.querySelector(".md-content h1");
    if (!title || !heading || !window.IntersectionObserver) return;
    new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        title.classList.toggle("md-header__title--active", !entry.isIntersecting && entry.boundingClientRect.top < 0);
      });
    }).observe(heading);
  }

  function tocFollow() {
    var links = Array.prototype.slice.call(document.querySelectorAll(".md-sidebar--secondary .md-nav__link[href^='#']"));
    var targets = links.map(function (link) { return document.getElementById(decodeURIComponent(link.hash.slice(1))); });
    if (!links.length) return;
    var header = document.querySelector(".md-header");
    function update() {
      var offset = (header ? header.offsetHeight : 0) + 8, current = -1;
      targets.forEach(function (target, i) { if (target && target.getBoundingClientRect().top <= offset) current = i; });
      links.forEach(function (link, i) {
        link.classList.toggle("md-nav__link--passed", i < current);
        link.classList.toggle("md-nav__link--active", i === current);
      });
    }
    window.addEventListener("scroll", update, {passive: true});
    update();
  }

  palette();
  headerTitle();
  tocFollow();
  backToTop();
  tables();
  copyButtons();
})();
