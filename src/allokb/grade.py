"""Grade stage: evidence grades computed from the claims by the published rubric.

The rubric (content/rubric.yaml, schema rubric.schema.json) is data; the rules that apply it
are the small functions below, each named after the rubric entry it implements. Every grade
carries its trail — each step with the claim, the source and the rule — and what would raise it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from allokb import labels as L
from allokb.diagnostics import Diagnostic, Location, make
from allokb.files import read_project_file
from allokb.graph import KnowledgeBase
from allokb.load import MAX_YAML_BYTES, SourceDocument, parse_yaml
from allokb.model import Citation, Claim, Intervention
from allokb.schema import check_document

RUBRIC_FILE = "content/rubric.yaml"
#: designs whose sample size matters for imprecision (human primary studies)
HUMAN_STUDIES = {"rct", "controlled-trial", "uncontrolled-trial", "cohort", "case-control", "cross-sectional",
                 "case-series"}
NOT_HUMAN = {"animal", "in-vitro"}
#: designs that are never peer-reviewed publications and start low for that reason already
UNREVIEWED_BY_NATURE = {"regulatory", "web", "anecdote"}


@dataclass(frozen=True, slots=True)
class Level:
    """A grade level of the rubric."""

    id: str
    label: str
    meaning: str
    rank: int  # 1 = lowest


@dataclass(frozen=True, slots=True)
class Rule:
    """A start, rate-down or rate-up entry of the rubric."""

    id: str
    steps: int
    why: str
    min_sample_size: int | None = None


@dataclass(frozen=True)
class Rubric:
    """The rubric, read from content/rubric.yaml."""

    levels: tuple[Level, ...]
    start: dict[str, tuple[str, str]]  # design -> (level id, why)
    rate_down: dict[str, Rule]
    rate_up: dict[str, Rule]
    outcomes: tuple[tuple[str, str, tuple[str, ...]], ...]  # (id, label, claim outcomes)
    seed_ratings: dict[str, str]  # post's rating -> level id

    def level(self, ident: str) -> Level:
        return next(level for level in self.levels if level.id == ident)

    def by_rank(self, rank: int) -> Level:
        rank = max(1, min(rank, len(self.levels)))
        return next(level for level in self.levels if level.rank == rank)


@dataclass(frozen=True, slots=True)
class TrailStep:
    """One step of a grade's trail: the rule, its effect, the level after it, and what it is about."""

    rule: str
    change: int
    level: str
    text: str
    claim: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class ClaimGrade:
    """The grade of one claim (None when no checked source supports it)."""

    claim: str
    level: Level | None
    trail: tuple[TrailStep, ...]


@dataclass(frozen=True)
class OutcomeGrade:
    """The grade of one outcome group of an intervention."""

    outcome: str
    label: str
    level: Level | None
    trail: tuple[TrailStep, ...]
    claims: tuple[ClaimGrade, ...]
    raise_it: tuple[str, ...]


@dataclass(frozen=True)
class InterventionGrade:
    """An intervention's grades by outcome, its headline grade and the comparison with the post."""

    intervention: str
    overall: Level | None
    overall_outcome: str | None
    outcomes: tuple[OutcomeGrade, ...]
    seed_level: Level | None
    seed_differs: bool
    notes: tuple[str, ...] = field(default_factory=tuple)


# --- loading --------------------------------------------------------------------------------

def load_rubric(root: Path) -> tuple[Rubric | None, list[Diagnostic]]:
    """Read and check content/rubric.yaml; None (with diagnostics) when it is missing or invalid."""
    text, problems = read_project_file(root, RUBRIC_FILE, MAX_YAML_BYTES)
    if text is None:
        return None, problems
    doc, problems = parse_yaml(text, RUBRIC_FILE, "rubric", "rubric")
    if doc is None or problems:
        return None, problems
    problems = check_document(doc)
    if problems:
        return None, problems
    return _build_rubric(doc)


