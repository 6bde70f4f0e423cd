"""Index pages split into pages (allokb.render.paging): the real site's index URLs are unchanged;
a generated knowledge base larger than a page, built with small pages (so that ~50 entries do),
has page links that reach every entry without JavaScript, new URLs only for its extra pages, and
a summary table whose URL filters find matching rows on every page (Debian's Chromium)."""

from __future__ import annotations

import contextlib
import io
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from conftest import REPO, Built

from allokb import urls
from allokb.kinds import CITATION, INTERVENTION, MECHANISM
from allokb.render import overview, paging

sys.path.insert(0, str(REPO / "benchmarks"))
from bench_build import first_load_bytes, project_from  # noqa: E402
from bench_check import generate  # noqa: E402

SMALL = {INTERVENTION.name: 7, MECHANISM.name: 7, CITATION.name: 27}
ENTRIES = 40  # 20 interventions, 20 mechanisms, 80 references: 3 pages of each (over 100 pages in all)
#: interventions given a second population, so that a filter matches rows on several pages
MEN = ("int-2", "int-12", "int-17")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def links_of(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    return parser.hrefs


@contextmanager
def _small_pages() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name, size in SMALL.items():
            patch.setitem(urls.PER_PAGE, name, size)
        patch.setattr(overview, "HOME_PER_CATEGORY", 5)
        yield


def _make_large(folder: Path) -> Path:
    generate(folder / "content-src", ENTRIES)
    for ident in MEN:
        path = folder / "content-src" / "content" / "interventions" / f"{ident}.yaml"
        path.write_text(path.read_text().replace("populations: [general-adults]",
                                                 "populations: [general-adults, men-on-trt]"))
    return project_from(folder / "content-src", folder / "project")


@dataclass(frozen=True)
class LargeBuild(Built):
    """`large`, and what its one `allokb build` said on stderr and how often it checked the project."""

    stderr: str
    checks: int


@pytest.fixture(scope="module")
def large() -> Iterator[LargeBuild]:
    """The large knowledge base, built once with small pages by `allokb build` in-process (over
    100 pages: it also shows a long build's progress, and that a build checks the project once)."""
    import tempfile

    import allokb.project
    from allokb.cli import main

    with tempfile.TemporaryDirectory(prefix="allokb-paging-") as tmp:
        site = Path(tmp) / "www" / "atlas"
        checks: list[Path] = []
        real = allokb.project._check
        stderr = io.StringIO()  # not a TTY: plain progress lines
        with _small_pages(), pytest.MonkeyPatch.context() as patch, contextlib.redirect_stderr(stderr):
            patch.setattr(allokb.project, "_check", lambda root, *rest, **named: (checks.append(root), real(root, *rest, **named))[1])
            project = _make_large(Path(tmp))
            assert main(["build", str(project), "--site-dir", str(site)]) == 0, stderr.getvalue()
        yield LargeBuild(project, site, stderr.getvalue(), len(checks))


@pytest.fixture(scope="module")
def large_url(large: Built) -> Iterator[str]:
    from browser import serve

    with serve(large.site.parent) as url:
        yield url + "atlas/"


# --- the real site: one page per index, nothing new ----------------------------------------------

def test_the_real_site_has_one_page_per_index_and_no_new_url(repo_site: Path) -> None:
    from allokb.project import check_project

    kb = check_project(REPO).kb
    assert urls.extra_index_pages(kb) == []
    manifest = {line.strip() for line in (REPO / "urls.txt").read_text().splitlines() if line.startswith("/")}
    assert {"/interventions/", "/mechanisms/", "/references/"} <= manifest
    assert not [u for u in manifest if "/page/" in u]
    assert sorted(p.relative_to(repo_site).as_posix() for p in repo_site.glob("*/page")) == []
    for section in ("interventions", "mechanisms", "references"):
        html = (repo_site / section / "index.html").read_text()
        assert "data-allokb-paging" not in html and "data-pages=" not in html


def test_paging_links_are_relative_to_each_page() -> None:
    assert urls.index_page_src(INTERVENTION, 1) == "interventions/index.md"
    assert urls.index_page_src(INTERVENTION, 3) == "interventions/page/3.md"
    assert urls.index_page_count(INTERVENTION, 0) == 1
    assert urls.index_page_count(INTERVENTION, 80) == 1
    assert urls.index_page_count(INTERVENTION, 81) == 2
    assert paging.paging_view(INTERVENTION, 1, 80) is None
    view = paging.paging_view(INTERVENTION, 2, 200)
    assert view is not None
    assert (view["first"], view["last"], view["count"]) == (81, 160, 3)
    assert [link["href"] for link in view["links"]] == ["../../../interventions/", "../../../interventions/page/2/",
                                                        "../../../interventions/page/3/"]
    assert (view["previous"], view["next"]) == ("../../../interventions/", "../../../interventions/page/3/")
    first = paging.paging_view(INTERVENTION, 1, 200)
    assert first is not None and first["links"][2]["href"] == "../interventions/page/3/"
    assert paging.option_pages(INTERVENTION, [{"population": ["a"]}] * 80 + [{"population": ["a", "b"]}]) == \
        {"population": {"a": "1 2", "b": "2"}}


# --- a knowledge base larger than a page -----------------------------------------------------------

def test_extra_pages_get_new_urls_and_nothing_else(large: Built) -> None:
    from allokb.project import check_project

    with _small_pages():
        plan = urls.plan_urls(large.root, check_project(large.root).kb)
    paged = sorted(u for u in plan.urls if "/page/" in u)
    assert paged == ["/interventions/page/2/", "/interventions/page/3/", "/mechanisms/page/2/", "/mechanisms/page/3/",
                     "/references/page/2/", "/references/page/3/"]
    built = sorted("/" + p.parent.relative_to(large.site).as_posix() + "/" for p in large.site.glob("*/page/*/index.html"))
    assert built == paged
    assert not (large.site / "interventions" / "page" / "1").exists()


@pytest.mark.parametrize("section, count", [("interventions", 20), ("mechanisms", 20), ("references", 80)])
def test_every_entry_is_reached_from_the_index_without_javascript(large: Built, section: str, count: int) -> None:
    """Following the index's plain links (page links included), from /<section>/, reaches every
    entry's page (the diagram's links left aside: it is on the first page only)."""
    base = "http://site/atlas/"
    seen_pages, entries, todo = set(), set(), [f"{base}{section}/"]
    while todo:
        url = todo.pop()
        if url in seen_pages:
            continue
        seen_pages.add(url)
        html = (large.site / urlsplit(url).path.removeprefix("/atlas/") / "index.html").read_text()
        html = re.sub(r'<figure class="allokb-diagram".*?</figure>', "", html, flags=re.S)
        for href in links_of(html):
            target = urljoin(url, href).split("#")[0]
            if not target.startswith(base):
                continue  # the cite box's permalinks
            path = urlsplit(target).path.removeprefix("/atlas/")
            if re.fullmatch(rf"{section}/page/\d+/", path) or path == f"{section}/":
                todo.append(target)
            elif re.fullmatch(rf"{section}/[^/]+/", path) and path != f"{section}/page/":
                entries.add(path)
                assert (large.site / path / "index.html").exists(), path
    assert len(seen_pages) == 3
    assert len(entries) == count


def test_home_lists_a_few_per_category_and_links_the_rest(large: Built) -> None:
    html = (large.site / "index.html").read_text()
    assert '<a href="interventions/?category=supplement">15 more</a>' in html


# --- in the browser -------------------------------------------------------------------------------

def _rows(page: Any) -> list[str]:
    return page.evaluate("""[...document.querySelectorAll('table.allokb-summary tbody tr')]
        .filter(r => !r.hidden).map(r => r.cells[0].innerText.trim())""")


def _page_of(large: Built, name: str) -> int:
    for number in (1, 2, 3):
        path = large.site / "interventions" / ("" if number == 1 else f"page/{number}") / "index.html"
        if f">{name}</a>" in path.read_text():
            return number
    raise AssertionError(name)


@pytest.mark.browser
def test_a_filter_finds_matching_rows_on_every_page(tabs: Any, large: Built, large_url: str) -> None:
    names = {f"Intervention {ident.split('-')[1]}" for ident in MEN}
    on = {_page_of(large, name) for name in names}
    assert len(on) >= 2  # the matches are on different pages
    with tabs() as page:  # a kept tab, its cache emptied: each page is fetched anew
        fetched: list[str] = []

        def record(request: Any) -> None:
            fetched.append(request.url)

        page.on("requestfinished", record)
        page.goto(large_url + "interventions/page/2/?population=men-on-trt")
        page.wait_for_function("() => !document.querySelector('[data-allokb-count]').textContent.includes('searching')")
        assert sorted(_rows(page)) == sorted(names)
        assert page.locator("[data-allokb-count]").inner_text() == "3 of 20 shown"
        # Only the pages that hold a match were fetched, each once.
        pages = [u for u in fetched if "/interventions/" in u and u.endswith("/")]
        wanted = {large_url + "interventions/" + ("" if n == 1 else f"page/{n}/") for n in on - {2}}
        assert sorted(pages) == sorted(wanted)
        assert page.locator("[data-allokb-paging]").first.is_hidden()
        # A row from another page links to its entry (its link was relative to its own page).
        other = next(n for n in names if _page_of(large, n) != 2)
        page.locator("table.allokb-summary tbody tr:not([hidden]) a", has_text=other).click()
        page.wait_for_load_state()
        assert page.url == large_url + f"interventions/int-{other.split()[1]}/"
        page.remove_listener("requestfinished", record)  # the tab is lent again: nothing of this test stays


@pytest.mark.browser
def test_a_text_filter_searches_every_page_and_clearing_it_shows_this_page(tabs: Any, large: Built,
                                                                            large_url: str) -> None:
    last = next(f"Intervention {i}" for i in range(20) if _page_of(large, f"Intervention {i}") == 3)
    with tabs() as page:
        page.goto(large_url + "interventions/?q=" + last.replace(" ", "%20"))
        page.wait_for_function("() => !document.querySelector('[data-allokb-count]').textContent.includes('searching')")
        assert _rows(page) == [last]
        page.fill("input[data-allokb-filter-text]", "")
        assert len(_rows(page)) == 7
        assert page.locator("[data-allokb-count]").inner_text() == "7 of 20 shown"
        assert page.locator("[data-allokb-paging]").first.is_visible()
        assert page.url == large_url + "interventions/"


@pytest.mark.browser
def test_the_static_count_agrees_with_the_browser_on_the_real_site(browser: Any, repo_site: Path,
                                                                    repo_url: str) -> None:
    """benchmarks/bench_build.py counts a first load from the built files (HTML, its stylesheets,
    scripts, images and fonts); on the real site that count equals what Chromium fetches."""
    # The five pages load at once, each in a context of its own (nothing cached between them), so
    # that their half-second waits for a quiet network overlap.
    paths = ("", "interventions/", "references/", "mechanisms/", "interventions/oral-micronized-progesterone/")
    contexts, pages, fetched = [], [], []
    for path in paths:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        sizes: dict[str, int] = {}

        def finished(request: Any, sizes: dict[str, int] = sizes) -> None:
            sizes[request.url] = len(request.response().body())

        page.on("requestfinished", finished)
        page.goto(repo_url + path, wait_until="commit")
        contexts.append(context)
        pages.append(page)
        fetched.append(sizes)
    for page in pages:
        page.wait_for_load_state("networkidle")
    # Chromium asks for the favicon by itself, at or after the load event: with five pages loading at
    # once their quiet network can come before it. Each page gets up to 5 s more to fetch every
    # file the static count lists (a file it never fetches still fails the count below).
    deadline = time.monotonic() + 5
    for path, page, sizes in zip(paths, pages, fetched, strict=True):
        wanted = {repo_url + rel for rel in first_load_bytes(repo_site, repo_site / path / "index.html")[1]}
        while not wanted <= set(sizes) and time.monotonic() < deadline:
            page.wait_for_timeout(50)
    for context in contexts:
        context.close()
    for path, sizes in zip(paths, fetched, strict=True):
        static, loaded = first_load_bytes(repo_site, repo_site / path / "index.html")
        assert static == sum(sizes.values()), (path, sorted(sizes), loaded)


def test_the_diagram_is_on_the_first_page_only_and_left_out_when_too_large(large: Built) -> None:
    first = (large.site / "mechanisms" / "index.html").read_text()
    second = (large.site / "mechanisms" / "page" / "2" / "index.html").read_text()
    assert '<figure class="allokb-diagram"' in first and 'class="allokb-diagram-text"' in first
    assert "allokb-diagram" not in second
    assert paging.diagram_fits(12, 19) and paging.diagram_fits(60, 60) and not paging.diagram_fits(61, 60)


# --- the same build: a long build prints progress, and checks the project once ----------------------

def test_long_builds_print_progress(large: LargeBuild) -> None:
    lines = [line for line in large.stderr.splitlines() if line.startswith("build: ")]
    last = re.fullmatch(r"build: (\d+)/\1 pages written \(.+\)", lines[-1])
    assert last and int(last.group(1)) > 100
    assert 10 <= len(lines) <= 11  # not a TTY: a line every tenth of the pages, and one at the end


def test_allokb_build_checks_the_project_once(large: LargeBuild) -> None:
    assert large.checks == 1
