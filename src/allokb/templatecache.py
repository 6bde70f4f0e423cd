"""Compiled templates kept on disk, so that a build does not compile the same templates again.

Jinja compiles every template it loads to Python code. For a build of this site that is most of a
second (Material's templates are large, and each `allokb build` is a new process), more than the
rest of a small build. `install(env)` gives an environment a bytecode cache in a private folder of
the user's cache (`$ALLOKB_CACHE_DIR`, else `$XDG_CACHE_HOME/allokb`, else `~/.cache/allokb`), so
that a template is compiled once per version of its source.

Why it is safe to load code from it:

- **Only the user's own folder.** Compiled code is loaded with `marshal`, so whoever can write the
  folder can run code in the build. The folder is made mode 0700; it is used only if it is a real
  folder owned by this user that no one else can write (what Jinja checks for its own default
  folder). Otherwise nothing is cached, and the build compiles as it always did. It is never inside
  the project: a pull request cannot bring compiled code with it.
- **A changed template is compiled again.** A cached entry holds the checksum of the source it was
  compiled from (Jinja's `Bucket` compares it), and its key names how the environment compiles
  (syntax, whitespace, autoescape, finalize, extensions, filters and tests with what they are
  passed: all of that is decided at compile time) and the Jinja and Python versions.
- **Errors point at the right file.** Entries are keyed by template name, not path, so that every
  copy of a project shares them; code loaded from the cache is renamed to the file it was loaded
  for, as a fresh compile would name it (template errors and tracebacks name that file).
- **Never a failed build.** A folder that cannot be made, read or written means no cache; an entry
  is written to a temporary file and renamed, so that two builds at once never read half an entry.

`ALLOKB_CACHE_DIR=` (set and empty) turns the cache off.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
import tempfile
import types
from importlib import metadata
from pathlib import Path

import jinja2
import jinja2.bccache

#: the environment variable that names the cache folder (empty: no cache)
CACHE_ENV = "ALLOKB_CACHE_DIR"


def cache_dir() -> Path | None:
    """The folder the cache lives in, or None when it is turned off."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen is not None:
        return Path(chosen) if chosen else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "allokb"


def _private(folder: Path) -> bool:
    """Make `folder` (mode 0700) if it is missing; True if it is a real folder of this user that
    no one else can write."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(folder)
    except OSError:
        return False
    return (stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()
            and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def library_version(name: str) -> str:
    """The installed version of the distribution `name` ("-" when it is not installed): part of a
    cache key wherever a library decides what is cached."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


def private_folder(name: str) -> Path | None:
    """`name` under `cache_dir()`, both private (`_private`), or None: turned off, or not safe."""
    base = cache_dir()
    if base is None:
        return None
    folder = base / name
    return folder if _private(base) and _private(folder) else None


def _compiles_as(env: jinja2.Environment) -> tuple[object, ...]:
    """What, besides the source, decides the code Jinja compiles for a template in `env`."""
    def named(value: object) -> object:
        return (getattr(value, "__module__", None), getattr(value, "__qualname__", repr(value)),
                getattr(value, "jinja_pass_arg", None)) if callable(value) else value

    return (jinja2.__version__, sys.version, type(env).__qualname__, env.block_start_string, env.block_end_string,
            env.variable_start_string, env.variable_end_string, env.comment_start_string, env.comment_end_string,
            env.line_statement_prefix, env.line_comment_prefix, env.trim_blocks, env.lstrip_blocks,
            env.newline_sequence, env.keep_trailing_newline, env.optimized, env.is_async, named(env.autoescape),
            named(env.finalize), tuple(sorted(env.extensions)),
            tuple(sorted((name, getattr(f, "jinja_pass_arg", None)) for name, f in env.filters.items())),
            tuple(sorted((name, getattr(f, "jinja_pass_arg", None)) for name, f in env.tests.items())))


def _renamed(code: types.CodeType, filename: str) -> types.CodeType:
    """`code` with every nested code object naming `filename`, as if compiled from it."""
    consts = tuple(_renamed(c, filename) if isinstance(c, types.CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


class DiskBytecodeCache(jinja2.BytecodeCache):
    """Compiled templates in one private folder, keyed by template name and how the environment
    compiles; the source's checksum is checked on every load (by Jinja's `Bucket`)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._memory: dict[Path, bytes] = {}  # what this process loaded or wrote: read once

    def get_cache_key(self, name: str, filename: str | None = None) -> str:
        return name  # not the path: every copy of a project shares the entry

    def get_bucket(self, environment: jinja2.Environment, name: str, filename: str | None,
                   source: str) -> jinja2.bccache.Bucket:
        bucket = super().get_bucket(environment, name, filename, source)
        if bucket.code is not None and filename is not None and bucket.code.co_filename != filename:
            bucket.code = _renamed(bucket.code, filename)
        return bucket

    def _path(self, bucket: jinja2.bccache.Bucket) -> Path:
        key = repr((_compiles_as(bucket.environment), bucket.key)).encode()
        return self.folder / f"{hashlib.sha256(key).hexdigest()}.jinja"

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        path = self._path(bucket)
        data = self._memory.get(path)
        if data is None:
            try:
                data = path.read_bytes()
            except OSError:
                return
        try:
            bucket.bytecode_from_string(data)  # a wrong checksum or magic leaves the bucket empty
        except Exception:  # a damaged entry (marshal and pickle raise several kinds): compile it again
            bucket.reset()
            return
        if bucket.code is not None:
            self._memory[path] = data

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        path = self._path(bucket)
        data = bucket.bytecode_to_string()
        self._memory[path] = data
        write_atomically(path, data)


def write_atomically(path: Path, data: bytes) -> None:
    """`data` into `path` through a temporary file beside it and a rename, so that no one reads
    half of it; a full disk or a read-only cache is no error (the build goes on without it)."""
    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError:
        return


_CACHES: dict[Path, DiskBytecodeCache | None] = {}


def shared_cache() -> DiskBytecodeCache | None:
    """The process's cache for the folder `cache_dir()` names now (None: no usable folder)."""
    folder = cache_dir()
    if folder is None:
        return None
    folder = folder / "templates"
    if folder not in _CACHES:
        _CACHES[folder] = DiskBytecodeCache(folder) if _private(folder.parent) and _private(folder) else None
    return _CACHES[folder]


def install(env: jinja2.Environment) -> jinja2.Environment:
    """Give `env` the shared cache, unless it has a cache of its own already or there is none."""
    if env.bytecode_cache is None:
        env.bytecode_cache = shared_cache()
    return env
