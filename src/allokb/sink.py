"""Sink: the only module that imports MkDocs (tests/test_imports.py holds every other to that).

MkDocs turns the rendered Markdown into HTML with the theme; it decides nothing. What it is given
comes from `allokb.build`: a `SitePlugin` made for one build holds that build's rendered site and
adds it to MkDocs' files; nothing of a build is kept in a module or put on MkDocs' config object
(the plugin sits in the config's plugin collection, as every MkDocs plugin and hook does).

Two ways in, one path:

- `allokb build` calls `allokb.build.build`, which renders the site and calls `write` here; the
  hook in mkdocs.yml then steps aside (`on_config` sees that the build has its plugin already).
- `allokb serve` runs MkDocs' live-reload server over a `Preview`, which keeps its last good build
  (MkDocs' files, navigation and theme environment, and the render they came from) in the
  process and, after an edit, has MkDocs write only the pages whose rendered Markdown changed
  (allokb.incremental); it runs the same check, render and audit as `build`.
- A plain `mkdocs build` or `mkdocs serve` starts with MkDocs (and rebuilds everything on each
  edit): mkdocs.yml's `hooks:` entry, `src/allokb/mkdocs_hook.py`, is a file of two lines
  that hands MkDocs' `on_startup`, `on_config` and `on_shutdown` to this module, which is loaded
  once, as `allokb.sink`. `on_config` runs the same stages as `build` (the check, then
  `allokb.stages.render`) and gives the result to a `SitePlugin`, whose `on_post_build` runs the
  same audit (`allokb.stages.audit`) that `build` runs.

ProperDocs (the maintained continuation of MkDocs 1.x) reads the same mkdocs.yml and answers to
the same `mkdocs.*` imports (its command line aliases them to `properdocs.*`), so this module runs
under it unchanged; tests/test_properdocs.py builds the site with both. Switching `allokb build`
to it is one line: `ENGINE` below.

The one fact kept between calls is which command MkDocs was started with (`_COMMAND`): MkDocs
says it only to `on_startup`, once per process, and `serve` rebuilds with configs made later.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from jinja2 import TemplateError

from allokb.audit import content_security_policy
from allokb.diagnostics import Diagnostic, KbError, printable
from allokb.incremental import InputSnapshot, SiteDelta, diff_sites, embedded_blocks
from allokb.livesearch import LiveIndex
from allokb.mdcache import PageCache
from allokb.output import check_site_dir, resolve_site_dir, write_marker
from allokb.progress import Progress
from allokb.render import Page, RenderedSite
from allokb import stages, templatecache
from allokb.project import LoadCache, check_project
from allokb.report import format_text, render
from allokb.search import BUNDLE as SEARCH_BUNDLE
from allokb.search import index_site
from allokb.stylesheet import OUTPUT as STYLESHEET
from allokb.stylesheet import SiteUsage, page_usage, site_usage, write_site_stylesheet
from allokb.render.views import SiteInfo
from allokb.site import Settings, error_page, page_meta, site_info

#: the engine `allokb build` drives: "mkdocs", or "properdocs" (which also needs `import
#: properdocs.replacement` before anything imports `mkdocs.*`: see `_engine`)
ENGINE = "mkdocs"
#: smaller builds finish before progress would help
PROGRESS_FROM_PAGES = 100
#: the command MkDocs was started with (`on_startup`); "build" when allokb drives
_COMMAND = {"name": "build"}


def _engine() -> None:
    """Make `mkdocs.*` name the engine `ENGINE` names."""
    if ENGINE == "properdocs":
        import properdocs.replacement  # noqa: F401  (aliases every mkdocs.* import to properdocs.*)


# --- allokb drives: `allokb.build.build` --------------------------------------------------------

def load(root: Path, site_dir: Path) -> Any:
    """MkDocs' configuration of the project (mkdocs.yml, strict) writing into `site_dir`.
    `KbError` for a configuration MkDocs refuses."""
    _engine()
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    with _collect_errors() as errors:
        try:
            return load_config(str(root / "mkdocs.yml"), strict=True, site_dir=str(site_dir))
        except MkDocsException as exc:
            why = "\n".join(errors) or str(exc)
            raise KbError(f"build failed: {why}\nthe previous site is unchanged") from None


def settings(config: Any, root: Path) -> Settings:
    """The values of the configuration the render stage needs."""
    extra = (config.extra or {}).get("allokb", {}) if hasattr(config, "extra") else {}
    docs = Path(config.docs_dir)
    docs_dir = docs.relative_to(root).as_posix() if docs.is_relative_to(root) else docs.as_posix()
    return Settings(site_name=config.site_name, site_url=config.site_url or None,
                    site_description=config.site_description, repo_url=config.repo_url or None,
                    docs_dir=docs_dir, extra=dict(extra) if isinstance(extra, dict) else {})


def write(config: Any, rendered: RenderedSite, site: SiteInfo, settings_: Settings,
          progress: Progress | None = None) -> None:
    """Have MkDocs write `rendered` (pages, exports, blocks) with the theme into the config's
    site_dir. `KbError` when MkDocs fails (a strict warning: a dead link in a hand-written page)."""
    from mkdocs.exceptions import MkDocsException

    configure(config, serving=False)
    config.plugins["allokb"] = SitePlugin(rendered, site, settings_, audit=False, progress=progress)
    with _collect_errors() as errors:
        try:
            engine_build(config)
        except MkDocsException as exc:
            why = "\n".join(errors) or str(exc)
            raise KbError(f"build failed: {why}\nthe previous site is unchanged") from None


def configure(config: Any, *, serving: bool) -> None:
    """Give the theme the Content-Security-Policy it writes into every page (post-build audit:
    allokb.audit). Not for `serve`: MkDocs' live reload injects an inline script the policy would
    block."""
    if not serving:
        config.extra["csp"] = content_security_policy()


@contextmanager
def _collect_errors() -> Iterator[list[str]]:
    """The error messages MkDocs logs meanwhile, to say why it failed."""
    handler = _ErrorCollector()
    logger = logging.getLogger("mkdocs")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


class _ErrorCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


# --- MkDocs' build, with the pages shared among the cores ----------------------------------------

#: from this many pages, MkDocs' two loops over the pages are shared among the cores
PARALLEL_FROM_PAGES = 600
#: pages in one batch of that work
_BATCH = 24


_REUSED = threading.local()  # this thread's converter: (process id, config, markdown.Markdown)


@functools.cache
def _mkdocs_16() -> bool:
    return templatecache.library_version("mkdocs").startswith("1.6.")


def _reusable(page: Any) -> bool:
    """Whether `page.render` is MkDocs 1.6's, whose steps `convert` repeats."""
    from mkdocs.structure import pages

    return type(page) is pages.Page and pages.__name__ == "mkdocs.structure.pages" and _mkdocs_16()