def _build_rubric(doc: SourceDocument) -> tuple[Rubric | None, list[Diagnostic]]:
    from allokb.schema import load_schema

    d = doc.data
    levels = tuple(Level(x["id"], x["label"], x["meaning"], len(d["levels"]) - i) for i, x in enumerate(d["levels"]))
    ids = {level.id for level in levels}
    designs = set(load_schema("citation")["properties"]["design"]["enum"])
    problems = []
    for i, x in enumerate(d["start"]):
        if x["level"] not in ids:
            problems.append(make("KB209", f"unknown level `{x['level']}`", doc.location(("start", i, "level"))))
        if x["design"] not in designs:
            problems.append(make("KB209", f"unknown study design `{x['design']}`", doc.location(("start", i, "design"))))
    for i, x in enumerate(d["seed_ratings"]):
        if x["level"] not in ids:
            problems.append(make("KB209", f"unknown level `{x['level']}`", doc.location(("seed_ratings", i, "level"))))
    missing = designs - {x["design"] for x in d["start"]}
    if missing:
        problems.append(make("KB209", f"no starting level for design(s): {', '.join(sorted(missing))}",
                             doc.location(("start",))))
    if problems:
        return None, problems
    return Rubric(
        levels=levels,
        start={x["design"]: (x["level"], x["why"]) for x in d["start"]},
        rate_down={x["id"]: Rule(x["id"], x["steps"], x["why"], x.get("min_sample_size")) for x in d["rate_down"]},
        rate_up={x["id"]: Rule(x["id"], x["steps"], x["why"]) for x in d["rate_up"]},
        outcomes=tuple((x["id"], x["label"], tuple(x["includes"])) for x in d["outcomes"]),
        seed_ratings={x["rating"]: x["level"] for x in d["seed_ratings"]},
    ), []


# --- rules ----------------------------------------------------------------------------------

def _down(rubric: Rubric, rule: str, rank: int, trail: list[TrailStep], text: str, claim: str, source: str) -> int:
    entry = rubric.rate_down.get(rule)
    if entry is None or entry.steps == 0:
        return rank
    new = max(1, rank - entry.steps)
    trail.append(TrailStep(rule, new - rank, rubric.by_rank(new).id, f"{entry.why} {text}".strip(), claim, source))
    return new


def grade_claim(rubric: Rubric, kb: KnowledgeBase, claim: Claim) -> ClaimGrade:
    """A claim's grade: the best checked source's starting level, then the rubric's adjustments."""
    candidates = []
    for cite in claim.citations:
        citation = kb.citations.get(cite.ref.target)
        if cite.support in ("supported", "partial") and citation is not None:
            level_id, why = rubric.start[citation.design]
            rank = rubric.level(level_id).rank
            candidates.append((rank, cite.support == "supported", citation.sample_size or 0, cite.ref.target,
                               cite, citation, why))
    if not candidates:
        weak = sorted({c.support for c in claim.citations})
        text = f"No checked source supports it (citations: {', '.join(weak) or 'none'}); it is not graded."
        return ClaimGrade(claim.id, None, (TrailStep("no-support", 0, "none", text, claim.id, None),))
    candidates.sort(key=lambda c: (-c[0], not c[1], -c[2], c[3]))
    rank, _, _, key, cite, citation, why = candidates[0]
    trail = [TrailStep("start", 0, rubric.by_rank(rank).id, f"Best source: {key} ({citation.design}). {why}",
                       claim.id, key)]
    rank = _rate_down_claim(rubric, claim, cite.support, citation, rank, trail, key)
    if _is_human(claim, citation):
        for flag in claim.upgrade:
            entry = rubric.rate_up.get(flag)
            if entry and entry.steps:
                new = min(len(rubric.levels), rank + entry.steps)
                trail.append(TrailStep(flag, new - rank, rubric.by_rank(new).id, entry.why, claim.id, key))
                rank = new
    return ClaimGrade(claim.id, rubric.by_rank(rank), tuple(trail))


def _is_human(claim: Claim, citation: Citation) -> bool:
    subjects = claim.subjects or citation.subjects
    return citation.design not in NOT_HUMAN and subjects not in ("animals", "cells")


