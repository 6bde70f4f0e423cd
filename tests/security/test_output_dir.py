"""The output folder: a build replaces only a folder that is absent, empty or an earlier site; it
holds a lock, swaps the new site in whole, leaves the old one on any failure, and publishes
files 0644 and folders 0755 whatever the umask."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import allokb.cli
import allokb.output
from allokb.cli import main
from allokb.diagnostics import UsageError
from allokb.output import MARKER, check_site_dir, recover, resolve_site_dir
from conftest import make_site_project

MKDOCS = Path(sys.executable).with_name("mkdocs")
RULE = "a build replaces only a folder that is absent, empty or an earlier allokb site"
SRC = Path(allokb.output.__file__).resolve().parents[1]


def snapshot(top: Path) -> dict[str, object]:
    """Every path under `top` with its bytes (files), its target (symlinks) or "dir"."""
    found: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(top).as_posix()
            if path.is_symlink():
                found[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                found[rel] = "dir"
            else:
                found[rel] = path.read_bytes()
    return found


def _part(folder: str) -> str:
    return f"part of the project ({folder}/ is not empty and has no {MARKER} marker)"


def refusal(target: Path, why: str) -> str:
    return f"allokb: usage error: cannot build the site into {target}: it is {why}; {RULE}\n"


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                   check=True, capture_output=True)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A buildable project under git, with a README and an uncommitted file. Its pages do not
    matter here: the contributor guide (the site's longest page) is cut to a stub, which makes
    each of the file's builds a quarter shorter."""
    root = make_site_project(tmp_path_factory.mktemp("template") / "project")
    (root / "README.md").write_text("# A project\n")
    (root / "CONTRIBUTING.md").write_text("# Contributing\n\nA stub: what is built does not matter here.\n")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "initial")
    (root / "notes-not-committed.txt").write_text("work in progress\n")
    return root


