"""Where the suite's CPU goes, test by test: a pytest plugin for measuring, loaded only when asked for.

    ALLOKB_CPU_LOG=/tmp/cpu.tsv pytest [pytest's usual arguments]

(tests/conftest.py registers this module when the variable is set)
appends one line per test phase (setup, call, teardown) in either xdist worker to the file: the
test's node id, the phase, its wall seconds, and the CPU seconds spent in it by the worker itself,
by the processes it started and waited for (an `allokb` command, mypy, pdflatex...) and by the
processes still running below the worker (Chromium and Playwright's driver, Pagefind's service),
read from /proc. At the end the controller prints the CPU per file, highest first, split so. (A
process that ends in a phase, Chromium when the session closes it, was counted while it ran: the
phase where it ends counts none of it again.)
"""

from __future__ import annotations

import os
import resource
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

LOG = "ALLOKB_CPU_LOG"
_TICK = os.sysconf("SC_CLK_TCK")


def _descendants_cpu(root: int) -> float:
    """CPU seconds of every live process below `root` (with what each has reaped of its own)."""
    parent: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parent[pid] = int(fields[1])
        cpu[pid] = sum(int(f) for f in fields[11:15]) / _TICK
    total = 0.0
    for pid, seconds in cpu.items():
        up = parent.get(pid)
        while up is not None and up != root and up > 1:
            up = parent.get(up)
        if up == root:
            total += seconds
    return total


def _sample() -> tuple[float, float, float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (time.monotonic(), own.ru_utime + own.ru_stime, reaped.ru_utime + reaped.ru_stime,
            _descendants_cpu(os.getpid()))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    yield from _measured(item, "setup")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    yield from _measured(item, "call")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    yield from _measured(item, "teardown")


def _measured(item: pytest.Item, phase: str) -> Iterator[None]:
    before = _sample()
    yield
    after = _sample()
    wall, own, reaped, live = (b - a for a, b in zip(before, after, strict=True))
    if live < 0:
        # processes that were running have ended (Chromium when the session closes it): what the
        # worker reaped of them was counted already while they ran, and what no one reaped is gone
        reaped, live = max(0.0, reaped + live), 0.0
    with open(os.environ[LOG], "a", encoding="utf-8") as out:
        out.write(f"{item.nodeid}\t{phase}\t{wall:.3f}\t{own:.3f}\t{reaped:.3f}\t{live:.3f}\n")


def pytest_unconfigure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return  # the controller reports, once, for both workers
    path = Path(os.environ[LOG])
    if not path.is_file():
        return
    per_file: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for line in path.read_text(encoding="utf-8").splitlines():
        nodeid, _phase, *numbers = line.split("\t")
        row = per_file[nodeid.split("::", 1)[0]]
        for i, value in enumerate(map(float, numbers)):
            row[i] += value
    rows = sorted(per_file.items(), key=lambda kv: -sum(kv[1][1:]))
    total = [sum(r[i] for _, r in rows) for i in range(4)]
    lines = [f"{'file':48s} {'wall':>7s} {'worker':>7s} {'waited':>7s} {'running':>7s} {'cpu':>7s}"]
    for name, (wall, own, reaped, live) in [*rows[:40], ("(all files)", total)]:
        lines.append(f"{name:48s} {wall:7.1f} {own:7.1f} {reaped:7.1f} {live:7.1f} {own + reaped + live:7.1f}")
    reporter: Any = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("\nCPU seconds per test file (tests/cpu_profile.py):")
        for text in lines:
            reporter.write_line(text)
