"""Reader rules: the bottom line first, short claim headings, and no maintainers' words on readers' pages.

An intervention's page opens with its `bottom_line`: at most three plain sentences, each linked to
the claims it rests on (KB480-KB484). A claim's heading (its `heading`, or its `statement` when it
has none) is at most 20 words (KB486). A number in a bottom line or a heading is in a quote of the
claims it rests on (KB487). Reader-facing text holds none of the maintainers' vocabulary (KB485):
how an entry was checked goes in `curator_note`.

`check_readers(kb, root)` runs them. What a reader reads, how sentences and words are counted and
what the maintainers' vocabulary is are `allokb.readers`; a finding is placed at its field by
`allokb.readers.FieldPlacer`, which re-reads the one file it is in (only then: a clean knowledge
base costs no second read).
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from pathlib import Path

from allokb.diagnostics import Diagnostic, Location, make
from allokb.graph import KnowledgeBase
from allokb.model import Citation, Claim, Intervention, Mechanism
from allokb.numbers import NOT_CHECKED_IN_CLAIMS, numbers_in, quoted_numbers
from allokb.readers import (
    FieldPlacer,
    Path_,
    Placer,
    ReaderFindings,
    maintainer_words,
    may_hold_maintainer_words,
    reader_texts,
    reading_grade,
    sentences_in,
    words_in,
    words_of,
)
from allokb.rules.catalogue import rule

#: a bottom line has fewer words than this, in all
BOTTOM_LINE_WORDS = 70
#: and at most this many sentences
BOTTOM_LINE_SENTENCES = 3
#: the Flesch–Kincaid grade (textstat 0.7.4) above which a bottom line is hard to read. Grade 10
#: is the aim; 10.5 leaves room for the one long word every entry needs (allopregnanolone alone
#: counts seven syllables) without letting 23-word sentences through.
READING_GRADE = 10.5
#: a claim's heading has at most this many words
HEADING_WORDS = 20


# --- the bottom line -------------------------------------------------------------------------

@rule("KB480")
def check_has_bottom_line(item: Intervention) -> Iterator[Diagnostic]:
    """Every intervention page opens with its `bottom_line`: at most three plain sentences (what it is; what the
    evidence shows, in whom; the main risk), each a `{text, claims}` item naming the ids of the entry's claims
    it rests on. Write it from the entry's own claims, grades and sources: no new facts. A warning, so that a
    draft entry still previews; `check --strict` (CI) fails on it."""
    if not item.bottom_line:
        yield make("KB480", f"`{item.id}` has no `bottom_line`", item.location,
                   "add up to three plain sentences (what it is; what the evidence shows, in whom; the main risk), "
                   "each with the ids of the claims it rests on")


@rule("KB481")
def check_bottom_line_length(item: Intervention, place: Placer) -> Iterator[Diagnostic]:
    """A bottom line has fewer than 70 words in all (words are runs of characters between spaces). The page
    below it holds the detail."""
    words = sum(words_in(s.text) for s in item.bottom_line)
    if words >= BOTTOM_LINE_WORDS:
        yield make("KB481", f"the bottom line has {words} words, expected under {BOTTOM_LINE_WORDS}",
                   place(item.source, ("bottom_line",)), "say less: the page below holds the detail")


@rule("KB482")
def check_bottom_line_sentences(item: Intervention, place: Placer) -> Iterator[Diagnostic]:
    """A bottom line has at most three sentences, one per item, so that each sentence is linked to the claims it
    rests on. A sentence ends at `.`, `!` or `?` before a space and a capital letter, a digit or an opening
    quote (not after `e.g.`, `i.e.`, `et al.`, `vs.`, `Dr.`)."""
    count = 0
    for i, sentence in enumerate(item.bottom_line):
        n = sentences_in(sentence.text)
        count += n
        if n > 1:
            yield make("KB482", f"item {i + 1} of the bottom line holds {n} sentences, expected one",
                       place(item.source, ("bottom_line", i, "text")), "split it, each sentence with its own claims")
    if count > BOTTOM_LINE_SENTENCES:
        yield make("KB482", f"the bottom line has {count} sentences, expected at most {BOTTOM_LINE_SENTENCES}",
                   place(item.source, ("bottom_line",)), "keep what it is, what the evidence shows in whom, "
                   "and the main risk")


@rule("KB483")
def check_bottom_line_reading(item: Intervention, place: Placer) -> Iterator[Diagnostic]:
    """The Flesch–Kincaid grade of the bottom line (its sentences together, measured by textstat 0.7.4) is above
    10.5. The aim is grade 10; the half grade leaves room for the one long word every entry needs
    (allopregnanolone counts seven syllables). Use shorter sentences and common words."""
    if not item.bottom_line:
        return
    grade = reading_grade(" ".join(s.text for s in item.bottom_line))
    if grade > READING_GRADE:
        yield make("KB483", f"the bottom line reads at grade {grade:.1f} (Flesch–Kincaid), expected {READING_GRADE} "
                   "or below", place(item.source, ("bottom_line",)), "use shorter sentences and common words")


@rule("KB484")
def check_bottom_line_links(item: Intervention, place: Placer) -> Iterator[Diagnostic]:
    """Each id in a bottom-line sentence's `claims` must be the id of one of the same entry's claims (the
    sentence links to it on the page)."""
    claims = {c.id for c in item.claims}
    for i, sentence in enumerate(item.bottom_line):
        for j, link in enumerate(sentence.claims):
            if link.target not in claims:
                yield make("KB484", f"no claim `{link.target}` in `{item.id}`",
                           place(item.source, ("bottom_line", i, "claims", j)), _did_you_mean(link.target, claims))


def _did_you_mean(target: str, claims: set[str]) -> str:
    close = difflib.get_close_matches(target, sorted(claims), n=1)
    return f"did you mean `{close[0]}`?" if close else "use the id of one of the entry's claims"


# --- headings and numbers --------------------------------------------------------------------

@rule("KB486")
def check_heading_length(record: Intervention | Mechanism, place: Placer) -> Iterator[Diagnostic]:
    """A claim's heading (its `heading`, or its `statement` when it has none) has at most 20 words. Give the
    claim a `heading` of at most 20 plain words; the full statement is shown below it as the detail, and its
    numbers stay traced (KB460)."""
    for i, claim in enumerate(record.claims):
        shown_as, name = (claim.heading, "heading") if claim.heading else (claim.statement, "statement")
        words = words_in(shown_as)
        if words > HEADING_WORDS:
            hint = ("shorten it" if claim.heading else
                    f"add `heading:` with the claim in at most {HEADING_WORDS} plain words; the statement is shown below it")
            yield make("KB486", f"the heading of claim `{claim.id}` has {words} words, expected at most {HEADING_WORDS}",
                       place(record.source, ("claims", i, name)), hint)


@rule("KB487")
def check_numbers_traced(record: Intervention | Mechanism, place: Placer) -> Iterator[Diagnostic]:
    """A number in a bottom-line sentence must be in a `supported` or `partial` quote of one of the claims that
    sentence links; a number in a claim's `heading` in one of that claim's. Numbers are found and compared as
    KB460 does. Prefer words: a bottom line says what, in whom and how sure, and the claims below carry the
    figures."""
    if isinstance(record, Intervention):
        claims = {c.id: c for c in record.claims}
        for i, sentence in enumerate(record.bottom_line):
            linked = [claims[link.target] for link in sentence.claims if link.target in claims]
            yield from _untraced(sentence.text, linked, partial(place, record.source, ("bottom_line", i, "text")),
                                 "the bottom line")
    for i, claim in enumerate(record.claims):
        if claim.heading:
            yield from _untraced(claim.heading, [claim], partial(place, record.source, ("claims", i, "heading")),
                                 "the heading")


def _untraced(text: str, claims: list[Claim], where: Callable[[], Location], what: str) -> Iterator[Diagnostic]:
    """KB487 for `text`: its numbers against the supporting quotes of `claims` (as KB460 does).
    `where` places a finding; it is called only for one (placing re-reads the file)."""
    found = [n for n in numbers_in(text) if n.text.lower() not in NOT_CHECKED_IN_CLAIMS]
    if not found:
        return
    quoted, written = quoted_numbers(c for claim in claims for c in claim.citations)
    reported: set[str] = set()
    for n in found:
        if n.value in quoted or n.value in reported:
            continue
        reported.add(n.value)
        have = ", ".join(f"`{w}`" for w in written) if written else "no numbers"
        yield make("KB487", f"number `{n.text}` in {what} is in none of the supported or partial quotes of the claims "
                   "it links", where(), f"they have {have}; write it in words, or link the claim whose quote states it")


# --- the maintainers' vocabulary -------------------------------------------------------------

@rule("KB485")
def check_vocabulary(record: Intervention | Mechanism | Citation, bib_keys: frozenset[str],
                     place: Placer) -> Iterator[Diagnostic]:
    """A text that readers' pages show (a summary, a bottom line, a claim's heading, statement or `note`, a
    citation's `note`, a caution, a dose's context, an interaction, an alternative, an anecdote, a finding, a
    citation record's `population`, a change's summary) holds the maintainers' vocabulary: a bib key (any key of references.bib), the word `seed`, a schema field name with an
    underscore (`alternative_sources`, `population_note`), a file name (`*.yaml`, `*.yml`, `*.bib`, `*.txt`,
    `*.json`), or the first person (`I`, `me`, `my`, `we`, `us`, `our`) outside quotation marks (`type I` and
    `I.V.` are not first person). Write for a reader: "the source post", a source as "Andréen 2006"; move how it
    was checked (what was read, searched or not seen) into `curator_note`, which is shown only under "How this
    was checked" and in the data. Quotes and the post's own words (`seed.text`) are not checked: they are other
    people's words."""
    yield from _vocabulary(record, list(reader_texts(record)), bib_keys, place)


