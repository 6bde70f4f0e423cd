"""The Content-Security-Policy in a real browser (Debian's Chromium through Playwright, the site
served on 127.0.0.1): a payload planted past the audit (switched off, for this test only) does
not run and is reported as a violation; the real site works under the policy and violates it
nowhere."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from allokb.audit import audit_site
from allokb.report import format_text
from browser import Pages, Watch, serve
from conftest import copy_site

pytestmark = pytest.mark.browser

# Runs before the page's own scripts (Playwright injects it, outside the page's policy).
WATCH = ("window.__violations = [];"
         "document.addEventListener('securitypolicyviolation',"
         " e => window.__violations.push([e.violatedDirective, e.blockedURI]));")
PLANTED = ('<h1>Planted</h1>\n<p><img src=x onerror="alert(\'onerror\')"></p>\n'
           "<script>alert('inline')</script>\n"
           '<p><a id="planted-link" href="javascript:alert(\'link\')">a javascript: link</a></p>\n')
SITE_URL = "https://allo-atlas.github.io/atlas/"  # the fixture's, from the repository's mkdocs.yml
#: what the post-build audit says of the planted page (a build would fail on it)
HINT = "a source let raw HTML reach the page: escape it where it is rendered, or remove it from the hand-written page"
AUDIT_REFUSES = [
    f"planted/index.html:1:1: error[KB510] $: <a href=\"javascript:alert('link')\">: a `javascript:` URL ({HINT})",
    f"planted/index.html:1:1: error[KB510] $: <img onerror=\"alert('onerror')\">: an event-handler attribute ({HINT})",
    "planted/index.html:1:1: error[KB510] $: <script> `alert('inline')`: an inline script not on the theme's allowlist "
    "(sha256-TScIGhobyipxem24ndYIBWZtD0Xs9hLEYM6WrKlUtac=) (if the theme was upgraded, compare `python -m allokb.audit "
    "--print-hashes SITE` with THEME_INLINE_SCRIPTS in src/allokb/audit.py; otherwise a source let a script reach the page)",
]


@pytest.fixture(scope="module")
def planted_www(fixture_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the fixture's built site with one more page, planted after the build (past the
    audit, which refuses it): the about page with three payloads as its article."""
    www = tmp_path_factory.mktemp("csp-planted") / "www"
    site = copy_site(fixture_site, www / "atlas")
    about = (site / "about" / "index.html").read_text(encoding="utf-8")
    head, rest = about.split("<article", 1)
    article, tail = rest.split("</article>", 1)
    (site / "planted").mkdir()
    (site / "planted" / "index.html").write_text(
        head + "<article" + article.split(">", 1)[0] + ">" + PLANTED + "</article>" + tail, encoding="utf-8")
    assert [format_text(d) for d in audit_site(site, SITE_URL, only=["planted/index.html"])] == AUDIT_REFUSES
    return www


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
        watch = Watch(page)
        page.goto(url + "atlas/planted/")
        watch.settle()
        page.click("#planted-link")
        # the three payloads all run (three dialogs), or are all blocked (three console lines, three
        # violation events); anything else is waited for 5 s, then the test's assertions say what was seen
        _until(page, lambda: len(dialogs) == 3
               or (len(console) >= 3 and page.evaluate("window.__violations.length") >= 3))
    return dialogs, console


def _until(page: Page, done: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait, letting the page's events in, until `done()` or `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        page.wait_for_timeout(20)


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


REAL_PAGES = ["", "404.html", "interventions/", "interventions/oral-micronized-progesterone/", "mechanisms/",
              "mechanisms/biphasic-effect/", "references/", "references/irwig2012depressive/", "evidence/", "codes/"]


@pytest.fixture(scope="module")
def real_pages(browser: Browser, repo_url: str) -> Iterator[Pages]:
    """The repository's pages, each loaded once, watched for policy violations from the start."""
    pages = Pages(browser, repo_url, {"violations": lambda pg: pg.evaluate("window.__violations"),
                                      "theme": lambda pg: pg.evaluate("typeof __md_get")},
                  init_script=WATCH, viewport={"width": 1280, "height": 900})
    yield pages
    pages.close()


@pytest.mark.parametrize("path", REAL_PAGES)
def test_real_pages_violate_nothing(real_pages: Pages, path: str) -> None:
    seen = real_pages(path)
    assert seen["violations"] == []
    assert seen["theme"] == "function"  # the theme's inline scripts ran


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

    watch = Watch(page)
    page.goto(repo_url + "interventions/")  # sorting
    watch.settle()
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