#: an attribute named `id` or `name` as python-markdown's HTML parser reads one (after a quote, a
#: space or `/`, before a space, `/`, `=`, `>` or the end; any case): a page's text without one
#: has no anchor in its raw HTML
_ANCHOR_ATTRIBUTE = re.compile(r"""(?<=['"\s/])(?:id|name)(?=[\s/=>]|$)""", re.IGNORECASE)


def _raw_html_anchors(raw_html: Any, lines: list[str]) -> list[str]:
    """MkDocs' `_RawHTMLPreprocessor.run` (the anchors of the page's raw HTML, found by parsing all
    of its text), without the parse where no attribute could name one: about 1 ms of CPU for each
    of the two pages in three whose text has none."""
    if _ANCHOR_ATTRIBUTE.search("\n".join(lines)) is None:
        raw_html.present_anchor_ids = set()
        return lines
    result: list[str] = type(raw_html).run(raw_html, lines)
    return result


def convert(page: Any, config: Any, files: Any) -> None:
    """`page.render(config, files)`; for a page of MkDocs 1.6, what its `Page.render` does with
    this process's one converter for `config` (made at the first page, reset before every other;
    about 1.6 ms of CPU saved per page), and the raw HTML parsed for anchors only where it may have
    one (`_raw_html_anchors`). `allokb.mdcache` calls it only where every extension of `config`
    resets what it keeps (`PURE_EXTENSIONS`)."""
    import markdown  # type: ignore[import-untyped]
    from mkdocs.structure import pages
    from mkdocs.structure.toc import get_toc

    if not _reusable(page):
        type(page).render(page, config, files)
        return
    if page.markdown is None:
        raise RuntimeError("`markdown` field hasn't been set (via `read_source`)")
    held = getattr(_REUSED, "held", None)
    if held is not None and held[0] == os.getpid() and held[1] is config:
        md = held[2]
        md.reset()
    else:
        md = markdown.Markdown(extensions=config["markdown_extensions"],
                               extension_configs=config["mdx_configs"] or {})
        _REUSED.held = (os.getpid(), config, md)
    raw_html = pages._RawHTMLPreprocessor()
    raw_html.run = functools.partial(_raw_html_anchors, raw_html)  # type: ignore[method-assign]
    raw_html._register(md)  # each registers under its own name, replacing the last page's
    anchors = pages._ExtractAnchorsTreeprocessor(page.file, files, config)
    anchors._register(md)
    relative = pages._RelativePathTreeprocessor(page.file, files, config)
    relative._register(md)
    title = pages._ExtractTitleTreeprocessor()
    title._register(md)
    page.content = md.convert(page.markdown)
    page.toc = get_toc(getattr(md, "toc_tokens", []))
    page._title_from_render = title.title
    page.present_anchor_ids = anchors.present_anchor_ids | raw_html.present_anchor_ids
    if logging.getLogger(pages.__name__).getEffectiveLevel() > logging.DEBUG:
        page.links_to_anchors = relative.links_to_anchors


