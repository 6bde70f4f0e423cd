"""A large site's pages are converted, written and audited by several processes
(`allokb.sink.engine_build`, `allokb.audit.audit_site`, over `allokb.parallel.share`): the site,
the log, a strict build's verdict and the audit's findings must be a serial build's.

The fixture site is small, so these tests lower the thresholds and the batch sizes until its
pages are spread over two processes, and show that they were."""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path

import pytest

import allokb.audit
import allokb.parallel
import allokb.sink
from allokb.build import build
from allokb.diagnostics import KbError
from allokb.parallel import share
from allokb.project import CheckResult
from conftest import REPO, Built, copy_site, make_site_project, tree_digest


@pytest.fixture
def shared_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every build and audit of the test shares its pages among two processes, in small batches."""
    monkeypatch.setattr(allokb.parallel, "cores", lambda: 2)
    monkeypatch.setattr(allokb.sink, "PARALLEL_FROM_PAGES", 1)
    monkeypatch.setattr(allokb.sink, "_BATCH", 3)
    monkeypatch.setattr(allokb.audit, "PARALLEL_FROM_PAGES", 1)
    monkeypatch.setattr(allokb.audit, "AUDIT_BATCH", 3)


def _processes_of(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A file to which every call of MkDocs' two page steps appends its process id (forked
    workers inherit the patch)."""
    from mkdocs.commands import build as mk

    log = tmp_path / "pids"
    for name in ("_populate_page", "_build_page"):
        original = getattr(mk, name)

        def step(*args: object, _original: object = original, _name: str = name, **kwargs: object) -> None:
            with open(log, "a") as out:
                out.write(f"{_name} {os.getpid()}\n")
            _original(*args, **kwargs)  # type: ignore[operator]

        monkeypatch.setattr(mk, name, step)
    return log


