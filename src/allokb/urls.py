"""Published URLs: what the site serves, the committed manifest, and redirects for renames.

Citers link to pages and expect the links to work for years. `urls.txt` lists every URL the
site has published (pages, data exports, each entry's data at /data/<section>/<id>.json, schemas,
source texts at /sources/<key>.txt), one path a line relative to the site root.
A build that would drop one of them fails (KB601) unless it is redirected: an entry renamed in
YAML lists its old id under `former_ids` (`former_keys` for a reference), and the old URL then
serves a redirect page. URLs the manifest does not list yet are reported (KB602, a warning
that `--strict` and CI turn into a failure) so that the manifest grows in the same pull request;
`allokb urls --write` updates it, keeping its comments and the order of its lines.

A project with a `mkdocs.yml` publishes a site, so its manifest is required (KB603): deleting it
would switch the check off. URLs are computed by MkDocs' own rules for `use_directory_urls`
(`a.md` is served at `/a/`, `a/index.md` and `a/README.md` at `/a/`), and a hand-written file in
content/pages/ that a generated page or file would replace is an error (KB604), as is an entry
id that would replace the page of its own section (`index`, KB310). Those rules are
`allokb.rules.urls` and `allokb.rules.links`; this module computes the plan they judge.
"""

from __future__ import annotations

import bisect
import os
import posixpath
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from allokb.diagnostics import Diagnostic, KbError
from allokb.files import read_project_file
from allokb.kinds import KINDS, Kind
from allokb.schema import SCHEMA_NAMES

if TYPE_CHECKING:  # the graph stage imports this module for RESERVED_IDS
    from allokb.graph import KnowledgeBase
    from allokb.sources import SourceText

MANIFEST = "urls.txt"  # one path a line, starting with "/" (relative to site_url)
MAX_MANIFEST_BYTES = 5 * 1024 * 1024
PAGES_DIR = "content/pages"
#: content folder -> the section of the site (URL folder) its entries' pages are in
SECTION_OF_KIND = {kind.folder: kind.section for kind in KINDS}
#: entry ids (and bib keys) that name a page the section generates itself: `<section>/index.md`
#: is the summary table, the mechanisms' index, the bibliography. A test renders the fixture and
#: checks that a section holds no other generated page.
RESERVED_IDS = frozenset({"index"})
EXPORTS = ("data/kb.json", "data/interventions.csv", "data/evidence.csv", "data/doses.csv", "data/references.bib",
           "data/references.csl.json", "feed.xml")


# --- the URL map: every page, link, redirect and export URL of an entry is derived here ------

def section_src(kind: Kind) -> str:
    """The docs path of a section's own page: `interventions/index.md`."""
    return f"{kind.section}/index.md"


#: entries per index page of a section, by kind name (the rest: allokb.render.paging), sized for a
#: first load well under 250 KB with real-size entries: the real site's summary table takes about
#: 1.1 KB of HTML per row and its bibliography 0.42 KB per entry, besides about 22 KB of page and
#: 100 KB of stylesheets and scripts, so 80 rows load in about 210 KB and 200 references in 205 KB.
PER_PAGE: dict[str, int] = {"intervention": 80, "mechanism": 200, "citation": 200}


