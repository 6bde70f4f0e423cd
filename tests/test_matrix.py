"""The evidence matrix (issue 13): one fixture per rating rule, the done-when checks on the real
knowledge base (in tests/test_content.py, with three real matrices pinned), the exports' contract,
and the evidence map."""

from __future__ import annotations

import csv
import re
import io
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from allokb.grade import matrix_data
from allokb.project import check_project
from allokb.render import SiteInfo, render_site
from allokb.rubric import fill, load_rubric
from allokb.schema import load_schema
from conftest import REPO, TESTS, VALID, make_project

FIXTURES = TESTS / "fixtures" / "matrix"
RULE_FIXTURES = sorted(p.stem for p in FIXTURES.glob("*.yaml"))
SITE = SiteInfo(site_name="Allopregnanolone Evidence Atlas", site_url="https://allo-atlas.github.io/atlas/",
                repo_url=None, branch="main", updated={}, build_date="2026-12-01")


# --- a small knowledge base from a fixture --------------------------------------------------

def _q(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _cites(pairs: list[list[str]], indent: str) -> str:
    out = ""
    for key, support in pairs:
        quote = f"\n{indent}  quote: \"q\"" if support in ("supported", "partial") else ""
        out += f"{indent}- ref: {key}\n{indent}  support: {support}{quote}\n"
    return out


def make_kb(root: Path, spec: dict[str, Any]) -> Path:
    """A project with one intervention `x` whose claims and approvals are the fixture's."""
    for kind in ("interventions", "citations"):
        (root / "content" / kind).mkdir(parents=True)
    shutil.copy(REPO / "content" / "rubric.yaml", root / "content" / "rubric.yaml")
    bib = []
    for i, (key, fields) in enumerate(sorted(spec["sources"].items())):
        bib.append(f"@article{{{key},\n  author = {{A, B}},\n  title = {{T{i}}},\n  journal = {{J}},\n"
                   f"  year = {{2020}},\n  doi = {{10.5555/m.{i}}},\n}}\n")
        record = {"key": key, "peer_reviewed": True, **fields, "verification": {"status": "unchecked"}}
        (root / "content" / "citations" / f"{key}.yaml").write_text(yaml.safe_dump(record, sort_keys=False))
    (root / "references.bib").write_text("\n".join(bib))
    extra = {"relation": "raises-endogenous", "direction": "raises", **spec.get("intervention", {})}
    main = spec["expect"]["row"]
    text = (f'id: x\nname: "X"\ncategory: supplement\nsummary: "s"\ndirection: {extra["direction"]}\n'
            f"relation: {extra['relation']}\nmain_outcome: {{outcome: {main[0]}, population: {main[1]}}}\n"
            "prescription_status: over-the-counter\npopulations: [women]\n")
    if spec.get("approvals"):
        text += "regulatory:\n"
        for a in spec["approvals"]:
            text += (f"  - agency: FDA\n    status: approved\n    year: 2020\n    indication: \"it\"\n"
                     f"    outcome: {a['outcome']}\n    population: {a['population']}\n    citations:\n"
                     + _cites(a["cites"], "      "))
    text += "claims:\n" if spec.get("claims") else "claims: []\n"
    for c in spec.get("claims", []):
        text += (f"  - id: {c['id']}\n    statement: \"s\"\n    outcome: {c['outcome']}\n"
                 f"    direction: {c['direction']}\n    population: {c['population']}\n")
        for flag in ("indirect", "upgrade"):
            if c.get(flag):
                text += f"    {flag}: [{', '.join(c[flag])}]\n"
        text += "    citations:\n" + _cites(c["cites"], "      ")
    (root / "content" / "interventions" / "x.yaml").write_text(text)
    return root


def matrix_of(root: Path) -> dict[str, Any]:
    result = check_project(root)
    assert [str(d) for d in result.diagnostics if d.severity.value == "error"] == []
    return matrix_data(result.rubric, result.grades["x"])


def row_of(matrix: dict[str, Any], outcome: str, population: str) -> dict[str, Any]:
    found = [r for r in [*matrix["rows"], matrix["main"]] if (r["outcome"], r["population"]) == (outcome, population)]
    assert found, (outcome, population, [(r["outcome"], r["population"]) for r in matrix["rows"]])
    return found[0]


def steps(row: dict[str, Any]) -> list[list[Any]]:
    return [[s["rule"], s["change"], s["level"]] for s in row["trail"]]


@pytest.mark.parametrize("name", RULE_FIXTURES)
def test_rule_fixture(name: str, tmp_path: Path) -> None:
    spec = yaml.safe_load((FIXTURES / f"{name}.yaml").read_text())
    matrix = matrix_of(make_kb(tmp_path / name, spec))
    for expect in [spec["expect"], *([spec["expect"]["other"]] if "other" in spec["expect"] else [])]:
        row = row_of(matrix, *expect["row"])
        assert (row["level"], steps(row)) == (expect["level"], expect["trail"])
        if "participants" in expect:
            assert row["participants"] == expect["participants"]


def test_every_rule_of_the_rubric_has_a_fixture() -> None:
    """One fixture per rating rule: every rate-down, rate-up and cap id appears in some fixture's trail."""
    rubric, problems = load_rubric(REPO)
    assert problems == [] and rubric is not None
    used = set()
    for name in RULE_FIXTURES:
        spec = yaml.safe_load((FIXTURES / f"{name}.yaml").read_text())
        for expect in [spec["expect"], spec["expect"].get("other", {"trail": []})]:
            used |= {s[0] for s in expect["trail"]}
    rules = {*rubric.rate_down, *rubric.rate_up, *rubric.caps, "start", "approval", "no-evidence"}
    assert rules - used == set()


def test_a_rule_absent_from_the_rubric_does_not_apply(tmp_path: Path) -> None:
    spec = yaml.safe_load((FIXTURES / "risk-of-bias-unchecked.yaml").read_text())
    root = make_kb(tmp_path / "kb", spec)
    rubric = root / "content" / "rubric.yaml"
    text = rubric.read_text()
    start = text.index("  - id: risk-of-bias-unchecked")
    rubric.write_text(text[:start] + text[text.index("  - id: inconsistency"):])
    assert steps(row_of(matrix_of(root), "allo-level", "women")) == [["start", 0, "high"]]


def test_rubric_texts_fill_only_their_placeholders() -> None:
    assert fill("{population}: {0.__class__} {threshold} {unknown}", {"population": "women", "threshold": 400}) \
        == "women: {0.__class__} 400 {unknown}"


# --- the real knowledge base ----------------------------------------------------------------

@pytest.fixture(scope="module")
def repo(repo_check: Any) -> Any:
    """The repository's check (shared, read-only); its own matrices: tests/test_content.py."""
    assert not repo_check.failed(strict=True)
    return repo_check


def _rows(repo: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(ident, row) for ident, m in repo.grades.items() for row in matrix_data(repo.rubric, m)["rows"]]


# --- pages and exports ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def rendered(repo: Any) -> Any:
    grades = {k: matrix_data(repo.rubric, g) for k, g in repo.grades.items()}
    return render_site(REPO, repo.kb, SITE, grades, repo.rubric)


def test_the_summary_names_the_main_outcome_and_sorts_by_it(rendered: Any) -> None:
    index = next(p.markdown for p in rendered.pages if p.src_uri == "interventions/index.md")
    # The cell shows the main outcome's row; the other rows wait, hidden, for a population or
    # outcome filter (allokb.js).
    assert ('<td data-sort="4" data-main-rank="4" data-allokb-evidence><span data-main>Depressive symptoms, postpartum '
            'women: High</span>') in index
    assert ('<td data-sort="0" data-main-rank="0" data-allokb-evidence><span data-main>ALLO level, adults in general: '
            'No checked evidence</span>') in index
    for pooled in ("Raises ALLO:", "Improves mood"):
        assert pooled not in index and pooled not in rendered.blocks["summary"]
    assert "Zuranolone (Zurzuvae)](interventions/zuranolone.md) (Depressive symptoms, postpartum women: High)" \
        in rendered.blocks["summary"]


def test_kb_json_follows_the_contract_and_its_published_schema(rendered: Any) -> None:
    data = json.loads(rendered.files["data/kb.json"])
    schema = json.loads(rendered.files["schema/kb.schema.json"])
    jsonschema.Draft202012Validator(schema).validate(data)
    assert data["schema_version"] == 2
    levels = {"high", "moderate", "low", "very-low", "none"}
    outcomes = set(load_schema("common")["$defs"]["outcome"]["enum"])
    populations = set(load_schema("common")["$defs"]["population"]["enum"])
    for item in data["interventions"]:
        assert "computed_grade" not in item and item["evidence"], item["id"]
        for row in item["evidence"]:
            assert row["outcome"] in outcomes and row["population"] in populations and row["level"] in levels
            assert isinstance(row["studies"], int) and all(isinstance(k, str) for k in row["sources"])
            assert row["url"].startswith(item["url"] + "#evidence-") and row["trail"]


def test_evidence_csv_has_one_row_per_intervention_outcome_population(rendered: Any, repo: Any) -> None:
    rows = list(csv.DictReader(io.StringIO(rendered.files["data/evidence.csv"])))
    expected = [(i, r["outcome"], r["population"]) for i, r in _rows(repo)]
    assert [(r["intervention"], r["outcome"], r["population"]) for r in rows] == expected
    brex = next(r for r in rows if r["intervention"] == "brexanolone")
    assert (brex["level"], brex["main_outcome"], brex["url"]) == (
        "high", "yes", SITE.site_url + "interventions/brexanolone/#evidence-depressive-symptoms-postpartum-women")


def test_every_map_cell_links_to_a_row_anchor_of_its_page(rendered: Any, repo: Any) -> None:
    pages = {p.src_uri: p.markdown for p in rendered.pages}
    page = pages["evidence-map.md"]
    cells = [c for c in page.split('<a href="../interventions/')[1:] if "#evidence-" in c.split('"')[0]]
    assert len(cells) == sum(len(m.rows) for m in repo.grades.values())
    for cell in cells:
        target = cell.split('"')[0]
        ident, anchor = target.split("/#")
        assert f"{{ #{anchor} }}" in pages[f"interventions/{ident}.md"], target


def test_contributor_text_in_the_map_is_inert(tmp_path: Path) -> None:
    root = make_project(tmp_path / "kb")
    path = root / "content" / "interventions" / "example-hormone.yaml"
    path.write_text(path.read_text().replace('name: "Example hormone"',
                                             'name: "</text><script>alert(1)</script><a href=\'javascript:x\'>"'))
    result = check_project(root)
    assert not result.failed()
    grades = {k: matrix_data(result.rubric, g) for k, g in result.grades.items()}
    page = next(p.markdown for p in render_site(REPO, result.kb, SITE, grades, result.rubric).pages
                if p.src_uri == "evidence-map.md")
    assert "<script" not in page and "javascript:x'" not in page
    assert "&#60;/text&#62;&#60;script&#62;alert(1)&#60;/script&#62;" in page


# --- located errors (the case folders pin the exact reports) --------------------------------

def test_the_matrix_cases_exist() -> None:
    for case in ("matrix-vocabulary", "matrix-main-outcome", "matrix-approval-outcome"):
        assert (TESTS / "cases" / case / "expected.txt").is_file(), case


def test_valid_fixture_matrix(tmp_path: Path) -> None:
    result = check_project(VALID)
    data = matrix_data(result.rubric, result.grades["example-hormone"])
    assert [(r["anchor"], r["level"]) for r in data["rows"]] == [("evidence-allo-level-general-adults", "very-low")]


# --- in a browser ---------------------------------------------------------------------------

@pytest.mark.browser
def test_the_map_renders_and_each_cell_lands_on_its_row(repo_url: str, repo: Any, tabs: Any) -> None:
    with tabs(viewport={"width": 1280, "height": 900}) as page:
        page.goto(repo_url + "evidence-map/")
        svg = page.locator("figure.allokb-map svg")
        box = svg.bounding_box()
        assert box is not None and box["width"] > 700 and box["height"] > 500
        cells = page.locator("figure.allokb-map svg a.allokb-map-cell")
        found = page.eval_on_selector_all("figure.allokb-map svg a.allokb-map-cell",
                                          "as => as.map(a => [a.getAttribute('href'), a.getAttribute('aria-label')])")
        hrefs = [href or "" for href, _ in found]
        assert len(hrefs) == sum(len(m.rows) for m in repo.grades.values())
        # every mark is drawn with a shape and a text label, and is named for assistive technology
        assert page.locator("a.allokb-map-cell .allokb-map-mark").count() == len(hrefs)
        labels = page.eval_on_selector_all("a.allokb-map-cell text", "ts => ts.map(t => t.textContent)")
        assert all(re.fullmatch(r"(High|Mod|Low|VLow|—) \d+", t) for t in labels), labels
        assert all(label for _, label in found)
        # a click on a cell opens its row
        cells.nth(0).click()
        page.wait_for_load_state()
        anchor = hrefs[0].split("#")[1]
        assert page.url.endswith(hrefs[0].removeprefix("../"))
        assert page.locator(f"[id='{anchor}']").is_visible()
        # and every other cell's row exists on its page
        by_page: dict[str, list[str]] = {}
        for href in hrefs:
            path, anchor = href.removeprefix("../").split("#")
            by_page.setdefault(path, []).append(anchor)
        # (each page as served, parsed in the page: its headings are in its HTML, no script adds one)
        counts = page.evaluate("""async pages => Object.fromEntries(await Promise.all(Object.entries(pages).map(
            async ([url, anchors]) => {
              const doc = new DOMParser().parseFromString(await (await fetch(url)).text(), 'text/html');
              return [url, anchors.map(a => doc.querySelectorAll(`h3[id='${a}']`).length)];
            })))""", {repo_url + path: anchors for path, anchors in by_page.items()})
    for path, anchors in by_page.items():
        for anchor, count in zip(anchors, counts[repo_url + path], strict=True):
            assert count == 1, (path, anchor)
