"""The preview's search index after an edit (allokb.search.LiveIndex): only the pages written are
parsed again, and the bundle is byte for byte the one a fresh index of the same site writes."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from conftest import make_site_project

from allokb.diagnostics import KbError
from allokb.search import BUNDLE, LiveIndex, index_site
from allokb.sink import Preview


def _page(root: Path, path: str, title: str, words: str, kind: str = "intervention") -> None:
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(f'<!doctype html><html lang="en"><head><title>{title}</title></head><body>'
                      f'<article data-pagefind-body data-pagefind-filter="kind:{kind}"><h1>{title}</h1>'
                      f"<p>{words}</p></article></body></html>")


def _site(root: Path) -> Path:
    for i, kind in enumerate(["intervention", "mechanism", "reference", "page"]):
        _page(root, f"{kind}s/p{i}/index.html", f"Title {i}", f"word{i} shared", kind)
    return root


def _digests(site: Path) -> dict[str, str]:
    return {p.relative_to(site).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((site / BUNDLE).rglob("*")) if p.is_file()}


def _fresh(site: Path, where: Path) -> dict[str, str]:
    """The bundle `index_site` writes for a copy of `site`."""
    copy = shutil.copytree(site, where, ignore=shutil.ignore_patterns(BUNDLE))
    index_site(copy)
    return _digests(copy)


def fragments(site: Path) -> dict[str, str]:
    """Pagefind's page records in the bundle, read in Python: url -> content."""
    out = {}
    for path in (site / BUNDLE / "fragment").glob("*.pf_fragment"):
        record = json.loads(gzip.decompress(path.read_bytes())[len(b"pagefind_dcd"):])
        out[record["url"]] = record["content"]
    return out


def words(site: Path) -> bytes:
    """Every word of the bundle's word index (the decompressed index chunks, joined)."""
    return b"".join(gzip.decompress(p.read_bytes()) for p in sorted((site / BUNDLE / "index").glob("*.pf_index")))


def test_an_edited_page_is_found_by_its_new_name_and_the_bundle_is_a_fresh_ones(tmp_path: Path) -> None:
    site = _site(tmp_path / "site")
    live = LiveIndex()
    try:
        first = live.update(site, None)
        assert first.pages == 4 and _digests(site) == _fresh(site, tmp_path / "fresh-0")
        _page(site, "mechanisms/p1/index.html", "Title 1", "zebrafinch shared", "mechanism")
        proc = live._proc
        done = live.update(site, ("mechanisms/p1/index.html", "data/x.json"))
        assert live._proc is proc and done.pages == 4  # the same process, the same index
        assert fragments(site)["/mechanisms/p1/"] == "Title 1. zebrafinch shared."
        assert b"zebrafinch" in words(site) and b"word1" not in words(site)
        assert _digests(site) == _fresh(site, tmp_path / "fresh-1")
        assert sorted(p.name for p in site.iterdir() if p.name.startswith(".")) == []
        # a new page, then a removed one: indexed again from scratch, in a fresh index's order
        _page(site, "interventions/a-new/index.html", "Newcomer", "newword shared")
        assert live.update(site, ("interventions/a-new/index.html",)).pages == 5
        assert _digests(site) == _fresh(site, tmp_path / "fresh-2")
        shutil.rmtree(site / "references")
        assert live.update(site, ("references/p2/index.html",)).pages == 4
        assert "/references/p2/" not in fragments(site) and _digests(site) == _fresh(site, tmp_path / "fresh-3")
    finally:
        live.close()
    assert proc is not None and proc.poll() is not None  # closed: the process is gone


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
        found = fragments(tmp_path / "preview")
        page = next(url for url in found if url.endswith("/mechanisms/step-one/"))
        assert "Zebrafinchase step" in found[page] and old[len("name: "):].strip('"') not in found[page]
        assert b"zebrafinch" in words(tmp_path / "preview")
    finally:
        preview.close()
