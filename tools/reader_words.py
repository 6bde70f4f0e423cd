"""Count maintainers' words in the article text of a built site's reader pages (issue 15, item 6).

Usage: python tools/reader_words.py SITE_DIR

Reads every `index.html` under SITE_DIR except the contributor pages (codes/, contributing/),
takes the text of its `<article>` element (tags, scripts and styles stripped, entities decoded)
and counts the words issue 15 measured: "seed", "alternative_sources", first person ("I", "my",
"me", "we", "our", as whole words: author initials and "type I" count too, so this over-counts)
and the bib keys of the site's references (the folder names under references/). Each is counted
in three places: the reader's text; the collapsed "How this was checked" blocks, where the
maintainers' notes belong; and the History section (commit subjects, issue 15 item 9). The
evidence page (the schema's field reference, for contributors) is counted on its own line.
Then every maintainer's word left in the intervention pages' evidence matrix (`matrix_words`:
design ids, claims linked by their id, `risk_of_bias`, rule ids in code), one line each.
"""

from __future__ import annotations

import html
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

SKIP = ("codes", "contributing")
AREAS = ("reader", "how-checked", "history")


class _Article(HTMLParser):
    """The text inside <article>, split by area."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.skip = 0
        self.details: list[bool] = []  # open <details>: whether it is "How this was checked"
        self.in_summary = False
        self.history = False
        self.parts: dict[str, list[str]] = {area: [] for area in AREAS}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "article":
            self.depth += 1
        elif tag in ("script", "style"):
            self.skip += 1
        elif tag == "details":
            self.details.append(False)
        elif tag == "summary":
            self.in_summary = True
        elif tag == "h2" and ("id", "history") in attrs:
            self.history = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "article":
            self.depth -= 1
        elif tag in ("script", "style"):
            self.skip -= 1
        elif tag == "details" and self.details:
            self.details.pop()
        elif tag == "summary":
            self.in_summary = False

    def handle_data(self, data: str) -> None:
        if self.depth <= 0 or self.skip:
            return
        if self.in_summary and self.details and data.strip() == "How this was checked":
            self.details[-1] = True
        area = "history" if self.history else ("how-checked" if any(self.details) else "reader")
        self.parts[area].append(data)


def article_text(page: Path) -> dict[str, str]:
    """The article text of `page` by area."""
    parser = _Article()
    parser.feed(page.read_text(encoding="utf-8"))
    return {area: html.unescape(" ".join(parts)) for area, parts in parser.parts.items()}


def bib_key_pattern(site: Path) -> re.Pattern[str] | None:
    """The bib keys of the site's references (the folder names under references/), as whole words."""
    keys = sorted(p.name for p in (site / "references").iterdir() if p.is_dir())
    return re.compile(r"\b(?:" + "|".join(map(re.escape, keys)) + r")\b") if keys else None


def reader_pages(site: Path) -> list[Path]:
    """The `index.html` of every page a reader reads: all but the contributor pages."""
    return [page for page in sorted(site.rglob("index.html"))
            if not (page.relative_to(site).parts[:1] and page.relative_to(site).parts[0] in SKIP)]


def bib_keys_in_reader_text(site: Path) -> list[str]:
    """Every bib key in the reader's text of the site's reader pages (not in the "How this was
    checked" blocks nor the History section), one line each: `page: key in "…context…"`."""
    pattern = bib_key_pattern(site)
    if pattern is None:
        return []
    hits: list[str] = []
    for page in reader_pages(site):
        text = " ".join(article_text(page)["reader"].split())
        for match in pattern.finditer(text):
            around = text[max(0, match.start() - 60):match.end() + 20]
            hits.append(f"{page.relative_to(site).as_posix()}: {match.group(0)} in \"…{around}…\"")
    return hits


