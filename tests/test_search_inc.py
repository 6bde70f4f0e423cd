"""The preview's search index after an edit (allokb.livesearch.LiveIndex): the full bundle stays as
the full index wrote it, the pages written since are indexed into the delta bundle
(pagefind/delta/), and what the search finds, the full bundle less the results the delta replaces
plus the delta, is what a fresh index of the same site holds; in a browser, the search of the
preview finds an edited page by its new words and not its old ones, and a removed page not at all."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import make_site_project

from allokb import livesearch
from allokb.diagnostics import KbError
from allokb.livesearch import LiveIndex
from allokb.search import BUNDLE, DELTA, DELTA_MANIFEST, SIGNATURE, index_site
from allokb.sink import Preview


def _page(root: Path, path: str, title: str, words: str, kind: str = "intervention", body: bool = True) -> None:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(f'<!doctype html><html lang="en"><head><title>{title}</title></head><body>'
                      f'<article{" data-pagefind-body" if body else ""} data-pagefind-filter="kind:{kind}">'
                      f"<h1>{title}</h1><p>{words}</p></article></body></html>")


def _site(root: Path) -> Path:
    for i, kind in enumerate(["intervention", "mechanism", "reference", "page"]):
        _page(root, f"{kind}s/p{i}/index.html", f"Title {i}", f"word{i} shared", kind)
    return root


def _digests(site: Path, under: str = BUNDLE) -> dict[str, str]:
    return {p.relative_to(site).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((site / under).rglob("*")) if p.is_file()}


def _full_bundle(site: Path) -> dict[str, str]:
    """The files of the full bundle, without the delta folder."""
    return {k: v for k, v in _digests(site).items() if not k.startswith(f"{BUNDLE}/{DELTA}/")}


def _fresh(site: Path, where: Path) -> Path:
    """A copy of `site` indexed by `index_site`."""
    copy = shutil.copytree(site, where, ignore=shutil.ignore_patterns(BUNDLE))
    index_site(copy)
    return copy


def _records(bundle: Path) -> dict[str, dict[str, Any]]:
    """The page records of a bundle's fragments, read in Python: page id -> record."""
    return {path.stem: json.loads(gzip.decompress(path.read_bytes())[len(SIGNATURE):])
            for path in (bundle / "fragment").glob("*.pf_fragment")}


def manifest(site: Path) -> dict[str, Any]:
    out: dict[str, Any] = json.loads((site / BUNDLE / DELTA / DELTA_MANIFEST).read_text())
    return out


def searchable(site: Path) -> dict[str, dict[str, Any]]:
    """What the site's search finds, as assets/search.js merges it: url -> page record, from the
    full bundle and the delta, less the results whose page id the delta's manifest lists (in
    either: the search cannot tell them apart). A page found in both fails (it would show twice)."""
    replaced = set(manifest(site)["replaced"])
    delta_bundle = site / BUNDLE / DELTA
    found = [_records(site / BUNDLE), _records(delta_bundle) if (delta_bundle / "fragment").is_dir() else {}]
    full, delta = ({r["url"]: r for page_id, r in records.items() if page_id not in replaced} for records in found)
    assert set(full) & set(delta) == set()
    return {**full, **delta}


def words(bundle: Path) -> bytes:
    """Every word of a bundle's word index (the decompressed index chunks, joined)."""
    return b"".join(gzip.decompress(p.read_bytes()) for p in sorted((bundle / "index").glob("*.pf_index")))


