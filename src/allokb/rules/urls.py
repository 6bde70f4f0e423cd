"""Rules on published URLs: none disappears (KB601), every new one is in the manifest (KB602), the
manifest is there (KB603), and no hand-written page is replaced by another file (KB604).

What the site serves (`plan_urls`), the manifest urls.txt (`read_manifest`) and where MkDocs writes
each file are `allokb.urls`; `check_urls` runs the rules over that plan.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from allokb.diagnostics import Diagnostic, Location, make
from allokb.files import walk_files
from allokb.pages_check import theme_files_replaced
from allokb.rules.catalogue import rule
from allokb.urls import MANIFEST, PAGES_DIR, UrlPlan, read_manifest

Manifest = list[tuple[int, str]]  # (line, URL path) of urls.txt


@rule("KB601")
def check_urls_kept(manifest: Manifest, plan: UrlPlan) -> Iterator[Diagnostic]:
    """A URL listed in urls.txt would no longer be served. Citers rely on it: keep the entry, or list the old id
    under `former_ids` (`former_keys` for a reference) so the old URL redirects."""
    for line, url in manifest:
        if url not in plan.urls and url not in plan.redirects:
            yield make("KB601", f"the published URL `{url}` would disappear", Location(MANIFEST, line, 1),
                       "keep the entry, or list its old id under `former_ids` (`former_keys` for a "
                       "reference) of the entry that replaces it")


@rule("KB602")
def check_urls_listed(manifest: Manifest, plan: UrlPlan) -> Iterator[Diagnostic]:
    """The site would publish a URL that urls.txt does not list yet. Run `allokb urls --write` and commit the
    manifest with the change."""
    listed = {url for _, url in manifest}
    for url in sorted(plan.urls - listed):
        yield make("KB602", f"new URL `{url}` is not in {MANIFEST}", Location(MANIFEST, 1, 1),
                   "run `allokb urls --write` and commit the manifest")


@rule("KB603")
def check_manifest_kept(root: Path) -> Iterator[Diagnostic]:
    """A project with a mkdocs.yml publishes a site, so it keeps urls.txt, the list of every URL it has
    published; without it no URL would be checked. Restore the file from git; a new site creates it with `allokb
    urls --write`."""
    if not (root / MANIFEST).exists() and (root / "mkdocs.yml").exists():
        yield make("KB603", f"{MANIFEST} is missing: the URLs this site has published would no longer "
                   "be checked", Location(MANIFEST, 1, 1),
                   f"restore it with `git checkout -- {MANIFEST}`; a new site creates it with "
                   "`allokb urls --write`")


@rule("KB604")
def check_shadowed_pages(root: Path, plan: UrlPlan) -> Iterator[Diagnostic]:
    """A file in content/pages/ would be written to the same place in the site as a generated page or file (the
    generated one replaces it), or as another hand-written page, or over a file of the theme (its JavaScript,
    say: the post-build audit trusts the theme's scripts by their path). MkDocs serves `a.md`, `a/index.md` and
    `a/README.md` all at `/a/`. Move or rename the page."""
    first: dict[str, str] = {}
    for rel, dest in sorted(plan.hand_written.items(), key=lambda item: (item[1], item[0])):
        where = Location(f"{PAGES_DIR}/{rel}", 1, 1)
        shown = "/" + dest.removesuffix("index.html")
        if dest in plan.generated:
            yield make("KB604", f"this page is served at `{shown}`, where {plan.generated[dest]} replaces it",
                       where, "move or rename the page; generated pages cannot be overridden from content/pages")
        elif first.setdefault(dest, rel) != rel:
            yield make("KB604", f"this page is served at `{shown}`, as is {PAGES_DIR}/{first[dest]}", where,
                       "keep one of the two pages")
    # the files MkDocs publishes as they are, found as the load stage finds them (allokb.pages_check)
    for rel, theirs in theme_files_replaced(walk_files(root, PAGES_DIR, probe=True)[0]):
        yield make("KB604", f"this file would replace the theme's `{theirs}`", Location(rel),
                   "give it another name: the theme's files are served as the theme ships them")


def check_urls(root: Path, plan: UrlPlan) -> list[Diagnostic]:
    """KB601-KB604 for the URL plan of a build; a manifest that cannot be read gives the reading's
    diagnostics (KB101, KB106, KB115) instead of KB601 and KB602."""
    out = [*check_shadowed_pages(root, plan), *check_manifest_kept(root)]
    if not (root / MANIFEST).exists():
        return out
    manifest, problems = read_manifest(root)
    if problems:
        return out + problems
    return [*out, *check_urls_kept(manifest, plan), *check_urls_listed(manifest, plan)]
