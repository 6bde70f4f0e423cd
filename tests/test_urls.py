"""Published URLs never break: the manifest check, renames with redirects, deletions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from allokb.cli import main
from allokb.project import check_project
from conftest import make_site_project
from sitecheck import broken_links, scan_site


@pytest.fixture
def project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    root = make_site_project(tmp_path / "kb")
    assert main(["urls", str(root), "--write"]) == 0
    # /sources/smith2020example.txt, /disclaimer/, /data/doses.csv; each entry's data (6) and its 3 schemas
    assert capsys.readouterr().out == "urls.txt: 41 URLs added\n"
    return root


def codes(root: Path) -> list[tuple[str, str, int, str]]:
    return [(d.code, d.location.file, d.location.line, d.message) for d in check_project(root).diagnostics]


def manifest_line(root: Path, url: str) -> int:
    return (root / "urls.txt").read_text().splitlines().index(url) + 1


def rename_avoid(root: Path, former: bool) -> None:
    folder = root / "content" / "interventions"
    old = (folder / "example-avoid.yaml").read_text()
    new = old.replace("id: example-avoid", "id: example-blocker" + ("\nformer_ids: [example-avoid]" if former else ""))
    (folder / "example-blocker.yaml").write_text(new)
    (folder / "example-avoid.yaml").unlink()
    hormone = folder / "example-hormone.yaml"
    hormone.write_text(hormone.read_text().replace("example-avoid", "example-blocker"))


# The repository's own manifest: tests/test_content.py.


def test_rename_without_redirect_fails_at_the_manifest_line(project: Path) -> None:
    rename_avoid(project, former=False)
    line = manifest_line(project, "/interventions/example-avoid/")
    data_line = manifest_line(project, "/data/interventions/example-avoid.json")
    assert codes(project) == [
        ("KB602", "urls.txt", 1, "new URL `/data/interventions/example-blocker.json` is not in urls.txt"),
        ("KB602", "urls.txt", 1, "new URL `/interventions/example-blocker/` is not in urls.txt"),
        ("KB601", "urls.txt", data_line, "the published URL `/data/interventions/example-avoid.json` would disappear"),
        ("KB601", "urls.txt", line, "the published URL `/interventions/example-avoid/` would disappear"),
    ]


def test_rename_with_former_id_redirects(project: Path, tmp_path: Path) -> None:
    rename_avoid(project, former=True)
    assert codes(project) == [
        ("KB602", "urls.txt", 1, "new URL `/data/interventions/example-blocker.json` is not in urls.txt"),
        ("KB602", "urls.txt", 1, "new URL `/interventions/example-blocker/` is not in urls.txt")]
    assert main(["urls", str(project), "--write"]) == 0
    assert main(["check", str(project), "--strict"]) == 0
    site = tmp_path / "site"
    assert main(["build", str(project), "--site-dir", str(site)]) == 0
    redirect = (site / "interventions" / "example-avoid" / "index.html").read_text()
    assert '<meta http-equiv="refresh" content="0; url=../../interventions/example-blocker/">' in redirect
    assert '<link rel="canonical" href="https://allo-atlas.github.io/atlas/interventions/example-blocker/">' in redirect
    assert broken_links(site, scan_site(site)) == []
    # a JSON file cannot redirect: the old id's data URL serves the renamed entry's data
    data = site / "data" / "interventions"
    assert (data / "example-avoid.json").read_text() == (data / "example-blocker.json").read_text()
    assert json.loads((data / "example-avoid.json").read_text())["id"] == "example-blocker"


def test_deleting_a_reference_is_refused(project: Path) -> None:
    bib = project / "references.bib"
    bib.write_text(re.sub(r"@online\{examplewiki2024page,.*?\n\}\n", "", bib.read_text(), flags=re.S))
    (project / "content" / "citations" / "examplewiki2024page.yaml").unlink()
    hormone = project / "content" / "interventions" / "example-hormone.yaml"
    text = hormone.read_text()
    hormone.write_text(text[: text.index("anecdotes:")] + text[text.index("seed_rating:"):])
    line = manifest_line(project, "/references/examplewiki2024page/")
    data_line = manifest_line(project, "/data/references/examplewiki2024page.json")
    assert codes(project) == [
        ("KB601", "urls.txt", data_line, "the published URL `/data/references/examplewiki2024page.json` would "
         "disappear"),
        ("KB601", "urls.txt", line, "the published URL `/references/examplewiki2024page/` would disappear")]
    assert main(["build", str(project), "--site-dir", str(project / "site")]) == 1
    assert not (project / "site").exists()


def test_urls_write_never_removes_a_line(project: Path) -> None:
    rename_avoid(project, former=True)
    before = set((project / "urls.txt").read_text().splitlines())
    assert main(["urls", str(project), "--write"]) == 0
    after = set((project / "urls.txt").read_text().splitlines())
    assert before <= after and after - before == {"/interventions/example-blocker/",
                                                    "/data/interventions/example-blocker.json"}


def test_unreadable_manifest_is_a_located_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = project / "urls.txt"
    raw = manifest.read_bytes().replace(b"/codes/", b"/c\xf6des/")  # Latin-1, not UTF-8
    manifest.write_bytes(raw)
    line = raw.split(b"\n").index(b"/c\xf6des/") + 1
    assert codes(project) == [("KB101", "urls.txt", line, "byte 0xf6 is not valid UTF-8")]
    assert main(["check", str(project)]) == 1
    assert main(["urls", str(project), "--write"]) == 1
    assert "Traceback" not in capsys.readouterr().err
    assert manifest.read_bytes() == raw
