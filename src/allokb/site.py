"""Site stage: the single adapter between the knowledge base and MkDocs.

`mkdocs.yml` names this file under `hooks:`, so a plain `mkdocs build` or `mkdocs serve` runs
the whole pipeline: the knowledge-base check first (content with errors is never built), then
the render stage, whose pages and exports are handed to MkDocs as generated files.
`build_site` and `serve_site` are what `allokb build` and `allokb serve` call. A build is
written to a staging folder beside the target and swapped in, in one step, only when it
succeeded, so a failed or killed build leaves the previous site exactly as it was; which
folders a build may replace, the lock and the swap are `allokb.output`'s.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from allokb.audit import audit_site, content_security_policy
from allokb.diagnostics import KbError
from allokb.files import find_control
from allokb.grade import matrix_data
from allokb.output import (check_site_dir, check_unchanged, identity, recover, resolve_site_dir, seal, site_lock,
                           staging_folder, swap_in, write_marker)
from allokb.graph import KnowledgeBase
from allokb.progress import make_progress
from allokb.project import CheckResult, check_project
from allokb.render import Page, RenderedSite, SiteInfo, render_site
from allokb.render.environment import inert as attr_filter
from allokb.render.environment import jsonld as jsonld_filter
from allokb.render.views import Change, jsonld
from allokb.search import index_site
from allokb.stylesheet import write_site_stylesheet
from allokb.report import format_text, render

#: what `serve` watches besides the docs folder and mkdocs.yml
WATCHED = ("content", "references.bib", "site_templates", "src/allokb/schemas")
_BUILDS: dict[int, tuple[KnowledgeBase, RenderedSite, SiteInfo]] = {}
_PROGRESS: dict[int, list[Any]] = {}  # per build: [pages done, total, callback]
PROGRESS_FROM_PAGES = 100  # smaller builds finish before progress would help  # per MkDocs config object, for one build


def _root_of(config: Any) -> Path:
    return Path(config.config_file_path).resolve().parent


_SHA = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?\Z")
_WHEN = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:\d{2})\Z")
MAX_SUBJECT = 200


def _clean_subject(subject: str) -> str:
    """A commit subject without what the check refuses in any text (control, bidi and
    noncharacters: allokb.files.find_control), each replaced by a space, and cut short."""
    while (index := find_control(subject)) is not None:
        subject = subject[:index] + " " + subject[index + 1:]
    return " ".join(subject.split())[:MAX_SUBJECT]


def git_log(root: Path) -> list[Change]:
    """The commits that touched the content, newest first, from one `git log` pass (empty outside
    a git checkout).

    A commit subject is written by whoever made the commit, so it is input like any other: the
    output is split on NUL, which git never lets into a subject or (with `-z`) a path; a record
    whose hash or date is not of the form git prints is dropped; the subject loses its control
    characters and is cut to MAX_SUBJECT characters.
    """
    try:
        proc = subprocess.run(["git", "-C", str(root), "log", "-z", "--format=%x00%H%x00%cI%x00%s%x00",
                               "--name-only", "--no-renames", "--", "content", "references.bib", "src/allokb/schemas"],
                              capture_output=True, check=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return []
    fields = proc.stdout.decode("utf-8", "replace").split("\x00")
    changes = []
    # Each commit is: "", hash, date, subject, "", then its paths (each ended by NUL) up to the
    # next commit's leading "" (git puts one more NUL between the format and the paths with -z).
    i = 0
    while i + 3 < len(fields):
        if fields[i] != "" or not _SHA.match(fields[i + 1]):
            i += 1
            continue
        sha, when, subject = fields[i + 1], fields[i + 2], fields[i + 3]
        i += 4
        files = []
        while i < len(fields) and not (fields[i] == "" and i + 1 < len(fields) and _SHA.match(fields[i + 1])):
            if fields[i]:
                files.append(fields[i].lstrip("\n"))
            i += 1
        if _WHEN.match(when):
            changes.append(Change(sha, when, _clean_subject(subject), tuple(files)))
    return changes


def git_dates(changes: list[Change]) -> dict[str, str]:
    """Each path's date of last change (YYYY-MM-DD); a folder's is that of its newest file."""
    dates: dict[str, str] = {}
    for change in changes:
        for path in change.files:
            dates.setdefault(path, change.date)
            for parent in Path(path).parents:
                if str(parent) != ".":
                    dates.setdefault(str(parent), change.date)
    return dates


def build_date(dates: dict[str, str]) -> str:
    """The date of the build: SOURCE_DATE_EPOCH if set, else the newest content commit, so that
    the same commit always gives the same pages."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).date().isoformat()
    return max(dates.values(), default="1970-01-01")


