"""Source texts: the committed text each quote is checked against, and how a quote is found in it.

A reference whose quotes the machine checks has its text committed as
`content/sources/<bibkey>.md`: a YAML header between `---` lines (`url` it was retrieved from,
`retrieved` date, `kind`: abstract, full-text, label or web-page), then the text as retrieved.
The file is read like every input (a regular file, size-bounded, UTF-8, no control characters;
the header by the strict YAML loader). A malformed file is KB441; a file whose key is not in
references.bib is KB442.

Every `supported` or `partial` citation's quote, and every finding's quote in a citation record,
is then looked for in its reference's text (KB440 when it is not there, with the closest passage
as the hint; that rule and KB442 are `allokb.rules.sources`). A reference without a committed
text has its quotes "checked by hand": no diagnostic, shown as such on the site and counted.

Matching is deterministic, after the same normalisation of quote and text (`normalise`):
Unicode NFKC, case folded, every Greek letter written as its English name (`α` -> `alpha`),
accents dropped, and then only letters and digits compared, with a few signs that carry meaning (`< > ≤ ≥ ± %`, and a
decimal point between two digits). So dashes, hyphens, minus signs, quotes, apostrophes,
brackets, other punctuation and white space never make a difference: "5α-reductase",
"5alpha-reductase" and "5-alpha reductase" are one text. The risk, accepted: a quote that
differs from its source only in those characters passes (a hyphen-minus is not a negative sign
here, "10-20" is "1020", "in sulin" is "insulin"); every word, digit, decimal point and
comparison sign must still be the source's. An ellipsis (`...` or `…`) splits a quote into parts
that must appear in this order.
"""

from __future__ import annotations

import datetime
import functools
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from allokb.bib import URL
from allokb.diagnostics import Diagnostic, Location, fast_pickle, make
from allokb.files import read_project_file, walk_files
from allokb.load import parse_yaml
from allokb.pages_check import YAML_RE

if TYPE_CHECKING:  # the graph imports nothing from here; the check hands the knowledge base in
    from allokb.graph import KnowledgeBase

SOURCES_DIR = "content/sources"
MAX_SOURCE_BYTES = 512 * 1024
#: what a source text may be, with the words the site uses for it
SOURCE_KINDS = {"abstract": "abstract", "full-text": "full-text section", "label": "label section",
                "web-page": "web page"}
HEADER_KEYS = ("url", "retrieved", "kind")
#: the supports whose quote must be found in the source
CHECKED_SUPPORTS = ("supported", "partial")
HINT_CHARS = 160
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@fast_pickle
@dataclass(frozen=True, slots=True)
class SourceText:
    """The committed text of one reference, with its header."""

    key: str
    url: str
    retrieved: str  # ISO date
    kind: str  # one of SOURCE_KINDS
    text: str
    path: str  # content/sources/<key>.md

    @property
    def kind_label(self) -> str:
        """How pages name what the text is: `abstract`, `full-text section`, ..."""
        return SOURCE_KINDS[self.kind]

    @property
    def site_path(self) -> str:
        """Where the site publishes the text (a plain-text export)."""
        return f"sources/{self.key}.txt"


# --- loading ---------------------------------------------------------------------------------

def load_sources(root: Path, bib_keys: set[str] | None) -> tuple[dict[str, SourceText], list[Diagnostic],
                                                                   list[tuple[str, str]]]:
    """Every well-formed source text under content/sources/ whose key is in references.bib
    (`bib_keys`, None when references.bib could not be read: keys are then not checked), sorted
    by key; the diagnostics of the others; and, as (key, path), the files named after a key that
    references.bib does not have, which are not read (`allokb.rules.sources` reports them, KB442)."""
    files, problems = walk_files(root, SOURCES_DIR)
    found: dict[str, SourceText] = {}
    unread: list[tuple[str, str]] = []
    for rel in files:
        name = rel[len(SOURCES_DIR) + 1:]
        if "/" in name or not name.endswith(".md") or name.startswith("."):
            hint = f"move it to {SOURCES_DIR}/<bibkey>.md" if "/" in name else "rename it to `<bibkey>.md`"
            problems.append(make("KB441", "a source text is a Markdown file directly in content/sources/, named "
                                 "after its bib key", Location(rel), hint))
            continue
        key = name[: -len(".md")]
        if bib_keys is not None and key not in bib_keys:
            unread.append((key, rel))
            continue
        source, found_problems = read_source(root, rel, key)
        problems += found_problems
        if source is not None:
            found[key] = source
    return dict(sorted(found.items())), problems, unread


