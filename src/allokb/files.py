"""Reading project files safely: only regular files, within a size limit, as UTF-8 text.

Every file the project reads (content, references.bib, the rubric, urls.txt, pages, templates,
CONTRIBUTING.md) is opened here, without following a symbolic link and without waiting on a
FIFO; `fstat` then tells what was opened, and anything but a regular file is refused (KB112)
before a byte of it is read, so that its content never reaches a diagnostic or the site.
Folders are listed with `lstat` only. Permission denied is KB113. The characters no text may
hold (control characters, bidirectional controls, noncharacters) are found here too (KB115).
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import unicodedata
from pathlib import Path

from allokb.diagnostics import Diagnostic, Location, make

Position = tuple[int, int]

# Characters refused in text (KB115): C0 controls but tab and newline (carriage return included:
# YAML turns line ends into newlines, so a CR in a value can only come from a `\r` escape), DEL,
# C1 controls, the line and paragraph separators, every bidirectional control (the embeddings,
# overrides and isolates of "Trojan Source", and the marks LRM, RLM and ALM: invisible, they too
# reorder what a reader sees, and this English-language site has no right-to-left text that
# would need them), and the noncharacters (U+FDD0-U+FDEF and the last two code points of every
# plane: XML, and so the Atom feed, cannot carry U+FFFE or U+FFFF).
_INVISIBLE = r"\x7F-\x9F\u061C\u200E\u200F\u2028-\u202E\u2066-\u2069\uFDD0-\uFDEF\uFFFE\uFFFF"
_VALUE_CONTROL = re.compile(rf"[\x00-\x08\x0B-\x1F{_INVISIBLE}]")
_TEXT_CONTROL = re.compile(rf"[\x00-\x08\x0B\x0C\x0E-\x1F{_INVISIBLE}]")  # a CR may end a line
# The noncharacters of the other planes are found arithmetically among the characters beyond the
# BMP: listing all 32 in the class above would make every search ten times slower.
_ASTRAL = re.compile(r"[\U00010000-\U0010FFFF]")
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def find_control(text: str, *, line_ends: bool = False) -> int | None:
    """The index of the first character of `text` refused in text (KB115), or None; with
    `line_ends`, a carriage return is allowed (it ends a line of a text file)."""
    found = (_TEXT_CONTROL if line_ends else _VALUE_CONTROL).search(text)
    end = len(text) if found is None else found.start()
    if not text.isascii():
        for char in _ASTRAL.finditer(text, 0, end):
            if ord(char.group()) & 0xFFFE == 0xFFFE:
                return char.start()
    return None if found is None else found.start()


def describe_character(char: str) -> str:
    """Name a refused character without printing it: `control character U+001B`,
    `bidirectional control U+202E (RIGHT-TO-LEFT OVERRIDE)`, `noncharacter U+FFFE`."""
    code = f"U+{ord(char):04X}"
    name = unicodedata.name(char, "")
    if char in _BIDI:
        return f"bidirectional control {code} ({name})"
    if unicodedata.category(char) == "Cc":
        return f"control character {code}"
    if not name:
        return f"noncharacter {code}"
    return f"invisible character {code} ({name})"


def control_problem(char: str, location: Location) -> Diagnostic:
    """KB115 for `char` at `location`."""
    return make("KB115", f"{describe_character(char)} in text", location,
                "remove it: control and invisible characters are not allowed")


def text_controls(text: str, rel: str) -> list[Diagnostic]:
    """KB115 for the first refused character of every line of a text file, at its line and column."""
    if find_control(text, line_ends=True) is None:  # one scan of the whole text: the common case
        return []
    out = []
    for number, line in enumerate(text.split("\n"), start=1):
        index = find_control(line, line_ends=True)
        if index is not None:
            out.append(control_problem(line[index], Location(rel, number, index + 1)))
    return out


def _read_up_to(fd: int, limit: int) -> bytes:
    """Read from `fd` until end of file or `limit` bytes, 64 KiB at a time: asking for the whole
    limit at once allocates (and maps) a megabyte per file, which costs more than the read."""
    chunks = []
    left = limit
    while left > 0:
        chunk = os.read(fd, min(left, 65536))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _first_bad_utf8(raw: bytes) -> Position:
    """Line and column (1-based) of the first byte that is not valid UTF-8."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = len(before) - (before.rfind(b"\n") + 1) + 1
        return line, col
    return 1, 1


