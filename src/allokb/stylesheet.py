"""Stylesheet stage: the theme's CSS cut down to the rules that can match a page of the built site.

Material ships one stylesheet for every feature it has (about 150 KB with the palette); a page of
this site uses a small part of it, and every reader's first visit paid for all of it. After the
build, `write_site_stylesheet` reads the class names the site uses (every `class` attribute of
every page, and the `md-*` / `allokb-*` names our own scripts add), parses the theme's
stylesheets into rules, and keeps a selector unless a class it requires, or a
`[data-md-color-*=value]` it requires, appears nowhere. Custom properties that nothing reads (no
kept rule, none of our stylesheets or scripts, no inline SVG or style of a page) go too: the
theme's icons are `data:` URLs in custom properties. The result is written to
`assets/stylesheets/site.css`, the one stylesheet the theme override links.

The parser is small and conservative: it splits blocks, selector lists and declarations at the
top level (outside strings, comments, brackets and parentheses); a class inside `:not()` or
`:has()` never removes a selector, and `:is()`/`:where()` keep a selector when any of their
alternatives could match. What it does not understand, it keeps.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from allokb.diagnostics import KbError
from allokb.parallel import cores, share

#: The stylesheet the theme override (site_templates/overrides/main.html) links on every page.
OUTPUT = "assets/stylesheets/site.css"
#: from this many pages the pages' usage is read on every core, in batches of USAGE_BATCH
PARALLEL_FROM_PAGES = 600
USAGE_BATCH = 200
#: The theme's stylesheets, in the order the theme links them.
THEME_SHEETS = ("assets/stylesheets/main.*.min.css", "assets/stylesheets/palette.*.min.css")
#: Classes a script sets that no page and no `md-`/`allokb-` name in our scripts shows: `js`
#: replaces `no-js` on <html> (assets/theme.js), as Material's bundle did.
ALWAYS = frozenset({"js"})
#: Our scripts (not the vendored ones): every `md-*` or `allokb-*` name they mention is kept.
SCRIPTS = "assets/*.js"

_CLASS_ATTR = re.compile(rb"""\sclass=(?:"([^"]*)"|'([^']*)'|([^\s>"']+))""")
_COLOR_ATTR = re.compile(rb"""\s(data-md-color-[a-z]+)=(?:"([^"]*)"|'([^']*)'|([^\s>"']+))""")
_SCRIPT_NAME = re.compile(r"(?<![\w-])((?:md|allokb)-[A-Za-z0-9_-]+)")
_IDENT = re.compile(r"-?[_a-zA-Z\u0080-\uffff][-_a-zA-Z0-9\u0080-\uffff]*")
_ATTR = re.compile(r"\[\s*([-\w]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([-\w]+))\s*\]")
_VAR = re.compile(r"var\(\s*(--[-\w]+)")
_VAR_BYTES = re.compile(rb"var\(\s*(--[-\w]+)")
_ANY_OF = (":is(", ":where(", ":matches(", ":-webkit-any(", ":-moz-any(")
#: At-rules whose block holds rules (filtered); any other block (keyframes, font-face) is kept whole.
_GROUPING = ("@media", "@supports", "@container", "@layer", "@document", "@-moz-document")


@dataclass(frozen=True)
class Used:
    """What the pages of a site can match: class names and (attribute, value) of `data-md-color-*`."""

    classes: frozenset[str]
    colors: frozenset[tuple[str, str]]
    #: custom properties read outside the theme's CSS (our stylesheets, inline SVG, scripts)
    variables: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Rule:
    """One top-level item of a stylesheet: `prelude{body}`, or a statement (`@charset ...;`,
    body None). `children` holds the parsed rules of a grouping at-rule's block."""

    prelude: str
    body: str | None
    children: tuple[Rule, ...] | None = None


@dataclass(frozen=True)
class StylesheetSummary:
    """What `write_site_stylesheet` did: bytes of the theme's stylesheets and of the one written."""

    theme_bytes: int
    site_bytes: int
    path: str


def _skip_string(css: str, i: int) -> int:
    """The index after the string that starts at css[i] (a quote)."""
    quote, i = css[i], i + 1
    while i < len(css) and css[i] != quote:
        i += 2 if css[i] == "\\" else 1
    return i + 1


def _skip_comment(css: str, i: int) -> int:
    end = css.find("*/", i + 2)
    return len(css) if end < 0 else end + 2


def _matching(css: str, i: int) -> int:
    """The index of the `}` that closes the block opened at css[i]."""
    depth = 0
    while i < len(css):
        ch = css[i]
        if ch in "\"'":
            i = _skip_string(css, i)
            continue
        if css.startswith("/*", i):
            i = _skip_comment(css, i)
            continue
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError("unbalanced braces")


