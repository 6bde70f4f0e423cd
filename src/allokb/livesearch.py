"""The search index of `allokb serve`'s preview, kept between rebuilds: the full bundle of the last
full index stays as it was written, and the pages rewritten since are indexed into a small second
bundle, `pagefind/delta/`, which `assets/search.js` merges into the search (Pagefind's
`mergeIndex`). `pagefind/delta/delta.json` lists the full bundle's results the delta replaces (a
page it holds again, or a page that is gone), and the search drops them.

Why (measured on 1,000 real-size entries, 4,910 pages, 2 cores): Pagefind's own run is ~18 s CPU,
of which parsing the HTML is ~14 s and writing the bundle ~4.5 s (one core). Pagefind writes no
part of a bundle: an index kept in memory, with only the rewritten pages parsed again, still cost
an edit 5.4-5.7 s of wall time to write all of it. The delta's bundle costs ~5 ms a page it holds
(0.1 s for 10 pages), and the full bundle is written again only when the delta grows past
`DELTA_LIMIT` pages. The order of the results can differ from a fresh index's a little (each
bundle weighs words by its own pages); what is found is the same.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from allokb.diagnostics import KbError
from allokb.search import (BUNDLE, DELTA, DELTA_MANIFEST, EXCLUDE, SIGNATURE, TIMEOUT, UNUSED, SearchIndex, canonical_filters,
                           cbor_read, cbor_write, digest, pagefind_binary, write_delta_manifest)

#: Past this many pages in the delta the full bundle is written again (and the delta emptied).
#: Pagefind writes the whole delta after each edit, ~5 ms of CPU a real-size page: an edit of 4
#: pages took 0.10 s with 10 pages in the delta, 0.27 s with 50, 0.50 s with 100, 0.91 s with 200,
#: 1.5 s with 400 (1,000 entries, one core); writing the full bundle again costs ~5 s, and ~7 s
#: more when pages came or went since (the whole site is indexed again).
DELTA_LIMIT = 100
#: What a page id of the delta starts with: a full bundle's ids start with their language
#: (`en_3543306`), so a delta page whose text did not change, and so whose Pagefind id is the full
#: bundle's, is not dropped with the result it replaces.
DELTA_ID = "delta-"
#: The delta bundle needs only the index: the search's script and WebAssembly are the full bundle's.
_INDEX_FILES = ("pagefind-entry.json", "fragment/", "index/", "filter/")
#: The attribute in a tag (text holds no `<`): once a page of a site has it, Pagefind indexes only
#: the pages that have it (the paginated lists have not), by a rule over all the pages it is given.
_BODY = re.compile(rb"<[^>]*\sdata-pagefind-body[\s=/>]")


class LiveIndex:
    """The preview's search index, kept in memory between rebuilds by one `pagefind --service`
    process (the binary `index_site` runs, answering messages on its pipes), with two indexes:
    the full one, as the full bundle was written, and the delta, of the pages rewritten since.

    A full rebuild indexes the whole site (`AddDir`) and writes its bundle, byte for byte what
    `index_site` writes for the same site (tests/test_search_inc.py). After a partial rebuild the
    pages it wrote are added to the delta (`AddFile` of a page the delta has replaces it there) and
    only the delta's bundle is written; a page gone from the site is named in the manifest (and,
    when the delta held it, the delta is indexed again without it: Pagefind removes no page), as
    is a page without the part to index (`_BODY`), which stays out of the delta. Past
    `DELTA_LIMIT` pages the delta's pages go into the full index and the full bundle is written
    again: in place when the site has the pages it had, else indexed from scratch (a page added or
    removed changes the pages' order). The `pagefind` package's own asyncio client is not used: it
    polls its pipe every 0.1 s, a tenth of a second per page added."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._cwd: tempfile.TemporaryDirectory[str] | None = None
        self._buffer = b""
        self._message = 0
        self._finalizer: Any = None
        self._spent = 0.0  # CPU seconds of the processes already stopped
        self._index: int | None = None  # the full index: the full bundle, as written
        self._site: Path | None = None
        self._pages: frozenset[str] = frozenset()  # the site's pages at the full index
        self._ids: dict[str, str] = {}  # page path -> its page id in the full bundle
        self._full = SearchIndex(0, 0, 0)  # the full bundle, as written
        self._delta: int | None = None  # the delta index
        self._delta_pages: set[str] = set()  # the pages it holds
        self._gone: set[str] = set()  # pages removed from the site since the full index
        self._bodies = False  # whether the site marks the part of a page to index (`_BODY`)
        self._unindexed: set[str] = set()  # pages written since without it: not in the delta

    def cpu_seconds(self) -> float:
        """CPU seconds the Pagefind processes of this index have spent so far (a running process
        is not a finished child: `resource.RUSAGE_CHILDREN` does not count it)."""
        return self._spent + _process_cpu(self._proc)

    def update(self, site: Path, written: tuple[str, ...] | None) -> SearchIndex:
        """Make `site/pagefind/` the index of `site` as it is now, after a rebuild that wrote the
        files `written` (paths inside the site; None: every file). `KbError` when Pagefind fails
        (the next update then starts again from scratch). The summary counts the pages the search
        finds, and the files and bytes of the whole folder."""
        try:
            changed = None if written is None else sorted({w for w in written if w.endswith(".html")})
            if changed is None or self._index is None or self._site != site:
                self._index_site(site)
                return self._write_full(site)
            if changed:
                self._add_to_delta(site, changed)
                if len(self._delta_pages) > DELTA_LIMIT:
                    return self._fold(site)
                delta = self._write_delta(site)
                if delta is None:  # a delta bundle this code cannot rewrite: the full bundle, then
                    return self._fold(site)
                return delta
            return self._summary(self._delta_summary(site))
        except KbError:
            self.close()
            raise
        except (OSError, ValueError) as exc:  # ValueError: an answer or a bundle file that is not JSON
            self.close()
            raise KbError(f"cannot build the search index: {exc}") from None

    def close(self) -> None:
        """Stop the Pagefind process (the next update starts one again, from scratch)."""
        if self._finalizer is not None:
            self._spent += _process_cpu(self._proc)
            self._finalizer()
        self._proc, self._cwd, self._finalizer, self._buffer = None, None, None, b""
        self._index, self._delta = None, None

    # -- the full index ---------------------------------------------------------------------------

    def _index_site(self, site: Path) -> None:
        """The full index of the whole site, from scratch."""
        if self._proc is None:
            self._start()
        if self._index is not None:
            self._call({"type": "DeleteIndex", "index_id": self._index})
            self._index = None
        self._index = self._new_index()
        self._call({"type": "AddDir", "index_id": self._index, "path": str(site.resolve())})
        self._site = site
        self._pages = frozenset(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                                if p.is_file() and not p.relative_to(site).as_posix().startswith(f"{BUNDLE}/"))
        self._bodies = any(_BODY.search((site / path).read_bytes()) for path in sorted(self._pages))

    def _fold(self, site: Path) -> SearchIndex:
        """The delta's pages into the full index, and the full bundle written again."""
        if self._gone or not self._delta_pages <= self._pages:
            self._index_site(site)
        else:  # the full index applies the rule of `_BODY` to the pages without the attribute itself
            for path in sorted(self._delta_pages | self._unindexed):
                self._add_file(self._index, site, path)
        return self._write_full(site)

    def _write_full(self, site: Path) -> SearchIndex:
        """The full bundle, with an empty delta (a fresh `index_site`'s bundle), swapped in."""
        assert self._index is not None
        files = self._files(self._index)
        if "pagefind.js" not in files:
            raise KbError("cannot build the search index: Pagefind wrote no pagefind.js")
        for name in UNUSED:
            files.pop(name, None)

        def finish(folder: Path) -> None:
            canonical_filters(folder)
            write_delta_manifest(folder / DELTA, 0, ())

        bundle = site / BUNDLE
        _swap_in(bundle, files, finish)
        by_url = {json.loads(gzip.decompress(data)[len(SIGNATURE):])["url"]: name[len("fragment/"):-len(".pf_fragment")]
                  for name, data in files.items() if name.startswith("fragment/")}
        self._ids = {path: by_url[_url(path)] for path in self._pages if _url(path) in by_url}
        if self._delta is not None:
            self._call({"type": "DeleteIndex", "index_id": self._delta})
        self._delta, self._delta_pages, self._gone, self._unindexed = None, set(), set(), set()
        all_files = [p for p in bundle.rglob("*") if p.is_file()]
        entry = json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))
        pages = sum(int(lang.get("page_count", 0)) for lang in entry.get("languages", {}).values())
        self._full = SearchIndex(pages, len(all_files), sum(p.stat().st_size for p in all_files))
        return self._full

    # -- the delta --------------------------------------------------------------------------------

    def _add_to_delta(self, site: Path, changed: list[str]) -> None:
        """Index the pages `changed` into the delta; a page gone, or without the part to index
        (`_BODY`: a delta of such pages alone would index them whole), stays out of it."""
        there = {p for p in changed if (site / p).is_file()}
        gone = set(changed) - there
        present = {p for p in there if not self._bodies or _BODY.search((site / p).read_bytes())}
        unindexed = there - present
        if (gone | unindexed) & self._delta_pages or self._delta is None:  # Pagefind removes no page
            if self._delta is not None:
                self._call({"type": "DeleteIndex", "index_id": self._delta})
            self._delta = self._new_index()
            present |= self._delta_pages - gone - unindexed
        for path in sorted(present):
            self._add_file(self._delta, site, path)
        self._delta_pages = (self._delta_pages | present) - gone - unindexed
        self._gone = (self._gone | gone) - there
        self._unindexed = (self._unindexed | unindexed) - present - gone

    def _write_delta(self, site: Path) -> SearchIndex | None:
        """The delta's bundle and manifest, swapped in; None when Pagefind's files are not the
        shape this code rewrites."""
        files: dict[str, bytes] = {}
        pages = 0
        if self._delta_pages:
            assert self._delta is not None
            namespaced = _namespaced({name: data for name, data in self._files(self._delta).items()
                                      if name.startswith(_INDEX_FILES) or name.endswith(".pf_meta")})
            if namespaced is None:
                return None
            entry = json.loads(namespaced["pagefind-entry.json"])
            pages = sum(int(lang.get("page_count", 0)) for lang in entry.get("languages", {}).values())
            files = namespaced if pages else {}
        replaced = tuple(self._ids[p] for p in self._delta_pages | self._gone | self._unindexed if p in self._ids)
        delta = site / BUNDLE / DELTA
        _swap_in(delta, files, lambda folder: write_delta_manifest(folder, pages, replaced))
        return self._summary(self._delta_summary(site))

    def _delta_summary(self, site: Path) -> SearchIndex:
        """The delta's pages less the full bundle's it replaces, and the files and bytes it adds."""
        delta = site / BUNDLE / DELTA
        manifest = json.loads((delta / DELTA_MANIFEST).read_text(encoding="ascii"))
        files = [p for p in delta.rglob("*") if p.is_file() and p.name != DELTA_MANIFEST]
        return SearchIndex(int(manifest["pages"]) - len(manifest["replaced"]), len(files),
                           sum(p.stat().st_size for p in files))

    def _summary(self, delta: SearchIndex) -> SearchIndex:
        return SearchIndex(self._full.pages + delta.pages, self._full.files + delta.files, self._full.bytes + delta.bytes)

    # -- the service's protocol: base64 of a JSON message, then a comma, each way -----------------

    def _new_index(self) -> int:
        return int(self._call({"type": "NewIndex", "config": {"exclude_selectors": [EXCLUDE]}})["index_id"])

    def _add_file(self, index: int | None, site: Path, path: str) -> None:
        self._call({"type": "AddFile", "index_id": index, "file_path": path, "url": None,
                    "file_contents": (site / path).read_text(encoding="utf-8", errors="replace")})

    def _files(self, index: int) -> dict[str, bytes]:
        """The bundle of `index`, by path inside it. The files are asked for and written here, not
        by Pagefind (`WriteFiles`): its answer to `WriteFiles` came once before pagefind-entry.json
        held its text (a fresh clone's suite, December 2026), and a bundle read then is half-written."""
        files = {}
        for item in self._call({"type": "GetFiles", "index_id": index}).get("files", []):
            name = str(item.get("path", ""))
            parts = Path(name).parts
            if not parts or Path(name).is_absolute() or any(part in ("..", ".") for part in parts):
                raise KbError(f"cannot build the search index: Pagefind named a file outside its bundle: {name!r}")
            files["/".join(parts)] = base64.b64decode(item.get("content", ""))
        return files

    def _start(self) -> None:
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


