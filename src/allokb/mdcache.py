"""Pages' converted Markdown kept on disk, so that a build does not convert an unchanged page again.

Converting a page's Markdown to HTML (MkDocs' `Page.render`: python-markdown with the site's
extensions, MkDocs' link rewriting and anchor extraction) is most of the time of a small build:
about 2 of the 4 s of a build of the repository's site. Between two builds of the site most pages
are unchanged, so `PageCache` keeps what `render` leaves on a page (its HTML, table of contents,
title from the first heading, anchor ids and links to anchors) in the user's private cache folder
(`allokb.templatecache.cache_dir()`, beside the compiled templates, under `pages/`) and gives it
back when the same page is converted again with the same inputs. Every build goes through it, as
every build has allokb's plugin (`allokb.sink.SitePlugin`: `on_nav` opens it for the build's
files, `on_pre_page` lets the page's conversion go through it): `allokb build`, a full rebuild of
`allokb serve`, a plain `mkdocs build`, ProperDocs.

What decides a page's HTML, and so its key (sha256), is all of: the page's Markdown as MkDocs
converts it (after every plugin's `on_page_markdown`), the page's own path, URL and inclusion, the
path, URL and inclusion of every file of the site (MkDocs resolves and checks each link against
them), the engine that converts (MkDocs or ProperDocs), the extensions with their settings, the link-validation settings, `use_directory_urls`,
the level MkDocs logs at, and the versions of Python, MkDocs, python-markdown, PyMdown Extensions
and Pygments. A change in any of them is another key.

Where it is not used, so that a cached page is always what a conversion would give:

- **An extension not known to depend on the page alone** (`PURE_EXTENSIONS`): an extension that
  reads other files (pymdownx.snippets) or keeps state between pages would make a cached page
  stale. A site with any other extension converts every page, as before.
- **A page whose conversion logged anything** (a link to a missing page, say): it is converted
  again every time, so that every build logs its warning, and a strict build fails on it.
- **MkDocs at debug level** (`--verbose`), which logs while converting and keeps no anchors.
- **A large site** (`CACHED_BELOW_PAGES` pages or more): its cold build would write a gigabyte of
  entries; the cache is for the small sites rebuilt often (the real site, the tests' projects).
- **No private folder**: entries are pickles, so whoever can write the folder can run code in the
  build. As for the compiled templates, the folder is used only if it is a real folder of this
  user that no one else can write, never inside the project. `ALLOKB_CACHE_DIR=` turns it off.

A damaged or unreadable entry is a miss; an entry is written to a temporary file and renamed, so
two builds at once never read half of one. The folder is kept to `MAX_ENTRIES`: when a build
leaves more, the entries used least recently go (a hit touches its entry).
tests/test_mdcache.py holds a build from the cache to one without it, byte for byte.

**One converter per process.** MkDocs makes a new `markdown.Markdown` for every page (about 1.6 ms
of CPU each with the site's extensions: 48 s of a 30,000-page build). Where every extension is in
`PURE_EXTENSIONS` (each resets what it keeps through `Markdown.reset`), a page that misses the cache,
or every page of a large site, is converted by the `converter` the sink gives (`allokb.sink.convert`:
one instance per process and thread, reset between pages, with MkDocs' four per-page processors
registered again for the page: what MkDocs 1.6's `Page.render` does, but for the instance; another
engine's page, another MkDocs, converts as MkDocs does). MkDocs at debug level converts as MkDocs
does. tests/test_mdcache.py holds the site this gives to MkDocs' own conversion, byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from allokb.templatecache import library_version, private_folder, write_atomically

#: extensions whose output depends only on the page's text and their settings
PURE_EXTENSIONS = frozenset({
    "abbr", "admonition", "attr_list", "def_list", "fenced_code", "footnotes", "md_in_html", "tables", "toc",
    "sane_lists",
    "pymdownx.details", "pymdownx.superfences", "pymdownx.highlight", "pymdownx.inlinehilite",
    "pymdownx.tabbed", "pymdownx.caret", "pymdownx.mark", "pymdownx.tilde", "pymdownx.smartsymbols",
})
#: sites of this many pages or more are not cached (their cold build would write too much)
CACHED_BELOW_PAGES = 600
#: entries kept in the folder; above this, the least recently used go down to three quarters
MAX_ENTRIES = 20_000
#: changed when what an entry holds changes
FORMAT = 1


def _folder() -> Path | None:
    return private_folder("pages")


class _Logged(logging.Handler):
    """Notes that anything at all was logged."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen = False

    def emit(self, record: logging.LogRecord) -> None:
        self.seen = True


