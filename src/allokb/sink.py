"""Sink: the only module that imports MkDocs (tests/test_imports.py holds every other to that).

MkDocs turns the rendered Markdown into HTML with the theme; it decides nothing. What it is given
comes from `allokb.build`: a `SitePlugin` made for one build holds that build's rendered site and
adds it to MkDocs' files; nothing of a build is kept in a module or put on MkDocs' config object
(the plugin sits in the config's plugin collection, as every MkDocs plugin and hook does).

Two ways in, one path:

- `allokb build` calls `allokb.build.build`, which renders the site and calls `write` here; the
  hook in mkdocs.yml then steps aside (`on_config` sees that the build has its plugin already).
- A plain `mkdocs build` or `mkdocs serve` (and `allokb serve`, which runs MkDocs' server) starts
  with MkDocs: mkdocs.yml's `hooks:` entry, `src/allokb/mkdocs_hook.py`, is a file of two lines
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

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from allokb.audit import content_security_policy
from allokb.diagnostics import KbError, printable
from allokb.output import check_site_dir, resolve_site_dir, write_marker
from allokb.progress import Progress
from allokb.render import Page, RenderedSite
from allokb import stages
from allokb.project import check_project
from allokb.report import format_text, render
from allokb.search import index_site
from allokb.stylesheet import write_site_stylesheet
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
    from mkdocs.commands.build import build
    from mkdocs.exceptions import MkDocsException

    configure(config, serving=False)
    config.plugins["allokb"] = SitePlugin(rendered, site, settings_, audit=False, progress=progress)
    with _collect_errors() as errors:
        try:
            build(config)
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


# --- the sink proper: one plugin per build ------------------------------------------------------

class SitePlugin:
    """The MkDocs plugin of one build: adds the rendered pages and exports to MkDocs' files,
    fills the blocks and metadata of hand-written pages, reports progress, and (when MkDocs
    drives, `audit=True`) audits the written site. All its state is this build's."""

    def __init__(self, rendered: RenderedSite, site: SiteInfo, settings_: Settings, *, audit: bool,
                 serving: bool = False, progress: Progress | None = None) -> None:
        self.rendered, self.site, self.settings = rendered, site, settings_
        self.audit, self.serving, self.progress = audit, serving, progress
        self.done, self.total = 0, 0

    def on_files(self, files: Any, config: Any) -> Any:
        """Add the generated pages and export files."""
        from mkdocs.structure.files import File

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
        if self.total and self.progress:
            self.done += 1
            self.progress(self.done, self.total, page.file.src_uri)
        return output

    def on_post_build(self, config: Any) -> None:
        """When MkDocs drives: the post-build audit (the same as `allokb.build.build`'s), then the
        marker that lets a later build replace the folder. A plain `mkdocs build` writes in place,
        so a refused site is refused by its exit status."""
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
    """MkDocs' live-reload server on `where`, rebuilding (through the hook) when a file in `watch`
    changes. `KbError` when MkDocs cannot start or the address is taken."""
    import errno

    _engine()
    from mkdocs.commands.serve import serve as mkdocs_serve
    from mkdocs.exceptions import MkDocsException

    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # Material's banner is not actionable per build
    try:
        # A preview is not strict: warnings are shown, and the preview keeps running.
        mkdocs_serve(config_file=str(root / "mkdocs.yml"), dev_addr=where, livereload=True, watch=watch,
                     strict=False)
    except MkDocsException as exc:  # also `Abort`, a SystemExit
        raise KbError(f"cannot serve {printable(str(root))}: {printable(str(exc))}") from None
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:  # taken between the check and MkDocs' own bind
            raise
        raise KbError(f"cannot serve on {where}: address already in use") from None


__all__ = ["ENGINE", "SitePlugin", "configure", "load", "on_config", "on_shutdown", "on_startup", "serve",
           "settings", "write"]
