"""Audit stage: the last line of defence, an HTML5 parse of every page of a built site.

The render stage makes contributor text data by construction; this stage checks the result as a
browser would read it, with lexbor's HTML5 parser (selectolax), and refuses a site that holds
anything able to run code or reach another host: a `<script>` other than the theme's own (an
external one from this site, an inline one whose hash is on `THEME_INLINE_SCRIPTS`, a JSON data
block that parses), an `on*` attribute, a `javascript:`, `vbscript:` or `data:` URL, a frame,
plugin, `<base>` or `<template>` element, a refresh to another site, an SVG animation of `href`,
or a resource from another host (KB510). Every page must also carry the site's
Content-Security-Policy `<meta>` right after `<meta charset>` (KB511), the browser's own second
line: `content_security_policy()` builds it from the same allowlist.

`python -m allokb.audit --print-hashes SITE` lists the inline scripts of a built site with their
hashes: after a theme upgrade, check what changed and update `THEME_INLINE_SCRIPTS`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode as Node

from allokb.diagnostics import Diagnostic, Location, make, sorted_diagnostics
from allokb.parallel import cores, share

#: The inline scripts of the pinned theme (mkdocs-material 9.8.1), by CSP hash. Every page carries
#: byte-identical copies because mkdocs.yml sets `extra.scope` (otherwise the first one embeds the
#: page's depth). A theme upgrade that changes one fails the audit, naming the page and the hash;
#: regenerate with `python -m allokb.audit --print-hashes site` after reading the new scripts.
THEME_INLINE_SCRIPTS: dict[str, str] = {
    "sha256-vYoLT0oFWz0ZEuCBjovQfxleAEzlOUF+cmXk0C5RN3Q=":
        "partials/javascripts/base.html: __md_scope, __md_hash, __md_get, __md_set",
    "sha256-DrEMJJ29sL7vIloQzly+VUGMxKcBTMII+OfW7Y8AkG4=":
        "partials/javascripts/palette.html: restores the reader's colour palette",
    "sha256-/8wPdzX9q0NNJXyA5lzsLojXFpkeaXVxhbfkUOQaWy8=":
        "partials/javascripts/content.html: opens the tab a link's #fragment names",
}

#: Script types that browsers never run: allowed inline when they parse as JSON.
DATA_BLOCK_TYPES = frozenset({"application/json", "application/ld+json"})
#: Elements that embed another document, a plugin or change every relative URL of the page.
#: `<template>`: the parser keeps its content apart (a declarative shadow root renders it).
FORBIDDEN_ELEMENTS = frozenset({"applet", "base", "embed", "fencedframe", "frame", "frameset", "iframe", "object",
                                "portal", "template"})
#: Attributes holding a URL, on any element (the part after a `prefix:` is what counts).
URL_ATTRIBUTES = frozenset({"action", "archive", "background", "cite", "classid", "code", "codebase", "data",
                            "dynsrc", "formaction", "href", "icon", "imagesrcset", "longdesc", "lowsrc", "manifest",
                            "ping", "poster", "profile", "src", "srcset", "usemap"})
#: Attributes the browser fetches (or sends the reader's input to) when the element is shown.
RESOURCE_ATTRIBUTES = frozenset({"action", "background", "data", "dynsrc", "formaction", "imagesrcset", "lowsrc",
                                 "manifest", "ping", "poster", "src", "srcset"})
#: `<link rel>` values that only name another page, never fetch it.
LINK_RELS = frozenset({"alternate", "author", "bookmark", "canonical", "external", "help", "license", "me", "next",
                       "nofollow", "noopener", "noreferrer", "prev", "search"})
ANIMATIONS = frozenset({"animate", "animatecolor", "animatemotion", "animatetransform", "set"})
DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:")
PAGE_SUFFIXES = (".html", ".htm", ".xhtml", ".xht")
SCRIPT_SUFFIXES = (".js", ".mjs")
#: from this many pages the audit is shared among the cores (allokb.parallel), in batches of
#: AUDIT_BATCH pages
PARALLEL_FROM_PAGES = 600
AUDIT_BATCH = 64
SHOW = 80  # characters of an attribute value quoted in a message

_STRIP = "".join(chr(c) for c in range(0x21))  # C0 controls and space, as the URL parser trims
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)\s]*))|@import\s+(?:"([^"]*)"|'([^']*)')""", re.I)
_REFRESH = re.compile(r"""\s*\d*(?:\.[\d.]*)?\s*(?:[;,]\s*)?(?:url\s*=\s*)?(?:"([^"]*)"?|'([^']*)'?|(.*))""", re.I | re.S)


