"""Model stage: typed, frozen records built from documents that passed their schema.

A cross-reference is a `Link` (target kind, target id, and where it was written), resolved once
by the graph stage; nothing downstream passes bare id strings around.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from allokb.bibtext import Person, split_authors
from allokb.diagnostics import Location, fast_pickle

#: one step of a path into a document: a mapping key or a list index
PathPart = str | int


class Document(Protocol):
    """What the builders read of a loaded document (`allokb.load.SourceDocument`): its data, which
    passed its schema, and where each value is written."""

    @property
    def path(self) -> str:
        """The file, relative to the project root."""
        ...

    @property
    def data(self) -> Any:
        """The document's data."""
        ...

    def location(self, path: tuple[PathPart, ...] = (), *, key: bool = False) -> Location:
        """Where the value at `path` is written."""
        ...


@fast_pickle
@dataclass(frozen=True, slots=True)
class Link:
    """A reference from one record to another: `kind` is `intervention`, `mechanism` or `reference`."""

    kind: str
    target: str
    location: Location


@fast_pickle
@dataclass(frozen=True, slots=True)
class Cite:
    """A source cited for a statement, with locator, exact quote and support verdict."""

    ref: Link
    support: str
    locator: str | None
    quote: str | None
    note: str | None
    location: Location
    curator_note: str | None = None  # how it was checked, in the maintainers' words: not on the page


@fast_pickle
@dataclass(frozen=True, slots=True)
class SeedAttribution:
    """What the source post said and cited for a statement."""

    text: str
    refs: tuple[int, ...]
    section: str | None


@fast_pickle
@dataclass(frozen=True, slots=True)
class Derived:
    """A number a claim states that is arithmetic on its quoted numbers, with the arithmetic."""

    value: str
    how: str


@fast_pickle
@dataclass(frozen=True, slots=True)
class Claim:
    """One checkable statement with its sources."""

    id: str
    statement: str
    outcome: str
    direction: str
    size: str | None
    population: str  # a population id: the matrix row the claim counts in (with its outcome)
    population_note: str | None  # in whom it was shown, in words
    subjects: str | None
    dose: str | None
    route: str | None
    duration: str | None
    citations: tuple[Cite, ...]
    seed: SeedAttribution | None
    note: str | None
    indirect: tuple[str, ...]
    upgrade: tuple[str, ...]
    location: Location
    derived: tuple[Derived, ...] = ()  # numbers of the statement, size or dose worked out from quoted ones
    heading: str | None = None  # at most 20 plain words; the statement is then the detail below it
    curator_note: str | None = None  # how it was checked, in the maintainers' words: not on the page


@fast_pickle
@dataclass(frozen=True, slots=True)
class Regulatory:
    """A regulator's decision about an intervention."""

    agency: str
    status: str
    year: int | None
    date: str | None
    indication: str | None
    brand: str | None
    citations: tuple[Cite, ...]
    outcome: str | None = None  # the indication's outcome and population (required for an approval)
    population: str | None = None
    location: Location | None = None


@fast_pickle
@dataclass(frozen=True, slots=True)
class Dosing:
    """A dose as reported by a named source (never a recommendation)."""

    population: str
    population_note: str | None
    amount: str
    route: str | None
    timing: str | None
    frequency: str | None
    duration: str | None
    supervision: str
    context: str | None
    reported_by: Cite
    supported_by: tuple[Cite, ...] = ()  # checked sources (a study, a label) that give the same dose


@fast_pickle
@dataclass(frozen=True, slots=True)
class Caution:
    """A contraindication, side effect or other caution."""

    kind: str
    text: str
    citations: tuple[Cite, ...]


@fast_pickle
@dataclass(frozen=True, slots=True)
class LabelSection:
    """One section of a label summary (boxed warning, contraindications, interactions): `quoted`,
    `none-in-label` or `not-found`, with the label's words; None on the summary when not reviewed."""

    status: str
    citations: tuple[Cite, ...]
    note: str | None


@fast_pickle
@dataclass(frozen=True, slots=True)
class LabelSummary:
    """What a medicine's prescribing information says about its main risks, quoted from it."""

    medicine: str
    label: Link | None
    note: str | None
    boxed_warning: LabelSection | None
    contraindications: LabelSection | None
    interactions: LabelSection | None
    location: Location


#: the sections of a label summary, in page order
LABEL_SECTIONS = ("boxed_warning", "contraindications", "interactions")


