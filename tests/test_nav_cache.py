"""The navigation sidebar and the header's end rendered once for the pages they are the same on
(allokb.sink.NavCache): the site is the site that renders them on every page, byte for byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import allokb.sink
from allokb.build import build
from conftest import REPO, make_site_project, tree_digest


def _built(project: Path, site: Path) -> dict[str, str]:
    assert build(project, site).stage == "done"
    return tree_digest(site)


def test_the_kept_navigation_is_the_navigation_each_page_renders(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOKB_CACHE_DIR", "")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764547200")
    answers: list[bool] = []
    parts: set[str] = set()
    get = allokb.sink.NavCache.get

    def counted(self: allokb.sink.NavCache, key: Any, part: str = "nav") -> Any:
        found = get(self, key, part)
        answers.append(found is not None)
        if found is not None:
            parts.add(part)
        return found

    monkeypatch.setattr(allokb.sink.NavCache, "get", counted)
    project = make_site_project(tmp_path / "project", content_from=REPO)
    kept = _built(project, tmp_path / "kept")
    # every page asked; the entry pages, outside the navigation, are most of them and share it
    assert len(answers) > 100 and sum(answers) > len(answers) // 2, (sum(answers), len(answers))
    assert parts == {"nav", "header"}  # the sidebar and the header's end, each kept
    monkeypatch.setattr(allokb.sink.NavCache, "key", lambda self, page, nav, base_url: None)
    answers.clear()
    assert _built(project, tmp_path / "each") == kept
    assert answers and not any(answers)  # nothing kept: every page rendered its own


def test_a_page_in_the_navigation_or_with_a_link_under_it_has_its_own() -> None:
    class Item:
        def __init__(self, url: str, children: list[Any] | None = None, active: bool = False) -> None:
            self.url, self.children, self.active = url, children, active

    class Nav:
        def __init__(self, *items: Any) -> None:
            self.items = list(items)

    cache = allokb.sink.NavCache("assets/logo.svg")
    home, section = Item(""), Item("", [Item("interventions/")])
    nav = Nav(home, section)
    a, b, c = Item("interventions/a/"), Item("interventions/b/"), Item("mechanisms/c/")
    assert cache.key(a, nav, "../..") == cache.key(b, nav, "../..") == ("interventions", "../..")
    assert cache.key(c, nav, "../..") != cache.key(a, nav, "../..")
    assert cache.key(home, nav, ".") is None  # a page in the navigation
    section.children[0].active = True
    assert cache.key(a, nav, "../..") is None  # an item is active: the page lies in it
    section.children[0].active = False
    under = Nav(home, Item("interventions/a/more/"))
    assert cache.key(a, under, "../..") is None  # a link under the page: its relative URL is its own
    assert cache.key(Item("assets/"), nav, "..") is None  # the logo lies under the page
    assert cache.key(None, nav, ".") is None