def engine_build(config: Any, *, serve_url: str | None = None) -> None:
    """MkDocs' `commands.build.build` (1.6), step for step: the same events in the same order,
    the same strict-mode count of warnings and the same errors, with one difference. Its two loops
    over the pages (reading each page and converting its Markdown; writing each page with the
    theme) are shared among the cores for a site of `PARALLEL_FROM_PAGES` pages or more
    (`allokb.parallel`): the pages the workers converted come back whole (HTML, table of contents,
    title, anchors), so the navigation, the anchor validation and `Preview` see every page as a
    serial build leaves it. What a loop logs is replayed here in page order, so the log, and a
    strict build's verdict, are a serial build's; the first page that fails stops the build, as
    it does there. An exception that is not MkDocs' own (a theme template that does not compile)
    becomes a `BuildError` naming the page, so that the build fails with a message, not a
    traceback. tests/test_sink_parallel.py holds the written site to a serial build's, byte for
    byte. A plain `mkdocs build` runs MkDocs' own function: the same output, one core."""
    from mkdocs import utils
    from mkdocs.commands import build as mk
    from mkdocs.exceptions import Abort, BuildError
    from mkdocs.structure.files import InclusionLevel, get_files, set_exclusions
    from mkdocs.structure.nav import get_navigation
    from mkdocs.structure.pages import Page as MkPage
    from urllib.parse import urljoin

    log = logging.getLogger(mk.__name__)
    engine = logging.getLogger(mk.__name__.split(".")[0])
    warnings = utils.CountHandler()
    warnings.setLevel(logging.WARNING)
    if config.strict:
        engine.addHandler(warnings)
    inclusion = InclusionLevel.is_in_serve if serve_url else InclusionLevel.is_included
    try:
        start = time.monotonic()
        config = config.plugins.on_config(config)
        config.plugins.on_pre_build(config=config)
        log.info("Cleaning site directory")
        utils.clean_directory(config.site_dir)
        if not serve_url:
            log.info(f"Building documentation to directory: {config.site_dir}")
        files = get_files(config)
        env = config.theme.get_env()
        files.add_files_from_theme(env, config)
        files = config.plugins.on_files(files, config=config)
        set_exclusions(files, config)  # for files the plugins added without an inclusion level
        nav = get_navigation(files, config)
        nav = config.plugins.on_nav(nav, config=config, files=files)
        log.debug("Reading markdown pages.")
        excluded, pages = [], []
        for file in files.documentation_pages(inclusion=inclusion):
            if file.page is None and file.inclusion.is_not_in_nav():
                if serve_url and file.inclusion.is_excluded():
                    excluded.append(urljoin(serve_url, file.url))
                MkPage(None, file, config)
            assert file.page is not None
            pages.append(file.page)
        _each_page(pages, engine, lambda page: mk._populate_page(page, config, files), _read_state,
                   lambda page, state: _set_read_state(page, state, files))
        if excluded:
            log.info("The following pages are being built only for the preview but will be excluded from "
                     "`mkdocs build` per `draft_docs` config:\n  - " + "\n  - ".join(excluded))
        env = config.plugins.on_env(env, config=config, files=files)
        log.debug("Copying static assets.")
        files.copy_static_files(inclusion=inclusion)
        for template in config.theme.static_templates:
            mk._build_theme_template(template, env, files, config, nav)
        for template in config.extra_templates:
            mk._build_extra_template(template, files, config, nav)
        log.debug("Building markdown pages.")
        doc_files = files.documentation_pages(inclusion=inclusion)
        plugin = config.plugins.get("allokb")
        counted = plugin if isinstance(plugin, SitePlugin) else None
        _each_page([f.page for f in doc_files], engine,
                   lambda page: mk._build_page(page, config, doc_files, nav, env,
                                               excluded=page.file.inclusion.is_excluded()),
                   progress=counted)
        for file in doc_files:
            assert file.page is not None
            file.page.validate_anchor_links(files=files, log_level=config.validation.links.anchors)
        config.plugins.on_post_build(config=config)
        if counts := warnings.get_counts():
            raise Abort(f"Aborted with {', '.join(f'{v} {k.lower()}s' for k, v in counts)} in strict mode!")
        log.info(f"Documentation built in {time.monotonic() - start:.2f} seconds")
    except Exception as exc:
        config.plugins.on_build_error(error=exc)
        if isinstance(exc, BuildError):
            log.error(str(exc))
            raise Abort("Aborted with a BuildError!") from None
        if isinstance(exc, TemplateError):  # the theme's own templates (404.html extends main.html)
            log.error(described(exc))
            raise Abort("Aborted with a template error!") from None
        raise
    finally:
        engine.removeHandler(warnings)


def _each_page(pages: list[Any], engine: logging.Logger, step: Callable[[Any], None],
               state: Callable[[Any], Any] | None = None, restore: Callable[[Any, Any], None] | None = None,
               progress: SitePlugin | None = None) -> None:
    """`step(page)` for every page, in batches shared among the cores (one process below
    `PARALLEL_FROM_PAGES` pages). A worker sends back `state(page)` of each page it did, which
    `restore` puts on this process's page; what the steps logged is replayed in page order; the
    first exception, in page order, is raised once the pages before it are done. `progress`:
    the plugin that reports a long build's progress, told here as batches end, in any order."""
    from mkdocs.exceptions import BuildError, MkDocsException

    from allokb.parallel import cores, share

    parent = os.getpid()
    batches = [pages[i:i + _BATCH] for i in range(0, len(pages), _BATCH)]
    failed = [len(batches)]  # in each process, its first failed batch: the build stops there, so
    # the batches after it are skipped (this process takes batches from the back: not those before)

    def work(index: int) -> tuple[list[Any], list[tuple[str, int, str]], BaseException | None]:
        states: list[Any] = []
        if index > failed[0]:
            return states, [], None
        with _captured(engine) as records:
            try:
                for page in batches[index]:
                    step(page)
                    if state is not None and os.getpid() != parent:
                        states.append(state(page))
            except MkDocsException as exc:
                failed[0] = min(failed[0], index)
                return states, records, exc if os.getpid() == parent else _portable(exc)
            except Exception as exc:  # noqa: BLE001 - reported as the build's error, not a traceback
                failed[0] = min(failed[0], index)
                return states, records, BuildError(described(exc))
        return states, records, None

    def done(index: int, result: tuple[list[Any], list[tuple[str, int, str]], BaseException | None]) -> None:
        if progress is not None and result[2] is None:
            progress.advance(len(batches[index]), batches[index][-1].file.src_uri)

    processes = cores() if len(pages) >= PARALLEL_FROM_PAGES else 1
    if processes == 1:  # the plugin reports each page itself (`on_post_page`)
        progress = None
    if progress is not None:
        progress.batched = True  # (inherited by the workers)
    try:
        results, _ = share(work, len(batches), processes, done=done)
    finally:
        if progress is not None:
            progress.batched = False
    for batch, (states, records, error) in zip(batches, results, strict=True):
        if restore is not None and states:
            for page, kept in zip(batch, states, strict=False):
                restore(page, kept)
        for name, level, message in records:
            logging.getLogger(name).log(level, "%s", message)
        if error is not None:
            raise error


def described(exc: BaseException) -> str:
    """One line for an exception that is not MkDocs' own, met while writing the site: its kind,
    its message and, for a template's error, the template's file and line."""
    where = getattr(exc, "filename", None) or getattr(exc, "name", None)
    line = getattr(exc, "lineno", None)
    if isinstance(exc, TemplateError) and where:
        return printable(f"{where}, line {line}: {exc}" if line else f"{where}: {exc}")
    return printable(f"{type(exc).__name__}: {exc}")