@fast_pickle
@dataclass(frozen=True, slots=True)
class Interaction:
    """A link to another intervention: avoid with, counteracts, complements, alternative to."""

    intervention: Link
    kind: str
    note: str
    citations: tuple[Cite, ...]


@fast_pickle
@dataclass(frozen=True, slots=True)
class Alternative:
    """An option named as an alternative that has no entry of its own."""

    name: str
    note: str
    citations: tuple[Cite, ...]


@fast_pickle
@dataclass(frozen=True, slots=True)
class Anecdote:
    """An individual's reported experience, always labelled as such."""

    id: str
    summary: str
    population: str | None
    citation: Cite
    location: Location


@fast_pickle
@dataclass(frozen=True, slots=True)
class SeedRating:
    """The source post's summary-table row for an intervention."""

    rating: str
    mechanism: str | None
    refs: str | None


@fast_pickle
@dataclass(frozen=True, slots=True)
class BottomLineSentence:
    """One sentence of an intervention's bottom line, with the claims it rests on."""

    text: str
    claims: tuple[Link, ...]  # kind `claim`: ids of the same record's claims
    location: Location


@fast_pickle
@dataclass(frozen=True, slots=True)
class ChangeNote:
    """One item of an entry's `changes`: what changed for a reader, and when (YYYY-MM-DD as
    written; the rules check it)."""

    date: str
    summary: str
    location: Location  # of its date
    summary_location: Location


@fast_pickle
@dataclass(frozen=True, slots=True)
class MainOutcome:
    """The outcome, in a population, that an intervention is mainly used for."""

    outcome: str
    population: str
    location: Location | None = None


@fast_pickle
@dataclass(frozen=True, slots=True)
class Intervention:
    """Something a person can do, take or avoid that is claimed to change ALLO."""

    id: str
    name: str
    aliases: tuple[str, ...]
    category: str
    summary: str
    direction: str
    relation: str
    main_outcome: MainOutcome
    prescription_status: str
    populations: tuple[str, ...]
    mechanisms: tuple[Link, ...]
    regulatory: tuple[Regulatory, ...]
    claims: tuple[Claim, ...]
    dosing: tuple[Dosing, ...]
    cautions: tuple[Caution, ...]
    interactions: tuple[Interaction, ...]
    alternatives: tuple[Alternative, ...]
    anecdotes: tuple[Anecdote, ...]
    seed_rating: SeedRating | None
    related: tuple[Link, ...]
    evidence_grade: str | None
    former_ids: tuple[str, ...]
    source: str
    location: Location
    label_summary: tuple[LabelSummary, ...] = ()  # prescription medicines: their labels' main risks, quoted
    bottom_line: tuple[BottomLineSentence, ...] = ()  # the answer first, above everything on the page
    suggested_for: tuple[str, ...] = ()  # population ids the source post itself suggests it for
    changes: tuple[ChangeNote, ...] = ()  # what changed for a reader, newest first (the page's history)


@fast_pickle
@dataclass(frozen=True, slots=True)
class Step:
    """An enzymatic conversion: substrate -> product by enzyme."""

    substrate: str
    product: str
    enzyme: str | None
    rate_limiting: bool


@fast_pickle
@dataclass(frozen=True, slots=True)
class Mechanism:
    """How ALLO is made, acts or is lowered."""

    id: str
    name: str
    kind: str
    summary: str
    step: Step | None
    upstream: tuple[Link, ...]
    related: tuple[Link, ...]
    claims: tuple[Claim, ...]
    former_ids: tuple[str, ...]
    source: str
    location: Location
    changes: tuple[ChangeNote, ...] = ()  # what changed for a reader, newest first (the page's history)


@fast_pickle
@dataclass(frozen=True, slots=True)
class Finding:
    """Something a source shows, with its words."""

    text: str
    quote: str | None
    locator: str | None
    location: Location | None = None


@fast_pickle
@dataclass(frozen=True, slots=True)
class CheckedPage:
    """A page a bibliographic record was checked against, and the fields seen there."""

    url: str
    fields: tuple[str, ...]
    location: Location | None = None  # where the `url` is written


@fast_pickle
@dataclass(frozen=True, slots=True)
class Verification:
    """How a reference's bibliographic record was checked."""

    status: str
    checked_on: str | None
    checked_against: tuple[CheckedPage, ...]
    notes: str | None
    searched: tuple[str, ...] = ()  # every search run for the record, and what it gave
    missing: tuple[str, ...] = ()  # fields that exist but were found on no record searched


