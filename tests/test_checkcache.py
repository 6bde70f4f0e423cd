"""The check's loading kept on disk (allokb.checkcache): the same result as a check without it,
every change seen, and nothing loaded from a file that is not the user's own."""

from __future__ import annotations

import os
import pickle
import stat
from pathlib import Path

import pytest

import allokb.checkcache
import allokb.project
from allokb.checkcache import open_store
from allokb.cli import main
from allokb.load import scan_content
from allokb.project import CheckResult, check_project
from conftest import REPO, make_project, tree_digest


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("ALLOKB_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The content files the checks load (parse and validate), in order."""
    seen: list[str] = []
    real = allokb.project.process_file

    def counting(root: Path | str, kind: str, name: str) -> object:
        seen.append(f"{kind}/{name}")
        return real(root, kind, name)

    monkeypatch.setattr(allokb.project, "process_file", counting)
    return seen


def _same(a: CheckResult, b: CheckResult) -> None:
    assert a.diagnostics == b.diagnostics
    assert a.kb == b.kb
    assert a.grades == b.grades and a.files == b.files and a.quotes == b.quotes
    assert a.urls == b.urls


def _store_file(cache_dir: Path) -> Path:
    files = list((cache_dir / "checks").glob("*.pickle"))
    assert len(files) == 1, files
    return files[0]


def _content_files(root: Path) -> int:
    return len(scan_content(root)[0])


@pytest.mark.parametrize("case", [None, "dangling-refs", "bad-values", "bib-errors", "duplicate-key",
                                  "matrix-main-outcome", "former-ids"])
def test_a_kept_check_is_the_check(tmp_path: Path, cache_dir: Path, loads: list[str], case: str | None) -> None:
    root = make_project(tmp_path / "kb", case)
    plain = check_project(root)
    assert len(loads) == _content_files(root)
    loads.clear()
    first = check_project(root, stored=True)  # nothing kept yet: loads everything and keeps it
    assert len(loads) == _content_files(root)
    loads.clear()
    kept = check_project(root, stored=True)
    assert loads == []  # every file from the store
    _same(plain, first)
    _same(plain, kept)
    if case is not None:
        assert kept.diagnostics, case  # the kept outcomes carry the files' diagnostics


def test_the_repository_checked_from_the_store(tmp_path: Path, cache_dir: Path, loads: list[str]) -> None:
    plain = check_project(REPO)
    check_project(REPO, stored=True)
    loads.clear()
    kept = check_project(REPO, stored=True)
    assert loads == []
    _same(plain, kept)


def test_an_edit_is_seen_and_only_its_file_loaded(tmp_path: Path, cache_dir: Path, loads: list[str]) -> None:
    root = make_project(tmp_path / "kb")
    assert not check_project(root, stored=True).failed()
    path = root / "content" / "interventions" / "example-hormone.yaml"
    text = path.read_text()
    loads.clear()
    path.write_text(text.replace("mechanisms: [step-one, step-two]", "mechanisms: [step-one, no-such-mechanism]", 1))
    broken = check_project(root, stored=True)
    assert loads == ["interventions/example-hormone.yaml"]
    assert broken.failed() and any("no-such-mechanism" in d.message for d in broken.diagnostics)
    loads.clear()
    again = check_project(root, stored=True)  # the edit's outcome was kept
    assert loads == [] and again.diagnostics == broken.diagnostics
    path.write_text(text)
    assert not check_project(root, stored=True).failed()
    _same(check_project(root), check_project(root, stored=True))


def test_an_edit_of_the_same_size_and_time_is_seen(tmp_path: Path, cache_dir: Path) -> None:
    """A write that keeps the size and puts back the modification time still changes the file's
    change time (which no one can set): the store does not take the old outcome."""
    root = make_project(tmp_path / "kb")
    assert not check_project(root, stored=True).failed()
    path = root / "content" / "interventions" / "example-hormone.yaml"
    before = os.stat(path)
    text = path.read_text()
    edited = text.replace("id: example-hormone", "id: example-hormonx")  # same size, another id
    assert len(edited) == len(text) and edited != text
    path.write_text(edited)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(path).st_mtime_ns == before.st_mtime_ns and os.stat(path).st_size == before.st_size
    result = check_project(root, stored=True)
    assert result.failed()
    _same(check_project(root), result)


def test_removed_and_added_files_and_the_bib(tmp_path: Path, cache_dir: Path, loads: list[str]) -> None:
    root = make_project(tmp_path / "kb")
    check_project(root, stored=True)
    mechanism = next((root / "content" / "mechanisms").glob("*.yaml"))
    moved = mechanism.read_text()
    mechanism.unlink()
    gone = check_project(root, stored=True)
    _same(check_project(root), gone)
    assert gone.failed()
    mechanism.write_text(moved)
    loads.clear()
    back = check_project(root, stored=True)
    assert loads == [f"mechanisms/{mechanism.name}"] and not back.failed()
    bib = root / "references.bib"
    bib.write_text(bib.read_text() + "\n@article{broken,\n  title = {No end\n")
    bibbed = check_project(root, stored=True)
    _same(check_project(root), bibbed)
    assert bibbed.failed()


def test_another_version_of_the_code_keeps_nothing(tmp_path: Path, cache_dir: Path, loads: list[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_project(tmp_path / "kb")
    check_project(root, stored=True)
    monkeypatch.setattr(allokb.checkcache, "fingerprint", lambda: "another version")
    loads.clear()
    check_project(root, stored=True)
    assert len(loads) == _content_files(root)


def test_a_damaged_store_is_no_store(tmp_path: Path, cache_dir: Path, loads: list[str],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path / "kb", "dangling-refs")
    assert main(["check", str(root)]) == 1
    expected = capsys.readouterr().out
    kept = _store_file(cache_dir)
    data = kept.read_bytes()
    header = data[: data.index(b"\n", data.index(b"\n") + 1) + 1]
    # cut short, empty, one name changed (a pickle that still loads: only the checksum sees it), junk
    for damaged in (data[: len(data) // 2], data[:40], b"", data.replace(b"interventions", b"intervention_", 3),
                    header + b"\x80\x05junk" + data[len(header) + 9:]):
        assert damaged != data
        kept.write_bytes(damaged)
        loads.clear()
        assert main(["check", str(root)]) == 1
        assert capsys.readouterr().out == expected
        assert len(open_store(root).files) == _content_files(root)  # written again, whole
    # an entry of the store that does not unpickle is a miss, the rest are taken
    store = open_store(root)
    key = next(iter(store.files))
    store.files[key] = (store.files[key][0], b"\x80\x05not a pickle")
    store.changed = True
    store.save()
    loads.clear()
    assert main(["check", str(root)]) == 1 and capsys.readouterr().out == expected
    assert loads == [f"{key[0]}/{key[1]}"]


class _Planted:
    """What an attacker would leave where the store is read: unpickling it writes a file."""

    def __init__(self, mark: Path) -> None:
        self.mark = mark

    def __reduce__(self) -> tuple[object, ...]:
        return (Path.write_text, (self.mark, "ran"))


def _planted(tmp_path: Path, cache_dir: Path) -> tuple[Path, Path, Path]:
    """A checked project, its store replaced by an attacker's file with a valid header and
    checksum, and the file that unpickling it would write: (project, store, mark)."""
    root = make_project(tmp_path / "kb")
    check_project(root, stored=True)
    kept = _store_file(cache_dir)
    mark = tmp_path / "ran"
    payload = pickle.dumps({"format": allokb.checkcache.FORMAT, "planted": _Planted(mark)})
    kept.write_bytes(allokb.checkcache._header(str(root.resolve()), payload) + payload)
    return root, kept, mark


def test_a_store_anyone_may_write_is_not_read(tmp_path: Path, cache_dir: Path, loads: list[str]) -> None:
    root, kept, mark = _planted(tmp_path, cache_dir)
    kept.chmod(0o666)
    loads.clear()
    result = check_project(root, stored=True)
    assert not mark.exists() and len(loads) == _content_files(root) and not result.failed()
    assert stat.S_IMODE(kept.stat().st_mode) == 0o666  # not ours to replace either
    kept.chmod(0o600)
    (cache_dir / "checks").chmod(0o777)  # a folder others may write: not used at all
    loads.clear()
    check_project(root, stored=True)
    assert not mark.exists() and len(loads) == _content_files(root)
    (cache_dir / "checks").chmod(0o700)
    open_store(root)  # the same file, private again: it would run (what the refusals above prevented)
    assert mark.read_text() == "ran"


@pytest.mark.skipif(os.getuid() != 0, reason="giving a file to another user needs root")
def test_a_store_of_another_user_is_not_read(tmp_path: Path, cache_dir: Path, loads: list[str]) -> None:
    root, kept, mark = _planted(tmp_path, cache_dir)
    os.chown(kept, 65534, 65534)
    loads.clear()
    check_project(root, stored=True)
    assert not mark.exists() and len(loads) == _content_files(root)


def test_a_symlink_in_place_of_the_store_is_not_followed(tmp_path: Path, cache_dir: Path, loads: list[str]) -> None:
    root = make_project(tmp_path / "kb")
    check_project(root, stored=True)
    kept = _store_file(cache_dir)
    elsewhere = tmp_path / "elsewhere.pickle"
    kept.rename(elsewhere)
    kept.symlink_to(elsewhere)
    loads.clear()
    check_project(root, stored=True)
    assert len(loads) == _content_files(root)


def test_the_project_is_not_written_and_no_cache_keeps_nothing(tmp_path: Path, cache_dir: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path / "kb")
    before = tree_digest(root)
    assert main(["check", "--no-cache", str(root)]) == 0
    assert not (cache_dir / "checks").exists() or not list((cache_dir / "checks").iterdir())
    assert main(["check", str(root)]) == 0 and main(["check", str(root)]) == 0
    assert tree_digest(root) == before
    assert _store_file(cache_dir).stat().st_mode & 0o077 == 0
    assert stat.S_IMODE((cache_dir / "checks").stat().st_mode) == 0o700
    capsys.readouterr()


def test_an_unusable_cache_folder_is_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path / "kb")
    (tmp_path / "file").write_text("not a folder")
    for folder in (str(tmp_path / "file"), str(tmp_path / "file" / "below"), ""):
        monkeypatch.setenv("ALLOKB_CACHE_DIR", folder)
        assert main(["check", str(root)]) == 0
        assert "passed" in capsys.readouterr().out


def test_the_folder_keeps_the_projects_checked_last(tmp_path: Path, cache_dir: Path) -> None:
    """... and touches no file it did not write, whatever its name (ALLOKB_CACHE_DIR may name a
    folder of the user's)."""
    (cache_dir / "checks").mkdir(parents=True, mode=0o700)
    foreign = {"notes.pickle": b"the user's", f"{'0' * 32}.pickle": b"\x80\x05 a pickle of the user's",
               "readme.txt": b"text"}
    for name, data in foreign.items():
        (cache_dir / "checks" / name).write_bytes(data)
        os.utime(cache_dir / "checks" / name, (1, 1))  # the oldest of all
    roots = [make_project(tmp_path / f"kb{i}") for i in range(allokb.checkcache.MAX_PROJECTS + 2)]
    for i, root in enumerate(roots):
        check_project(root, stored=True)
        os.utime(open_store(root).path or "", (1_000_000 + i, 1_000_000 + i))  # in the order checked
    kept = {p.name for p in (cache_dir / "checks").glob("*.pickle")} - set(foreign)
    assert len(kept) == allokb.checkcache.MAX_PROJECTS
    assert open_store(roots[-1]).files and not open_store(roots[0]).files
    # a project whose folder is gone is dropped when another is written
    import shutil
    shutil.rmtree(roots[-2])
    bib = roots[-1] / "references.bib"
    bib.write_text(bib.read_text() + "\n")
    check_project(roots[-1], stored=True)
    assert len(set(p.name for p in (cache_dir / "checks").glob("*.pickle")) - set(foreign)) == \
        allokb.checkcache.MAX_PROJECTS - 1
    assert {name: (cache_dir / "checks" / name).read_bytes() for name in foreign} == foreign


def test_the_fingerprint_names_the_readers_and_their_libraries(monkeypatch: pytest.MonkeyPatch) -> None:
    libraries = dict(allokb.checkcache._libraries())
    assert {"pyyaml", "jsonschema", "textstat", "pyphen", "bibtexparser", "referencing", "rpds-py"} <= set(libraries)
    assert all(version != "-" for version in libraries.values())  # each one installed, each version read
    before = allokb.checkcache.fingerprint()
    real = allokb.checkcache.library_version
    monkeypatch.setattr(allokb.checkcache, "library_version", lambda name: "0" if name == "rpds-py" else real(name))
    allokb.checkcache.fingerprint.cache_clear()
    try:
        assert allokb.checkcache.fingerprint() != before  # a library under jsonschema changed: nothing kept is used
    finally:
        monkeypatch.undo()
        allokb.checkcache.fingerprint.cache_clear()
    assert allokb.checkcache.fingerprint() == before
