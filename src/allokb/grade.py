"""Grade stage: the evidence matrix, graded per intervention x outcome x population.

A row of the matrix is one outcome in one population. Its body of evidence is every source cited
with a checked quote (`supported` or `partial`) by any claim of the intervention on that outcome
in that population, plus a regulator's approval for exactly that indication. The level is
computed from that body by the published rubric (content/rubric.yaml, read by allokb.rubric):
the best design present sets the start; the rules below rate it down on GRADE's domains, rate
it up only as GRADE allows, then cap it. Each rule is one small function named after its rubric
entry; each records a step of the row's trail, and what would raise the level. The diagnostics
that judge an intervention against its matrix (KB420, KB471, KB472) are `allokb.rules.grades`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from allokb import labels as L
from allokb.graph import KnowledgeBase
from allokb.model import UNCHECKED, Appraisal, Claim, Intervention, Regulatory
from allokb.rubric import RUBRIC_FILE, Level, Rubric, fill, load_rubric

__all__ = ["RUBRIC_FILE", "EvidenceRow", "InterventionMatrix", "Rubric", "anchor", "grade_all", "grade_intervention",
           "load_rubric", "matrix_data"]

#: designs of human primary studies: their participants count for imprecision
HUMAN_STUDIES = frozenset({"meta-analysis", "rct", "controlled-trial", "uncontrolled-trial", "cohort", "case-control",
                           "cross-sectional", "case-series", "case-report", "pharmacovigilance"})
NOT_HUMAN = frozenset({"animal", "in-vitro"})
#: designs that are studies (with a risk of bias of their own), as against reviews, web pages, anecdotes
PRIMARY = HUMAN_STUDIES | NOT_HUMAN
#: designs never peer-reviewed by nature, which start low for that reason already
UNREVIEWED_BY_NATURE = frozenset({"regulatory", "web", "anecdote"})
TRIALS = frozenset({"rct"})
SUPPORT_RANK = {"supported": 2, "partial": 1}


@dataclass(frozen=True)
class Study:
    """One entry of a row's body of evidence: a source (or a regulator's approval, whose sources
    are the citations of its decision)."""

    key: str  # bib key, or `approval-<n>` for an approval
    design: str
    human: bool
    participants: int | None
    support: str  # the best verdict of the row's citations of it
    claims: tuple[str, ...]
    peer_reviewed: bool
    appraisal: Appraisal
    sources: tuple[str, ...]  # bib keys behind it (itself, or an approval's citations)
    approval: str | None = None  # "FDA 2019: indication" for an approval

    @property
    def independent_id(self) -> str:
        """Records of one trial (same registration) are one study."""
        reg = self.appraisal.registration
        return f"registration:{reg}" if reg not in (UNCHECKED, "not-reported") else self.key


@dataclass(frozen=True, slots=True)
class TrailStep:
    """One step of a row's trail: the rule, its effect, the level after it, and what it is about."""

    rule: str
    change: int
    level: str
    text: str
    domain: str = ""
    claims: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class EvidenceRow:
    """One row of the matrix: an outcome in a population, its level and how it was reached."""

    outcome: str
    population: str
    level: Level | None
    studies: tuple[Study, ...]
    participants: int | None
    participants_unknown: int  # human studies whose number of participants is not recorded
    direction: str
    sizes: tuple[tuple[str, str], ...]  # (claim id, size as reported)
    consistency: str
    claims: tuple[str, ...]
    trail: tuple[TrailStep, ...]
    raise_it: tuple[str, ...]

    @property
    def anchor(self) -> str:
        return anchor(self.outcome, self.population)


@dataclass(frozen=True)
class InterventionMatrix:
    """An intervention's matrix, the row of its main outcome and the comparison with the post."""

    intervention: str
    relation: str
    rows: tuple[EvidenceRow, ...]
    main: EvidenceRow
    seed_level: Level | None
    seed_differs: bool
    notes: tuple[str, ...] = field(default_factory=tuple)


def anchor(outcome: str, population: str) -> str:
    """The stable anchor of a row on its intervention's page."""
    return f"evidence-{outcome}-{population}"


def _lower(label: str) -> str:
    """A label inside a sentence: `Men on TRT` -> `men on TRT`, `ALLO level` stays."""
    return label if len(label) > 1 and label[1].isupper() else label[:1].lower() + label[1:]


# --- the body of evidence -------------------------------------------------------------------