def test_an_edit_is_indexed_into_the_delta_and_the_search_finds_what_a_fresh_index_holds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = _site(tmp_path / "site")
    live = LiveIndex()
    try:
        first = live.update(site, None)
        assert first.pages == 4 and _digests(site) == _digests(_fresh(site, tmp_path / "fresh-0"))
        assert manifest(site) == {"pages": 0, "replaced": []}
        cold = _full_bundle(site)
        full_ids = {r["url"]: page_id for page_id, r in _records(site / BUNDLE).items()}
        _page(site, "mechanisms/p1/index.html", "Title 1", "zebrafinch shared", "mechanism")
        proc = live._proc
        done = live.update(site, ("mechanisms/p1/index.html", "data/x.json"))
        assert live._proc is proc and done.pages == 4  # the same process
        assert _full_bundle(site) == cold  # the full bundle is not written again
        assert manifest(site) == {"pages": 1, "replaced": [full_ids["/mechanisms/p1/"]]}
        assert searchable(site)["/mechanisms/p1/"]["content"] == "Title 1. zebrafinch shared."
        assert b"zebrafinch" in words(site / BUNDLE / DELTA) and b"zebrafinch" not in words(site / BUNDLE)
        assert searchable(site) == searchable(_fresh(site, tmp_path / "fresh-1"))
        assert sorted(p.name for p in (site / BUNDLE).iterdir() if p.name.startswith(".")) == []
        # a page written again with the same text: Pagefind gives it the same id in the delta as in
        # the full bundle, where its result is dropped; the delta's is still found
        _page(site, "references/p2/index.html", "Title 2", "word2 shared", "reference")
        assert live.update(site, ("references/p2/index.html",)).pages == 4
        assert searchable(site) == searchable(_fresh(site, tmp_path / "fresh-2"))
        # a new page, then removed pages: one the delta holds, one only the full bundle has
        _page(site, "interventions/a-new/index.html", "Newcomer", "newword shared")
        assert live.update(site, ("interventions/a-new/index.html",)).pages == 5
        assert searchable(site) == searchable(_fresh(site, tmp_path / "fresh-3"))
        shutil.rmtree(site / "references")
        shutil.rmtree(site / "pages")
        assert live.update(site, ("references/p2/index.html", "pages/p3/index.html")).pages == 3
        found = searchable(site)
        assert sorted(found) == ["/interventions/a-new/", "/interventions/p0/", "/mechanisms/p1/"]
        assert found == searchable(_fresh(site, tmp_path / "fresh-4"))
        assert _full_bundle(site) == cold and live._proc is proc
        # past the limit the full bundle is written again (from scratch: pages came and went), as a
        # fresh index writes it, and the delta is empty
        monkeypatch.setattr(livesearch, "DELTA_LIMIT", 2)
        _page(site, "interventions/p0/index.html", "Title 0", "otter shared")
        assert live.update(site, ("interventions/p0/index.html",)).pages == 3
        assert _digests(site) == _digests(_fresh(site, tmp_path / "fresh-5"))
        # and in place, when the site has the pages the full index has
        monkeypatch.setattr(livesearch, "DELTA_LIMIT", 0)
        _page(site, "mechanisms/p1/index.html", "Title 1", "heron shared", "mechanism")
        assert live.update(site, ("mechanisms/p1/index.html",)).pages == 3
        assert _digests(site) == _digests(_fresh(site, tmp_path / "fresh-6"))
        assert live._proc is proc
    finally:
        live.close()
    assert proc is not None and proc.poll() is not None  # closed: the process is gone


def test_a_page_without_the_part_to_index_stays_out_of_the_delta(tmp_path: Path) -> None:
    """Pagefind indexes only the pages with `data-pagefind-body` once one page has it (the
    paginated lists have not): a delta of such pages alone would index them whole."""
    site = _site(tmp_path / "site")
    _page(site, "interventions/page/2/index.html", "List", "listword", body=False)
    live = LiveIndex()
    try:
        live.update(site, None)
        _page(site, "interventions/page/2/index.html", "List", "listword again", body=False)
        assert live.update(site, ("interventions/page/2/index.html",)).pages == 4
        assert searchable(site) == searchable(_fresh(site, tmp_path / "fresh-0"))
        # a page of the delta that loses the attribute leaves it; one that gains it joins it
        _page(site, "mechanisms/p1/index.html", "Title 1", "zebrafinch", "mechanism")
        live.update(site, ("mechanisms/p1/index.html",))
        _page(site, "mechanisms/p1/index.html", "Title 1", "zebrafinch", "mechanism", body=False)
        _page(site, "interventions/page/2/index.html", "List", "listword", body=True)
        assert live.update(site, ("mechanisms/p1/index.html", "interventions/page/2/index.html")).pages == 4
        assert searchable(site) == searchable(_fresh(site, tmp_path / "fresh-1"))
    finally:
        live.close()


def test_a_failing_pagefind_is_a_one_line_error_and_the_next_update_starts_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = _site(tmp_path / "site")
    live = LiveIndex()
    try:
        live.update(site, None)
        before = _digests(site)
        assert live._proc is not None
        live._proc.kill()
        live._proc.wait()
        with pytest.raises(KbError) as exc:
            live.update(site, ("mechanisms/p1/index.html",))
        assert str(exc.value) in ("cannot build the search index: Pagefind stopped (exit -9)",
                                  "cannot build the search index: Pagefind stopped")
        assert _digests(site) == before  # the served bundle is the last good one
        assert live.update(site, ("mechanisms/p1/index.html",)).pages == 4  # a new process
        monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(tmp_path / "no-such-pagefind"))
        live.close()
        with pytest.raises(KbError) as exc:
            live.update(site, None)
        assert str(exc.value) == ("cannot build the search index: Pagefind is not installed (pip install "
                                  "'pagefind[bin]'); the previous site is unchanged")
    finally:
        live.close()