def _portable(exc: BaseException) -> BaseException:
    """`exc`, or a `BuildError` with its message when it would not survive the way back from a
    worker (pickling)."""
    import pickle

    from mkdocs.exceptions import BuildError

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - any failure to pickle
        return BuildError(str(exc))


def _read_state(page: Any) -> tuple[Any, ...]:
    """What reading and converting a page (MkDocs' `_populate_page`) left on it."""
    links = page.links_to_anchors
    return (page.markdown, page.meta, page.content, page.toc, page._title_from_render, page.present_anchor_ids,
            None if links is None else {file.src_uri: anchors for file, anchors in links.items()})


def _set_read_state(page: Any, state: tuple[Any, ...], files: Any) -> None:
    page.markdown, page.meta, page.content, page.toc, page._title_from_render, page.present_anchor_ids, links = state
    page.links_to_anchors = None if links is None else {files.get_file_from_path(uri): anchors
                                                        for uri, anchors in links.items()}


@contextmanager
def _captured(logger: logging.Logger) -> Iterator[list[tuple[str, int, str]]]:
    """What `logger` and the loggers below it log meanwhile, as (logger name, level, message),
    instead of showing it."""
    records: list[tuple[str, int, str]] = []
    handler = _Recorder(records)
    handlers, propagate = logger.handlers[:], logger.propagate
    logger.handlers[:] = [handler]
    logger.propagate = False
    try:
        yield records
    finally:
        logger.handlers[:] = handlers
        logger.propagate = propagate


class _Recorder(logging.Handler):
    def __init__(self, records: list[tuple[str, int, str]]) -> None:
        super().__init__()
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, record.levelno, record.getMessage()))


# --- the sink proper: one plugin per build ------------------------------------------------------

class NavCache:
    """Material's navigation sidebar (`partials/nav.html`), rendered once for all the pages it is
    the same on: about 1.3 ms of CPU a page, 40 s at 30,000 pages. It depends on the page only
    through the links' relative URLs and which of its items the page is (or lies in). For a page
    outside the navigation (every entry page) no item is active and no link lies under the page,
    so pages in the same folder at the same depth get the same HTML: `key` says which, None where
    the page must have its own (a page in the navigation, a link under the page). The template
    (site_templates/overrides/base.html) renders the sidebar itself when `get` has nothing and
    `keep`s it. The header's part after the page's title (the palette toggles, the search box,
    the repository link: nothing of the page but its links' relative URLs) is kept the same way
    (`part` "header", site_templates/overrides/partials/header.html). Emptied at every build and
    partial rebuild (`clear`), before any page is written, so a changed title or page never
    shows an old navigation."""

    def __init__(self, logo: str | None) -> None:
        self.logo = logo or ""
        self.kept: dict[tuple[str, ...], Any] = {}
        self.hits = 0

    def key(self, page: Any, nav: Any, base_url: str) -> tuple[str, str] | None:
        if page is None or nav is None or not isinstance(getattr(page, "url", None), str):
            return None
        own = page.url
        items, urls = list(nav.items), [self.logo]
        while items:
            item = items.pop()
            if getattr(item, "active", False) or item is page:
                return None
            items.extend(getattr(item, "children", None) or ())
            urls.append(str(getattr(item, "url", "") or ""))
        if own and any(url.startswith(own) for url in urls):
            return None
        return own.rstrip("/").rpartition("/")[0], str(base_url)

    def get(self, key: tuple[str, str] | None, part: str = "nav") -> Any:
        """The HTML of `part` kept for `key` (None: none kept, or no key)."""
        found = self.kept.get((part, *key)) if key is not None else None
        self.hits += found is not None
        return found

    def keep(self, key: tuple[str, str] | None, html: Any, part: str = "nav") -> Any:
        if key is not None:
            self.kept[(part, *key)] = html
        return html

    def clear(self) -> None:
        self.kept.clear()