#: open without following a link in the last component, without blocking on a FIFO and without
#: making a terminal the controlling one; `fstat` then tells what was opened
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
               | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
_KIND_OF_MODE = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a folder"), (stat.S_ISREG, "a file"),
                 (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
                 (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))


def not_regular(rel: str, mode: int, *, folder: bool = False) -> Diagnostic:
    """KB112 for `rel`, which is not what the project reads (a regular file, or with `folder` a
    real folder): never followed, never opened, never waited on."""
    what = next((name for test, name in _KIND_OF_MODE if test(mode)), "not a regular file")
    if stat.S_ISLNK(mode):
        return make("KB112", "is a symbolic link; links are never followed", Location(rel),
                    "replace the link by a copy of what it points to, or remove it")
    expected = "a folder" if folder else "a regular file"
    return make("KB112", f"is {what}, not {expected}", Location(rel), "remove it, or replace it by "
                + ("a folder" if folder else "the file itself"))


def unreadable(rel: str, *, folder: bool = False) -> Diagnostic:
    """KB113: permission denied on a file (or a folder)."""
    what = "folder cannot be listed" if folder else "file cannot be read"
    return make("KB113", f"{what}: permission denied", Location(rel),
                f"make it readable with `chmod a+r{'x' if folder else ''}`, or remove it")


