"""Graph stage: collect records, resolve every cross-reference once, and compute backlinks.

The graph does not judge: what does not resolve (a dangling link, an id two files claim, a
former id) is recorded in a `Resolution`, which the rules stage (allokb.rules.links) reports
where it was written. The result is a `KnowledgeBase` whose backlinks are records ("cited by",
"interventions acting through this mechanism"); `KnowledgeBase.target` gives the record a link
names, so that no later stage looks an id up on its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from allokb.diagnostics import Diagnostic, Location, fast_pickle
from allokb.kinds import BY_FOLDER, CITATION, KINDS, Kind
from allokb.model import Citation, Entry, Intervention, Link, Mechanism, Record, Reference, record_cites
from allokb.sources import SourceText

if TYPE_CHECKING:
    from allokb.readers import ReaderFindings



@fast_pickle
@dataclass(frozen=True, slots=True)
class CitingSite:
    """A place that cites a reference: which record, which anchor on its page, what it says."""

    kind: str  # the citing record's kind: "intervention" or "mechanism"
    record_id: str
    record_name: str
    anchor: str
    label: str
    support: str
    #: the citing record itself (not compared: the fields above identify the site)
    record: Intervention | Mechanism | None = field(default=None, compare=False, hash=False)

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
    #: mechanism id -> the interventions acting through it
    acting_through: dict[str, tuple[Intervention, ...]] = field(default_factory=dict)
    #: mechanism id -> the mechanisms that list it as upstream
    downstream: dict[str, tuple[Mechanism, ...]] = field(default_factory=dict)
    #: intervention id -> the interventions that list an interaction with it
    interacting: dict[str, tuple[Intervention, ...]] = field(default_factory=dict)
    #: bib key -> the committed source text its quotes are checked against (allokb.sources)
    sources: dict[str, SourceText] = field(default_factory=dict)
    #: content folder -> id -> record, for kinds built by the generic builder (`model.Entry`)
    entries: dict[str, dict[str, Entry]] = field(default_factory=dict)

    def records(self, kind: Kind) -> dict[str, Any]:
        """The records of `kind`, by id (for a citation record's kind: by bib key)."""
        if kind.folder in ("interventions", "mechanisms", "citations"):
            tables: dict[str, dict[str, Any]] = {"interventions": self.interventions, "mechanisms": self.mechanisms,
                                                 "citations": self.citations}
            return tables[kind.folder]
        return self.entries.get(kind.folder, {})

    def target(self, link: Link) -> Intervention | Mechanism | Reference:
        """The record a link names: every link of a checked knowledge base resolves (the graph
        stage reports those that do not, and nothing is rendered then)."""
        tables: dict[str, dict[str, Any]] = {"intervention": self.interventions, "mechanism": self.mechanisms,
                                             "reference": self.references}
        found: Intervention | Mechanism | Reference = tables[link.kind][link.target]
        return found


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
    record: Record | None  # None when the file had errors
    diagnostics: tuple[Diagnostic, ...]
    former: tuple[tuple[str, Location], ...] = ()  # former ids (or keys) with where each is written
    #: the reader rules' findings on the record that need no other record (`allokb.rules.readers`),
    #: found where the file was loaded; None when they were not looked for
    readers: ReaderFindings | None = None


@dataclass(frozen=True)
class Resolution:
    """What resolving the records found, for the rules stage to judge (allokb.rules.links).

    `known` maps a link name (`intervention`, `mechanism`, `reference`) to every id that exists,
    including those of files that failed to load (a link to one is not dangling: the file's own
    error says enough); `dangling` lists the links whose target is not known; `clashes` pairs each
    file whose id another file took first with that file; `owners` maps (content folder, id) to
    the file that defines it (references.bib for a bib key); `references` is None when
    references.bib could not be read, `present` the stems of every content file."""

    known: dict[str, frozenset[str]]
    dangling: tuple[Link, ...]
    clashes: tuple[tuple[FileOutcome, str], ...]
    owners: dict[tuple[str, str], str]
    outcomes: tuple[FileOutcome, ...]
    references: dict[str, Reference] | None
    present: dict[str, set[str]]


def build_graph(outcomes: list[FileOutcome], references: list[Reference] | None,
                present: dict[str, set[str]] | None = None) -> tuple[KnowledgeBase, Resolution]:
    """Collect records, resolve links and compute backlinks; what does not resolve is recorded in
    the `Resolution` (the rules stage reports it).

    `present` maps a content folder to the stems of all its files, including those that failed
    to load. `references` is None when references.bib could not be read (already reported).
    """
    present = present or {}
    known: dict[str, set[str]] = {kind.link_name: set() for kind in KINDS}
    for folder, stems in present.items():
        if folder in BY_FOLDER and BY_FOLDER[folder] is not CITATION:
            known[BY_FOLDER[folder].link_name].update(stems)
    built: dict[str, dict[str, Any]] = {kind.folder: {} for kind in KINDS}
    first_file: dict[tuple[str, str], str] = {}
    clashes: list[tuple[FileOutcome, str]] = []
    # Files whose id matches their name claim their id first, so a clash is reported on the other.
    for outcome in sorted(outcomes, key=lambda o: (o.ident != o.stem, o.path)):
        ident = outcome.ident
        if ident is not None:
            kind = BY_FOLDER[outcome.kind]
            if kind is not CITATION:
                known[kind.link_name].add(ident)
            seen = first_file.setdefault((outcome.kind, ident), outcome.path)
            if seen != outcome.path:
                clashes.append((outcome, seen))
                continue
        if outcome.record is not None:
            built[outcome.kind][ident] = outcome.record
    refs = {r.key: r for r in references or []}
    known[CITATION.link_name] = set(refs)
    owners = {(kind, stem): f"content/{kind}/{stem}.yaml" for kind, stems in present.items()
              if kind != CITATION.folder for stem in stems}
    owners.update({key: path for key, path in first_file.items() if key[0] != CITATION.folder})
    owners.update({(CITATION.folder, key): "references.bib" for key in refs})
    dangling = tuple(link for folder in ("interventions", "mechanisms") for record in built[folder].values()
                     for link in record_links(record)
                     if link.target not in known[link.kind] and not (link.kind == "reference" and references is None))
    interventions = dict(sorted(built.pop("interventions").items()))
    mechanisms = dict(sorted(built.pop("mechanisms").items()))
    kb = KnowledgeBase(
        interventions=interventions, mechanisms=mechanisms,
        citations=dict(sorted(built.pop("citations").items())), references=dict(sorted(refs.items())),
        entries={folder: dict(sorted(records.items())) for folder, records in built.items()},
        **_backlinks(interventions, mechanisms, known),
    )
    resolution = Resolution({k: frozenset(v) for k, v in known.items()}, dangling, tuple(clashes), owners,
                            tuple(outcomes), refs if references is not None else None, present)
    return kb, resolution


def _backlinks(interventions: dict[str, Intervention], mechanisms: dict[str, Mechanism],
               known: dict[str, set[str]]) -> dict[str, Any]:
    # A site is its fields, written here in the order of `CitingSite.sort_key`: plain tuples hash
    # and sort in C, where 130,000 sites (10,000 entries) would call Python's __hash__ and sort_key.
    sites: dict[str, dict[tuple[str, str, str, str, str, str], Intervention | Mechanism]] = defaultdict(dict)
    acting: dict[str, set[str]] = defaultdict(set)
    downstream: dict[str, set[str]] = defaultdict(set)
    interacting: dict[str, set[str]] = defaultdict(set)
    records: list[Intervention | Mechanism] = [*interventions.values(), *mechanisms.values()]
    for record in records:
        kind = "intervention" if isinstance(record, Intervention) else "mechanism"
        for anchor, label, cite in record_cites(record):
            sites[cite.ref.target].setdefault((record.id, anchor, label, kind, cite.support, record.name), record)
    for item in interventions.values():
        for link in item.mechanisms:
            acting[link.target].add(item.id)
        for inter in item.interactions:
            interacting[inter.intervention.target].add(item.id)
    for mech in mechanisms.values():
        for link in mech.upstream:
            downstream[link.target].add(mech.id)

    def frozen(table: dict[str, set[str]], valid: set[str], by_id: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
        # ids are sorted, then turned into the records they name (backlinks are records)
        return {k: tuple(by_id[i] for i in sorted(v)) for k, v in sorted(table.items()) if k in valid}

    cited_by = {key: tuple(CitingSite(kind, ident, name, anchor, label, support, record)
                           for (ident, anchor, label, kind, support, name), record in sorted(found.items()))
                for key, found in sorted(sites.items()) if key in known["reference"]}
    return {"cited_by": cited_by,
            "acting_through": frozen(acting, known["mechanism"], interventions),
            "downstream": frozen(downstream, known["mechanism"], mechanisms),
            "interacting": frozen(interacting, known["intervention"], interventions)}