def parse(css: str) -> tuple[Rule, ...]:
    """The rules of a stylesheet (comments dropped). `ValueError` for unbalanced braces."""
    rules: list[Rule] = []
    i, start = 0, 0
    while i < len(css):
        ch = css[i]
        if ch in "\"'":
            i = _skip_string(css, i)
        elif css.startswith("/*", i):
            css = css[:i] + css[_skip_comment(css, i):]
        elif ch == "\\":
            i += 2
        elif ch == ";" and css[start:i].strip().startswith("@"):
            rules.append(Rule(css[start:i].strip(), None))
            i += 1
            start = i
        elif ch == "{":
            end = _matching(css, i)
            prelude, body = css[start:i].strip(), css[i + 1:end]
            grouping = prelude.lower().startswith(_GROUPING)
            rules.append(Rule(prelude, None if grouping else body, parse(body) if grouping else None))
            i = end + 1
            start = i
        elif ch == "}":
            raise ValueError("unbalanced braces")
        else:
            i += 1
    if css[start:].strip():
        raise ValueError(f"text after the last rule: {css[start:start + 40]!r}")
    return tuple(rules)


@functools.lru_cache(maxsize=4)
def _parsed(css: str) -> tuple[Rule, ...]:
    """`parse(css)`, once per text: every build reads the same theme stylesheets (rules are
    immutable, so the tree is shared)."""
    return parse(css)


@functools.lru_cache(maxsize=65536)
def _parts(text: str, sep: str) -> tuple[str, ...]:
    """`split_top(text, sep)`, once per text (a theme's selector lists and declaration blocks)."""
    return tuple(split_top(text, sep))


def split_top(text: str, sep: str) -> list[str]:
    """`text` split at `sep` outside strings, brackets and parentheses."""
    parts, depth, i, start = [], 0, 0, 0
    while i < len(text):
        ch = text[i]
        if ch in "\"'":
            i = _skip_string(text, i)
            continue
        if ch == "\\":
            i += 2
            continue
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def _close(text: str, i: int) -> int:
    """The index of the `)` closing the parenthesis opened just before text[i]."""
    depth = 1
    while i < len(text):
        ch = text[i]
        if ch in "\"'":
            i = _skip_string(text, i)
            continue
        if ch == "\\":
            i += 2
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return len(text)


def may_match(selector: str, used: Used) -> bool:
    """False only when `selector` requires a class, or a `data-md-color-*` value, that no page has."""
    i = 0
    while i < len(selector):
        ch = selector[i]
        if ch in "\"'":
            i = _skip_string(selector, i)
        elif ch == "\\":
            return True  # an escaped name: not worth reading, keep the selector
        elif ch == ".":
            ident = _IDENT.match(selector, i + 1)
            if ident and not selector.startswith("\\", ident.end()) and ident.group() not in used.classes:
                return False
            i = ident.end() if ident else i + 1
        elif ch == "[":
            end = selector.find("]", i)
            attr = _ATTR.fullmatch(selector, i, end + 1) if end > 0 else None
            if attr and attr.group(1).startswith("data-md-color-"):
                value = next(g for g in attr.groups()[1:] if g is not None)
                if (attr.group(1), value) not in used.colors:
                    return False
            i = end + 1 if end > 0 else len(selector)
        elif ch == ":" and selector.startswith(_ANY_OF, i):
            open_at = selector.index("(", i) + 1
            end = _close(selector, open_at)
            if not any(may_match(alt, used) for alt in split_top(selector[open_at:end], ",")):
                return False
            i = end + 1
        elif ch == "(":
            i = _close(selector, i + 1) + 1  # :not(), :has(), :nth-child(): never removes a selector
        else:
            i += 1
    return True


def _purge_rules(rules: Iterable[Rule], used: Used) -> list[Rule]:
    out = []
    for rule in rules:
        if rule.children is not None:
            children = _purge_rules(rule.children, used)
            if children:
                out.append(Rule(rule.prelude, None, tuple(children)))
        elif rule.body is not None and not rule.prelude.startswith("@"):
            kept = [s.strip() for s in _parts(rule.prelude, ",") if may_match(s.strip(), used)]
            if kept:
                out.append(Rule(",".join(kept), rule.body))
        else:
            out.append(rule)
    return out


def _declarations(rules: Iterable[Rule]) -> Iterable[str]:
    for rule in rules:
        if rule.children is not None:
            yield from _declarations(rule.children)
        elif rule.body is not None:
            yield rule.body
        else:
            yield rule.prelude