def _is_human(design: str, subjects: str | None, claim_subjects: str | None) -> bool:
    if design in NOT_HUMAN or subjects in ("animals", "cells"):
        return False
    return not (claim_subjects in ("animals", "cells") and subjects in (None, "mixed", "not-applicable"))


def _participants(appraisal: Appraisal, sample_size: int | None) -> int | None:
    for value in (appraisal.analysed, appraisal.randomised):
        if isinstance(value, int):
            return value
    return sample_size


def collect(kb: KnowledgeBase, claims: list[Claim], approvals: list[tuple[int, Regulatory]]) -> list[Study]:
    """The row's body of evidence: every source with a checked citation, once, and each approval."""
    found: dict[str, dict[str, Any]] = {}
    for claim in claims:
        for cite in claim.citations:
            citation = kb.citations.get(cite.ref.target)
            if cite.support not in SUPPORT_RANK or citation is None:
                continue
            entry = found.setdefault(citation.key, {"citation": citation, "support": cite.support, "claims": [],
                                                    "human": False})
            if SUPPORT_RANK[cite.support] > SUPPORT_RANK[entry["support"]]:
                entry["support"] = cite.support
            if claim.id not in entry["claims"]:
                entry["claims"].append(claim.id)
            entry["human"] |= _is_human(citation.design, citation.subjects, claim.subjects)
    studies = [Study(key, e["citation"].design, e["human"],
                     _participants(e["citation"].appraisal, e["citation"].sample_size), e["support"],
                     tuple(e["claims"]), e["citation"].peer_reviewed, e["citation"].appraisal, (key,))
               for key, e in sorted(found.items())]
    for number, reg in approvals:
        checked = [c for c in reg.citations if c.support in SUPPORT_RANK and c.ref.target in kb.citations]
        if checked:
            best = max(checked, key=lambda c: SUPPORT_RANK[c.support]).support
            what = f"{reg.agency}{f' {reg.year}' if reg.year else ''}: approved for {reg.indication or 'this indication'}"
            studies.append(Study(f"approval-{number}", "regulatory", True, None, best, (), True, Appraisal(),
                                 tuple(sorted({c.ref.target for c in checked})), what))
    return studies


# --- the rules ------------------------------------------------------------------------------

@dataclass
class _Grading:
    """A row being graded: the rubric, the body, the level so far and the trail."""

    rubric: Rubric
    item: Intervention
    outcome: str
    population: str
    studies: list[Study]
    claims: list[Claim]
    rank: int = 0
    trail: list[TrailStep] = field(default_factory=list)
    wishes: list[str] = field(default_factory=list)
    _core: tuple[Study, ...] | None = None
    _labels: dict[str, str] | None = None

    def values(self, **more: Any) -> dict[str, Any]:
        if self._labels is None:  # the row's labels, found once (the rules ask for them again and again)
            self._labels = {"population": _lower(self.rubric.population_label(self.population)),
                            "outcome": _lower(self.rubric.outcome_label(self.outcome))}
        return {**self._labels, **more}

    def down(self, rule_id: str, sources: list[Study] | None = None, claims: tuple[str, ...] = (), **more: Any) -> None:
        rule = self.rubric.rate_down.get(rule_id)
        if rule is None:
            return
        keys = tuple(s.key for s in sources or [])
        values = self.values(threshold=rule.threshold, studies=", ".join(keys), **more)
        new = max(1, self.rank - rule.steps)
        self.trail.append(TrailStep(rule_id, new - self.rank, self.rubric.by_rank(new).id, fill(rule.why, values),
                                    rule.domain, claims, keys))
        self.rank = new
        if rule.raise_it:
            self.wishes.append(fill(rule.raise_it, values))

    @property
    def approval(self) -> list[Study]:
        return [s for s in self.studies if s.approval]

    @property
    def core(self) -> list[Study]:
        """The studies the starting level rests on: those of the best design present (between
        designs that start at one level, the one listed first in the rubric's `start`). Found
        once per row (the body of evidence does not change while it is graded; the rules ask
        for it a dozen times); each call returns a new list."""
        if self._core is None:
            order = list(self.rubric.start)
            best = min(self.studies, key=lambda s: (-self._start_rank(s), order.index(s.design))).design
            self._core = tuple(s for s in self.studies if s.design == best)
        return list(self._core)

    def _start_rank(self, study: Study) -> int:
        return self.rubric.level(self.rubric.start[study.design][0]).rank

    def independent_human(self) -> list[Study]:
        """The human primary studies, one per trial."""
        seen: dict[str, Study] = {}
        for s in self.studies:
            if s.design in HUMAN_STUDIES and s.human:
                prev = seen.get(s.independent_id)
                if prev is None or (s.participants or 0) > (prev.participants or 0):
                    seen[s.independent_id] = s
        return list(seen.values())

    def counted_claims(self) -> list[Claim]:
        keys = {c for s in self.studies for c in s.claims}
        return [c for c in self.claims if c.id in keys]


