"""Builds killed (SIGKILL) in every stage of a build always leave the complete old site or the
complete new one, checked against a manifest of checksums; the next build clears what they left."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import allokb.output
from conftest import make_site_project

SRC = Path(allokb.output.__file__).resolve().parents[1]
ABOUT = "content/pages/about.md"
EPOCH = "1767225600"

#: The build processes of this file are forked from one warm process (`Server`): a fresh
#: `python -m allokb build` pays ~0.6 s of imports and the loading of its compiled templates
#: (allokb.templatecache: the run's cache, inherited through ALLOKB_CACHE_DIR) before it builds,
#: sixteen times here; a fork starts at the build, with all of that done. What is killed is
#: still a real build process (SIGKILL, from outside); the fork only skips the start-up, which
#: writes nothing.
#: Each child reports the windows it enters (`WINDOWS`) on a pipe, one byte each, right after
#: the system call that opens the window, so that a kill is aimed at a window by waiting for its
#: event instead of polling the folder, and the window a kill really landed in is known.
SERVER = r"""
import json, os, sys, time
events = int(sys.argv[1])
protocol = os.fdopen(os.dup(1), "w")
quiet = os.open(os.devnull, os.O_WRONLY)
os.dup2(quiet, 1)  # what the builds print must not reach the protocol
import errno, tempfile
import allokb.output as o
from allokb.cli import main

def tell(what):
    os.write(events, what.encode())

def instrument(fallback):
    mkdtemp, write_marker, rename2, rename = tempfile.mkdtemp, o.write_marker, o.rename2, os.rename
    def staged(*args, **kwargs):
        path = mkdtemp(*args, **kwargs)
        if ".building-" in path:
            tell("w")  # writing: the staging folder exists, unmarked
        return path
    def marked(tree):
        write_marker(tree)
        tell("s")  # sealing: the staged site is complete and marked; the swap is next
    def exchanged(src, dst, flags):
        if fallback:  # renameat2 reported as unsupported: the two-step swap
            raise OSError(errno.ENOSYS, "not here")
        rename2(src, dst, flags)
        tell("x")  # swapped: the new site is in place; the old one is being removed
    def renamed(src, dst):
        rename(src, dst)
        if ".old-" in str(dst):
            tell("b")  # between the two renames of the fallback: no site folder
            time.sleep(5)
    tempfile.mkdtemp, o.write_marker, o.rename2 = staged, marked, exchanged
    if fallback:
        os.rename = renamed

for line in sys.stdin:
    request = json.loads(line)
    if request["fork"]:
        pid = os.fork()
        if pid == 0:
            os.dup2(quiet, 2)
            instrument(request["fallback"])
            os._exit(main(request["argv"]))
        print(json.dumps({"pid": pid}), file=protocol, flush=True)
        print(json.dumps({"status": os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])}), file=protocol, flush=True)
    else:  # in this process: warms the caches for the children
        print(json.dumps({"status": main(request["argv"])}), file=protocol, flush=True)