def _drop_properties(rules: Iterable[Rule], unused: set[str]) -> list[Rule]:
    out = []
    for rule in rules:
        if rule.children is not None:
            children = _drop_properties(rule.children, unused)
            if children:
                out.append(Rule(rule.prelude, None, tuple(children)))
        elif rule.body is not None and not rule.prelude.startswith("@"):
            kept = [d for d in _parts(rule.body, ";")
                    if d.strip() and d.split(":", 1)[0].strip() not in unused]
            if kept:
                out.append(Rule(rule.prelude, ";".join(kept)))
        else:
            out.append(rule)
    return out


def _defined(rules: Iterable[Rule]) -> set[str]:
    names = set()
    for rule in rules:
        if rule.children is not None:
            names |= _defined(rule.children)
        elif rule.body is not None and not rule.prelude.startswith("@"):
            names |= {d.split(":", 1)[0].strip() for d in _parts(rule.body, ";") if d.strip().startswith("--")}
    return names


def purge(css: str, used: Used) -> str:
    """`css` without the selectors the site cannot match and the custom properties nothing reads
    (neither a kept rule nor anything in `used.variables`)."""
    return purge_sheets([css], used)[0]


def purge_sheets(sheets: Iterable[str], used: Used) -> list[str]:
    """Each stylesheet of `sheets` purged as `purge` does, with the custom properties read by any of
    them kept in all: the theme defines the dark scheme's variables in its palette stylesheet and
    reads them in its main one, so a sheet purged alone lost them (the dark scheme's admonitions,
    tables and code kept the light scheme's colours)."""
    parsed = [_purge_rules(_parsed(css), used) for css in sheets]
    while True:  # a property read only by a dropped property goes in the next round
        read = {m.group(1) for rules in parsed for body in _declarations(rules) for m in _VAR.finditer(body)}
        unused = set().union(*(_defined(rules) for rules in parsed)) - read - used.variables
        if not unused:
            return [serialize(rules) for rules in parsed]
        parsed = [_drop_properties(rules, unused) for rules in parsed]


def serialize(rules: Iterable[Rule]) -> str:
    """Rules back to CSS text, one top-level rule a line."""
    def one(rule: Rule) -> str:
        if rule.children is not None:
            return rule.prelude + "{" + "".join(one(c) for c in rule.children) + "}"
        return rule.prelude + ";" if rule.body is None else rule.prelude + "{" + rule.body + "}"
    return "\n".join(one(r) for r in rules) + "\n"


#: what one HTML file of a site can match: its class names, `data-md-color-*` (attribute, value)
#: pairs and the custom properties its inline SVG and styles read (`page_usage`)
PageUsage = tuple[frozenset[bytes], frozenset[tuple[bytes, bytes]], frozenset[bytes]]


def page_usage(data: bytes) -> PageUsage:
    """What the HTML file `data` can match (one page's share of `used_in_site`)."""
    classes: set[bytes] = set()
    for match in _CLASS_ATTR.finditer(data):
        classes.update((match.group(1) or match.group(2) or match.group(3) or b"").split())
    colors = {(match.group(1), next(g for g in match.groups()[1:] if g is not None))
              for match in _COLOR_ATTR.finditer(data)}
    return frozenset(classes), frozenset(colors), frozenset(_VAR_BYTES.findall(data))  # inline SVG and style attributes


def site_usage(site_dir: Path) -> dict[str, PageUsage]:
    """`page_usage` of every HTML file of a built site, by its path inside the site."""
    return {path.relative_to(site_dir).as_posix(): page_usage(path.read_bytes()) for path in site_dir.rglob("*.html")}


class SiteUsage:
    """Every page's `page_usage`, by path, with how many pages use each class name, colour and
    variable: `allokb serve` learns whether an edit changed what the whole site uses (and so the
    cut stylesheet) from the counts of what the edited pages gained or lost, without a union over
    every page (half a second at 10,000 entries)."""

    def __init__(self, pages: dict[str, PageUsage]) -> None:
        self.pages = pages
        self._counts: tuple[Counter[object], ...] = (Counter(), Counter(), Counter())
        for usage in pages.values():
            for count, items in zip(self._counts, usage, strict=True):
                count.update(items)

    def values(self) -> Iterable[PageUsage]:
        return self.pages.values()

    def update(self, changed: dict[str, PageUsage | None]) -> bool:
        """Put each page's new usage (None: the page is gone); whether the site's usage changed."""
        was: dict[tuple[int, object], bool] = {}  # each item touched: whether the site used it before
        for path, usage in changed.items():
            old = self.pages.pop(path, None)
            if usage is not None:
                self.pages[path] = usage
            for kind, count in enumerate(self._counts):
                before, after = old[kind] if old else frozenset(), usage[kind] if usage else frozenset()
                for item in after - before:
                    was.setdefault((kind, item), count[item] > 0)
                    count[item] += 1
                for item in before - after:
                    was.setdefault((kind, item), True)
                    count[item] -= 1
                    if count[item] == 0:
                        del count[item]
        return any((self._counts[kind][item] > 0) != before for (kind, item), before in was.items())


