"""The one build pipeline (allokb.build): errors are data to the edge, MkDocs is a stateless sink
reached through one hook file, and a plain `mkdocs build` goes through the same stages."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import allokb.sink
from allokb.build import build
from allokb.cli import main
from allokb.diagnostics import Diagnostic, Location, Severity
from allokb.project import check_project
from allokb.render import SiteInfo, render_site
from allokb.site import source_date_epoch
from conftest import REPO, Built, make_site_project

SRC = Path(allokb.sink.__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), *sys.path]), "NO_MKDOCS_2_WARNING": "1"}
TEMPLATE = "site_templates/mechanism.md.j2"
SITE = SiteInfo(site_name="Atlas", site_url="https://example.org/atlas/", repo_url=None, branch="main", updated={},
                build_date="2026-12-01")


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _break_template(root: Path) -> int:
    """Break the mechanism template at a line of its own; return that line."""
    path = root / TEMPLATE
    lines = path.read_text().splitlines(keepends=True)
    line = next(i for i, text in enumerate(lines, 1) if "{{ kind }}" in text)
    lines[line - 1] = lines[line - 1].replace("{{ kind }}", "{{ kind.nope() }}")
    path.write_text("".join(lines))
    return line


@pytest.fixture
def built(fixture_build: Built) -> tuple[Path, Path]:
    """A project and its site, built once by `allokb build`: the session's shared build of the
    fixture (tests/conftest.py; read-only for the tests below)."""
    return fixture_build.root, fixture_build.site


@pytest.fixture(scope="module")
def previous(fixture_build: Built, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    """One copy of the fixture's site, and its files: every refused build below builds over it
    and leaves it as it was (each test compares it with the same snapshot)."""
    site = tmp_path_factory.mktemp("previous") / "site"
    subprocess.run(["cp", "-a", str(fixture_build.site), str(site)], check=True)
    return site, _tree(site)


@pytest.fixture
def broken(previous: tuple[Path, dict[str, bytes]], tmp_path: Path) -> tuple[Path, Path, int, dict[str, bytes]]:
    """A copy of the built project whose mechanism template fails, with the copy of its site."""
    root = make_site_project(tmp_path / "project")
    site, before = previous
    return root, site, _break_template(root), before


# --- errors are data to the edge ---------------------------------------------------------------

def test_render_returns_a_template_error_as_a_diagnostic(tmp_path: Path) -> None:
    root = make_site_project(tmp_path / "project")
    line = _break_template(root)
    result = check_project(root)
    assert not result.failed()  # the template is not the check's: the render finds it
    rendered = render_site(root, result.kb, SITE)
    assert (rendered.pages, rendered.files, rendered.blocks) == ((), {}, {})
    assert rendered.diagnostics == (Diagnostic("KB501", Severity.ERROR, "template error: 'str object' has no "
                                               "attribute 'nope'", Location(TEMPLATE, line, 1)),)


def test_build_reports_a_broken_template_as_json(broken: tuple[Path, Path, int, dict[str, bytes]],
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    root, site, line, before = broken
    capsys.readouterr()
    assert main(["build", str(root), "--site-dir", str(site), "--format", "json"]) == 1
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert report["diagnostics"] == [{"code": "KB501", "severity": "error", "file": TEMPLATE, "line": line, "col": 1,
                                      "path": "$", "message": "template error: 'str object' has no attribute 'nope'",
                                      "hint": None}]
    assert report["summary"] == {"errors": 1, "warnings": 0, "files": report["summary"]["files"], "strict": False,
                                 "text": f"build failed: 1 error, 0 warnings in {report['summary']['files']} files"}
    assert out.err.splitlines()[-1] == "allokb: build failed: fix the errors above; the previous site is unchanged"
    assert _tree(site) == before
    assert sorted(p.name for p in site.parent.iterdir()) == ["site"]  # no staging, no lock left


@pytest.mark.parametrize("fmt, first", [
    ("text", "{file}:{line}:1: error[KB501] $: template error: 'str object' has no attribute 'nope'"),
    ("github", "::error file={file},line={line},col=1,title=KB501::$: template error: 'str object' has no "
               "attribute 'nope'"),
])
def test_build_reports_a_broken_template_as_check_does(fmt: str, first: str,
                                                       broken: tuple[Path, Path, int, dict[str, bytes]],
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    root, site, line, before = broken
    capsys.readouterr()
    assert main(["build", str(root), "--site-dir", str(site), "--format", fmt]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == first.format(file=TEMPLATE, line=line)
    assert lines[1].startswith("build failed: 1 error, 0 warnings in ") and len(lines) == 2
    assert _tree(site) == before


def test_a_check_error_is_reported_as_the_check_reports_it(broken: tuple[Path, Path, int, dict[str, bytes]],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    root, site, _, before = broken
    (root / "content" / "mechanisms" / "broken.yaml").write_text("id: broken\nname: [\n")
    capsys.readouterr()
    assert main(["build", str(root), "--site-dir", str(site), "--format", "json"]) == 1
    built_report = capsys.readouterr().out
    assert main(["check", str(root), "--format", "json"]) == 1
    assert built_report == capsys.readouterr().out
    assert _tree(site) == before


def test_build_is_a_function_that_returns_what_stopped_it(broken: tuple[Path, Path, int, dict[str, bytes]]) -> None:
    root, site, line, before = broken
    result = build(root, site)
    assert (result.stage, result.failed, result.site_dir) == ("render", True, site)
    assert [(d.code, d.location.file, d.location.line) for d in result.diagnostics] == [("KB501", TEMPLATE, line)]
    assert _tree(site) == before


# --- MkDocs is a stateless sink ----------------------------------------------------------------

def _module_state() -> dict[str, str]:
    return {name: repr(value) for name, value in vars(allokb.sink).items()
            if isinstance(value, dict | list | set) and not name.startswith("__")}


def test_a_build_leaves_nothing_behind_in_the_sink(built: tuple[Path, Path], tmp_path: Path) -> None:
    root, _ = built
    state = _module_state()
    assert state == {"_COMMAND": "{'name': 'build'}"}  # the one per-process fact: which command MkDocs runs
    assert build(root, tmp_path / "site").stage == "done"
    assert _module_state() == state


def test_the_hook_file_only_hands_the_events_to_the_package() -> None:
    """mkdocs.yml's hook is loaded by path, as a module of its own: it must hold nothing."""
    assert "  - src/allokb/mkdocs_hook.py" in (REPO / "mkdocs.yml").read_text().split("\nhooks:\n", 1)[1].split("\n")[0]
    tree = ast.parse((SRC / "allokb" / "mkdocs_hook.py").read_text())
    body = [node for node in tree.body if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))]
    assert [type(node).__name__ for node in body] == ["ImportFrom", "Assign"]
    assert isinstance(body[0], ast.ImportFrom) and body[0].module == "allokb.sink"


