"""The evidence map paged by interventions (allokb.render.evidence_map, urls.MAP_PER_PAGE): a
generated knowledge base of more interventions than a map page holds, each heavier than the real
site's (three lines and three cells where a real one has 1.6 and 2.7), is built once with the real
page size; every page of its map loads in under 250 KB (counted as tests/test_pagination.py checks
it against Chromium), the map's page links reach every intervention and every cell without
JavaScript, and the URL plan lists the map's extra pages and nothing else new. The real site's map
stays one page at its old URL (its golden page: tests/golden/evidence-map.md)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import pytest
from conftest import REPO, Built

from allokb import urls
from allokb.render import paging

sys.path.insert(0, str(REPO / "benchmarks"))
from bench_build import LIMIT, first_load_bytes, project_from  # noqa: E402
from bench_check import generate  # noqa: E402

#: interventions: one more than a map page, so that the first page is full and a second one exists
INTERVENTIONS = urls.MAP_PER_PAGE + 1
#: the populations and outcomes each generated intervention's three claims are moved to: three
#: lines and three cells on the map (the generator puts all three on one cell)
LINES = (("allo-level", "general-adults"), ("anxiety", "men-on-trt"), ("depressive-symptoms", "postpartum-women"))


class _Parse(HTMLParser):
    """The links (`<a href>`, in HTML or SVG) and element ids of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            self.hrefs.append(found["href"] or "")
        if found.get("id"):
            self.ids.add(found["id"] or "")


def _parse(path: Path) -> _Parse:
    parser = _Parse()
    parser.feed(path.read_text())
    return parser


def _make(folder: Path) -> Path:
    """A generated knowledge base of `INTERVENTIONS` interventions (and as many mechanisms)."""
    generate(folder / "content-src", 2 * INTERVENTIONS)
    for path in sorted((folder / "content-src" / "content" / "interventions").glob("*.yaml")):
        text = path.read_text().replace("populations: [general-adults]",
                                        f"populations: [{', '.join(p for _, p in LINES)}]")
        claims = text.split("  - id: c")
        for c, (outcome, population) in enumerate(LINES, start=1):
            claims[c] = claims[c].replace("outcome: allo-level", f"outcome: {outcome}").replace(
                "population: general-adults", f"population: {population}")
        path.write_text("  - id: c".join(claims))
    return project_from(folder / "content-src", folder / "project")


@pytest.fixture(scope="module")
def large() -> Iterator[Built]:
    import tempfile

    from allokb.cli import main

    with tempfile.TemporaryDirectory(prefix="allokb-mapweight-") as tmp:
        site = Path(tmp) / "www" / "atlas"
        project = _make(Path(tmp))
        assert main(["build", str(project), "--site-dir", str(site)]) == 0
        yield Built(project, site)


def _map_pages(site: Path) -> list[Path]:
    return [site / "evidence-map" / "index.html", *sorted((site / "evidence-map" / "page").glob("*/index.html"))]


def _site_path(page: Path, href: str, site: Path) -> str:
    """The site path (`interventions/int-1/`) a relative link of `page` leads to, and its anchor."""
    base = "http://x/" + page.parent.relative_to(site).as_posix() + "/"
    return urljoin(base, href).removeprefix("http://x/")


# --- without a build ---------------------------------------------------------------------------------

def test_map_pages_are_numbered_like_the_index_pages() -> None:
    assert urls.map_page_src(1) == "evidence-map.md"
    assert urls.map_page_src(3) == "evidence-map/page/3.md"
    assert urls.page_url(urls.map_page_src(3)) == "/evidence-map/page/3/"
    assert [urls.map_page_count(n) for n in (0, 1, urls.MAP_PER_PAGE, urls.MAP_PER_PAGE + 1)] == [1, 1, 1, 2]
    assert paging.map_paging_view(1, urls.MAP_PER_PAGE) is None
    view = paging.map_paging_view(2, 2 * urls.MAP_PER_PAGE + 1)
    assert view is not None
    assert (view["first"], view["last"], view["count"]) == (urls.MAP_PER_PAGE + 1, 2 * urls.MAP_PER_PAGE, 3)
    assert [link["href"] for link in view["links"]] == ["../../../evidence-map/", "../../../evidence-map/page/2/",
                                                        "../../../evidence-map/page/3/"]
    first = paging.map_paging_view(1, 2 * urls.MAP_PER_PAGE + 1)
    assert first is not None and first["next"] == "../evidence-map/page/2/"