def test_a_shared_build_writes_the_serial_site(fixture_build: Built, shared_pages: None, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    pids = _processes_of(monkeypatch, tmp_path)
    monkeypatch.setattr(allokb.sink, "PROGRESS_FROM_PAGES", 1)
    lines: list[str] = []
    result = build(fixture_build.root, tmp_path / "www" / "atlas",
                   progress=lambda done, total, page: lines.append(f"{done}/{total} {page}"))
    assert result.stage == "done"
    assert tree_digest(tmp_path / "www" / "atlas") == tree_digest(fixture_build.site)
    steps: dict[str, set[str]] = {}
    for line in pids.read_text().splitlines():
        name, pid = line.split()
        steps.setdefault(name, set()).add(pid)
    assert len(steps["_populate_page"]) == 2 and len(steps["_build_page"]) == 2, steps
    assert str(os.getpid()) in steps["_populate_page"] & steps["_build_page"]
    # progress: told as batches end, counting up to every page
    counts = [int(line.split("/")[0]) for line in lines]
    total = int(lines[-1].split()[0].split("/")[1])
    assert counts == sorted(counts) and counts[-1] == total and len(counts) > 2


def _two_builds(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The error of a serial build of `project`, then of a shared one."""
    errors = []
    for name, threshold in (("serial", 10**9), ("shared", 1)):
        monkeypatch.setattr(allokb.sink, "PARALLEL_FROM_PAGES", threshold)
        with pytest.raises(KbError) as caught:
            build(project, tmp_path / name / "site")
        errors.append(str(caught.value))
        assert not (tmp_path / name / "site").exists()
    return errors


def test_a_strict_warning_fails_a_shared_build_as_a_serial_one(shared_pages: None, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    """The warning a worker logged reaches this process's log once, and counts."""
    project = make_site_project(tmp_path / "project")
    page = project / "content" / "pages" / "about.md"
    page.write_text(page.read_text() + "\n\nSee [the missing page](no-such-page.md).\n")
    serial, shared = _two_builds(project, tmp_path, monkeypatch)
    assert serial == shared == "build failed: Aborted with 1 warnings in strict mode!\nthe previous site is unchanged"
    warned = [r for r in caplog.records if "no-such-page.md" in r.getMessage()]
    assert [r.levelname for r in warned] == ["WARNING", "WARNING"]  # one per build
    assert all(r.name == "mkdocs.structure.pages" for r in warned)


def test_a_page_whose_template_fails_stops_a_shared_build_as_a_serial_one(
        shared_pages: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A template error met on one page, in a worker or here: the page and the error, once, with
    no traceback; no site is left behind."""
    project = make_site_project(tmp_path / "project")
    main = project / "site_templates" / "overrides" / "main.html"
    failing = ('{% if page and page.file and page.file.src_uri.startswith("interventions/") %}'
               '{{ page.no_such.call() }}{% endif %}')
    main.write_text(main.read_text().replace("{% block content %}", "{% block content %}" + failing, 1))
    assert "no_such" in main.read_text()
    serial, shared = _two_builds(project, tmp_path, monkeypatch)
    assert serial == shared
    assert re.search(r"Error building page '[^']+'", serial) and "Traceback" not in serial


def test_a_theme_template_that_does_not_compile_is_a_located_error(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_site_project(tmp_path / "project")
    main = project / "site_templates" / "overrides" / "main.html"
    lines = main.read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("{% block site_meta %}"))
    lines[at] = "{% if %}" + lines[at]
    main.write_text("".join(lines))
    with pytest.raises(KbError) as caught:
        build(project, tmp_path / "site")
    assert f"{main}, line {at + 1}: Expected an expression" in str(caught.value)
    assert not (tmp_path / "site").exists()


def test_a_shared_audit_finds_what_a_serial_one_finds(fixture_site: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    site = copy_site(fixture_site, tmp_path / "site")
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 12
    for page in (pages[0], pages[len(pages) // 2], pages[-1]):  # first, middle and last batch
        page.write_text(page.read_text().replace("</body>", '<script>alert(1)</script><a href="javascript:x">x</a></body>'))
    serial = allokb.audit.audit_site(site, "https://allo-atlas.github.io/atlas/")
    monkeypatch.setattr(allokb.parallel, "cores", lambda: 2)
    monkeypatch.setattr(allokb.audit, "PARALLEL_FROM_PAGES", 1)
    monkeypatch.setattr(allokb.audit, "AUDIT_BATCH", 3)
    shared = allokb.audit.audit_site(site, "https://allo-atlas.github.io/atlas/")
    assert shared == serial
    assert {d.location.file for d in serial} == {p.relative_to(site).as_posix() for p in (pages[0], pages[len(pages) // 2], pages[-1])}


# --- allokb.parallel.share ------------------------------------------------------------------------

def test_share_returns_every_result_in_order_and_runs_first_once() -> None:
    told: list[int] = []

    def work(i: int) -> tuple[int, int]:
        time.sleep(0.02)  # long enough for the workers to start and take their part
        return i * i, os.getpid()

    results, first = share(work, 40, 3, done=lambda i, r: told.append(i), first=lambda: os.getpid())
    assert [r for r, _ in results] == [i * i for i in range(40)]
    assert sorted(told) == list(range(40))
    assert first != os.getpid()  # a worker's
    pids = {pid for _, pid in results}
    assert os.getpid() in pids and len(pids) >= 2  # this process and at least one worker


def test_share_in_one_process_runs_in_order_here() -> None:
    order: list[int] = []
    results, first = share(lambda i: order.append(i) or os.getpid(), 5, 1, first=lambda: "bib")
    assert order == [0, 1, 2, 3, 4] and set(results) == {os.getpid()} and first == "bib"


def test_share_raises_what_a_worker_raised() -> None:
    def work(i: int) -> int:
        if i == 0:  # the front: a worker's batch
            raise ValueError("batch 0")
        return i

    with pytest.raises(ValueError, match="batch 0"):
        share(work, 30, 2)
    assert allokb.parallel._TASKS == []  # ready for the next share


def test_a_share_inside_a_worker_stays_in_that_worker() -> None:
    results, _ = share(lambda i: share(lambda j: os.getpid(), 4, 2)[0], 8, 2)
    for pids in results:
        assert len(set(pids)) == 1  # no fork of a fork


def test_progress_lines_follow_counts_that_jump() -> None:
    from allokb.progress import make_progress

    stream = io.StringIO()
    progress = make_progress(stream, "build", "pages written", None)
    for done in range(64, 1000, 64):
        progress(done, 1000, f"p{done}")
    progress(1000, 1000, "last")
    lines = stream.getvalue().splitlines()
    assert 10 <= len(lines) <= 11 and lines[-1] == "build: 1000/1000 pages written (last)"


def test_a_shared_render_is_the_serial_render(repo_check: CheckResult, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The references formatted and the entry pages rendered in batches over two processes: the
    same pages, exports and blocks as one process renders."""
    import allokb.render
    from allokb import stages

    settings = allokb.sink.settings(allokb.sink.load(REPO, tmp_path / "site"), REPO)
    serial, _ = stages.render(REPO, repo_check, settings)
    monkeypatch.setattr(allokb.parallel, "cores", lambda: 2)
    monkeypatch.setattr(allokb.render, "PARALLEL_FROM", 1)
    monkeypatch.setattr(allokb.render, "BATCH", 7)
    shared, _ = stages.render(REPO, repo_check, settings)
    assert len(repo_check.kb.references) > 7 * 2 and len(serial.pages) > 7 * 2
    assert shared.pages == serial.pages
    assert shared.files == serial.files and shared.blocks == serial.blocks
    assert shared.state is not None and serial.state is not None
    assert shared.state.formatted == serial.state.formatted
    assert list(shared.state.formatted) == list(serial.state.formatted)
