"""Doses and label summaries as a reader needs them: what studies and labels gave, before the rest.

`dose_rows` lists an intervention's doses in page order. First the doses that checked sources gave
(`kind` `study` or `label`): every claim that states a `dose` and has a supporting quote from a
study or a label (its numbers are traced by KB460), then every dose entry reported by a study or a
label. Then the doses reported elsewhere (`kind` `other`: the source post, a pharmacy's product
page), each `supported` only when a `supported_by` citation of a checked source gives it (KB494
checks the quote), and otherwise shown as "not supported by a checked source".

`label_views` turns each label summary into its sections, a section nobody reviewed being "Not
reviewed yet" with the label's link. Both are plain data for the template and the CSV export.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from allokb import labels as L
from allokb.graph import KnowledgeBase
from allokb.model import LABEL_SECTIONS, Cite, Intervention
from allokb.numbers import SUPPORTING

#: designs of a source whose dose is a checked report (a study's or a label's), by kind
STUDY_DESIGNS = frozenset({"meta-analysis", "rct", "controlled-trial", "uncontrolled-trial", "cohort", "case-control",
                           "cross-sectional", "case-series", "case-report", "pharmacovigilance"})
NOT_SUPPORTED = "not supported by a checked source"
NOT_REVIEWED = "Not reviewed yet"
#: how a label summary section's status reads on the page
SECTION_STATUS = {"quoted": "", "none-in-label": "The label lists none",
                  "not-found": "Not found in the label text checked"}
SECTION_TITLES = {"boxed_warning": "Boxed warning", "contraindications": "Who must not use it (contraindications)",
                  "interactions": "Main interactions"}


@dataclass(frozen=True)
class DoseRow:
    """One dose on a page and in /data/doses.csv."""

    kind: str  # study, label or other
    amount: str
    route: str
    duration: str
    timing: str  # how often and when: `once daily, in the evening`
    population: str
    design: str
    n: str
    supervision: str
    cites: tuple[Cite, ...]  # the sources that give it (for `other`: the one that reports it)
    supported_by: tuple[Cite, ...]  # for `other`: the checked sources that give the same dose
    anchor: str  # where on the page it comes from

    @property
    def supported(self) -> bool:
        return self.kind != "other" or bool(self.supported_by)


def _kind(kb: KnowledgeBase, key: str) -> str:
    citation = kb.citations.get(key)
    design = citation.design if citation else ""
    return "label" if design == "regulatory" else "study" if design in STUDY_DESIGNS else "other"


def _size(kb: KnowledgeBase, keys: list[str]) -> str:
    sizes = []
    for key in keys:
        citation = kb.citations.get(key)
        if citation is None:
            continue
        a = citation.appraisal
        n = next((v for v in (a.analysed, a.randomised, citation.sample_size) if isinstance(v, int)), None)
        if n is not None:
            sizes.append(str(n))
    return ", ".join(dict.fromkeys(sizes)) or "—"


def _design(kb: KnowledgeBase, keys: list[str]) -> str:
    designs = [L.label(L.DESIGN, c.design) for k in keys if (c := kb.citations.get(k))]
    return ", ".join(dict.fromkeys(designs)) or "—"


def dose_rows(kb: KnowledgeBase, item: Intervention) -> list[DoseRow]:
    """The doses of an intervention: those checked sources gave, then the others (see the module)."""
    checked: list[DoseRow] = []
    other: list[DoseRow] = []
    for claim in item.claims:
        if not claim.dose:
            continue
        cites = tuple(c for c in claim.citations if c.support in SUPPORTING and (c.quote or "").strip()
                      and _kind(kb, c.ref.target) != "other")
        if not cites:
            continue
        first: dict[str, Cite] = {}
        for c in cites:  # one mention per source: a claim often quotes one source twice
            first.setdefault(c.ref.target, c)
        cites = tuple(first.values())
        keys = list(first)
        kinds = {_kind(kb, k) for k in keys}
        checked.append(DoseRow(
            "study" if "study" in kinds else "label", claim.dose, L.route(claim.route),
            claim.duration or "—", "—", claim.population_note or L.label(L.POPULATION, claim.population),
            _design(kb, keys), _size(kb, keys), "—", cites, (), f"claim-{claim.id}"))
    for dose in item.dosing:
        key = dose.reported_by.ref.target
        kind = _kind(kb, key)
        population = L.label(L.POPULATION, dose.population) + (f" ({dose.population_note})" if dose.population_note else "")
        row = DoseRow(kind, dose.amount, L.route(dose.route), dose.duration or "—",
                      ", ".join(x for x in (dose.frequency, dose.timing) if x) or "—", population, _design(kb, [key]), _size(kb, [key]), L.label(L.SUPERVISION, dose.supervision),
                      (dose.reported_by,), dose.supported_by, "dosing")
        (other if kind == "other" else checked).append(row)
    return checked + other


def label_views(item: Intervention, label_href: Any, number: Any) -> list[dict[str, Any]]:
    """Each label summary of an intervention, for its page: the medicine, the label's link
    (`label_href(key)`, None without a label), and the three sections, each with its status words
    and its quotes (`number(cite)` gives a quote's reference number on the page)."""
    out: list[dict[str, Any]] = []
    for summary in item.label_summary:
        href = label_href(summary.label.target) if summary.label else None
        sections: list[dict[str, Any]] = []
        for name in LABEL_SECTIONS:
            section = getattr(summary, name)
            if section is None:
                sections.append({"title": SECTION_TITLES[name], "status": NOT_REVIEWED, "quotes": [], "note": None})
                continue
            sections.append({"title": SECTION_TITLES[name], "status": SECTION_STATUS[section.status],
                             "quotes": [{"quote": c.quote, "cite": number(c)} for c in section.citations],
                             "note": section.note})
        out.append({"medicine": summary.medicine, "href": href, "note": summary.note, "sections": sections})
    return out