def site_info(config: Any, root: Path) -> SiteInfo:
    """What the pages need to know about the site, from mkdocs.yml and git."""
    changes = git_log(root)
    dates = git_dates(changes)
    url = config.site_url or "http://127.0.0.1:8000/"
    extra = (config.extra or {}).get("allokb", {}) if hasattr(config, "extra") else {}
    repo = str(extra.get("repository") or config.repo_url or "").rstrip("/") or None
    return SiteInfo(site_name=config.site_name, site_url=url if url.endswith("/") else url + "/", repo_url=repo,
                    branch=str(extra.get("branch", "main")), updated=dates, build_date=build_date(dates),
                    changes=tuple(changes))


_SERVING: dict[str, bool] = {"on": False}


def on_startup(command: str, dirty: bool) -> None:
    """MkDocs hook: remember whether this is `serve` (a preview shows errors instead of stopping)."""
    _SERVING["on"] = command == "serve"


def add_security_policy(config: Any) -> None:
    """Give the theme the Content-Security-Policy it writes into every page (post-build audit:
    allokb.audit). Not for `serve`: MkDocs' live reload injects an inline script the policy would block."""
    if not _SERVING["on"]:
        config.extra["csp"] = content_security_policy()


def on_config(config: Any) -> Any:
    """MkDocs hook: check the knowledge base and render it before anything is built."""
    from mkdocs.exceptions import PluginError

    add_security_policy(config)
    root = _root_of(config)
    if not _SERVING["on"]:  # `serve` builds into a temporary folder of its own
        # MkDocs empties site_dir right after this hook: refuse a folder that is not a site.
        # (`allokb build` checked its target already; here it is the staging folder beside it.)
        try:
            check_site_dir(resolve_site_dir(config.site_dir), root)
        except KbError as exc:
            raise PluginError(str(exc)) from None
    # `allokb build` has just checked the project and hands its result over with the config;
    # `mkdocs build` and `serve` check here.
    result = getattr(config, "allokb_check", None) or check_project(root)
    if result.failed():
        report = render(result.diagnostics, "text", result.files, False)
        if _SERVING["on"]:
            # The preview keeps running and shows the errors; fixing the files rebuilds the site.
            logging.getLogger("mkdocs").error("the knowledge base has errors:\n%s", report)
            config["nav"] = None
            config["strict"] = False
            _BUILDS[id(config)] = (result.kb, RenderedSite((Page("index.md", error_page(report)),), {}, {}),
                                   site_info(config, root))
            return config
        raise PluginError("the knowledge base has errors:\n" + report)
    site = site_info(config, root)
    try:
        matrices = {k: matrix_data(result.rubric, g) for k, g in result.grades.items()}
        rendered = render_site(root, result.kb, site, matrices, result.rubric,
                               result.urls.redirects if result.urls else {})
    except KbError as exc:
        raise PluginError(str(exc)) from None
    _BUILDS[id(config)] = (result.kb, rendered, site)
    return config


def on_files(files: Any, config: Any) -> Any:
    """MkDocs hook: add the generated pages and export files."""
    from mkdocs.structure.files import File

    _, rendered, _ = _BUILDS[id(config)]
    if rendered.pages and rendered.pages[0].src_uri == "index.md":  # the error page replaces the site
        for file in list(files):
            if file.is_documentation_page():
                files.remove(file)
    for page in rendered.pages:
        files.append(File.generated(config, page.src_uri, content=page.markdown))
    for path, text in sorted(rendered.files.items()):
        files.append(File.generated(config, path, content=text))
    total = sum(1 for f in files if f.is_documentation_page())
    if total >= PROGRESS_FROM_PAGES:
        _PROGRESS[id(config)] = [0, total, make_progress(sys.stderr, "build", "pages written", None)]
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """MkDocs hook: fill the blocks hand-written pages embed, and add the abbreviations (shown on
    hover everywhere)."""
    _, rendered, site = _BUILDS[id(config)]
    for name, block in rendered.blocks.items():
        markdown = markdown.replace(f"<!-- allokb:{name} -->", block)
    if "jsonld" not in page.meta:  # a hand-written page: metadata from its front matter and git
        source = f"{config.docs_dir.removeprefix(str(_root_of(config)) + '/')}/{page.file.src_uri}"
        # The theme prints `title` and `description` into the page head unescaped; generated
        # pages escape them in their front matter, hand-written pages here.
        description = str(page.meta.get("description") or config.site_description or "")
        page.meta["description"] = attr_filter(description)
        if "title" in page.meta:
            page.meta["title"] = attr_filter(str(page.meta["title"]))
        date = site.updated.get(source, site.build_date)
        path = page.file.url if page.file.url != "." else ""
        page.meta["jsonld"] = jsonld_filter(jsonld(site, page.title or config.site_name, description, path, date, []))
    if rendered.abbreviations:
        markdown += "\n\n" + rendered.abbreviations
    return markdown


