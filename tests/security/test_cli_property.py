"""Property: no command crashes on any project tree (issue 11, item 6).

Random content trees (odd file names, links, FIFOs, subfolders, YAML-ish text with escapes, huge
numbers, anchors and tags, binary bytes, bibliographies full of LaTeX and braces, page front
matter) and random options drive the CLI itself: `allokb.cli.main` in-process, and a few runs of
`python -m allokb` in a fresh process. Every run exits 0, 1 or 2 without a traceback; a failed
build leaves the previous site exactly as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import allokb
from allokb.cli import main
from conftest import REPO, VALID, Built

FOLDERS = ("content/interventions", "content/mechanisms", "content/citations", "content/pages",
           "content/interventions/sub", "content/pages/assets", "site_templates/partials")
FIXED = ("references.bib", "content/rubric.yaml", "urls.txt", "CONTRIBUTING.md",
         "content/interventions/example-hormone.yaml", "content/mechanisms/step-one.yaml",
         "content/citations/smith2020example.yaml", "content/pages/index.md")
KEYS = ("id", "name", "summary", "kind", "category", "direction", "claims", "citations", "ref", "quote",
        "sample_size", "number", "upstream", "mechanisms", "former_ids", "title", "description", "hide",
        "template", "levels", "label", "steps", "x\u202e", "<<")
LATEX = ("\\href{", "\\href{x}{y}", "\\sqrt", "\\sqrt[", "\\url{http://a}", "\\verb|", "\\verb", "\\input{/etc/passwd}",
         "\\csname", "\\endcsname", "\\begin{x}", "\\end{x}", "\\'", "\\\"u", "$", "^^[", "\\\\", "%", "#", "\"",
         "{", "}", "{" * 40, "}" * 40, "~", "--", "\\char27", "@", ",", "=", "\n")
SCALARS = ('"\\0"', '"\\e[31m"', '"\\uFFFE"', '"\\u202E"', '"\\U0010FFFF"', '"\\x85"', "9" * 5000, "1e999",
           "-1e-999", "9007199254740992", ".inf", "no", "2024-01-01", "1:30", "&a x", "*a", "!!python/object:os.system",
           "!!binary aGk=", "[", "{", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "'x'",
           "|\n  block", ">-\n  folded", "\t", "step-one", "example-hormone", "smith2020example", "index", '"<script>"',
           "\u2028", "~")

#: a value put in place of a known one: (file, text replaced, template of the new text)
SETTABLE = (
    ("content/interventions/example-hormone.yaml", 'name: "Example hormone"', "name: {}"),
    ("content/interventions/example-hormone.yaml", "id: example-hormone", "id: {}"),
    ("content/citations/smith2020example.yaml", "sample_size: 40", "sample_size: {}"),
    ("content/rubric.yaml", 'label: "High"', "label: {}"),
    ("references.bib", "title = {An example study of a made-up steroid}", "title = {{{}}}"),
    ("references.bib", "author = {Smith, Jane and", "author = {{{} and"),
    ("content/pages/index.md", "---\n", "---\n{}\n"),
)
_names = st.one_of(
    st.sampled_from(["x.yaml", "index.yaml", "a\nb.yaml", "\x1b[2J.yaml", "rtl\u202e.yaml", " .yaml", "-.yaml",
                     "UPPER.yaml", "x.yml", "x", ".hidden.yaml", "page.md", "a b.md", "loop", "x.css"]),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"), min_size=1, max_size=30)
    .filter(lambda n: n not in (".", "..") and len(n.encode()) < 200),
)
_yamlish = st.lists(st.tuples(st.sampled_from(KEYS), st.one_of(st.sampled_from(SCALARS), st.text(max_size=20)),
                              st.integers(0, 3)), max_size=8).map(
    lambda rows: "".join(f"{'  ' * depth}{key}: {value}\n" for key, value, depth in rows))
_bib = st.lists(st.one_of(st.sampled_from(LATEX), st.text(max_size=10)), max_size=25).map(
    lambda parts: "@article{smith2020example,\n  author = {" + "".join(parts[:5]) + "},\n  title = {"
    + "".join(parts) + "},\n  journal = {J},\n  year = {2020},\n}\n")
_front_matter = _yamlish.map(lambda body: f"---\n{body}---\n\n# Page\n")
_content = st.one_of(_yamlish, _bib, _front_matter, st.binary(max_size=200), st.text(max_size=200))
_value = st.one_of(st.sampled_from(SCALARS), st.lists(st.sampled_from(LATEX), max_size=6).map("".join),
                   st.text(max_size=20))
_action = st.one_of(
    st.tuples(st.just("set"), st.integers(0, len(SETTABLE) - 1), st.none(), _value),
    st.tuples(st.just("write"), st.sampled_from(FOLDERS), _names, _content),
    st.tuples(st.just("write"), st.sampled_from(FIXED), st.none(), _content),
    st.tuples(st.just("append"), st.sampled_from(FIXED), st.none(), _content),
    st.tuples(st.sampled_from(["link-outside", "link-dir", "link-loop", "link-dangling", "fifo", "mkdir"]),
              st.sampled_from(FOLDERS + FIXED), _names, st.none()),
)
_actions = st.lists(_action, min_size=1, max_size=4)
# Markdown that passes the check, so that the build reaches MkDocs, which may still refuse it (a
# broken link fails the strict build) or publish it.
_markdown = st.lists(st.sampled_from(["# Title\n", "text ", "[a link](missing.md) ", "[home](index.md) ",
                                      "{{ 7*7 }} ", "<!-- allokb:summary --> ", "`code` ", "\n\n", "*[ALLO]: x\n",
                                      "![img](nowhere.png) ", "<b>bold</b> ", "[x](#nowhere) "]), max_size=12).map(
    lambda parts: "---\ndescription: A page.\n---\n\n# Extra\n\n" + "".join(parts) + "\n")
_build_actions = st.one_of(
    _actions,
    st.lists(st.tuples(st.just("write"), st.sampled_from(["content/pages", "content/pages/sub"]),
                       st.sampled_from(["extra.md", "sub.md", "about.md", "notes.txt"]), _markdown),
             min_size=1, max_size=2),
)


@pytest.fixture(autouse=True, scope="module")
def _system_files_untouched() -> Any:
    """Belt and braces: whatever the random trees hold, no system file changes."""
    before = {p: hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in ("/etc/passwd", "/etc/hostname")
              if os.path.isfile(p)}
    yield
    assert {p: hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in before} == before


def base_project(root: Path) -> Path:
    """The valid fixture with the repository's hand-written pages and contributor guide."""
    shutil.copytree(VALID, root)
    shutil.copytree(REPO / "content" / "pages", root / "content" / "pages")
    shutil.copy(REPO / "CONTRIBUTING.md", root / "CONTRIBUTING.md")
    return root