def content_security_policy() -> str:
    """The policy every page carries: scripts from this site or on the theme's allowlist, no
    plugins, no `<base>`, resources, connections and forms to this site only. Images may be
    `data:`: Material's stylesheet draws its icons from `data:` SVG. Styles need no
    'unsafe-inline': with `theme.font: false` the theme writes no `<style>` and no `style`
    attribute, and its JavaScript sets styles through the CSSOM, which a policy does not govern
    (the browser test finds no violation while searching, toggling, sorting and copying).
    'wasm-unsafe-eval' lets the search (Pagefind, pagefind/ on this site) compile its WebAssembly;
    it allows no `eval` of JavaScript."""
    hashes = " ".join(f"'{h}'" for h in sorted(THEME_INLINE_SCRIPTS))
    return (f"default-src 'self'; script-src 'self' 'wasm-unsafe-eval' {hashes}; style-src 'self'; "
            "img-src 'self' data:; connect-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'self'; "
            "form-action 'self'")


def script_hash(text: str) -> str:
    """The CSP hash of an inline script: `sha256-` and the base64 digest of its UTF-8 text."""
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def show(value: str | None, limit: int = SHOW) -> str:
    """Text fit for a one-line message: truncated, quotes and backslashes escaped, and every
    control, format, separator or unassigned character written as an escape."""
    text = value or ""
    out = "".join(("\\" + ch) if ch in '"\\' else ch if ch == " " or unicodedata.category(ch)[0] not in "CZ"
                  else f"\\u{ord(ch):04x}" for ch in text[:limit])
    return out + ("…" if len(text) > limit else "")


def _clean(url: str) -> str:
    """A URL as the URL parser reads it: outer C0 controls and spaces trimmed, tabs and newlines
    dropped wherever they are."""
    return url.strip(_STRIP).replace("\t", "").replace("\n", "").replace("\r", "")


def _scheme(url: str) -> str | None:
    """The dangerous scheme a URL uses once cleaned and case-folded, or None."""
    cleaned = _clean(url).lower()
    return next((s for s in DANGEROUS_SCHEMES if cleaned.startswith(s)), None)


@dataclass(frozen=True)
class _Site:
    """What the checks of one page need to know about the site."""

    root: Path
    base: str  # the site URL, ending in /
    origin: tuple[str, str]  # (scheme, host:port) of the site URL

    def resolve(self, page: str, url: str) -> tuple[bool, str | None]:
        """(same origin, path of the file inside the site or None) for a URL written on `page`."""
        target = urlsplit(urljoin(self.base + quote(page), _clean(url).replace("\\", "/")))
        if (target.scheme.lower(), target.netloc.lower()) != self.origin:
            return False, None
        base_path = urlsplit(self.base).path
        if not target.path.startswith(base_path):
            return True, None
        inner = unquote(target.path[len(base_path):])
        return True, (inner + "index.html" if inner.endswith("/") or not inner else inner)


def _site(site_dir: Path, site_url: str) -> _Site:
    base = site_url if site_url.endswith("/") else site_url + "/"
    parts = urlsplit(base)
    if not parts.scheme or not parts.netloc:  # no site URL: only relative URLs are this site's
        base, parts = "https://site.invalid/", urlsplit("https://site.invalid/")
    return _Site(site_dir, base, (parts.scheme.lower(), parts.netloc.lower()))


def _urls(name: str, value: str) -> list[str]:
    if name in ("srcset", "imagesrcset"):
        return [item.split()[0] for item in value.split(",") if item.split()]
    if name in ("ping", "archive"):
        return value.replace(",", " ").split()
    return [value]


def _attributes(node: Node) -> list[tuple[str, str]]:
    """Every (lower-case name, value) of an element. Both of selectolax's views are read: where a
    prefixed and a plain name meet (`href` then `xlink:href`), each view hides one of the two."""
    pairs = {(str(k).lower(), v or "") for k, v in node.attributes.items()}
    pairs |= {(str(k).lower(), v or "") for k, v in node.attrs.items()}
    return sorted(pairs)


