"""Each folder under tests/cases/ is one kind of bad input laid over the valid fixture; the
exact report of `allokb check` (and exit status 1) is pinned in its expected.txt."""

from __future__ import annotations

from pathlib import Path

import pytest

from allokb.cli import main
from conftest import CASES, make_project

CASE_NAMES = sorted(p.name for p in CASES.iterdir() if p.is_dir())


def run_check(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["check", str(root), *args])
    out = capsys.readouterr()
    return status, out.out, out.err


def test_valid_fixture_is_clean(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_check(project, capsys)
    assert (status, out, err) == (0, "check passed: 0 errors, 0 warnings in 8 files\n", "")


@pytest.mark.parametrize("case", CASE_NAMES)
def test_bad_input_case(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path / case, case)
    args_file = CASES / case / "args"
    args = args_file.read_text().split() if args_file.exists() else []
    status, out, err = run_check(root, capsys, *args)
    assert out == (CASES / case / "expected.txt").read_text()
    assert status == 1
    assert err == ""


def test_warnings_pass_without_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path / "kb", "uncited-reference")
    status, out, _ = run_check(root, capsys)
    assert status == 0
    assert out.endswith("check passed: 0 errors, 1 warning in 9 files\n")


def test_every_case_is_a_directory_with_expectations() -> None:
    assert len(CASE_NAMES) >= 20
    for case in CASE_NAMES:
        assert (CASES / case / "expected.txt").exists(), case
        assert (CASES / case / "overlay").is_dir(), case
