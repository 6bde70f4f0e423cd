"""Search stage: a Pagefind index of the final HTML of a built site, written to `pagefind/` in it.

Material's search plugin wrote one `search_index.json` that grew with the site and that every
reader's first page fetched (463 KB on the real content, 22 MB at 10,000 entries). Pagefind splits
the index into fragments fetched per query; `assets/search.js` loads it only when the reader
opens the search. The build (`Indexing`) runs Pagefind on the staged site while the post-build
audit reads the same pages, and publishes the bundle only when the audit passes, so what is
indexed is exactly what is published.

What is indexed is set in the theme override (site_templates/overrides/main.html): each page's
article (`data-pagefind-body`) with its kind as a filter (`data-pagefind-filter="kind:…"`); a
reference page only by its formatted citation (authors, title, journal); the trailing sections
marked `data-search-exclude` (references, history, cite this page) not at all. Pagefind's own
prebuilt interfaces are removed from the bundle: the site has its own, which never parses an
excerpt as HTML.

The bundle holds one file of ours, `delta/delta.json`: the preview (`allokb serve`,
allokb.livesearch) indexes the pages an edit rewrote into a small second bundle in `delta/`, which
`assets/search.js` merges in, and this file says which of the full bundle's results it replaces.
A build writes it empty (no pages, nothing replaced): a reader's search then fetches these 25
bytes too, and no request of the site's search fails.
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
import time
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
#: The preview's second bundle, inside the first (allokb.livesearch), and the file that describes it.
DELTA = "delta"
DELTA_MANIFEST = "delta.json"
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
    with Indexing(staging) as indexing:
        return indexing.finish()


def clear_bundle(staging: Path) -> None:
    """Remove whatever is at the bundle's path in `staging` (an earlier or hand-written bundle)."""
    bundle = staging / BUNDLE
    if bundle.is_symlink() or bundle.is_file():
        bundle.unlink()
    elif bundle.exists():
        shutil.rmtree(bundle)


