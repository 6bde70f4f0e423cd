"""Count maintainers' words in the article text of a built site's reader pages.

Usage: python tools/reader_words.py SITE_DIR

Reads every `index.html` under SITE_DIR except the contributor pages (codes/, contributing/),
takes the text of its `<article>` element (tags stripped, entities decoded) and counts the words
issue 15 measured: "seed", "alternative_sources", first person ("I", "my", "we", "me", "our"),
and the bib keys of the site's references. Prints one line per word, then the total.
"""

from __future__ import annotations

import html
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

SKIP = ("codes", "contributing")


class _Article(HTMLParser):
    """The text inside <article>, without <script>/<style>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.skip = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "article":
            self.depth += 1
        elif tag in ("script", "style"):
            self.skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "article":
            self.depth -= 1
        elif tag in ("script", "style"):
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if self.depth > 0 and not self.skip:
            self.parts.append(data)


def article_text(page: Path) -> str:
    parser = _Article()
    parser.feed(page.read_text(encoding="utf-8"))
    return html.unescape(" ".join(parser.parts))


def main(site: Path) -> None:
    keys = sorted(p.name for p in (site / "references").iterdir() if p.is_dir())
    patterns = {
        "seed": re.compile(r"\bseed\b", re.IGNORECASE),
        "alternative_sources": re.compile(r"alternative_sources"),
        "first person": re.compile(r"\b(?:I|my|me|we|our)\b"),
        "bib keys": re.compile(r"\b(?:" + "|".join(map(re.escape, keys)) + r")\b") if keys else None,
    }
    counts = dict.fromkeys(patterns, 0)
    pages = 0
    for page in sorted(site.rglob("index.html")):
        rel = page.relative_to(site).parts
        if rel and rel[0] in SKIP:
            continue
        pages += 1
        text = article_text(page)
        for name, pattern in patterns.items():
            if pattern is not None:
                counts[name] += len(pattern.findall(text))
    for name, n in counts.items():
        print(f"{name}: {n}")
    print(f"in {pages} pages")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
