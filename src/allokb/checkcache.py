"""What a check loaded, kept on disk, so that the next `allokb check` loads only the files that changed.

Loading is most of a check of a large knowledge base: at 10,000 real-size interventions (about
47,000 files, 300 MB of YAML and a 15 MB references.bib) parsing the YAML and the bib costs about
55 s of CPU, the rules after it about 6 s. Each file's outcome (`allokb.graph.FileOutcome`: its
record, its diagnostics, placed, and the findings of the rules that need no other file) depends on
nothing but the file's bytes and the code that read it, and references.bib's parse on nothing but
that file. `allokb check`, `allokb build` and the first check of `allokb serve` keep them here
(`Store`), one file per project, and the next check takes every file whose stamp (size,
modification and change times, inode, type: `allokb.project.Stamp`) is the same from it; the
rules then run over the whole knowledge base as always, so a result from the cache is the same
result (tests/test_checkcache.py holds it to a check without it, on the repository's content
and on broken content).

Why it is safe to load from it:

- **Only the user's own folder.** Entries are pickles, so whoever can write the folder can run
  code in the check. As for the compiled templates (`allokb.templatecache`), the folder
  (`$ALLOKB_CACHE_DIR/checks`, else under `$XDG_CACHE_HOME` or `~/.cache`) is made mode 0700 and
  used only if it is a real folder of this user that no one else can write, and a project's file
  only if it is a regular file of this user that no one else can write. It is never inside the
  project: a pull request cannot bring an entry with it.
- **Only what this code made.** The file holds a fingerprint of the code that wrote it (every
  file of the `allokb` package, the Python version and the versions of the libraries that read
  the files, PyYAML, jsonschema, textstat, bibtexparser, and of the libraries they require);
  another fingerprint, another
  project folder or another format, and nothing of it is used.
- **Never a failed check.** A file that cannot be read, or is damaged (its checksum is checked
  before anything is unpickled), is no cache (the check
  loads everything, as without it); one that cannot be written is skipped. It is written to a
  temporary file and renamed, so two checks at once never read half of one; the last one wins.

The folder keeps at most `MAX_PROJECTS` projects, the ones checked last; a project whose folder
is gone is dropped when another is written. `--no-cache` (check, build) or `ALLOKB_CACHE_DIR=`
turns it off.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import stat
import sys
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from allokb.templatecache import library_version, private_folder, write_atomically

#: changed when what the file holds changes
FORMAT = 1
#: the projects whose loading is kept; above this, the ones checked longest ago go
MAX_PROJECTS = 8
#: the libraries whose reading of a file decides its outcome
_READERS = ("PyYAML", "jsonschema", "textstat", "pyphen", "bibtexparser")

Key = tuple[str, str]  # (content folder, file name)
_REQUIREMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
#: the first line of a kept file; the second (JSON) names the project and the checksum (CRC-32) and
#: size of the pickle that follows
_MAGIC = f"allokb check cache {FORMAT}\n".encode()
_ANY_FORMAT = b"allokb check cache "
_NAME = re.compile(r"[0-9a-f]{32}\.pickle")


def _libraries() -> list[tuple[str, str]]:
    """The readers and the libraries they require (not their extras: the schemas use no `format`,
    whose checks would depend on optional libraries), with their versions."""
    found: dict[str, str] = {}
    todo = list(_READERS)
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in found:
            continue
        found[name] = library_version(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        todo += [m.group() for m in map(_REQUIREMENT.match, (r for r in requires if "extra ==" not in r)) if m]
    return sorted(found.items())


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """The code that makes an outcome: every file of the package, Python, and the readers."""
    digest = hashlib.sha256(f"{FORMAT}\0{sys.version}\0".encode())
    for name, version in _libraries():
        digest.update(f"{name}={version}\0".encode())
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _own_file(fd: int) -> bool:
    info = os.fstat(fd)
    return (stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid()
            and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


@dataclass
class Store:
    """One project's kept loading: each file's stamp and pickled outcome, and references.bib's."""

    path: Path | None  # where it is kept; None when there is no usable folder
    root: str
    files: dict[Key, tuple[Any, bytes]] = field(default_factory=dict)
    bib: tuple[Any, bytes] | None = None
    changed: bool = False  # whether this check found anything to write

    def outcome(self, key: Key, stamp: Any) -> Any:
        """The kept outcome of `key` if its stamp is `stamp`, else None."""
        hit = self.files.get(key)
        if hit is None or stamp is None or hit[0] != stamp:
            return None
        try:
            return pickle.loads(hit[1])  # noqa: S301 - the user's own private folder (module docstring)
        except Exception:  # noqa: BLE001 - a damaged entry (pickle raises several kinds): a miss
            return None

    def references(self, stamp: Any) -> Any:
        """references.bib's kept parse, (references, diagnostics), if its stamp is `stamp`."""
        if self.bib is None or stamp is None or self.bib[0] != stamp:
            return None
        try:
            return pickle.loads(self.bib[1])  # noqa: S301 - as above
        except Exception:  # noqa: BLE001
            return None

    def save(self) -> None:
        """Write it, if anything changed and there is a folder (a failure is no error)."""
        if self.path is None or not self.changed:
            return
        data = dump({"format": FORMAT, "fingerprint": fingerprint(), "root": self.root, "files": self.files,
                     "bib": self.bib})
        if data is None:
            return
        write_atomically(self.path, _header(self.root, data) + data)
        self.changed = False
        _trim(self.path.parent, self.path)


