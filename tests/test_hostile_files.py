"""Inputs too large, too clever or not text: each is one located diagnostic, quickly, in
bounded memory, and never a traceback."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from allokb.cli import main
from allokb.project import check_project

MECH = "content/mechanisms"


def _codes(root: Path) -> list[tuple[str, int, int, str]]:
    return [(d.location.file, d.location.line, d.location.col, d.code) for d in check_project(root).diagnostics]


def billion_laughs(levels: int = 10, width: int = 10) -> str:
    lines = [f'a0: &a0 [{", ".join(["lol"] * width)}]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_rejected_fast_in_bounded_memory(project: Path) -> None:
    (project / MECH / "bomb.yaml").write_text(billion_laughs())  # 10**10 nodes if expanded
    tracemalloc.start()
    started = time.perf_counter()
    codes = _codes(project)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert codes == [(f"{MECH}/bomb.yaml", 1, 5, "KB105")]
    # Generous bounds: an expansion would take hours and terabytes.
    assert elapsed < 10 and peak < 100 * 1024 * 1024


def test_fifty_megabyte_file_is_refused_without_reading_it(project: Path) -> None:
    with open(project / MECH / "big.yaml", "wb") as fh:
        fh.write(b"id: big\nsummary: ")
        fh.write(b"x" * (50 * 1024 * 1024))
    result = check_project(project)
    assert [(d.code, d.message) for d in result.diagnostics] == [
        ("KB106", "file is 52,428,817 bytes; the limit is 1,048,576")]


@pytest.mark.parametrize("size", [0, 1, 65535, 65536, 65537, 200_000, 200_001])
def test_read_limit_is_exact(tmp_path: Path, size: int) -> None:
    """The file is read in 64 KiB chunks: a file of exactly the limit is read whole, one byte
    more is refused, whatever the chunk boundaries."""
    from allokb.load import read_text

    path = tmp_path / "f.yaml"
    path.write_bytes(b"a" * size)
    text, problems = read_text(path, "f.yaml", 200_000)
    if size <= 200_000:
        assert problems == [] and text == "a" * size
    else:
        assert text is None and [d.code for d in problems] == ["KB106"]


def test_non_utf8_yaml_is_located(project: Path) -> None:
    (project / MECH / "latin1.yaml").write_bytes('id: latin1\nname: "Caf\xe9"\n'.encode("latin-1"))
    diags = check_project(project).diagnostics
    assert [(d.code, d.location.line, d.location.col, d.message) for d in diags] == [
        ("KB101", 2, 11, "byte 0xe9 is not valid UTF-8")]


def test_non_utf8_bib_is_located(project: Path) -> None:
    bib = project / "references.bib"
    bib.write_bytes(bib.read_bytes() + "\n% Se\xf1or\n".encode("latin-1"))
    codes = [(d.code, d.location.file, d.location.line) for d in check_project(project).diagnostics]
    assert codes == [("KB101", "references.bib", 20)]


def test_undefined_alias(project: Path) -> None:
    (project / MECH / "alias.yaml").write_text("id: alias\nname: *nothing\n")
    assert _codes(project) == [(f"{MECH}/alias.yaml", 2, 7, "KB105")]


def test_binary_garbage(project: Path) -> None:
    (project / MECH / "garbage.yaml").write_bytes(bytes(range(256)))
    codes = _codes(project)
    assert [c[3] for c in codes] == ["KB101"]


@pytest.mark.parametrize("text, code", [
    ("key: [unclosed\n", "KB102"),
    ("- a\n- b\n", "KB201"),
    ("just a string\n", "KB201"),
    ("? [complex, key]\n: value\n", "KB201"),
    ("id: x\n<<: {a: 1}\n", "KB105"),
    ("id: !!binary aGVsbG8=\n", "KB111"),
    ("id: .nan\n", "KB201"),
])
def test_odd_yaml_shapes(project: Path, text: str, code: str) -> None:
    (project / MECH / "odd.yaml").write_text(text)
    assert code in [c[3] for c in _codes(project)]


def test_cli_never_tracebacks_on_hostile_tree(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / MECH / "bomb.yaml").write_text(billion_laughs())
    (project / MECH / "garbage.yaml").write_bytes(bytes(range(256)))
    (project / "references.bib").write_text("@article{broken,\n title = {x\n")
    assert main(["check", str(project)]) == 1
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
