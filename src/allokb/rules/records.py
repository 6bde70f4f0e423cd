"""Rules on interventions and mechanisms: quotes of supporting citations, links to themselves, and
ids that anchor their pages."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from allokb.diagnostics import Diagnostic, make
from allokb.graph import KnowledgeBase, record_cites
from allokb.model import Intervention, Mechanism
from allokb.rules.catalogue import rule


@rule("KB410")
def check_quotes(kb: KnowledgeBase) -> Iterator[Diagnostic]:
    """A citation marked `supported` or `partial` must carry the exact quote from the source that supports
    the claim. Use `unchecked` when no quote has been checked."""
    for record in _records(kb):
        for _, _, cite in record_cites(record):
            if cite.support in ("supported", "partial") and not (cite.quote or "").strip():
                yield make("KB410", f"citation of `{cite.ref.target}` is `{cite.support}` but has no quote",
                           cite.location, "add `quote:` with the source's exact words, or set `support: unchecked`")


@rule("KB307")
def check_self_links(kb: KnowledgeBase) -> Iterator[Diagnostic]:
    """An intervention or mechanism lists itself as related, upstream or interacting."""
    for item in kb.interventions.values():
        for link in [*item.related, *(i.intervention for i in item.interactions)]:
            if link.target == item.id:
                yield make("KB307", f"`{item.id}` refers to itself", link.location)
    for mech in kb.mechanisms.values():
        for link in [*mech.upstream, *mech.related]:
            if link.target == mech.id:
                yield make("KB307", f"`{mech.id}` refers to itself", link.location)


@rule("KB308")
def check_claim_ids(kb: KnowledgeBase) -> Iterator[Diagnostic]:
    """Claim ids must be unique within their record: they are the anchors of the page."""
    for record in _records(kb):
        seen: dict[str, int] = defaultdict(int)
        anecdotes = record.anecdotes if isinstance(record, Intervention) else ()
        for item in [*record.claims, *anecdotes]:
            seen[item.id] += 1
            if seen[item.id] == 2:
                yield make("KB308", f"id `{item.id}` is used twice in `{record.id}`", item.location)


def _records(kb: KnowledgeBase) -> list[Intervention | Mechanism]:
    return [*kb.interventions.values(), *kb.mechanisms.values()]


#: the records' rules, in the order they run
RECORD_RULES = (check_quotes, check_self_links, check_claim_ids)
