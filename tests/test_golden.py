"""Golden pages: the rendered Markdown of one page of each kind, for the fixture knowledge base,
is pinned in tests/golden/. After an intended change: UPDATE_GOLDEN=1 ./tasks.sh test -k golden,
then read the diff before committing it."""

from __future__ import annotations

import os

import pytest

from allokb.grade import matrix_data
from allokb.project import check_project
from allokb.render import SiteInfo, render_site
from conftest import REPO, TESTS, VALID

GOLDEN = TESTS / "golden"
PAGES = ["interventions/example-hormone.md", "interventions/index.md", "mechanisms/step-two.md",
         "mechanisms/index.md", "references/smith2020example.md", "references/index.md", "corrections.md",
         "evidence.md", "evidence-map.md", "codes.md"]
SITE = SiteInfo(site_name="Allopregnanolone Evidence Atlas", site_url="https://allo-atlas.github.io/atlas/",
                repo_url="https://github.com/allo-atlas/atlas", branch="main",
                updated={"content/interventions/example-hormone.yaml": "2026-11-20"}, build_date="2026-11-27")


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    result = check_project(VALID)
    assert not result.failed()
    site = render_site(REPO, result.kb, SITE, {k: matrix_data(result.rubric, g) for k, g in result.grades.items()}, result.rubric)
    return {p.src_uri: p.markdown for p in site.pages} | {f"block:{k}": v for k, v in site.blocks.items()}


@pytest.mark.parametrize("page", PAGES + ["block:summary"])
def test_golden_page(page: str, rendered: dict[str, str]) -> None:
    path = GOLDEN / (page.replace("/", "__").replace("block:", "block__") + ("" if page.endswith(".md") else ".md"))
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(rendered[page], encoding="utf-8")
    assert rendered[page] == path.read_text(encoding="utf-8")


def test_render_is_deterministic(rendered: dict[str, str]) -> None:
    result = check_project(VALID)
    again = render_site(REPO, result.kb, SITE, {k: matrix_data(result.rubric, g) for k, g in result.grades.items()}, result.rubric)
    assert {p.src_uri: p.markdown for p in again.pages} == {k: v for k, v in rendered.items() if not k.startswith("block:")}