def rule_start(g: _Grading) -> None:
    """Start from the best design present."""
    core = g.core
    design = core[0].design
    level_id, why = g.rubric.start[design]
    g.rank = g.rubric.level(level_id).rank
    names = ", ".join(s.approval or s.key for s in core)
    g.trail.append(TrailStep("start", 0, level_id, f"Best design present: {L.label(L.DESIGN, design)} ({names}). {why}",
                             sources=tuple(k for s in core for k in s.sources)))
    if design not in ("rct", "meta-analysis", "regulatory"):
        g.wishes.append(fill(g.rubric.texts["better-design"], g.values()))
    if g.approval:
        g.trail.append(TrailStep("approval", 0, level_id, g.rubric.texts["approval"],
                                 sources=tuple(k for s in g.approval for k in s.sources)))


def rule_risk_of_bias(g: _Grading) -> None:
    """Risk of bias: the worst judgement among the primary studies the level rests on
    (`unchecked` counts as a concern: grades here must not overstate)."""
    if g.approval:
        return
    core = [s for s in g.core if s.design in PRIMARY]
    judged = {j: [s for s in core if s.appraisal.risk_of_bias.judgement == j]
              for j in ("high", UNCHECKED, "some-concerns")}
    for judgement, rule in (("high", "risk-of-bias-high"), (UNCHECKED, "risk-of-bias-unchecked"),
                            ("some-concerns", "risk-of-bias-some-concerns")):
        if judged[judgement]:
            g.down(rule, judged[judgement])
            return


def rule_inconsistency(g: _Grading) -> None:
    """Inconsistency: claims point different ways, or one reports mixed results (doses or
    measures pointing different ways), or a trial missed its primary endpoint where the claims
    report an effect."""
    claims = g.counted_claims()
    directions = {c.direction for c in claims} - {"not-applicable"}
    opposed = len(directions - {"mixed"}) > 1
    missed = [s for s in g.studies if s.appraisal.primary_endpoint_met == "no"] \
        if directions & {"increases", "decreases"} else []
    if opposed or "mixed" in directions or missed:
        text = "; ".join([*_counted(c.direction for c in claims if c.direction != "not-applicable"),
                          *(f"{s.key}: primary endpoint not met" for s in missed)])
        g.down("inconsistency", missed, claims=tuple(c.id for c in claims), directions=text)


def _tally(values: Iterable[str]) -> dict[str, int]:
    """How often each value occurs, in the order first seen."""
    out: dict[str, int] = {}
    for value in values:
        out[value] = out.get(value, 0) + 1
    return out


def _counted(directions: Iterable[str]) -> list[str]:
    """`2 claims: increases`, `1 claim: no change`: claims counted by direction, in a reader's
    words (the trail is read on the page; claim ids stay in the step's `claims`)."""
    return [f"{n} claim{'s' if n != 1 else ''}: {L.label(L.EFFECT, d)}" for d, n in _tally(directions).items()]


def rule_not_in_humans(g: _Grading) -> None:
    """Indirectness: the evidence the level rests on is in animals or cells."""
    if not any(s.human for s in g.core):
        g.down("not-in-humans", g.core)


def rule_relation(g: _Grading) -> None:
    """Indirectness: an analogue, or administered allopregnanolone, for the body's own ALLO level."""
    relation = g.rubric.relations.get(g.item.relation)
    if g.outcome == "allo-level" and relation is not None and relation.allo_level:
        g.down(relation.allo_level)


def rule_indirect(g: _Grading) -> None:
    """Indirectness flagged on a claim (another population, dose, route or outcome): once."""
    flagged = [c for c in g.counted_claims() if c.indirect]
    if flagged:
        flags = "; ".join(f"{n} claim{'s' if n != 1 else ''} on another {flag}"
                          for flag, n in _tally(f for c in flagged for f in c.indirect).items())
        g.down("indirect", claims=tuple(c.id for c in flagged), flags=flags)