def on_post_page(output: str, page: Any, config: Any) -> str:
    """MkDocs hook: progress of a long build (a bar on a terminal, a line every tenth elsewhere)."""
    state = _PROGRESS.get(id(config))
    if state is not None:
        state[0] += 1
        state[2](state[0], state[1], page.file.src_uri)
    return output


def on_post_build(config: Any) -> None:
    """MkDocs hook: audit the written site (allokb.audit), mark it as one a later build may
    replace (also after a plain `mkdocs build`), and forget the build's data. `allokb build`
    builds into a staging folder, so a refused site never replaces the old one; a plain
    `mkdocs build` writes in place, and the refusal is its exit status."""
    from mkdocs.exceptions import PluginError

    _BUILDS.pop(id(config), None)
    _PROGRESS.pop(id(config), None)
    try:
        write_site_stylesheet(Path(config.site_dir))  # the theme's CSS cut to what the pages use (allokb.stylesheet)
        audit_built_site(Path(config.site_dir), str(config.site_url or ""), serving=_SERVING["on"])
        index_site(Path(config.site_dir))  # search (allokb.search): the audited pages, before the swap
    except KbError as exc:
        if not _SERVING["on"]:
            raise PluginError(str(exc)) from None
        # The preview has no policy (live reload is an inline script): say loudly what the
        # published build would refuse, and keep serving so that the fix can be previewed.
        logging.getLogger("mkdocs").error("%s\nthe published build would refuse this site", exc)
    if not _SERVING["on"]:
        write_marker(Path(config.site_dir))


class _StderrHandler(logging.Handler):
    """MkDocs' log lines on whatever sys.stderr is at the time (progress for the user)."""

    def emit(self, record: logging.LogRecord) -> None:
        sys.stderr.write(f"{record.levelname:<7} -  {record.getMessage()}\n")


class _ErrorCollector(logging.Handler):
    """Keeps the error messages of a build, to say why it failed in one line."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def error_page(report: str) -> str:
    """The page `serve` shows while the knowledge base has errors."""
    return ("---\ntitle: Errors in the knowledge base\n---\n\n# The knowledge base has errors\n\n"
            "The preview is not built until they are fixed; it rebuilds as soon as a file changes.\n\n"
            f'<pre class="allokb-errors">{html.escape(report)}</pre>\n')


def _log_to_stderr() -> None:
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # Material's banner is not actionable per build
    logger = logging.getLogger("mkdocs")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        logger.addHandler(_StderrHandler())
        logger.setLevel(logging.INFO)
        logger.propagate = False


def source_date_epoch(root: Path) -> str:
    """SOURCE_DATE_EPOCH for a reproducible build: the environment's if set, else the time of the
    last commit, else the newest modification time of the inputs. MkDocs dates the sitemap and
    the gzip header by it, so two builds of one commit are byte-identical."""
    if os.environ.get("SOURCE_DATE_EPOCH", "").isdigit():
        return os.environ["SOURCE_DATE_EPOCH"]
    try:
        proc = subprocess.run(["git", "-C", str(root), "log", "-1", "--format=%ct"], capture_output=True, text=True,
                              check=True, timeout=30)
        if proc.stdout.strip().isdigit():
            return proc.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    inputs = [root / "mkdocs.yml", root / "references.bib", *(root / "content").rglob("*"),
              *(root / "site_templates").rglob("*")]
    return str(int(max((p.stat().st_mtime for p in inputs if p.is_file()), default=0)))


def build_site(root: Path, site_dir: Path, checked: CheckResult | None = None) -> None:
    """Run a strict MkDocs build of the project into `site_dir`, atomically and reproducibly.
    `checked`: the result of a check just made, so that the build does not check again. Raises
    `UsageError` for a folder the build may not replace (`output.check_site_dir`), `KbError` for
    a failed build or a second build into the same folder; in every case the previous site stays."""
    _log_to_stderr()
    site_dir = resolve_site_dir(site_dir)
    check_site_dir(site_dir, root)
    try:
        site_dir.parent.mkdir(parents=True, exist_ok=True)
        with site_lock(site_dir):
            recover(site_dir)
            check_site_dir(site_dir, root)  # again, with the lock: another build may have changed it
            seen = identity(site_dir)
            with staging_folder(site_dir) as staging:
                _mkdocs_build(root, staging, checked)  # the hook audits the staged site (on_post_build)
                seal(staging)
                check_unchanged(site_dir, root, seen)
                swap_in(staging, site_dir)
    except OSError as exc:
        raise KbError(f"cannot build the site into {site_dir}: {exc.strerror or exc}; "
                      "the previous site is unchanged") from None


def _mkdocs_build(root: Path, staging: Path, checked: CheckResult | None) -> None:
    """The strict MkDocs build of the project into the empty folder `staging`."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    errors = _ErrorCollector()
    logging.getLogger("mkdocs").addHandler(errors)
    saved_epoch = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = source_date_epoch(root)
    try:
        config = load_config(str(root / "mkdocs.yml"), strict=True, site_dir=str(staging))
        config.allokb_check = checked
        build(config)
    except MkDocsException as exc:
        why = "\n".join(errors.messages) or str(exc)
        raise KbError(f"build failed: {why}\nthe previous site is unchanged") from None
    finally:
        logging.getLogger("mkdocs").removeHandler(errors)
        if saved_epoch is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = saved_epoch