def read_source(root: Path, rel: str, key: str) -> tuple[SourceText | None, list[Diagnostic]]:
    """Read one source text strictly: the file, its header, its text."""
    raw, problems = read_project_file(root, rel, MAX_SOURCE_BYTES, refuse_controls=True)
    if raw is None:
        return None, problems
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    match = YAML_RE.match(text)
    if match is None:
        return None, [make("KB441", "source text has no header", Location(rel, 1, 1),
                           "start the file with `---`, then `url:`, `retrieved:` and `kind:` lines, then `---`")]
    # A newline for the opening `---`: the header's lines are then the file's.
    doc, problems = parse_yaml("\n" + match.group(1), rel, "sources", key)
    if doc is None or problems:
        return None, problems or [make("KB441", "the header of the source text is empty", Location(rel, 1, 1))]
    data = doc.data
    if not isinstance(data, dict):
        return None, [make("KB441", "the header must be a mapping of `url`, `retrieved` and `kind`",
                           doc.location())]
    out: list[Diagnostic] = []
    for name in data:
        if name not in HEADER_KEYS:
            out.append(make("KB441", f"unknown header key `{name}`", doc.location((name,), key=True),
                            f"allowed keys: {', '.join(HEADER_KEYS)}"))
    for name in HEADER_KEYS:
        if name not in data:
            out.append(make("KB441", f"the header has no `{name}`", doc.location(), _FIX[name]))
        elif (problem := _header_problem(name, data[name])) is not None:
            out.append(make("KB441", problem, doc.location((name,)), _FIX[name]))
    body = text[match.end():].strip()
    if not body:
        out.append(make("KB441", "the source text is empty", Location(rel, text[: match.end()].count("\n") + 1, 1),
                        "paste the text as retrieved below the header"))
    if out:
        return None, out
    return SourceText(key, data["url"], data["retrieved"], data["kind"], body, rel), []


_FIX = {"url": "give the http(s) URL the text was retrieved from",
        "retrieved": "give the date it was retrieved as YYYY-MM-DD",
        "kind": f"one of: {', '.join(SOURCE_KINDS)}"}


def _header_problem(name: str, value: object) -> str | None:
    if not isinstance(value, str):
        return f"`{name}` must be text, not {type(value).__name__}"
    if name == "url" and not URL.fullmatch(value):
        return f"`url` must be an http(s) URL, not `{value[:80]}`"
    if name == "retrieved":
        try:
            if not _DATE.fullmatch(value):
                raise ValueError
            datetime.date.fromisoformat(value)
        except ValueError:
            return f"`retrieved` must be a date YYYY-MM-DD, not `{value[:40]}`"
    if name == "kind" and value not in SOURCE_KINDS:
        return f"unknown kind `{value[:40]}`"
    return None


# --- matching --------------------------------------------------------------------------------

_GREEK_NAMES = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho "
                "sigma sigma tau upsilon phi chi psi omega").split()
# Lower-case Greek α..ω (U+03B1-U+03C9, with final sigma U+03C2) after case folding, and the
# symbol forms NFKC leaves alone.
_GREEK = {0x03B1 + i: name for i, name in enumerate(_GREEK_NAMES)}
_GREEK.update({ord("ϐ"): "beta", ord("ϑ"): "theta", ord("ϕ"): "phi", ord("ϰ"): "kappa", ord("ϱ"): "rho",
               ord("ϖ"): "pi", ord("ϵ"): "epsilon"})
