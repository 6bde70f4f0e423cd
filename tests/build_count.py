"""Count the suite's real builds: a pytest plugin for measuring, loaded only when asked for.

    ALLOKB_BUILD_LOG=/tmp/builds.tsv pytest [pytest's usual arguments]

(tests/conftest.py registers this module when the variable is set)
appends one line per MkDocs build (`allokb.sink.engine_build`: `allokb build`, `allokb serve`'s full
rebuilds; `mkdocs.commands.build.build`: plain `mkdocs build` through the hook), per render
(`allokb.stages.render`) and per check (`allokb.project.check_project`) made in a pytest process (either xdist worker) to the file:
kind, CPU seconds of that call, the test that made it (PYTEST_CURRENT_TEST), the process id, and
the project or site folder. At the end the controller prints a count and the CPU per kind, and the
builds per test file. A build in an `allokb` process a test starts is not counted (start it with
this plugin's `instrument()` if it matters); in December 2026 those were about 20 of 87.
"""

from __future__ import annotations

import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

LOG = "ALLOKB_BUILD_LOG"


def _log(kind: str, seconds: float, what: object) -> None:
    with open(os.environ[LOG], "a", encoding="utf-8", errors="backslashreplace") as out:
        test = os.environ.get("PYTEST_CURRENT_TEST", "-")
        fields = (kind, f"{seconds:.3f}", test, str(os.getpid()), str(what))
        out.write("\t".join(repr(field)[1:-1] for field in fields) + "\n")  # one line, whatever a path holds


def _timed(kind: str, call: Callable[..., Any], what: Callable[..., object]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return call(*args, **kwargs)
        finally:
            _log(kind, time.process_time() - started, what(*args))

    timed.counted = True  # type: ignore[attr-defined]
    return timed


def instrument() -> None:
    """Count from now on in this process (once)."""
    import mkdocs.commands.build as mkdocs_build

    import allokb.project
    import allokb.stages

    if getattr(mkdocs_build.build, "counted", False):
        return
    import allokb.sink

    # plain `mkdocs build` / `mkdocs serve` (through the hook); allokb's own builds go through
    # sink.engine_build (MkDocs' build step for step), called by its module-level name
    mkdocs_build.build = _timed("mkdocs", mkdocs_build.build, lambda config, *_: config.get("site_dir"))
    allokb.sink.engine_build = _timed("mkdocs", allokb.sink.engine_build, lambda config, *_: config.get("site_dir"))
    # a page's Markdown converted to HTML (inside the builds above: most of a build's time)
    from mkdocs.structure.pages import Page

    Page.render = _timed("markdown", Page.render, lambda page, *_: page.file.src_uri)
    # check_project's body: `from allokb.project import check_project` elsewhere keeps the original
    allokb.project._check = _timed("check", allokb.project._check, lambda root, *_: root)
    allokb.stages.render = _timed("render", allokb.stages.render, lambda root, *_: root)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER") or not os.environ.get(LOG) or not Path(os.environ[LOG]).exists():
        return
    count: Counter[str] = Counter()
    cpu: Counter[str] = Counter()
    builds: dict[str, list[float]] = defaultdict(list)
    for line in Path(os.environ[LOG]).read_text(encoding="utf-8").splitlines():
        kind, seconds, test, *_ = line.split("\t")
        count[kind] += 1
        cpu[kind] += float(seconds)
        if kind == "mkdocs":
            builds[test.split("::")[0]].append(float(seconds))
    write = terminalreporter.write_line
    write(f"builds counted in {os.environ[LOG]}:")
    for kind in sorted(count):
        write(f"  {kind:7} {count[kind]:5} calls {cpu[kind]:7.1f} s CPU")
    for name, seconds in sorted(builds.items(), key=lambda item: -sum(item[1])):
        write(f"  {len(seconds):3} builds {sum(seconds):6.1f} s  {name}")
