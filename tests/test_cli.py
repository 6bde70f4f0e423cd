"""The command line contract: commands, formats, exit statuses, scaffolding."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from allokb.cli import build_parser, main
from allokb.diagnostics import CODES
from conftest import REPO, make_project


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out = capsys.readouterr()
    return status, out.out, out.err


def test_github_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path / "kb", "dangling-refs")
    status, out, _ = run(capsys, "check", str(root), "--format", "github")
    assert status == 1
    first = out.splitlines()[0]
    assert first == ("::error file=content/interventions/example-avoid.yaml,line=8,col=14,title=KB301::"
                     "$.mechanisms[0]: no mechanism `step-on` (did you mean `step-one`?)")
    assert out.splitlines()[-1] == "check failed: 4 errors, 0 warnings in 8 files"


def test_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path / "kb", "unknown-field")
    status, out, _ = run(capsys, "check", str(root), "--format", "json")
    assert status == 1
    payload = json.loads(out)
    assert payload["diagnostics"] == [{
        "code": "KB203", "severity": "error", "message": "unknown field `sumary`",
        "hint": "did you mean `summary`?", "file": "content/mechanisms/step-one.yaml",
        "line": 4, "col": 1, "path": "$.sumary"}]
    assert payload["summary"] == {"errors": 1, "warnings": 0, "files": 8, "strict": False,
                                  "text": "check failed: 1 error, 0 warnings in 8 files"}


@pytest.mark.parametrize("args, message", [
    (["frobnicate"], "allokb: usage error: argument COMMAND: invalid choice: 'frobnicate'"),
    (["check", "--format", "xml"], "allokb: usage error: argument --format: invalid choice: 'xml'"),
    (["check", "/nonexistent/folder"], "allokb: usage error: /nonexistent/folder: no such folder"),
    (["new", "gadget", "x"], "allokb: usage error: unknown kind `gadget`"),
    (["new", "intervention", "Bad_Id"], "allokb: usage error: `Bad_Id` is not a lower-case kebab-case id"),
])
def test_usage_errors_exit_2(args: list[str], message: str, project: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    if args[0] == "new":
        args = [*args, "--root", str(project)]
    status, out, err = run(capsys, *args)
    assert status == 2
    assert err.startswith(message)
    assert "Traceback" not in err


def test_not_a_project_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "check", str(tmp_path))
    assert status == 2
    assert err == f"allokb: usage error: {tmp_path}: not an allokb project (no content/, references.bib or mkdocs.yml)\n"


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys)
    assert status == 2 and "COMMAND" in out


@pytest.mark.parametrize("kind, ident", [
    ("intervention", "new-thing"), ("mechanism", "new-step"), ("citation", "smith2020example"),
])
def test_new_writes_a_valid_entry(kind: str, ident: str, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if kind == "citation":
        (project / "content" / "citations" / f"{ident}.yaml").unlink()
    status, out, _ = run(capsys, "new", kind, ident, "--root", str(project))
    assert status == 0
    folder = {"intervention": "interventions", "mechanism": "mechanisms", "citation": "citations"}[kind]
    path = project / "content" / folder / f"{ident}.yaml"
    assert out == f"wrote content/{folder}/{ident}.yaml; run `allokb check` after editing it\n"
    text = path.read_text()
    assert text.startswith(f"# yaml-language-server: $schema=../../src/allokb/schemas/{kind}.schema.json\n")
    assert run(capsys, "check", str(project), "--strict")[0] == 0


def test_new_refuses_to_overwrite(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = project / "content" / "mechanisms" / "step-one.yaml"
    before = path.read_bytes()
    status, _, err = run(capsys, "new", "mechanism", "step-one", "--root", str(project))
    assert (status, err) == (1, "allokb: error: content/mechanisms/step-one.yaml exists already; edit it instead\n")
    assert path.read_bytes() == before


def test_new_citation_needs_a_bib_entry(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "new", "citation", "nobody2020nothing", "--root", str(project))
    assert status == 1
    assert err == ("allokb: error: `nobody2020nothing` is not a key in references.bib; add the bib entry first "
                   "(CONTRIBUTING.md shows how)\n")


def test_codes_lists_every_code(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "codes")
    assert status == 0
    assert [line.split()[0] for line in out.splitlines()] == list(CODES)


def test_python_dash_m_runs_the_same_cli(project: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "allokb", "check", str(project)],
                          capture_output=True, text=True, check=False)
    assert (proc.returncode, proc.stdout) == (0, "check passed: 0 errors, 0 warnings in 8 files\n")


def test_every_command_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for command in sub.choices:  # type: ignore[union-attr]
        assert f"allokb {command}" in readme, command
