"""Graph stage: build records, resolve every cross-reference once, and compute backlinks.

Each `Link` written in a record is checked here, in one place, and a dangling one is reported
where it was written, with the nearest valid id as a hint. The result is a `KnowledgeBase`
whose backlinks ("cited by", "interventions acting through this mechanism") the pages use.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from allokb.diagnostics import Diagnostic, Location, Suggester, fast_pickle, make, shown
from allokb.load import SourceDocument
from allokb.model import BUILDERS, LABEL_SECTIONS, Citation, Cite, Intervention, Link, Mechanism, Reference
from allokb.numbers import check_numbers
from allokb.schema import check_document
from allokb.sources import SourceText
from allokb.urls import RESERVED_IDS, SECTION_OF_KIND

#: link kind -> (diagnostic code, content folder or source of valid ids)
_LINK_CODES = {"mechanism": "KB301", "intervention": "KB302", "reference": "KB303"}
_ID_FIELD = {"interventions": "id", "mechanisms": "id", "citations": "key"}
_FORMER_FIELD = {"interventions": "former_ids", "mechanisms": "former_ids", "citations": "former_keys"}
_ID_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")  # used with fullmatch: no `$` before a final newline


@fast_pickle
@dataclass(frozen=True, slots=True)
class CitingSite:
    """A place that cites a reference: which record, which anchor on its page, what it says."""

    kind: str  # "intervention" or "mechanism"
    record_id: str
    record_name: str
    anchor: str
    label: str
    support: str

    def sort_key(self) -> tuple[str, str, str, str, str, str]:
        """A total order: every field takes part, so two sites that differ in any field (one claim
        citing a source twice, `supported` and `partial`) never tie, and lists built from a set
        come out the same whatever the hash seed."""
        return (self.record_id, self.anchor, self.label, self.kind, self.support, self.record_name)


@fast_pickle
@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    """The whole, resolved knowledge base with its backlinks. Mappings are sorted by id."""

    interventions: dict[str, Intervention]
    mechanisms: dict[str, Mechanism]
    citations: dict[str, Citation]
    references: dict[str, Reference]
    cited_by: dict[str, tuple[CitingSite, ...]] = field(default_factory=dict)
    acting_through: dict[str, tuple[str, ...]] = field(default_factory=dict)
    downstream: dict[str, tuple[str, ...]] = field(default_factory=dict)
    interacting: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: bib key -> the committed source text its quotes are checked against (allokb.sources)
    sources: dict[str, SourceText] = field(default_factory=dict)


def record_cites(record: Intervention | Mechanism) -> Iterator[tuple[str, str, Cite]]:
    """Every citation written in a record, as (anchor, label, cite)."""
    for claim in record.claims:
        for cite in claim.citations:
            yield f"claim-{claim.id}", claim.statement, cite
    if isinstance(record, Mechanism):
        return
    for reg in record.regulatory:
        for cite in reg.citations:
            yield "regulatory", f"{reg.agency} {reg.status}" + (f" ({reg.year})" if reg.year else ""), cite
    for dose in record.dosing:
        yield "dosing", f"Dose reported: {dose.amount}", dose.reported_by
        for cite in dose.supported_by:
            yield "dosing", f"Dose supported: {dose.amount}", cite
    for summary in record.label_summary:
        for name in LABEL_SECTIONS:
            section = getattr(summary, name)
            for cite in section.citations if section else ():
                yield "label-summary", f"Label of {summary.medicine}: {name.replace('_', ' ')}", cite
    for caution in record.cautions:
        for cite in caution.citations:
            yield "cautions", caution.text, cite
    for inter in record.interactions:
        for cite in inter.citations:
            yield "interactions", inter.note, cite
    for alt in record.alternatives:
        for cite in alt.citations:
            yield "alternatives", alt.name, cite
    for anecdote in record.anecdotes:
        yield f"anecdote-{anecdote.id}", anecdote.summary, anecdote.citation


def record_links(record: Intervention | Mechanism) -> Iterator[Link]:
    """Every link written in a record (mechanisms, interventions, references)."""
    if isinstance(record, Intervention):
        yield from record.mechanisms
        yield from record.related
        yield from (i.intervention for i in record.interactions)
        yield from (s.label for s in record.label_summary if s.label)
    else:
        yield from record.upstream
        yield from record.related
    yield from (cite.ref for _, _, cite in record_cites(record))


@fast_pickle
@dataclass(frozen=True, slots=True)
class FileOutcome:
    """What loading, validating and building one content file produced."""

    kind: str  # content folder: interventions, mechanisms, citations
    path: str
    stem: str
    ident: str | None  # the id (or key) written in the file, if any
    id_location: Location | None
    record: Intervention | Mechanism | Citation | None  # None when the file had errors
    diagnostics: tuple[Diagnostic, ...]
    former: tuple[tuple[str, Location], ...] = ()  # former ids (or keys) with where each is written


def process_document(doc: SourceDocument, load_diagnostics: list[Diagnostic]) -> FileOutcome:
    """Validate one loaded document against its schema and build its record (schema + model
    stages for one file; independent of every other file, so it can run in a worker)."""
    field_name = _ID_FIELD[doc.kind]
    value = doc.data.get(field_name) if isinstance(doc.data, dict) else None
    ident = value if isinstance(value, str) else None
    diagnostics = list(load_diagnostics)
    id_location = doc.location((field_name,)) if ident is not None else None
    if ident is not None and ident != doc.stem:
        fix = f"rename the file to `{ident}.yaml` or set" if _ID_PATTERN.fullmatch(ident) else "set"
        diagnostics.append(make("KB207", f"{field_name} `{shown(ident)}` differs from the file name `{doc.stem}.yaml`",
                                id_location, f"{fix} the id to `{doc.stem}`"))
    if ident in RESERVED_IDS and doc.kind != "citations":  # a bib key is checked where references.bib defines it
        assert id_location is not None
        diagnostics.append(_reserved(ident, doc.kind, id_location))
    problems = check_document(doc)
    diagnostics.extend(problems)
    record = BUILDERS[doc.kind](doc) if not problems and not load_diagnostics else None
    former: tuple[tuple[str, Location], ...] = ()
    if isinstance(record, (Intervention, Mechanism)):
        # Numbers traced (KB460, KB461) here, where the document can place each one at its field.
        diagnostics.extend(check_numbers(record, doc.location))
    if record is not None:
        former_name = _FORMER_FIELD[doc.kind]
        former = tuple((old, doc.location((former_name, i))) for i, old in enumerate(doc.data.get(former_name, [])))
    return FileOutcome(doc.kind, doc.path, doc.stem, ident, id_location, record, tuple(diagnostics), former)


def _reserved(ident: str, kind: str, where: Location) -> Diagnostic:
    """KB310: an id that would be the file name of a page the section generates itself."""
    section = SECTION_OF_KIND[kind]
    return make("KB310", f"`{ident}` is reserved: its page would replace `/{section}/`, the page of the section "
                "itself", where, "choose another bib key" if kind == "citations" else "choose another id")


def build_graph(outcomes: list[FileOutcome], references: list[Reference] | None,
                present: dict[str, set[str]] | None = None) -> tuple[KnowledgeBase, list[Diagnostic]]:
    """Collect records, resolve links and compute backlinks.

    `present` maps a content folder to the stems of all its files, including those that failed
    to load: a link to such a file is not reported again as dangling. `references` is None when
    references.bib could not be read (already reported): bib keys are then not checked.
    """
    diagnostics: list[Diagnostic] = []
    known: dict[str, set[str]] = {"intervention": set(), "mechanism": set(), "reference": set()}
    for folder, stems in (present or {}).items():
        if folder != "citations":
            known[folder[:-1]].update(stems)
    built: dict[str, dict[str, Any]] = {"interventions": {}, "mechanisms": {}, "citations": {}}
    first_file: dict[tuple[str, str], str] = {}
    # Files whose id matches their name claim their id first, so a clash is reported on the other.
    for outcome in sorted(outcomes, key=lambda o: (o.ident != o.stem, o.path)):
        ident = outcome.ident
        if ident is not None:
            if outcome.kind != "citations":
                known[outcome.kind[:-1]].add(ident)
            seen = first_file.setdefault((outcome.kind, ident), outcome.path)
            if seen != outcome.path:
                assert outcome.id_location is not None
                diagnostics.append(make("KB304", f"{_ID_FIELD[outcome.kind]} `{ident}` is already used by {seen}",
                                        outcome.id_location))
                continue
        if outcome.record is not None:
            built[outcome.kind][ident] = outcome.record
    refs = {r.key: r for r in references or []}
    known["reference"] = set(refs)
    diagnostics += [_reserved(key, "citations", ref.location) for key, ref in sorted(refs.items())
                    if key in RESERVED_IDS]
    owners = {(kind, stem): f"content/{kind}/{stem}.yaml" for kind, stems in (present or {}).items()
              if kind != "citations" for stem in stems}
    owners.update({key: path for key, path in first_file.items() if key[0] != "citations"})
    owners.update({("citations", key): "references.bib" for key in refs})
    diagnostics += check_former_ids(outcomes, owners)

    suggest = {kind: Suggester(ids) for kind, ids in known.items()}  # indexed once, not once per link
    for record in [*built["interventions"].values(), *built["mechanisms"].values()]:
        for link in record_links(record):
            if link.target not in known[link.kind] and not (link.kind == "reference" and references is None):
                diagnostics.append(make(_LINK_CODES[link.kind], f"no {link.kind} `{link.target}`",
                                        link.location, suggest[link.kind].hint(link.target)))
    for key, citation in built["citations"].items():
        if key not in refs and references is not None:
            diagnostics.append(make("KB305", f"citation record `{key}` has no entry in references.bib",
                                    citation.location, suggest["reference"].hint(key)))
    present_citations = (present or {}).get("citations", set())
    for key, ref in refs.items():
        if key not in built["citations"] and key not in present_citations:
            diagnostics.append(make("KB306", f"reference `{key}` has no citation record",
                                    ref.location, f"run `allokb new citation {key}`"))
    kb = KnowledgeBase(
        interventions=dict(sorted(built["interventions"].items())),
        mechanisms=dict(sorted(built["mechanisms"].items())),
        citations=dict(sorted(built["citations"].items())),
        references=dict(sorted(refs.items())),
        **_backlinks(built["interventions"], built["mechanisms"], known),
    )
    return kb, diagnostics


def check_former_ids(outcomes: list[FileOutcome], owners: dict[tuple[str, str], str]) -> list[Diagnostic]:
    """KB311: every former id (or key) redirects to exactly one entry, and only from a URL that no
    live entry serves. Two entries listing one former id, or a former id that is still the id of
    an entry of the same section (`owners`: (content folder, id) -> the file that defines it) are
    errors, each placed where the former id is written. A chain of renames (A was B, B was C)
    always shows as the second: the old ids belong on the entry at the end of the chain."""
    out: list[Diagnostic] = []
    listed: dict[tuple[str, str], list[FileOutcome]] = defaultdict(list)
    for outcome in sorted(outcomes, key=lambda o: o.path):
        for old, _ in outcome.former:
            listed[(outcome.kind, old)].append(outcome)
    for outcome in sorted(outcomes, key=lambda o: o.path):
        for old, where in outcome.former:
            url = f"/{SECTION_OF_KIND[outcome.kind]}/{old}/"
            owner = owners.get((outcome.kind, old))
            if old == outcome.ident:
                out.append(make("KB311", f"former id `{old}` is this entry's own id", where, "remove it"))
            elif owner is not None:
                out.append(make("KB311", f"former id `{old}` is the id of {owner}, which serves `{url}`: it cannot "
                                "redirect", where, "remove it; after a chain of renames, every old id belongs on the "
                                "entry with the newest one"))
            elif len(listed[(outcome.kind, old)]) > 1:
                others = ", ".join(o.path for o in listed[(outcome.kind, old)] if o is not outcome)
                out.append(make("KB311", f"former id `{old}` is also listed by {others}: `{url}` can redirect to "
                                "one entry only", where, "keep it on the entry that replaced it"))
    return out


def _backlinks(interventions: dict[str, Intervention], mechanisms: dict[str, Mechanism],
               known: dict[str, set[str]]) -> dict[str, Any]:
    cited_by: dict[str, set[CitingSite]] = defaultdict(set)
    acting: dict[str, set[str]] = defaultdict(set)
    downstream: dict[str, set[str]] = defaultdict(set)
    interacting: dict[str, set[str]] = defaultdict(set)
    records: list[Intervention | Mechanism] = [*interventions.values(), *mechanisms.values()]
    for record in records:
        kind = "intervention" if isinstance(record, Intervention) else "mechanism"
        for anchor, label, cite in record_cites(record):
            cited_by[cite.ref.target].add(CitingSite(kind, record.id, record.name, anchor, label, cite.support))
    for item in interventions.values():
        for link in item.mechanisms:
            acting[link.target].add(item.id)
        for inter in item.interactions:
            interacting[inter.intervention.target].add(item.id)
    for mech in mechanisms.values():
        for link in mech.upstream:
            downstream[link.target].add(mech.id)

    def frozen(table: dict[str, set[Any]], valid: set[str]) -> dict[str, tuple[Any, ...]]:
        return {k: tuple(sorted(v, key=lambda s: s.sort_key() if isinstance(s, CitingSite) else s))
                for k, v in sorted(table.items()) if k in valid}

    return {"cited_by": frozen(cited_by, known["reference"]),
            "acting_through": frozen(acting, known["mechanism"]),
            "downstream": frozen(downstream, known["mechanism"]),
            "interacting": frozen(interacting, known["intervention"])}
