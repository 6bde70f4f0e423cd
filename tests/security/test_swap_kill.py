"""Builds killed (SIGKILL) in every stage of a build always leave the complete old site or the
complete new one, checked against a manifest of checksums; the next build clears what they left."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import allokb.output
from conftest import make_site_project

SRC = Path(allokb.output.__file__).resolve().parents[1]
ABOUT = "content/pages/about.md"
# The same build with renameat2 reported as unsupported, so that it takes the two-step fallback
# swap, and a pause after the first rename so that a kill can land between the two (test only).
FALLBACK = ("import errno, os, sys, time, allokb.output as o\n"
            "def unsupported(*args): raise OSError(errno.ENOSYS, 'not here')\n"
            "o.rename2 = unsupported\n"
            "rename = os.rename\n"
            "def slow(src, dst): rename(src, dst); time.sleep(5 if '.old-' in str(dst) else 0)\n"
            "os.rename = slow\n"
            "from allokb.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")


def manifest(site: Path) -> dict[str, str] | None:
    """Every path in the site with the checksum of its bytes ("dir" for folders); None if absent."""
    if not site.is_dir():
        return None
    found = {}
    for dirpath, dirnames, filenames in os.walk(site):
        for name in dirnames:
            found[os.path.relpath(os.path.join(dirpath, name), site)] = "dir"
        for name in filenames:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, site)] = hashlib.sha256(handle.read()).hexdigest()
    return found


class Builds:
    """A project whose about page is in one of two variants, built by a child process."""

    def __init__(self, tmp: Path) -> None:
        self.root = make_site_project(tmp / "project")
        self.about = (self.root / ABOUT).read_text()
        self.references = {which: tmp / f"reference-{which}" for which in ("a", "b")}
        self.env = {**os.environ, "PYTHONPATH": str(SRC), "SOURCE_DATE_EPOCH": "1767225600",
                    "NO_MKDOCS_2_WARNING": "1"}

    def variant(self, which: str) -> None:
        (self.root / ABOUT).write_text(self.about + f"\nThis is variant {which}.\n")

    def start(self, site: Path, fallback: bool = False) -> subprocess.Popen[bytes]:
        head = [sys.executable, "-c", FALLBACK] if fallback else [sys.executable, "-m", "allokb"]
        return subprocess.Popen([*head, "build", str(self.root), "--site-dir", str(site)], env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def build(self, site: Path) -> float:
        began = time.monotonic()
        assert self.start(site).wait(timeout=120) == 0
        return time.monotonic() - began


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Builds, dict[str, dict[str, str]], float]:
    tmp = tmp_path_factory.mktemp("kill")
    b = Builds(tmp)
    sites, took = {}, 60.0
    for which in ("a", "b"):
        b.variant(which)
        took = min(took, b.build(b.references[which]))
        sites[which] = manifest(b.references[which])
    assert sites["a"] != sites["b"]
    return b, sites, took


def _staging(parent: Path, marked: bool) -> bool:
    """A staging folder beside the site; `marked`: one whose site is complete (its marker written:
    the swap is next), else one MkDocs is still writing."""
    return any(name.startswith(".site.building-") and os.path.exists(parent / name / ".allokb-site") == marked
               for name in os.listdir(parent))


def _inode(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


#: The windows a kill is aimed at, in the order a build reaches them: "starting" (the process
#: imports and checks: no staging folder yet), "writing" (MkDocs writes the staging folder),
#: "sealing" (the staged site is complete and being sealed for the swap), "swapped" (the new
#: site took the old one's place; the old one is being removed), and "between" (the two renames
#: of the fallback swap: no site folder).
WINDOWS = ("starting", "writing", "sealing", "swapped")


def _kill_at(proc: subprocess.Popen[bytes], site: Path, when: str, delay: float) -> bool:
    """SIGKILL the build `delay` seconds after it entered the window `when` (`WINDOWS`, or
    "between"). False if the build had finished before."""
    old = _inode(site)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline and when != "starting":
        if {"writing": lambda: _staging(site.parent, marked=False),
                "sealing": lambda: _staging(site.parent, marked=True),
                "swapped": lambda: _inode(site) != old,
                "between": lambda: _inode(site) is None}[when]():
            break
        time.sleep(0.0002)
    time.sleep(delay)
    killed = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    return killed


def _leftovers(parent: Path) -> list[str]:
    return sorted(name for name in os.listdir(parent) if name.startswith(".site."))


@pytest.mark.slow
def test_builds_killed_in_every_window_leave_the_old_or_the_new_site_complete(
        builds: tuple[Builds, dict[str, dict[str, str]], float], tmp_path: Path) -> None:
    """Two kills aimed at each window of a build (`WINDOWS`), at a random moment inside it: a kill
    at a random time of the whole build mostly lands while MkDocs writes, so aiming reaches every
    window with eight builds instead of twenty."""
    b, sites, took = builds
    rng = random.Random(11)
    site = tmp_path / "site"
    b.variant("a")
    shutil.copytree(b.references["a"], site)
    seen: list[tuple[str, str, bool]] = []
    for attempt in range(16):  # until two builds were killed in each window before they finished
        have = "a" if manifest(site) == sites["a"] else "b"
        new = "b" if have == "a" else "a"
        b.variant(new)
        when = WINDOWS[len(seen) % len(WINDOWS)]
        delay = {"starting": rng.uniform(0, 0.1 * took), "writing": rng.uniform(0, 0.1 * took)}.get(
            when, rng.uniform(0, 0.003))
        killed = _kill_at(b.start(site), site, when, delay)
        now = manifest(site)
        assert now in (sites[have], sites[new]), f"attempt {attempt} ({when}): the site is neither the old nor the new one"
        assert all(allokb.output._leftover_pattern(site).fullmatch(n) for n in _leftovers(tmp_path)
                   if n != ".site.lock")
        if killed:
            seen.append((when, "old" if now == sites[have] else "new",
                         bool(_leftovers(tmp_path))))
        if len(seen) == 2 * len(WINDOWS):
            break
    print("kills (window, site left, leftovers beside it):", seen)
    assert sorted(w for w, _, _ in seen) == sorted(WINDOWS * 2)
    assert all(s == "old" for w, s, _ in seen if w in ("starting", "writing"))
    assert all(s == "new" for w, s, _ in seen if w == "swapped")
    assert any(left for w, _, left in seen if w == "writing")  # a staging folder was left to clear
    b.build(site)  # the next build clears what the killed ones left
    assert manifest(site) == sites[new] and _leftovers(tmp_path) == []


@pytest.mark.slow
def test_killed_two_step_swaps_are_repaired_by_the_next_build(
        builds: tuple[Builds, dict[str, dict[str, str]], float], tmp_path: Path) -> None:
    """Without renameat2 a kill between the two renames leaves no site folder but the complete
    old one beside it; the next build puts it back before anything else, even one that fails."""
    b, sites, _ = builds
    site = tmp_path / "site"
    shutil.copytree(b.references["a"], site)
    for attempt, then in enumerate(["a failing build", "a build"]):
        b.variant("b")
        assert _kill_at(b.start(site, fallback=True), site, "between", 0.0), f"kill {attempt}: too late"
        assert manifest(site) is None
        assert [n for n in _leftovers(tmp_path) if ".old-" in n]
        if then == "a failing build":
            (b.root / ABOUT).write_text(b.about + "\n[a dead link](missing.md)\n")
            assert b.start(site).wait(timeout=120) == 1
            assert manifest(site) == sites["a"], "the old site was not restored"
        else:
            assert b.start(site).wait(timeout=120) == 0
            assert manifest(site) == sites["b"]
        assert _leftovers(tmp_path) == []


def test_the_site_is_complete_after_every_step_of_the_swap(
        builds: tuple[Builds, dict[str, dict[str, str]], float], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Where a kill could land between two system calls of the swap, each one is checked: after
    every rename and removal the build makes, the site folder is the old site or the new one."""
    from allokb.cli import main

    b, sites, _ = builds
    site = tmp_path / "site"
    shutil.copytree(b.references["a"], site)
    b.variant("b")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", b.env["SOURCE_DATE_EPOCH"])
    states: list[str] = []

    def watched(name: str, real: object) -> object:
        def call(*args: object, **kwargs: object) -> object:
            result = real(*args, **kwargs)  # type: ignore[operator]
            now = manifest(site)
            states.append(f"{name}: " + ("old" if now == sites["a"] else "new" if now == sites["b"] else "broken"))
            return result
        return call

    monkeypatch.setattr(allokb.output, "rename2", watched("rename2", allokb.output.rename2))
    monkeypatch.setattr(os, "rename", watched("rename", os.rename))
    monkeypatch.setattr(allokb.output, "remove_tree", watched("remove_tree", allokb.output.remove_tree))
    assert main(["build", str(b.root), "--site-dir", str(site)]) == 0
    assert states == ["rename2: new", "remove_tree: new"]