def _usage_by_batch(site_dir: Path) -> list[PageUsage]:
    """What the HTML files of a built site can match, one union per batch of files: shared among
    the cores for a large site (allokb.parallel)."""
    paths = sorted(site_dir.rglob("*.html"))
    batches = [paths[i:i + USAGE_BATCH] for i in range(0, len(paths), USAGE_BATCH)]

    def batch_usage(index: int) -> PageUsage:
        classes: set[bytes] = set()
        colors: set[tuple[bytes, bytes]] = set()
        variables: set[bytes] = set()
        for path in batches[index]:
            page_classes, page_colors, page_variables = page_usage(path.read_bytes())
            classes |= page_classes
            colors |= page_colors
            variables |= page_variables
        return frozenset(classes), frozenset(colors), frozenset(variables)

    done, _ = share(batch_usage, len(batches), cores() if len(paths) >= PARALLEL_FROM_PAGES else 1)
    return done


def used_in_site(site_dir: Path, pages: Iterable[PageUsage] | None = None) -> Used:
    """The class names and `data-md-color-*` values of every page, and the `md-*`/`allokb-*` names
    our scripts mention. `pages`: the pages' `page_usage`, when the caller keeps them (`allokb
    serve` between rebuilds); else every HTML file of `site_dir` is read."""
    classes: set[bytes] = set()
    colors: set[tuple[bytes, bytes]] = set()
    variables: set[bytes] = set()
    for page_classes, page_colors, page_variables in (_usage_by_batch(site_dir) if pages is None else pages):
        classes |= page_classes
        colors |= page_colors
        variables |= page_variables
    # The palette's colours are hsla(var(--md-hue), ...) in both schemes: a build once dropped the
    # hue and left the dark scheme without a background (tests/test_diagram.py measures it).
    variables.add(b"--md-hue")
    names = {c.decode("utf-8", "replace") for c in classes} | ALWAYS
    theme = {p for pattern in THEME_SHEETS for p in site_dir.glob(pattern)} | {site_dir / OUTPUT}
    for script in site_dir.glob(SCRIPTS):
        text = script.read_text(encoding="utf-8", errors="replace")
        names |= set(_SCRIPT_NAME.findall(text))
        variables.update(m.encode() for m in _VAR.findall(text))
    for sheet in site_dir.rglob("*.css"):  # our own stylesheets read the theme's variables
        if sheet not in theme:
            variables.update(m.encode() for m in _VAR.findall(sheet.read_text(encoding="utf-8", errors="replace")))
    return Used(frozenset(names), frozenset((a.decode(), v.decode("utf-8", "replace")) for a, v in colors),
                frozenset(v.decode("utf-8", "replace") for v in variables))


def write_site_stylesheet(site_dir: Path, pages: Iterable[PageUsage] | None = None) -> StylesheetSummary:
    """Write OUTPUT into the built site `site_dir` from the theme's stylesheets (`pages`: as for
    `used_in_site`). `KbError` when the theme's stylesheets are missing or cannot be parsed (a
    theme upgrade)."""
    sheets = [next(iter(sorted(site_dir.glob(pattern))), None) for pattern in THEME_SHEETS]
    if any(sheet is None for sheet in sheets):
        raise KbError(f"the theme's stylesheets ({', '.join(THEME_SHEETS)}) are not in the built site: "
                      "check the theme version (allokb.stylesheet)")
    texts = [sheet.read_text(encoding="utf-8") for sheet in sheets if sheet is not None]
    used = used_in_site(site_dir, pages)
    try:
        out = "".join(purge_sheets(texts, used))
    except ValueError as exc:
        raise KbError(f"cannot read the theme's stylesheets: {exc} (allokb.stylesheet)") from None
    target = site_dir / OUTPUT
    target.write_text(out, encoding="utf-8")
    return StylesheetSummary(sum(len(t.encode()) for t in texts), len(out.encode()), OUTPUT)
