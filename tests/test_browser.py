"""What a reader sees, in a real browser: Debian's Chromium driven by Playwright, the site
served over HTTP on 127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from browser import Pages, axe_violations, scroll_width
from conftest import lent_tab
from playwright.sync_api import Browser, Page, expect


pytestmark = pytest.mark.browser


@pytest.fixture
def base_url(fixture_url: str) -> str:
    """The valid fixture's site, served: the session's shared build (tests/conftest.py)."""
    return fixture_url


@pytest.fixture
def page(tabs: Any, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A kept tab, reset between tests (conftest.lent_tab): a new context each costs Chromium about
    1.5 s of CPU."""
    with lent_tab(tabs, request, viewport={"width": 1280, "height": 900},
                  permissions=("clipboard-read", "clipboard-write")) as pg:
        yield pg


def _rows(page: Page) -> list[str]:
    return page.eval_on_selector_all("table.allokb-summary tbody tr:not([hidden]) td:first-child",
                                     "cells => cells.map(c => c.textContent.trim())")


def test_summary_table_sorts(page: Page, base_url: str) -> None:
    page.goto(base_url + "interventions/")
    assert _rows(page) == ["Avoid example blocker", "Example hormone"]
    header = page.locator("table.allokb-summary th", has_text="Intervention")
    header.click()
    first = _rows(page)
    header.click()
    assert _rows(page) == list(reversed(first))
    page.locator("table.allokb-summary th", has_text="Evidence for its main use").click()
    grades = page.eval_on_selector_all("table.allokb-summary tbody tr td:nth-child(4)",
                                       "cells => cells.map(c => c.dataset.sort)")
    assert grades in (sorted(grades), sorted(grades, reverse=True))


def test_summary_table_filters(page: Page, base_url: str) -> None:
    page.goto(base_url + "interventions/")
    page.fill("[data-allokb-filter-text]", "blocker")
    assert _rows(page) == ["Avoid example blocker"]
    assert page.inner_text("[data-allokb-count]") == "1 of 2 shown"
    page.fill("[data-allokb-filter-text]", "")
    page.select_option("select[data-allokb-filter=population]", "men-on-trt")
    assert _rows(page) == ["Example hormone"]
    page.select_option("select[data-allokb-filter=category]", "avoidance")
    assert _rows(page) == []


