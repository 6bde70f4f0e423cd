"""Hostile and careless inputs (issue 11, items 3, 5 and 6): files that are not regular files,
unreadable files and folders, files hidden in subfolders, odd file names, control characters,
huge numbers, LaTeX that pylatexenc cannot read, and the front matter of hand-written pages.

Each case pins the exact report: one located diagnostic per problem, never a traceback, never
the content of a file a link points to, never a raw control character on the terminal.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from allokb.output import MARKER, MARKER_TEXT

import allokb
from allokb.cli import main
from conftest import REPO, VALID, allokb_within, make_project, make_site_project, without_dac

SRC = Path(allokb.__file__).resolve().parents[1]  # the source under test, for fresh processes
INT = "content/interventions"
MECH = "content/mechanisms"
HINT_LINK = "(replace the link by a copy of what it points to, or remove it)"
HINT_FILE = "(make it readable with `chmod a+r`, or remove it)"
HINT_FOLDER = "(make it readable with `chmod a+rx`, or remove it)"
HINT_CONTROL = "(remove it: control and invisible characters are not allowed)"
HINT_LATEX = ("(write it in plain Unicode, such as `ü`, `–` or `α`; a macro such as `\\href` or `\\verb` "
              "needs its arguments)")
UNCITED = ("references.bib:13:1: warning[KB408] $.examplewiki2024page: reference `examplewiki2024page` is cited "
           "nowhere (cite it from a claim, a dose, a caution or an anecdote, or remove it)")


def check(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    """Run `allokb check` in-process; its status and its report's lines (the summary included)."""
    capsys.readouterr()
    status = main(["check", str(root), *args])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return status, out.out.splitlines()


