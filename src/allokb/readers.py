"""What readers read: the reader-facing texts of a record, how they are counted, and the maintainers' words.

`reader_texts` gives every text of a record that its page shows to readers (summaries, statements,
headings, bottom lines, the reader's `note`s, cautions, dose contexts, findings, the summaries of
`changes`), with its path in the document; `maintainer_words` finds the maintainers' vocabulary
in one of them; `sentences_in`, `words_in` and `reading_grade` measure a text; `FieldPlacer`
places a finding at its field, re-reading the one file it is in. The reader rules that use them
(KB480-KB487) are `allokb.rules.readers`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from allokb.diagnostics import Diagnostic, Location, fast_pickle, shown
from allokb.load import PathPart, SourceDocument, json_path, load_document
from allokb.model import Citation, Cite, Claim, Intervention, Mechanism
from allokb.schema import SCHEMA_NAMES, load_schema

Path_ = tuple[PathPart, ...]
Placer = Callable[[str, Path_], Location]


# --- what a reader reads ---------------------------------------------------------------------

def _cite_texts(cite: Cite, path: Path_) -> Iterator[tuple[Path_, str]]:
    if cite.note:
        yield (*path, "note"), cite.note


def _cites_texts(cites: Iterable[Cite], path: Path_) -> Iterator[tuple[Path_, str]]:
    for j, cite in enumerate(cites):
        yield from _cite_texts(cite, (*path, "citations", j))


def _claim_texts(claims: Iterable[Claim]) -> Iterator[tuple[Path_, str]]:
    for i, claim in enumerate(claims):
        path: Path_ = ("claims", i)
        if claim.heading:
            yield (*path, "heading"), claim.heading
        yield (*path, "statement"), claim.statement
        if claim.note:
            yield (*path, "note"), claim.note
        yield from _cites_texts(claim.citations, path)


def reader_texts(record: Intervention | Mechanism | Citation) -> Iterator[tuple[Path_, str]]:
    """Every text of a record that its page shows to readers, with its path in the document.
    Not here: quotes (the sources' own words), the post's words (`seed`), and the maintainers'
    `curator_note`s and verification records."""
    for i, note in enumerate(record.changes):  # the page's history and the feed
        yield ("changes", i, "summary"), note.summary
    if isinstance(record, Citation):
        if record.population:
            yield ("population",), record.population
        for i, finding in enumerate(record.findings):
            yield ("findings", i, "text"), finding.text
        return
    yield ("summary",), record.summary
    if isinstance(record, Mechanism):
        yield from _claim_texts(record.claims)
        return
    for i, sentence in enumerate(record.bottom_line):
        yield ("bottom_line", i, "text"), sentence.text
    yield from _claim_texts(record.claims)
    for i, reg in enumerate(record.regulatory):
        yield from _cites_texts(reg.citations, ("regulatory", i))
    for i, dose in enumerate(record.dosing):
        if dose.context:
            yield ("dosing", i, "context"), dose.context
        yield from _cite_texts(dose.reported_by, ("dosing", i, "reported_by"))
    for i, caution in enumerate(record.cautions):
        yield ("cautions", i, "text"), caution.text
        yield from _cites_texts(caution.citations, ("cautions", i))
    for i, inter in enumerate(record.interactions):
        yield ("interactions", i, "note"), inter.note
        yield from _cites_texts(inter.citations, ("interactions", i))
    for i, alt in enumerate(record.alternatives):
        yield ("alternatives", i, "note"), alt.note
        yield from _cites_texts(alt.citations, ("alternatives", i))
    for i, anecdote in enumerate(record.anecdotes):
        yield ("anecdotes", i, "summary"), anecdote.summary
        yield from _cite_texts(anecdote.citation, ("anecdotes", i, "citation"))


# --- the maintainers' vocabulary -------------------------------------------------------------

_SEED = re.compile(r"\bseed\b", re.IGNORECASE)
_FILE = re.compile(r"(?<![\w/.-])[\w-]+(?:[/.][\w-]+)*\.(?:yaml|yml|bib|txt|json)\b", re.IGNORECASE)
# What every file name ends with: searched for first, a hundred times faster than `_FILE`, which
# tries (and backtracks through) every word of a text that holds none.
_FILE_END = re.compile(r"\.(?:yaml|yml|bib|txt|json)\b", re.IGNORECASE)
# First person, outside quotation marks: `I` (not a Roman numeral: `type I`, `phase I`, `I.V.`),
# `me`, `my`, `mine`, `we`, `us`, `our`. The word boundary comes first and the look-behinds after
# the `I`: tried at every position of every reader's text, five look-behinds first cost 2.5 times more.
_FIRST_PERSON = re.compile(
    r"\b(?:I\b(?<![Tt]ype I)(?<![Pp]hase I)(?<![Cc]lass I)(?<![Gg]rade I)(?<![Ss]tage I)(?![.\-–]\w)(?!\.[A-Z])"
    r"|(?:[Mm]e|[Mm]y|[Mm]ine|[Ww]e|us|[Oo]ur|[Oo]urs)\b)")
_FIRST_PERSON_WORDS = frozenset("I me Me my My mine Mine we We us our Our ours Ours".split())
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")
_WORD = re.compile(r"[A-Za-z0-9_]+")


@cache
def schema_field_names() -> frozenset[str]:
    """The field names of the record schemas that no plain sentence uses: those with an
    underscore (`alternative_sources`, `population_note`, `reported_by`), and
    `alternative_sources` itself, the field of the first reference checks."""
    names: set[str] = {"alternative_sources", "curator_note"}

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key in node.get("properties", {}):
                if "_" in key:
                    names.add(key)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for name in SCHEMA_NAMES:
        walk(load_schema(name))
    return frozenset(names)


def words_of(texts: Iterable[str]) -> tuple[str, set[str]]:
    """The texts joined (one per line) and the set of their ASCII words (as `maintainer_words`
    splits them; no word spans two texts)."""
    joined = "\n".join(texts)
    return joined, set(_WORD.findall(joined))


def may_hold_maintainer_words(joined: str, words: set[str], bib_keys: frozenset[str]) -> bool:
    """False when none of the texts `words_of` joined can hold a maintainer's word: the same
    tests as `maintainer_words`, once over all of a record's texts instead of once per text (a
    text that holds one makes the whole hold it). Most records hold none."""
    return not (bib_keys.isdisjoint(words) and schema_field_names().isdisjoint(words)
                and _FIRST_PERSON_WORDS.isdisjoint(words)) \
        or "seed" in joined.casefold() or _FILE_END.search(joined) is not None


@fast_pickle
@dataclass(frozen=True, slots=True)
class ReaderFindings:
    """What the reader rules found on one record without the rest of the knowledge base, where the
    file was loaded (a worker process, and kept with the file by `allokb serve`'s cache): the
    findings of the rules that read only the record (`own`), those of the vocabulary rule (KB485)
    for every word but bib keys, and the set of the words of the record's reader texts (interned:
    a word that recurs is one string, in a worker's answer and in memory). The vocabulary findings
    stand when none of those words is a bib key; else the rule runs again on the record, with the keys."""

    own: tuple[Diagnostic, ...]
    vocabulary: tuple[Diagnostic, ...]
    words: frozenset[str]


def maintainer_words(text: str, bib_keys: frozenset[str]) -> list[str]:
    """The maintainers' words in `text`, each described once, in order: bib keys, `seed`, schema
    field names, file names, first person."""
    found: list[str] = []

    def add(what: str) -> None:
        if what not in found:
            found.append(what)

    fields = schema_field_names()
    words = _WORD.findall(text)
    # most texts hold neither: two set look-ups in C instead of a Python loop over the words
    for word in (words if not (bib_keys.isdisjoint(words) and fields.isdisjoint(words)) else ()):
        if word in bib_keys:
            add(f"bib key `{word}`")
        elif word in fields:
            add(f"field name `{word}`")
    # Each search runs only on a text that can match it: `seed` in any case is `seed` once
    # case-folded (the long s included), and a first-person word stands between non-word
    # characters, so it is also one of the text's ASCII words.
    if "seed" in text.casefold() and _SEED.search(text):
        add("`seed`")
    for m in (_FILE.finditer(text) if _FILE_END.search(text) else ()):
        add(f"file name `{shown(m.group())}`")
    if not _FIRST_PERSON_WORDS.isdisjoint(words):
        person = _FIRST_PERSON.search(_QUOTED.sub(" ", text))
        if person:
            add(f"first person `{person.group()}`")
    return found


# --- sentences, words and reading grade -----------------------------------------------------

# A sentence ends at . ! or ? before a space and a capital, digit or opening quote; not after the
# abbreviations a plain sentence may hold.
_SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)(?<!\bet al)(?<!\bvs)(?<!\bDr)[.!?][”\"’)]*\s+(?=[A-Z0-9“\"(])")


def sentences_in(text: str) -> int:
    """How many sentences `text` holds (at least one)."""
    return 1 + len(_SENTENCE_END.findall(text.strip()))


def words_in(text: str) -> int:
    """How many words `text` holds (runs of characters between spaces)."""
    return len(text.split())


def reading_grade(text: str) -> float:
    """The Flesch–Kincaid grade of `text`, by textstat."""
    return float(textstat_module().flesch_kincaid_grade(text))


@cache
def textstat_module() -> Any:
    """textstat, imported on first use (0.3 s of CPU; it warns, through pkg_resources, on import)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import textstat  # type: ignore[import-untyped]
    return textstat


# --- placing a finding -----------------------------------------------------------------------

class FieldPlacer:
    """Places a finding at its field, re-reading (once) only the files that have findings."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.docs: dict[str, SourceDocument | None] = {}

    def __call__(self, source: str, path: Path_) -> Location:
        if source not in self.docs:
            parts = source.split("/")
            doc = None
            if len(parts) == 3 and parts[0] == "content":
                doc, _ = load_document(self.root, parts[1], parts[2])
            self.docs[source] = doc
        doc = self.docs[source]
        return doc.location(path) if doc is not None else Location(source, 1, 1, json_path(path))