class _TwoLinks(HTMLParser):
    """Start tags naming both `href` and `xlink:href`, from the tokenizer alone. Lexbor keeps one
    of the two (after `xlink:href`, it drops `href`), where Chromium keeps both and follows `href`:
    such an element is refused whatever its values."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = [name.lower() for name, _ in attrs]
        if "href" in names and any(n != "href" and n.rsplit(":", 1)[-1] == "href" for n in names):
            self.found.append(f"<{show(tag)} " + " ".join(show(n) for n in dict.fromkeys(names)) + ">")


def _two_links(text: str) -> Iterator[_Problem]:
    if ":href" not in text.lower():  # no prefixed href anywhere (names are the text's own characters)
        return
    parser = _TwoLinks()
    parser.feed(text)
    parser.close()
    for names in parser.found:  # e.g. "<a xlink:href href>"
        yield "KB510", f"{names}: both `href` and a prefixed href, which parsers resolve differently", _HINT


def _element(tag: str, name: str | None = None, value: str | None = None) -> str:
    return f"<{show(tag)}>" if name is None else f'<{show(tag)} {show(name)}="{show(value)}">'


def _http_equiv(node: Node) -> str:
    return (node.attributes.get("http-equiv") or "").strip().lower()


_HINT = ("a source let raw HTML reach the page: escape it where it is rendered, or remove it from the "
         "hand-written page")
_Problem = tuple[str, str, str]  # code, message, hint


def check_page(site: _Site, page: str, text: str, seen: dict[tuple[Any, ...], list[_Problem]] | None = None
               ) -> Iterator[_Problem]:
    """The problems of one page, as (code, message, hint), in document order. `seen`: the answers
    for elements met before (`_element_problems`), kept across the pages of one audit."""
    tree = LexborHTMLParser(text)
    yield from _two_links(text)
    if page.endswith(PAGE_SUFFIXES):
        yield from _check_policy(tree)
    seen = {} if seen is None else seen
    for node in tree.root.traverse(include_text=False) if tree.root is not None else ():
        tag = node.tag.lower()
        if tag in FORBIDDEN_ELEMENTS:  # refused whole: its attributes need no second message
            yield "KB510", f"{_element(tag)}: this element is not allowed in a page", _HINT
            continue
        named = node.attributes
        if not named and tag not in _BODY_CHECKED:
            continue  # no attribute (both views read the same list: `attrs` is empty too), nothing to check
        if tag in _BODY_CHECKED or tag == "meta" or tag in ANIMATIONS:
            yield from _element_problems(site, page, node, tag, named)
            continue
        # Any other element: its problems follow from its tag and attributes alone, unless one of
        # them is a URL the browser fetches or a style (resolved against the page); the answer for
        # the same tag and attributes is the same on every page.
        key = (tag, tuple(named.items()), tuple(node.attrs.items()))
        found = seen.get(key)
        if found is None:
            found = list(_element_problems(site, page, node, tag, named))
            if not _page_dependent(tag, named):
                seen[key] = found
        yield from found


#: elements whose text is checked (an inline script's hash, a style sheet's URLs)
_BODY_CHECKED = frozenset({"script", "style"})


def _page_dependent(tag: str, named: dict[str, str | None]) -> bool:
    """Whether the problems of an element may depend on the page it is on: a style attribute or
    an attribute the browser fetches, whose URL is resolved against the page."""
    rels = set((named.get("rel") or "").lower().split())
    for name in named:
        local = str(name).lower().rsplit(":", 1)[-1]
        if local == "style" or local in URL_ATTRIBUTES and _fetches(tag, local, rels):
            return True
    return False


def _element_problems(site: _Site, page: str, node: Node, tag: str, named: dict[str, str | None]
                      ) -> Iterator[_Problem]:
    """The problems of one element other than a forbidden one, in attribute order."""
    attributes = _attributes(node)
    if tag == "script":
        yield from _check_script(site, page, node, attributes)
    elif tag == "meta" and _http_equiv(node) == "refresh":
        yield from _check_refresh(site, page, node.attributes.get("content") or "")
    elif tag in ANIMATIONS:
        animated = (node.attributes.get("attributename") or "").strip().lower().rsplit(":", 1)[-1]
        if animated == "href" or animated.startswith("on"):
            yield "KB510", f"{_element(tag, 'attributeName', animated)}: an SVG animation of a link", _HINT
    elif tag == "style":
        yield from _check_css(site, page, f"<style> `{show(node.text(deep=True))}`", node.text(deep=True))
    rels = set((named.get("rel") or "").lower().split())
    for name, value in attributes:
        local = name.rsplit(":", 1)[-1]
        if local.startswith("on"):
            yield "KB510", f"{_element(tag, name, value)}: an event-handler attribute", _HINT
        elif local == "style":
            yield from _check_css(site, page, _element(tag, name, value), value)
        elif local in URL_ATTRIBUTES and not (tag == "script" and local in ("src", "href")):
            yield from _check_url(site, page, tag, name, value, rels)


def _check_url(site: _Site, page: str, tag: str, name: str, value: str, rels: set[str]) -> Iterator[_Problem]:
    local = name.rsplit(":", 1)[-1]
    for url in _urls(local, value):
        scheme = _scheme(url)
        if scheme:
            yield "KB510", f"{_element(tag, name, value)}: a `{scheme}` URL", _HINT
            return
        if _fetches(tag, local, rels) and not site.resolve(page, url)[0]:
            what = "a form that sends to another host" if local in ("action", "formaction") else \
                "a resource from another host"
            yield "KB510", f"{_element(tag, name, value)}: {what}", _HINT
            return


def _fetches(tag: str, attribute: str, rels: set[str]) -> bool:
    """Whether the browser loads (or submits to) this attribute's URL, rather than only links to it."""
    if attribute == "ping":
        return True
    if attribute in RESOURCE_ATTRIBUTES:
        return tag not in ("a", "area")
    if attribute == "href":
        if tag in ("a", "area"):
            return False
        return tag != "link" or not rels or not rels <= LINK_RELS
    return False


