"""Rules stage: cross-record checks on the resolved knowledge base.

Each rule is one small function `check_*` that yields diagnostics; its docstring is the rule's
documentation. `RULES` lists them in the order they run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator

from allokb.bib import RECORD_FIELDS, REQUIRED_FIELDS
from allokb.diagnostics import Diagnostic, make, shown
from allokb.graph import KnowledgeBase, record_cites
from allokb.model import Intervention, Mechanism
from allokb.sources import normalise
from allokb.safety import check_dose_support, check_label_summaries


def check_duplicate_publications(kb: KnowledgeBase) -> Iterator[Diagnostic]:
    """KB407: two bib entries with the same DOI, PMID or PMCID, or the same title in the same year,
    are one publication under two keys. Titles are compared normalised: Unicode NFKC, case, and
    letters and digits only, with Greek letters written out or not (`5α` = `5alpha`); identifiers
    without regard to case."""
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


def check_required_fields(kb: KnowledgeBase) -> Iterator[Diagnostic]:
    """KB403: a bib entry lacks a field its type requires (bib.REQUIRED_FIELDS; an @article's
    author, journal and year are KB451) — unless its
    citation's verification record lists the field under `missing` and says what was `searched`:
    a field that exists but was found on no record is recorded as such, never filled in."""
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


def check_cited_nowhere(kb: KnowledgeBase) -> Iterator[Diagnostic]:
    """KB408 (warning): a bib entry that nothing cites is dead weight or a forgotten citation."""
    for key, ref in kb.references.items():
        if key not in kb.cited_by:
            yield make("KB408", f"reference `{key}` is cited nowhere", ref.location,
                       "cite it from a claim, a dose, a caution or an anecdote, or remove it")


def check_quotes(kb: KnowledgeBase) -> Iterator[Diagnostic]:
    """KB410: a citation marked `supported` or `partial` must carry the exact supporting quote."""
    for record in _records(kb):
        for _, _, cite in record_cites(record):
            if cite.support in ("supported", "partial") and not (cite.quote or "").strip():
                yield make("KB410", f"citation of `{cite.ref.target}` is `{cite.support}` but has no quote",
                           cite.location, "add `quote:` with the source's exact words, or set `support: unchecked`")


def check_self_links(kb: KnowledgeBase) -> Iterator[Diagnostic]:
    """KB307: a record must not list itself as related, upstream or interacting."""
    for item in kb.interventions.values():
        for link in [*item.related, *(i.intervention for i in item.interactions)]:
            if link.target == item.id:
                yield make("KB307", f"`{item.id}` refers to itself", link.location)
    for mech in kb.mechanisms.values():
        for link in [*mech.upstream, *mech.related]:
            if link.target == mech.id:
                yield make("KB307", f"`{mech.id}` refers to itself", link.location)


def check_claim_ids(kb: KnowledgeBase) -> Iterator[Diagnostic]:
    """KB308: claim and anecdote ids are unique within their record (they are page anchors)."""
    for record in _records(kb):
        seen: dict[str, int] = defaultdict(int)
        anecdotes = record.anecdotes if isinstance(record, Intervention) else ()
        for item in [*record.claims, *anecdotes]:
            seen[item.id] += 1
            if seen[item.id] == 2:
                yield make("KB308", f"id `{item.id}` is used twice in `{record.id}`", item.location)


#: correction fields whose value is also a field of the bib entry
_BIB_FIELDS = ("title", "journal", "year", "volume", "number", "pages", "doi", "pmid", "pmcid")


def _same(a: str, b: str) -> bool:
    return normalise(a) == normalise(b)


def check_empty_corrections(kb: KnowledgeBase) -> Iterator[Diagnostic]:
    """KB415: a correction to the source post must correct something. A correction whose post
    value equals the record's value, or whose post value equals the bib entry's own field (the
    post was right), is an error: the corrections report would publish a mistake that is not
    one. Values are compared after the quote normalisation (case, whitespace, dashes, Greek)."""
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


def _records(kb: KnowledgeBase) -> list[Intervention | Mechanism]:
    return [*kb.interventions.values(), *kb.mechanisms.values()]


RULES: tuple[Callable[[KnowledgeBase], Iterator[Diagnostic]], ...] = (
    check_required_fields,
    check_duplicate_publications,
    check_cited_nowhere,
    check_quotes,
    check_self_links,
    check_claim_ids,
    check_empty_corrections,
    check_label_summaries,
    check_dose_support,
)


def run_rules(kb: KnowledgeBase) -> list[Diagnostic]:
    """Run every rule over the knowledge base."""
    return [d for rule in RULES for d in rule(kb)]
