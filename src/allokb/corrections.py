"""Corrections to the source post: every reference it cited wrongly and every claim whose cited
source does not (fully) support it, with the evidence for each. Used by the corrections page
and by `allokb report corrections`."""

from __future__ import annotations

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
