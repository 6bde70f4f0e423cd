"""`allokb rename-key`: a reference gets a new key everywhere, and its old URL keeps answering."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_project, without_dac

from allokb.cli import main
from allokb.project import check_project


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_rename_moves_every_mention_and_keeps_the_old_key(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rename-key", "smith2020example", "smith2020new", "--root", str(project)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "references.bib: entry smith2020example -> smith2020new",
        "content/interventions/example-hormone.yaml: 2 mentions",
        "content/mechanisms/step-two.yaml: 1 mention",
        "content/citations/smith2020example.yaml -> content/citations/smith2020new.yaml "
        "(former_keys: smith2020example)",
        "content/sources/smith2020example.md -> content/sources/smith2020new.md",
        "renamed `smith2020example` to `smith2020new`; run `allokb check`",
    ]
    assert not (project / "content/citations/smith2020example.yaml").exists()
    citation = (project / "content/citations/smith2020new.yaml").read_text()
    assert citation.startswith("key: smith2020new\nformer_keys:\n  - smith2020example\n")
    assert "@article{smith2020new," in (project / "references.bib").read_text()
    for rel in ("content/interventions/example-hormone.yaml", "content/mechanisms/step-two.yaml"):
        text = (project / rel).read_text()
        assert "smith2020example" not in text and "smith2020new" in text
    assert (project / "content/sources/smith2020new.md").is_file()
    result = check_project(project)
    assert [d.code for d in result.diagnostics] == []
    assert "smith2020example" in result.kb.citations["smith2020new"].former_keys


def test_rename_twice_extends_former_keys(project: Path) -> None:
    assert main(["rename-key", "smith2020example", "smith2020second", "--root", str(project)]) == 0
    assert main(["rename-key", "smith2020second", "smith2020third", "--root", str(project)]) == 0
    text = (project / "content/citations/smith2020third.yaml").read_text()
    assert text.startswith("key: smith2020third\nformer_keys:\n  - smith2020example\n  - smith2020second\n")
    assert check_project(project).kb.citations["smith2020third"].former_keys == ("smith2020example",
                                                                                  "smith2020second")


def test_whole_words_only(project: Path) -> None:
    """A key inside a longer word (another key, an id) is not touched."""
    hormone = project / "content/interventions/example-hormone.yaml"
    hormone.write_text(hormone.read_text() + "# smith2020examplex and x-smith2020example stay\n")
    assert main(["rename-key", "smith2020example", "smith2020new", "--root", str(project)]) == 0
    assert hormone.read_text().endswith("# smith2020examplex and x-smith2020example stay\n")


@pytest.mark.parametrize(("old", "new", "message"), [
    ("smith2020example", "Smith2020", "allokb: usage error: `Smith2020` is not a bib key: lowercase letters and "
                                      "digits, starting with a letter"),
    ("smith2020example", "index", "allokb: usage error: `index` is reserved: /references/index/ is a page the "
                                  "site makes itself"),
    ("smith2020example", "examplewiki2024page", "allokb: usage error: `examplewiki2024page` is already a key of "
                                                "references.bib"),
    ("nosuch2020key", "smith2020new", "allokb: usage error: `nosuch2020key` is not a key of references.bib"),
    ("smith2020example", "smith2020example", "allokb: usage error: `smith2020example` already has that key"),
])
def test_refusals_change_nothing(project: Path, capsys: pytest.CaptureFixture[str], old: str, new: str,
                                 message: str) -> None:
    before = _snapshot(project)
    assert main(["rename-key", old, new, "--root", str(project)]) == 2
    assert capsys.readouterr().err.strip() == message
    assert _snapshot(project) == before


def test_former_key_of_another_reference_is_refused(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rename-key", "smith2020example", "smith2020new", "--root", str(project)]) == 0
    capsys.readouterr()
    before = _snapshot(project)
    assert main(["rename-key", "examplewiki2024page", "smith2020example", "--root", str(project)]) == 2
    assert capsys.readouterr().err.strip() == ("allokb: usage error: `smith2020example` is a former key of "
                                               "`smith2020new`: its old URL redirects there")
    assert _snapshot(project) == before


def test_project_with_errors_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path / "kb", "dangling-refs")
    before = _snapshot(root)
    assert main(["rename-key", "smith2020example", "smith2020new", "--root", str(root)]) == 1
    assert capsys.readouterr().err.strip() == ("allokb: error: the project has errors (run `allokb check`); fix "
                                               "them first, nothing was changed")
    assert _snapshot(root) == before


def test_failed_write_puts_every_file_back(project: Path) -> None:
    """A file that cannot be replaced (its folder is read-only, enforced by the kernel) stops the
    rename part-way, and the files already written are restored byte for byte."""
    prefix = without_dac()
    if prefix is None:
        pytest.skip("no way to drop the capabilities that bypass file permissions here")
    before = _snapshot(project)
    mechanisms = project / "content/mechanisms"  # written after references.bib and interventions/
    mechanisms.chmod(0o555)
    try:
        done = subprocess.run([*prefix, sys.executable, "-m", "allokb", "rename-key", "smith2020example",
                               "smith2020new", "--root", str(project)], capture_output=True, text=True, check=False)
    finally:
        mechanisms.chmod(0o755)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("allokb: error: "), done.stderr
    assert "Permission denied" in done.stderr
    assert _snapshot(project) == before


# The renamed reference's old URL in a real build: tests/test_urls.py (one build for two renames).
