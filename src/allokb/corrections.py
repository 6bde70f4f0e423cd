"""Corrections to the source post: every reference it cited wrongly and every claim whose cited
source does not (fully) support it, with the evidence for each. Used by the corrections page
and by `allokb report corrections`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from allokb.graph import KnowledgeBase
from allokb.model import Correction


@dataclass(frozen=True)
class ReferenceCorrections:
    """What the post got wrong about one of its references."""

    number: int
    key: str
    title: str
    status: str
    corrections: tuple[Correction, ...]


@dataclass(frozen=True)
class ClaimCorrection:
    """A claim of the post whose cited source does not (fully) support it."""

    kind: str  # intervention or mechanism
    record_id: str
    record_name: str
    claim_id: str
    statement: str
    post_text: str
    post_refs: tuple[int, ...]
    cited_key: str
    support: str
    note: str
    evidence: str | None  # a page that shows the cited source's record
    better_sources: tuple[str, ...]  # keys of sources that support the claim


@dataclass
class Corrections:
    """All corrections with their totals."""

    references: list[ReferenceCorrections] = field(default_factory=list)
    claims: list[ClaimCorrection] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)


def seed_numbers(kb: KnowledgeBase) -> dict[int, str]:
    """The source post's reference numbers -> bib keys, from the citation records."""
    out: dict[int, str] = {}
    for key, citation in kb.citations.items():
        if citation.seed:
            out[citation.seed.number] = key
        for number in citation.also_cited_as:
            out.setdefault(number, key)
    return out


def collect_corrections(kb: KnowledgeBase) -> Corrections:
    """Every correction to the post's references and claims, with totals."""
    out = Corrections()
    totals = {"seed_refs": 0, "checked": 0, "verified": 0, "corrected": 0, "not_found": 0,
              "claims": 0, "supported": 0, "partial": 0, "not_supported": 0, "unchecked": 0}
    for key, citation in kb.citations.items():
        if not citation.seed:
            continue
        status = citation.verification.status
        totals["seed_refs"] += 1 + len(citation.also_cited_as)
        totals["checked"] += status != "unchecked"
        totals["verified"] += status == "verified"
        totals["not_found"] += status == "not-found"
        totals["corrected"] += bool(citation.seed.corrections)
        out.references.append(ReferenceCorrections(citation.seed.number, key, kb.references[key].get("title") or key,
                                                   status, citation.seed.corrections))
    out.references.sort(key=lambda r: r.number)
    seed_map = seed_numbers(kb)
    records = [("intervention", r) for r in kb.interventions.values()] + \
        [("mechanism", r) for r in kb.mechanisms.values()]
    for kind, record in records:
        for claim in record.claims:
            if not claim.seed:
                continue
            seed_keys = {seed_map.get(n) for n in claim.seed.refs}
            better = tuple(sorted({c.ref.target for c in claim.citations
                                   if c.support == "supported" and c.ref.target not in seed_keys}))
            for cite in claim.citations:
                if cite.ref.target not in seed_keys:
                    continue
                totals["claims"] += 1
                totals[cite.support.replace("-", "_")] += 1
                if cite.support == "supported":
                    continue
                cited = kb.citations.get(cite.ref.target)
                evidence = cited.verification.checked_against[0].url if cited and \
                    cited.verification.checked_against else kb.references[cite.ref.target].get("url")
                out.claims.append(ClaimCorrection(
                    kind, record.id, record.name, claim.id, claim.statement, claim.seed.text, claim.seed.refs,
                    cite.ref.target, cite.support, cite.note or "", evidence, better))
    out.totals = totals
    return out


# --- The corrections page: one row per claim or reference, the most consequential error first ---

@dataclass(frozen=True)
class ErrorKind:
    """A kind of error the post makes, in the words the corrections page uses."""

    id: str
    label: str  # the filter button and the row's badge
    doc: str  # one line: what the kind means


#: The kinds of error, most consequential first: the corrections page ranks its rows by the worst
#: kind each shows. A reader is misled most by a number the cited paper does not contain, then by a
#: claim it does not make, then by a paper that cannot be found at all; a claim that goes further
#: than its paper comes next, and errors in a reference's details only make the paper harder to
#: find (a wrong paper, then a wrong title, journal or year, then wrong authors, then a wrong
#: volume, page or link). A citation whose text could not be read is not an error found: it comes last.
ERROR_KINDS: tuple[ErrorKind, ...] = (
    ErrorKind("figure-not-in-source", "Number not in the cited paper",
              "the post gives a figure that the paper it cites does not report"),
    ErrorKind("not-in-source", "Cited paper does not say this", "the paper the post cites does not make the claim"),
    ErrorKind("source-not-found", "Cited paper not found", "no publication matching the post's reference was found"),
    ErrorKind("overstated", "Says more than the paper", "the cited paper supports only part of the claim, or less"),
    ErrorKind("wrong-paper", "Reference points to another paper",
              "the post's reference does not identify the paper it means"),
    ErrorKind("wrong-details", "Wrong title, journal or year", "the post's reference has the title, journal or "
              "year wrong"),
    ErrorKind("wrong-authors", "Wrong or misspelt authors", "the post's reference names the authors wrongly"),
    ErrorKind("wrong-locator", "Wrong volume, pages or link", "the post's reference has the volume, issue, pages, "
              "identifier or link wrong"),
    ErrorKind("not-checkable", "Not yet checkable", "the cited paper's text could not be read, so the claim is "
              "not checked yet"),
)
KIND_RANK = {k.id: i for i, k in enumerate(ERROR_KINDS)}

