"""The bad-input cases of the core through every entry point: `allokb build` (exit 1, the
check's diagnostics, no traceback, previous site untouched) and `allokb serve` (keeps running,
shows the error, recovers when the file is fixed)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from allokb.cli import main
from conftest import CASES, copy_site, make_site_project

CASE_NAMES = sorted(p.name for p in CASES.iterdir() if p.is_dir())


def _snapshot(site: Path) -> dict[Path, bytes]:
    return {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}


@pytest.fixture
def built(fixture_site: Path) -> Path:
    """The valid fixture's site: the session's shared build (copied before the test builds over it)."""
    return fixture_site


@dataclass(frozen=True)
class Previous:
    """A copy of the fixture's site, and its files, as they were before any build over it."""

    site: Path
    files: dict[Path, bytes]


@pytest.fixture(scope="module")
def previous(fixture_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Previous:
    """One copy of the valid fixture's site that every refused build of this file builds over: a
    refused build leaves it as it was, so each case compares it with the same snapshot (a case
    that changed it fails, and so do the cases after it)."""
    site = copy_site(fixture_site, tmp_path_factory.mktemp("previous") / "site")
    return Previous(site, _snapshot(site))


@pytest.mark.parametrize("case", CASE_NAMES)
def test_build_refuses_bad_input(case: str, built: Path, previous: Previous, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    root = make_site_project(tmp_path / "project")
    shutil.copytree(CASES / case / "overlay", root, dirs_exist_ok=True)
    strict = (CASES / case / "args").exists()
    if strict:  # a warning-only case: the build passes (warnings fail only `check --strict`)
        site = copy_site(built, tmp_path / "site")  # and replaces the site: a copy of its own
        assert main(["build", str(root), "--site-dir", str(site)]) == 0
        return
    capsys.readouterr()
    status = main(["build", str(root), "--site-dir", str(previous.site)])
    out = capsys.readouterr()
    assert status == 1
    expected = [line for line in (CASES / case / "expected.txt").read_text().splitlines() if "error[" in line]
    assert [line for line in out.out.splitlines() if "error[" in line] == expected
    assert "Traceback" not in out.out + out.err
    assert _snapshot(previous.site) == previous.files


@pytest.mark.parametrize("rel", ["CONTRIBUTING.md", "site_templates/abbreviations.md"])
def test_build_refuses_a_hand_written_file_that_is_not_utf8(rel: str, previous: Previous, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """The files the site includes besides the knowledge base: a located error, not a traceback
    (found by the check, before the build starts)."""
    root = make_site_project(tmp_path / "project")
    (root / rel).write_bytes((root / rel).read_bytes() + b"Caf\xe9\n")
    lines = (root / rel).read_bytes().count(b"\n")
    capsys.readouterr()
    assert main(["build", str(root), "--site-dir", str(previous.site)]) == 1
    out = capsys.readouterr()
    assert f"{rel}:{lines}:4: error[KB101] $: byte 0xe9 is not valid UTF-8 (save the file as UTF-8)\n" in out.out
    assert "Traceback" not in out.out + out.err
    assert _snapshot(previous.site) == previous.files


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - 127.0.0.1 only
            return str(response.read().decode("utf-8"))
    except OSError:
        return ""


def _wait_for(url: str, needle: str, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    body = ""
    while time.monotonic() < deadline:
        body = _get(url)
        if needle in body:
            return body
        time.sleep(0.1)
    raise AssertionError(f"{needle!r} not served at {url} within {seconds} s; last body: {body[:300]!r}")


def test_serve_shows_errors_and_recovers(tmp_path: Path) -> None:
    root = make_site_project(tmp_path / "project")
    broken = root / "content" / "mechanisms" / "step-one.yaml"
    good = broken.read_text()
    broken.write_text("id: step-one\nname: [\n")
    port = _free_port()
    scratch = tmp_path / "tmp"  # serve's temporary site and Pagefind's directory: removed on SIGTERM too
    scratch.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "allokb", "serve", str(root), "--dev-addr", f"127.0.0.1:{port}"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "TMPDIR": str(scratch)})
    try:
        body = _wait_for(f"http://127.0.0.1:{port}/atlas/", "The knowledge base has errors")
        assert "content/mechanisms/step-one.yaml:3:1: error[KB102]" in body
        broken.write_text(good)
        _wait_for(f"http://127.0.0.1:{port}/atlas/interventions/", "Example hormone")
        broken.write_text("id: step-one\nname: [\n")  # and breaks again without stopping
        _wait_for(f"http://127.0.0.1:{port}/atlas/", "The knowledge base has errors")
        assert proc.poll() is None
        assert [p.name for p in scratch.glob("allokb-serve-*")]
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert "Traceback" not in output
    assert sorted(p.name for p in scratch.iterdir()) == []