#: what a link to "a private file" points to: a copy of a password file's first line, beside the
#: project (never a real system file: a test must not be able to write to /etc/passwd)
DECOY = "root:x:0:0:root:/root:/bin/bash\n"
_WRITE = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK


def _inside(root: Path, path: Path) -> bool:
    """Whether `path`'s folder is really inside `root` (no link on the way leads out)."""
    return os.path.realpath(path.parent).startswith(os.path.realpath(root) + os.sep)


def _write(root: Path, path: Path, data: bytes, append: bool = False) -> None:
    """Write `data` to `path` unless that would go through a link, out of `root`, or block on a
    FIFO (opened without O_NONBLOCK, a FIFO with no reader would wait forever)."""
    if not _inside(root, path):
        return
    fd = os.open(path, _WRITE | (os.O_APPEND if append else os.O_TRUNC), 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def apply(root: Path, actions: list[tuple[str, Any, str | None, Any]]) -> None:
    """Lay random files over the project; an action the file system refuses is skipped. Nothing
    is ever written outside `root` or through a link."""
    decoy = root.parent / "passwd"
    decoy.write_text(DECOY, encoding="utf-8")
    for kind, where, name, content in actions:
        if kind == "set":
            file, old, template = SETTABLE[where]
            with contextlib.suppress(OSError, UnicodeError):
                fd = os.open(root / file, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
                with os.fdopen(fd, "rb") as source:
                    text = source.read().decode("utf-8")
                _write(root, root / file, text.replace(old, template.format(content), 1).encode("utf-8", "replace"))
            continue
        path = root / where / name if name is not None and not (root / where).is_file() else root / where
        with contextlib.suppress(OSError):
            if not _inside(root, path):
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            if kind in ("write", "append"):
                data = content if isinstance(content, bytes) else str(content).encode("utf-8", "replace")
                _write(root, path, data, append=kind == "append")
                continue
            if path.is_symlink() or path.is_file():
                path.unlink()
            elif path.is_dir():
                continue
            if kind == "link-outside":
                path.symlink_to(decoy)
            elif kind == "link-dir":
                path.symlink_to(root / "content", target_is_directory=True)
            elif kind == "link-loop":
                path.symlink_to(".", target_is_directory=True)
            elif kind == "link-dangling":
                path.symlink_to(root / "nowhere")
            elif kind == "fifo":
                os.mkfifo(path)
            else:
                path.mkdir()


class Hang(Exception):
    """A command ran longer than any should (a FIFO waited on, a loop followed)."""


def _hang(signum: int, frame: object) -> None:
    raise Hang


def run(argv: list[str], limit: float = 30) -> tuple[int, str]:
    """`allokb argv` in-process: its status and everything it printed; a run longer than
    `limit` seconds fails the example instead of hanging the suite."""
    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _hang)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(argv)
            except SystemExit as exc:  # argparse's --version and --help
                status = exc.code if isinstance(exc.code, int) else 2
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return status, out.getvalue() + err.getvalue()


#: text a command line can carry (no NUL byte: exec refuses it before the program starts; no lone
#: surrogate: it has no bytes to pass)
_argument = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
_options = st.one_of(
    # a usage error now and then (an unknown option or format), valid options mostly
    st.tuples(st.just("check"), st.lists(st.sampled_from(["--strict", "--format=text", "--format=github",
                                                          "--format=json", "--strict", "--format=github",
                                                          "--format=json", "--format=xml"]), max_size=2)),
    st.tuples(st.just("check"), st.lists(st.sampled_from(["--strict", "--format=json"]), max_size=1)),
    st.tuples(st.just("urls"), st.lists(st.sampled_from(["--write", "--write", "--write", "--bogus"]), max_size=1)),
    st.tuples(st.just("report"), st.tuples(st.sampled_from(["corrections", "corrections", "nonsense"]),
                                           st.sampled_from(["--format=json", "--format=text"]))),
    st.tuples(st.just("new"), st.tuples(st.sampled_from(["intervention", "mechanism", "citation", "thing", ""]),
                                        st.one_of(st.sampled_from(["ok-id", "123", "index", "a" * 81, "a\n",
                                                                   "../x", "-x", "Upper"]), _argument))),
    st.tuples(st.just("codes"), st.lists(st.sampled_from(["--bogus"]), max_size=1)),
)


def _argv(root: Path, options: tuple[str, Any]) -> list[str]:
    command, rest = options
    if command == "new":
        return ["new", *rest, "--root", str(root)]
    if command == "report":
        return ["report", *rest[:1], str(root), *rest[1:]]
    if command == "codes":
        return ["codes", *rest]
    return [command, str(root), *rest]


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=_actions, options=_options)
def test_commands_never_crash_in_process(actions: list[Any], options: tuple[str, Any]) -> None:
    with tempfile.TemporaryDirectory(prefix="allokb-prop-") as tmp:
        root = base_project(Path(tmp) / "kb")
        apply(root, actions)
        status, printed = run(_argv(root, options))
        assert status in (0, 1, 2), printed
        assert "Traceback" not in printed