def test_a_serve_edit_of_a_name_is_found_by_the_new_name_not_the_old(tmp_path: Path) -> None:
    root = make_site_project(tmp_path / "project")
    preview = Preview(root, tmp_path / "preview")
    try:
        preview.rebuild()
        path = root / "content" / "mechanisms" / "step-one.yaml"
        text = path.read_text()
        old = next(line for line in text.splitlines() if line.startswith("name: "))
        path.write_text(text.replace(old, "name: Zebrafinchase step", 1))
        done = preview.rebuild()
        assert done.kind == "partial" and "pagefind/" in done.written
        found = searchable(tmp_path / "preview")
        page = next(url for url in found if url.endswith("/mechanisms/step-one/"))
        assert "Zebrafinchase step" in found[page]["content"]
        assert old[len("name: "):].strip('"') not in found[page]["content"]
        assert b"zebrafinch" in words(tmp_path / "preview" / BUNDLE / DELTA)
    finally:
        preview.close()


# --- in a browser ----------------------------------------------------------------------------

THIRD = """id: step-three
name: "Step three"
kind: enzymatic-step
summary: "A wombatase conversion."
step:
  substrate: "Intermediate"
  product: "Later product"
  enzyme: "Enzyme C"
upstream: [step-two]
claims: []
"""


@pytest.mark.browser
def test_the_previews_search_shows_an_edit_and_not_what_it_replaced_or_removed(browser: Any, tmp_path: Path) -> None:
    from browser import Watch, serve

    root = make_site_project(tmp_path / "project")
    (root / "content" / "mechanisms" / "step-three.yaml").write_text(THIRD)
    step_one = root / "content" / "mechanisms" / "step-one.yaml"
    step_one.write_text(step_one.read_text().replace('name: "Step one"', 'name: "Pangolinase step"'))
    www = tmp_path / "www"
    www.mkdir()
    with serve(www) as url:
        preview = Preview(root, www / "atlas", serve_url=url + "atlas/")
        context = browser.new_context()
        try:
            assert preview.rebuild().kind == "full"
            page = context.new_page()
            watch = Watch(page)

            def search(query: str, kind: str = "") -> list[str]:
                page.locator(f".allokb-search-kinds input[value='{kind}']").check()
                box = page.locator("input.md-search__input")
                box.fill("")
                box.fill(query)
                page.wait_for_function("q => document.querySelector('.md-search-result__list').dataset.query === q",
                                       arg=f"{query}|{kind}")
                watch.settle()
                return page.eval_on_selector_all(".md-search-result__item a",
                                                 "links => links.map(a => a.getAttribute('href'))")

            def reload() -> None:
                page.goto(url + "atlas/")
                watch.settle()
                page.keyboard.press("/")

            reload()
            step_pages = [url + "atlas/mechanisms/step-one/", url + "atlas/mechanisms/step-two/"]  # two links one
            assert sorted(search("pangolinase", "mechanism")) == step_pages
            assert url + "atlas/mechanisms/step-three/" in search("wombatase")
            # two edits, two rebuilds: the delta holds both (it is cumulative since the full index)
            step_one.write_text(step_one.read_text().replace("Pangolinase step", "Zebrafinchase step"))
            assert preview.rebuild().kind == "partial"
            (root / "content" / "mechanisms" / "step-three.yaml").unlink()
            assert preview.rebuild().kind == "partial"
            assert not (www / "atlas" / "mechanisms" / "step-three").exists()
            reload()
            assert sorted(search("zebrafinchase", "mechanism")) == step_pages
            assert url + "atlas/interventions/example-hormone/" in search("zebrafinchase")  # it links step one
            assert search("pangolinase") == []  # the full bundle has it: dropped
            assert page.locator(".md-search-result__meta").inner_text() == "No matching documents"
            assert search("wombatase") == []  # a removed page
            assert search("Enzyme A", "mechanism").count(url + "atlas/mechanisms/step-one/") == 1
            requests = list(watch.requests)
            assert watch.console_errors == [] and watch.page_errors == []
        finally:
            context.close()
            preview.close()
    assert any("/atlas/pagefind/delta/fragment/" in u for u in requests)  # found in the delta
    assert [u for u in requests if not u.startswith(url)] == []