class SitePlugin:
    """The MkDocs plugin of one build: adds the rendered pages and exports to MkDocs' files,
    fills the blocks and metadata of hand-written pages, reports progress, and (when MkDocs
    drives, `audit=True`) audits the written site. All its state is this build's."""

    def __init__(self, rendered: RenderedSite, site: SiteInfo, settings_: Settings, *, audit: bool,
                 serving: bool = False, progress: Progress | None = None) -> None:
        self.rendered, self.site, self.settings = rendered, site, settings_
        self.audit, self.serving, self.progress = audit, serving, progress
        self.done, self.total = 0, 0
        self.batched = False  # pages written by other processes: `advance` is told of them
        self.nav: Any = None
        self.env: Any = None
        self.overrides: dict[str, str] = {}
        self.converted: PageCache | None = None

    def on_files(self, files: Any, config: Any) -> Any:
        """Add the generated pages and export files (and keep the collection, as `on_nav`)."""
        from mkdocs.structure.files import File

        self.files = files

        rendered = self.rendered
        if rendered.pages and rendered.pages[0].src_uri == "index.md":  # the error page replaces the site
            for file in list(files):
                if file.is_documentation_page():
                    files.remove(file)
        for page in rendered.pages:
            files.append(File.generated(config, page.src_uri, content=page.markdown))
        for path, text in sorted(rendered.files.items()):
            files.append(File.generated(config, path, content=text))
        total = sum(1 for f in files if f.is_documentation_page())
        self.total = total if total >= PROGRESS_FROM_PAGES and self.progress else 0
        return files

    def on_nav(self, nav: Any, config: Any, files: Any) -> Any:
        """Keep the navigation (`Preview` renders single pages with it later), and open the
        cache of converted pages for this build's files (allokb.mdcache)."""
        self.nav = nav
        pages = sum(1 for f in files if f.is_documentation_page())
        self.converted = PageCache(config, files, pages, logging.getLogger("mkdocs"), convert)
        return nav

    def on_pre_page(self, page: Any, config: Any, files: Any) -> Any:
        """The page's Markdown is converted through the cache (if this build has one)."""
        if self.converted is not None:
            self.converted.attach(page)
        return page

    def on_page_content(self, html: str, page: Any, config: Any, files: Any) -> str:
        """The page is converted: its conversion goes through MkDocs again from now on."""
        PageCache.detach(page)
        return html

    def on_build_error(self, error: BaseException) -> None:
        self.converted = None  # as after a build (`on_post_build`)

    def on_env(self, env: Any, config: Any, files: Any) -> Any:
        """Keep the theme's template environment (as `on_nav`), with the compiled-template cache
        (`allokb.templatecache`): Material's templates are compiled once, not in every build."""
        self.env = templatecache.install(env)
        theme = getattr(config, "theme", None)
        env.globals["allokb_nav"] = NavCache(theme.get("logo") if theme is not None else None)
        return env

    def on_page_read_source(self, page: Any, config: Any) -> str | None:
        """The text that stands in for a page's source: `Preview` shows its error page as the home
        page this way, keeping the rest of the last good site."""
        return self.overrides.get(page.file.src_uri)

    def on_page_markdown(self, markdown: str, page: Any, config: Any, files: Any) -> str:
        """Fill the blocks hand-written pages embed, complete their metadata, and add the
        abbreviations (shown on hover everywhere)."""
        for name, block in self.rendered.blocks.items():
            markdown = markdown.replace(f"<!-- allokb:{name} -->", block)
        page_meta(page.meta, page.file.src_uri, page.file.url, page.title, self.settings, self.site)
        if self.rendered.abbreviations:
            markdown += "\n\n" + self.rendered.abbreviations
        return markdown

    def on_post_page(self, output: str, page: Any, config: Any) -> str:
        """Progress of a long build."""
        if not self.batched:
            self.advance(1, page.file.src_uri)
        return output

    def advance(self, pages: int, last: str) -> None:
        """`pages` more pages written, the last of them `last`."""
        if self.total and self.progress:
            self.done += pages
            self.progress(self.done, self.total, last)

    def on_post_build(self, config: Any) -> None:
        """When MkDocs drives: the post-build audit (the same as `allokb.build.build`'s), then the
        marker that lets a later build replace the folder. A plain `mkdocs build` writes in place,
        so a refused site is refused by its exit status."""
        if self.converted is not None:  # the cache was for this build's files: `Preview`'s own
            self.converted.trim()       # rebuilds later (which add and remove files) go without it
            self.converted = None
        if not self.audit:
            return
        from mkdocs.exceptions import PluginError

        problems = stages.audit(Path(config.site_dir), str(config.site_url or ""), serving=self.serving)
        if problems:
            report = "the post-build audit found unsafe HTML:\n" + "\n".join(format_text(d) for d in problems)
            if not self.serving:
                raise PluginError(report)
            # The preview has no policy (live reload is an inline script): say loudly what the
            # published build would refuse, and keep serving so that the fix can be previewed.
            logging.getLogger("mkdocs").error("%s\nthe published build would refuse this site", report)
        try:  # as allokb.build.build does after its audit
            write_site_stylesheet(Path(config.site_dir))  # the theme's CSS cut to what the pages use
            index_site(Path(config.site_dir))  # the search index (allokb.search)
        except KbError as exc:
            if not self.serving:
                raise PluginError(str(exc)) from None
            logging.getLogger("mkdocs").error("%s", exc)
        if not self.serving:
            write_marker(Path(config.site_dir))


# --- allokb serve: the preview, rebuilt in part (allokb.incremental) ------------------------------

@dataclass(frozen=True)
class Rebuild:
    """What one rebuild of the preview did: `kind` is "full", "partial", "unchanged" or "errors"
    (the home page then shows the diagnostics); `written` the files it wrote, by path inside the
    site; `problems` the audit's findings on them; `reason` why a rebuild was full."""

    kind: str
    written: tuple[str, ...]
    seconds: float
    reason: str = ""
    problems: tuple[Diagnostic, ...] = ()
    #: per step (check, render, pages, stylesheet usage, audit, stylesheet, search): its name, wall
    #: seconds and CPU seconds (this process and Pagefind's)
    phases: tuple[tuple[str, float, float], ...] = ()


@dataclass
class _Built:
    """The last good build of the preview, as MkDocs and the render left it."""

    config: Any
    plugin: SitePlugin
    rendered: RenderedSite
    site: SiteInfo
    inputs: InputSnapshot
    embeds: dict[str, frozenset[str]]
    usage: SiteUsage