@pytest.fixture(scope="module")
def old_site(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site built by allokb (carries the marker)."""
    site = tmp_path_factory.mktemp("old") / "site"
    assert main(["build", str(template), "--site-dir", str(site)]) == 0
    return site


def make_area(template: Path, tmp_path: Path) -> Path:
    """`tmp_path` holding a copy of the project, an unrelated folder, a file, a fake home folder
    (which carries the marker, so that only the home rule refuses it) and symlinks."""
    shutil.copytree(template, tmp_path / "project", symlinks=True)
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "holiday.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    (tmp_path / "notes.txt").write_text("keep me\n")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".bashrc").write_text("export KEEP=1\n")
    (home / MARKER).write_text("allokb site\n")
    (tmp_path / "empty-target").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "empty-target")
    (tmp_path / "alias").symlink_to(tmp_path / "project")
    return tmp_path


@pytest.fixture
def area(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh `make_area`, the current folder, with its fake home folder as HOME."""
    make_area(template, tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def _refusals_area(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_area(template, tmp_path_factory.mktemp("refusals"))


@pytest.fixture
def refusals_area(_refusals_area: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One `area` for every refusal of this module: each test shows that it left the area as it
    was, so the next one starts from the same tree."""
    monkeypatch.setenv("HOME", str(_refusals_area / "home"))
    monkeypatch.chdir(_refusals_area)
    return _refusals_area


# (--site-dir as given, relative to `area`; the resolved folder named in the message; why)
REFUSED = [
    ("project", "project", "the project folder"),
    ("project/.", "project", "the project folder"),
    ("project/content", "project/content", _part("content")),
    ("project/content/pages", "project/content/pages", _part("content")),
    ("project/content/new-folder", "project/content/new-folder", _part("content")),
    ("project/content/../site_templates", "project/site_templates", _part("site_templates")),
    ("project/src", "project/src", _part("src")),
    ("project/README.md", "project/README.md", "part of the project (README.md)"),
    ("project/references.bib", "project/references.bib", "part of the project (references.bib)"),
    ("project/notes-not-committed.txt", "project/notes-not-committed.txt",
     "part of the project (notes-not-committed.txt)"),
    ("project/..", ".", "a folder above the project"),
    ("project/content/../..", ".", "a folder above the project"),
    ("project/.git", "project/.git", "a .git folder"),
    ("project/.git/refs", "project/.git/refs", "inside a .git folder"),
    ("project/new/site", "project/new/site",
     "below new/ in the project folder, where only a folder directly in it may receive the site"),
    ("alias", "alias", "a symbolic link"),
    ("alias/content", "project/content", _part("content")),
    ("alias/.", "project", "the project folder"),
    ("photos", "photos", "a non-empty folder without the .allokb-site marker"),
    ("notes.txt", "notes.txt", "a file"),
    ("notes.txt/site", "notes.txt/site", "below a file"),
    ("link", "link", "a symbolic link"),
    ("home", "home", "your home folder"),
    ("/", "/", "the file-system root"),
]


@pytest.mark.parametrize(("given", "named", "why"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_folder_that_is_not_a_site_is_refused_before_any_work(
        given: str, named: str, why: str, refusals_area: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    area = refusals_area

    def no_check(root: Path) -> None:
        raise AssertionError("the project was checked: the refusal came too late")

    monkeypatch.setattr(allokb.cli, "check_project", no_check)
    before = snapshot(area)
    assert main(["build", "project", "--site-dir", given]) == 2
    out = capsys.readouterr()
    target = Path("/") if named == "/" else area / named if named != "." else area
    assert out.err == refusal(target, why)
    assert out.out == ""
    assert snapshot(area) == before
    assert "project/.git/HEAD" in before and "project/notes-not-committed.txt" in before


def test_the_real_home_folder_is_refused_by_the_check_alone(template: Path) -> None:
    """Only the check runs here: the real home folder is never handed to a build."""
    home = Path(os.path.realpath(os.path.expanduser("~")))
    with pytest.raises(UsageError) as caught:
        check_site_dir(resolve_site_dir(home), template)
    assert str(caught.value) == f"cannot build the site into {home}: it is your home folder; {RULE}"


def test_the_default_site_folder_is_held_to_the_same_rule(area: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = area / "project"
    (project / "site").mkdir()
    (project / "site" / "handmade.html").write_text("<p>mine</p>\n")
    before = snapshot(area)
    assert main(["build", str(project)]) == 2
    why = _part("site")
    assert capsys.readouterr().err == refusal(project / "site", why)
    assert snapshot(area) == before


def test_absent_empty_and_earlier_sites_are_accepted(area: Path, old_site: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    project = area / "project"
    absent = area / "new" / "site"
    assert main(["build", "project", "--site-dir", str(absent)]) == 0
    assert (absent / MARKER).read_text().startswith("allokb site\n")
    assert snapshot(absent) == snapshot(old_site)  # the same input gives the same site, marker included
    (area / "empty").mkdir()
    assert main(["build", "project", "--site-dir", "empty"]) == 0
    assert snapshot(area / "empty") == snapshot(old_site)
    (project / "content" / "pages" / "about.md").write_text("# About\n\nA changed page.\n")
    assert main(["build", "project", "--site-dir", "empty"]) == 0  # an earlier site
    assert "A changed page." in (area / "empty" / "about" / "index.html").read_text()
    assert main(["build", "project"]) == 0  # the default: site/ in the project
    assert (project / "site" / MARKER).is_file()
    capsys.readouterr()
    # Nothing is left beside the sites: no staging folder, no lock file.
    assert sorted(p.name for p in (area / "new").iterdir()) == ["site"]
    assert not [p.name for p in area.iterdir() if p.name.startswith(".")]
    assert not [p.name for p in project.iterdir() if p.name.startswith(".site")]


#: `mkdocs build` run several times in one process, through MkDocs' own command line (click, its
#: log format, its exit status): one start-up instead of one per build. argv: a JSON list of
#: argument lists; after each run a line `--- exit N` on stderr.
PLAIN_MKDOCS = r"""
import json, logging, sys, traceback
from mkdocs.__main__ import cli
for args in json.loads(sys.argv[1]):
    logger = logging.getLogger("mkdocs")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    try:
        cli.main(args, prog_name="mkdocs")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except Exception:  # a crash of one run is that run's failure, not the others'
        traceback.print_exc()
        code = 1
    print(f"--- exit {code}", file=sys.stderr, flush=True)
"""

HOOK_REFUSES = [
    ("photos", "a non-empty folder without the .allokb-site marker"),
    ("notes.txt", "a file"),
    ("link", "a symbolic link"),
    ("home", "your home folder"),
    ("project/src", _part("src")),
]


def _mkdocs(area: Path, site_dirs: list[Path]) -> list[tuple[int, str]]:
    """`mkdocs build -q -d DIR` of the area's project for each DIR, in one process (`PLAIN_MKDOCS`):
    each run's exit status and stderr."""
    env = {**os.environ, "PYTHONPATH": str(SRC), "NO_MKDOCS_2_WARNING": "1", "HOME": str(area / "home")}
    runs = [["build", "-q", "-f", str(area / "project" / "mkdocs.yml"), "-d", str(d)] for d in site_dirs]
    proc = subprocess.run([sys.executable, "-c", PLAIN_MKDOCS, json.dumps(runs)], capture_output=True,
                          text=True, env=env, timeout=240, cwd=area)
    assert proc.returncode == 0, proc.stderr
    chunks = re.split(r"^--- exit (\d+)\n", proc.stderr, flags=re.M)
    assert len(chunks) == 2 * len(site_dirs) + 1 and chunks[-1] == "", proc.stderr
    return [(int(chunks[i + 1]), chunks[i]) for i in range(0, len(chunks) - 1, 2)]


@pytest.fixture(scope="module")
def plain_mkdocs(template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """One area, where plain `mkdocs build` runs into every folder of HOOK_REFUSES (each refused),
    then twice into the new folder www/: what each run said, and the area before and after the
    refusals."""
    area = make_area(template, tmp_path_factory.mktemp("mkdocs"))
    before = snapshot(area)
    runs = _mkdocs(area, [area / given for given, _ in HOOK_REFUSES] + [area / "www", area / "www"])
    refused = dict(zip([given for given, _ in HOOK_REFUSES], runs))
    # what the refusals left; the www runs only add www/
    after = {k: v for k, v in snapshot(area).items() if k.split("/")[0] != "www"}
    return {"area": area, "refused": refused, "before": before, "after": after, "www": runs[-2:]}


def test_plain_mkdocs_build_is_held_to_the_rule_by_the_hook(plain_mkdocs: dict[str, Any]) -> None:
    """MkDocs empties its site_dir right after the hook's on_config: the hook refuses first."""
    area = plain_mkdocs["area"]
    for given, why in HOOK_REFUSES:
        status, err = plain_mkdocs["refused"][given]
        assert status == 1, (given, err)
        message = f"cannot build the site into {area / given}: it is {why}; {RULE}"
        assert f"ERROR   -  {message}" in err.splitlines(), (given, err)
        assert "Traceback" not in err, given
    assert plain_mkdocs["after"] == plain_mkdocs["before"]


def test_a_site_built_by_plain_mkdocs_can_be_replaced_by_allokb(plain_mkdocs: dict[str, Any], old_site: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    area = plain_mkdocs["area"]
    first, second = plain_mkdocs["www"]
    assert first[0] == 0, first[1]
    assert second[0] == 0, second[1]  # and by mkdocs again
    assert (area / "www" / MARKER).is_file()
    monkeypatch.chdir(area)
    assert main(["build", "project", "--site-dir", "www"]) == 0
    assert snapshot(area / "www") == snapshot(old_site)


def test_a_second_build_into_the_same_folder_is_refused(area: Path, old_site: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    site = area / "site"
    shutil.copytree(old_site, site)
    lock = area / ".site.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # what a running build holds
    before = snapshot(area)
    try:
        capsys.readouterr()
        assert main(["build", "project", "--site-dir", "site"]) == 1
        err = capsys.readouterr().err
        assert err == (f"allokb: error: another build into {site} is running (it holds {lock}); "
                       "try again when it has finished\n")
        assert snapshot(area) == before  # the lock file is the running build's: left alone
    finally:
        os.close(fd)
    os.unlink(lock)
    assert main(["build", "project", "--site-dir", "site"]) == 0  # once the first is done


def test_site_files_are_0644_and_folders_0755_whatever_the_umask(area: Path) -> None:
    old = os.umask(0o077)
    try:
        assert main(["build", "project", "--site-dir", "site"]) == 0
    finally:
        os.umask(old)
    site = area / "site"
    modes = {(p.relative_to(area).as_posix(), oct(p.stat().st_mode & 0o7777)) for p in [site, *site.rglob("*")]}
    wrong = {(rel, mode) for rel, mode in modes if mode != ("0o755" if (area / rel).is_dir() else "0o644")}
    assert wrong == set()
    assert ("site/index.html", "0o644") in modes and ("site", "0o755") in modes


def test_stale_staging_and_old_folders_are_removed_and_nothing_else(area: Path, old_site: Path) -> None:
    site = area / "site"
    shutil.copytree(old_site, site)
    for name in (".site.building-abcd_123", ".site.old-0a1b2c3d"):  # left by killed builds
        shutil.copytree(old_site, area / name)
    (area / ".site.building-zz").mkdir()  # look-alikes: kept
    (area / ".site.building-zz" / "keep").write_text("keep\n")
    (area / ".site.building-ABCDEFGH").mkdir()
    (area / ".site.old-abcdefgh.bak").mkdir()
    (area / ".site.old-yyyyyyyy").symlink_to(area / "photos")
    (area / ".site.building-xxxxxxxx").write_text("a file, not a folder\n")
    (area / ".other.building-abcdefgh").mkdir()
    before = snapshot(area)
    assert main(["build", "project", "--site-dir", "site"]) == 0
    after = snapshot(area)
    gone = sorted({k.split("/")[0] for k in before} - {k.split("/")[0] for k in after})
    assert gone == [".site.building-abcd_123", ".site.old-0a1b2c3d"]
    for kept in (".site.building-zz", ".site.building-ABCDEFGH", ".site.old-abcdefgh.bak", ".site.old-yyyyyyyy",
                 ".site.building-xxxxxxxx", ".other.building-abcdefgh", "photos"):
        assert {k: v for k, v in after.items() if k.split("/")[0] == kept} == \
               {k: v for k, v in before.items() if k.split("/")[0] == kept}, kept


def test_a_two_step_swap_cut_short_is_repaired(area: Path, old_site: Path) -> None:
    """Without renameat2 the swap is two renames; killed between them, the site folder is missing
    and the complete old site waits beside it: the next build puts it back first."""
    shutil.copytree(old_site, area / ".site.old-abcdefgh")  # the first rename done
    shutil.copytree(old_site, area / ".site.building-abcdefgh")  # the new site, never moved in
    recover(area / "site")
    assert snapshot(area / "site") == snapshot(old_site)
    assert not [p for p in area.iterdir() if p.name.startswith(".site.")]


def test_a_partly_removed_old_site_is_not_restored(area: Path, old_site: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Removal deletes the marker first: a tree cut short in its removal is never taken for a site."""
    old = area / ".site.old-abcdefgh"
    shutil.copytree(old_site, old)
    with monkeypatch.context() as patch:  # the removal is killed as it starts on the files
        patch.setattr(allokb.output.shutil, "rmtree", lambda path, ignore_errors=False: None)
        allokb.output.remove_tree(old)
    (old / "index.html").unlink()  # what it had removed by then
    recover(area / "site")
    assert not (area / "site").exists() and not (area / ".site.old-abcdefgh").exists()


def test_without_renameat2_the_fallback_swap_replaces_the_site(area: Path, old_site: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def unsupported(src: Path, dst: Path, flags: int) -> None:
        raise OSError(errno.EINVAL, "Invalid argument")

    site = area / "site"
    shutil.copytree(old_site, site)
    (site / "from-the-old-site.txt").write_text("old\n")
    monkeypatch.setattr(allokb.output, "rename2", unsupported)
    assert main(["build", "project", "--site-dir", "site"]) == 0
    assert snapshot(site) == snapshot(old_site)
    assert not [p for p in area.iterdir() if p.name.startswith(".site")]


def _failing_build(area: Path, site: Path, capsys: pytest.CaptureFixture[str], reason: str) -> None:
    """Build into `site` (an earlier site): it fails with one line, and nothing changed."""
    before = snapshot(site.parent)
    capsys.readouterr()
    assert main(["build", str(area / "project"), "--site-dir", str(site)]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == (f"allokb: error: cannot build the site into {site}: {reason}; "
                                    "the previous site is unchanged")
    assert "Traceback" not in err
    assert snapshot(site.parent) == before  # old site intact, no staging folder, no lock file


def test_an_error_in_the_swap_leaves_the_old_site(area: Path, old_site: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def busy(src: Path, dst: Path, flags: int) -> None:
        raise OSError(errno.EBUSY, os.strerror(errno.EBUSY))

    shutil.copytree(old_site, area / "out" / "site")
    monkeypatch.setattr(allokb.output, "rename2", busy)
    _failing_build(area, area / "out" / "site", capsys, "Device or resource busy")


def _mount(*args: str) -> bool:
    if os.geteuid() != 0:
        return False
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


def test_a_full_disk_is_one_line_and_leaves_the_old_site(area: Path, old_site: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    size = sum(p.stat().st_size for p in old_site.rglob("*") if p.is_file())
    # A real full disk where we can mount one: a tmpfs holding the old site and room for half another.
    if _mount("-t", "tmpfs", "-o", f"size={size * 3 // 2}", "tmpfs", str(disk)):
        try:
            shutil.copytree(old_site, disk / "site")
            _failing_build(area, disk / "site", capsys, "No space left on device")
        finally:
            subprocess.run(["umount", "-l", str(disk)], check=True)
        return
    # Elsewhere (not root): the disk fills up while MkDocs writes the pages.
    import mkdocs.utils

    real = mkdocs.utils.write_file
    written: list[str] = []

    def write_file(content: bytes, output_path: str) -> None:
        written.append(output_path)
        if len(written) > 5:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), output_path)
        real(content, output_path)

    monkeypatch.setattr(mkdocs.utils, "write_file", write_file)
    shutil.copytree(old_site, disk / "site")
    _failing_build(area, disk / "site", capsys, "No space left on device")


def test_a_read_only_parent_is_one_line_and_leaves_the_old_site(area: Path, old_site: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    parent = tmp_path / "readonly"
    shutil.copytree(old_site, parent / "site")
    # A real read-only bind mount where we can make one (root ignores a folder's modes).
    if _mount("--bind", str(parent), str(parent)):
        try:
            assert _mount("-o", "remount,bind,ro", str(parent))
            _failing_build(area, parent / "site", capsys, "Read-only file system")
        finally:
            subprocess.run(["umount", "-l", str(parent)], check=True)
        return
    if os.geteuid() != 0:  # a folder without write permission stops anyone but root
        parent.chmod(0o555)
        try:
            _failing_build(area, parent / "site", capsys, "Permission denied")
        finally:
            parent.chmod(0o755)
        return

    def read_only(**kwargs: object) -> str:  # root without mount: the staging folder cannot be made
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(kwargs.get("dir")))

    monkeypatch.setattr(allokb.output.tempfile, "mkdtemp", read_only)
    _failing_build(area, parent / "site", capsys, "Read-only file system")
