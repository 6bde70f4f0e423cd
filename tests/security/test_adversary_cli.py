"""Adversarial review of the CLI (issue 11, items 1, 2, 5, 6, 8, 12): each test is one confirmed
finding, written to expect the SAFE outcome, so that it fails until the finding is fixed.

Everything happens in pytest's tmp_path; symlinks point only at decoys made there, and the remote
fakes listen on 127.0.0.1."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import allokb.sink
import allokb.site
from allokb.cli import main
from allokb.output import MARKER, MARKER_TEXT
from allokb.remote import Client, RemoteError
from conftest import Built, allokb_within, copy_site, make_site_project

ENV = dict(os.environ, PYTHONPATH=str(Path(allokb.site.__file__).resolve().parents[1]), NO_MKDOCS_2_WARNING="1")


def files_under(top: Path) -> dict[str, bytes]:
    return {p.relative_to(top).as_posix(): p.read_bytes() for p in sorted(top.rglob("*")) if p.is_file()}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_site_project(tmp_path / "proj")


# --- 1. The output folder: a planted marker must not make the project's sources replaceable ------

@pytest.mark.parametrize("folder", ["content", "site_templates", "src"])
def test_a_planted_marker_does_not_let_a_build_replace_a_source_folder(folder: str, root: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A pull request can add `content/.allokb-site` (content/ has no CODEOWNERS entry, and check
    says nothing about the file); `--site-dir content` then wipes every entry, exit 0. Issue 11
    item 1: `content/` or anything inside the project's sources is refused, marker or not."""
    (root / folder / MARKER).write_text(MARKER_TEXT)
    before = files_under(root / folder)
    assert main(["build", str(root), "--site-dir", str(root / folder)]) == 2
    assert "allokb: usage error: cannot build the site into" in capsys.readouterr().err
    assert files_under(root / folder) == before


def test_a_planted_marker_does_not_let_mkdocs_build_replace_a_source_folder(root: Path) -> None:
    """The same through the hook: `mkdocs build -d site_templates` replaces the templates. Run
    in-process through MkDocs' own build function, which loads the project's hook from mkdocs.yml
    (tests/security/test_output_dir.py runs the `mkdocs` command itself)."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort

    (root / "site_templates" / MARKER).write_text(MARKER_TEXT)
    before = files_under(root / "site_templates")
    with pytest.raises(Abort):
        build(load_config(config_file=str(root / "mkdocs.yml"), site_dir=str(root / "site_templates")))
    assert files_under(root / "site_templates") == before


def test_a_marked_folder_holding_a_git_repository_is_not_replaced(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """The marker is not bound to a project: a second checkout whose root carries a planted
    `.allokb-site` (one file in a pull request) is replaced whole, `.git` included, by a build of
    another project pointed at it. A folder holding `.git` (or a project: mkdocs.yml, content/)
    is never a site."""
    builder = make_site_project(tmp_path / "a")
    victim = make_site_project(tmp_path / "b")
    subprocess.run(["git", "init", "-q", str(victim)], check=True)
    (victim / MARKER).write_text(MARKER_TEXT)
    assert main(["build", str(builder), "--site-dir", str(victim)]) == 2
    assert (victim / ".git" / "HEAD").is_file()
    assert (victim / "content" / "interventions").is_dir()


# --- 2. The swap: what is at the target when the build ends is checked again --------------------

def _replace_target_during_build(monkeypatch: pytest.MonkeyPatch, out: Path, replace) -> None:  # type: ignore[no-untyped-def]
    real = allokb.sink.write

    def build_then_replace(*args, **kwargs):  # type: ignore[no-untyped-def]
        real(*args, **kwargs)
        replace()

    monkeypatch.setattr(allokb.sink, "write", build_then_replace)


def test_a_folder_put_at_the_target_during_the_build_is_not_deleted(root: Path, tmp_path: Path, fixture_site: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """check_site_dir runs before the (seconds-long) MkDocs build, the exchange after it without
    looking again: a user folder moved to the target meanwhile is swapped out and rmtree'd."""
    out = copy_site(fixture_site, tmp_path / "out")  # an earlier site, which the build may replace

    def replace() -> None:
        out.rename(tmp_path / "out.moved")
        out.mkdir()
        (out / "thesis.tex").write_text("three years of work\n")

    _replace_target_during_build(monkeypatch, out, replace)
    assert main(["build", str(root), "--site-dir", str(out)]) in (1, 2)
    assert (out / "thesis.tex").read_text() == "three years of work\n"