class Preview:
    """The site `allokb serve` shows in `site_dir`, and what it was built from, kept between
    rebuilds. `rebuild` checks the knowledge base and renders it in memory from the last render
    (allokb.render.deps: what the edit cannot change is reused), then lets MkDocs
    write again only the pages whose Markdown changed (`allokb.incremental.diff_sites`), writes
    the export files whose text changed, audits what it wrote, recuts the stylesheet from the
    pages' kept usage and updates the search index (`allokb.livesearch.LiveIndex`: only the pages
    it wrote are indexed again, into a small second bundle). It rebuilds everything the first time, and when
    a partial rebuild would be wrong (`SiteDelta.full`, `InputSnapshot.needs_full`).

    An edit that breaks the check keeps the last good site and shows the diagnostics on the home
    page. `serving=False` builds the published site's pages (with the Content-Security-Policy):
    tests compare a partial rebuild with a fresh `allokb build` that way."""

    def __init__(self, root: Path, site_dir: Path, *, serve_url: str | None = None, serving: bool = True) -> None:
        self.root, self.site_dir, self.serve_url, self.serving = root, site_dir, serve_url, serving
        self.built: _Built | None = None
        self.stale: set[str] = set()  # pages an error page overwrote: written again by the next good rebuild
        self._laps: list[tuple[str, float, float]] = []
        self._since = self._cpu = 0.0
        self.cache = LoadCache()  # the files the last check loaded: an edit loads one file again
        self.search = LiveIndex()  # the search index, kept in a Pagefind process: an edit re-reads its pages

    def close(self) -> None:
        """Stop what the preview keeps running (the search's Pagefind process)."""
        self.search.close()

    def rebuild(self, *, full: bool = False) -> Rebuild:
        """The cheapest correct rebuild of the preview (`full`: everything). `KbError` when MkDocs
        cannot read the configuration."""
        started = time.perf_counter()
        self._laps, self._since, self._cpu = [], started, _cpu_seconds() + self.search.cpu_seconds()
        built = self.built
        reason = "asked" if full else "first build" if built is None else ""
        if built is not None and not reason and built.inputs.needs_full(self._inputs(built.config)):
            reason = "mkdocs.yml, a hand-written page or the theme override changed"
        config = built.config if built is not None and not reason else self._config()
        settings_ = settings(config, self.root)
        # The first check takes what the last `allokb check` kept on disk; the next ones, what this
        # process keeps (an edit's check is not written to disk: that would cost more than it saves).
        result = check_project(self.root, self.cache, stored=not self.cache.files)
        self._lap("check")
        previous = built.rendered if built is not None and not reason else None  # render what the edit can change
        rendered, site = stages.render(self.root, result, settings_, previous) if not result.failed() else (None, None)
        self._lap("render")
        if rendered is None or rendered.diagnostics:
            problems = result.diagnostics if result.failed() else rendered.diagnostics if rendered else ()
            report = render(problems, "text", result.files, False, verb="check" if result.failed() else "build")
            logging.getLogger("mkdocs").error("the knowledge base has errors:\n%s", report)
            written = self._show_errors(report, settings_)
            return Rebuild("errors", written, time.perf_counter() - started)
        assert site is not None
        if not reason and built is not None:
            if site != built.site:
                reason = "the site's metadata (dates from git) changed"
            else:
                delta = diff_sites(built.rendered, rendered, built.embeds)
                delta = replace(delta, changed=tuple(sorted({*delta.changed, *self.stale} - {*delta.added})))
                reason = delta.full or ""
                if not reason:
                    written_or_reason = self._partial(built, rendered, site, delta)
                    self._lap("pages")
                    if isinstance(written_or_reason, tuple):
                        return self._finish(built, written_or_reason, started)
                    reason = written_or_reason
        # A full build starts from a configuration of its own, as MkDocs' serve does for each build.
        self._full(config if built is None or config is not built.config else self._config(), rendered, site, settings_)
        assert self.built is not None
        self._lap("pages")
        return self._finish(self.built, None, started, reason)

    # -- the full build ---------------------------------------------------------------------------

    def _config(self) -> Any:
        config = load(self.root, self.site_dir)
        if self.serve_url:
            config.site_url = self.serve_url
        configure(config, serving=self.serving)
        return config

    def _inputs(self, config: Any) -> InputSnapshot:
        """What MkDocs reads by itself: the configuration, the docs folder, the theme override."""
        paths = [Path(config.config_file_path), Path(config.docs_dir)]
        paths += [Path(d) for d in config.theme.dirs if Path(d).resolve().is_relative_to(self.root.resolve())]
        return InputSnapshot.take(paths)

    def _full(self, config: Any, rendered: RenderedSite, site: SiteInfo, settings_: Settings) -> None:
        from mkdocs.exceptions import MkDocsException

        plugin = SitePlugin(rendered, site, settings_, audit=False, serving=self.serving)
        config.plugins["allokb"] = plugin
        with _collect_errors() as errors:
            try:
                engine_build(config, serve_url=self.serve_url)
            except MkDocsException as exc:  # also `Abort`, a SystemExit
                self.built = None
                raise KbError(f"build failed: {chr(10).join(errors) or exc}") from None
        hand = {f.src_uri: f.content_string for f in plugin.files.documentation_pages() if f.abs_src_path}
        self.built = _Built(config, plugin, rendered, site, self._inputs(config),
                            embedded_blocks(hand, rendered.blocks), SiteUsage(site_usage(self.site_dir)))
        self.stale.clear()

    # -- the partial rebuild ----------------------------------------------------------------------

    def _partial(self, built: _Built, rendered: RenderedSite, site: SiteInfo,
                 delta: SiteDelta) -> tuple[str, ...] | str:
        """Write what `delta` names; the files written, or why a full rebuild is needed."""
        from mkdocs.commands.build import _build_page, _build_theme_template, _populate_page
        from mkdocs.exceptions import MkDocsException
        from mkdocs.structure.files import File, InclusionLevel, set_exclusions
        from mkdocs.structure.pages import Page as MkPage

        config, plugin = built.config, built.plugin
        files, nav, env = plugin.files, plugin.nav, plugin.env
        env.globals["allokb_nav"].clear()  # the navigation is rendered again for this rebuild
        plugin.rendered, plugin.site, plugin.overrides = rendered, site, {}
        markdown = {p.src_uri: p.markdown for p in rendered.pages}
        written: list[str] = []
        in_nav = {id(p) for p in nav.pages}
        for src in (*delta.removed, *delta.deleted):
            file = files.get_file_from_path(src)
            if file is not None and id(file.page) in in_nav:
                return f"the page {src}, in the navigation, is gone"
            if file is not None:
                files.remove(file)
                _remove(Path(file.abs_dest_path), self.site_dir)
                written.append(file.dest_uri)
        for path in delta.written:
            file = files.get_file_from_path(path)
            if file is None:
                file = File.generated(config, path, content=rendered.files[path])
                files.append(file)
                set_exclusions([file], config)
            else:
                file.content_string = rendered.files[path]
            file.copy_file()
            written.append(file.dest_uri)
        for src in delta.added:
            file = File.generated(config, src, content=markdown[src])
            files.append(file)
            set_exclusions([file], config)
            if not file.inclusion.is_not_in_nav():
                return f"the new page {src} belongs in the navigation"
            MkPage(None, file, config)
        for src in delta.changed:
            file = files.get_file_from_path(src)
            if file is None:
                return f"the page {src} is not in the previous build"
            if src in markdown:
                file.content_string = markdown[src]
        if delta.added or any(path not in built.rendered.files for path in delta.written):
            _reorder(files, rendered)
        pages = [files.get_file_from_path(src).page for src in delta.pages]
        titles = {id(p): p.title for p in pages if id(p) in in_nav}
        with _collect_errors() as errors:
            try:
                for page in pages:
                    _populate_page(page, config, files)
                if any(titles[id(p)] != p.title for p in pages if id(p) in titles):
                    return "the title of a page in the navigation changed"
                inclusion = InclusionLevel.is_in_serve if self.serve_url else InclusionLevel.is_included
                doc_files = files.documentation_pages(inclusion=inclusion)
                for page in pages:
                    _build_page(page, config, doc_files, nav, env, excluded=page.file.inclusion.is_excluded())
                    written.append(page.file.dest_uri)
                for page in pages:
                    page.validate_anchor_links(files=files, log_level=config.validation.links.anchors)
                if delta.added or delta.removed:  # the sitemap lists every page
                    for template in config.theme.static_templates:
                        _build_theme_template(template, env, files, config, nav)
                        written.append(template)
            except MkDocsException as exc:  # as in a full build; the next rebuild is a full one
                self.built = None
                raise KbError(f"build failed: {chr(10).join(errors) or exc}") from None
        built.rendered, built.site = rendered, site
        self.stale.clear()
        return tuple(written)

    def _finish(self, built: _Built, written: tuple[str, ...] | None, started: float, reason: str = "") -> Rebuild:
        """The audit, the stylesheet and the search index after a rebuild (`written` None: a full one)."""
        site_dir = self.site_dir
        if written is None:
            only = None
            usage_changed = True
        else:
            only = written
            usage_changed = built.usage.update({
                path: page_usage((site_dir / path).read_bytes())
                if path.endswith(".html") and (site_dir / path).is_file() else None for path in written})
        self._lap("stylesheet usage")
        problems = stages.audit(site_dir, str(built.config.site_url or ""), serving=self.serving, only=only)
        self._lap("audit")
        if problems:
            logging.getLogger("mkdocs").error("the post-build audit found unsafe HTML:\n%s\nthe published build "
                                              "would refuse this site", "\n".join(format_text(d) for d in problems))
        extra: list[str] = []
        if written is None or written:
            if usage_changed:
                write_site_stylesheet(site_dir, built.usage.values())  # the theme's CSS cut to what the pages use
                extra.append(STYLESHEET)
            self._lap("stylesheet")
            self.search.update(site_dir, written)  # the search index, re-reading the pages written (allokb.livesearch)
            extra.append(f"{SEARCH_BUNDLE}/")
            self._lap("search")
        kind = "full" if written is None else "partial" if written else "unchanged"
        listed = tuple(sorted(built.usage.pages)) if written is None else tuple(sorted(set(written)))
        return Rebuild(kind, listed + tuple(extra), time.perf_counter() - started, reason, tuple(problems),
                       tuple(self._laps))

    def _lap(self, name: str) -> None:
        now, cpu = time.perf_counter(), _cpu_seconds() + self.search.cpu_seconds()
        self._laps.append((name, now - self._since, cpu - self._cpu))
        self._since, self._cpu = now, cpu

    # -- errors -----------------------------------------------------------------------------------

    def _show_errors(self, report: str, settings_: Settings) -> tuple[str, ...]:
        """Show `report` as the home page: over the last good site (whose other pages stay), or,
        before any good build, as the only page."""
        from mkdocs.commands.build import _build_page, _populate_page
        from mkdocs.structure.files import InclusionLevel

        built = self.built
        text = error_page(report)
        if built is None:
            from mkdocs.commands.build import build

            config = self._config()
            config["nav"] = None
            config["strict"] = False
            config.plugins["allokb"] = SitePlugin(RenderedSite((Page("index.md", text),), {}, {}),
                                                  site_info(settings_, self.root), settings_, audit=False,
                                                  serving=self.serving)
            build(config, serve_url=self.serve_url)
            return ("index.html",)
        plugin, files = built.plugin, built.plugin.files
        home = files.get_file_from_path("index.md")
        if home is None or home.page is None:
            return ()
        plugin.overrides = {"index.md": text}
        try:
            _populate_page(home.page, built.config, files)
            inclusion = InclusionLevel.is_in_serve if self.serve_url else InclusionLevel.is_included
            _build_page(home.page, built.config, files.documentation_pages(inclusion=inclusion), plugin.nav, plugin.env)
        finally:
            plugin.overrides = {}
        self.stale.add("index.md")
        return (home.dest_uri,)


