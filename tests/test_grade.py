"""The rubric pinned: one small knowledge base per rule, with the exact grade and trail."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest

from allokb.grade import grade_data
from allokb.project import check_project
from conftest import REPO


def make_kb(root: Path, sources: dict[str, dict[str, Any]], claims: str, extra: str = "") -> Path:
    """A knowledge base with one intervention `x` whose claims are `claims` (YAML) citing
    `sources` (bib key -> citation record fields)."""
    (root / "content" / "interventions").mkdir(parents=True)
    (root / "content" / "citations").mkdir(parents=True)
    shutil.copy(REPO / "content" / "rubric.yaml", root / "content" / "rubric.yaml")
    bib = []
    for i, (key, fields) in enumerate(sorted(sources.items())):
        bib.append(f"@article{{{key},\n  author = {{A, B}},\n  title = {{T{i}}},\n  journal = {{J}},\n"
                   f"  year = {{2020}},\n  doi = {{10.5555/g.{i}}},\n}}\n")
        record = {"key": key, "peer_reviewed": True, "verification": {"status": "unchecked"}, **fields}
        record["peer_reviewed"] = str(record["peer_reviewed"]).lower()
        lines = [f"{k}: {v if not isinstance(v, dict) else ''}" for k, v in record.items() if k != "verification"]
        (root / "content" / "citations" / f"{key}.yaml").write_text(
            "\n".join(lines) + "\nverification:\n  status: unchecked\n")
    (root / "references.bib").write_text("\n".join(bib))
    (root / "content" / "interventions" / "x.yaml").write_text(
        'id: x\nname: "X"\ncategory: supplement\nsummary: "s"\ndirection: raises\n'
        "prescription_status: over-the-counter\npopulations: [women]\n" + extra + "claims:\n"
        + textwrap.indent(textwrap.dedent(claims), "  "))
    return root


def grade_of(root: Path) -> dict[str, Any]:
    result = check_project(root)
    assert [d for d in result.diagnostics if d.severity.value == "error"] == []
    return grade_data(result.grades["x"])


def claim(ident: str, ref: str, support: str = "supported", outcome: str = "allo-level",
          direction: str = "increases", more: str = "") -> str:
    quote = '\n      quote: "q"' if support in ("supported", "partial") else ""
    return (f"- id: {ident}\n  statement: \"s\"\n  outcome: {outcome}\n  direction: {direction}\n{more}"
            f"  citations:\n    - ref: {ref}\n      support: {support}{quote}\n")


def trail(grade: dict[str, Any], outcome: str = "allo") -> list[tuple[str, int, str]]:
    o = next(o for o in grade["outcomes"] if o["id"] == outcome)
    return [(s["rule"], s["change"], s["level"]) for s in o["trail"]]


@pytest.mark.parametrize("design, level", [
    ("regulatory", "high"), ("rct", "high"), ("meta-analysis", "high"), ("controlled-trial", "moderate"),
    ("cohort", "low"), ("review", "very-low"), ("web", "very-low"), ("anecdote", "very-low"),
])
def test_design_sets_the_starting_level(tmp_path: Path, design: str, level: str) -> None:
    size = "sample_size: 500" if design not in ("regulatory", "review", "web", "anecdote", "meta-analysis") else ""
    root = make_kb(tmp_path, {"a2020t": {"design": design, **({"sample_size": 500} if size else {})}},
                   claim("c", "a2020t"))
    grade = grade_of(root)
    assert trail(grade) == [("start", 0, level)]
    assert grade["level"] == level


def test_animal_evidence_is_rated_down_for_species(tmp_path: Path) -> None:
    root = make_kb(tmp_path, {"a2020t": {"design": "rct", "sample_size": 100, "subjects": "animals"}},
                   claim("c", "a2020t"))
    assert trail(grade_of(root)) == [("start", 0, "high"), ("not-in-humans", -1, "moderate")]


def test_in_vitro_starts_very_low_and_floors(tmp_path: Path) -> None:
    root = make_kb(tmp_path, {"a2020t": {"design": "in-vitro"}}, claim("c", "a2020t"))
    assert trail(grade_of(root)) == [("start", 0, "very-low"), ("not-in-humans", 0, "very-low")]


def test_flagged_indirectness_lowers_once(tmp_path: Path) -> None:
    root = make_kb(tmp_path, {"a2020t": {"design": "rct", "sample_size": 100}},
                   claim("c", "a2020t", more="  indirect: [population, dose]\n"))
    assert trail(grade_of(root)) == [("start", 0, "high"), ("indirect", -1, "moderate")]


@pytest.mark.parametrize("size, expected", [
    (49, [("start", 0, "high"), ("imprecision", -1, "moderate")]),
    (50, [("start", 0, "high")]),
    (None, [("start", 0, "high"), ("imprecision", -1, "moderate")]),
])
def test_imprecision_below_the_threshold_or_unknown(tmp_path: Path, size: int | None, expected: list[Any]) -> None:
    fields: dict[str, Any] = {"design": "rct"}
    if size is not None:
        fields["sample_size"] = size
    root = make_kb(tmp_path, {"a2020t": fields}, claim("c", "a2020t"))
    assert trail(grade_of(root)) == expected


def test_partial_support_lowers(tmp_path: Path) -> None:
    root = make_kb(tmp_path, {"a2020t": {"design": "rct", "sample_size": 100}}, claim("c", "a2020t", "partial"))
    assert trail(grade_of(root)) == [("start", 0, "high"), ("partial-support", -1, "moderate")]


@pytest.mark.parametrize("support", ["unchecked", "not-supported"])
def test_unchecked_and_not_supported_citations_never_count(tmp_path: Path, support: str) -> None:
    root = make_kb(tmp_path, {"a2020t": {"design": "rct", "sample_size": 100}}, claim("c", "a2020t", support))
    grade = grade_of(root)
    assert grade["level"] is None and grade["label"] == "No checked evidence"
    o = grade["outcomes"][0]
    assert o["claims"][0]["trail"][0]["rule"] == "no-support"
    assert o["raise_it"] == ["A randomised controlled trial in women measuring serum or brain ALLO."]


def test_inconsistent_directions_lower_the_outcome(tmp_path: Path) -> None:
    sources = {"a2020t": {"design": "rct", "sample_size": 100}, "b2020t": {"design": "rct", "sample_size": 100}}
    root = make_kb(tmp_path, sources, claim("up", "a2020t") + claim("flat", "b2020t", direction="no-change"))
    assert trail(grade_of(root)) == [("start", 0, "high"), ("inconsistency", -1, "moderate")]


@pytest.mark.parametrize("flags, expected", [
    ("[large-effect]", [("start", 0, "low"), ("large-effect", 1, "moderate")]),
    ("[large-effect, dose-response]", [("start", 0, "low"), ("large-effect", 1, "moderate"),
                                       ("dose-response", 1, "high")]),
])
def test_rating_up_only_for_flagged_reasons(tmp_path: Path, flags: str, expected: list[Any]) -> None:
    root = make_kb(tmp_path, {"a2020t": {"design": "cohort", "sample_size": 100}},
                   claim("c", "a2020t", more=f"  upgrade: {flags}\n"))
    assert trail(grade_of(root)) == expected


def test_rating_up_does_not_apply_to_animal_evidence(tmp_path: Path) -> None:
    root = make_kb(tmp_path, {"a2020t": {"design": "animal"}}, claim("c", "a2020t", more="  upgrade: [large-effect]\n"))
    assert trail(grade_of(root)) == [("start", 0, "very-low"), ("not-in-humans", 0, "very-low")]


def test_best_source_wins_and_ties_prefer_full_support_then_size_then_key(tmp_path: Path) -> None:
    sources = {"b2020t": {"design": "rct", "sample_size": 60}, "a2020t": {"design": "rct", "sample_size": 60},
               "c2020t": {"design": "cohort", "sample_size": 900}}
    claims = ("- id: c\n  statement: \"s\"\n  outcome: allo-level\n  direction: increases\n  citations:\n"
              "    - {ref: c2020t, support: supported, quote: q}\n    - {ref: b2020t, support: supported, quote: q}\n"
              "    - {ref: a2020t, support: supported, quote: q}\n")
    grade = grade_of(make_kb(tmp_path, sources, claims))
    first = grade["outcomes"][0]["trail"][0]
    assert (first["source"], first["level"]) == ("a2020t", "high")


def test_outcomes_are_graded_separately(tmp_path: Path) -> None:
    sources = {"a2020t": {"design": "rct", "sample_size": 100}, "b2020t": {"design": "animal"}}
    root = make_kb(tmp_path, sources, claim("level", "a2020t") + claim("mood", "b2020t", outcome="mood"))
    grade = grade_of(root)
    assert [(o["id"], o["level"]["id"] if o["level"] else None) for o in grade["outcomes"]] == [
        ("allo", "high"), ("clinical", "very-low")]
    assert (grade["level"], grade["outcome"]) == ("high", "allo")


def test_source_post_rating_difference_is_stated(tmp_path: Path) -> None:
    root = make_kb(tmp_path, {"a2020t": {"design": "animal"}}, claim("c", "a2020t"),
                   extra="seed_rating: {rating: Strong}\n")
    grade = grade_of(root)
    assert grade["differs_from_source_post"] is True
    assert grade["notes"] == ["The source post rated this “Strong”; the rubric computes “Very low” from the checked "
                              "sources. The post's rating is not supported by the evidence recorded here."]


def test_one_level_apart_is_not_called_a_difference(tmp_path: Path) -> None:
    root = make_kb(tmp_path, {"a2020t": {"design": "rct", "sample_size": 100}}, claim("c", "a2020t", "partial"),
                   extra="seed_rating: {rating: Strong}\n")
    assert grade_of(root)["differs_from_source_post"] is False


def test_hand_written_grade_that_disagrees_is_a_warning(tmp_path: Path) -> None:
    root = make_kb(tmp_path, {"a2020t": {"design": "animal"}}, claim("c", "a2020t"), extra="evidence_grade: high\n")
    result = check_project(root)
    found = [(d.code, d.severity.value, d.message) for d in result.diagnostics if d.code == "KB420"]
    assert found == [("KB420", "warning", "evidence_grade is `high` but the rubric computes `very-low`")]
    assert result.failed(strict=True) and not result.failed(strict=False)


def test_rubric_with_unknown_level_is_an_error(tmp_path: Path) -> None:
    root = make_kb(tmp_path, {"a2020t": {"design": "rct", "sample_size": 100}}, claim("c", "a2020t"))
    rubric = root / "content" / "rubric.yaml"
    rubric.write_text(rubric.read_text().replace("{design: rct, level: high", "{design: rct, level: top"))
    codes = [(d.code, d.message) for d in check_project(root).diagnostics if d.code == "KB209"]
    assert codes == [("KB209", "unknown level `top`")]


def test_unreviewed_trial_record_counts_as_no_better_than_a_web_page(tmp_path: Path) -> None:
    root = make_kb(tmp_path, {"a2020t": {"design": "rct", "sample_size": 100, "peer_reviewed": False}},
                   claim("c", "a2020t"))
    assert trail(grade_of(root)) == [("start", 0, "high"), ("not-peer-reviewed", -3, "very-low")]


def test_regulatory_approval_grades_the_clinical_outcome(tmp_path: Path) -> None:
    extra = ("regulatory:\n  - agency: FDA\n    status: approved\n    year: 2023\n    indication: \"PPD\"\n"
             "    citations:\n      - {ref: a2020t, support: supported, quote: q}\n")
    root = make_kb(tmp_path, {"a2020t": {"design": "regulatory", "peer_reviewed": False}}, "[]\n", extra=extra)
    grade = grade_of(root)
    assert trail(grade, "clinical") == [("start", 0, "high")]
    assert grade["outcomes"][1]["trail"][0]["claim"] == "approval-1"