"""


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


#: The windows a kill is aimed at, in the order a build reaches them, with the byte its event
#: sends: "starting" (the build checks: no staging folder yet), "writing" (MkDocs writes the
#: staging folder), "sealing" (the staged site is complete and marked, the swap is next),
#: "swapped" (the new site took the old one's place; the old one is being removed), and
#: "between" (the two renames of the fallback swap: no site folder).
WINDOWS = ("starting", "writing", "sealing", "swapped")
EVENTS = {"w": "writing", "s": "sealing", "x": "swapped", "b": "between"}


class Build:
    """One forked build: its pid (a pidfd, so that a kill never reaches another process) and its
    exit status, read from the server."""

    def __init__(self, server: Server, pid: int) -> None:
        self.server, self.pidfd, self.status = server, os.pidfd_open(pid), None

    def running(self) -> bool:
        return self.status is None and not select.select([self.pidfd], [], [], 0)[0]

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)

    def wait(self) -> int:
        if self.status is None:
            self.status = self.server.answer()["status"]
            os.close(self.pidfd)
        return self.status


class Server:
    """The warm process that forks the builds (`SERVER`)."""

    def __init__(self, log: Path) -> None:
        self.events, writer = os.pipe()
        self.log = log
        with open(log, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", SERVER, str(writer)], pass_fds=(writer,),
                env={**os.environ, "PYTHONPATH": str(SRC), "SOURCE_DATE_EPOCH": EPOCH, "NO_MKDOCS_2_WARNING": "1"},
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True)
        os.close(writer)

    def answer(self) -> dict[str, int]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, f"the build server died: {self.log.read_text()[-3000:]}"
        return json.loads(line)  # type: ignore[no-any-return]

    def ask(self, argv: list[str], fork: bool, fallback: bool = False) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"argv": argv, "fork": fork, "fallback": fallback}) + "\n")
        self.proc.stdin.flush()

    def start(self, argv: list[str], fallback: bool = False) -> Build:
        self.drain()
        self.ask(argv, fork=True, fallback=fallback)
        return Build(self, self.answer()["pid"])

    def run_here(self, argv: list[str]) -> int:
        self.ask(argv, fork=False)
        return self.answer()["status"]

    def wait_event(self, build: Build, timeout: float = 60) -> str | None:
        """The next window `build` enters; None if it ended first."""
        ready = select.select([self.events, build.pidfd], [], [], timeout)[0]
        if self.events in ready:
            return EVENTS[os.read(self.events, 1).decode()]
        return None

    def drain(self) -> list[str]:
        """The windows reported since the last call (after a kill: every window the build reached)."""
        got = []
        while select.select([self.events], [], [], 0)[0]:
            got.extend(EVENTS[c] for c in os.read(self.events, 64).decode())
        return got

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=60)
        os.close(self.events)


class Builds:
    """A project whose about page is in one of two variants, built by processes the server forks."""

    def __init__(self, tmp: Path, server: Server) -> None:
        self.root = make_site_project(tmp / "project")
        # What is built does not matter here: the contributor guide, the site's longest page, is
        # cut to a stub, which makes every build of this file a quarter shorter.
        (self.root / "CONTRIBUTING.md").write_text("# Contributing\n\nA stub.\n")
        self.about = (self.root / ABOUT).read_text()
        self.references = {which: tmp / f"reference-{which}" for which in ("a", "b")}
        self.server = server

    def variant(self, which: str) -> None:
        (self.root / ABOUT).write_text(self.about + f"\nThis is variant {which}.\n")

    def argv(self, site: Path) -> list[str]:
        return ["build", str(self.root), "--site-dir", str(site)]

    def start(self, site: Path, fallback: bool = False) -> Build:
        return self.server.start(self.argv(site), fallback)

    def build(self, site: Path) -> float:
        began = time.monotonic()
        assert self.start(site).wait() == 0
        return time.monotonic() - began


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Builds, dict[str, dict[str, str]], float]]:
    tmp = tmp_path_factory.mktemp("kill")
    server = Server(tmp / "server.log")
    b = Builds(tmp, server)
    b.variant("a")
    assert server.run_here(b.argv(b.references["a"])) == 0  # in the server: warms it
    b.variant("b")
    took = b.build(b.references["b"])  # forked, as every build below
    sites = {which: manifest(b.references[which]) for which in ("a", "b")}
    assert sites["a"] != sites["b"]
    yield b, sites, took  # type: ignore[misc]
    server.close()


def _kill_at(b: Builds, build: Build, when: str, delay: float) -> str | None:
    """SIGKILL `build` `delay` seconds after it entered the window `when` (`WINDOWS`, or
    "between"); the window it was killed in (the last one it reported), None if it had
    finished before."""
    reached = ["starting"]
    while when != "starting":
        entered = b.server.wait_event(build)
        if entered is None:
            break
        reached.append(entered)
        if entered == when:
            break
    time.sleep(delay)
    killed = build.running()
    build.kill()
    build.wait()
    reached += b.server.drain()
    return reached[-1] if killed else None


def _leftovers(parent: Path) -> list[str]:
    return sorted(name for name in os.listdir(parent) if name.startswith(".site."))


@pytest.mark.slow
def test_builds_killed_in_every_window_leave_the_old_or_the_new_site_complete(
        builds: tuple[Builds, dict[str, dict[str, str]], float], tmp_path: Path) -> None:
    """Two kills aimed at each window of a build (`WINDOWS`), at a random moment inside it: a kill
    at a random time of the whole build mostly lands while MkDocs writes, so aiming reaches every
    window with eight builds instead of twenty. A kill counts for the window the build had
    reached when it died, whatever it was aimed at."""
    b, sites, took = builds
    rng = random.Random(11)
    site = tmp_path / "site"
    b.variant("a")
    shutil.copytree(b.references["a"], site)
    seen: list[tuple[str, str, bool]] = []
    for attempt in range(24):  # until two builds were killed in each window before they finished
        have = "a" if manifest(site) == sites["a"] else "b"
        new = "b" if have == "a" else "a"
        b.variant(new)
        when = next(w for w in WINDOWS if sum(s[0] == w for s in seen) < 2)
        delay = {"starting": rng.uniform(0, 0.02 * took), "writing": rng.uniform(0, 0.1 * took)}.get(
            when, rng.uniform(0, 0.003))
        killed = _kill_at(b, b.start(site), when, delay)
        now = manifest(site)
        assert now in (sites[have], sites[new]), f"attempt {attempt} ({killed}): the site is neither the old nor the new one"
        assert all(allokb.output._leftover_pattern(site).fullmatch(n) for n in _leftovers(tmp_path)
                   if n != ".site.lock")
        if killed and sum(s[0] == killed for s in seen) < 2:
            seen.append((killed, "old" if now == sites[have] else "new", bool(_leftovers(tmp_path))))
        if len(seen) == 2 * len(WINDOWS):
            break
    print(f"kills in {attempt + 1} builds (window, site left, leftovers beside it):", seen)
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
        assert _kill_at(b, b.start(site, fallback=True), "between", 0.0) == "between", f"kill {attempt}: missed"
        assert manifest(site) is None
        assert [n for n in _leftovers(tmp_path) if ".old-" in n]
        if then == "a failing build":
            (b.root / ABOUT).write_text(b.about + "\n[a dead link](missing.md)\n")
            assert b.start(site).wait() == 1
            assert manifest(site) == sites["a"], "the old site was not restored"
        else:
            assert b.start(site).wait() == 0
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
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
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