def _vocabulary(record: Intervention | Mechanism | Citation, texts: list[tuple[Path_, str]],
                bib_keys: frozenset[str], place: Placer,
                joined_words: tuple[str, set[str]] | None = None) -> Iterator[Diagnostic]:
    """KB485 over `texts`, the reader texts of `record`; `joined_words`, when given, is `words_of` them."""
    joined, words = joined_words if joined_words is not None else words_of(text for _, text in texts)
    if not may_hold_maintainer_words(joined, words, bib_keys):  # the common case: one test per record
        return
    for path, text in texts:
        found = maintainer_words(text, bib_keys)
        if found:
            yield make("KB485", f"maintainers' words on a reader's page: {', '.join(found)}", place(record.source, path),
                       "write it for a reader (\"the source post\", \"Andréen 2006\"); move how it was checked "
                       "into `curator_note`")


_NO_KEYS: frozenset[str] = frozenset()


def _own(record: Intervention | Mechanism | Citation, place: Placer) -> list[Diagnostic]:
    """The reader rules that read `record` only (all but KB485, which needs the bib keys)."""
    found: list[Diagnostic] = []
    if isinstance(record, Intervention):
        found += check_has_bottom_line(record)
        found += check_bottom_line_length(record, place)
        found += check_bottom_line_sentences(record, place)
        found += check_bottom_line_reading(record, place)
        found += check_bottom_line_links(record, place)
    if isinstance(record, (Intervention, Mechanism)):
        found += check_heading_length(record, place)
        found += check_numbers_traced(record, place)
    return found


