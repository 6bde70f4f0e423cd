"""The evidence rubric: content/rubric.yaml read into typed data, and checked against the schemas.

The rubric holds everything the grading needs that is not logic: levels, starting levels by
design, the rules' steps, thresholds and texts, the caps, and the vocabularies the matrix is
drawn on (outcomes, populations, relations to ALLO). Its schema is rubric.schema.json; this
module adds the checks a schema cannot make (KB209: a level or design that does not exist;
KB470: a vocabulary that does not list exactly the values the record schemas allow).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from allokb.diagnostics import Diagnostic, make
from allokb.files import read_project_file
from allokb.load import MAX_YAML_BYTES, SourceDocument, parse_yaml
from allokb.schema import check_document, load_schema

RUBRIC_FILE = "content/rubric.yaml"
#: the placeholders a rubric text may hold; nothing else in braces is read
_PLACEHOLDER = re.compile(r"\{(population|outcome|threshold|participants|studies|directions|flags)\}")


@dataclass(frozen=True, slots=True)
class Level:
    """A grade level of the rubric."""

    id: str
    label: str
    meaning: str
    rank: int  # 1 = lowest


@dataclass(frozen=True, slots=True)
class Rule:
    """A rate-down, rate-up or cap entry of the rubric."""

    id: str
    steps: int
    why: str
    raise_it: str = ""
    domain: str = ""
    threshold: int | None = None
    designs: tuple[str, ...] = ()
    level: str | None = None  # for a cap: the highest level allowed


@dataclass(frozen=True, slots=True)
class Term:
    """One entry of a vocabulary: an outcome, a population or a relation to ALLO."""

    id: str
    label: str
    meaning: str = ""
    short: str = ""
    matrix: bool = False  # outcomes: graded in the evidence matrix
    allo_level: str | None = None  # relations: the rate-down rule of its `allo-level` rows


@dataclass(frozen=True)
class Rubric:
    """The rubric, read from content/rubric.yaml."""

    levels: tuple[Level, ...]
    start: dict[str, tuple[str, str]]  # design -> (level id, why)
    rate_down: dict[str, Rule]
    rate_up: dict[str, Rule]
    caps: dict[str, Rule]
    texts: dict[str, str]  # approval, no-evidence, no-evidence-raise, better-design
    outcomes: dict[str, Term]  # in the order of the matrix columns
    populations: dict[str, Term]
    relations: dict[str, Term]
    seed_ratings: dict[str, str]  # post's rating -> level id

    def level(self, ident: str) -> Level:
        return self._by_id[ident]

    def by_rank(self, rank: int) -> Level:
        return self._by_rank[max(1, min(rank, len(self.levels)))]

    # Looked up some 100,000 times when 10,000 entries are graded: tables, not scans of `levels`.
    @cached_property
    def _by_id(self) -> dict[str, Level]:
        return {level.id: level for level in reversed(self.levels)}  # the first of a repeated id, as a scan

    @cached_property
    def _by_rank(self) -> dict[int, Level]:
        return {level.rank: level for level in reversed(self.levels)}

    @property
    def top(self) -> int:
        return len(self.levels)

    def matrix_outcomes(self) -> list[str]:
        """The outcomes graded in the matrix, in column order."""
        return [o.id for o in self.outcomes.values() if o.matrix]

    def outcome_label(self, ident: str) -> str:
        term = self.outcomes.get(ident)
        return term.label if term else ident.replace("-", " ")

    def population_label(self, ident: str) -> str:
        term = self.populations.get(ident)
        return term.label if term else ident.replace("-", " ")


def fill(text: str, values: dict[str, Any]) -> str:
    """A rubric text with its placeholders filled in (an unknown or unfilled one stays as written)."""
    return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), text)


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
    problems = [*_check_references(doc), *_check_vocabularies(doc)]
    if problems:
        return None, problems
    return _build(doc.data), []


def _check_references(doc: SourceDocument) -> list[Diagnostic]:
    """KB209: every level and design the rubric names exists; every design has a start."""
    d = doc.data
    ids = {x["id"] for x in d["levels"]}
    designs = set(load_schema("citation")["properties"]["design"]["enum"])
    rules = {x["id"] for x in d["rate_down"]}
    problems = []
    for section in ("start", "seed_ratings", "caps"):
        for i, x in enumerate(d[section]):
            if x["level"] not in ids:
                problems.append(make("KB209", f"unknown level `{x['level']}`", doc.location((section, i, "level"))))
    for i, x in enumerate(d["start"]):
        if x["design"] not in designs:
            problems.append(make("KB209", f"unknown study design `{x['design']}`", doc.location(("start", i, "design"))))
    for i, x in enumerate(d["rate_up"]):
        for j, design in enumerate(x["designs"]):
            if design not in designs:
                problems.append(make("KB209", f"unknown study design `{design}`",
                                     doc.location(("rate_up", i, "designs", j))))
    for i, x in enumerate(d["relations"]):
        if "allo_level" in x and x["allo_level"] not in rules:
            problems.append(make("KB209", f"unknown rate_down rule `{x['allo_level']}`",
                                 doc.location(("relations", i, "allo_level"))))
    missing = designs - {x["design"] for x in d["start"]}
    if missing:
        problems.append(make("KB209", f"no starting level for design(s): {', '.join(sorted(missing))}",
                             doc.location(("start",))))
    return problems


#: vocabulary section -> the schema list its ids must equal
_VOCABULARIES = {
    "outcomes": ("common", ("$defs", "outcome", "enum")),
    "populations": ("common", ("$defs", "population", "enum")),
    "relations": ("intervention", ("properties", "relation", "enum")),
}


def _check_vocabularies(doc: SourceDocument) -> list[Diagnostic]:
    """KB470: each vocabulary defines exactly the values its schema allows, each once."""
    problems = []
    for section, (schema, path) in _VOCABULARIES.items():
        node: Any = load_schema(schema)
        for part in path:
            node = node[part]
        allowed = list(node)
        seen: set[str] = set()
        for i, entry in enumerate(doc.data[section]):
            ident = entry["id"]
            where = doc.location((section, i, "id"))
            if ident in seen:
                problems.append(make("KB470", f"{section}: `{ident}` is defined twice", where))
            elif ident not in allowed:
                problems.append(make("KB470", f"{section}: `{ident}` is not a value the {schema} schema allows",
                                     where, f"allowed: {', '.join(allowed)}"))
            seen.add(ident)
        for ident in allowed:
            if ident not in seen:
                problems.append(make("KB470", f"{section}: `{ident}` (allowed by the {schema} schema) is not defined",
                                     doc.location((section,)), f"add an entry `id: {ident}`"))
    return problems


def _build(d: dict[str, Any]) -> Rubric:
    levels = tuple(Level(x["id"], x["label"], x["meaning"], len(d["levels"]) - i) for i, x in enumerate(d["levels"]))

    def rule(x: dict[str, Any]) -> Rule:
        return Rule(x["id"], x.get("steps", 0), x["why"], x.get("raise", ""), x.get("domain", ""),
                    x.get("threshold"), tuple(x.get("designs", ())), x.get("level"))

    def terms(section: str) -> dict[str, Term]:
        return {x["id"]: Term(x["id"], x["label"], x.get("meaning", ""), x.get("short", ""), x.get("matrix", False),
                              x.get("allo_level")) for x in d[section]}

    return Rubric(
        levels=levels,
        start={x["design"]: (x["level"], x["why"]) for x in d["start"]},
        rate_down={x["id"]: rule(x) for x in d["rate_down"]},
        rate_up={x["id"]: rule(x) for x in d["rate_up"]},
        caps={x["id"]: rule(x) for x in d["caps"]},
        texts={"approval": d["approval"]["why"], "no-evidence": d["no_evidence"]["why"],
               "no-evidence-raise": d["no_evidence"]["raise"], "better-design": d["better_design"]["raise"]},
        outcomes=terms("outcomes"), populations=terms("populations"), relations=terms("relations"),
        seed_ratings={x["rating"]: x["level"] for x in d["seed_ratings"]},
    )
