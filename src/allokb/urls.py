"""Published URLs: what the site serves, the committed manifest, and redirects for renames.

Citers link to pages and expect the links to work for years. `urls.txt` lists every URL the
site has published (pages, data exports, schemas), one path a line relative to the site root.
A build that would drop one of them fails (KB601) unless it is redirected: an entry renamed in
YAML lists its old id under `former_ids` (`former_keys` for a reference), and the old URL then
serves a redirect page. URLs the manifest does not list yet are reported (KB602, a warning
that `--strict` and CI turn into a failure) so that the manifest grows in the same pull request;
`allokb urls --write` updates it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from allokb.diagnostics import Diagnostic, KbError, Location, make
from allokb.files import read_project_file
from allokb.graph import KnowledgeBase
from allokb.schema import SCHEMA_NAMES

MANIFEST = "urls.txt"  # one path a line, starting with "/" (relative to site_url)
MAX_MANIFEST_BYTES = 5 * 1024 * 1024
PAGES_DIR = "content/pages"
EXPORTS = ("data/kb.json", "data/interventions.csv", "data/references.bib", "data/references.csl.json", "feed.xml")
GENERATED_PAGES = ("interventions/", "mechanisms/", "references/", "evidence/", "corrections/", "codes/")
_HEADER = ("# Every URL the site has published, relative to site_url. Never remove a line: a page that\n"
           "# goes away needs a redirect (former_ids / former_keys). `allokb urls --write` adds new ones.\n")


@dataclass(frozen=True)
class UrlPlan:
    """The URLs a build publishes, and the redirects it serves (old path -> new path)."""

    urls: frozenset[str]
    redirects: dict[str, str]


def _page_url(src: str) -> str:
    stem = src.removesuffix(".md")
    if stem == "index":
        return "/"
    return "/" + (stem.removesuffix("/index") if stem.endswith("/index") else stem) + "/"


def plan_urls(root: Path, kb: KnowledgeBase) -> UrlPlan:
    """The URL paths the site will serve for this knowledge base."""
    urls = {_page_url(p.relative_to(root / PAGES_DIR).as_posix())
            for p in (root / PAGES_DIR).rglob("*.md")} if (root / PAGES_DIR).is_dir() else set()
    urls |= {f"/{p}" for p in (*GENERATED_PAGES, *EXPORTS)} | {f"/schema/{n}.schema.json" for n in SCHEMA_NAMES}
    if (root / "CONTRIBUTING.md").exists():
        urls.add("/contributing/")
    urls |= {f"/interventions/{i}/" for i in kb.interventions}
    urls |= {f"/mechanisms/{i}/" for i in kb.mechanisms}
    urls |= {f"/references/{k}/" for k in kb.references}
    redirects: dict[str, str] = {}
    for item in kb.interventions.values():
        redirects.update({f"/interventions/{old}/": f"/interventions/{item.id}/" for old in item.former_ids})
    for mech in kb.mechanisms.values():
        redirects.update({f"/mechanisms/{old}/": f"/mechanisms/{mech.id}/" for old in mech.former_ids})
    for key, citation in kb.citations.items():
        redirects.update({f"/references/{old}/": f"/references/{key}/" for old in citation.former_keys})
    return UrlPlan(frozenset(urls), {old: new for old, new in sorted(redirects.items()) if old not in urls})


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


def check_urls(root: Path, plan: UrlPlan) -> list[Diagnostic]:
    """KB601 for a published URL that would disappear; KB602 for a URL not yet in the manifest."""
    if not (root / MANIFEST).exists():
        return []
    manifest, problems = read_manifest(root)
    if problems:
        return problems
    out = []
    listed = {url for _, url in manifest}
    for line, url in manifest:
        if url not in plan.urls and url not in plan.redirects:
            out.append(make("KB601", f"the published URL `{url}` would disappear", Location(MANIFEST, line, 1),
                            "keep the entry, or list its old id under `former_ids` (`former_keys` for a "
                            "reference) of the entry that replaces it"))
    for url in sorted(plan.urls - listed):
        out.append(make("KB602", f"new URL `{url}` is not in {MANIFEST}", Location(MANIFEST, 1, 1),
                        "run `allokb urls --write` and commit the manifest"))
    return out


def write_manifest(root: Path, plan: UrlPlan) -> int:
    """Add the plan's URLs (and keep every old line); return how many were added."""
    existing, problems = read_manifest(root)
    if problems:
        raise KbError(f"{MANIFEST}: {problems[0].message}; it is unchanged")
    listed = {url for _, url in existing}
    merged = sorted(listed | plan.urls)
    path = root / MANIFEST
    tmp = path.with_name(f".{MANIFEST}.tmp")
    tmp.write_text(_HEADER + "".join(f"{url}\n" for url in merged), encoding="utf-8")
    tmp.replace(path)
    return len(merged) - len(listed)


def redirect_html(site_url: str, old: str, target: str) -> str:
    """A static redirect page for `old` (works without JavaScript; names the new URL for search
    engines and citers)."""
    relative = "../" * (old.strip("/").count("/") + 1) + target.lstrip("/")
    absolute = site_url + target.lstrip("/")
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Moved</title>\n'
            f'<link rel="canonical" href="{absolute}">\n<meta name="robots" content="noindex">\n'
            f'<meta http-equiv="refresh" content="0; url={relative}">\n</head>\n'
            f'<body><p>This page has moved to <a href="{relative}">{absolute}</a>.</p></body></html>\n')
