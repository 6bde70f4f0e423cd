"""No command gives a traceback on any input (issue 11, item 6): check, build, serve, new, urls,
report, add-reference, verify and codes answer odd roots, names and options with diagnostics or one
`allokb: error:` / `allokb: usage error:` line, and exit 0, 1 or 2. `serve` refuses a malformed or
out-of-range `--dev-addr` as a usage error and a busy port with one line, before the first build.
Online commands are pointed at a local port where nothing listens; nothing here uses the network."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from allokb import site
from allokb.cli import main
from allokb.report import printable
from conftest import make_project, make_site_project

USAGE_PORT = "allokb: usage error: --dev-addr `127.0.0.1:99999`: the port `99999` is not a number from 1 to 65535"
NOT_UTF8 = os.fsdecode(b"odd-\xff\xfe")


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Crossref and E-utilities at a local port that refuses connections; returns that base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{probe.getsockname()[1]}"
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ALLOKB_CROSSREF_URL", base + "/crossref")
    monkeypatch.setenv("ALLOKB_EUTILS_URL", base + "/eutils")
    monkeypatch.setenv("ALLOKB_CACHE_DIR", str(tmp_path / "cache"))
    return base


def _missing(tmp: Path) -> Path:
    return tmp / "no-such-folder"


def _missing_odd(tmp: Path) -> Path:
    return tmp / "no\nsuch\x1b[2Jfolder"


def _file(tmp: Path) -> Path:
    (tmp / "a-file").write_text("not a project\n", encoding="utf-8")
    return tmp / "a-file"


def _empty(tmp: Path) -> Path:
    (tmp / "empty").mkdir()
    return tmp / "empty"


def _no_content(tmp: Path) -> Path:
    (tmp / "bare").mkdir()
    (tmp / "bare" / "mkdocs.yml").write_text("site_name: bare\n", encoding="utf-8")
    return tmp / "bare"


def _empty_bib(tmp: Path) -> Path:
    (tmp / "bib-only").mkdir()
    (tmp / "bib-only" / "references.bib").write_text("", encoding="utf-8")
    return tmp / "bib-only"


def _newline(tmp: Path) -> Path:
    return make_project(tmp / "new\nline")


def _not_utf8(tmp: Path) -> Path:
    return make_project(tmp / NOT_UTF8)


ROOTS: dict[str, Callable[[Path], Path]] = {
    "missing": _missing, "missing-odd": _missing_odd, "file": _file, "empty": _empty, "no-content": _no_content, "empty-bib": _empty_bib,
    "newline": _newline, "not-utf8": _not_utf8}

COMMANDS: dict[str, Callable[[str, Path], list[str]]] = {
    "check": lambda r, t: ["check", r],
    "check-json": lambda r, t: ["check", r, "--format", "json"],
    "build": lambda r, t: ["build", r, "--site-dir", str(t / "site")],
    "serve": lambda r, t: ["serve", r, "--dev-addr", "127.0.0.1:99999"],
    "new": lambda r, t: ["new", "intervention", "odd-one", "--root", r],
    "new-kind": lambda r, t: ["new", "bogus", "x", "--root", r],
    "urls": lambda r, t: ["urls", r],
    "urls-write": lambda r, t: ["urls", r, "--write"],
    "report": lambda r, t: ["report", "corrections", r],
    "codes": lambda r, t: ["codes"],
    "add-reference": lambda r, t: ["add-reference", "--doi", "10.5555/x", "--root", r],
    "verify": lambda r, t: ["verify", "--online", r],
    "rename-key": lambda r, t: ["rename-key", "smith2020example", "smith2020renamed", "--root", r],
}


def shown(path: Path) -> str:
    """A path as the one-line messages print it: control characters escaped."""
    return printable(str(path))


def expected(root_kind: str, command: str, root: Path, base: str) -> tuple[set[int], str | None]:
    """The exit statuses allowed and, where this suite pins it, the exact last line of stderr."""
    if command == "codes":
        return {0}, None
    if root_kind in ("missing", "missing-odd", "file"):
        return {2}, f"allokb: usage error: {shown(root)}: no such folder"
    if root_kind == "empty":
        return {2}, (f"allokb: usage error: {shown(root)}: not an allokb project (no content/, references.bib or "
                     "mkdocs.yml)")
    if command == "serve":
        return {2}, USAGE_PORT
    if command == "new-kind":
        return {2}, "allokb: usage error: unknown kind `bogus`; expected one of: intervention, mechanism, citation"
    if command == "add-reference":
        return {1}, (f"allokb: error: cannot reach Crossref at {base}/crossref/works/10.5555/x (connection refused); "
                     "check the network connection or set ALLOKB_CROSSREF_URL")
    if command == "verify" and root_kind in ("newline", "not-utf8"):
        return {1}, (f"allokb: error: cannot reach Crossref at {base}/crossref/works/10.5555/fixture.2020.1 "
                     "(connection refused); check the network connection or set ALLOKB_CROSSREF_URL")
    if command == "rename-key" and root_kind == "empty-bib":
        return {2}, "allokb: usage error: `smith2020example` is not a key of references.bib"
    return {0, 1}, None  # the check's own verdict on these roots belongs to the check's tests


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("root_kind", sorted(ROOTS))
def test_no_traceback(root_kind: str, command: str, tmp_path: Path, offline: str,
                      capsys: pytest.CaptureFixture[str]) -> None:
    root = ROOTS[root_kind](tmp_path)
    statuses, last = expected(root_kind, command, root, offline)
    status = main(COMMANDS[command](str(root), tmp_path))  # an exception here is the traceback
    out = capsys.readouterr()
    assert status in statuses, (status, out.err)
    assert "Traceback" not in out.out + out.err
    if last is not None:
        assert out.err.splitlines()[-1] == last
    elif status:  # a verdict of the check (the report's last line), or an `allokb:` line of its own
        assert (any(line.startswith("allokb: ") for line in out.err.splitlines())
                or out.out.rstrip("\n").rsplit("\n", 1)[-1].startswith("check failed")
                or '"text": "check failed' in out.out), (out.out, out.err)


@pytest.mark.parametrize("argv, message", [
    (["check", ".", "--format", "bogus"], "allokb: usage error: argument --format: invalid choice: 'bogus' (choose "
     "from 'text', 'github', 'json')"),
    (["verify", "--online", ".", "--format", "bogus"], "allokb: usage error: argument --format: invalid choice: "
     "'bogus' (choose from 'text', 'github', 'json')"),
    (["report", "bogus"], "allokb: usage error: argument name: invalid choice: 'bogus' (choose from 'corrections')"),
    (["bogus"], "allokb: usage error: argument COMMAND: invalid choice: 'bogus' (choose from 'check', 'build', "
     "'serve', 'new', 'urls', 'report', 'codes', 'rename-key', 'add-reference', 'verify')"),
    (["new", "intervention"], "allokb: usage error: the following arguments are required: id"),
])
def test_bogus_options_are_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[0] == message
    assert err.splitlines()[1].startswith("usage: allokb")


def test_a_file_where_a_content_folder_should_be_is_one_line(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path / "kb")
    (root / "content" / "mechanisms" / "step-one.yaml").unlink()
    (root / "content" / "mechanisms" / "step-two.yaml").unlink()
    (root / "content" / "mechanisms").rmdir()
    (root / "content" / "mechanisms").write_text("", encoding="utf-8")
    assert main(["new", "mechanism", "odd-one", "--root", str(root)]) == 1
    assert capsys.readouterr().err == "allokb: error: content/mechanisms: is a file, not a folder; nothing was written\n"


# --- through a real process: argv that is not UTF-8, real stderr ------------------------------

def allokb(*args: str | bytes, env: dict[str, str] | None = None, timeout: float = 120) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "allokb", *args], capture_output=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")


@pytest.mark.parametrize("args, status, last", [
    ([b"new", b"intervention", b"odd-\xff", b"--root", b"{root}"], 2,
     "allokb: usage error: `odd-\\udcff` is not a lower-case kebab-case id such as `oral-progesterone`"),
    ([b"add-reference", b"--doi", b"10.5555/\xff", b"--root", b"{root}"], 2,
     "allokb: usage error: `10.5555/\\udcff` is not a DOI; expected `10.NNNN/suffix`"),
    ([b"serve", b"{root}", b"--dev-addr", b"\xff:80"], 2,
     "allokb: usage error: --dev-addr `\\udcff:80`: `\\udcff` is not an IP address or localhost"),
    ([b"check", b"{root}/\xff"], 2, "allokb: usage error: {shown}/\\udcff: no such folder"),
    ([b"check", b"{root}"], 0, None),
    ([b"urls", b"{root}"], 0, None),
])
def test_arguments_that_are_not_utf8(args: list[bytes], status: int, last: str | None, tmp_path: Path,
                                     offline: str) -> None:
    root = make_project(tmp_path / NOT_UTF8)
    argv = [a.replace(b"{root}", os.fsencode(root)) for a in args]
    code, out, err = allokb(*argv)
    assert (code, "Traceback" in out + err) == (status, False), err
    if last is not None:
        assert err.splitlines() == [last.replace("{shown}", shown(root))]


# --- serve -------------------------------------------------------------------------------------

@pytest.mark.parametrize("addr, message", [
    ("127.0.0.1:99999", "the port `99999` is not a number from 1 to 65535"),
    ("127.0.0.1:0", "the port `0` is not a number from 1 to 65535"),
    ("127.0.0.1:-1", "the port `-1` is not a number from 1 to 65535"),
    ("127.0.0.1:", "the port `` is not a number from 1 to 65535"),
    ("localhost:80x", "the port `80x` is not a number from 1 to 65535"),
    ("127.0.0.1:８０", "the port `８０` is not a number from 1 to 65535"),
    ("127.0.0.1:8000\n", "the port `8000\\n` is not a number from 1 to 65535"),
    ("[::1]:99999", "the port `99999` is not a number from 1 to 65535"),
    (":80:", "`:80` is not an IP address or localhost"),
    ("300.1.1.1:80", "`300.1.1.1` is not an IP address or localhost"),
    ("example.org:80", "`example.org` is not an IP address or localhost"),
])
def test_serve_refuses_a_malformed_address(addr: str, message: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path / "kb")
    assert main(["serve", str(root), "--dev-addr", addr]) == 2
    assert capsys.readouterr().err == f"allokb: usage error: --dev-addr `{shown(Path(addr))}`: {message}\n"


@pytest.mark.parametrize("addr", ["foo", "", "[::1]", "[::1]8000"])
def test_serve_refuses_an_address_without_a_port(addr: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path / "kb")
    assert main(["serve", str(root), "--dev-addr", addr]) == 2
    assert capsys.readouterr().err == (f"allokb: usage error: --dev-addr `{addr}` is not HOST:PORT, e.g. "
                                       "127.0.0.1:8000 or [::1]:8000\n")


@pytest.mark.parametrize("addr, parsed", [
    ("127.0.0.1:8000", ("127.0.0.1", 8000)), ("localhost:1", ("localhost", 1)), ("[::1]:8000", ("::1", 8000)),
    ("::1:65535", ("::1", 65535)), ("0.0.0.0:8000", ("0.0.0.0", 8000)),
])
def test_serve_reads_an_address_as_mkdocs_does(addr: str, parsed: tuple[str, int]) -> None:
    assert site.dev_address(addr) == parsed


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 that a real socket listens on."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield listener.getsockname()[1]


def test_serve_on_a_busy_port_is_one_line_before_any_build(busy_port: int, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import allokb.sink

    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("serve started to build before it found the port taken")

    root = make_site_project(tmp_path / "project")
    monkeypatch.setattr(allokb.sink.Preview, "rebuild", no_build)
    code = main(["serve", str(root), "--dev-addr", f"127.0.0.1:{busy_port}"])
    out = capsys.readouterr()
    assert (code, out.out, out.err) == (1, "", f"allokb: error: cannot serve on 127.0.0.1:{busy_port}: address "
                                               "already in use\n")


def test_serve_on_a_port_taken_during_the_first_build_is_one_line(busy_port: int, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    root = make_site_project(tmp_path / "project")
    (root / "CONTRIBUTING.md").write_text("# Contributing\n\nA stub: the first build only has to happen.\n")
    monkeypatch.setattr(site, "_check_bind", lambda host, port, where: None)  # free when checked, taken at bind
    assert main(["serve", str(root), "--dev-addr", f"127.0.0.1:{busy_port}"]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (f"allokb: error: cannot serve on 127.0.0.1:{busy_port}: "
                                                        "address already in use")


def test_serve_on_an_address_that_is_not_local_is_one_line(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path / "kb")
    assert main(["serve", str(root), "--dev-addr", "192.0.2.1:8000"]) == 1  # TEST-NET-1, never a local address
    assert capsys.readouterr().err == "allokb: error: cannot serve on 192.0.2.1:8000: cannot assign requested address\n"


def test_serve_without_mkdocs_yml_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path / "kb")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert main(["serve", str(root), "--dev-addr", f"127.0.0.1:{port}"]) == 1
    assert capsys.readouterr().err == (f"allokb: error: cannot serve {root}: Config file '{root}/mkdocs.yml' does "
                                       "not exist.\n")