def _check_script(site: _Site, page: str, node: Node, attributes: list[tuple[str, str]]) -> Iterator[_Problem]:
    kind = (node.attributes.get("type") or "").strip().lower()
    sources = [(n, v) for n, v in attributes if n.rsplit(":", 1)[-1] in ("src", "href")]  # SVG: href
    body = node.text(deep=True)
    if kind in DATA_BLOCK_TYPES and not sources:
        try:
            json.loads(body)
        except ValueError:
            yield "KB510", f'<script type="{show(kind)}">: a data block that is not valid JSON', _HINT
        return
    for name, value in sources:
        scheme = _scheme(value)
        same, path = (False, None) if scheme else site.resolve(page, value)
        if scheme:
            yield "KB510", f"{_element('script', name, value)}: a script from a `{scheme}` URL", _HINT
        elif not same:
            yield "KB510", f"{_element('script', name, value)}: a script from another host", _HINT
        elif path is None or not path.endswith(SCRIPT_SUFFIXES) or not (site.root / path).is_file():
            yield "KB510", f"{_element('script', name, value)}: not a JavaScript file of this site", _HINT
    if not sources:
        digest = script_hash(body)
        if digest not in THEME_INLINE_SCRIPTS:
            yield ("KB510", f"<script> `{show(body)}`: an inline script not on the theme's allowlist ({digest})",
                   "if the theme was upgraded, compare `python -m allokb.audit --print-hashes SITE` with "
                   "THEME_INLINE_SCRIPTS in src/allokb/audit.py; otherwise a source let a script reach the page")


def _check_refresh(site: _Site, page: str, content: str) -> Iterator[_Problem]:
    match = _REFRESH.match(content)
    target = next((g for g in match.groups() if g is not None), "").strip() if match else ""
    element = f'<meta http-equiv="refresh" content="{show(content)}">'
    if not target:
        yield "KB510", f"{element}: a refresh without a target", _HINT
    elif _scheme(target):
        yield "KB510", f"{element}: a refresh to a `{_scheme(target)}` URL", _HINT
    elif not site.resolve(page, target)[0]:
        yield "KB510", f"{element}: a refresh to another site", _HINT