def rule_partial_support(g: _Grading) -> None:
    """The sources the level rests on state the claim only partly."""
    if not any(s.support == "supported" for s in g.core):
        g.down("partial-support", g.core)


def rule_imprecision(g: _Grading) -> None:
    """Imprecision: total participants under the optimal information size, and a body that
    rests on a single small study (GRADE's very serious imprecision: both apply)."""
    if g.approval:
        return
    human = g.independent_human()
    if not human:
        return
    total = sum(s.participants or 0 for s in human)
    rule = g.rubric.rate_down.get("imprecision")
    if rule and rule.threshold and total < rule.threshold:
        unknown = sum(1 for s in human if s.participants is None)
        shown = "not recorded" if unknown == len(human) else f"{total}" + (
            f" (not recorded for {unknown} of {len(human)} studies)" if unknown else "")
        g.down("imprecision", human, participants=shown)
    small = g.rubric.rate_down.get("small-study")
    if small and small.threshold and len(human) == 1 and (human[0].participants or 0) < small.threshold:
        g.down("small-study", human)


def rule_publication_bias(g: _Grading) -> None:
    """Publication bias: a single industry-funded trial; and results not peer-reviewed."""
    if g.approval:
        return
    trials = [s for s in g.independent_human() if s.design in TRIALS | {"controlled-trial", "uncontrolled-trial"}]
    if len(trials) == 1 and trials[0].appraisal.funding == "industry":
        g.down("publication-bias", trials)
    core = g.core
    if not any(s.peer_reviewed for s in core) and not any(s.design in UNREVIEWED_BY_NATURE for s in core):
        g.down("not-peer-reviewed", core)


def rule_rate_up(g: _Grading) -> None:
    """Rate up (large effect, dose-response) only for human observational evidence that was not
    rated down at all, as GRADE allows."""
    lowered = any(s.change < 0 for s in g.trail)
    designs = {s.design for s in g.core}
    for rule in g.rubric.rate_up.values():
        flagged = [c for c in g.counted_claims() if rule.id in c.upgrade]
        if not flagged or not rule.steps:
            continue
        ids = tuple(c.id for c in flagged)
        allowed = designs <= set(rule.designs) and any(s.human for s in g.core) and not lowered
        if allowed:
            new = min(g.rubric.top, g.rank + rule.steps)
            g.trail.append(TrailStep(rule.id, new - g.rank, g.rubric.by_rank(new).id, rule.why, "rate-up", ids))
            g.rank = new
        else:
            g.trail.append(TrailStep(rule.id, 0, g.rubric.by_rank(g.rank).id,
                                     f"{rule.why} Not applied: GRADE rates up only observational human evidence "
                                     "that nothing rated down.", "rate-up", ids))


def _cap(g: _Grading, rule_id: str) -> None:
    rule = g.rubric.caps.get(rule_id)
    if rule is None or rule.level is None:
        return
    ceiling = g.rubric.level(rule.level).rank
    if g.rank > ceiling:
        values = g.values(threshold=rule.threshold)
        g.trail.append(TrailStep(rule_id, ceiling - g.rank, rule.level, fill(rule.why, values), "cap"))
        g.rank = ceiling
        g.wishes.append(fill(rule.raise_it, values))


def rule_caps(g: _Grading) -> None:
    """One study caps the level; the top level needs two independent adequately sized
    consistent trials, a meta-analysis, or an approval for this indication."""
    if g.approval or any(s.design == "meta-analysis" and s.human for s in g.studies):
        return
    primary = {s.independent_id for s in g.studies if s.design in PRIMARY}
    if len(primary) <= 1:
        _cap(g, "single-study")
    if g.rank >= g.rubric.top:
        rule = g.rubric.caps.get("high-needs")
        size = rule.threshold or 0 if rule else 0
        adequate = [s for s in g.independent_human() if s.design in TRIALS and (s.participants or 0) >= size]
        consistent = not any(s.rule == "inconsistency" for s in g.trail)
        if len(adequate) < 2 or not consistent:
            _cap(g, "high-needs")


RULES = (rule_start, rule_risk_of_bias, rule_inconsistency, rule_not_in_humans, rule_relation, rule_indirect,
         rule_partial_support, rule_imprecision, rule_publication_bias, rule_rate_up, rule_caps)


# --- rows and matrices ----------------------------------------------------------------------