PROBE = """
import sys
from mkdocs.__main__ import cli
try:
    cli(["build", "-q", "-f", sys.argv[1], "-d", sys.argv[2]])
except SystemExit as exc:
    status = exc.code
import allokb.sink
src = sys.argv[3]
copies = sorted(name for name, m in list(sys.modules.items())
                if (getattr(m, "__file__", None) or "").startswith(src) and not name.startswith("allokb"))
hook = sys.modules.get("src/allokb/mkdocs_hook.py")
print(status, copies, getattr(hook, "on_config", None) is allokb.sink.on_config)
"""


def test_plain_mkdocs_build_loads_each_module_once_and_builds_the_same_site(built: tuple[Path, Path],
                                                                          tmp_path: Path) -> None:
    root, site = built
    env = {**ENV, "SOURCE_DATE_EPOCH": source_date_epoch(root)}  # what `allokb build` sets
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-c", PROBE, str(root / "mkdocs.yml"), str(out), str(root / "src")],
                          capture_output=True, text=True, env=env, cwd=root, check=False)
    assert proc.stdout == "0 ['src/allokb/mkdocs_hook.py'] True\n", proc.stderr
    assert _tree(out) == _tree(site)  # the same stages: check, render, sink, audit, marker


def test_plain_mkdocs_build_stops_on_a_broken_template(tmp_path: Path) -> None:
    root = make_site_project(tmp_path / "project")
    line = _break_template(root)
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(root / "mkdocs.yml"), "-d",
                           str(tmp_path / "out")], capture_output=True, text=True, env=ENV, check=False)
    assert proc.returncode == 1
    assert (f"{TEMPLATE}:{line}:1: error[KB501] $: template error: 'str object' has no attribute 'nope'"
            in proc.stderr.splitlines())
    assert not (tmp_path / "out").exists()


# --- the marked place for steps on the staged HTML ---------------------------------------------

def test_build_has_one_marked_place_between_the_audit_and_the_swap() -> None:
    source = (SRC / "allokb" / "build.py").read_text()
    body = source[source.index("def build("):source.index("def _reproducible(")]
    # The steps on the staged HTML (the search index, the cut stylesheet) end after the audit and
    # before the swap, so that what they write is published with the site or not at all; the
    # index is made while the audit runs, from the pages written (neither changes them).
    write, start, audit, finish, sheet, seal = (body.index(s) for s in (
        "sink.write(", "with Indexing(staging)", "stages.audit(", "indexing.finish()",
        "write_site_stylesheet(staging)", "seal("))
    assert write < start < audit < finish < sheet < seal


def _pagefind_children() -> list[str]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        if int(fields[1].split()[1]) == os.getpid() and "pagefind" in fields[0]:
            found.append(fields[0])
    return found


def test_a_build_the_audit_refuses_stops_the_search_index_and_publishes_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_site_project(tmp_path / "project")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr("tempfile.tempdir", None)  # read TMPDIR again
    seen: list[list[str]] = []

    def refuse(staging: Path, *args: object, **kwargs: object) -> list[Diagnostic]:
        seen.append(_pagefind_children())  # Pagefind indexes meanwhile
        return [Diagnostic("KB510", Severity.ERROR, "planted", Location("index.html"))]

    monkeypatch.setattr(allokb.sink.stages, "audit", refuse)
    assert main(["build", str(root), "--site-dir", str(tmp_path / "site")]) == 1
    assert "error[KB510]" in capsys.readouterr().out
    assert seen and seen[0], "Pagefind was not running during the audit"
    assert _pagefind_children() == []  # stopped and reaped
    assert not (tmp_path / "site").exists()
    assert sorted(p.name for p in scratch.iterdir()) == []  # its working folder removed
