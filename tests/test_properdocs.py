"""A maintained engine too: the real site built with ProperDocs (the continuation of MkDocs 1.x,
which reads the same mkdocs.yml) has the same URLs and the same main text on every entry page
as the site `allokb build` makes with MkDocs. Switching `allokb build` to ProperDocs is one line,
`allokb.sink.ENGINE`; `properdocs build` and `properdocs serve` work as they are, through the hook.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

import allokb.sink
from allokb.cli import main
from allokb.output import MARKER
from allokb.site import source_date_epoch
from conftest import REPO, make_site_project

SRC = Path(allokb.sink.__file__).resolve().parents[1]
PROPERDOCS = Path(sys.executable).with_name("properdocs")
ENTRY_SECTIONS = ("interventions", "mechanisms", "references")


def _env(root: Path) -> dict[str, str]:
    # The build date `allokb build` gives MkDocs (allokb.build._reproducible), so that dates match.
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), *sys.path]), "NO_MKDOCS_2_WARNING": "1",
            "SOURCE_DATE_EPOCH": source_date_epoch(root)}


@pytest.fixture(scope="module")
def sites(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The repository's site built by `allokb build` (MkDocs) and by `properdocs build`."""
    tmp = tmp_path_factory.mktemp("engines")
    try:  # the session's shared, read-only build of the repository, where conftest.py has one
        mkdocs = Path(request.getfixturevalue("repo_site"))
    except pytest.FixtureLookupError:
        mkdocs = tmp / "mkdocs"
        assert main(["build", str(REPO), "--site-dir", str(mkdocs)]) == 0
    proc = subprocess.run([str(PROPERDOCS), "build", "-q", "-f", str(REPO / "mkdocs.yml"), "-d", str(tmp / "properdocs")],
                          capture_output=True, text=True, env=_env(REPO), cwd=REPO, check=False, timeout=900)
    assert proc.returncode == 0, proc.stderr
    return mkdocs, tmp / "properdocs"


def _files(site: Path) -> set[str]:
    return {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}


def _article(page: Path) -> str:
    """The page's main text: its `<article>`, or the whole of a redirect page (a former URL)."""
    tree = LexborHTMLParser(page.read_text(encoding="utf-8"))
    article = tree.css_first("article")
    if article is None:
        assert tree.css_first('meta[http-equiv="refresh"]') is not None, page
        return tree.html or ""
    return " ".join(article.text(separator=" ").split())


def test_properdocs_publishes_the_same_urls(sites: tuple[Path, Path]) -> None:
    mkdocs, properdocs = sites
    assert len(_files(mkdocs)) > 100
    assert _files(properdocs) == _files(mkdocs)
    assert (properdocs / MARKER).is_file()  # the hook's audit passed and marked the site


def test_properdocs_writes_the_same_main_text_on_every_entry_page(sites: tuple[Path, Path]) -> None:
    mkdocs, properdocs = sites
    pages = sorted(p.relative_to(mkdocs) for section in ENTRY_SECTIONS for p in (mkdocs / section).glob("*/index.html"))
    assert len(pages) > 50
    differ = [str(page) for page in pages if _article(properdocs / page) != _article(mkdocs / page)]
    assert differ == []


def test_only_the_generator_line_of_an_entry_page_differs(sites: tuple[Path, Path]) -> None:
    mkdocs, properdocs = sites
    page = "interventions/dhea/index.html"
    ours, theirs = ((site / page).read_text(encoding="utf-8") for site in (mkdocs, properdocs))
    generator = re.compile(r'<meta name="generator" content="[^"]*">')
    assert generator.sub("", ours) == generator.sub("", theirs)


SWITCHED = """
import sys
import allokb.sink
allokb.sink.ENGINE = "properdocs"   # the one line
from allokb.cli import main
status = main(["build", sys.argv[1], "--site-dir", sys.argv[2]])
import mkdocs
print(status, mkdocs.__name__)
"""


def test_allokb_build_switches_to_properdocs_in_one_line(tmp_path: Path) -> None:
    root = make_site_project(tmp_path / "project")
    proc = subprocess.run([sys.executable, "-c", SWITCHED, str(root), str(tmp_path / "site")], capture_output=True,
                          text=True, env=_env(root), check=False, timeout=600)
    assert proc.stdout == "0 properdocs\n", proc.stderr
    assert 'content="mkdocs-ProperDocs ' in (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