def test_table_is_complete_without_javascript(browser: Browser, base_url: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    pg = context.new_page()
    pg.goto(base_url + "interventions/")
    assert len(pg.query_selector_all("table.allokb-summary tbody tr")) == 2
    assert not pg.is_visible("[data-allokb-filters]")
    context.close()


def test_search_finds_an_intervention(page: Page, base_url: str) -> None:
    page.goto(base_url)
    page.keyboard.press("/")  # Material's shortcut to the search box
    page.locator("input.md-search__input").press_sequentially("hormone", delay=30)
    # Typed key by key, so the results of a shorter query (where the codes page comes first) can
    # show before those of the whole word: wait for the first result to be the entry (retried).
    result = page.locator(".md-search-result__item a").first
    expect(result).to_have_attribute("href", re.compile(r"interventions/example-hormone/"), timeout=10_000)


def test_citation_leads_to_reference_and_cited_by_leads_back(page: Page, base_url: str) -> None:
    page.goto(base_url + "interventions/example-hormone/")
    # The claim's best supporting quote is open: its "Reference page" link shows without a click.
    page.get_by_role("link", name="Reference page").first.click()
    page.wait_for_url(re.compile(r".*/references/smith2020example/$"))
    cited_by = page.locator("#cited-by + ul a").first
    assert cited_by.inner_text() == "Example hormone"
    cited_by.click()
    page.wait_for_url(re.compile(r".*/interventions/example-hormone/#claim-raises-level$"))
    assert page.locator("#claim-raises-level").is_visible()


def test_cite_box_copies_text(page: Page, base_url: str) -> None:
    page.goto(base_url + "interventions/example-hormone/")
    block = page.locator("#cite-this-page ~ div.highlight").first
    block.hover()
    block.locator("button[data-md-type=copy]").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("Allopregnanolone Evidence Atlas. Example hormone. Updated ")
    assert copied.rstrip().endswith("/atlas/interventions/example-hormone/")


def test_dark_mode_toggle(page: Page, base_url: str) -> None:
    page.goto(base_url)
    scheme = page.get_attribute("body", "data-md-color-scheme")
    page.locator("label.md-header__button[for^=__palette]:visible").first.click()
    assert page.get_attribute("body", "data-md-color-scheme") != scheme
    page.reload()
    assert page.get_attribute("body", "data-md-color-scheme") != scheme  # remembered


# --- every page loaded once per width: the records the tests below assert on -------------------

#: The fixture's pages at 1280 px, with axe's serious violations (the one page of the tests above
#: each; the first list of pages is also the one whose requests are checked).
WIDE_PAGES = ["", "interventions/", "interventions/example-hormone/", "mechanisms/", "mechanisms/step-two/",
              "references/", "references/smith2020example/", "evidence/", "corrections/"]
REQUEST_PAGES = ["", "interventions/", "interventions/example-hormone/", "mechanisms/", "references/", "evidence/"]
NARROW_PAGES = ["", "interventions/", "interventions/example-hormone/", "mechanisms/",
                "references/smith2020example/", "evidence/", "corrections/"]


@pytest.fixture(scope="module")
def wide(tabs: Any, fixture_url: str) -> Iterator[Pages]:
    pages = Pages(tabs, fixture_url, {"axe": axe_violations}, viewport={"width": 1280, "height": 900})
    yield pages
    pages.close()


@pytest.fixture(scope="module")
def narrow(tabs: Any, fixture_url: str) -> Iterator[Pages]:
    pages = Pages(tabs, fixture_url, {"width": scroll_width}, viewport={"width": 375, "height": 800})
    yield pages
    pages.close()


@pytest.mark.parametrize("path", NARROW_PAGES)
def test_no_horizontal_scrolling_at_375px(narrow: Pages, path: str) -> None:
    assert narrow(path)["width"] <= 375


def outside(requests: list[str]) -> list[str]:
    """The requests that leave 127.0.0.1 (data: URLs do not leave the page)."""
    return [u for u in requests if not u.startswith("http://127.0.0.1:") and not u.startswith("data:")]


def test_no_request_leaves_127_0_0_1(wide: Pages) -> None:
    requests = {path: wide(path).requests for path in REQUEST_PAGES}
    assert all(requests.values()) and {path: outside(urls) for path, urls in requests.items()} \
        == {path: [] for path in REQUEST_PAGES}


# Violations that come from Material's own markup, not from our templates: (axe rule, the
# element's selector). Anything else fails.
THEME_VIOLATIONS = {
    ("aria-dialog-name", ".md-search"),  # Material's search dialog has role=dialog and no name
}


def serious_violations(violations: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """axe-core's serious and critical violations, less the ones from Material's own markup."""
    return [(v["id"], node["target"]) for v in violations
            if v["impact"] in ("serious", "critical") for node in v["nodes"]
            if (v["id"], node["target"][0]) not in THEME_VIOLATIONS]


@pytest.mark.parametrize("path", WIDE_PAGES)
def test_axe_finds_no_serious_violation(wide: Pages, path: str) -> None:
    assert serious_violations(wide(path)["axe"]) == []


REAL_PAGES = ["", "interventions/", "interventions/oral-micronized-progesterone/",
              "interventions/avoid-5a-reductase-inhibitors/", "mechanisms/", "mechanisms/biphasic-effect/",
              "references/", "references/irwig2012depressive/", "evidence/", "corrections/"]


@pytest.fixture(scope="module")
def real_narrow(tabs: Any, repo_url: str) -> Iterator[Pages]:
    pages = Pages(tabs, repo_url, {"width": scroll_width, "axe": axe_violations},
                  viewport={"width": 375, "height": 800})
    yield pages
    pages.close()


@pytest.mark.parametrize("path", WIDE_PAGES)
def test_no_page_logs_an_error(wide: Pages, path: str) -> None:
    """No console error (a missing file, a blocked resource, a script's error) and no uncaught error."""
    seen = wide(path)
    assert (seen.console_errors, seen.page_errors) == ([], [])


@pytest.mark.parametrize("path", REAL_PAGES)
def test_real_pages_fit_375px_and_pass_axe(real_narrow: Pages, path: str) -> None:
    seen = real_narrow(path)
    assert seen["width"] <= 375
    assert [u for u in seen.requests if not u.startswith("http://127.0.0.1:")] == []
    assert serious_violations(seen["axe"]) == []
    assert (seen.console_errors, seen.page_errors) == ([], [])