class Indexing:
    """`index_site` under way: Pagefind, started on the staged site, reads its pages while this
    process goes on (`allokb.build` audits the same final HTML meanwhile, which neither changes;
    a failed audit stops Pagefind and discards the staged site, bundle and all). `finish` waits
    for it and completes the bundle; leaving the `with` block before `finish` stops it. Pagefind's
    output goes to a file in its working folder, not to a pipe that no one reads meanwhile."""

    def __init__(self, staging: Path) -> None:
        self.staging = staging
        binary = pagefind_binary()
        clear_bundle(staging)
        # Pagefind reads pagefind.yml/toml/json from its working folder and PAGEFIND_* variables:
        # run it in an empty folder with none, so that only the arguments below configure it.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PAGEFIND_")}
        self._cwd = tempfile.TemporaryDirectory(prefix="allokb-pagefind-")
        self._log = open(os.path.join(self._cwd.name, "output.log"), "w+b")  # noqa: SIM115 - closed in close()
        self.started = time.monotonic()
        try:
            self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
                [str(binary), "--site", str(staging.resolve()), "--output-subdir", BUNDLE, "--exclude-selectors",
                 EXCLUDE], cwd=self._cwd.name, env=env, stdin=subprocess.DEVNULL, stdout=self._log,
                stderr=subprocess.STDOUT)
        except OSError as exc:
            self.close()
            raise KbError(f"cannot build the search index: {exc}; the previous site is unchanged") from None

    def __enter__(self) -> Indexing:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def finish(self) -> SearchIndex:
        """Wait for Pagefind; the bundle it wrote, completed. `KbError` when it failed."""
        proc = self._proc
        assert proc is not None, "finish() once, before close()"
        try:
            code = proc.wait(timeout=max(1.0, TIMEOUT - (time.monotonic() - self.started)))
        except subprocess.TimeoutExpired:
            raise KbError(f"cannot build the search index: Pagefind took more than {TIMEOUT} s; "
                          "the previous site is unchanged") from None
        self._proc = None
        self._log.seek(0)
        out = self._log.read().decode("utf-8", errors="replace")
        bundle = self.staging / BUNDLE
        if code != 0 or not (bundle / "pagefind.js").is_file():
            last = "\n".join(line for line in out.splitlines() if line.strip())[-2000:] or "(no output)"
            raise KbError(f"cannot build the search index (Pagefind exit {code}):\n{last}\n"
                          "the previous site is unchanged")
        for name in UNUSED:
            (bundle / name).unlink(missing_ok=True)
        canonical_filters(bundle)
        write_delta_manifest(bundle / DELTA, 0, ())
        files = [p for p in bundle.rglob("*") if p.is_file()]
        found = _INDEXED.search(out)
        return SearchIndex(int(found.group(1)) if found else 0, len(files), sum(p.stat().st_size for p in files))

    def close(self) -> None:
        """Stop Pagefind if it still runs; remove its working folder."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._proc = None
        self._log.close()
        self._cwd.cleanup()


def write_delta_manifest(delta: Path, pages: int, replaced: tuple[str, ...]) -> None:
    """Write the manifest of the delta folder `delta`: its bundle holds `pages` pages (none: there
    is no bundle), and the full bundle's results `replaced` (their page ids) are not to be shown:
    the delta has a newer version of their page, or the page is gone."""
    text = json.dumps({"pages": pages, "replaced": sorted(replaced)}, separators=(",", ":"))
    delta.mkdir(exist_ok=True)
    (delta / DELTA_MANIFEST).write_text(text, encoding="ascii")


# --- deterministic filter files -------------------------------------------------------------
# Pagefind 1.5 writes each filter's values in hash-map order, which changes from run to run: the
# filter file, and so its name, the metadata file that names it and the entry file that names
# that, differ between two builds of the same pages. The build must be byte-identical, so the
# values are sorted here and the three names recomputed. Everything else Pagefind writes is
# already the same from run to run.

SIGNATURE = b"pagefind_dcd"


def cbor_read(data: bytes, i: int) -> tuple[Any, int]:
    """One CBOR item (unsigned integers, text, arrays: what a filter or metadata file holds) at
    data[i]."""
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
            item, i = cbor_read(data, i)
            items.append(item)
        return items, i
    raise ValueError(f"unexpected CBOR major type {major}")


def _cbor_head(major: int, arg: int) -> bytes:
    if arg < 24:
        return bytes([major << 5 | arg])
    size = next(s for s in (1, 2, 4, 8) if arg < 1 << (8 * s))
    return bytes([major << 5 | (24 + size.bit_length() - 1)]) + arg.to_bytes(size, "big")


def cbor_write(item: Any) -> bytes:
    """The CBOR bytes of `item` (unsigned integers, text, lists), as Pagefind writes them."""
    if isinstance(item, int):
        return _cbor_head(0, item)
    if isinstance(item, str):
        raw = item.encode("utf-8")
        return _cbor_head(3, len(raw)) + raw
    return _cbor_head(4, len(item)) + b"".join(cbor_write(x) for x in item)


def _sorted_filter(data: bytes) -> bytes | None:
    """The filter file's decompressed bytes with its values sorted, or None when it is not the
    shape this code knows ([name, [[value, [page, …]], …]]) or would not round-trip."""
    if not data.startswith(SIGNATURE):
        return None
    try:
        item, end = cbor_read(data, len(SIGNATURE))
    except (ValueError, IndexError, UnicodeDecodeError):
        return None
    if end != len(data) or SIGNATURE + cbor_write(item) != data:
        return None
    name, values = item
    return SIGNATURE + cbor_write([name, sorted(values, key=lambda v: v[0])])


def digest(data: bytes, length: int) -> str:
    """The first `length` hex digits of the sha256 of `data` (a content-named file's name)."""
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
            name = f"{prefix}_{digest(fixed, len(path.stem) - len(prefix) - 1)}"
            meta = meta.replace(path.stem.encode(), name.encode())
            path.unlink()
            (bundle / "filter" / f"{name}.pf_filter").write_bytes(gzip.compress(fixed, mtime=0))
        prefix = language["hash"].rsplit("_", 1)[0]
        language["hash"] = f"{prefix}_{digest(meta, len(language['hash']) - len(prefix) - 1)}"
        old_meta.unlink()
        (bundle / f"pagefind.{language['hash']}.pf_meta").write_bytes(gzip.compress(meta, mtime=0))
    entry_path.write_text(json.dumps(entry, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
