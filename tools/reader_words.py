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


if __name__ == "__main__":
    main(Path(sys.argv[1]))