_GREEK_LETTER = re.compile("[\u03b1-\u03c9\u03d0-\u03f5]")
_SIGNS = "<>≤≥±%"
#: a decimal point (one between two digits) survives as itself; any other point goes
_NOT_DECIMAL = re.compile(r"\.(?![0-9])|(?<![0-9])\.")
_DROP = re.compile(rf"[^\w{_SIGNS}.]+|_+")
_DROP_BUT_LINES = re.compile(rf"[^\w{_SIGNS}.\n]+|_+")
# The same for ASCII text, as bytes: several times faster (most texts are ASCII once Greek
# letters are written out).
_NOT_DECIMAL_BYTES = re.compile(rb"\.(?![0-9])|(?<![0-9])\.")
_DROP_BYTES = bytes(c for c in range(128) if not chr(c).isalnum() and chr(c) not in "<>%.") + bytes(range(128, 256))
_ELLIPSIS = re.compile(r"\.{3,}")
# Combining marks (accents) left by NFD, in the blocks where Latin and Greek text has them.
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def _greek(match: re.Match[str]) -> str:
    return _GREEK.get(ord(match.group()), match.group())


def _fold(text: str) -> str:
    """NFKC, case folded, Greek letters written out, accents dropped, `<=` as `≤`."""
    text = unicodedata.normalize("NFKC", text).casefold()
    if not text.isascii():
        text = _GREEK_LETTER.sub(_greek, text)
        if not text.isascii():  # accented Greek (ά) and letters with marks
            text = _MARKS.sub("", unicodedata.normalize("NFD", text))
            text = _GREEK_LETTER.sub(_greek, unicodedata.normalize("NFC", text))
    return text.replace("<=", "≤").replace(">=", "≥").replace("+/-", "±")


@functools.lru_cache(maxsize=1 << 17)
def normalise(text: str) -> str:
    """The form in which quotes and texts are compared (see the module's docstring). Kept for
    the strings seen last: each check of `allokb serve` compares the same quotes, titles and
    source texts again (0.4 s of a check of 10,000 entries)."""
    text = _fold(text)
    if text.isascii():
        return _NOT_DECIMAL_BYTES.sub(b"", text.encode("ascii")).translate(None, _DROP_BYTES).decode("ascii")
    return _DROP.sub("", _NOT_DECIMAL.sub("", text))


def _normal_words(words: list[str]) -> list[str]:
    """`normalise` of each word (no word holds white space), in one pass over them all."""
    return _DROP_BUT_LINES.sub("", _NOT_DECIMAL.sub("", _fold("\n".join(words)))).split("\n")


def quote_parts(quote: str) -> list[str]:
    """The normalised parts of a quote, split at each ellipsis; empty parts dropped."""
    text = unicodedata.normalize("NFKC", quote)  # NFKC turns `…` into `...`
    return [p for p in (normalise(part) for part in _ELLIPSIS.split(text)) if p]


def find_quote(parts: list[str], haystack: str) -> bool:
    """Whether the parts appear in `haystack` (normalised), in order."""
    pos = 0
    for part in parts:
        at = haystack.find(part, pos)
        if at < 0:
            return False
        pos = at + len(part)
    return bool(parts)


_WORD = re.compile(r"\S+")


