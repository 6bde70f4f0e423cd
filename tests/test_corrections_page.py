"""The corrections page a reader can skim: one row per claim or reference, the most consequential
error first (corrections.ERROR_KINDS), filters by kind of error (all rows without JavaScript),
cards on a phone, under 60 KB of HTML on the real site."""

from __future__ import annotations

import re
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, make_project

from allokb.corrections import (
    ERROR_KINDS,
    KIND_RANK,
    ClaimErrors,
    ReferenceErrors,
    error_kind,
    ranked_errors,
    states_figure,
)
from allokb.grade import matrix_data
from allokb.project import CheckResult, check_project
from allokb.render import SiteInfo, render_site

SITE = SiteInfo(site_name="Allopregnanolone Evidence Atlas", site_url="https://allo-atlas.github.io/atlas/",
                repo_url=None, branch="main", updated={}, build_date="2026-12-01")

#: claims of the post, one of each kind of error, added to the fixture's example hormone
CLAIMS = '''  - id: figure
    statement: "The example dose raised levels."
    outcome: allo-level
    direction: increases
    population: general-adults
    citations:
      - ref: smith2020example
        support: not-supported
        note: "The abstract reports a three-fold rise, not 300% in a week."
    seed:
      text: "Raises levels by 300% in a week"
      refs: [1]
  - id: says-nothing
    statement: "Nothing is known about anxiety."
    outcome: anxiety
    direction: not-applicable
    population: general-adults
    citations:
      - ref: smith2020example
        support: not-supported
        note: "The abstract does not mention anxiety."
    seed:
      text: "Cures anxiety [1]"
      refs: [1]
  - id: overstated
    statement: "Levels rose after one dose."
    outcome: allo-level
    direction: increases
    population: general-adults
    citations:
      - ref: smith2020example
        locator: abstract
        quote: "serum levels rose three-fold"
        support: partial
    seed:
      text: "Works for everyone"
      refs: [1]
  - id: cites-missing
    statement: "A wiki says so."
    outcome: allo-level
    direction: increases
    population: general-adults
    citations:
      - ref: examplewiki2024page
        support: unchecked
    seed:
      text: "The wiki proves it"
      refs: [2]
  - id: pending
    statement: "Not read yet."
    outcome: sleep
    direction: increases
    population: general-adults
    citations:
      - ref: smith2020example
        support: unchecked
    seed:
      text: "Helps sleep"
      refs: [1]
'''

#: the fixture's wiki page, cited by the post as its reference 2 with a misspelt author, and not found
WIKI = '''  status: not-found
  searched: ["Example Wiki page history"]
seed:
  number: 2
  cited_as: "Exmple Wiki. Example page."
  corrections:
    - field: author
      seed: "Exmple Wiki"
      record: "Example Wiki"
'''


