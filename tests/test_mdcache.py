"""Pages' converted Markdown from the cache (allokb.mdcache): a build that takes pages from it
writes the site a build without it writes, byte for byte; an edit converts again only the pages
it changed; a warning is logged, and fails a strict build, every time; a damaged entry, a folder
others can write, an extension that may read other files and a large site mean conversion as
before."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mkdocs.structure.pages import Page

import allokb.mdcache
import allokb.sink
from allokb.build import build
from allokb.diagnostics import KbError
from conftest import REPO, make_site_project, tree_digest


@pytest.fixture
def converted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """The pages converted (not taken from the cache) from now on, in this test's own cache."""
    monkeypatch.setenv("ALLOKB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764547200")
    done: list[str] = []
    real, reused = Page.render, allokb.sink.convert

    def counting(page: Page, config: object, files: object) -> None:
        done.append(page.file.src_uri)
        real(page, config, files)  # type: ignore[arg-type]

    def counting_reused(page: Page, config: object, files: object) -> None:
        done.append(page.file.src_uri)
        reused(page, config, files)

    monkeypatch.setattr(Page, "render", counting)
    monkeypatch.setattr(allokb.sink, "convert", counting_reused)
    return done


def _entries(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "cache" / "pages"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def _built(project: Path, site: Path) -> dict[str, str]:
    assert build(project, site).stage == "done"
    return tree_digest(site)


def test_a_build_from_the_cache_is_a_build_without_it(converted: list[str], tmp_path: Path) -> None:
    project = make_site_project(tmp_path / "project")
    cold = _built(project, tmp_path / "cold")  # every page converted, as without a cache
    pages = len(converted)
    assert pages > 10 and len(_entries(tmp_path)) == pages  # and kept
    converted.clear()
    assert _built(project, tmp_path / "warm") == cold
    assert converted == []  # every page from the cache

    # an edit of one record: its pages, and the pages that show its name, are converted again
    step = project / "content" / "mechanisms" / "step-two.yaml"
    step.write_text(step.read_text().replace("\nname: ", '\nname: "Step two, renamed" #', 1))
    converted.clear()
    edited = _built(project, tmp_path / "edited")
    assert "mechanisms/step-two.md" in converted and 0 < len(converted) < pages, converted

    # every entry damaged (cut short, garbage, another kind of pickle, empty): each a miss; the
    # pages all converted again give the site the edited build took mostly from the cache
    for i, entry in enumerate(_entries(tmp_path)):
        entry.write_bytes([entry.read_bytes()[:40], b"\x80\x05not a pickle", b"\x80\x04K\x01.", b""][i % 4])
    converted.clear()
    assert _built(project, tmp_path / "refreshed") == edited
    assert len(converted) == pages


def test_a_warning_is_logged_and_fails_a_strict_build_every_time(converted: list[str], tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    """A page that was taken from the cache, whose text stays the same while the file it links
    to goes: converted again, and it warns; and again in the next build (a page that warned is
    never kept)."""
    project = make_site_project(tmp_path / "project")
    pages = project / "content" / "pages"
    (pages / "extra.txt").write_text("A file to link to.\n")
    about = pages / "about.md"
    about.write_text(about.read_text() + "\n\nSee [the extra file](extra.txt).\n")
    _built(project, tmp_path / "site")
    (pages / "extra.txt").unlink()
    converted.clear()
    for attempt in range(2):
        with pytest.raises(KbError, match="1 warnings in strict mode"):
            build(project, tmp_path / "site")
        assert converted.count("about.md") == attempt + 1
    warned = [r for r in caplog.records if "extra.txt" in r.getMessage()]
    assert [r.levelname for r in warned] == ["WARNING", "WARNING"]


def test_one_converter_per_process_gives_what_mkdocs_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """Without the cache (as on a large site), every page is converted by the process's one
    converter, reset between pages: the site is MkDocs' own conversion of every page, byte for
    byte; the repository's site, whose pages use every extension and every kind of block."""
    monkeypatch.setenv("ALLOKB_CACHE_DIR", "")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764547200")
    reused: list[str] = []
    real = allokb.sink.convert

    anchors: dict[str, list[frozenset[str]]] = {}  # each page's anchors, from each conversion

    def counting(page: Page, config: object, files: object) -> None:
        reused.append(page.file.src_uri)
        real(page, config, files)
        anchors.setdefault(page.file.src_uri, []).append(frozenset(page.present_anchor_ids or ()))

    own: list[str] = []
    render = Page.render

    def counting_own(page: Page, config: object, files: object) -> None:
        own.append(page.file.src_uri)
        render(page, config, files)  # type: ignore[arg-type]
        anchors.setdefault(page.file.src_uri, []).append(frozenset(page.present_anchor_ids or ()))

    monkeypatch.setattr(allokb.sink, "convert", counting)
    monkeypatch.setattr(Page, "render", counting_own)
    project = make_site_project(tmp_path / "project", content_from=REPO)
    one = _built(project, tmp_path / "reused")
    assert own == [] and len(reused) > 100  # every page through the one converter
    monkeypatch.setattr(allokb.sink, "_reusable", lambda page: False)
    converted_first = sorted(reused)
    reused.clear()
    assert _built(project, tmp_path / "mkdocs") == one
    assert sorted(own) == converted_first  # the same pages, each by MkDocs' own conversion
    # the anchors MkDocs checks links against: the same, where the raw HTML was parsed or not
    # (in the second build a page goes through `convert` and MkDocs' own, both recorded)
    assert all(len(found) >= 2 and len(set(found)) == 1 for found in anchors.values()), {
        k: [sorted(x ^ v[0]) for x in v] for k, v in anchors.items() if len(v) < 2 or len(set(v)) > 1}
    assert sum(1 for found in anchors.values() if found[0]) > 10


def test_what_the_cache_does_not_serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An extension that may read other files, a large site, MkDocs at debug level, a folder
    others can write, `ALLOKB_CACHE_DIR=`: no cache."""
    monkeypatch.setenv("ALLOKB_CACHE_DIR", str(tmp_path / "cache"))
    project = make_site_project(tmp_path / "project")
    config = allokb.sink.load(project, tmp_path / "staging")
    engine = logging.getLogger("mkdocs")
    assert allokb.mdcache.PageCache(config, [], 10, engine).folder is not None
    assert allokb.mdcache.PageCache(config, [], allokb.mdcache.CACHED_BELOW_PAGES, engine).folder is None
    monkeypatch.setattr(logging.getLogger("mkdocs.structure.pages"), "level", logging.DEBUG)
    assert allokb.mdcache.PageCache(config, [], 10, engine).folder is None
    monkeypatch.setattr(logging.getLogger("mkdocs.structure.pages"), "level", logging.NOTSET)
    config["markdown_extensions"].append("pymdownx.snippets")
    assert allokb.mdcache.PageCache(config, [], 10, engine).folder is None
    config["markdown_extensions"].remove("pymdownx.snippets")
    (tmp_path / "cache" / "pages").chmod(0o777)  # a folder others can write
    assert allokb.mdcache.PageCache(config, [], 10, engine).folder is None
    monkeypatch.setenv("ALLOKB_CACHE_DIR", "")  # turned off
    assert allokb.mdcache.PageCache(config, [], 10, engine).folder is None


def test_the_folder_is_kept_to_its_size(converted: list[str], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Past `MAX_ENTRIES`, the entries used least recently go first: here, the home page's entry
    from before an edit of the page, which no build uses any more."""
    project = make_site_project(tmp_path / "project")
    _built(project, tmp_path / "first")
    entries = _entries(tmp_path)
    for entry in entries:
        os.utime(entry, (1_000_000_000, 1_000_000_000))  # last used long ago; a hit touches its entry
    monkeypatch.setattr(allokb.mdcache, "MAX_ENTRIES", len(entries) - 1)
    index = project / "content" / "pages" / "index.md"
    index.write_text(index.read_text() + "\n\nOne more line.\n")
    converted.clear()
    _built(project, tmp_path / "second")
    assert converted == ["index.md"]
    kept = _entries(tmp_path)
    assert len(kept) == (len(entries) - 1) * 3 // 4
    assert all(entry.stat().st_mtime > 1_000_000_000 for entry in kept)  # the unused one went first



def test_each_engine_has_its_own_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same page converted by ProperDocs is not taken from what MkDocs converted
    (tests/test_properdocs.py compares the two engines' pages)."""
    from properdocs.structure.pages import Page as ProperDocsPage

    monkeypatch.setenv("ALLOKB_CACHE_DIR", str(tmp_path / "cache"))
    config = allokb.sink.load(make_site_project(tmp_path / "project"), tmp_path / "staging")
    cache = allokb.mdcache.PageCache(config, [], 10, logging.getLogger("mkdocs"))
    paths = set()
    for kind in (Page, ProperDocsPage):
        page = object.__new__(kind)
        page.file = type("F", (), {"src_uri": "a.md", "url": "a/", "inclusion": "included"})()
        page.markdown = "# A page"
        paths.add(cache._path(page))
    assert len(paths) == 2


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="<>/=\"' \n\tabdeimnIDNAMEİıK-x", max_size=40))
def test_a_text_passed_over_has_no_anchor_in_its_raw_html(text: str) -> None:
    """The anchors' parse is left out only where MkDocs' parse finds none (allokb.sink)."""
    from mkdocs.structure.pages import _HTMLHandler

    if allokb.sink._ANCHOR_ATTRIBUTE.search(text) is None:
        parser = _HTMLHandler()
        parser.feed(text)
        parser.close()
        assert parser.present_anchor_ids == set()


@pytest.mark.parametrize("text", ['<a id="x">', "<a\nID=x>", "<a name='n'>", '<p title="a"id="b">', "<b/id=c>",
                                  "<a id>", "<a NAME = n>"])
def test_an_attribute_that_may_name_an_anchor_is_seen(text: str) -> None:
    assert allokb.sink._ANCHOR_ATTRIBUTE.search(text) is not None
