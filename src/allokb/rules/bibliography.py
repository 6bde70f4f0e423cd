"""Rules on the bibliography: required fields, one publication under two keys, references cited
nowhere, and corrections to the source post that correct nothing."""

from __future__ import annotations

from collections.abc import Iterator

from allokb.bib import RECORD_FIELDS, REQUIRED_FIELDS
from allokb.diagnostics import Diagnostic, make, shown
from allokb.graph import KnowledgeBase
from allokb.rules.catalogue import rule
from allokb.sources import normalise


@rule("KB407")
def check_duplicate_publications(kb: KnowledgeBase) -> Iterator[Diagnostic]:
    """Two bib entries share a DOI, PMID or PMCID (compared without regard to case), or the same title in
    the same year: they are the same publication. Titles are compared after Unicode NFKC, case
    folding and dropping accents, with Greek letters written out (`α` = `alpha`) and only letters
    and digits kept, so punctuation, dashes and spaces never differ. Keep one key."""
    for name in ("doi", "pmid", "pmcid"):
        seen: dict[str, str] = {}
        for key, ref in kb.references.items():
            value = ref.get(name)
            if not value:
                continue
            norm = value.strip().lower()
            if norm in seen:
                yield make("KB407", f"`{key}` has the same {name.upper()} `{value}` as `{seen[norm]}`",
                           ref.location, f"keep one entry and cite `{seen[norm]}` everywhere")
            else:
                seen[norm] = key
    titles: dict[tuple[str, str], str] = {}
    for key, ref in kb.references.items():
        title, year = ref.get("title"), (ref.get("year") or "").strip()
        norm = _title_key(title) if title and year else ""
        if not norm:
            continue
        first = titles.setdefault((norm, year), key)
        if first != key:
            yield make("KB407", f"`{key}` has the same title and year as `{first}`: `{shown(_clip(title))}`, {year}",
                       ref.location, f"keep one entry and cite `{first}` everywhere")


def _title_key(title: str) -> str:
    """A title as KB407 compares it: `allokb.sources.normalise` (NFKC, case, accents, Greek letters
    written out), letters and digits only."""
    return "".join(char for char in normalise(title) if char.isalnum())


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@rule("KB403")
def check_required_fields(kb: KnowledgeBase) -> Iterator[Diagnostic]:
    """An entry lacks a field that its type requires (article: title; book: title, publisher, year, and
    author or editor; incollection: author, title, booktitle, year; online: title, url, and author
    or organization; misc: title, year; report: title, year, and author, organization or
    institution; an article's author, journal and year are KB451). A field that exists but that no
    record showed is not filled in: list it under `verification.missing` of the citation, with what
    was `searched`, and the entry may go without it."""
    for key, ref in kb.references.items():
        citation = kb.citations.get(key)
        excused = set(citation.verification.missing) if citation and citation.verification.searched else set()
        for need in REQUIRED_FIELDS.get(ref.entry_type, ("title",)):
            if ref.entry_type == "article" and need in RECORD_FIELDS:
                continue  # KB451 (allokb.bibrules): one diagnostic naming every absent one
            options = need.split("|")
            if any((ref.get(o) or "").strip() for o in options) or excused.intersection(options):
                continue
            yield make("KB403", f"@{ref.entry_type} `{key}` has no `{'` or `'.join(options)}` field", ref.location,
                       f"add it, or, if no record shows it, list it under `verification.missing` of "
                       f"content/citations/{key}.yaml with what was `searched`")


@rule("KB408")
def check_cited_nowhere(kb: KnowledgeBase) -> Iterator[Diagnostic]:
    """A bib entry that no claim, dosing report, regulatory record or anecdote cites."""
    for key, ref in kb.references.items():
        if key not in kb.cited_by:
            yield make("KB408", f"reference `{key}` is cited nowhere", ref.location,
                       "cite it from a claim, a dose, a caution or an anecdote, or remove it")


#: correction fields whose value is also a field of the bib entry
_BIB_FIELDS = ("title", "journal", "year", "volume", "number", "pages", "doi", "pmid", "pmcid")


def _same(a: str, b: str) -> bool:
    return normalise(a) == normalise(b)


@rule("KB415")
def check_empty_corrections(kb: KnowledgeBase) -> Iterator[Diagnostic]:
    """A correction to the source post (`seed.corrections` of a citation) whose post value equals the
    record's value, or equals the bib entry's own field, says the post was wrong where it was right.
    The corrections report would publish it; remove it."""
    for key, citation in kb.citations.items():
        if not citation.seed:
            continue
        ref = kb.references.get(key)
        for c in citation.seed.corrections:
            if _same(c.seed, c.record):
                yield make("KB415", f"the correction of `{c.field}` says the post and the record agree "
                           f"(`{c.seed}`)", c.location or citation.location, "remove the correction")
            elif ref is not None and c.field in _BIB_FIELDS and ref.get(c.field) and _same(c.seed, ref.get(c.field) or ""):
                yield make("KB415", f"the post's {c.field} `{c.seed}` is the {c.field} of the record in "
                           f"references.bib: the post was right", c.location or citation.location,
                           "remove the correction, or fix references.bib if the record says otherwise")


#: the bibliography's rules, in the order they run
BIBLIOGRAPHY_RULES = (check_required_fields, check_duplicate_publications, check_cited_nowhere, check_empty_corrections)
