"""Safety as a reader needs it: label summaries quoted from labels, and doses as studied.

The pages of the repository's own knowledge base: the oral progesterone page lists the doses that
studies gave before the post's, each post dose without a checked source marked; zuranolone's label
summary quotes its boxed warning and links to its label record. The rules KB490-KB492 and KB494 on
the fixture knowledge base, each with its exact diagnostic.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from conftest import REPO

from allokb.cli import main
from allokb.grade import matrix_data
from allokb.project import check_project
from allokb.render import SiteInfo, render_site
from allokb.render.exports import doses_csv

SITE = SiteInfo(site_name="Allopregnanolone Evidence Atlas", site_url="https://example.org/atlas/",
                repo_url=None, branch="main", updated={}, build_date="2026-12-02")


@pytest.fixture(scope="module")
def repo_site() -> tuple[dict[str, str], object]:
    result = check_project(REPO)
    assert not result.failed()
    site = render_site(REPO, result.kb, SITE, {k: matrix_data(result.rubric, g) for k, g in result.grades.items()},
                       result.rubric)
    return {p.src_uri: p.markdown for p in site.pages}, result.kb


def _section(markdown: str, anchor: str) -> str:
    start = markdown.index(f"{{ #{anchor} }}")
    end = markdown.find("\n## ", start)
    return markdown[start:end if end != -1 else None]


def test_oral_progesterone_studied_doses_come_before_the_posts(repo_site: tuple[dict[str, str], object]) -> None:
    page = repo_site[0]["interventions/oral-micronized-progesterone.md"]
    dosing = _section(page, "dosing")
    studied, other = dosing.index("{ #doses-studied }"), dosing.index("{ #doses-other }")
    assert studied < other
    studied_rows = [r for r in dosing[studied:other].splitlines() if r.startswith("| [[")]
    other_rows = [r for r in dosing[other:].splitlines() if r.startswith("| [[")]
    # what the trials gave, named by their sources, with design, n, route and amount
    assert any("Andréen et al. 2006" in r and "| Randomised controlled trial | 43 |" in r
               and "| oral | 30, 60 or 200 mg/day (only 30 mg/day worsened mood) |" in r for r in studied_rows)
    assert any("Schüssler et al. 2008" in r and "| 300 mg daily | — | 21 days |" in r for r in studied_rows)
    assert not [r for r in studied_rows if "Vergel" in r]  # the post is not a study
    # the post's two doses, each marked: no checked source gives them
    assert all("Vergel 2026" in r for r in other_rows)
    assert [r.split(" | ")[3] for r in other_rows] == ["50–200 mg", "5–10 mg"]
    assert all(r.endswith("| **Not supported by a checked source** |") for r in other_rows)
    # the filter's route choices are the table's routes
    assert ('<option value="">Any route</option><option>intramuscular</option><option>oral</option>'
            '<option>vaginal</option>') in dosing


def test_zuranolone_label_summary_quotes_the_boxed_warning(repo_site: tuple[dict[str, str], object]) -> None:
    page = repo_site[0]["interventions/zuranolone.md"]
    summary = _section(page, "label-summary")
    assert ("**Zuranolone (ZURZUVAE)**: quoted from its prescribing information "
            "([label record](../references/fda2023zurzuvae.md)).") in summary
    number = next(line for line in page.splitlines() if "fda2023zurzuvae" in line and 'id="ref-' in line)
    n = number.split('id="ref-')[1].split('"')[0]
    assert (f'- **Boxed warning:** “ZURZUVAE causes driving impairment due to central nervous system (CNS) '
            f'depressant effects.” [[{n}]](#ref-{n} "Supported")') in summary
    assert page.index("{ #label-summary }") < page.index("{ #claims }")


def test_not_reviewed_replaces_none_recorded(repo_site: tuple[dict[str, str], object]) -> None:
    pages = repo_site[0]
    assert not [uri for uri, md in pages.items() if "None recorded" in md]
    # a contraindication quoted only in the label summary is pointed to from the glance table
    assert "| Who should not use it | [See what the label says](#label-summary) |" in pages[
        "interventions/low-dose-ssris.md"]
    unregulated = _section(pages["interventions/unregulated-injectable-allopregnanolone.md"], "label-summary")
    assert '!!! warning "Unregulated product"' in unregulated
    assert "no checked label" in unregulated


def test_doses_csv_carries_dose_route_and_support(repo_site: tuple[dict[str, str], object]) -> None:
    rows = list(csv.DictReader(io.StringIO(doses_csv(repo_site[1], "https://example.org/atlas/"))))  # type: ignore[arg-type]
    mp = [r for r in rows if r["intervention"] == "oral-micronized-progesterone"]
    assert [(r["kind"], r["amount"], r["route"], r["supported_by_checked_source"]) for r in mp if r["kind"] == "other"] \
        == [("other", "50–200 mg", "oral", "no"), ("other", "5–10 mg", "oral", "no")]
    assert mp.index(next(r for r in mp if r["kind"] == "other")) == len(mp) - 2  # the post's doses come last
    assert {r["kind"] for r in rows} == {"study", "label", "other"}


# --- the rules, on the fixture --------------------------------------------------------------

def _check(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    status = main(["check", str(root)])
    out = capsys.readouterr().out
    return status, [line for line in out.splitlines() if "[KB49" in line]


def _append(project: Path, text: str) -> None:
    path = project / "content" / "interventions" / "example-hormone.yaml"
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_label_must_be_a_regulatory_record_and_quotes_must_cite_it(project: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    _append(project, """label_summary:
  - medicine: "Example (EXAMPLA)"
    label: smith2020example
    boxed_warning:
      status: quoted
      citations:
        - ref: examplewiki2024page
          quote: "felt lousy"
          support: supported