@settings(max_examples=6, deadline=None, database=None)
@given(actions=_actions, options=_options)
def test_commands_never_crash_in_a_fresh_process(actions: list[Any], options: tuple[str, Any]) -> None:
    """The same through `python -m allokb`: a FIFO or a crash in a worker cannot hide there."""
    with tempfile.TemporaryDirectory(prefix="allokb-prop-") as tmp:
        root = base_project(Path(tmp) / "kb")
        apply(root, actions)
        env = {**os.environ, "PYTHONPATH": str(Path(allokb.__file__).resolve().parents[1])}
        done = subprocess.run([sys.executable, "-m", "allokb", *_argv(root, options)], capture_output=True,
                              text=True, errors="replace", timeout=60, env=env, check=False)
        assert done.returncode in (0, 1, 2), done.stdout + done.stderr
        assert "Traceback" not in done.stdout + done.stderr


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` with a digest of its bytes (and every folder)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        out[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return out


@pytest.fixture(scope="module")
def built_site(fixture_build: Built) -> tuple[Path, Path]:
    """A buildable project and a site built from it: the 'previous site' of every example (the
    session's shared build of the fixture, read-only: every example copies both)."""
    return fixture_build.root, fixture_build.site


@settings(max_examples=10, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(actions=_build_actions)
def test_a_failed_build_leaves_the_previous_site(actions: list[Any], built_site: tuple[Path, Path]) -> None:
    project, previous = built_site
    with tempfile.TemporaryDirectory(prefix="allokb-prop-build-") as tmp:
        root = Path(tmp) / "project"
        shutil.copytree(project, root, symlinks=True)
        site = Path(tmp) / "site"
        shutil.copytree(previous, site)
        before = snapshot(site)
        apply(root, actions)
        status, printed = run(["build", str(root), "--site-dir", str(site)])
        assert status in (0, 1, 2), printed
        assert "Traceback" not in printed
        if status != 0:
            assert snapshot(site) == before
