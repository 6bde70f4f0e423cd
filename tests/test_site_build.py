"""A real, strict MkDocs build of the repository, and the check that guards it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from allokb.cli import main
from conftest import REPO


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("build") / "site"
    assert main(["build", str(REPO), "--site-dir", str(site)]) == 0
    return site


def test_build_writes_home_and_codes_pages(built_site: Path) -> None:
    assert (built_site / "index.html").exists()
    codes = (built_site / "codes" / "index.html").read_text()
    assert 'id="kb301"' in codes


def test_no_request_leaves_the_site(built_site: Path) -> None:
    for page in built_site.rglob("*.html"):
        html = page.read_text()
        external = re.findall(r'(?:src|href)="(https?://[^"]+)"', html)
        loaded = [u for u in external if re.search(r"\.(css|js|woff2?|ttf)(\?|$)", u) or "fonts.g" in u]
        assert loaded == [], page


def _copy_repo(dest: Path) -> Path:
    dest.mkdir(parents=True)
    for name in ("mkdocs.yml", "references.bib"):
        shutil.copy(REPO / name, dest / name)
    for name in ("content", "site_templates"):
        shutil.copytree(REPO / name, dest / name)
    (dest / "src" / "allokb").mkdir(parents=True)
    shutil.copy(REPO / "src" / "allokb" / "site.py", dest / "src" / "allokb" / "site.py")
    return dest


def test_failed_check_leaves_previous_site_untouched(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _copy_repo(tmp_path / "repo")
    site = tmp_path / "site"
    assert main(["build", str(root), "--site-dir", str(site)]) == 0
    before = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    (root / "content" / "mechanisms" / "broken.yaml").write_text("id: broken\nname: [\n")
    capsys.readouterr()
    assert main(["build", str(root), "--site-dir", str(site)]) == 1
    out = capsys.readouterr()
    assert "content/mechanisms/broken.yaml:3:1: error[KB102]" in out.out
    assert out.err.endswith("build not started: fix the errors above; the previous site is unchanged\n")
    after = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo", "site"]  # no staging left behind


def test_failed_mkdocs_build_leaves_previous_site_untouched(tmp_path: Path) -> None:
    root = _copy_repo(tmp_path / "repo")
    site = tmp_path / "site"
    assert main(["build", str(root), "--site-dir", str(site)]) == 0
    before = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    (root / "content" / "pages" / "index.md").write_text("# Home\n\n[dead link](missing.md)\n")
    assert main(["build", str(root), "--site-dir", str(site)]) == 1
    after = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo", "site"]