def _rate_down_claim(rubric: Rubric, claim: Claim, support: str, citation: Citation, rank: int,
                     trail: list[TrailStep], key: str) -> int:
    if not _is_human(claim, citation):
        rank = _down(rubric, "not-in-humans", rank, trail, "", claim.id, key)
    if claim.indirect:
        rank = _down(rubric, "indirect", rank, trail, f"(flagged: {', '.join(claim.indirect)})", claim.id, key)
    rule = rubric.rate_down.get("imprecision")
    if rule and citation.design in HUMAN_STUDIES:
        minimum = rule.min_sample_size or 0
        size = citation.sample_size
        if size is None or size < minimum:
            found = f"(n = {size})" if size is not None else "(size not recorded)"
            rank = _down(rubric, "imprecision", rank, trail, found, claim.id, key)
    if not citation.peer_reviewed and citation.design not in UNREVIEWED_BY_NATURE:
        rank = _down(rubric, "not-peer-reviewed", rank, trail, "", claim.id, key)
    if support == "partial":
        rank = _down(rubric, "partial-support", rank, trail, "", claim.id, key)
    return rank


def approval_claims(item: Intervention) -> list[Claim]:
    """A regulator's approval, read as a claim on the `regulatory` outcome (an approval for an
    indication rests on trials of it), graded from the approval's own citations."""
    return [Claim(f"approval-{i + 1}", f"Approved by {r.agency}" + (f" for {r.indication}" if r.indication else ""),
                  "regulatory", "not-applicable", None, r.indication, "humans", None, None, None, r.citations, None,
                  None, (), (), item.location)
            for i, r in enumerate(item.regulatory) if r.status == "approved"]


def grade_outcome(rubric: Rubric, kb: KnowledgeBase, item: Intervention, group: tuple[str, str, tuple[str, ...]]) -> \
        OutcomeGrade:
    """The grade of one outcome group: its best claim, rated down once for inconsistency."""
    ident, label, includes = group
    claims = [c for c in [*item.claims, *approval_claims(item)] if c.outcome in includes]
    graded = [(c, grade_claim(rubric, kb, c)) for c in claims]
    usable = [(c, g) for c, g in graded if g.level is not None]
    if not usable:
        trail = (TrailStep("no-evidence", 0, "none", "No claim on this outcome has a checked supporting source."),)
        return OutcomeGrade(ident, label, None, trail, tuple(g for _, g in graded),
                            (_wish(item, label, "start", rubric),))
    best_claim, best = max(usable, key=lambda cg: (cg[1].level.rank if cg[1].level else 0, cg[0].id))
    assert best.level is not None
    rank = best.level.rank
    trail = list(best.trail)
    directions = {c.direction for c, _ in usable} - {"not-applicable", "mixed"}
    if "increases" in directions and directions & {"decreases", "no-change"}:
        rank = _down(rubric, "inconsistency", rank, trail,
                     f"({', '.join(sorted(f'{c.id}: {c.direction}' for c, _ in usable))})", best_claim.id, None)
    applied = {step.rule for step in trail}
    wishes = [_wish(item, label, rule, rubric) for rule in
              ("start", "not-in-humans", "indirect", "imprecision", "not-peer-reviewed", "partial-support",
               "inconsistency")
              if rule in applied and (rule != "start" or rank < len(rubric.levels))]
    return OutcomeGrade(ident, label, rubric.by_rank(rank), tuple(trail), tuple(g for _, g in graded), tuple(wishes))


def _wish(item: Intervention, label: str, rule: str, rubric: Rubric) -> str:
    """What evidence would raise the grade, for a rule that lowered (or capped) it."""
    who = " or ".join(L.label(L.POPULATION, p).lower().replace(" trt", " TRT") for p in item.populations[:2])
    measure = "serum or brain ALLO" if label.lower().startswith("raises") else label.lower().removeprefix("improves ")
    minimum = rubric.rate_down["imprecision"].min_sample_size if "imprecision" in rubric.rate_down else None
    return {
        "start": f"A randomised controlled trial in {who} measuring {measure}.",
        "not-in-humans": f"A study in people ({who}) rather than animals or cells.",
        "indirect": "Evidence in the population, at the dose and by the route the statement is about.",
        "imprecision": f"A study with at least {minimum} participants." if minimum else "A larger study.",
        "not-peer-reviewed": "Published, peer-reviewed results (not only a registry record or a press release).",
        "partial-support": "A source that states the claim fully (or a check of the full text of the source cited).",
        "inconsistency": "Studies that explain or resolve the conflicting results.",
    }[rule]