@fast_pickle
@dataclass(frozen=True, slots=True)
class Correction:
    """One field the source post got wrong about a reference."""

    field: str
    seed: str
    record: str
    evidence: str | None
    note: str | None
    location: Location | None = None


@fast_pickle
@dataclass(frozen=True, slots=True)
class SeedCitation:
    """How the source post cited a reference."""

    number: int
    cited_as: str
    corrections: tuple[Correction, ...]


#: what an appraisal fact is until someone has read the source for it
UNCHECKED = "unchecked"


@fast_pickle
@dataclass(frozen=True, slots=True)
class RiskOfBias:
    """A risk-of-bias judgement (RoB 2 domains, simplified) and its reason."""

    judgement: str = UNCHECKED
    reason: str | None = None


@fast_pickle
@dataclass(frozen=True, slots=True)
class Appraisal:
    """What GRADE needs about one study, as the source reports it: `unchecked` until someone has
    read the source for it, `not-reported` where the source does not say."""

    basis: str | None = None
    randomised: int | str = UNCHECKED
    analysed: int | str = UNCHECKED
    blinding: str = UNCHECKED
    allocation: str = UNCHECKED
    primary_endpoint_met: str = UNCHECKED
    follow_up: str = UNCHECKED
    funding: str = UNCHECKED
    conflicts: str = UNCHECKED
    participants: str = UNCHECKED
    registration: str = UNCHECKED
    risk_of_bias: RiskOfBias = RiskOfBias()


@fast_pickle
@dataclass(frozen=True, slots=True)
class Citation:
    """A citation record: what a source is and shows (content/citations/<key>.yaml)."""

    key: str
    design: str
    peer_reviewed: bool
    population: str | None
    subjects: str | None
    sample_size: int | None
    findings: tuple[Finding, ...]
    retraction: str | None
    verification: Verification
    seed: SeedCitation | None
    also_cited_as: tuple[int, ...]
    former_keys: tuple[str, ...]
    source: str
    location: Location
    appraisal: Appraisal = Appraisal()
    changes: tuple[ChangeNote, ...] = ()  # what changed for a reader, newest first (the page's history)


@fast_pickle
@dataclass(frozen=True, slots=True)
class Reference:
    """A bibliographic entry of references.bib, with its fields decoded to plain text, and its
    author and editor lists as written (BibTeX with LaTeX). `authors` and `editors` split those
    into people (a braced corporate author stays one literal name) when first asked for: pages
    need them, a check does not (a name cannot be wrong in a way the check reports)."""

    key: str
    entry_type: str
    fields: tuple[tuple[str, str], ...]
    author_list: str | None
    editor_list: str | None
    location: Location
    field_lines: tuple[tuple[str, int], ...] = ()  # (field, 1-based line where it is written)

    def field_location(self, name: str) -> Location:
        """Where field `name` is written (the entry's line when it is absent or unknown)."""
        line = next((n for key, n in self.field_lines if key == name), self.location.line)
        return Location(self.location.file, line, 1, f"$.{self.key}.{name}")

    @property
    def authors(self) -> tuple[Person, ...]:
        """The authors, split into people."""
        return _people(self.author_list)

    @property
    def editors(self) -> tuple[Person, ...]:
        """The editors, split into people."""
        return _people(self.editor_list)

    def get(self, name: str) -> str | None:
        """The decoded value of field `name`, or None."""
        for key, value in self.fields:
            if key == name:
                return value
        return None


@lru_cache(maxsize=65536)
def _people(names: str | None) -> tuple[Person, ...]:
    return split_authors(names) if names is not None else ()


# --- building records from validated documents ---------------------------------------------