#: a reference's corrected field -> the kind of error it is (any other field: wrong-locator)
_FIELD_KINDS = {"identity": "wrong-paper", "title": "wrong-details", "journal": "wrong-details",
                "year": "wrong-details", "author": "wrong-authors", "editor": "wrong-authors"}

#: a figure in the post's words: a number with a unit, a percentage or a fold change
# (a reference range such as "17-21" or a name such as "5α-reductase" is not a figure)
_FIGURE = re.compile(
    r"\d+(?:[.,]\d+)?(?:\s*[-–]\s*\d+(?:[.,]\d+)?)?\s*(?:%|-?fold\b|(?:mg|µg|mcg|g|ng|pg|nmol|pmol|µmol|mmol|ml|mL|l|L)"
    r"(?:/\w+)?\b|-?(?:day|week|month|hour)s?\b|times\b)"
    r"|\b(?:two|three|four|five|six|seven|eight|nine|ten)-fold\b", re.IGNORECASE)


def states_figure(text: str) -> bool:
    """Whether the post's words give a figure (a number with a unit, a percentage, a fold change)."""
    return bool(_FIGURE.search(text))


def error_kind(support: str, post_text: str, source_status: str | None) -> str | None:
    """The kind of error a citation of the post's claim shows (None when the source supports it)."""
    if support == "not-supported":
        return "figure-not-in-source" if states_figure(post_text) else "not-in-source"
    if support == "partial":
        return "overstated"
    if support == "unchecked":
        return "source-not-found" if source_status == "not-found" else "not-checkable"
    return None


def ranked(kinds: set[str]) -> tuple[str, ...]:
    """Kinds of error, the most consequential first."""
    return tuple(sorted(kinds, key=KIND_RANK.__getitem__))


@dataclass(frozen=True)
class ClaimErrors:
    """One claim of the post with what the check found in each source it cited."""

    kind: str  # intervention or mechanism
    record_id: str
    record_name: str
    claim_id: str
    post_text: str
    post_refs: tuple[int, ...]
    findings: tuple[ClaimCorrection, ...]  # one per cited source that does not (fully) support it
    better_sources: tuple[str, ...]
    errors: tuple[str, ...]  # kinds of error, the worst first


@dataclass(frozen=True)
class ReferenceErrors:
    """One reference of the post with every field it got wrong (or that it was not found)."""

    number: int
    key: str
    title: str
    status: str
    corrections: tuple[Correction, ...]
    errors: tuple[str, ...]  # kinds of error, the worst first


def ranked_errors(kb: KnowledgeBase, found: Corrections | None = None) -> list[ClaimErrors | ReferenceErrors]:
    """One entry per claim of the post and per reference that the check found wrong, the most
    consequential first (by the worst kind of error each shows, `ERROR_KINDS`), then claims before
    references, then in page order."""
    found = found or collect_corrections(kb)
    out: list[ClaimErrors | ReferenceErrors] = []
    groups: dict[tuple[str, str], list[ClaimCorrection]] = {}
    for c in found.claims:
        groups.setdefault((c.kind + "s/" + c.record_id, c.claim_id), []).append(c)
    for findings in groups.values():
        first = findings[0]
        kinds = set()
        for c in findings:
            cited = kb.citations.get(c.cited_key)
            kind = error_kind(c.support, c.post_text, cited.verification.status if cited else None)
            if kind:
                kinds.add(kind)
        if not kinds:
            continue
        out.append(ClaimErrors(first.kind, first.record_id, first.record_name, first.claim_id, first.post_text,
                               first.post_refs, tuple(findings), first.better_sources, ranked(kinds)))
    for r in found.references:
        kinds = {_FIELD_KINDS.get(c.field, "wrong-locator") for c in r.corrections}
        if r.status == "not-found":
            kinds.add("source-not-found")
        if kinds:
            out.append(ReferenceErrors(r.number, r.key, r.title, r.status, r.corrections, ranked(kinds)))
    order = {id(e): i for i, e in enumerate(out)}
    out.sort(key=lambda e: (KIND_RANK[e.errors[0]], isinstance(e, ReferenceErrors), order[id(e)]))
    return out
