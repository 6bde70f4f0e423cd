"""Real, strict MkDocs builds: of the repository and of the fixture knowledge base; every
internal link and anchor resolves; nothing is loaded from outside; failed builds change nothing."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import pytest

from allokb.cli import main
from conftest import REPO, copy_site, make_site_project
from sitecheck import PageScan, broken_links, scan_site


def _build(root: Path, site: Path) -> None:
    assert main(["build", str(root), "--site-dir", str(site)]) == 0


# fixture_site and repo_site: the session's shared builds (tests/conftest.py), read-only here.


@functools.cache
def _scans(site: Path) -> dict[str, PageScan]:
    """Every page of a shared (read-only) site, scanned once for both tests that read them."""
    return scan_site(site)


@pytest.mark.parametrize("which", ["fixture_site", "repo_site"])
def test_every_internal_link_and_anchor_resolves(which: str, request: pytest.FixtureRequest) -> None:
    site = request.getfixturevalue(which)
    scans = _scans(site)
    assert len(scans) >= 8
    assert broken_links(site, scans) == []


@pytest.mark.parametrize("which", ["fixture_site", "repo_site"])
def test_nothing_is_loaded_from_another_host(which: str, request: pytest.FixtureRequest) -> None:
    site = request.getfixturevalue(which)
    for rel, scan in _scans(site).items():
        external = [u for u in scan.resources if re.match(r"^(https?:)?//", u)]
        assert external == [], rel
    css = "\n".join(p.read_text() for p in site.rglob("*.css"))
    assert "fonts.googleapis" not in css and "@import url(http" not in css


def test_contract_urls_exist(fixture_site: Path) -> None:
    for path in ["index.html", "interventions/index.html", "interventions/example-hormone/index.html",
                 "mechanisms/index.html", "mechanisms/step-one/index.html", "references/index.html",
                 "references/smith2020example/index.html", "evidence/index.html", "corrections/index.html",
                 "data/kb.json", "data/interventions.csv", "data/references.bib", "data/references.csl.json",
                 "schema/intervention.schema.json", "schema/mechanism.schema.json", "schema/citation.schema.json",
                 "schema/common.schema.json"]:
        assert (fixture_site / path).exists(), path


def test_kb_json_contract(fixture_site: Path) -> None:
    data = json.loads((fixture_site / "data" / "kb.json").read_text())
    assert data["schema_version"] == 2
    assert [i["id"] for i in data["interventions"]] == ["example-avoid", "example-hormone"]
    assert data["interventions"][1]["url"] == "https://allo-atlas.github.io/atlas/interventions/example-hormone/"
    assert [m["id"] for m in data["mechanisms"]] == ["step-one", "step-two"]
    assert [r["key"] for r in data["references"]] == ["examplewiki2024page", "smith2020example"]
    assert data["references"][1]["url"] == "https://allo-atlas.github.io/atlas/references/smith2020example/"


def test_every_page_has_description_and_jsonld(fixture_site: Path) -> None:
    for page in fixture_site.rglob("*.html"):
        if page.name == "404.html":
            continue
        html = page.read_text()
        assert re.search(r'<meta name="description" content="[^"]{20,}"', html), page
        match = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
        assert match, page
        data = json.loads(match.group(1))
        assert data["@type"] == "MedicalWebPage" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", data["lastReviewed"])


def test_entry_pages_cite_their_sources_in_jsonld(fixture_site: Path) -> None:
    html = (fixture_site / "interventions" / "example-hormone" / "index.html").read_text()
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1))
    assert [c["name"] for c in data["citation"]] == ["An example study of a made-up steroid", "Example page"]


def test_entry_pages_stay_out_of_the_navigation(fixture_site: Path) -> None:
    home = (fixture_site / "index.html").read_text()
    nav = home[home.index('<nav class="md-nav md-nav--primary"'):]
    nav = nav[: nav.index("</nav>")]
    assert "example-hormone" not in nav and "smith2020example" not in nav


def _snapshot(site: Path) -> dict[Path, bytes]:
    return {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}


def test_failed_check_leaves_previous_site_untouched(fixture_site: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    root = make_site_project(tmp_path / "repo")
    site = copy_site(fixture_site, tmp_path / "site")  # the previous site: this project's build
    before = _snapshot(site)
    (root / "content" / "mechanisms" / "broken.yaml").write_text("id: broken\nname: [\n")
    capsys.readouterr()
    assert main(["build", str(root), "--site-dir", str(site)]) == 1
    out = capsys.readouterr()
    assert "content/mechanisms/broken.yaml:3:1: error[KB102]" in out.out
    assert out.err.endswith("build not started: fix the errors above; the previous site is unchanged\n")
    assert _snapshot(site) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo", "site"]  # no staging left behind


def test_failed_mkdocs_build_leaves_previous_site_untouched(fixture_site: Path, tmp_path: Path) -> None:
    root = make_site_project(tmp_path / "repo")
    site = copy_site(fixture_site, tmp_path / "site")  # the previous site: this project's build
    before = _snapshot(site)
    (root / "content" / "pages" / "index.md").write_text("# Home\n\n[dead link](missing.md)\n")
    assert main(["build", str(root), "--site-dir", str(site)]) == 1
    assert _snapshot(site) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["repo", "site"]


def test_template_error_is_located_and_changes_nothing(fixture_site: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    root = make_site_project(tmp_path / "repo")
    site = copy_site(fixture_site, tmp_path / "site")  # the previous site: this project's build
    before = _snapshot(site)
    template = root / "site_templates" / "mechanism.md.j2"
    template.write_text(template.read_text().replace("{{ kind }}", "{{ kind.nope() }}"))
    capsys.readouterr()
    assert main(["build", str(root), "--site-dir", str(site)]) == 1
    out = capsys.readouterr()
    # Reported as the check reports its own: the located diagnostic on stdout, one line on stderr.
    assert re.fullmatch(r"site_templates/mechanism\.md\.j2:\d+:1: error\[KB501\] \$: template error: .+\n"
                        r"build failed: 1 error, 0 warnings in \d+ files\n", out.out), out.out
    assert out.err.endswith("allokb: build failed: fix the errors above; the previous site is unchanged\n")
    assert "Traceback" not in out.err
    assert _snapshot(site) == before


def test_feed_is_atom_with_stable_links(repo_site: Path) -> None:
    import feedparser

    feed = feedparser.parse((repo_site / "feed.xml").read_bytes())
    assert not feed.bozo and feed.version == "atom10"
    assert feed.feed.title == "Allopregnanolone Evidence Atlas: changes"
    assert feed.entries, "the repository has content commits"
    manifest = set((REPO / "urls.txt").read_text().splitlines())
    for entry in feed.entries:
        assert entry.id.startswith("tag:allo-atlas.github.io,") and entry.updated_parsed
        path = "/" + entry.link.removeprefix("https://allo-atlas.github.io/atlas/")
        assert path in manifest, entry.link
    # No <link rel="alternate"> in the head: Material then fetches the sitemap from site_url,
    # a request that leaves the machine. The feed is linked from the about page and histories.
    about = (repo_site / "about" / "index.html").read_text()
    assert 'href="../feed.xml"' in about


def test_entry_pages_show_their_history(repo_site: Path) -> None:
    html = (repo_site / "interventions" / "dhea" / "index.html").read_text()
    assert 'id="history"' in html and "https://github.com/allo-atlas/atlas/commit/" in html


# A long build's progress, and that `allokb build` checks the project once: tests/test_pagination.py
# (read from its one build of a large knowledge base).
