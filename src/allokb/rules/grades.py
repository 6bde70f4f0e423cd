"""Rules on grades: a hand-written grade the rubric does not compute (KB420), and outcomes that
the evidence matrix does not grade (KB471, KB472).

The matrix itself (the rubric's rules, each row's level and trail) is `allokb.grade`, library code
that the rules and the pages share; these rules judge an intervention against it.
"""

from __future__ import annotations

from collections.abc import Iterator

from allokb.diagnostics import Diagnostic, Location, make
from allokb.grade import InterventionMatrix
from allokb.graph import KnowledgeBase
from allokb.rubric import Rubric
from allokb.rules.catalogue import rule


@rule("KB420")
def check_hand_grades(kb: KnowledgeBase, grades: dict[str, InterventionMatrix]) -> Iterator[Diagnostic]:
    """An intervention's `evidence_grade` disagrees with the level the rubric computes for its main outcome. The
    rubric decides: remove the field, or change the claims or the rubric."""
    for ident, item in kb.interventions.items():
        matrix = grades.get(ident)
        if item.evidence_grade and matrix is not None:
            computed = matrix.main.level.id if matrix.main.level else "none"
            if computed != item.evidence_grade:
                where = Location(item.source, item.location.line, item.location.col, "$.evidence_grade")
                yield make("KB420", f"evidence_grade is `{item.evidence_grade}` but the rubric computes "
                           f"`{computed}` for the main outcome", where, "remove `evidence_grade`: the rubric decides")


@rule("KB471")
def check_main_outcome_graded(kb: KnowledgeBase, rubric: Rubric | None) -> Iterator[Diagnostic]:
    """An intervention's `main_outcome` names an outcome that the evidence matrix does not grade (one whose
    `matrix` is false in content/rubric.yaml, such as `mechanism`): the summary table could show no level for
    it. Name the outcome, and the population, the intervention is mainly used for."""
    if rubric is None:
        return
    graded = rubric.matrix_outcomes()
    for item in kb.interventions.values():
        main = item.main_outcome
        if main.outcome not in graded:
            yield make("KB471", f"main_outcome `{main.outcome}` is not graded in the evidence matrix",
                       main.location or item.location, f"use one of: {', '.join(graded)}")


@rule("KB472")
def check_approvals_graded(kb: KnowledgeBase, rubric: Rubric | None) -> Iterator[Diagnostic]:
    """An approval's `outcome` is not graded in the evidence matrix, so the approval would count as evidence in
    no row. Name the outcome of its indication (e.g. `depressive-symptoms`)."""
    if rubric is None:
        return
    graded = rubric.matrix_outcomes()
    for item in kb.interventions.values():
        for reg in item.regulatory:
            if reg.status == "approved" and reg.outcome is not None and reg.outcome not in graded:
                yield make("KB472", f"the approval's outcome `{reg.outcome}` is not graded in the evidence "
                           "matrix, so the approval counts in no row", reg.location or item.location,
                           f"use one of: {', '.join(graded)}")


def check_grades(kb: KnowledgeBase, rubric: Rubric | None, grades: dict[str, InterventionMatrix]) -> list[Diagnostic]:
    """KB420, KB471 and KB472 over the knowledge base."""
    return [*check_hand_grades(kb, grades), *check_main_outcome_graded(kb, rubric), *check_approvals_graded(kb, rubric)]
