"""Search stage: a Pagefind index of the final HTML of a built site, written to `pagefind/` in it.

Material's search plugin wrote one `search_index.json` that grew with the site and that every
reader's first page fetched (463 KB on the real content, 22 MB at 10,000 entries). Pagefind splits
the index into fragments fetched per query; `assets/search.js` loads it only when the reader
opens the search. `index_site` runs after the post-build audit, on the staged site, so what is
indexed is exactly what is published.

What is indexed is set in the theme override (site_templates/overrides/main.html): each page's
article (`data-pagefind-body`) with its kind as a filter (`data-pagefind-filter="kind:…"`); a
reference page only by its formatted citation (authors, title, journal); the trailing sections
marked `data-search-exclude` (references, history, cite this page) not at all. Pagefind's own
prebuilt interfaces are removed from the bundle: the site has its own, which never parses an
excerpt as HTML.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from allokb.diagnostics import KbError

#: Where the bundle goes, inside the site (assets/search.js imports pagefind/pagefind.js from it).
BUNDLE = "pagefind"
#: Pagefind's prebuilt interfaces: not used by the site (assets/search.js is its interface).
UNUSED = ("pagefind-ui.js", "pagefind-ui.css", "pagefind-modular-ui.js", "pagefind-modular-ui.css",
          "pagefind-component-ui.js", "pagefind-component-ui.css", "pagefind-highlight.js")
#: Left out of the index: the headings' permalink (a `¶` in every title and excerpt).
EXCLUDE = ".headerlink"
TIMEOUT = 3600  # seconds: 30,000 pages take minutes on two cores
_INDEXED = re.compile(r"Indexed (\d+) pages?")


@dataclass(frozen=True)
class SearchIndex:
    """What `index_site` wrote: pages indexed, and the files and bytes of the bundle."""

    pages: int
    files: int
    bytes: int


def pagefind_binary() -> Path:
    """The Pagefind executable of the installed `pagefind[bin]`. `KbError` when there is none."""
    try:
        from pagefind.service import get_executable
    except ImportError:
        binary = None
    else:
        binary = get_executable()
    if binary is None or not Path(binary).is_file():
        raise KbError("cannot build the search index: Pagefind is not installed (pip install 'pagefind[bin]'); "
                      "the previous site is unchanged")
    return Path(binary)


def index_site(staging: Path) -> SearchIndex:
    """Index the built site in `staging` into `staging/pagefind/`, replacing whatever was there
    (a hand-written file at that path must not survive as part of the search). `KbError` when
    Pagefind fails."""
    binary = pagefind_binary()
    bundle = staging / BUNDLE
    if bundle.is_symlink() or bundle.is_file():
        bundle.unlink()
    elif bundle.exists():
        shutil.rmtree(bundle)
    # Pagefind reads pagefind.yml/toml/json from its working folder and PAGEFIND_* variables:
    # run it in an empty folder with none, so that only the arguments below configure it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAGEFIND_")}
    with tempfile.TemporaryDirectory(prefix="allokb-pagefind-") as cwd:
        try:
            proc = subprocess.run([str(binary), "--site", str(staging.resolve()), "--output-subdir", BUNDLE,
                                   "--exclude-selectors", EXCLUDE],
                                  cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            raise KbError(f"cannot build the search index: {exc}; the previous site is unchanged") from None
    out = proc.stdout + proc.stderr
    if proc.returncode != 0 or not (bundle / "pagefind.js").is_file():
        last = "\n".join(line for line in out.splitlines() if line.strip())[-2000:] or "(no output)"
        raise KbError(f"cannot build the search index (Pagefind exit {proc.returncode}):\n{last}\n"
                      "the previous site is unchanged")
    for name in UNUSED:
        (bundle / name).unlink(missing_ok=True)
    canonical_filters(bundle)
    files = [p for p in bundle.rglob("*") if p.is_file()]
    found = _INDEXED.search(out)
    return SearchIndex(int(found.group(1)) if found else 0, len(files), sum(p.stat().st_size for p in files))


# --- deterministic filter files -------------------------------------------------------------
# Pagefind 1.5 writes each filter's values in hash-map order, which changes from run to run: the
# filter file, and so its name, the metadata file that names it and the entry file that names
# that, differ between two builds of the same pages. The build must be byte-identical, so the
# values are sorted here and the three names recomputed. Everything else Pagefind writes is
# already the same from run to run.

_SIGNATURE = b"pagefind_dcd"


def _cbor_read(data: bytes, i: int) -> tuple[Any, int]:
    """One CBOR item (unsigned integers, text, arrays: what a filter file holds) at data[i]."""
    major, info = data[i] >> 5, data[i] & 31
    i += 1
    if info < 24:
        arg = info
    elif info <= 27:
        size = 1 << (info - 24)
        arg, i = int.from_bytes(data[i:i + size], "big"), i + size
    else:
        raise ValueError("indefinite CBOR item")
    if major == 0:
        return arg, i
    if major == 3:
        return data[i:i + arg].decode("utf-8"), i + arg
    if major == 4:
        items = []
        for _ in range(arg):
            item, i = _cbor_read(data, i)
            items.append(item)
        return items, i
    raise ValueError(f"unexpected CBOR major type {major}")


def _cbor_head(major: int, arg: int) -> bytes:
    if arg < 24:
        return bytes([major << 5 | arg])
    size = next(s for s in (1, 2, 4, 8) if arg < 1 << (8 * s))
    return bytes([major << 5 | (24 + size.bit_length() - 1)]) + arg.to_bytes(size, "big")


def _cbor_write(item: Any) -> bytes:
    if isinstance(item, int):
        return _cbor_head(0, item)
    if isinstance(item, str):
        raw = item.encode("utf-8")
        return _cbor_head(3, len(raw)) + raw
    return _cbor_head(4, len(item)) + b"".join(_cbor_write(x) for x in item)


def _sorted_filter(data: bytes) -> bytes | None:
    """The filter file's decompressed bytes with its values sorted, or None when it is not the
    shape this code knows ([name, [[value, [page, …]], …]]) or would not round-trip."""
    if not data.startswith(_SIGNATURE):
        return None
    try:
        item, end = _cbor_read(data, len(_SIGNATURE))
    except (ValueError, IndexError, UnicodeDecodeError):
        return None
    if end != len(data) or _SIGNATURE + _cbor_write(item) != data:
        return None
    name, values = item
    return _SIGNATURE + _cbor_write([name, sorted(values, key=lambda v: v[0])])


def _digest(data: bytes, length: int) -> str:
    return hashlib.sha256(data).hexdigest()[:length]


def canonical_filters(bundle: Path) -> None:
    """Sort the values of every filter file of `bundle` and rename it, its metadata and the entry
    that names them, so that two runs over the same pages write the same bytes."""
    entry_path = bundle / "pagefind-entry.json"
    entry = json.loads(entry_path.read_text(encoding="utf-8"))
    for language in entry.get("languages", {}).values():
        old_meta = bundle / f"pagefind.{language['hash']}.pf_meta"
        meta = gzip.decompress(old_meta.read_bytes())
        for path in sorted((bundle / "filter").glob("*.pf_filter")):
            fixed = _sorted_filter(gzip.decompress(path.read_bytes()))
            prefix = path.stem.rsplit("_", 1)[0]
            if fixed is None or path.stem.encode() not in meta:
                continue
            name = f"{prefix}_{_digest(fixed, len(path.stem) - len(prefix) - 1)}"
            meta = meta.replace(path.stem.encode(), name.encode())
            path.unlink()
            (bundle / "filter" / f"{name}.pf_filter").write_bytes(gzip.compress(fixed, mtime=0))
        prefix = language["hash"].rsplit("_", 1)[0]
        language["hash"] = f"{prefix}_{_digest(meta, len(language['hash']) - len(prefix) - 1)}"
        old_meta.unlink()
        (bundle / f"pagefind.{language['hash']}.pf_meta").write_bytes(gzip.compress(meta, mtime=0))
    entry_path.write_text(json.dumps(entry, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


# --- the preview's index, kept between rebuilds --------------------------------------------------

class LiveIndex:
    """The search index of `allokb serve`'s preview, kept in memory between rebuilds by one
    `pagefind --service` process (the binary `index_site` runs, answering messages on its pipes).

    A full rebuild indexes the whole site (`--site`'s own walk, `AddDir`); after a partial
    rebuild only the pages it wrote are parsed again (`AddFile` of a page Pagefind has replaces
    that page in place, in its slot), and the bundle is written from memory. The bundle is then
    byte for byte what `index_site` writes for the same site (tests/test_search_inc.py,
    tests/test_incremental.py). A page added or removed changes the pages' order (Pagefind has no
    removal, and appends a new page where a fresh index sorts it in): then the site is indexed
    again from scratch, as the first time.

    Why this and not another way (measured on 1,000 real-size entries, 4,910 pages, 2 cores):
    Pagefind's own run is ~18 s CPU, of which parsing the HTML is ~14 s (spread on both cores) and
    writing the bundle ~4.5 s (one core; most of it copying in memory); the indexing of a page
    depends on its whole HTML (elements outside `data-pagefind-body` cost too), so caching a
    smaller HTML per page saves little, and custom records (`AddRecord`) would lose the headings'
    weights and the page order, so the preview's ranking would differ from the published one.
    Replacing changed pages skips the parse and keeps the bundle exact; the write of the whole
    bundle stays (Pagefind writes no part of one), so a serve edit's search step costs that write.
    The `pagefind` package's own asyncio client is not used: it polls its pipe every 0.1 s, a
    tenth of a second per page added."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._cwd: tempfile.TemporaryDirectory[str] | None = None
        self._buffer = b""
        self._message = 0
        self._index: int | None = None
        self._site: Path | None = None
        self._pages: frozenset[str] = frozenset()
        self._finalizer: Any = None
        self._spent = 0.0  # CPU seconds of the processes already stopped

    def cpu_seconds(self) -> float:
        """CPU seconds the Pagefind processes of this index have spent so far (a running process
        is not a finished child: `resource.RUSAGE_CHILDREN` does not count it)."""
        return self._spent + _process_cpu(self._proc)

    def update(self, site: Path, written: tuple[str, ...] | None) -> SearchIndex:
        """Make `site/pagefind/` the index of `site` as it is now, after a rebuild that wrote the
        files `written` (paths inside the site; None: every file). `KbError` when Pagefind fails
        (the next update then starts again from scratch)."""
        try:
            changed = None if written is None else sorted({w for w in written if w.endswith(".html")})
            if (changed is None or self._index is None or self._site != site
                    or any(p not in self._pages or not (site / p).is_file() for p in changed)):
                self._full(site)
            else:
                for path in changed:
                    self._call({"type": "AddFile", "index_id": self._index, "file_path": path, "url": None,
                                "file_contents": (site / path).read_text(encoding="utf-8", errors="replace")})
            return self._write(site)
        except KbError:
            self.close()
            raise
        except (OSError, ValueError) as exc:  # ValueError: an answer or a bundle file that is not JSON
            self.close()
            raise KbError(f"cannot build the search index: {exc}") from None

    def close(self) -> None:
        """Stop the Pagefind process (the next update starts one again)."""
        if self._finalizer is not None:
            self._spent += _process_cpu(self._proc)
            self._finalizer()
        self._proc, self._cwd, self._finalizer, self._index, self._buffer = None, None, None, None, b""

    def _full(self, site: Path) -> None:
        if self._proc is None:
            self._start()
        if self._index is not None:
            self._call({"type": "DeleteIndex", "index_id": self._index})
            self._index = None
        answer = self._call({"type": "NewIndex", "config": {"exclude_selectors": [EXCLUDE]}})
        self._index = int(answer["index_id"])
        self._call({"type": "AddDir", "index_id": self._index, "path": str(site.resolve())})
        self._site = site
        self._pages = frozenset(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                                if p.is_file() and not p.relative_to(site).as_posix().startswith(f"{BUNDLE}/"))

    def _write(self, site: Path) -> SearchIndex:
        """Write the bundle next to the site's, then swap it in: the served folder never holds
        half of one."""
        bundle, fresh, old = site / BUNDLE, site / f".{BUNDLE}-new", site / f".{BUNDLE}-old"
        for path in (fresh, old):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
        # The files are asked for and written here, not by Pagefind (`WriteFiles`): its answer to
        # `WriteFiles` came once before pagefind-entry.json held its text (a fresh clone's suite,
        # December 2026), and a bundle read then is half-written.
        answer = self._call({"type": "GetFiles", "index_id": self._index})
        import base64

        fresh.mkdir()
        for item in answer.get("files", []):
            name = str(item.get("path", ""))
            parts = Path(name).parts
            if not parts or Path(name).is_absolute() or any(part in ("..", ".") for part in parts):
                raise KbError(f"cannot build the search index: Pagefind named a file outside its bundle: {name!r}")
            target = fresh.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(base64.b64decode(item.get("content", "")))
        if not (fresh / "pagefind.js").is_file():
            raise KbError("cannot build the search index: Pagefind wrote no pagefind.js")
        for name in UNUSED:
            (fresh / name).unlink(missing_ok=True)
        canonical_filters(fresh)
        if bundle.is_symlink() or bundle.is_file():
            bundle.unlink()
        elif bundle.exists():
            bundle.rename(old)
        fresh.rename(bundle)
        if old.exists():
            shutil.rmtree(old)
        files = [p for p in bundle.rglob("*") if p.is_file()]
        entry = json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))
        pages = sum(int(lang.get("page_count", 0)) for lang in entry.get("languages", {}).values())
        return SearchIndex(pages, len(files), sum(p.stat().st_size for p in files))

    # -- the service's protocol: base64 of a JSON message, then a comma, each way -----------------

    def _start(self) -> None:
        import weakref

        binary = pagefind_binary()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PAGEFIND_")}  # as index_site
        self._cwd = tempfile.TemporaryDirectory(prefix="allokb-pagefind-")
        try:
            self._proc = subprocess.Popen([str(binary), "--service"], cwd=self._cwd.name, env=env,
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL)
        except OSError as exc:
            self._cwd.cleanup()
            raise KbError(f"cannot build the search index: {exc}") from None
        self._finalizer = weakref.finalize(self, _stop, self._proc, self._cwd)

    def _call(self, payload: dict[str, Any]) -> dict[str, Any]:
        import base64
        import select

        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        self._message += 1
        message = json.dumps({"message_id": self._message, "payload": payload}).encode("utf-8")
        try:
            proc.stdin.write(base64.b64encode(message) + b",")
            proc.stdin.flush()
        except OSError:
            raise KbError(f"cannot build the search index: Pagefind stopped (exit {proc.poll()})") from None
        while True:
            head, comma, rest = self._buffer.partition(b",")
            if comma:
                self._buffer = rest
                answer = json.loads(base64.b64decode(head))
                if answer.get("message_id") not in (None, self._message):
                    continue  # an answer to an earlier message, given up on
                reply: dict[str, Any] = answer.get("payload") or {}
                if reply.get("type") == "Error" or answer.get("message_id") is None:
                    raise KbError(f"cannot build the search index: Pagefind: {reply.get('message', answer)}")
                return reply
            ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
            chunk = os.read(proc.stdout.fileno(), 1 << 20) if ready else b""
            if not chunk:
                why = "stopped" if ready else f"gave no answer in {TIMEOUT} s"
                raise KbError(f"cannot build the search index: Pagefind {why}")
            self._buffer += chunk


def _process_cpu(proc: subprocess.Popen[bytes] | None) -> float:
    """User and system CPU seconds of a running process (Linux /proc; 0 elsewhere or once gone)."""
    if proc is None:
        return 0.0
    try:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def _stop(proc: subprocess.Popen[bytes], cwd: tempfile.TemporaryDirectory[str]) -> None:
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            try:
                stream.close()
            except OSError:  # its last bytes could not go to a process that is gone
                pass
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    cwd.cleanup()