def test_a_symlink_put_at_the_target_during_the_build_is_not_written_through(root: Path, tmp_path: Path,
                                                                             fixture_site: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The same race with a symlink: after the exchange the link sits at the staging path and
    `remove_tree` unlinks `<link>/.allokb-site`, deleting a file in the folder it points to; the
    link stays behind as a `.out.building-*` leftover that `recover` never removes."""
    out = tmp_path / "out"
    decoy = tmp_path / "decoy"
    decoy.mkdir()
    (decoy / MARKER).write_text("a decoy's own file\n")
    copy_site(fixture_site, out)  # an earlier site

    def replace() -> None:
        out.rename(tmp_path / "out.moved")
        out.symlink_to(decoy)

    _replace_target_during_build(monkeypatch, out, replace)
    main(["build", str(root), "--site-dir", str(out)])
    assert (decoy / MARKER).read_text() == "a decoy's own file\n"
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")]


# --- 5. Files: mkdocs.yml is read like every other input --------------------------------------

def build_within(root: Path, seconds: float, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`allokb build root` in-process, cut off after `seconds` (conftest's `allokb_within`): its
    status, stdout and stderr."""
    done = allokb_within(capsys, "build", str(root), timeout=seconds)
    return done.returncode, done.stdout, done.stderr


def test_a_fifo_mkdocs_yml_does_not_hang_the_build(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """check passes (it never opens mkdocs.yml); MkDocs then opens the FIFO and waits forever."""
    (root / "mkdocs.yml").unlink()
    os.mkfifo(root / "mkdocs.yml")
    status, out, err = build_within(root, 60, capsys)
    assert status == 1
    assert "mkdocs.yml" in out + err


@pytest.mark.parametrize("make", ["directory", "unreadable"])
def test_an_unusable_mkdocs_yml_is_named_not_the_site_folder(make: str, root: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """`allokb build` blames the site folder: `cannot build the site into .../site: Is a
    directory` (or `Permission denied`), when the file at fault is mkdocs.yml."""
    config = root / "mkdocs.yml"
    if make == "directory":  # in-process: the process is not what is tested
        config.unlink()
        config.mkdir()
        status, out, err = build_within(root, 60, capsys)
    else:  # in a process whose permissions bite, root's included
        config.chmod(0)
        cmd = ["setpriv", "--bounding-set=-dac_override,-dac_read_search",
               "--inh-caps=-dac_override,-dac_read_search", sys.executable, "-m", "allokb", "build", str(root)]
        if shutil.which("setpriv") is None:
            pytest.skip("setpriv is needed to make permissions bite as root")
        proc = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=120)
        status, out, err = proc.returncode, proc.stdout, proc.stderr
    assert status == 1
    # The check names the file (KB112/KB113 on stdout) before the build starts.
    assert out.startswith("mkdocs.yml:1:1: error[KB11"), out + err


# --- 8. Remote answers: the whole answer is bounded in time, headers included ----------------

def test_a_server_that_drips_its_headers_is_cut_off(tmp_path: Path) -> None:
    """`_read` bounds the body to 6 timeouts, but urlopen reads the status line and headers first,
    each recv bounded only by `timeout`: one byte every half timeout holds add-reference forever."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    stop = threading.Event()

    def drip() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            while not stop.is_set():
                try:
                    conn.sendall(b"X")
                except OSError:
                    return
                time.sleep(0.1)

    threading.Thread(target=drip, daemon=True).start()
    client = Client(crossref_base=f"http://127.0.0.1:{port}", cache_dir=tmp_path / "cache", timeout=0.2, retries=0)
    outcome: list[object] = []

    def ask() -> None:
        try:
            client.fetch_doi("10.5555/fictional.2021.7")
        except RemoteError as exc:
            outcome.append(exc)

    asker = threading.Thread(target=ask, daemon=True)
    asker.start()
    asker.join(timeout=15)  # 6 timeouts are 1.2 s
    stop.set()
    server.close()
    assert not asker.is_alive(), "the client is still reading the headers after 15 s"
    assert outcome and isinstance(outcome[0], RemoteError)


# --- 6/misleading: serve's audit -------------------------------------------------------------

def test_serve_does_not_say_a_valid_site_would_be_refused(root: Path, fixture_build: Built) -> None:
    """`serve` leaves the CSP <meta> out (live reload), then audits the preview and reports
    KB511 on every page, ending "the published build would refuse this site", while the
    published build of the same project passes (`fixture_build`: the same project, built)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "allokb", "serve", str(root), "--dev-addr", f"127.0.0.1:{port}"],
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # serve listens after its first build (allokb.sink.serve), so the audit has spoken by then;
        # an answer to a request comes after MkDocs has logged "Serving on" (a connection alone
        # can come before it: that raced under load and the log line was cut off by terminate)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5):
                    break
            except urllib.error.HTTPError:
                break  # an answer, even a 404, comes from the serving loop
            except OSError:
                time.sleep(0.1)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "Serving on http://127.0.0.1:" in err, err  # the first build was served, not refused
    assert "KB511" not in err
    assert "the published build would refuse this site" not in err


# --- 12. Hand-written files cannot replace the theme's own scripts ------------------------------

def test_a_hand_written_file_does_not_replace_the_theme_bundle(root: Path) -> None:
    """A file in content/pages/ at the path of Material's bundle replaces it in the site; the
    audit allows the <script src> (it is the theme's) and never looks at what the file holds."""
    import material

    bundles = glob.glob(os.path.join(os.path.dirname(material.__file__), "templates/assets/javascripts/bundle.*.min.js"))
    assert bundles
    name = os.path.basename(bundles[0])
    shadow = root / "content" / "pages" / "assets" / "javascripts" / name
    shadow.parent.mkdir(parents=True)
    shadow.write_text("alert(document.domain)\n")
    status = main(["build", str(root), "--site-dir", str(root / "site")])
    built = root / "site" / "assets" / "javascripts" / name
    assert status == 1 or built.read_bytes() == Path(bundles[0]).read_bytes()
