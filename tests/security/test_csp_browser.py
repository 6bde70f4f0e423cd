"""The Content-Security-Policy in a real browser (Debian's Chromium through Playwright, the site
served on 127.0.0.1): a payload planted past the audit (switched off, for this test only) does
not run and is reported as a violation; the real site works under the policy and violates it
nowhere."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from allokb.cli import main
from browser import serve
from conftest import make_site_project

pytestmark = pytest.mark.browser

# Runs before the page's own scripts (Playwright injects it, outside the page's policy).
WATCH = ("window.__violations = [];"
         "document.addEventListener('securitypolicyviolation',"
         " e => window.__violations.push([e.violatedDirective, e.blockedURI]));")
PLANTED = ('---\ntitle: Planted\n---\n\n# Planted\n\n<img src=x onerror="alert(\'onerror\')">\n\n'
           "<script>alert('inline')</script>\n\n"
           '<p><a id="planted-link" href="javascript:alert(\'link\')">a javascript: link</a></p>\n')


@pytest.fixture(scope="module")
def planted_www(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site built with a hand-written page holding three payloads, the audit switched off."""
    tmp = tmp_path_factory.mktemp("csp-planted")
    root = make_site_project(tmp / "project")
    (root / "content" / "pages" / "planted.md").write_text(PLANTED)
    config = root / "mkdocs.yml"
    config.write_text(config.read_text().replace("\nnav:\n", "\nnav:\n  - Planted: planted.md\n", 1))
    assert main(["build", str(root), "--site-dir", str(tmp / "www" / "atlas")]) == 1  # the audit refuses it
    os.environ["ALLOKB_TEST_SKIP_AUDIT"] = "1"
    try:
        assert main(["build", str(root), "--site-dir", str(tmp / "www" / "atlas")]) == 0
    finally:
        del os.environ["ALLOKB_TEST_SKIP_AUDIT"]
    return tmp / "www"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    pg = context.new_page()
    pg.add_init_script(WATCH)
    yield pg
    context.close()


def _open_planted(page: Page, www: Path) -> tuple[list[str], list[str]]:
    """Open the planted page and click its link: (dialogs shown, console lines about the policy)."""
    dialogs: list[str] = []
    console: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    with serve(www) as url:
        page.goto(url + "atlas/planted/")
        page.wait_for_load_state("networkidle")
        page.click("#planted-link")
        page.wait_for_timeout(500)
    return dialogs, console


def test_the_planted_payloads_are_live_without_the_policy(page: Page, planted_www: Path, tmp_path: Path) -> None:
    # The control: the same page without its policy <meta> runs all three payloads, so the next
    # test shows the policy blocking them, not payloads that never worked.
    www = shutil.copytree(planted_www, tmp_path / "www")
    path = www / "atlas" / "planted" / "index.html"
    path.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", path.read_text()))
    dialogs, _ = _open_planted(page, www)
    assert sorted(dialogs) == ["inline", "link", "onerror"]


def test_the_policy_blocks_the_planted_payloads(page: Page, planted_www: Path) -> None:
    dialogs, console = _open_planted(page, planted_www)
    assert dialogs == []
    assert sorted(map(tuple, page.evaluate("window.__violations"))) == [
        ("script-src-attr", "inline"), ("script-src-elem", "inline"), ("script-src-elem", "inline")]
    assert sorted(line.split(" violates the following Content Security Policy directive ")[0] for line in console) \
        == ["Executing inline event handler", "Executing inline script", "Running the JavaScript URL"]


@pytest.mark.parametrize("path", ["", "404.html", "interventions/", "interventions/oral-micronized-progesterone/",
                                  "mechanisms/", "mechanisms/biphasic-effect/", "references/",
                                  "references/irwig2012depressive/", "evidence/", "codes/"])
def test_real_pages_violate_nothing(page: Page, repo_url: str, path: str) -> None:
    page.goto(repo_url + path)
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__violations") == []
    assert page.evaluate("typeof __md_get") == "function"  # the theme's inline scripts ran


def _rows(page: Page) -> list[str]:
    return page.eval_on_selector_all("table.allokb-summary tbody tr:not([hidden]) td:first-child",
                                     "cells => cells.map(c => c.textContent.trim())")


def test_the_site_works_under_the_policy(page: Page, repo_url: str) -> None:
    page.goto(repo_url)
    page.keyboard.press("/")  # search: the worker and the index load from this site
    page.locator("input.md-search__input").press_sequentially("progesterone", delay=30)
    page.locator(".md-search-result__item a").first.wait_for(timeout=10_000)
    assert page.locator(".md-search-result__item").count() > 0
    page.keyboard.press("Escape")
    scheme = page.get_attribute("body", "data-md-color-scheme")  # palette toggle
    page.locator("label.md-header__button[for^=__palette]:visible").first.click()
    assert page.get_attribute("body", "data-md-color-scheme") != scheme
    assert page.evaluate("window.__violations") == []

    page.goto(repo_url + "interventions/")  # sorting
    page.wait_for_load_state("networkidle")
    first = _rows(page)
    header = page.locator("table.allokb-summary th", has_text="Intervention")
    header.click()
    once = _rows(page)
    header.click()
    assert _rows(page) == list(reversed(once)) and sorted(first) == sorted(once)
    assert page.evaluate("window.__violations") == []

    page.goto(repo_url + "interventions/oral-micronized-progesterone/")  # copy
    block = page.locator("#cite-this-page ~ div.highlight").first
    block.hover()
    block.locator("button[data-md-type=copy]").click()
    assert page.evaluate("navigator.clipboard.readText()").startswith("Allopregnanolone Evidence Atlas. ")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__violations") == []