def _cpu_seconds() -> float:
    """CPU seconds of this process and its waited-for children (Pagefind) so far: on a shared
    machine, wall time also counts the waits for other work."""
    import resource

    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def _reorder(files: Any, rendered: RenderedSite) -> None:
    """Put the generated files of `files` in the order `SitePlugin.on_files` appends them (pages,
    then export files, each sorted), after MkDocs' own: a new file goes where a full build puts
    it, and the sitemap lists pages in that order."""
    generated = [*(p.src_uri for p in rendered.pages), *sorted(rendered.files)]
    moved = [files.get_file_from_path(src) for src in generated]
    for file in moved:
        files.remove(file)
    for file in moved:
        files.append(file)


def _remove(path: Path, site_dir: Path) -> None:
    """Remove a file of the site, and the folders it leaves empty."""
    path.unlink(missing_ok=True)
    folder = path.parent
    while folder != site_dir and folder.is_relative_to(site_dir) and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


# --- MkDocs drives: the hook (src/allokb/mkdocs_hook.py) ----------------------------------------

def on_startup(command: str, dirty: bool) -> None:
    """MkDocs hook: remember whether this is `serve` (a preview shows errors instead of stopping)."""
    _COMMAND["name"] = command


def on_shutdown() -> None:
    """MkDocs hook: the process's MkDocs command is over."""
    _COMMAND["name"] = "build"