def grade_row(rubric: Rubric, kb: KnowledgeBase, item: Intervention, outcome: str, population: str,
              claims: list[Claim], approvals: list[tuple[int, Regulatory]]) -> EvidenceRow:
    """One row: its body of evidence, graded rule by rule."""
    g = _Grading(rubric, item, outcome, population, collect(kb, claims, approvals), claims)
    if not g.studies:
        values = g.values()
        trail = (TrailStep("no-evidence", 0, "none", fill(rubric.texts["no-evidence"], values),
                           claims=tuple(c.id for c in claims)),)
        return EvidenceRow(outcome, population, None, (), None, 0, _direction(claims), _sizes(claims),
                           "not graded (no checked source)", tuple(c.id for c in claims), trail,
                           (fill(rubric.texts["no-evidence-raise"], values),))
    for rule in RULES:
        rule(g)
    counted = g.counted_claims()
    human = g.independent_human()
    participants = sum(s.participants for s in human if s.participants is not None) if human else None
    unknown = sum(1 for s in human if s.participants is None)
    if human and unknown == len(human):
        participants = None
    independent = {s.independent_id for s in g.studies}
    if any(s.rule == "inconsistency" for s in g.trail):
        consistency = "inconsistent"
    elif len(independent) == 1:
        consistency = "single source"
    else:
        consistency = "consistent"
    return EvidenceRow(outcome, population, rubric.by_rank(g.rank), tuple(g.studies), participants, unknown,
                       _direction(counted), _sizes(counted), consistency, tuple(c.id for c in claims),
                       tuple(g.trail), tuple(dict.fromkeys(g.wishes)))


def _direction(claims: list[Claim]) -> str:
    directions = {c.direction for c in claims} - {"not-applicable"}
    if not directions:
        return "not-applicable"
    return directions.pop() if len(directions) == 1 else "mixed"


def _sizes(claims: list[Claim]) -> tuple[tuple[str, str], ...]:
    return tuple((c.id, c.size) for c in claims if c.size)


def grade_intervention(rubric: Rubric, kb: KnowledgeBase, item: Intervention) -> InterventionMatrix:
    """Every row of an intervention's matrix (its claims on graded outcomes, grouped by outcome
    and population, and its approvals), the main outcome's row and the post's rating beside it."""
    graded = set(rubric.matrix_outcomes())
    groups: dict[tuple[str, str], tuple[list[Claim], list[tuple[int, Regulatory]]]] = {}
    for claim in item.claims:
        if claim.outcome in graded:
            groups.setdefault((claim.outcome, claim.population), ([], []))[0].append(claim)
    for i, reg in enumerate(item.regulatory):
        if reg.status == "approved" and reg.outcome in graded and reg.population:
            groups.setdefault((reg.outcome, reg.population), ([], []))[1].append((i + 1, reg))
    order = {o: i for i, o in enumerate(rubric.outcomes)}
    pop_order = {p: i for i, p in enumerate(rubric.populations)}
    rows = tuple(grade_row(rubric, kb, item, o, p, claims, approvals)
                 for (o, p), (claims, approvals) in sorted(groups.items(),
                                                           key=lambda kv: (order.get(kv[0][0], 99),
                                                                           pop_order.get(kv[0][1], 99))))
    main_key = (item.main_outcome.outcome, item.main_outcome.population)
    main = next((r for r in rows if (r.outcome, r.population) == main_key), None)
    if main is None:  # the main outcome has a row even when nothing is recorded on it
        main = grade_row(rubric, kb, item, *main_key, [], [])
        rows = tuple(sorted((*rows, main), key=lambda r: (order.get(r.outcome, 99), pop_order.get(r.population, 99))))
    seed_level = None
    if item.seed_rating and item.seed_rating.rating in rubric.seed_ratings:
        seed_level = rubric.level(rubric.seed_ratings[item.seed_rating.rating])
    computed = main.level.rank if main.level else 0
    differs = seed_level is not None and abs(seed_level.rank - computed) > 1
    notes = []
    if differs and item.seed_rating:
        words = main.level.label if main.level else "no checked evidence"
        notes.append(f"The source post rated this “{item.seed_rating.rating}”; for its main use "
                     f"({row_title(rubric, main)}) the rubric computes “{words}” from the checked sources. "
                     "The post's rating is not supported by the evidence recorded here.")
    return InterventionMatrix(item.id, item.relation, rows, main, seed_level, differs, tuple(notes))


