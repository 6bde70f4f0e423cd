"""A large knowledge base is loaded by several processes: the result must be the serial one."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

import allokb.parallel
import allokb.project
from allokb.checkcache import open_store
from allokb.load import scan_content
from allokb.project import CheckResult, check_project
from conftest import REPO


def _generate(root: Path, entries: int) -> None:
    spec = importlib.util.spec_from_file_location("bench_check", REPO / "benchmarks" / "bench_check.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.generate(root, entries)


@pytest.fixture(scope="module")
def large_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """900 files (several batches) with problems spread through them, first to last."""
    root = tmp_path_factory.mktemp("large")
    _generate(root, 300)
    content = root / "content"
    (content / "citations" / "author02020study.yaml").write_text("key: author02020study\ndesign: rct\ndesign: rct\n")
    (content / "interventions" / "int-77.yaml").write_text(
        (content / "interventions" / "int-77.yaml").read_text().replace("mech-77", "mech-9999"))
    (content / "mechanisms" / "mech-149.yaml").write_text("id: mech-149\n\tname: tab\n")
    (content / "mechanisms" / "mech-99.yaml").unlink()
    return root


@pytest.fixture(scope="module")
def serial(large_kb: Path) -> CheckResult:
    """The check of `large_kb` in this process alone (read-only)."""
    return check_project(large_kb)


@pytest.mark.parametrize("processes", [2, 3])
def test_pooled_check_equals_serial_check(large_kb: Path, serial: CheckResult, processes: int,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(serial.diagnostics) >= 4 and serial.files == 900
    monkeypatch.setattr(allokb.project, "_processes", lambda files: processes)
    pooled = check_project(large_kb)
    assert pooled.diagnostics == serial.diagnostics
    assert pooled.kb == serial.kb
    assert pooled.grades == serial.grades and pooled.files == serial.files


def test_pooled_check_through_the_store_equals_serial_check(large_kb: Path, serial: CheckResult, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The workers pickle each outcome for the store (allokb.checkcache), the rules of the whole
    knowledge base run in a worker beside the grading (`allokb.parallel.beside`); then a check
    from the store, the same again."""
    monkeypatch.setenv("ALLOKB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(allokb.project, "_processes", lambda files: 2)
    sides: list[str] = []
    real_beside = allokb.project.beside

    def beside(side: Any, here: Any) -> Any:
        sides.append(side.__name__)
        return real_beside(side, here)

    monkeypatch.setattr(allokb.project, "beside", beside)
    for _ in range(2):
        pooled = check_project(large_kb, stored=True)
        assert pooled.diagnostics == serial.diagnostics
        assert pooled.kb == serial.kb
        assert pooled.grades == serial.grades and pooled.urls == serial.urls and pooled.files == serial.files
    assert sides == ["whole", "whole"]
    assert len(open_store(large_kb).files) == len(scan_content(large_kb)[0]) == 899


def test_beside_runs_the_side_in_another_process() -> None:
    import os

    side, here = allokb.parallel.beside(os.getpid, os.getpid)
    assert here == os.getpid() and side != here and isinstance(side, int)
    with pytest.raises(ZeroDivisionError):
        allokb.parallel.beside(lambda: 1 // 0, lambda: None)


def test_pool_starts_only_for_large_knowledge_bases() -> None:
    assert allokb.project._processes(allokb.project.PARALLEL_THRESHOLD - 1) == 1


def test_pausing_the_collector_restores_it_and_loses_no_cycle() -> None:
    """Objects made while the collector is paused skip the young generations, yet a garbage
    cycle made then is still collected by a full collection afterwards."""
    import gc
    import weakref

    class Node:
        pass

    assert gc.isenabled()
    with allokb.project._no_cyclic_gc():
        assert not gc.isenabled()
        a, b = Node(), Node()
        a.other, b.other = b, a  # type: ignore[attr-defined]
        probe = weakref.ref(a)
        del a, b
    assert gc.isenabled()
    assert probe() is not None  # a cycle: reference counting alone cannot free it
    gc.collect()
    assert probe() is None