def on_config(config: Any) -> Any:
    """MkDocs hook: check and render the knowledge base before anything is built, through the
    same stages as `allokb.build.build`, and hand the result to this build's `SitePlugin`."""
    from mkdocs.exceptions import PluginError

    if any(isinstance(p, SitePlugin) for p in config.plugins.values()):
        return config  # `allokb build` drives, and has rendered the site already
    serving = _COMMAND["name"] == "serve"
    configure(config, serving=serving)
    root = Path(config.config_file_path).resolve().parent
    if not serving:  # `serve` builds into a temporary folder of its own
        # MkDocs empties site_dir right after this hook: refuse a folder that is not a site.
        try:
            check_site_dir(resolve_site_dir(config.site_dir), root)
        except KbError as exc:
            raise PluginError(str(exc)) from None
    settings_ = settings(config, root)
    result = check_project(root)
    try:
        rendered, site = stages.render(root, result, settings_) if not result.failed() else (None, None)
    except KbError as exc:
        raise PluginError(str(exc)) from None
    problems = result.diagnostics if result.failed() else rendered.diagnostics if rendered else ()
    if rendered is None or problems:
        report = render(problems, "text", result.files, False, verb="check" if result.failed() else "build")
        if not serving:
            raise PluginError("the knowledge base has errors:\n" + report)
        # The preview keeps running and shows the errors; fixing the files rebuilds the site.
        logging.getLogger("mkdocs").error("the knowledge base has errors:\n%s", report)
        config["nav"] = None
        config["strict"] = False
        rendered = RenderedSite((Page("index.md", error_page(report)),), {}, {})
        site = site or site_info(settings_, root)
    assert site is not None
    config.plugins["allokb"] = SitePlugin(rendered, site, settings_, audit=True, serving=serving)
    return config


def serve(root: Path, where: str, watch: list[str]) -> None:
    """MkDocs' live-reload server on `where`, showing a `Preview` rebuilt (in part, as little as
    is correct) when a file in `watch` changes. `KbError` when MkDocs cannot start or the address
    is taken."""
    import errno
    import shutil
    import tempfile
    from urllib.parse import urlsplit

    _engine()
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException
    from mkdocs.livereload import LiveReloadServer, _serve_url

    from allokb.site import dev_address

    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # Material's banner is not actionable per build
    host, port = dev_address(where)
    site_dir = Path(tempfile.mkdtemp(prefix="allokb-serve-"))
    previous = _stop_on_termination()
    try:
        try:
            config = load_config(config_file=str(root / "mkdocs.yml"), site_dir=str(site_dir))
        except MkDocsException as exc:  # also `Abort`, a SystemExit
            raise KbError(f"cannot serve {printable(str(root))}: {printable(str(exc))}") from None
        mount_path = urlsplit(config.site_url or "/").path
        preview = Preview(root, site_dir, serve_url=_serve_url(host, port, mount_path))

        def builder() -> None:
            try:
                done = preview.rebuild()
            except KbError as exc:  # the server keeps running: fixing the files rebuilds
                logging.getLogger("mkdocs").error("%s", exc)
                return
            pages = [w for w in done.written if w.endswith(".html")]
            why = f" ({done.reason})" if done.reason else ""
            logging.getLogger("mkdocs").info("%s rebuild%s: %d pages written in %.2f s: %s", done.kind, why,
                                             len(pages), done.seconds, " ".join(pages[:20]) +
                                             (" …" if len(pages) > 20 else ""))

        server = LiveReloadServer(builder=builder, host=host, port=port, root=str(site_dir), mount_path=mount_path)

        def error_handler(code: int) -> bytes | None:
            page = site_dir / f"{code}.html"
            return page.read_bytes() if code in (404, 500) and page.is_file() else None

        server.error_handler = error_handler
        builder()
        server.watch(str(root / "mkdocs.yml"))
        server.watch(str(config.docs_dir))
        for item in watch:
            server.watch(item)
        try:
            server.serve()
        except KeyboardInterrupt:
            logging.getLogger("mkdocs").info("Shutting down...")
        finally:
            server.shutdown()
            preview.close()
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:  # taken between the check and MkDocs' own bind
            raise
        raise KbError(f"cannot serve on {where}: address already in use") from None
    finally:
        shutil.rmtree(site_dir, ignore_errors=True)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _stop_on_termination() -> dict[int, Any]:
    """SIGTERM and SIGHUP (`kill`, `docker stop`, a closed terminal) stop `serve` as Ctrl-C does, so
    that its temporary site and Pagefind's working directory are removed rather than left in the
    temporary directory, a whole site's copy each time. The handlers it replaced, to put back."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None:
            previous[signum] = signal.signal(signum, interrupt)
    return previous


__all__ = ["ENGINE", "Preview", "Rebuild", "SitePlugin", "configure", "load", "on_config", "on_shutdown", "on_startup", "serve",
           "settings", "write"]