""")
    status, lines = _check(project, capsys)
    assert status == 1
    assert lines == [
        ("content/interventions/example-hormone.yaml:69:12: error[KB490] $.label_summary[0].label: label "
        "`smith2020example` of `Example (EXAMPLA)` is not a regulator's document (design `rct`) (cite the medicine's "
        "label (a citation record with `design: regulatory`), not `smith2020example`)"),
        ("content/interventions/example-hormone.yaml:73:16: error[KB491] $.label_summary[0].boxed_warning.citations[0]"
        ".ref: the boxed warning of `Example (EXAMPLA)` cites `examplewiki2024page`; a label summary quotes its label, "
        "here `smith2020example` (cite the label, or move the statement to `cautions`)"),
    ]


def test_shown_label_words_need_a_checked_quote(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _append(project, """label_summary:
  - medicine: "Example"
    label: smith2020example
    contraindications:
      status: none-in-label
      citations:
        - ref: smith2020example
          support: unchecked
""")
    status, lines = _check(project, capsys)
    assert status == 1
    assert lines[1:] == [
        ("content/interventions/example-hormone.yaml:73:11: error[KB492] $.label_summary[0].contraindications"
        ".citations[0]: the contraindications of `Example` is `none-in-label` but its citation is `unchecked` without "
        "a quote (quote the label's words verbatim with `support: supported`, or set `status: not-found`)"),
    ]


def test_a_dose_support_must_state_the_dose(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = project / "content" / "interventions" / "example-hormone.yaml"
    text = path.read_text(encoding="utf-8").replace('  - population: women\n    amount: "the example dose"',
                                                    '  - population: women\n    amount: "20 mg"', 1)
    text = text.replace("      support: partial\ncautions:", """      support: partial
    supported_by:
      - ref: smith2020example
        quote: "serum levels rose three-fold"
        support: supported
cautions:""", 1)
    path.write_text(text, encoding="utf-8")
    status, lines = _check(project, capsys)
    assert status == 1
    assert lines == [
        ("content/interventions/example-hormone.yaml:41:9: error[KB494] $.dosing[0].supported_by[0]: the quote of "
        "`smith2020example` does not give dose `20 mg`: `20` not in it (quote the words that give this dose, or remove "
        "the citation (the dose is then shown as not supported by a checked source))"),
    ]
