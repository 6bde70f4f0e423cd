"""The three reader tasks of issue 15, done in Debian's Chromium on the repository's own site.

(a) A man on TRT: from the home page, the "Start here" link opens the summary table filtered for
    men on TRT (in its URL); each row's evidence is the evidence in men on TRT, or says there is
    none; what to avoid is among the rows; an entry opens with its bottom line: 3 clicks at most.
(b) Oral progesterone: the page opens with its bottom line (the route is in it), and one click on
    "Doses as studied" shows the studied doses, with their route, at the top of the screen.
(c) What the post got wrong: the corrections page shows its first errors on the first screen.
Also: a filtered view can be linked (its filters are read back from the URL), and an outcome with
no graded evidence in a population is said in words.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError

pytestmark = pytest.mark.browser


def _visible_rows(page: Any) -> list[list[str]]:
    return page.evaluate("""[...document.querySelectorAll('table.allokb-summary tbody tr')]
        .filter(r => !r.hidden).map(r => [...r.cells].map(c => c.innerText.trim()))""")


def test_a_men_on_trt_within_three_clicks(tabs: Any, repo_url: str) -> None:
    with tabs(viewport={"width": 1366, "height": 900}) as page:
        page.goto(repo_url)
        page.locator(".allokb-start a", has_text="Men on TRT").click()  # click 1
        page.wait_for_load_state()
        assert page.url.endswith("/interventions/?population=men-on-trt")
        assert page.locator("select[data-allokb-filter=population]").input_value() == "men-on-trt"
        rows = _visible_rows(page)
        assert 3 <= len(rows) < 19
        headers = page.evaluate("[...document.querySelectorAll('table.allokb-summary thead th')].map(h => h.innerText)")
        population, evidence, effect = (headers.index(h) for h in ("Population", "Evidence for its main use",
                                                                   "Effect on ALLO"))
        for row in rows:
            assert "Men on TRT" in row[population]
            # The evidence shown is the evidence in men on TRT, or says that there is none.
            lines = row[evidence].splitlines()
            assert lines and all(", men on TRT: " in line or line == "No graded evidence in men on TRT" for line in lines)
        assert any("avoiding" in row[effect].lower() for row in rows)  # what to avoid
        page.locator("table.allokb-summary tbody tr:not([hidden]) a", has_text="hCG add-back").click()  # click 2
        page.wait_for_load_state()
        first = page.evaluate("document.querySelector('article h1').nextElementSibling.id")
        assert first == "bottom-line"


def test_a_filters_live_in_the_url_and_none_is_said(tabs: Any, repo_url: str) -> None:
    with tabs(viewport={"width": 1366, "height": 900}) as page:
        page.goto(repo_url + "interventions/?population=postpartum-women&outcome=sleep")
        assert page.locator("select[data-allokb-filter=outcome]").input_value() == "sleep"
        assert _visible_rows(page) == []
        assert page.locator("[data-allokb-none]").inner_text() == (
            "No intervention in this knowledge base has graded evidence for sleep in postpartum women.")
        page.select_option("select[data-allokb-filter=outcome]", "depressive-symptoms")
        assert page.url.endswith("/interventions/?population=postpartum-women&outcome=depressive-symptoms")
        rows = _visible_rows(page)
        assert {r[0].split(" (")[0] for r in rows} >= {"Brexanolone", "Zuranolone"}
        assert page.locator("[data-allokb-none]").is_hidden()
        # A value the page does not offer is ignored, not trusted.
        page.goto(repo_url + "interventions/?population=%3Cimg%20src%3Dx%3E")
        assert page.locator("select[data-allokb-filter=population]").input_value() == ""
        assert len(_visible_rows(page)) == 19


def test_b_oral_progesterone_route_and_studied_doses(tabs: Any, repo_url: str) -> None:
    with tabs(viewport={"width": 1366, "height": 900}) as page:
        page.set_viewport_size({"width": 1366, "height": 800})  # put back when the tab is given back
        page.goto(repo_url + "interventions/oral-micronized-progesterone/")
        bottom = page.locator("#bottom-line")
        assert "by mouth" in bottom.inner_text()
        assert bottom.bounding_box()["y"] < 400  # in the first screen
        page.locator(".md-nav--secondary a", has_text="Doses as studied").first.click()  # click 1
        table = page.locator("#doses-studied + table, #doses-studied ~ * table").first
        # the jump has happened when the table's top is on the screen (up to 5 s; then the box says where it is)
        try:
            table.evaluate("t => new Promise((done, fail) => { const until = Date.now() + 5000; (function look() {"
                           " const y = t.getBoundingClientRect().y; if (y >= 0 && y < 800) done();"
                           " else if (Date.now() > until) fail(); else requestAnimationFrame(look); })(); })")
        except PlaywrightError:
            pass
        box = table.bounding_box()
        assert box is not None and 0 <= box["y"] < 800  # the studied doses are on screen
        cells = table.evaluate("t => [...t.tHead.rows[0].cells].map(c => c.innerText)")
        assert {"Route", "Amount", "n", "Design"} <= set(cells)
        first_row = table.evaluate("t => [...t.tBodies[0].rows[0].cells].map(c => c.innerText)")
        assert first_row[cells.index("Route")] in {"oral", "vaginal", "intramuscular"}


def test_c_corrections_show_the_top_errors_first(tabs: Any, repo_url: str) -> None:
    with tabs(viewport={"width": 1366, "height": 900}) as page:
        page.set_viewport_size({"width": 1366, "height": 800})  # put back when the tab is given back
        page.goto(repo_url + "corrections/")
        first = page.locator("#errors ~ * tbody tr, #errors ~ table tbody tr").first
        box = first.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 800