def record_findings(record: Intervention | Mechanism | Citation, place: Placer) -> ReaderFindings:
    """The reader rules on `record` as far as they need no other record (`ReaderFindings`): run
    where its file is loaded (`allokb.project.process_document`), with `place` placing a finding
    in the file's own document; `check_readers` completes them with the bib keys."""
    texts = list(reader_texts(record))
    joined_words = words_of(text for _, text in texts)
    vocabulary = tuple(_vocabulary(record, texts, _NO_KEYS, place, joined_words))
    return ReaderFindings(tuple(_own(record, place)), vocabulary, frozenset(map(sys.intern, joined_words[1])))


def check_readers(kb: KnowledgeBase, root: Path,
                  found_before: Mapping[str, tuple[object, ReaderFindings]] | None = None) -> list[Diagnostic]:
    """KB480-KB487 over the knowledge base. `found_before` maps a record's source file to the record
    and its `record_findings`, made where the file was loaded: taken for that record (when it is
    the very record of the knowledge base), and KB485 run again on it only when one of its words
    is a bib key."""
    place = FieldPlacer(root)
    keys = frozenset(kb.references)
    before = found_before or {}
    found: list[Diagnostic] = []
    records: list[Intervention | Mechanism | Citation] = [*kb.interventions.values(), *kb.mechanisms.values(),
                                                          *kb.citations.values()]
    for record in records:
        hit = before.get(record.source)
        if hit is None or hit[0] is not record:
            found += _own(record, place)
            found += check_vocabulary(record, keys, place)
            continue
        findings = hit[1]
        found += findings.own
        if not keys.isdisjoint(findings.words):
            found += check_vocabulary(record, keys, place)
        else:
            found += findings.vocabulary
    return found