def audit_built_site(staging: Path, site_url: str, *, serving: bool = False) -> None:
    """The post-build audit (allokb.audit): a built site holding unsafe HTML is refused like a
    failed MkDocs build (the caller's staging folder goes, the previous site stays).
    `ALLOKB_TEST_SKIP_AUDIT=1` switches the audit off FOR TESTS ONLY (the browser test plants a
    script past it to see the CSP block it); a site built that way must never be published."""
    if os.environ.get("ALLOKB_TEST_SKIP_AUDIT") == "1":
        return
    # The preview carries no policy on purpose (live reload is an inline script): KB511 there
    # says nothing about the published build.
    problems = [d for d in audit_site(staging, site_url) if not (serving and d.code == "KB511")]
    if problems:
        report = "\n".join(format_text(d) for d in problems)
        raise KbError(f"the post-build audit found unsafe HTML:\n{report}")


def serve_site(root: Path, dev_addr: str) -> None:
    """Serve a live preview that rebuilds when content, references or templates change.
    `UsageError` for a malformed address; `KbError` when the address cannot be served or MkDocs
    cannot start (no mkdocs.yml, a configuration error)."""
    import errno

    from mkdocs.commands.serve import serve
    from mkdocs.exceptions import MkDocsException

    from allokb.diagnostics import printable

    host, port = dev_address(dev_addr)
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    _check_bind(host, port, where)  # before the first build, which takes a while
    _log_to_stderr()
    watch = [str(root / p) for p in WATCHED if (root / p).exists()]
    try:
        # A preview is not strict: warnings are shown, and the preview keeps running.
        serve(config_file=str(root / "mkdocs.yml"), dev_addr=where, livereload=True, watch=watch, strict=False)
    except MkDocsException as exc:  # also `Abort`, a SystemExit
        raise KbError(f"cannot serve {printable(str(root))}: {printable(str(exc))}") from None
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:  # taken between the check and MkDocs' own bind
            raise
        raise KbError(f"cannot serve on {where}: address already in use") from None


def dev_address(value: str) -> tuple[str, int]:
    """(host, port) of a `--dev-addr` value, as MkDocs reads it: `HOST:PORT` with an IP address
    (IPv6 in brackets) or `localhost`, and a port from 1 to 65535. `UsageError` otherwise."""
    import ipaddress
    import re

    from allokb.diagnostics import UsageError
    from allokb.diagnostics import printable

    bracketed = re.fullmatch(r"\[([^\]]*)\]:([^:]*)", value)
    host, sep, port = (bracketed.group(1), ":", bracketed.group(2)) if bracketed else value.rpartition(":")
    if not sep or (value.startswith("[") and not bracketed):
        raise UsageError(f"--dev-addr `{printable(value)}` is not HOST:PORT, e.g. 127.0.0.1:8000 or [::1]:8000")
    if host != "localhost":
        try:
            host = str(ipaddress.ip_address(host))
        except ValueError:
            raise UsageError(f"--dev-addr `{printable(value)}`: `{printable(host)}` is not an IP address or "
                             "localhost") from None
    if not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise UsageError(f"--dev-addr `{printable(value)}`: the port `{printable(port)}` is not a number from 1 "
                         "to 65535")
    return host, int(port)


def _check_bind(host: str, port: int, where: str) -> None:
    """`KbError` when nothing could listen on (host, port) now: in use, not a local address, no
    permission. Binds as MkDocs' server does (SO_REUSEADDR), then lets go."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        why = (exc.strerror or str(exc)).lower()
        raise KbError(f"cannot serve on {where}: {why}") from None
