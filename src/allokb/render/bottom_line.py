"""The top of an intervention page: its bottom line, in whom it was studied, and for whom the post suggests it.

`top_view` prepares what `site_templates/intervention.md.j2` shows first, after the title: each
bottom-line sentence with links to the claims it rests on (numbered as the claims are on the
page), then two separate lines, never merged: "Studied in" (the populations of the claims that a
checked source supports) and "Suggested by the post for" (the entry's `suggested_for`).
"""

from __future__ import annotations

from typing import Any

from allokb import labels as L
from allokb.model import Intervention
from allokb.sources import CHECKED_SUPPORTS

#: populations that name no group of people
_NO_GROUP = frozenset({"any"})


def top_view(item: Intervention, population_label: Any = None) -> dict[str, Any]:
    """The bottom line, "Studied in" and "Suggested by the post for" of one intervention.

    `population_label` gives a population id's wording (the rubric's, when there is one)."""
    label = population_label or (lambda ident: L.label(L.POPULATION, ident))
    position = {claim.id: n for n, claim in enumerate(item.claims, 1)}
    sentences = [{"text": s.text,
                  "claims": [{"number": position[link.target], "anchor": f"claim-{link.target}"}
                             for link in s.claims if link.target in position]}
                 for s in item.bottom_line]
    order = {ident: i for i, ident in enumerate(L.POPULATION)}
    studied = sorted({c.population for c in item.claims
                      if c.population not in _NO_GROUP and any(x.support in CHECKED_SUPPORTS for x in c.citations)},
                     key=lambda ident: (order.get(ident, len(order)), ident))
    return {"sentences": sentences, "studied_in": [label(p) for p in studied],
            "suggested_for": [label(p) for p in item.suggested_for if p not in _NO_GROUP]}
