"""Reader rules: the bottom line first, short claim headings, and no maintainers' words on readers' pages.

An intervention's page opens with its `bottom_line`: at most three plain sentences, each linked to
the claims it rests on. A claim's heading (its `heading`, or its `statement` when it has none) is
at most 20 words. Reader-facing text (summaries, statements, headings, bottom lines, the reader's
`note`s, cautions, dose contexts, findings, the summaries of `changes`) holds none of the maintainers' vocabulary: how an entry
was checked goes in `curator_note`, shown only under "How this was checked" and in the data.

`check_readers(kb, root)` yields the diagnostics (KB480–KB487); each rule is one function below,
whose docstring is its documentation. A finding is placed at its field: the rule re-reads the one
file it is in (only then: a clean knowledge base costs no second read).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from functools import cache, partial
from pathlib import Path

from allokb.diagnostics import Diagnostic, Location, make, shown
from allokb.graph import KnowledgeBase
from allokb.load import PathPart, SourceDocument, json_path, load_document
from allokb.model import Citation, Cite, Claim, Intervention, Mechanism
from allokb.numbers import NOT_CHECKED_IN_CLAIMS, numbers_in, quoted_numbers
from allokb.schema import SCHEMA_NAMES, load_schema

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
    for m in _FILE.finditer(text):
        add(f"file name `{shown(m.group())}`")
    if not _FIRST_PERSON_WORDS.isdisjoint(words):
        person = _FIRST_PERSON.search(_QUOTED.sub(" ", text))
        if person:
            add(f"first person `{person.group()}`")
    return found


def check_vocabulary(record: Intervention | Mechanism | Citation, bib_keys: frozenset[str],
                     place: Placer) -> Iterator[Diagnostic]:
    """KB485 (warning): a reader-facing text holds the maintainers' vocabulary — a bib key (any key
    of references.bib), the word `seed`, a schema field name (`alternative_sources`,
    `population_note`), a file name (`*.yaml`, `*.bib`, `*.txt`, `*.json`) or the first person
    (`I found`, `we checked`, `my`) outside quotation marks. Readers' pages speak of "the source
    post", of a source as "Author Year", and of no one's search: move how it was checked into
    `curator_note`."""
    for path, text in reader_texts(record):
        words = maintainer_words(text, bib_keys)
        if words:
            yield make("KB485", f"maintainers' words on a reader's page: {', '.join(words)}", place(record.source, path),
                       "write it for a reader (\"the source post\", \"Andréen 2006\"); move how it was checked "
                       "into `curator_note`")


# --- the bottom line and the headings --------------------------------------------------------

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
    """The Flesch–Kincaid grade of `text`, by textstat (which warns, through pkg_resources, on import)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import textstat  # type: ignore[import-untyped]
    return float(textstat.flesch_kincaid_grade(text))


def check_bottom_line(item: Intervention, place: Placer) -> Iterator[Diagnostic]:
    """KB480 (warning): an intervention has no `bottom_line`. KB481: the bottom line has 70 words or
    more. KB482: it has more than three sentences, or one of its items holds more than one (each
    sentence is linked to its own claims). KB483 (warning): its Flesch–Kincaid grade, measured by
    textstat over its sentences together, is above 10.5 (aim for grade 10: short sentences, common
    words). KB484: it links a claim id that the entry does not have. KB487: a number in it is in no
    `supported` or `partial` quote of the claims that sentence links (prefer words)."""
    if not item.bottom_line:
        yield make("KB480", f"`{item.id}` has no `bottom_line`", item.location,
                   "add up to three plain sentences (what it is; what the evidence shows, in whom; the main risk), "
                   "each with the ids of the claims it rests on")
        return
    texts = [s.text for s in item.bottom_line]
    words = sum(words_in(t) for t in texts)
    if words >= BOTTOM_LINE_WORDS:
        yield make("KB481", f"the bottom line has {words} words, expected under {BOTTOM_LINE_WORDS}",
                   place(item.source, ("bottom_line",)), "say less: the page below holds the detail")
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
    grade = reading_grade(" ".join(texts))
    if grade > READING_GRADE:
        yield make("KB483", f"the bottom line reads at grade {grade:.1f} (Flesch–Kincaid), expected {READING_GRADE} "
                   "or below", place(item.source, ("bottom_line",)), "use shorter sentences and common words")
    claims = {c.id: c for c in item.claims}
    for i, sentence in enumerate(item.bottom_line):
        for j, link in enumerate(sentence.claims):
            if link.target not in claims:
                yield make("KB484", f"no claim `{link.target}` in `{item.id}`",
                           place(item.source, ("bottom_line", i, "claims", j)), _did_you_mean(link.target, claims))
        linked = [claims[link.target] for link in sentence.claims if link.target in claims]
        yield from _untraced(sentence.text, linked, partial(place, item.source, ("bottom_line", i, "text")),
                             "the bottom line")


def check_headings(record: Intervention | Mechanism, place: Placer) -> Iterator[Diagnostic]:
    """KB486: a claim's heading has more than 20 words: its `heading`, or its `statement` when it has
    no heading. Give it a `heading` of at most 20 plain words; the statement is then shown below
    it. KB487: a number in a `heading` is in none of the claim's `supported` or `partial` quotes."""
    for i, claim in enumerate(record.claims):
        shown_as, name = (claim.heading, "heading") if claim.heading else (claim.statement, "statement")
        words = words_in(shown_as)
        if words > HEADING_WORDS:
            hint = ("shorten it" if claim.heading else
                    f"add `heading:` with the claim in at most {HEADING_WORDS} plain words; the statement is shown below it")
            yield make("KB486", f"the heading of claim `{claim.id}` has {words} words, expected at most {HEADING_WORDS}",
                       place(record.source, ("claims", i, name)), hint)
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


def _did_you_mean(target: str, claims: dict[str, Claim]) -> str:
    import difflib

    close = difflib.get_close_matches(target, sorted(claims), n=1)
    return f"did you mean `{close[0]}`?" if close else "use the id of one of the entry's claims"


# --- the rules, placed -----------------------------------------------------------------------

class _Placer:
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


def check_readers(kb: KnowledgeBase, root: Path) -> list[Diagnostic]:
    """KB480–KB487 over the knowledge base (see each rule)."""
    place = _Placer(root)
    keys = frozenset(kb.references)
    found: list[Diagnostic] = []
    for item in kb.interventions.values():
        found += check_bottom_line(item, place)
        found += check_headings(item, place)
        found += check_vocabulary(item, keys, place)
    for mech in kb.mechanisms.values():
        found += check_headings(mech, place)
        found += check_vocabulary(mech, keys, place)
    for citation in kb.citations.values():
        found += check_vocabulary(citation, keys, place)
    return found