def grade_intervention(rubric: Rubric, kb: KnowledgeBase, item: Intervention) -> InterventionGrade:
    """All outcome grades of an intervention, its headline grade and the comparison with the post."""
    outcomes = tuple(grade_outcome(rubric, kb, item, group) for group in rubric.outcomes)
    graded = [o for o in outcomes if o.level is not None]
    best = max(graded, key=lambda o: o.level.rank if o.level else 0) if graded else None
    seed_level = None
    if item.seed_rating and item.seed_rating.rating in rubric.seed_ratings:
        seed_level = rubric.level(rubric.seed_ratings[item.seed_rating.rating])
    overall = best.level if best else None
    differs = seed_level is not None and abs(seed_level.rank - (overall.rank if overall else 0)) > 1
    notes = []
    if differs and seed_level and item.seed_rating:
        computed = overall.label if overall else "no checked evidence"
        notes.append(f"The source post rated this “{item.seed_rating.rating}”; the rubric computes "
                     f"“{computed}” from the checked sources. The post's rating is not supported by the evidence "
                     "recorded here.")
    return InterventionGrade(item.id, overall, best.outcome if best else None, outcomes, seed_level, differs,
                             tuple(notes))


def grade_all(rubric: Rubric | None, kb: KnowledgeBase) -> dict[str, InterventionGrade]:
    """Every intervention's grade (empty without a rubric)."""
    if rubric is None:
        return {}
    return {ident: grade_intervention(rubric, kb, item) for ident, item in kb.interventions.items()}


def check_hand_grades(kb: KnowledgeBase, grades: dict[str, InterventionGrade]) -> list[Diagnostic]:
    """KB420 (warning): a grade written by hand that the rubric does not compute."""
    out = []
    for ident, item in kb.interventions.items():
        grade = grades.get(ident)
        if item.evidence_grade and grade is not None:
            computed = grade.overall.id if grade.overall else "none"
            if computed != item.evidence_grade:
                where = Location(item.source, item.location.line, item.location.col, "$.evidence_grade")
                out.append(make("KB420", f"evidence_grade is `{item.evidence_grade}` but the rubric computes "
                                f"`{computed}`", where, "remove `evidence_grade`: the rubric decides"))
    return out


def grade_data(grade: InterventionGrade) -> dict[str, Any]:
    """A grade as plain data (kb.json, templates)."""
    def level(lv: Level | None) -> dict[str, Any] | None:
        return {"id": lv.id, "label": lv.label, "rank": lv.rank} if lv else None

    def steps(trail: tuple[TrailStep, ...]) -> list[dict[str, Any]]:
        return [{"rule": s.rule, "change": s.change, "level": s.level, "text": s.text, "claim": s.claim,
                 "source": s.source} for s in trail]

    return {
        "level": grade.overall.id if grade.overall else None,
        "label": grade.overall.label if grade.overall else "No checked evidence",
        "rank": grade.overall.rank if grade.overall else 0,
        "outcome": grade.overall_outcome,
        "outcomes": [{"id": o.outcome, "label": o.label, "level": level(o.level), "trail": steps(o.trail),
                      "raise_it": list(o.raise_it),
                      "claims": [{"claim": c.claim, "level": level(c.level), "trail": steps(c.trail)}
                                 for c in o.claims]} for o in grade.outcomes],
        "source_post_rating": grade.seed_level.label if grade.seed_level else None,
        "differs_from_source_post": grade.seed_differs,
        "notes": list(grade.notes),
    }