def _url(path: str) -> str:
    """The URL Pagefind gives the page at `path` inside the site (`a/index.html` is `/a/`)."""
    return "/" + path.removesuffix("index.html")


def _namespaced(files: dict[str, bytes]) -> dict[str, bytes] | None:
    """The delta bundle `files` with `DELTA_ID` before each page id (in the metadata, which lists
    the pages, and in the fragments' names) and the metadata renamed by its new content; None when
    the metadata is not the shape this code knows ([version, [[page id, words], …], …]) or would not
    round-trip."""
    entry = json.loads(files["pagefind-entry.json"])
    for language in entry.get("languages", {}).values():
        meta = gzip.decompress(files.pop(f"pagefind.{language['hash']}.pf_meta"))
        try:
            item, end = cbor_read(meta, len(SIGNATURE))
        except (ValueError, IndexError, UnicodeDecodeError):
            return None
        if (not meta.startswith(SIGNATURE) or end != len(meta) or SIGNATURE + cbor_write(item) != meta
                or not isinstance(item, list) or len(item) < 2 or not isinstance(item[1], list)):
            return None
        for page in item[1]:
            fragment = files.pop(f"fragment/{page[0]}.pf_fragment", None) if isinstance(page, list) and page else None
            if fragment is None:
                return None
            page[0] = DELTA_ID + page[0]
            files[f"fragment/{page[0]}.pf_fragment"] = fragment
        meta = SIGNATURE + cbor_write(item)
        prefix = language["hash"].rsplit("_", 1)[0]
        language["hash"] = f"{prefix}_{digest(meta, len(language['hash']) - len(prefix) - 1)}"
        files[f"pagefind.{language['hash']}.pf_meta"] = gzip.compress(meta, mtime=0)
    files["pagefind-entry.json"] = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return files


def _swap_in(target: Path, files: dict[str, bytes], finish: Callable[[Path], None]) -> None:
    """Write `files` into a folder beside `target`, `finish` it, then swap it in: the served
    folder never holds half of one."""
    fresh, old = target.with_name(f".{target.name}-new"), target.with_name(f".{target.name}-old")
    for path in (fresh, old):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
    fresh.mkdir(parents=True)
    for name, data in files.items():
        path = fresh / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    finish(fresh)
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.exists():
        target.rename(old)
    fresh.rename(target)
    if old.exists():
        shutil.rmtree(old)


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