@pytest.fixture(scope="module")
def errors_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture with the post's claims above, made once for the file (read-only: copy it to change it)."""
    root = make_project(tmp_path_factory.mktemp("corrections") / "kb")
    hormone = root / "content/interventions/example-hormone.yaml"
    hormone.write_text(hormone.read_text(encoding="utf-8").replace("dosing:\n", CLAIMS + "dosing:\n", 1),
                       encoding="utf-8")
    wiki = root / "content/citations/examplewiki2024page.yaml"
    wiki.write_text(wiki.read_text(encoding="utf-8").replace("  status: unchecked\n", WIKI), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def errors_check(errors_project: Path) -> CheckResult:
    """`check_project(errors_project)`, run once for the file (read-only)."""
    return check_project(errors_project)


@pytest.fixture(scope="module")
def errors_page(errors_check: CheckResult) -> str:
    """The corrections page of `errors_project`, rendered once for the file."""
    return _render(errors_check)


def _render(result: CheckResult) -> str:
    assert not result.failed()
    site = render_site(REPO, result.kb, SITE, {k: matrix_data(result.rubric, g) for k, g in result.grades.items()},
                       result.rubric)
    return next(p.markdown for p in site.pages if p.src_uri == "corrections.md")


# --- the ranking -------------------------------------------------------------------------------

def test_the_ranking_is_explicit_and_puts_a_wrong_figure_before_a_misspelt_author() -> None:
    assert [k.id for k in ERROR_KINDS] == [
        "figure-not-in-source", "not-in-source", "source-not-found", "overstated", "wrong-paper", "wrong-details",
        "wrong-authors", "wrong-locator", "not-checkable"]
    assert KIND_RANK["figure-not-in-source"] < KIND_RANK["wrong-authors"]


@pytest.mark.parametrize(("support", "text", "status", "kind"), [
    ("not-supported", "20 mg oral progesterone increased AUC by 196%", "verified", "figure-not-in-source"),
    ("not-supported", "500 mg/day increased ALLO approximately five-fold", "verified", "figure-not-in-source"),
    ("not-supported", "levels of 1.5-2 nmol/L inhibit the receptor", "verified", "figure-not-in-source"),
    ("not-supported", "Avoid 5α-RI drugs | Preserve enzyme activity | Strong | 17-21", "verified", "not-in-source"),
    ("not-supported", "Oral progesterone at bedtime aids sleep", "verified", "not-in-source"),
    ("partial", "64% of users were depressed", "verified", "overstated"),
    ("unchecked", "Helps sleep", "not-found", "source-not-found"),
    ("unchecked", "Helps sleep", "partly-verified", "not-checkable"),
    ("unchecked", "Helps sleep", None, "not-checkable"),
    ("supported", "Raises levels by 300%", "verified", None),
])
def test_error_kind(support: str, text: str, status: str | None, kind: str | None) -> None:
    assert error_kind(support, text, status) == kind


@pytest.mark.parametrize(("text", "figure"), [
    ("a 14-day course", True), ("3 times daily", True), ("2.5 mg fluoxetine", True), ("5α-reductase", False),
    ("refs 17-21", False), ("SAGE-217", False), ("GABA-A", False), ("a two-fold rise", True),
])
def test_states_figure(text: str, figure: bool) -> None:
    assert states_figure(text) is figure


def test_ranked_errors_one_entry_per_claim_or_reference_worst_first(errors_check: CheckResult) -> None:
    rows = ranked_errors(errors_check.kb)
    assert [(r.claim_id if isinstance(r, ClaimErrors) else r.key, r.errors) for r in rows] == [
        ("figure", ("figure-not-in-source",)),
        ("says-nothing", ("not-in-source",)),
        ("cites-missing", ("source-not-found",)),
        ("examplewiki2024page", ("source-not-found", "wrong-authors")),
        ("overstated", ("overstated",)),
        ("smith2020example", ("wrong-details",)),
        ("pending", ("not-checkable",)),
    ]
    assert [type(r) for r in rows].count(ReferenceErrors) == 2


# --- the page ----------------------------------------------------------------------------------

def test_page_rows_are_ranked_one_per_claim_and_name_the_post_refs(errors_page: str) -> None:
    page = errors_page
    rows = re.findall(r'^<tr data-kinds="([^"]*)"><td><b>([^<]*)</b> <a href="([^"]*)">', page, re.MULTILINE)
    assert rows == [
        ("figure-not-in-source", "Number not in the cited paper", "../interventions/example-hormone/#claim-figure"),
        ("not-in-source", "Cited paper does not say this", "../interventions/example-hormone/#claim-says-nothing"),
        ("source-not-found wrong-authors", "Cited paper not found", "../references/examplewiki2024page/"),
        ("overstated", "Says more than the paper", "../interventions/example-hormone/#claim-overstated"),
        ("wrong-details", "Wrong title, journal or year", "../references/smith2020example/"),
    ]
    assert ('<tr data-kinds="figure-not-in-source"><td><b>Number not in the cited paper</b> '
            '<a href="../interventions/example-hormone/#claim-figure">Example hormone</a></td>'
            '<td>“Raises levels by 300% in a week” (post ref 1)</td>') in page
    # The post's own "[1]" inside its words is written so that it cannot pass for the page's [1].
    assert "<td>“Cures anxiety &#91;post ref 1&#93;” (post ref 1)</td>" in page
    # The claim whose one error is its unfound paper is listed in that paper's row.
    assert ('<td><p>No such publication was found. The post cites it for: '
            '<a href="../interventions/example-hormone/#claim-cites-missing">Example hormone</a>.</p>'
            '<p>author: Example Wiki</p></td></tr>') in page
    assert page.count("#claim-cites-missing") == 1
    assert ("1 more claims of the post, on 1 pages, cite a source whose text could not be read yet:\n"
            "nothing is known to be wrong with them.") in page
    assert "#claim-pending" not in page


def test_page_documents_the_ranking_in_one_line_and_filters_need_no_markup(errors_page: str) -> None:
    page = errors_page
    line = next(x for x in page.splitlines() if x.startswith('<p class="allokb-rank"'))
    assert re.sub(r"<[^>]+>", "", line) == (
        "Most serious first: Number not in the cited paper › Cited paper does not say this › Cited paper not found › "
        "Says more than the paper › Reference points to another paper › Wrong title, journal or year › "
        "Wrong or misspelt authors › Wrong volume, pages or link.")
    assert "<button" not in page  # the filters are made by allokb.js: without it, nothing to click


def test_contributor_text_in_a_row_is_inert(errors_project: Path, tmp_path: Path) -> None:
    root = Path(shutil.copytree(errors_project, tmp_path / "kb"))
    hormone = root / "content/interventions/example-hormone.yaml"
    hormone.write_text(hormone.read_text(encoding="utf-8").replace(
        '"Raises levels by 300% in a week"', '"<script>alert(1)</script> [x](javascript:alert(1)) 300%"'),
        encoding="utf-8")
    page = _render(check_project(root))
    assert "<script>" not in page and "](javascript:" not in page
    assert "&#60;script&#62;alert(1)&#60;/script&#62; &#91;x&#93;(javascript:alert(1)) 300%" in page


# --- the real site -----------------------------------------------------------------------------

MAX_BYTES = 60_000


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return str(response.read().decode("utf-8"))


def test_real_corrections_page_is_under_60_kb_ranked_and_one_row_per_claim(repo_url: str) -> None:
    html = _get(repo_url + "corrections/")
    assert len(html.encode("utf-8")) < MAX_BYTES
    rows = re.findall(r'<tr data-kinds="([^"]*)"><td><b>[^<]*</b> <a href="([^"]*)">', html)
    assert len(rows) >= 40
    ranks = [KIND_RANK[kinds.split()[0]] for kinds, _ in rows]
    assert ranks == sorted(ranks)
    assert rows[0][0].split()[0] == "figure-not-in-source"
    claims = [href for _, href in rows if "#claim-" in href]
    assert len(claims) == len(set(claims))  # one row per claim, never one per citation


# --- in a browser ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def page(browser: Any) -> Iterator[Any]:
    """One page for the file's browser tests: a new page costs a Chromium renderer (about a second);
    each test sets its own viewport and colour scheme (and JavaScript), then loads the page itself."""
    context = browser.new_context()
    yield context.new_page()
    context.close()


def _open(pg: Any, url: str, width: int, height: int, scheme: str = "light") -> None:
    pg.set_viewport_size({"width": width, "height": height})
    pg.emulate_media(color_scheme=scheme)
    pg.goto(url)


def _visible_kinds(pg: Any) -> list[str]:
    return pg.eval_on_selector_all(  # type: ignore[no-any-return]
        "table.allokb-errors tbody tr:not([hidden])", "rows => rows.map(r => r.dataset.kinds)")


@pytest.mark.browser
def test_filters_by_kind_with_javascript_and_in_the_url(page: Any, repo_url: str) -> None:
    pg = page
    _open(pg, repo_url + "corrections/", 1366, 900)
    total = len(_visible_kinds(pg))
    buttons = pg.locator(".allokb-kinds button")
    labels = buttons.all_inner_texts()
    assert labels[0] == f"All ({total})"
    assert [re.sub(r" \(\d+\)$", "", x) for x in labels[1:3]] == ["Number not in the cited paper",
                                                                 "Cited paper does not say this"]
    pg.get_by_role("button", name=re.compile(r"^Wrong or misspelt authors")).click()
    kinds = _visible_kinds(pg)
    assert kinds and all("wrong-authors" in k.split() for k in kinds)
    assert labels[[re.sub(r" \(\d+\)$", "", x) for x in labels].index("Wrong or misspelt authors")] == \
        f"Wrong or misspelt authors ({len(kinds)})"
    assert pg.inner_text(".allokb-kinds [role=status]") == f"{len(kinds)} of {total} shown"
    assert pg.get_attribute("button[data-kind=wrong-authors]", "aria-pressed") == "true"
    assert pg.url.endswith("corrections/?kind=wrong-authors")
    pg.reload()  # the filter lives in the URL
    assert _visible_kinds(pg) == kinds
    pg.get_by_role("button", name=re.compile(r"^All ")).click()
    assert len(_visible_kinds(pg)) == total and pg.url.endswith("corrections/")


@pytest.mark.browser
def test_without_javascript_every_row_shows_and_no_button(page: Any, repo_url: str) -> None:
    pg = page
    # What `new_context(java_script_enabled=False)` sets in Chromium, on the file's page for this test
    cdp = pg.context.new_cdp_session(pg)
    cdp.send("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        _open(pg, repo_url + "corrections/?kind=wrong-authors", 1280, 720)
        rows = pg.query_selector_all("table.allokb-errors tbody tr")
        assert len(rows) == len(re.findall(r"<tr data-kinds=", _get(repo_url + "corrections/")))
        assert all(r.is_visible() for r in rows)
        assert pg.query_selector_all(".allokb-kinds") == []
    finally:
        cdp.send("Emulation.setScriptExecutionDisabled", {"value": False})
        cdp.detach()


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_on_a_phone_rows_are_cards_and_the_top_error_is_on_the_first_screen(page: Any, repo_url: str,
                                                                             scheme: str) -> None:
    pg = page
    _open(pg, repo_url + "corrections/", 375, 800, scheme)
    assert pg.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") is (scheme == "dark")
    assert pg.evaluate("document.documentElement.scrollWidth") <= 375
    first = pg.locator("table.allokb-errors tbody tr").first
    assert first.evaluate("r => getComputedStyle(r).display") == "block"
    box = first.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375
    assert box["y"] < 800  # the most serious error starts on the first screen
    assert first.locator("td").first.inner_text().startswith("Number not in the cited paper")
    assert pg.locator("table.allokb-errors thead").bounding_box()["height"] <= 1