def cli(*args: str, timeout: float = 60, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """Run `python -m allokb` in a fresh process (with this worktree's source first)."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run([*prefix, sys.executable, "-m", "allokb", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, check=False)


def run(capsys: pytest.CaptureFixture[str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`allokb ARGS` in-process under a timer (conftest's `allokb_within`)."""
    return allokb_within(capsys, *args, timeout=timeout)


def summary(errors: int, warnings: int, files: int, strict: bool = False) -> str:
    mode = " (strict)" if strict else ""
    return (f"check {'failed' if errors or (strict and warnings) else 'passed'}{mode}: {errors} error"
            f"{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)} in {files} file{'s' * (files != 1)}")


def decoy(folder: Path) -> Path:
    """A private file to link to, outside the project: a copy of a password file's first line
    (only the one read-only `check` of the brief's own case links to the real /etc/passwd)."""
    path = folder / "passwd"
    path.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    return path


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


# --- 5. Files: only regular files are read ----------------------------------------------------

def test_a_fifo_named_like_an_entry_is_refused_without_waiting_on_it(project: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A FIFO hung `check` forever: nobody ever writes to it. It is opened without blocking and
    refused (run under a timer, so that a regression fails instead of hanging)."""
    os.mkfifo(project / INT / "x.yaml")
    done = run(capsys, "check", str(project), timeout=60)
    assert (done.returncode, done.stderr) == (1, "")
    assert done.stdout.splitlines() == [
        f"{INT}/x.yaml:1:1: error[KB112] $: is a named pipe (FIFO), not a regular file "
        "(remove it, or replace it by the file itself)",
        summary(1, 0, 9)]


def test_a_link_to_etc_passwd_is_refused_and_never_echoed(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Before, the diagnostic quoted the first characters of the file the link points to."""
    (project / MECH / "pw.yaml").symlink_to("/etc/passwd")
    status, lines = check(project, capsys)
    assert status == 1
    assert lines == [f"{MECH}/pw.yaml:1:1: error[KB112] $: is a symbolic link; links are never followed {HINT_LINK}",
                     summary(1, 0, 9)]
    assert "root:" not in "\n".join(lines)


def test_a_dangling_link_is_refused_too(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / MECH / "gone.yaml").symlink_to(project / "nowhere.yaml")
    assert check(project, capsys)[1][0] == (
        f"{MECH}/gone.yaml:1:1: error[KB112] $: is a symbolic link; links are never followed {HINT_LINK}")


def test_a_link_without_the_yaml_extension_is_refused_as_a_link(project: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    (project / MECH / "notes").symlink_to(decoy(tmp_path))
    assert check(project, capsys)[1][0] == (
        f"{MECH}/notes:1:1: error[KB112] $: is a symbolic link; links are never followed {HINT_LINK}")


def test_a_socket_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(Path(f"/tmp/allokb-sock-{os.getpid()}"))  # a socket path must be short
    try:
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(root / INT / "s.yaml"))
            status, lines = check(root, capsys)
        assert (status, lines[0]) == (1, f"{INT}/s.yaml:1:1: error[KB112] $: is a socket, not a regular file "
                                         "(remove it, or replace it by the file itself)")
    finally:
        shutil.rmtree(root)


def test_a_linked_content_folder_is_refused(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """content/interventions -> a folder elsewhere: refused where it stands, nothing loaded from it."""
    elsewhere = tmp_path / "elsewhere"
    shutil.move(project / INT, elsewhere)
    (project / INT).symlink_to(elsewhere, target_is_directory=True)
    status, lines = check(project, capsys)
    assert status == 1
    assert lines == [f"{INT}:1:1: error[KB112] $: is a symbolic link; links are never followed {HINT_LINK}",
                     UNCITED, summary(1, 1, 6)]


def test_a_linked_content_root_is_refused(project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    elsewhere = tmp_path / "elsewhere"
    shutil.move(project / "content", elsewhere)
    (project / "content").symlink_to(elsewhere, target_is_directory=True)
    status, lines = check(project, capsys)
    assert status == 1
    assert lines == [f"content:1:1: error[KB112] $: is a symbolic link; links are never followed {HINT_LINK}",
                     "references.bib:2:1: warning[KB306] $.smith2020example: reference `smith2020example` has no "
                     "citation record (run `allokb new citation smith2020example`)",
                     "references.bib:2:1: warning[KB408] $.smith2020example: reference `smith2020example` is cited "
                     "nowhere (cite it from a claim, a dose, a caution or an anecdote, or remove it)",
                     "references.bib:13:1: warning[KB306] $.examplewiki2024page: reference `examplewiki2024page` "
                     "has no citation record (run `allokb new citation examplewiki2024page`)",
                     UNCITED, summary(1, 4, 2)]


@pytest.mark.parametrize("rel", ["references.bib", "content/rubric.yaml", "urls.txt"])
def test_a_linked_input_file_is_refused(rel: str, project: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Each file the check reads besides the entries, linked to a valid copy of itself."""
    source = project / rel
    if not source.exists():
        source.write_text("/interventions/\n", encoding="utf-8")
    copy = tmp_path / "copy"
    shutil.move(source, copy)
    source.symlink_to(copy)
    status, lines = check(project, capsys)
    assert status == 1
    assert f"{rel}:1:1: error[KB112] $: is a symbolic link; links are never followed {HINT_LINK}" in lines


def test_a_linked_bibliography_is_refused_and_never_published(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A link to a file holding a valid bibliography plus other lines passed the check and was
    copied to /data/references.bib. Now the build does not start; the previous site stays."""
    root = make_site_project(tmp_path / "project", VALID)
    outside = tmp_path / "private.bib"
    outside.write_text((root / "references.bib").read_text(encoding="utf-8") + "% root:x:0:0:secret\n",
                       encoding="utf-8")
    (root / "references.bib").unlink()
    (root / "references.bib").symlink_to(outside)
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("old site\n", encoding="utf-8")
    (site / MARKER).write_text(MARKER_TEXT, encoding="utf-8")  # an earlier site, which a build may replace
    done = run(capsys, "build", str(root), "--site-dir", str(site))
    assert done.returncode == 1
    assert [line for line in done.stdout.splitlines() if "[KB602]" not in line] == [
        f"references.bib:1:1: error[KB112] $: is a symbolic link; links are never followed {HINT_LINK}",
        summary(1, 37, 7)]  # KB602 for each URL, /sources/smith2020example.txt, /data/doses.csv, /disclaimer/, the
    # three entry-data schemas and the data of the four interventions and mechanisms (the bibliography is not read)
    assert done.stderr == "allokb: build not started: fix the errors above; the previous site is unchanged\n"
    assert sorted(p.name for p in site.iterdir()) == [MARKER, "index.html"]
    assert "secret" not in done.stdout + done.stderr


def _site_lines(root: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The check's report on a buildable project, without the URL-manifest warnings."""
    status, lines = check(root, capsys)
    return [line for line in lines if "[KB60" not in line and not line.startswith("check ")]


def test_a_directory_link_loop_under_pages_is_refused_promptly(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    root = make_site_project(tmp_path / "project")
    (root / "content/pages/sub").mkdir()
    (root / "content/pages/sub/loop").symlink_to("..", target_is_directory=True)
    done = run(capsys, "check", str(root), timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert [line for line in done.stdout.splitlines() if "[KB60" not in line][:-1] == [
        f"content/pages/sub/loop:1:1: error[KB112] $: is a symbolic link; links are never followed {HINT_LINK}"]


@pytest.mark.parametrize("rel", ["content/pages/secret.md", "content/pages/assets/x.css",
                                 "site_templates/partials/x.md.j2", "site_templates/overrides/x.html",
                                 "CONTRIBUTING.md", "site_templates/abbreviations.md"])
def test_a_linked_page_asset_or_template_is_refused(rel: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """MkDocs would publish a linked page or asset (and render a linked template): the file it
    points to would be on the site."""
    root = make_site_project(tmp_path / "project")
    if (root / rel).exists():
        (root / rel).unlink()
    (root / rel).symlink_to(decoy(tmp_path))
    assert _site_lines(root, capsys) == [
        f"{rel}:1:1: error[KB112] $: is a symbolic link; links are never followed {HINT_LINK}"]


def test_a_fifo_among_the_assets_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_site_project(tmp_path / "project")
    os.mkfifo(root / "content/pages/assets/feed.css")
    assert _site_lines(root, capsys) == [
        "content/pages/assets/feed.css:1:1: error[KB112] $: is a named pipe (FIFO), not a regular file "
        "(remove it, or replace it by the file itself)"]


def test_a_file_in_a_nested_subfolder_is_a_warning(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It was silently ignored."""
    nested = project / INT / "extra" / "deeper"
    nested.mkdir(parents=True)
    shutil.copy(project / INT / "example-avoid.yaml", nested / "x.yaml")
    (project / INT / "extra" / "link").symlink_to("/etc", target_is_directory=True)
    line = (f"{INT}/extra/deeper/x.yaml:1:1: warning[KB114] $: file in a subfolder of {INT}/ is ignored "
            f"(move it to {INT}/x.yaml, or out of content/)")
    link = f"{INT}/extra/link:1:1: error[KB112] $: is a symbolic link; links are never followed {HINT_LINK}"
    assert check(project, capsys) == (1, [line, link, summary(1, 1, 8)])
    (project / INT / "extra" / "link").unlink()
    assert check(project, capsys) == (0, [line, summary(0, 1, 8)])
    assert check(project, capsys, "--strict") == (1, [line, summary(0, 1, 8, strict=True)])


def test_file_names_with_control_characters_are_reported_escaped(project: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A newline in a file name could forge a second diagnostic line; an ESC drives the terminal."""
    for name in ("new\nline.yaml", "red\x1b[31m.yaml", "rtl\u202e.yaml"):
        (project / MECH / name).write_text("id: step-one\n", encoding="utf-8")
    status, lines = check(project, capsys)
    assert status == 1
    assert [line for line in lines if "KB207" in line] == [
        f"{MECH}/new\\nline.yaml:1:5: error[KB207] $.id: id `step-one` differs from the file name `new\\nline.yaml` "
        "(rename the file to `step-one.yaml` or set the id to `new\\nline`)",
        f"{MECH}/red\\x1b[31m.yaml:1:5: error[KB207] $.id: id `step-one` differs from the file name "
        "`red\\x1b[31m.yaml` (rename the file to `step-one.yaml` or set the id to `red\\x1b[31m`)",
        f"{MECH}/rtl\\u202e.yaml:1:5: error[KB207] $.id: id `step-one` differs from the file name `rtl\\u202e.yaml` "
        "(rename the file to `step-one.yaml` or set the id to `rtl\\u202e`)"]
    for fmt in ("github", "json"):
        capsys.readouterr()
        main(["check", str(project), "--format", fmt])
        out = capsys.readouterr().out
        assert not re.search("[\x00-\x08\x0b-\x1f\u202e]", out.replace("\n", "")), fmt
        assert "new\\\\nline.yaml" in out if fmt == "json" else "new\\nline.yaml" in out


# --- unreadable files and folders (KB113) -----------------------------------------------------

def _without_read_permission() -> tuple[str, ...] | None:
    """A command prefix under which chmod 000 really stops reading (conftest.without_dac)."""
    return without_dac()


def test_unreadable_files_and_folders_are_located_errors(project: Path) -> None:
    """Real permissions, enforced by the kernel: the CLI runs without the root capabilities that
    ignore them. A content file (mode 000), a content folder that cannot be listed, a page and a
    folder of pages: each was a PermissionError traceback."""
    prefix = _without_read_permission()
    if prefix is None:
        pytest.skip("no way to drop the capabilities that bypass file permissions here")
    pages = project / "content" / "pages"
    (pages / "drafts").mkdir(parents=True)
    (pages / "index.md").write_text("# Home\n", encoding="utf-8")
    (pages / "drafts" / "a.md").write_text("# A\n", encoding="utf-8")
    locked = [project / MECH / "step-one.yaml", project / "content" / "citations", pages / "index.md",
              pages / "drafts"]
    for path in locked:
        path.chmod(0)
    try:
        done = cli("check", str(project), prefix=prefix)
    finally:
        for path in locked:
            path.chmod(0o755)
    assert (done.returncode, done.stderr) == (1, "")
    assert done.stdout.splitlines() == [
        f"content/citations:1:1: error[KB113] $: folder cannot be listed: permission denied {HINT_FOLDER}",
        f"{MECH}/step-one.yaml:1:1: error[KB113] $: file cannot be read: permission denied {HINT_FILE}",
        f"content/pages/drafts:1:1: error[KB113] $: folder cannot be listed: permission denied {HINT_FOLDER}",
        f"content/pages/index.md:1:1: error[KB113] $: file cannot be read: permission denied {HINT_FILE}",
        "references.bib:2:1: warning[KB306] $.smith2020example: reference `smith2020example` has no citation "
        "record (run `allokb new citation smith2020example`)",
        "references.bib:13:1: warning[KB306] $.examplewiki2024page: reference `examplewiki2024page` has no "
        "citation record (run `allokb new citation examplewiki2024page`)",
        summary(4, 2, 6)]


def test_unreadable_file_simulated(project: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    """The same refusal in-process. Tests run as root, where chmod 000 does not stop reading,
    so `os.open` is made to raise PermissionError for one path (the test above shows the real
    thing where capabilities can be dropped)."""
    target = str(project / MECH / "step-two.yaml")
    real_open = os.open

    def refusing_open(path: object, *args: object, **kwargs: object) -> int:
        if str(path) == target:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refusing_open)
    status, lines = check(project, capsys)
    assert status == 1
    assert lines[0] == f"{MECH}/step-two.yaml:1:1: error[KB113] $: file cannot be read: permission denied {HINT_FILE}"


# --- 3. Control and invisible characters (KB115) ----------------------------------------------

@pytest.mark.parametrize(("written", "named"), [
    ("\\0", "control character U+0000"),
    ("\\e", "control character U+001B"),
    ("\\x7f", "control character U+007F"),
    ("\\r", "control character U+000D"),
    ("\\N", "control character U+0085"),
    ("\\x9b", "control character U+009B"),
    ("\\uFFFE", "noncharacter U+FFFE"),
    ("\\U0001FFFF", "noncharacter U+1FFFF"),
    ("\\uFDD0", "noncharacter U+FDD0"),
    ("\\u202E", "bidirectional control U+202E (RIGHT-TO-LEFT OVERRIDE)"),
    ("\\u2066", "bidirectional control U+2066 (LEFT-TO-RIGHT ISOLATE)"),
    ("\\u200F", "bidirectional control U+200F (RIGHT-TO-LEFT MARK)"),
    ("\\L", "invisible character U+2028 (LINE SEPARATOR)"),
    ("\u202e", "bidirectional control U+202E (RIGHT-TO-LEFT OVERRIDE)"),  # written raw, not escaped
    ("\u2029", "invisible character U+2029 (PARAGRAPH SEPARATOR)"),
])
def test_a_control_character_in_a_name_is_located(written: str, named: str, project: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A NUL, ESC or U+FFFE in a name passed the check, then crashed the Atom feed; a bidi
    override passed and reordered the name on every page."""
    replace_in(project / INT / "example-hormone.yaml", 'name: "Example hormone"', f'name: "Example{written}hormone"')
    assert check(project, capsys) == (1, [
        f"{INT}/example-hormone.yaml:2:7: error[KB115] $.name: {named} in text {HINT_CONTROL}",
        UNCITED, summary(1, 1, 8)])


def test_tab_newline_and_ordinary_unicode_stay_allowed(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replace_in(project / INT / "example-hormone.yaml", 'name: "Example hormone"',
               'name: "Example\\thormone – 3α-HSD, café 😀\\n"')
    assert check(project, capsys) == (0, [summary(0, 0, 8)])


def test_a_control_character_in_a_key_and_in_a_plain_value(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replace_in(project / MECH / "step-one.yaml", 'kind: enzymatic-step\n', 'kind: enzymatic-step\n"k\\e": 1\n')
    replace_in(project / MECH / "step-one.yaml", 'enzyme: "Enzyme A"', "enzyme: Enzyme\u2066A")
    assert check(project, capsys)[1][:3] == [
        f"{MECH}/step-one.yaml:4:1: error[KB115] $['k\\x1b']: control character U+001B in text {HINT_CONTROL}",
        f"{MECH}/step-one.yaml:4:1: error[KB203] $['k\\x1b']: unknown field `k\\x1b` (allowed fields: changes, "
        "claims, former_ids, id, kind, name, related, step, summary, upstream)",
        f"{MECH}/step-one.yaml:9:11: error[KB115] $.step.enzyme: bidirectional control U+2066 (LEFT-TO-RIGHT "
        f"ISOLATE) in text {HINT_CONTROL}"]


def test_a_raw_control_character_is_a_located_yaml_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """YAML itself refuses raw C0 controls: KB102, located, the character named, not printed."""
    replace_in(project / INT / "example-hormone.yaml", 'name: "Example hormone"', 'name: "Example\x1bhormone"')
    assert check(project, capsys)[1][0] == (
        f"{INT}/example-hormone.yaml:2:15: error[KB102] $: invalid YAML: character U+001B is not allowed in YAML "
        "(remove the control character)")


def test_a_control_character_in_the_rubric(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    replace_in(project / "content/rubric.yaml", 'label: "High"', 'label: "Hi\\u202Egh"')
    assert check(project, capsys)[1][0] == (
        f"content/rubric.yaml:8:12: error[KB115] $.levels[0].label: bidirectional control U+202E (RIGHT-TO-LEFT "
        f"OVERRIDE) in text {HINT_CONTROL}")


def test_a_control_character_in_urls_txt(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "urls.txt").write_text("# manifest\n/interventions/\n/x\x1b[2J/\n", encoding="utf-8")
    assert check(project, capsys)[1][-2:] == [
        f"urls.txt:3:3: error[KB115] $: control character U+001B in text {HINT_CONTROL}", summary(1, 0, 8)]


def test_control_characters_in_references_bib_are_placed_exactly(project: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """references.bib is published as it is: every line with a refused character is reported,
    in a field, between entries or in a comment."""
    bib = project / "references.bib"
    replace_in(bib, "title = {An example study", "title = {An \u202eexample study")
    replace_in(bib, "  journal = {Journal of Test Fixtures},", "  journal = {Journal\x1b of Test Fixtures},")
    bib.write_text(bib.read_text(encoding="utf-8") + "% a comment \u2067\n", encoding="utf-8")
    assert check(project, capsys)[1] == [
        f"references.bib:4:15: error[KB115] $.smith2020example.title: bidirectional control U+202E (RIGHT-TO-LEFT "
        f"OVERRIDE) in text {HINT_CONTROL}",
        f"references.bib:5:21: error[KB115] $.smith2020example.journal: control character U+001B in text "
        f"{HINT_CONTROL}",
        f"references.bib:19:13: error[KB115] $: bidirectional control U+2067 (RIGHT-TO-LEFT ISOLATE) in text "
        f"{HINT_CONTROL}",
        summary(3, 0, 8)]


def test_a_control_character_in_a_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_site_project(tmp_path / "project")
    (root / "content/pages/extra.md").write_text("# Extra\n\nHello \u202eworld\n", encoding="utf-8")
    (root / "CONTRIBUTING.md").write_text("# Contributing\n\x07\n", encoding="utf-8")
    assert _site_lines(root, capsys) == [
        f"CONTRIBUTING.md:2:1: error[KB115] $: control character U+0007 in text {HINT_CONTROL}",
        f"content/pages/extra.md:3:7: error[KB115] $: bidirectional control U+202E (RIGHT-TO-LEFT OVERRIDE) in text "
        f"{HINT_CONTROL}"]


def test_a_name_the_atom_feed_cannot_carry_stops_the_build_before_it_starts(tmp_path: Path,
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """U+FFFE passed the check and crashed the feed (XML cannot hold it) mid-build."""
    root = make_site_project(tmp_path / "project")
    replace_in(root / INT / "example-hormone.yaml", 'name: "Example hormone"', 'name: "Example\\uFFFEhormone"')
    done = run(capsys, "build", str(root), "--site-dir", str(tmp_path / "site"))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stdout.splitlines()[0] == (
        f"{INT}/example-hormone.yaml:2:7: error[KB115] $.name: noncharacter U+FFFE in text {HINT_CONTROL}")
    assert not (tmp_path / "site").exists()


# --- numbers (KB116) --------------------------------------------------------------------------

CITE = "content/citations/smith2020example.yaml"


def test_a_five_thousand_digit_integer_is_located(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """int() refuses more than 4,300 digits: this was a ValueError traceback."""
    replace_in(project / CITE, "sample_size: 40", "sample_size: " + "9" * 5000)
    assert check(project, capsys) == (1, [
        f"{CITE}:6:14: error[KB116] $.sample_size: the number `{'9' * 20}…` (5,000 digits) is too large: whole "
        "numbers lie between -9,007,199,254,740,991 and 9,007,199,254,740,991 (quote it if it is text)",
        f"{CITE}:6:14: error[KB201] $.sample_size: expected a whole number, found the text `{'9' * 59}…`",
        summary(2, 0, 8)])


@pytest.mark.parametrize(("written", "expected"), [
    ("9007199254740991", None),
    ("-9007199254740991", None),
    ("9007199254740992", "the number `9007199254740992` is too large: whole numbers lie between "
                         "-9,007,199,254,740,991 and 9,007,199,254,740,991"),
    ("1e999", "the number `1e999` is too large"),
    ("-1e999", "the number `-1e999` is too large"),
    ("1e-999", "the number `1e-999` is too small: it would be read as 0"),
    ("0.0e-999", None),
])
def test_numbers_out_of_range(written: str, expected: str | None) -> None:
    from allokb.load import parse_yaml

    doc, problems = parse_yaml(f"n: {written}\n", "x.yaml", "mechanisms", "x")
    assert [(d.code, d.location.line, d.location.col, d.message) for d in problems] == (
        [] if expected is None else [("KB116", 1, 4, expected)])
    if expected is None:
        assert doc is not None and doc.data["n"] == (float(written) if "e" in written else int(written))


# --- 4. LaTeX in references.bib (KB413) -------------------------------------------------------

def _bib_with_title(project: Path, title: str) -> None:
    replace_in(project / "references.bib", "title = {An example study of a made-up steroid}", f"title = {{{title}}}")


@pytest.mark.parametrize("title", [
    "\\href{https://example.org}",  # one argument of two
    "\\href",
    "\\sqrt",
    "A \\sqrt[\\sqrt[\\sqrt[",
    "{" * 300 + "x" + "}" * 300,
    "{" * 33 + "x" + "}" * 33,
])
def test_latex_that_cannot_be_decoded_is_located(title: str, project: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Each of these was a traceback (IndexError, KeyError, AttributeError or RecursionError)."""
    _bib_with_title(project, title)
    why = "nests braces more than 32 deep" if title.startswith("{") else "holds LaTeX that cannot be turned into text"
    assert check(project, capsys) == (1, [
        f"references.bib:4:1: error[KB413] $.smith2020example.title: `title` {why} {HINT_LATEX}",
        summary(1, 0, 8)])


@pytest.mark.parametrize(("title", "decoded"), [
    ("See \\href{https://example.org/a}{the page}", "See the page <https://example.org/a>"),
    ("Root \\sqrt{2}", "Root √(2)"),
    ("At \\url{https://example.org}", "At <https://example.org>"),
    ("{" * 32 + "x" + "}" * 32, "x"),
    ("M{\\\"u}ller", "Müller"),
])
def test_latex_that_decodes(title: str, decoded: str, project: Path) -> None:
    from allokb.project import check_project

    _bib_with_title(project, title)
    result = check_project(project)
    assert not result.failed()
    assert dict(result.kb.references["smith2020example"].fields)["title"] == decoded


def test_input_never_reads_a_file(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`\\input{/etc/passwd}` (or any file) is dropped: pylatexenc reads files only when given a
    tex input directory, which allokb never sets. A file next to the project would show if read.
    (The check refuses such TeX too, KB414: the published bibliography must not carry it.)"""
    from allokb.project import check_project

    (tmp_path / "secret.tex").write_text("SECRET", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    _bib_with_title(project, "A \\input{secret.tex} \\input{/etc/passwd} \\include{secret} B")
    result = check_project(project)
    assert [d.code for d in result.diagnostics if d.severity.value == "error"] == ["KB414"]
    assert dict(result.kb.references["smith2020example"].fields)["title"] == "A B"


@pytest.mark.parametrize("title", ["\\verb|x| y", "\\csname write18\\endcsname{x}", "a ^^5cinput b"])
def test_tex_that_could_run_is_refused(title: str, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _bib_with_title(project, title)
    status, lines = check(project, capsys)
    assert status == 1 and any(line.startswith("references.bib:4:") and "error[KB414] $.smith2020example.title:"
                               in line for line in lines), lines


def test_an_undecodable_author_name_is_located(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A field that decodes as a whole may hold a name that does not on its own (names are
    decoded one by one when a page is rendered): found at check time."""
    replace_in(project / "references.bib", "author = {Smith, Jane and", "author = {\\sqrt and Smith, Jane and")
    assert check(project, capsys)[1][0] == (
        f"references.bib:3:1: error[KB413] $.smith2020example.author: a name in `author` holds LaTeX that cannot "
        f"be turned into text {HINT_LATEX}")


def test_decode_and_split_authors_never_raise() -> None:
    """Render time (and `verify`) decode without a check in between: they fall back to the text
    without its markup."""
    from allokb.bib import decode, split_authors
    from allokb.model import Person

    assert decode("\\href{x}") == "x"
    assert decode("{" * 300 + "deep" + "}" * 300) == "deep"
    assert split_authors("\\sqrt and {\\verb} and M{\\\"u}ller, J.") == (
        Person("", None), Person(None, None, ""), Person("Müller", "J."))


def test_an_unterminated_brace_is_a_parse_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """bibtexparser gives the entry up (its citations and its source text then dangle): located, not a
    traceback."""
    _bib_with_title(project, "An {unterminated")
    assert check(project, capsys)[1][-2:] == [
        "references.bib:2:1: error[KB401] $: cannot parse `@article{smith2020example,`: Unexpected block start: "
        "`@online`. Was still looking for field-value closing `,` or `}` (check the braces and commas of this entry)",
        summary(6, 0, 8)]


# --- front matter of hand-written pages (KB117) -----------------------------------------------

def _page(tmp_path: Path, text: str) -> Path:
    root = make_site_project(tmp_path / "project")
    (root / "content/pages/extra.md").write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize(("front", "expected"), [
    ("template: missing.html\n",
     "content/pages/extra.md:2:1: error[KB117] $.template: front matter key `template` is not allowed: a page cannot "
     "choose its own template: every page is laid out by the theme's, where the site's <head> is written (a missing "
     "template would also stop the build) (remove it)"),
    ("jsonld: '{}'\n",
     "content/pages/extra.md:2:1: error[KB117] $.jsonld: front matter key `jsonld` is not allowed: the build writes "
     "each page's JSON-LD itself (remove it)"),
    ("descripton: x\n",
     "content/pages/extra.md:2:1: error[KB117] $.descripton: unknown front matter key `descripton` "
     "(did you mean `description`?)"),
    ("icon: material/x\n",
     "content/pages/extra.md:2:1: error[KB117] $.icon: unknown front matter key `icon` "
     "(allowed keys: description, hide, title)"),
    ("title: 1.10\n",
     "content/pages/extra.md:2:8: error[KB117] $.title: front matter `title` must be text"),
    ("description: [a]\n",
     "content/pages/extra.md:2:14: error[KB117] $.description: front matter `description` must be text"),
    ("hide: [toc, sidebar]\n",
     "content/pages/extra.md:2:7: error[KB117] $.hide: front matter `hide` must be a list of: feedback, footer, "
     "navigation, path, tags, toc"),
    ("- a list\n",
     "content/pages/extra.md:2:1: error[KB117] $: front matter must be a mapping of keys to values"),
    ('description: "a\\ud"\n',
     "content/pages/extra.md:2:18: error[KB102] $: invalid YAML: while parsing a quoted scalar: did not find "
     "expected hexdecimal number (it started at line 2, column 14)"),
    ('description: "<\\e[31m"\n',
     f"content/pages/extra.md:2:14: error[KB115] $.description: control character U+001B in text {HINT_CONTROL}"),
    ("title: a\ntitle: b\n",
     "content/pages/extra.md:3:1: error[KB104] $.title: duplicate key `title` (first defined at line 2, column 1) "
     "(remove one of the two entries; YAML would silently keep the last)"),
    ("title: no\n",
     "content/pages/extra.md:2:8: error[KB109] $.title: unquoted `no` is read as a boolean by YAML 1.1 tools "
     "(quote it (\"no\") to keep it text, or write true/false for a boolean)"),
])
def test_front_matter_is_strict(front: str, expected: str, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    root = _page(tmp_path, f"---\n{front}---\n\n# Extra\n")
    assert _site_lines(root, capsys) == [expected]


def test_valid_front_matter_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _page(tmp_path, "---\ntitle: Extra\ndescription: \"A page.\"\nhide: [toc, navigation]\n---\n\n# Extra\n")
    assert _site_lines(root, capsys) == []
    root = _page(tmp_path / "2", "---\n\n---\n\n# Extra, with empty front matter\n")
    assert _site_lines(root, capsys) == []


def test_multimarkdown_metadata_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """MkDocs reads `Key: value` lines at the top of a page without front matter as metadata:
    a second, unchecked way into the page's <head>."""
    root = _page(tmp_path, 'Description: "><script>alert(1)</script>\n\n# Extra\n')
    assert _site_lines(root, capsys) == [
        "content/pages/extra.md:1:1: error[KB117] $: MkDocs would read `Description:` at the top of the page as "
        "metadata (start the page with a heading, or put the metadata in YAML front matter between `---` lines)"]


def test_a_missing_template_stops_at_the_check_not_in_mkdocs(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """`template: nowhere.html` was a TemplateNotFound traceback from inside MkDocs."""
    root = _page(tmp_path, "---\ntemplate: nowhere.html\n---\n\n# Extra\n")
    done = run(capsys, "build", str(root), "--site-dir", str(tmp_path / "site"))
    assert done.returncode == 1 and "Traceback" not in done.stdout + done.stderr
    assert "content/pages/extra.md:2:1: error[KB117] $.template:" in done.stdout


def test_the_front_matter_patterns_are_mkdocs_own() -> None:
    """pages_check copies MkDocs' two patterns (importing mkdocs.utils costs 70 ms per check)."""
    from mkdocs.utils import meta

    from allokb import pages_check

    assert (pages_check.YAML_RE.pattern, pages_check.YAML_RE.flags) == (meta.YAML_RE.pattern, meta.YAML_RE.flags)
    assert (pages_check.META_RE.pattern, pages_check.META_RE.flags) == (meta.META_RE.pattern, meta.META_RE.flags)


def test_the_included_files_are_the_render_stage_s() -> None:
    from allokb import pages_check, render

    assert pages_check.INCLUDED == (render.GUIDE, render.ABBREVIATIONS)


def test_the_repository_passes(capsys: pytest.CaptureFixture[str]) -> None:
    """The real pages, templates and content hold nothing these checks refuse."""
    assert check(REPO, capsys, "--strict")[0] == 0


def test_read_text_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    """The reader itself, for every kind of file it may meet."""
    from allokb.load import read_text

    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "link").symlink_to(tmp_path / "fifo")
    (tmp_path / "dir").mkdir()
    found = {name: [(d.code, d.message) for d in read_text(tmp_path / name, name, 100)[1]]
             for name in ("fifo", "link", "dir")}
    assert found == {"fifo": [("KB112", "is a named pipe (FIFO), not a regular file")],
                     "link": [("KB112", "is a symbolic link; links are never followed")],
                     "dir": [("KB112", "is a folder, not a regular file")]}
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fifo").st_mode)