def index_page_count(kind: Kind, total: int) -> int:
    """How many index pages the section of `kind` takes for `total` entries (at least one)."""
    return max(1, -(-total // PER_PAGE.get(kind.name, 200)))


def index_page_src(kind: Kind, number: int) -> str:
    """The docs path of index page `number` (1-based) of a section: page 1 is the section's own
    page (`interventions/index.md`), page N its `interventions/page/N.md` (`/interventions/page/N/`)."""
    return section_src(kind) if number == 1 else f"{kind.section}/page/{number}.md"


def extra_index_pages(kb: KnowledgeBase) -> list[str]:
    """The docs paths of every section's index pages after the first: none while one page holds
    a section's entries, so a small site has no such URL."""
    out = []
    for kind in KINDS:
        if kind.index_template:
            total = len(kb.references if kind.pages == "references" else kb.records(kind))
            out += [index_page_src(kind, n) for n in range(2, index_page_count(kind, total) + 1)]
    return out


#: the evidence map (allokb.render.evidence_map) is paged as the indexes are, by interventions:
#: page 1 at `/evidence-map/`, page N >= 2 at `/evidence-map/page/N/`. A real-size intervention
#: takes about 2.5 KB of the map's HTML (its lines of SVG and of the table: the real site's 19
#: take 48 KB), a heavier one of three lines 2.9 KB (tests/test_map_weight.py), besides about
#: 25 KB of page and 100 KB of stylesheets and scripts; 30 load in about 210 KB, which leaves
#: room for the page links of a large site (15 KB at 10,000 entries). The real site's map is one page.
MAP_SRC = "evidence-map.md"
MAP_PER_PAGE = 30


def map_page_count(total: int) -> int:
    """How many pages the evidence map takes for `total` interventions (at least one)."""
    return max(1, -(-total // MAP_PER_PAGE))


def map_page_src(number: int) -> str:
    """The docs path of page `number` (1-based) of the evidence map: `evidence-map.md`, then
    `evidence-map/page/N.md` (`/evidence-map/page/N/`)."""
    return MAP_SRC if number == 1 else f"{MAP_SRC.removesuffix('.md')}/page/{number}.md"


def extra_map_pages(kb: KnowledgeBase) -> list[str]:
    """The docs paths of the evidence map's pages after the first: none while one page holds
    every intervention, so a small site has no such URL."""
    return [map_page_src(n) for n in range(2, map_page_count(len(kb.interventions)) + 1)]


def section_url(kind: Kind) -> str:
    """The URL path of a section's own page: `/interventions/`."""
    return f"/{kind.section}/"


def entry_src(kind: Kind, ident: str) -> str:
    """The docs path of an entry's page: `interventions/<id>.md`."""
    return f"{kind.section}/{ident}.md"


def entry_url(kind: Kind, ident: str) -> str:
    """The URL path of an entry's page: `/interventions/<id>/` (what citers link to)."""
    return f"/{kind.section}/{ident}/"


def absolute_url(site_url: str, path: str) -> str:
    """A URL path made absolute under `site_url` (which ends in `/`)."""
    return site_url + path.lstrip("/")


def md_prefix(src_uri: str) -> str:
    """From a page's Markdown source to the docs root, for Markdown links (`../`)."""
    return "../" * src_uri.count("/")


def url_prefix(src_uri: str) -> str:
    """From a page's URL (directory style: a/b.md -> /a/b/) to the site root, for raw HTML."""
    parts = src_uri.removesuffix(".md").split("/")
    depth = len(parts) - 1 if parts[-1] == "index" else len(parts)
    return "../" * depth


def entry_link(from_src: str, kind: Kind, ident: str, anchor: str | None = None) -> str:
    """A Markdown link from the page `from_src` to an entry's page (MkDocs turns it into a URL)."""
    return md_prefix(from_src) + entry_src(kind, ident) + (f"#{anchor}" if anchor else "")


def entry_href(from_src: str, kind: Kind, ident: str, anchor: str | None = None) -> str:
    """A relative URL from the page `from_src` to an entry's page, for raw HTML."""
    return url_prefix(from_src) + entry_url(kind, ident).lstrip("/") + (f"#{anchor}" if anchor else "")


def entry_data_path(kind: Kind, ident: str) -> str:
    """The site path of an entry's own data: `data/interventions/<id>.json` (its object in kb.json)."""
    return f"data/{kind.section}/{ident}.json"


def entries_with_data(kb: KnowledgeBase) -> list[tuple[Kind, str, Any]]:
    """The entries with a page whose kind is exported to kb.json (`Kind.export`): each has its own
    data file, `entry_data_path`."""
    return [entry for entry in entries_with_pages(kb) if entry[0].export is not None]


def former_data_paths(kb: KnowledgeBase) -> dict[str, tuple[Kind, str]]:
    """`data/<section>/<old id>.json` -> (kind, id) of the entry that now has it, for every former id
    (or key) of an entry. A JSON file cannot redirect, so the old URL serves the entry's data; an
    old path that another entry's data has is left to that entry (KB311 reports the clash)."""
    current = {entry_data_path(kind, ident) for kind, ident, _ in entries_with_data(kb)}
    out: dict[str, tuple[Kind, str]] = {}
    for kind in (k for k in KINDS if k.export is not None):
        for ident, record in kb.records(kind).items():
            for old in getattr(record, kind.former_field, ()):
                path = entry_data_path(kind, old)
                if path not in current:
                    out.setdefault(path, (kind, ident))
    return out


def entries_with_pages(kb: KnowledgeBase) -> list[tuple[Kind, str, Any]]:
    """(kind, id, record) for every entry with a page of its own, by kind and id: one per record,
    or for the citation kind one per bib entry (its citation record, if any, adds to it)."""
    out: list[tuple[Kind, str, Any]] = []
    for kind in KINDS:
        records = kb.references if kind.pages == "references" else kb.records(kind)
        out += [(kind, ident, record) for ident, record in records.items()]
    return out


def entry_redirects(kb: KnowledgeBase) -> dict[str, str]:
    """Old URL path -> new, for every former id (or key) of an entry; the first entry wins when
    two list one former id (KB311 reports it)."""
    redirects: dict[str, str] = {}
    for kind in KINDS:
        for ident, record in kb.records(kind).items():
            for old in getattr(record, kind.former_field, ()):
                redirects.setdefault(entry_url(kind, old), entry_url(kind, ident))
    return redirects


#: the pages render_site generates besides one per entry (Markdown paths in the docs tree)
GENERATED_PAGES = ("codes.md", *(section_src(k) for k in KINDS if k.index_template),
                   "evidence.md", MAP_SRC, "corrections.md")
GUIDE = ("CONTRIBUTING.md", "contributing.md")  # the repository's guide, published when it exists
#: files MkDocs, its theme and the search plugin write themselves
MKDOCS_FILES = ("404.html", "sitemap.xml", "sitemap.xml.gz", "search/search_index.json")
#: what MkDocs reads as a page (mkdocs.utils.markdown_extensions); everything else is copied
MARKDOWN_SUFFIXES = (".markdown", ".mdown", ".mkdn", ".mkd", ".md")
_HEADER = ("# Every URL the site has published, relative to site_url. Never remove a line: a page that\n"
           "# goes away needs a redirect (former_ids / former_keys). `allokb urls --write` adds new ones.\n")


@dataclass(frozen=True)
class UrlPlan:
    """The URLs a build publishes, and the redirects it serves (old path -> new path).

    `generated` maps each file the build generates (site path) to what it is; `hand_written` maps
    each hand-written file of content/pages/ to the site paths it would be written to (one, or
    none when MkDocs excludes it)."""

    urls: frozenset[str]
    redirects: dict[str, str]
    generated: dict[str, str] = field(default_factory=dict)
    hand_written: dict[str, str] = field(default_factory=dict)


def former_source_paths(kb: KnowledgeBase) -> dict[str, SourceText]:
    """`sources/<old key>.txt` -> the source text now published under the new key, for every
    former key of a reference with a committed source text. A text file cannot redirect, so the
    old URL serves the same text."""
    out: dict[str, SourceText] = {}
    for key, citation in kb.citations.items():
        source = kb.sources.get(key)
        if source is not None:
            for old in citation.former_keys:
                out.setdefault(f"sources/{old}.txt", source)
    return out


@lru_cache(maxsize=1 << 17)  # every check asks again for every page's path (`allokb serve`: after each edit)
def site_path(src_uri: str) -> str:
    """The file MkDocs writes for a docs file with `use_directory_urls: true`, by its rules
    (`mkdocs.structure.files.File.dest_uri`): `a/b.md` -> `a/b/index.html`, `a/index.md` and
    `a/README.md` -> `a/index.html`; any other file keeps its path."""
    if not src_uri.endswith(MARKDOWN_SUFFIXES):
        return src_uri
    parent, name = posixpath.split(src_uri)
    stem = posixpath.splitext(name)[0]
    stem = "index" if stem == "README" else stem
    return posixpath.join(parent, "index.html" if stem == "index" else f"{stem}/index.html")


def page_url(src_uri: str) -> str:
    """The URL path (from the site root, with a leading `/`) of a docs page."""
    return "/" + site_path(src_uri).removesuffix("index.html")


def _excluded(rel: str) -> bool:
    """MkDocs' default `exclude_docs`: dot-files and dot-folders anywhere, `/templates/` at the top."""
    parts = rel.split("/")
    return any(part.startswith(".") for part in parts) or (len(parts) > 1 and parts[0] == "templates")


def hand_written_files(root: Path) -> list[str]:
    """The files of content/pages/ that MkDocs publishes (paths relative to it), sorted. Links
    are not followed (the load stage reports them)."""
    base = root / PAGES_DIR
    found = []
    for folder, dirs, files in os.walk(base):
        dirs.sort()
        rel_folder = Path(folder).relative_to(base).as_posix()
        for name in sorted(files):
            rel = name if rel_folder == "." else f"{rel_folder}/{name}"
            if not _excluded(rel):
                found.append(rel)
    return found


def plan_urls(root: Path, kb: KnowledgeBase) -> UrlPlan:
    """The URL paths the site will serve for this knowledge base, its redirects, and where in
    the site each generated and hand-written file is written."""
    pages = {src: f"the generated page `{src}`" for src in GENERATED_PAGES}
    if (root / GUIDE[0]).exists():
        pages[GUIDE[1]] = f"the page generated from {GUIDE[0]}"
    pages.update({entry_src(kind, ident): f"the page of `{ident}`" for kind, ident, _ in entries_with_pages(kb)})
    pages.update({src: f"the generated page `{src}`" for src in (*extra_index_pages(kb), *extra_map_pages(kb))})
    files = [*EXPORTS, *(f"schema/{n}.schema.json" for n in SCHEMA_NAMES),
             *(source.site_path for source in kb.sources.values())]
    files += [path for path in former_source_paths(kb) if path not in files]
    files += [entry_data_path(kind, ident) for kind, ident, _ in entries_with_data(kb)]
    files += sorted(former_data_paths(kb))
    urls = {page_url(src) for src in pages} | {f"/{path}" for path in files}
    hand_written = {rel: site_path(rel) for rel in hand_written_files(root)} if (root / PAGES_DIR).is_dir() else {}
    urls |= {page_url(rel) for rel in hand_written if rel.endswith(MARKDOWN_SUFFIXES)}

    redirects = {old: new for old, new in sorted(entry_redirects(kb).items()) if old not in urls}

    generated = {site_path(src): what for src, what in pages.items()}
    generated.update({path: f"the generated file `{path}`" for path in files})
    generated.update({path: f"MkDocs' own `{path}`" for path in MKDOCS_FILES})
    generated.update({f"{old.lstrip('/')}index.html": f"the redirect from `{old}`" for old in redirects})
    return UrlPlan(frozenset(urls), redirects, generated, hand_written)


def read_manifest(root: Path) -> tuple[list[tuple[int, str]], list[Diagnostic]]:
    """The manifest's URL paths with their line numbers (none when there is no manifest), or
    the diagnostic saying why it cannot be read (not UTF-8, too large)."""
    text, problems = read_project_file(root, MANIFEST, MAX_MANIFEST_BYTES, refuse_controls=True)
    if text is None:
        return [], problems
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if line and not line.startswith("#"):
            out.append((number, line))
    return out, []


def write_manifest(root: Path, plan: UrlPlan) -> int:
    """Add the plan's new URLs to the manifest, keeping every line as it is (comments, order,
    blank lines); return how many were added. In a manifest whose URLs are sorted, each new URL
    goes right after the URL it follows in sorted order; otherwise new URLs are appended."""
    path = root / MANIFEST
    read, problems = read_project_file(root, MANIFEST, MAX_MANIFEST_BYTES, refuse_controls=True)
    if problems:
        raise KbError(f"{MANIFEST}: {problems[0].message}; it is unchanged")
    text = _HEADER if read is None else read
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    rows = [(i, line.strip()) for i, line in enumerate(lines) if line.strip() and not line.strip().startswith("#")]
    listed = [url for _, url in rows]
    new = sorted(plan.urls - set(listed))
    after: dict[int, list[str]] = {}  # line index -> new URLs that follow it (-1: before the first URL)
    if rows and listed == sorted(listed):
        for url in new:
            at = bisect.bisect_left(listed, url)
            after.setdefault(rows[at - 1][0] if at else -1, []).append(url)
    else:
        after[len(lines) - 1] = new
    out = []
    first_url = rows[0][0] if rows else len(lines)
    for i, line in enumerate(lines):
        if i == first_url:
            out += [url + newline for url in after.get(-1, [])]
        out.append(line)
        out += [url + newline for url in after.get(i, [])]
    if first_url == len(lines):
        out += [url + newline for url in after.get(-1, [])]
    tmp = path.with_name(f".{MANIFEST}.tmp")
    tmp.write_text("".join(out), encoding="utf-8", newline="")
    tmp.replace(path)
    return len(new)


def redirect_html(site_url: str, old: str, target: str) -> str:
    """A static redirect page for `old` (works without JavaScript; names the new URL for search
    engines and citers)."""
    from allokb.audit import content_security_policy

    relative = "../" * (old.strip("/").count("/") + 1) + target.lstrip("/")
    absolute = site_url + target.lstrip("/")
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{content_security_policy()}">'
            '<title>Moved</title>\n'
            f'<link rel="canonical" href="{absolute}">\n<meta name="robots" content="noindex">\n'
            f'<meta http-equiv="refresh" content="0; url={relative}">\n</head>\n'
            f'<body><p>This page has moved to <a href="{relative}">{absolute}</a>.</p></body></html>\n')