def dump(value: Any) -> bytes | None:
    """`value` pickled for the store, or None if it does not pickle."""
    try:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError):
        return None


def open_store(root: Path) -> Store:
    """The kept loading of the project at `root` (empty when there is none that may be used)."""
    resolved = str(Path(root).resolve())
    folder = private_folder("checks")
    if folder is None:
        return Store(None, resolved)
    path = folder / f"{hashlib.sha256(os.fsencode(resolved)).hexdigest()[:32]}.pickle"
    store = Store(path, resolved)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return store
    try:
        if not _own_file(fd):
            store.path = None  # someone else's file where ours would be: neither read nor replaced
            return store
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read()
    except OSError:
        return store
    finally:
        os.close(fd)
    header = _read_header(data)
    if header is None or header[0] != resolved:
        return store  # another format, or (a hash collision) another project
    payload = memoryview(data)[header[3]:]
    if len(payload) != header[2] or zlib.crc32(payload) != header[1]:
        return store  # cut short, or damaged
    try:
        kept = pickle.loads(payload)  # noqa: S301 - the user's own private folder (module docstring)
    except Exception:  # noqa: BLE001 - a damaged file: no cache
        return store
    if (isinstance(kept, dict) and kept.get("format") == FORMAT and kept.get("fingerprint") == fingerprint()
            and kept.get("root") == resolved and isinstance(kept.get("files"), dict)):
        store.files = kept["files"]
        bib = kept.get("bib")
        store.bib = bib if isinstance(bib, tuple) and len(bib) == 2 else None
    return store


def _trim(folder: Path, mine: Path) -> None:
    """Drop the projects whose folder is gone, and keep the `MAX_PROJECTS` checked last. Only
    files this module wrote are touched: a name it gives, a header of its own (of any format)."""
    entries: list[tuple[float, str]] = []
    try:
        for entry in os.scandir(folder):
            if _NAME.fullmatch(entry.name) and entry.path != str(mine) and entry.is_file(follow_symlinks=False):
                entries.append((entry.stat(follow_symlinks=False).st_mtime, entry.path))
    except OSError:
        return
    entries.sort(reverse=True)
    number = 1  # this project's own file
    for _, path in entries:
        head = _head(path)
        if not head.startswith(_ANY_FORMAT):
            continue  # not a file of ours: left alone
        header = _read_header(head)
        number += 1
        if number > MAX_PROJECTS or header is None or not os.path.isdir(header[0]):
            try:
                os.unlink(path)
            except OSError:
                pass


def _head(path: str) -> bytes:
    """The first bytes of a kept file, where its header is (empty if it cannot be read)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(_MAGIC) + 8192)
    except OSError:
        return b""


def _header(root: str, payload: bytes) -> bytes:
    return _MAGIC + json.dumps({"root": root, "crc32": zlib.crc32(payload), "size": len(payload)}).encode() + b"\n"


def _read_header(data: bytes) -> tuple[str, int, int, int] | None:
    """(project folder, checksum and size of the pickle, where it starts) from a kept file's
    header; None when it has no header of this format."""
    if not data.startswith(_MAGIC):
        return None
    end = data.find(b"\n", len(_MAGIC))
    try:
        header = json.loads(data[len(_MAGIC):end]) if end > 0 else None
    except ValueError:
        return None
    if not (isinstance(header, dict) and isinstance(header.get("root"), str)
            and isinstance(header.get("crc32"), int) and isinstance(header.get("size"), int)):
        return None
    return header["root"], header["crc32"], header["size"], end + 1