def closest_passage(quote: str, text: str, limit: int = HINT_CHARS) -> str:
    """The passage of `text` most like `quote`: the window of as many words as the quote with
    the most words, word pairs and word triples in common (weighted 1, 2, 4), found in one pass
    over the text; cut to `limit` characters."""
    qwords = [w for w in _normal_words(_WORD.findall(quote)) if w]
    matches = list(_WORD.finditer(text))
    spans = [(m.start(), m.end(), w) for m, w in zip(matches, _normal_words([m.group() for m in matches])) if w]
    if not qwords or not spans:
        return text[:limit]
    grams = [set(qwords), set(zip(qwords, qwords[1:])), set(zip(qwords, qwords[1:], qwords[2:]))]
    words = [s[2] for s in spans]
    score = [0] * len(words)  # the weight of what starts at each word of the text
    for i in range(len(words)):
        score[i] = ((words[i] in grams[0]) + 2 * (tuple(words[i:i + 2]) in grams[1])
                    + 4 * (tuple(words[i:i + 3]) in grams[2]))
    width = min(len(qwords), len(words))
    window = sum(score[:width])
    # Of windows that score alike, one that starts with a word of the quote (not the word before it).
    best, best_at = 2 * window + (words[0] in grams[0]), 0
    for start in range(1, len(words) - width + 1):
        window += score[start + width - 1] - score[start - 1]
        value = 2 * window + (words[start] in grams[0])
        if value > best:
            best, best_at = value, start
    passage = " ".join(text[spans[best_at][0]:spans[best_at + width - 1][1]].split())
    return passage if len(passage) <= limit else passage[: limit - 3].rstrip() + "..."


# --- the quotes the check looks for, counted -------------------------------------------------

@dataclass(frozen=True)
class QuoteSite:
    """A quote the check looks for: which reference, its words, where it is written."""

    key: str
    quote: str
    location: Location


@dataclass(frozen=True)
class QuoteCount:
    """How the quotes of a build were checked."""

    machine: int  # found in a committed source text
    hand: int  # no source text is committed for the reference
    not_found: int  # not in the committed source text (KB440)

    @property
    def total(self) -> int:
        return self.machine + self.hand + self.not_found


def quote_sites(kb: KnowledgeBase) -> Iterator[QuoteSite]:
    """Every quote the check looks for: the quote of each `supported` or `partial` citation of
    an intervention or mechanism, and of each finding of a citation record (its own reference)."""
    for key, quote, location in _quotes(kb):
        yield QuoteSite(key, quote, location)


def _quotes(kb: KnowledgeBase) -> Iterator[tuple[str, str, Location]]:
    """`quote_sites` as plain tuples (key, quote, location): counting the quotes of 10,000 entries
    needs no QuoteSite (190,000 of them, each half a microsecond)."""
    from allokb.model import record_cites

    for record in [*kb.interventions.values(), *kb.mechanisms.values()]:
        for _, _, cite in record_cites(record):
            if cite.support in CHECKED_SUPPORTS and cite.quote and cite.quote.strip():
                yield cite.ref.target, cite.quote, cite.location
    for key, citation in kb.citations.items():
        for finding in citation.findings:
            if finding.quote and finding.quote.strip():
                yield key, finding.quote, finding.location or citation.location


#: the tables the last count was made from (compared by identity), and the count
_LAST_COUNT: list[tuple[tuple[object, ...], dict[str, int]]] = []


def quotes_by_reference(kb: KnowledgeBase) -> dict[str, int]:
    """How many quotes the check looks for in the text of each reference (quoted ones only).
    The count of the last knowledge base asked about is kept: the check counts its quotes, then
    the render asks twice about the same records (1.3 s of an edit's rebuild at 10,000 entries).
    A knowledge base's tables are not changed once built (`allokb.graph.build_graph`)."""
    tables = (kb.interventions, kb.mechanisms, kb.citations)
    if _LAST_COUNT and all(a is b for a, b in zip(_LAST_COUNT[0][0], tables, strict=True)):
        return dict(_LAST_COUNT[0][1])
    counts: dict[str, int] = {}
    for key, _, _ in _quotes(kb):
        counts[key] = counts.get(key, 0) + 1
    _LAST_COUNT[:] = [(tables, counts)]
    return dict(counts)


def count_quotes(kb: KnowledgeBase, not_found: int = 0) -> QuoteCount:
    """How the quotes were checked, given how many were not found in their committed text (the
    KB440 diagnostics of `allokb.rules.sources`; none in a knowledge base that passed the check)."""
    by_key = quotes_by_reference(kb)
    with_text = sum(n for key, n in by_key.items() if key in kb.sources)
    return QuoteCount(with_text - not_found, sum(by_key.values()) - with_text, not_found)