def row_title(rubric: Rubric, row: EvidenceRow) -> str:
    """`Depressive symptoms, postpartum women`: how a row is named."""
    return f"{rubric.outcome_label(row.outcome)}, {_lower(rubric.population_label(row.population))}"


#: intervention id -> its matrix and what it was graded from (`graded_from`), kept by a process
#: that checks the same project again and again (`allokb serve`: allokb.project.LoadCache)
GradeMemo = dict[str, tuple[tuple[Any, ...], InterventionMatrix]]


def graded_from(kb: KnowledgeBase, item: Intervention) -> tuple[Any, ...]:
    """All that `grade_intervention` reads besides the rubric: the intervention, and the citation
    record (or None) of each source its claims and approvals cite, in order."""
    cited = [cite.ref.target for claim in item.claims for cite in claim.citations]
    cited += [cite.ref.target for reg in item.regulatory for cite in reg.citations]
    return (item, *(kb.citations.get(key) for key in cited))


def grade_all(rubric: Rubric | None, kb: KnowledgeBase, memo: GradeMemo | None = None) -> dict[str, InterventionMatrix]:
    """Every intervention's matrix (empty without a rubric). `memo`: the matrices of an earlier
    call, updated by this one: an intervention is graded again only when the rubric, the record
    or one of the citation records it reads is not the one it was graded from (records are
    frozen; the same object is the same record)."""
    if rubric is None:
        return {}
    if memo is None:
        return {ident: grade_intervention(rubric, kb, item) for ident, item in kb.interventions.items()}
    same_rubric = bool(memo) and next(iter(memo.values()))[0][0] == rubric
    out = {}
    kept: GradeMemo = {}
    for ident, item in kb.interventions.items():
        inputs = (rubric, *graded_from(kb, item))
        hit = memo.get(ident)
        if same_rubric and hit is not None and len(hit[0]) == len(inputs) and all(
                a is b for a, b in zip(hit[0][1:], inputs[1:], strict=True)):
            matrix = hit[1]
        else:
            matrix = grade_intervention(rubric, kb, item)
        out[ident] = matrix
        kept[ident] = (inputs, matrix)
    memo.clear()
    memo.update(kept)
    return out


# --- as data --------------------------------------------------------------------------------

def row_data(rubric: Rubric, row: EvidenceRow, page_url: str = "") -> dict[str, Any]:
    """A row as plain data (kb.json, CSV, templates): the Contract's keys and the rest."""
    return {
        "outcome": row.outcome, "outcome_label": rubric.outcome_label(row.outcome),
        "population": row.population, "population_label": rubric.population_label(row.population),
        "title": row_title(rubric, row), "anchor": row.anchor, "url": f"{page_url}#{row.anchor}",
        "level": row.level.id if row.level else "none",
        "level_label": row.level.label if row.level else "No checked evidence",
        "rank": row.level.rank if row.level else 0,
        "studies": len(row.studies), "participants": row.participants,
        "participants_not_recorded": row.participants_unknown,
        "sources": sorted({k for s in row.studies for k in s.sources}),
        "included": [{"id": s.key, "approval": s.approval, "design": s.design, "human": s.human,
                      "participants": s.participants, "support": s.support, "claims": list(s.claims),
                      "sources": list(s.sources), "risk_of_bias": s.appraisal.risk_of_bias.judgement}
                     for s in row.studies],
        "direction": row.direction, "sizes": [{"claim": c, "size": size} for c, size in row.sizes],
        "consistency": row.consistency, "claims": list(row.claims),
        "trail": [{"rule": s.rule, "domain": s.domain, "change": s.change, "level": s.level,
                   "level_label": rubric.level(s.level).label if s.level != "none" else "No checked evidence",
                   "text": s.text, "claims": list(s.claims), "sources": list(s.sources)} for s in row.trail],
        "raise_it": list(row.raise_it),
    }


def matrix_data(rubric: Rubric, matrix: InterventionMatrix, page_url: str = "") -> dict[str, Any]:
    """An intervention's matrix as plain data."""
    return {
        "relation": matrix.relation,
        "relation_label": rubric.relations[matrix.relation].label if matrix.relation in rubric.relations
        else matrix.relation,
        "rows": [row_data(rubric, r, page_url) for r in matrix.rows],
        "main": row_data(rubric, matrix.main, page_url),
        "source_post_rating": matrix.seed_level.label if matrix.seed_level else None,
        "differs_from_source_post": matrix.seed_differs,
        "notes": list(matrix.notes),
    }
