"""Helpers for tests of a built site: parse every HTML page, collect links, ids and requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse


@dataclass
class PageScan:
    """What one HTML page contains that the checks need."""

    ids: set[str] = field(default_factory=set)
    links: list[str] = field(default_factory=list)  # href / xlink:href of <a>
    resources: list[str] = field(default_factory=list)  # src / href of script, img, link
    scripts: list[str] = field(default_factory=list)  # inline script bodies
    handlers: list[tuple[str, str]] = field(default_factory=list)  # (tag, on* attribute)


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scan = PageScan()
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if "id" in values:
            self.scan.ids.add(values["id"])
        if tag == "a" and "name" in values:
            self.scan.ids.add(values["name"])
        for key in values:
            if key.startswith("on"):
                self.scan.handlers.append((tag, key))
        if tag == "a":
            for key in ("href", "xlink:href"):
                if key in values:
                    self.scan.links.append(values[key])
        elif tag in ("script", "img", "iframe", "source", "embed", "object") and values.get("src"):
            self.scan.resources.append(values["src"])
        elif tag == "link" and values.get("href"):
            # canonical/alternate links name a page; they do not load anything
            if values.get("rel", "") not in ("canonical", "alternate", "prev", "next"):
                self.scan.resources.append(values["href"])
            else:
                self.scan.links.append(values["href"])
        self._in_script = tag == "script" and not values.get("src")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scan.scripts.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


def scan_site(site: Path) -> dict[str, PageScan]:
    """Every HTML page of a built site (path relative to the site), scanned."""
    out = {}
    for page in sorted(site.rglob("*.html")):
        scanner = _Scanner()
        scanner.feed(page.read_text(encoding="utf-8"))
        out[page.relative_to(site).as_posix()] = scanner.scan
    return out


def broken_links(site: Path, scans: dict[str, PageScan], mount: str = "/atlas/") -> list[str]:
    """Internal links whose target file or #anchor does not exist. The site is taken to be
    served under `mount` (the path of site_url), as the 404 page's absolute links assume."""
    problems = []
    for rel, scan in scans.items():
        base = "https://site.test" + mount + rel
        for link in scan.links + scan.resources:
            target = urlparse(urljoin(base, link))
            if target.netloc != "site.test" or target.scheme not in ("https", "http"):
                continue
            if not target.path.startswith(mount):
                problems.append(f"{rel}: {link} -> outside the site")
                continue
            path = unquote(target.path.removeprefix(mount))
            file = site / path
            if path == "" or path.endswith("/"):
                file = file / "index.html"
            if not file.exists():
                problems.append(f"{rel}: {link} -> missing {path}")
                continue
            if target.fragment and file.suffix == ".html":
                ids = scans[file.relative_to(site).as_posix()].ids
                if unquote(target.fragment) not in ids:
                    problems.append(f"{rel}: {link} -> no #{target.fragment} in {path}")
    return problems
