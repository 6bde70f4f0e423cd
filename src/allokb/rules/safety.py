"""Safety rules: label summaries quote a label (KB490-KB492), and a dose said to be supported is (KB494).

A label summary (`label_summary` of an intervention) puts a medicine's boxed warning, main
contraindications and main interactions on its page as the label's own words. So its `label` must
be a regulator's document (KB490), every quote in it must cite that label (KB491), and a section
that shows the label's words must quote them with a checked support (KB492). A dose entry's
`supported_by` citations mark a dose as given by a checked source: each must state the dose's
numbers (KB494), or the page would call supported a dose nobody checked.
"""

from __future__ import annotations

from collections.abc import Iterator

from allokb.diagnostics import Diagnostic, make
from allokb.graph import KnowledgeBase
from allokb.model import LABEL_SECTIONS, Cite, Intervention, LabelSection, LabelSummary
from allokb.numbers import SUPPORTING, numbers_in
from allokb.rules.catalogue import rule

#: the statuses of a label summary section that show the label's words
SHOWS_WORDS = ("quoted", "none-in-label")


@rule("KB490")
def check_label_is_regulatory(kb: KnowledgeBase) -> Iterator[Diagnostic]:
    """A `label_summary` entry's `label` must be the bib key of a regulator's document: its citation record
    (content/citations/<key>.yaml) must exist and have `design: regulatory`. A label summary quotes prescribing
    information (an FDA label or DailyMed), nothing else."""
    for item in kb.interventions.values():
        for summary in item.label_summary:
            label = summary.label
            if label is None or label.target not in kb.references:
                continue
            citation = kb.citations.get(label.target)
            if citation is None or citation.design != "regulatory":
                found = f"design `{citation.design}`" if citation else "no citation record"
                yield make("KB490", f"label `{label.target}` of `{summary.medicine}` is not a regulator's document "
                           f"({found})", label.location,
                           f"cite the medicine's label (a citation record with `design: regulatory`), not "
                           f"`{label.target}`")


def _section_cites(item: Intervention) -> Iterator[tuple[LabelSummary, str, LabelSection, Cite]]:
    """Every citation of every section of the item's label summaries, with its summary and section."""
    for summary in item.label_summary:
        for name in LABEL_SECTIONS:
            section = getattr(summary, name)
            if section is None:
                continue
            for cite in section.citations:
                yield summary, name, section, cite


@rule("KB491")
def check_label_quotes_label(kb: KnowledgeBase) -> Iterator[Diagnostic]:
    """Every citation in a label summary's `boxed_warning`, `contraindications` and `interactions` must cite the
    summary's own `label`, and a summary without a `label` can quote nothing: the page presents those words as
    the label's. Cite the label, or move the statement to `cautions`."""
    for item in kb.interventions.values():
        for summary, name, _, cite in _section_cites(item):
            label = summary.label
            if label is None or cite.ref.target != label.target:
                expected = f"`{label.target}`" if label else "nothing (the summary has no `label`)"
                yield make("KB491", f"the {name.replace('_', ' ')} of `{summary.medicine}` cites "
                           f"`{cite.ref.target}`; a label summary quotes its label, here {expected}",
                           cite.ref.location, "cite the label, or move the statement to `cautions`")


@rule("KB492")
def check_label_sections_quoted(kb: KnowledgeBase) -> Iterator[Diagnostic]:
    """A label summary section whose `status` is `quoted` or `none-in-label` shows the label's words: each of
    its citations needs the verbatim `quote` (one sentence or a short phrase) and `support: supported` or
    `partial`. What nobody found in the label is `status: not-found`, or is left out (shown as "Not reviewed
    yet"); a warning is never written from memory."""
    for item in kb.interventions.values():
        for summary, name, section, cite in _section_cites(item):
            if section.status in SHOWS_WORDS and (cite.support not in SUPPORTING or not (cite.quote or "").strip()):
                yield make("KB492", f"the {name.replace('_', ' ')} of `{summary.medicine}` is `{section.status}` "
                           f"but its citation is `{cite.support}`" + ("" if (cite.quote or "").strip()
                                                                      else " without a quote"),
                           cite.location, "quote the label's words verbatim with `support: supported`, or set "
                           "`status: not-found`")


@rule("KB494")
def check_dose_support(kb: KnowledgeBase) -> Iterator[Diagnostic]:
    """A dose entry's `supported_by` citation says that a checked source gives the same dose; it must be
    `supported` or `partial` and its quote must hold every number of the dose's `amount` (numbers as KB460 reads
    them). Otherwise the page would mark as supported a dose that no checked source gives."""
    for item in kb.interventions.values():
        for dose in item.dosing:
            amount = {n.value: n.text for n in numbers_in(dose.amount)}
            for cite in dose.supported_by:
                if cite.support not in SUPPORTING:
                    yield make("KB494", f"`supported_by` citation of dose `{dose.amount}` is `{cite.support}`",
                               cite.location, "only a supported or partial citation can support a dose")
                    continue
                quoted = {n.value for n in numbers_in(cite.quote or "")}
                missing = [text for value, text in amount.items() if value not in quoted]
                if missing:
                    yield make("KB494", f"the quote of `{cite.ref.target}` does not give dose `{dose.amount}`: "
                               f"{', '.join(f'`{m}`' for m in missing)} not in it", cite.location,
                               "quote the words that give this dose, or remove the citation (the dose is then "
                               "shown as not supported by a checked source)")


#: the safety rules, in the order they run
SAFETY_RULES = (check_label_is_regulatory, check_label_quotes_label, check_label_sections_quoted,
                check_dose_support)