def test_the_real_site_has_one_map_page_and_no_new_url() -> None:
    from allokb.project import check_project

    kb = check_project(REPO).kb
    assert urls.extra_map_pages(kb) == []
    manifest = {line.strip() for line in (REPO / "urls.txt").read_text().splitlines() if line.startswith("/")}
    assert "/evidence-map/" in manifest and not [u for u in manifest if u.startswith("/evidence-map/page/")]


# --- a knowledge base larger than a map page -----------------------------------------------------------

def test_the_map_gets_new_urls_for_its_extra_pages_only(large: Built) -> None:
    from allokb.project import check_project

    plan = urls.plan_urls(large.root, check_project(large.root).kb)
    assert sorted(u for u in plan.urls if u.startswith("/evidence-map/")) == ["/evidence-map/", "/evidence-map/page/2/"]
    built = sorted("/" + p.parent.relative_to(large.site).as_posix() + "/" for p in _map_pages(large.site))
    assert built == ["/evidence-map/", "/evidence-map/page/2/"]
    assert not (large.site / "evidence-map" / "page" / "1").exists()


def _nav_bytes(html: str) -> int:
    """The bytes of a page's page links (the paging partial, twice: above and below the map)."""
    return sum(len(m.encode()) for m in re.findall(r'<nav class="allokb-pages".*?</nav>', html))


def test_every_map_page_loads_in_under_250_kb(large: Built) -> None:
    from allokb.render.environment import make_environment

    pages = _map_pages(large.site)
    loads = {p.parent.relative_to(large.site).as_posix(): first_load_bytes(large.site, p)[0] for p in pages}
    assert all(size < LIMIT for size in loads.values()), loads
    # The page links are the only part of a map page that grows with the knowledge base: at
    # 10,000 entries (5,000 interventions) the full first page stays under the limit too.
    partial = make_environment(REPO).get_template("partials/paging.md.j2")
    at_10000 = 2 * len(partial.render(paging=paging.map_paging_view(1, 5000)).encode())
    assert loads["evidence-map"] - _nav_bytes(pages[0].read_text()) + at_10000 < LIMIT, (loads, at_10000)
    # the first page holds a full page of interventions of more than real-size weight (so the
    # budget is tested, not a near-empty page)
    first = _parse(pages[0])
    names = {h for h in first.hrefs if re.fullmatch(r"\.\./interventions/int-\d+/", h)}
    assert len(names) == urls.MAP_PER_PAGE


def test_the_page_links_reach_every_intervention_and_cell_without_javascript(large: Built) -> None:
    site = large.site
    seen: set[str] = set()
    todo = ["evidence-map/"]
    cells: dict[str, set[str]] = {}  # intervention page -> the anchors map cells link to
    names: set[str] = set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        page = site / path / "index.html"
        for href in _parse(page).hrefs:
            target = _site_path(page, href, site)
            where, _, anchor = target.partition("#")
            if re.fullmatch(r"evidence-map/(page/\d+/)?", where):
                todo.append(where)
            elif match := re.fullmatch(r"interventions/(int-\d+)/", where):
                (cells.setdefault(match[1], set()).add(anchor) if anchor else names.add(match[1]))
    assert seen == {"evidence-map/", "evidence-map/page/2/"}
    expected = {f"int-{i}" for i in range(INTERVENTIONS)}
    assert names == expected and set(cells) == expected
    for ident, anchors in cells.items():
        assert anchors == {f"evidence-{o}-{p}" for o, p in LINES}, ident
        assert anchors <= _parse(site / "interventions" / ident / "index.html").ids, ident


def test_the_second_page_links_back_and_is_left_out_of_search(large: Built) -> None:
    page = large.site / "evidence-map" / "page" / "2" / "index.html"
    html = page.read_text()
    assert '<a href="../../../evidence-map/" rel="prev">previous</a>' in html
    assert "<title>Evidence map (page 2 of 2) - Allopregnanolone Evidence Atlas</title>" in html
    # its interventions are searched on their own pages; the first page stays searchable
    assert "data-pagefind-body" not in html
    assert "data-pagefind-body" in (large.site / "evidence-map" / "index.html").read_text()
    # its Markdown links (the rubric's) are relative to its own folder
    assert "evidence/" in {_site_path(page, href, large.site) for href in _parse(page).hrefs}