def _open_problem(exc: OSError, path: str | Path, rel: str) -> Diagnostic:
    """The diagnostic for a file that `os.open` refused: what it is, when it is not a file."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        mode = stat.S_IFREG
    if not stat.S_ISREG(mode):  # a link (ELOOP under O_NOFOLLOW), a socket (ENXIO), ...
        return not_regular(rel, mode)
    if isinstance(exc, PermissionError):
        return unreadable(rel)
    return make("KB101", f"cannot read file: {exc.strerror}", Location(rel))


def read_text(path: Path | str, rel: str, max_bytes: int) -> tuple[str | None, list[Diagnostic]]:
    """Read a regular file as UTF-8 text within a size limit (never reading more than the limit);
    problems are diagnostics: a link, FIFO, device or socket is KB112 and is never followed nor
    waited on, permission denied is KB113. A link in the folders above `path` is the caller's to
    refuse (`folder_problem`)."""
    try:  # os.open/os.read: no buffered file object per file (this runs for every content file)
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        return None, [_open_problem(exc, path, rel)]
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, [not_regular(rel, info.st_mode)]
        raw = _read_up_to(fd, max_bytes + 1)
        if len(raw) > max_bytes:
            return None, [make("KB106", f"file is {info.st_size:,} bytes; the limit is {max_bytes:,}",
                               Location(rel), "split the entry or remove pasted material")]
    except OSError as exc:
        return None, [make("KB101", f"cannot read file: {exc.strerror}", Location(rel))]
    finally:
        os.close(fd)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line, col = _first_bad_utf8(raw)
        return None, [make("KB101", f"byte 0x{raw[exc.start]:02x} is not valid UTF-8",
                           Location(rel, line, col), "save the file as UTF-8")]


def folder_problem(root: Path | str, rel: str) -> Diagnostic | None:
    """None when every folder of `rel` (a folder path relative to `root`, such as
    `content/pages`) is a real folder or absent; else the diagnostic of the first that is a
    link (KB112), not a folder (KB112) or not searchable (KB113)."""
    parts = rel.split("/")
    for i in range(1, len(parts) + 1):
        sub = "/".join(parts[:i])
        try:
            mode = os.lstat(os.path.join(root, sub)).st_mode
        except FileNotFoundError:
            return None
        except PermissionError:  # the folder above cannot be searched
            return unreadable("/".join(parts[: i - 1]) or sub, folder=True)
        except OSError as exc:
            return make("KB101", f"cannot read folder: {exc.strerror}", Location(sub))
        if not stat.S_ISDIR(mode):
            return not_regular(sub, mode, folder=True)
    return None


def read_project_file(root: Path | str, rel: str, max_bytes: int,
                      *, refuse_controls: bool = False) -> tuple[str | None, list[Diagnostic]]:
    """Read `root/rel` like `read_text`, refusing a link in any folder on the way too; (None, [])
    when there is no such file (not even a link). With `refuse_controls`, a control or
    invisible character anywhere in the text is KB115 (for Markdown and line lists; YAML and
    BibTeX check their values themselves)."""
    if "/" in rel:
        problem = folder_problem(root, rel.rsplit("/", 1)[0])
        if problem is not None:
            return None, [problem]
    path = os.path.join(root, rel)
    if not os.path.lexists(path):
        return None, []
    text, problems = read_text(path, rel, max_bytes)
    if text is not None and refuse_controls:
        problems = text_controls(text, rel)
        if problems:
            return None, problems
    return text, problems


def listing_problem(exc: OSError, rel: str) -> Diagnostic:
    """The diagnostic for a folder that cannot be listed."""
    if isinstance(exc, PermissionError):
        return unreadable(rel, folder=True)
    return make("KB101", f"cannot read folder: {exc.strerror}", Location(rel))


def walk_files(root: Path | str, rel: str, *, hidden: bool = True,
               probe: bool = False) -> tuple[list[str], list[Diagnostic]]:
    """Every regular file under the folder `rel` (paths relative to `root`, sorted), never
    following a link, and the diagnostics of everything else: a link, FIFO, device or socket, or
    a folder met twice (a bind-mount loop) is KB112, a folder that cannot be listed KB113. With
    `probe`, each file is opened (and closed) to find those that cannot be read (KB113)."""
    problem = folder_problem(root, rel)
    if problem is not None:
        return [], [problem]
    files: list[str] = []
    problems: list[Diagnostic] = []
    seen: set[tuple[int, int]] = set()
    stack = [rel]
    while stack:  # a stack, not recursion: folders may nest as deep as paths allow
        folder = stack.pop()
        try:
            with os.scandir(os.path.join(root, folder)) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except FileNotFoundError:
            continue
        except OSError as exc:
            problems.append(listing_problem(exc, folder))
            continue
        for entry in entries:
            if not hidden and entry.name.startswith("."):
                continue
            child = f"{folder}/{entry.name}"
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError as exc:
                problems.append(listing_problem(exc, child))
                continue
            if stat.S_ISDIR(info.st_mode):
                if (info.st_dev, info.st_ino) in seen:
                    problems.append(make("KB112", "is a folder met twice (a loop)", Location(child),
                                         "remove the mount or link that makes the loop"))
                else:
                    seen.add((info.st_dev, info.st_ino))
                    stack.append(child)
            elif not stat.S_ISREG(info.st_mode):
                problems.append(not_regular(child, info.st_mode))
            elif probe and (failure := _probe(os.path.join(root, child), child)) is not None:
                problems.append(failure)
            else:
                files.append(child)
    return sorted(files), problems


def _probe(path: str, rel: str) -> Diagnostic | None:
    try:
        os.close(os.open(path, _OPEN_FLAGS))
    except OSError as exc:
        return _open_problem(exc, path, rel)
    return None


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file in the same folder, renamed over it: a reader
    sees the old file or the new one, never half of one, and a link at `path` is replaced, not
    written through. An existing file keeps its permissions."""
    try:  # the file keeps its permissions; a new one gets the usual (mkstemp's are 0600)
        mode = stat.S_IMODE(os.lstat(path).st_mode) if path.is_file() and not path.is_symlink() else None
    except OSError:
        mode = None
    if mode is None:
        umask = os.umask(0o22)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            os.fchmod(out.fileno(), mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_stat(path: Path) -> tuple[str, int, int]:
    """A file's path, size and modification time (-1, -1 when it cannot be read): what a rebuild
    compares to see that a file the render or MkDocs reads changed (allokb.incremental,
    allokb.render.deps)."""
    try:
        st = path.stat()
    except OSError:
        return (str(path), -1, -1)
    return (str(path), st.st_size, st.st_mtime_ns)
