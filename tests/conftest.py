"""Shared fixtures: a tiny valid knowledge base and a way to apply a failing case to it."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
REPO = TESTS.parent
VALID = TESTS / "fixtures" / "valid"
CASES = TESTS / "cases"


def make_project(dest: Path, case: str | None = None) -> Path:
    """Copy the valid fixture to `dest` and lay the overlay of `case` over it."""
    shutil.copytree(VALID, dest, dirs_exist_ok=True)
    if case is not None:
        shutil.copytree(CASES / case / "overlay", dest, dirs_exist_ok=True)
    return dest


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh copy of the valid fixture knowledge base."""
    return make_project(tmp_path / "kb")


def make_site_project(dest: Path, content_from: Path = VALID) -> Path:
    """A buildable project: the repository's site configuration and templates with the content
    (and references.bib) of `content_from`."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "mkdocs.yml", dest / "mkdocs.yml")
    shutil.copy(REPO / "CONTRIBUTING.md", dest / "CONTRIBUTING.md")
    shutil.copytree(REPO / "site_templates", dest / "site_templates")
    shutil.copytree(REPO / "content" / "pages", dest / "content" / "pages")
    (dest / "src" / "allokb").mkdir(parents=True)
    shutil.copy(REPO / "src" / "allokb" / "mkdocs_hook.py", dest / "src" / "allokb" / "mkdocs_hook.py")
    for kind in ("interventions", "mechanisms", "citations", "sources"):
        if (content_from / "content" / kind).is_dir():
            shutil.copytree(content_from / "content" / kind, dest / "content" / kind)
    shutil.copy(content_from / "references.bib", dest / "references.bib")
    # A site must have its URL manifest (KB603); a new one lists nothing yet (KB602 warnings).
    (dest / "urls.txt").write_text("# Every URL the site has published, relative to site_url.\n")
    return dest


@pytest.fixture(scope="session")
def repo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The repository's own site, built once and served on 127.0.0.1 under /atlas/ (read-only:
    the browser tests of every file share it)."""
    from allokb.cli import main
    from browser import serve

    tmp = tmp_path_factory.mktemp("repo-site")
    assert main(["build", str(REPO), "--site-dir", str(tmp / "www" / "atlas")]) == 0
    with serve(tmp / "www") as url:
        yield url + "atlas/"


def without_dac() -> tuple[str, ...] | None:
    """A command prefix under which file permissions really apply: as root, setpriv drops the
    capabilities that bypass them (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH); as another user, none
    is needed. None when neither works here."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = (setpriv, "--bounding-set=-dac_override,-dac_read_search", "--")
    probe = subprocess.run([*prefix, "true"], capture_output=True, check=False)
    return prefix if probe.returncode == 0 else None
