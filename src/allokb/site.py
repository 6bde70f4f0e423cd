"""Site metadata and the preview: what the pages need to know about the site beyond the
knowledge base (its settings from mkdocs.yml, the git history of the content, the build date),
and the checks of `allokb serve`'s address (`dev_address`, `_check_bind`).

The build itself is `allokb.build.build`; MkDocs is reached only through `allokb.sink`.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from allokb.diagnostics import KbError
from allokb.files import find_control
from allokb.render.environment import inert as attr_filter
from allokb.render.environment import jsonld as jsonld_filter
from allokb.render.views import Change, SiteInfo, jsonld

#: what `serve` watches besides the docs folder and mkdocs.yml
WATCHED = ("content", "references.bib", "site_templates", "src/allokb/schemas")


@dataclass(frozen=True)
class Settings:
    """What the render stage needs from mkdocs.yml, as plain values (the sink reads the file)."""

    site_name: str
    site_url: str | None
    site_description: str | None = None
    repo_url: str | None = None
    docs_dir: str = "content/pages"  # relative to the project root
    extra: dict[str, Any] = field(default_factory=dict)  # the `extra.allokb` mapping


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


def site_info(settings: Settings, root: Path) -> SiteInfo:
    """What the pages need to know about the site, from mkdocs.yml's settings and git."""
    changes = git_log(root)
    dates = git_dates(changes)
    url = settings.site_url or "http://127.0.0.1:8000/"
    extra = settings.extra
    repo = str(extra.get("repository") or settings.repo_url or "").rstrip("/") or None
    return SiteInfo(site_name=settings.site_name, site_url=url if url.endswith("/") else url + "/", repo_url=repo,
                    branch=str(extra.get("branch", "main")), updated=dates, build_date=build_date(dates),
                    changes=tuple(changes))


def page_meta(meta: dict[str, Any], src_uri: str, url: str, title: str | None, settings: Settings,
              site: SiteInfo) -> None:
    """Complete the metadata of a hand-written page (one without `jsonld`, which every generated
    page has): its description and title escaped (the theme prints them into the page head
    unescaped; generated pages escape them in their front matter) and its JSON-LD, dated by git."""
    if "jsonld" in meta:
        return
    source = f"{settings.docs_dir}/{src_uri}"
    description = str(meta.get("description") or settings.site_description or "")
    meta["description"] = attr_filter(description)
    if "title" in meta:
        meta["title"] = attr_filter(str(meta["title"]))
    date = site.updated.get(source, site.build_date)
    path = url if url != "." else ""
    meta["jsonld"] = jsonld_filter(jsonld(site, title or settings.site_name, description, path, date, []))


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


def error_page(report: str) -> str:
    """The page `serve` shows while the knowledge base has errors."""
    return ("---\ntitle: Errors in the knowledge base\n---\n\n# The knowledge base has errors\n\n"
            "The preview is not built until they are fixed; it rebuilds as soon as a file changes.\n\n"
            f'<pre class="allokb-errors">{html.escape(report)}</pre>\n')


def dev_address(value: str) -> tuple[str, int]:
    """(host, port) of a `--dev-addr` value, as MkDocs reads it: `HOST:PORT` with an IP address
    (IPv6 in brackets) or `localhost`, and a port from 1 to 65535. `UsageError` otherwise."""
    import ipaddress

    from allokb.diagnostics import UsageError, printable

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