class _Matrix(HTMLParser):
    """The evidence matrix of an intervention page (from `<h2 id="evidence">` to the next `<h2>`):
    its text, its `#claim-` links (anchor id, link text) and whether it holds a `<code>` element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.inside = False
        self.text: list[str] = []
        self.links: list[tuple[str, list[str]]] = []
        self.link: list[str] | None = None
        self.code = 0
        self.claim_ids: set[str] = set()  # every claim anchor of the page (`id="claim-…"`)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        ident = dict(attrs).get("id") or ""
        if ident.startswith("claim-"):
            self.claim_ids.add(ident[len("claim-"):])
        if tag == "h2":
            self.inside = ("id", "evidence") in attrs
        elif self.inside and tag == "code":
            self.code += 1
        elif self.inside and tag == "a" and (dict(attrs).get("href") or "").startswith("#claim-"):
            self.link = []
            self.links.append(((dict(attrs).get("href") or "")[len("#claim-"):], self.link))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self.link = None

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.text.append(data)
            if self.link is not None:
                self.link.append(data)


def design_id_pattern() -> re.Pattern[str]:
    """The design ids that read as a maintainer's word: those their label (allokb.labels.DESIGN)
    does not contain (`rct`, `case-report`, `pharmacovigilance`; not `meta-analysis`, `cohort`),
    as whole words, case as written."""
    from allokb.labels import DESIGN

    ids = sorted((d for d, words in DESIGN.items() if d not in words.lower()), key=lambda d: (-len(d), d))
    return re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, ids)) + r")(?![\w-])")


def matrix_words(site: Path) -> list[str]:
    """Maintainers' words in the evidence matrix of every intervention page (issue 15 item 6), one
    line each: a design id where its label belongs, a claim linked by its id rather than its
    heading or its id (with a hyphen) in the text, the field name `risk_of_bias`, a code-formatted id (a rule's)."""
    designs = design_id_pattern()
    hits: list[str] = []
    for page in sorted((site / "interventions").glob("*/index.html")):
        parser = _Matrix()
        parser.feed(page.read_text(encoding="utf-8"))
        text = html.unescape(" ".join(" ".join(parser.text).split()))
        where = page.relative_to(site).as_posix()
        hits += [f"{where}: design id {m.group(0)} in \"…{text[max(0, m.start() - 40):m.end() + 20]}…\""
                 for m in designs.finditer(text)]
        hits += [f"{where}: claim linked by its id {ident}" for ident, words in parser.links
                 if " ".join("".join(words).split()) == ident]
        ids = sorted((i for i in parser.claim_ids if "-" in i), key=lambda i: (-len(i), i))
        if ids:  # a claim id written out in a trail step ("claim-id: increases"); one-word ids read as words
            pattern = re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, ids)) + r")(?![\w-])")
            hits += [f"{where}: claim id {m.group(0)} in the text" for m in pattern.finditer(text)]
        hits += [f"{where}: field name risk_of_bias" for _ in re.finditer("risk_of_bias", text)]
        hits += [f"{where}: {parser.code} code element(s) in the matrix"] if parser.code else []
    return hits


def main(site: Path) -> None:
    patterns = {
        "seed": re.compile(r"\bseed\b", re.IGNORECASE),
        "alternative_sources": re.compile(r"alternative_sources"),
        "first person": re.compile(r"\b(?:I|my|me|we|our)\b"),
        "bib keys": bib_key_pattern(site),
    }
    counts = {name: dict.fromkeys((*AREAS, "evidence page"), 0) for name in patterns}
    pages = 0
    for page in reader_pages(site):
        rel = page.relative_to(site).parts
        pages += 1
        for area, text in article_text(page).items():
            where = "evidence page" if rel[0] == "evidence" and area == "reader" else area
            for name, pattern in patterns.items():
                if pattern is not None:
                    counts[name][where] += len(pattern.findall(text))
    print(f"{'':20} {'reader':>8} {'how-checked':>12} {'history':>8} {'evidence page':>14}")
    for name, by_area in counts.items():
        print(f"{name:20} {by_area['reader']:8} {by_area['how-checked']:12} {by_area['history']:8} "
              f"{by_area['evidence page']:14}")
    print(f"in {pages} pages")
    print(*matrix_words(site), sep="\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