class PageCache:
    """The cache for one build: `attach(page)` makes the page's `render` go through it (and
    through `converter`, where the site's extensions allow it)."""

    def __init__(self, config: Any, files: Iterable[Any], pages: int, engine: logging.Logger,
                 converter: Callable[[Any, Any, Any], None] | None = None) -> None:
        self.engine = engine
        self.misses = 0  # pages converted in this build (a build that converted none need not trim)
        self.folder: Path | None = None
        names = [e if isinstance(e, str) else None for e in config["markdown_extensions"]]
        self.pure = (None not in names and set(names) <= PURE_EXTENSIONS
                     and logging.getLogger("mkdocs.structure.pages").getEffectiveLevel() > logging.DEBUG)
        self.converter = converter if self.pure else None
        if pages >= CACHED_BELOW_PAGES or not self.pure:
            return
        self.folder = _folder()
        if self.folder is None:
            return
        links = config.validation.links
        settings = {
            "format": FORMAT, "python": sys.version, "extensions": names,
            "mdx_configs": config["mdx_configs"] or {}, "use_directory_urls": bool(config.use_directory_urls),
            "links": [repr(links.absolute_links), repr(links.unrecognized_links), repr(links.not_found)],
            "level": logging.getLogger("mkdocs.structure.pages").getEffectiveLevel(),
            "versions": [library_version(n) for n in ("mkdocs", "properdocs", "markdown", "pymdown-extensions", "pygments")],
            "files": sorted((f.src_uri, f.url, str(f.inclusion)) for f in files),
        }
        self.base = hashlib.sha256(json.dumps(settings, sort_keys=True, default=repr).encode()).digest()

    def attach(self, page: Any) -> None:
        """Let `page.render(config, files)` (called by MkDocs) come from the cache, or from this
        process's converter."""
        if self.folder is not None:
            page.render = lambda config, files: self._render(page, config, files)
        elif self.converter is not None:
            converter = self.converter
            page.render = lambda config, files: converter(page, config, files)

    @staticmethod
    def detach(page: Any) -> None:
        page.__dict__.pop("render", None)

    def _path(self, page: Any) -> Path:
        assert self.folder is not None
        digest = hashlib.sha256(self.base)
        engine = type(page)  # MkDocs' Page, or ProperDocs': another engine converts on its own
        for part in (f"{engine.__module__}.{engine.__qualname__}", page.file.src_uri, page.file.url,
                     str(page.file.inclusion), page.markdown):
            digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
        key = digest.hexdigest()
        return self.folder / key[:2] / key

    def _render(self, page: Any, config: Any, files: Any) -> None:
        path = self._path(page)
        state = self._load(path)
        if state is not None:
            content, toc, title, anchors, links = state
            page.content, page.toc, page._title_from_render, page.present_anchor_ids = content, toc, title, anchors
            page.links_to_anchors = {files.get_file_from_path(uri): found for uri, found in links.items()}
            if None not in page.links_to_anchors:
                return
        self.misses += 1
        logged = _Logged()
        watched = [logging.getLogger(), self.engine]
        for logger in watched:
            logger.addHandler(logged)
        try:
            (self.converter or type(page).render)(page, config, files)
        finally:
            for logger in watched:
                logger.removeHandler(logged)
        if logged.seen or page.links_to_anchors is None:
            return
        self._store(path, (page.content, page.toc, page._title_from_render, page.present_anchor_ids,
                           {file.src_uri: found for file, found in page.links_to_anchors.items()}))

    @staticmethod
    def _load(path: Path) -> tuple[Any, ...] | None:
        try:
            data = path.read_bytes()
        except OSError:
            return None
        try:
            state = pickle.loads(data)  # noqa: S301 - the user's own private folder (module docstring)
        except Exception:  # noqa: BLE001 - a damaged entry (pickle raises several kinds): a miss
            return None
        if not (isinstance(state, tuple) and len(state) == 5 and isinstance(state[0], str)
                and isinstance(state[4], dict)):
            return None
        try:
            os.utime(path)  # used now: kept longest
        except OSError:
            pass
        return state

    @staticmethod
    def _store(path: Path, state: tuple[Any, ...]) -> None:
        try:
            data = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
            path.parent.mkdir(mode=0o700, exist_ok=True)
        except (OSError, pickle.PicklingError, TypeError, AttributeError, RecursionError):
            return  # a page that does not pickle, a folder that cannot be made: not cached
        write_atomically(path, data)

    def trim(self) -> None:
        """Keep the folder to `MAX_ENTRIES`, the entries used last (called once per build)."""
        if self.folder is None or self.misses == 0:
            return
        entries: list[tuple[float, str]] = []
        try:
            for sub in os.scandir(self.folder):
                if sub.is_dir(follow_symlinks=False):
                    for entry in os.scandir(sub.path):
                        if not entry.name.startswith("."):
                            entries.append((entry.stat(follow_symlinks=False).st_mtime, entry.path))
        except OSError:
            return
        if len(entries) <= MAX_ENTRIES:
            return
        entries.sort()
        for _, old in entries[:len(entries) - MAX_ENTRIES * 3 // 4]:
            try:
                os.unlink(old)
            except OSError:
                pass