class _Reader:
    """Reads validated data of one document into records, with locations."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc

    def loc(self, path: tuple[PathPart, ...]) -> Location:
        return self.doc.location(path)

    def link(self, kind: str, target: str, path: tuple[PathPart, ...]) -> Link:
        return Link(kind, target, self.loc(path))

    def links(self, kind: str, data: dict[str, Any], name: str, path: tuple[PathPart, ...]) -> tuple[Link, ...]:
        return tuple(self.link(kind, t, path + (name, i)) for i, t in enumerate(data.get(name, [])))

    def cite(self, data: dict[str, Any], path: tuple[PathPart, ...]) -> Cite:
        return Cite(self.link("reference", data["ref"], path + ("ref",)), data["support"], data.get("locator"),
                    data.get("quote"), data.get("note"), self.loc(path), data.get("curator_note"))

    def cites(self, data: dict[str, Any], path: tuple[PathPart, ...]) -> tuple[Cite, ...]:
        return tuple(self.cite(c, path + ("citations", i)) for i, c in enumerate(data.get("citations", [])))

    def changes(self, data: dict[str, Any]) -> tuple[ChangeNote, ...]:
        return tuple(ChangeNote(x["date"], x["summary"], self.loc(("changes", i, "date")),
                                self.loc(("changes", i, "summary")))
                     for i, x in enumerate(data.get("changes", [])))

    def label_summary(self, data: dict[str, Any], path: tuple[PathPart, ...]) -> LabelSummary:
        def section(name: str) -> LabelSection | None:
            x = data.get(name)
            return LabelSection(x["status"], self.cites(x, path + (name,)), x.get("note")) if x else None

        label = self.link("reference", data["label"], path + ("label",)) if "label" in data else None
        return LabelSummary(data["medicine"], label, data.get("note"), section("boxed_warning"),
                            section("contraindications"), section("interactions"), self.loc(path))

    def claims(self, data: dict[str, Any]) -> tuple[Claim, ...]:
        out = []
        for i, c in enumerate(data.get("claims", [])):
            path: tuple[PathPart, ...] = ("claims", i)
            seed = c.get("seed")
            out.append(Claim(
                c["id"], c["statement"], c["outcome"], c["direction"], c.get("size"), c["population"],
                c.get("population_note"), c.get("subjects"), c.get("dose"), c.get("route"), c.get("duration"), self.cites(c, path),
                SeedAttribution(seed["text"], tuple(seed.get("refs", [])), seed.get("section")) if seed else None,
                c.get("note"), tuple(c.get("indirect", [])), tuple(c.get("upgrade", [])), self.loc(path),
                tuple(Derived(x["value"], x["how"]) for x in c.get("derived", [])),
                c.get("heading"), c.get("curator_note")))
        return tuple(out)


def build_intervention(doc: Document) -> Intervention:
    """Build an `Intervention` from a document that passed the intervention schema."""
    r, d = _Reader(doc), doc.data
    rating = d.get("seed_rating")
    return Intervention(
        id=d["id"], name=d["name"], aliases=tuple(d.get("aliases", [])), category=d["category"],
        summary=d["summary"], direction=d["direction"], relation=d["relation"],
        main_outcome=MainOutcome(d["main_outcome"]["outcome"], d["main_outcome"]["population"],
                                 r.loc(("main_outcome", "outcome"))),
        prescription_status=d["prescription_status"],
        populations=tuple(d["populations"]), mechanisms=r.links("mechanism", d, "mechanisms", ()),
        regulatory=tuple(
            Regulatory(x["agency"], x["status"], x.get("year"), x.get("date"), x.get("indication"),
                       x.get("brand"), r.cites(x, ("regulatory", i)), x.get("outcome"), x.get("population"),
                       r.loc(("regulatory", i, "outcome")) if "outcome" in x else r.loc(("regulatory", i)))
            for i, x in enumerate(d.get("regulatory", []))),
        claims=r.claims(d),
        dosing=tuple(
            Dosing(x["population"], x.get("population_note"), x["amount"], x.get("route"), x.get("timing"),
                   x.get("frequency"), x.get("duration"), x["supervision"], x.get("context"),
                   r.cite(x["reported_by"], ("dosing", i, "reported_by")),
                   tuple(r.cite(c, ("dosing", i, "supported_by", j)) for j, c in enumerate(x.get("supported_by", []))))
            for i, x in enumerate(d.get("dosing", []))),
        cautions=tuple(Caution(x["kind"], x["text"], r.cites(x, ("cautions", i)))
                       for i, x in enumerate(d.get("cautions", []))),
        interactions=tuple(
            Interaction(r.link("intervention", x["intervention"], ("interactions", i, "intervention")),
                        x["kind"], x["note"], r.cites(x, ("interactions", i)))
            for i, x in enumerate(d.get("interactions", []))),
        alternatives=tuple(Alternative(x["name"], x["note"], r.cites(x, ("alternatives", i)))
                           for i, x in enumerate(d.get("alternatives", []))),
        anecdotes=tuple(Anecdote(x["id"], x["summary"], x.get("population"),
                                 r.cite(x["citation"], ("anecdotes", i, "citation")), r.loc(("anecdotes", i)))
                        for i, x in enumerate(d.get("anecdotes", []))),
        seed_rating=SeedRating(rating["rating"], rating.get("mechanism"), rating.get("refs")) if rating else None,
        related=r.links("intervention", d, "related", ()),
        evidence_grade=d.get("evidence_grade"), former_ids=tuple(d.get("former_ids", [])), source=doc.path,
        location=r.loc(()),
        label_summary=tuple(r.label_summary(x, ("label_summary", i)) for i, x in enumerate(d.get("label_summary", []))),
        bottom_line=tuple(
            BottomLineSentence(x["text"], r.links("claim", x, "claims", ("bottom_line", i)), r.loc(("bottom_line", i)))
            for i, x in enumerate(d.get("bottom_line", []))),
        suggested_for=tuple(d.get("suggested_for", [])), changes=r.changes(d),
    )


def build_mechanism(doc: Document) -> Mechanism:
    """Build a `Mechanism` from a document that passed the mechanism schema."""
    r, d = _Reader(doc), doc.data
    step = d.get("step")
    return Mechanism(
        id=d["id"], name=d["name"], kind=d["kind"], summary=d["summary"],
        step=Step(step["substrate"], step["product"], step.get("enzyme"), step.get("rate_limiting", False))
        if step else None,
        upstream=r.links("mechanism", d, "upstream", ()), related=r.links("mechanism", d, "related", ()),
        claims=r.claims(d), former_ids=tuple(d.get("former_ids", [])), source=doc.path, location=r.loc(()),
        changes=r.changes(d),
    )


def build_citation(doc: Document) -> Citation:
    """Build a `Citation` record from a document that passed the citation schema."""
    d = doc.data
    v, seed = d["verification"], d.get("seed")
    return Citation(
        key=d["key"], design=d["design"], peer_reviewed=d["peer_reviewed"], population=d.get("population"),
        subjects=d.get("subjects"), sample_size=d.get("sample_size"),
        findings=tuple(Finding(f["text"], f.get("quote"), f.get("locator"), doc.location(("findings", i)))
                       for i, f in enumerate(d.get("findings", []))),
        retraction=d.get("retraction"),
        verification=Verification(
            v["status"], v.get("checked_on"),
            tuple(CheckedPage(p["url"], tuple(p["fields"]), doc.location(("verification", "checked_against", i, "url")))
                  for i, p in enumerate(v.get("checked_against", []))),
            v.get("notes"), tuple(v.get("searched", [])), tuple(v.get("missing", []))),
        seed=SeedCitation(
            seed["number"], seed["cited_as"],
            tuple(Correction(c["field"], c["seed"], c["record"], c.get("evidence"), c.get("note"),
                             doc.location(("seed", "corrections", i)))
                  for i, c in enumerate(seed.get("corrections", [])))) if seed else None,
        also_cited_as=tuple(d.get("also_cited_as", [])), former_keys=tuple(d.get("former_keys", [])),
        source=doc.path, location=doc.location(()), appraisal=build_appraisal(d.get("appraisal")),
        changes=_Reader(doc).changes(d),
    )


def build_appraisal(data: dict[str, Any] | None) -> Appraisal:
    """The appraisal facts of a citation record; every fact not written is `unchecked`."""
    if not data:
        return Appraisal()
    rob = data.get("risk_of_bias") or {}
    facts = {k: v for k, v in data.items() if k != "risk_of_bias"}
    return Appraisal(**facts, risk_of_bias=RiskOfBias(rob.get("judgement", UNCHECKED), rob.get("reason")))


@dataclass(frozen=True, slots=True)
class Entry:
    """A record of a kind that needs no class of its own (`allokb.kinds.GENERIC`): its id, name
    and summary, and the rest of its validated data as written, for its template."""

    id: str
    name: str
    summary: str | None
    data: dict[str, Any]
    former_ids: tuple[str, ...]
    source: str
    location: Location


def build_record(doc: Document) -> Entry:
    """Build an `Entry` from a document that passed its kind's schema (`id` and `name` required)."""
    d = doc.data
    return Entry(d["id"], d["name"], d.get("summary"), dict(d), tuple(d.get("former_ids", [])), doc.path,
                 doc.location(()))


#: what a content file becomes
Record = Intervention | Mechanism | Citation | Entry


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