def _check_css(site: _Site, page: str, shown: str, css: str) -> Iterator[_Problem]:
    for match in _CSS_URL.finditer(css):
        url = next(g for g in match.groups() if g is not None)
        if url and not _scheme(url) and not site.resolve(page, url)[0]:
            yield "KB510", f"{shown}: a resource from another host", _HINT
            return


def _check_policy(tree: LexborHTMLParser) -> Iterator[_Problem]:
    """KB511 unless the head opens with `<meta charset>` and then the site's policy, so that the
    policy covers every script and resource after it."""
    head = tree.head
    children = [n for n in head.iter(include_text=False) if n.tag != "_comment"] if head is not None else []
    policy = children[1] if len(children) > 1 and "charset" in children[0].attributes else None
    if policy is None or policy.tag != "meta" or _http_equiv(policy) != "content-security-policy":
        yield ("KB511", "the page does not open its <head> with <meta charset> and the Content-Security-Policy <meta>",
               "site_templates/overrides/main.html writes it in the `site_meta` block, after the theme's "
               "<meta charset=\"utf-8\">; check that the theme still writes that")
        return
    found = [d.strip() for d in (policy.attributes.get("content") or "").split(";")]
    expected = [d.strip() for d in content_security_policy().split(";")]
    if found != expected:
        differs = next((d for d in found if d not in expected), None) or next(d for d in expected if d not in found)
        yield ("KB511", f"the Content-Security-Policy differs from the site's, at `{show(differs, 400)}`",
               "the policy comes from allokb.audit.content_security_policy() through the sink (allokb.sink)")


def pages_of(site_dir: Path) -> list[Path]:
    """The files of a built site that a browser would read as HTML or SVG, sorted."""
    return sorted(p for p in site_dir.rglob("*") if p.suffix.lower() in (*PAGE_SUFFIXES, ".svg") and p.is_file())


def audit_site(site_dir: Path, site_url: str, only: Iterable[str] | None = None) -> list[Diagnostic]:
    """Every KB510 and KB511 of a built site; the file of each is the page's path inside the site.
    `only`: the paths inside the site of the pages to audit (those a rebuild of `allokb serve`
    rewrote), instead of every page."""
    site = _site(site_dir, site_url)
    paths = pages_of(site_dir) if only is None else sorted(
        site_dir / p for p in set(only) if Path(p).suffix.lower() in (*PAGE_SUFFIXES, ".svg") and (site_dir / p).is_file())
    seen: dict[tuple[Any, ...], list[_Problem]] = {}  # elements met before: most are the theme's, on every page
    batches = [paths[i:i + AUDIT_BATCH] for i in range(0, len(paths), AUDIT_BATCH)]

    def audit_batch(index: int) -> list[Diagnostic]:
        found = []
        for path in batches[index]:
            page = path.relative_to(site_dir).as_posix()
            text = path.read_bytes().decode("utf-8", errors="replace")
            found += [make(code, message, Location(show(page, 1000)), hint)
                      for code, message, hint in check_page(site, page, text, seen)]
        return found

    done, _ = share(audit_batch, len(batches), cores() if len(paths) >= PARALLEL_FROM_PAGES else 1)
    return sorted_diagnostics([d for found in done for d in found])


def inline_scripts(site_dir: Path) -> dict[str, tuple[int, str]]:
    """hash -> (number of pages, the script's first characters) for every inline script of a site."""
    found: dict[str, tuple[int, str]] = {}
    for path in pages_of(site_dir):
        for node in LexborHTMLParser(path.read_bytes().decode("utf-8", errors="replace")).css("script"):
            kind = (node.attributes.get("type") or "").strip().lower()
            if kind not in DATA_BLOCK_TYPES and not any(n.rsplit(":", 1)[-1] in ("src", "href")
                                                        for n, _ in _attributes(node)):
                body = node.text(deep=True)
                count, _ = found.get(script_hash(body), (0, ""))
                found[script_hash(body)] = (count + 1, show(body))
    return found


if __name__ == "__main__":  # `python -m allokb.audit --print-hashes SITE`; the command line is allokb.cli's
    from allokb.cli import print_hashes

    sys.exit(print_hashes(sys.argv[1:]))
