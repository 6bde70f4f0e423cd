"""Published URLs never break: the manifest check, renames with redirects, deletions."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Renamed:
    """The fixture site with an entry and a reference renamed, then built (once for the file)."""

    root: Path
    site: Path
    codes: list[tuple[str, str, int, str]]  # of the check right after the entry's rename
    urls_status: int  # of `allokb urls --write`, then
    key_status: int  # of `allokb rename-key`
    manifest: list[str]  # urls.txt after `allokb rename-key`
    strict_status: int  # of `allokb check --strict`, then `allokb build`
    build_status: int


@pytest.fixture(scope="module")
def renamed(tmp_path_factory: pytest.TempPathFactory) -> Renamed:
    """One build for both renames (a build costs a second or more): example-avoid becomes
    example-blocker with its former id, then `allokb rename-key` gives smith2020example the key
    smith2020new. Each step's outcome is kept for the test of that rename to assert."""
    folder = tmp_path_factory.mktemp("renamed")
    root = make_site_project(folder / "kb")
    assert main(["urls", str(root), "--write"]) == 0
    rename_avoid(root, former=True)
    found = codes(root)
    urls_status = main(["urls", str(root), "--write"])
    key_status = main(["rename-key", "smith2020example", "smith2020new", "--root", str(root)])
    manifest = (root / "urls.txt").read_text().splitlines()
    strict_status = main(["check", str(root), "--strict"])
    build_status = main(["build", str(root), "--site-dir", str(folder / "site")])
    return Renamed(root, folder / "site", found, urls_status, key_status, manifest, strict_status, build_status)


def test_rename_with_former_id_redirects(renamed: Renamed) -> None:
    assert renamed.codes == [
        ("KB602", "urls.txt", 1, "new URL `/data/interventions/example-blocker.json` is not in urls.txt"),
        ("KB602", "urls.txt", 1, "new URL `/interventions/example-blocker/` is not in urls.txt")]
    assert (renamed.urls_status, renamed.strict_status, renamed.build_status) == (0, 0, 0)
    site = renamed.site
    redirect = (site / "interventions" / "example-avoid" / "index.html").read_text()
    assert '<meta http-equiv="refresh" content="0; url=../../interventions/example-blocker/">' in redirect
    assert '<link rel="canonical" href="https://allo-atlas.github.io/atlas/interventions/example-blocker/">' in redirect
    assert broken_links(site, scan_site(site)) == []
    # a JSON file cannot redirect: the old id's data URL serves the renamed entry's data
    data = site / "data" / "interventions"
    assert (data / "example-avoid.json").read_text() == (data / "example-blocker.json").read_text()
    assert json.loads((data / "example-avoid.json").read_text())["id"] == "example-blocker"


def test_renamed_site_redirects_the_old_url(renamed: Renamed) -> None:
    """`allokb rename-key` (tests/test_rename.py): the old reference URL serves a redirect to the
    new one in a real build."""
    assert renamed.key_status == 0
    manifest = renamed.manifest
    assert "/references/smith2020example/" in manifest and "/references/smith2020new/" in manifest
    assert (renamed.strict_status, renamed.build_status) == (0, 0)
    out = renamed.site
    old = (out / "references/smith2020example/index.html").read_text()
    assert "../smith2020new/" in old or "/references/smith2020new/" in old
    assert (out / "references/smith2020new/index.html").is_file()
    # a text file cannot redirect: the old source-text URL serves the same text
    assert "/sources/smith2020example.txt" in manifest
    assert (out / "sources/smith2020example.txt").read_text() == (out / "sources/smith2020new.txt").read_text()


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
