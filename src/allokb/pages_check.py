"""Check the files the site takes as they are: content/pages/ and site_templates/.

MkDocs publishes every file under its docs folder (content/pages/, assets included) and the theme
reads site_templates/: each must be a regular file that can be read (KB112, KB113), never a link
that would publish or render whatever it points to. A hand-written page has no control or
invisible character (KB115), and its front matter, the YAML between `---` lines at its top that
MkDocs hands to the theme's `<head>`, is read strictly and holds only the keys the site uses,
with text values (KB117). CONTRIBUTING.md, published as /contributing/, is checked like a page's
text.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Any

from allokb.diagnostics import Diagnostic, Location, did_you_mean, make
from allokb.files import read_project_file, walk_files
from allokb.load import SourceDocument, parse_yaml

PAGES_DIR = "content/pages"
TEMPLATES_DIR = "site_templates"
#: hand-written files the render stage includes (render.GUIDE and render.ABBREVIATIONS)
INCLUDED = ("CONTRIBUTING.md", "site_templates/abbreviations.md")
#: what MkDocs itself reads: a FIFO there would hang the build, a link would move the project
BUILD_FILES = ("mkdocs.yml", "src/allokb/mkdocs_hook.py")
MAX_PAGE_BYTES = 1024 * 1024

# How MkDocs 1.6 finds a page's metadata (mkdocs/utils/meta.py; tests/security/test_inputs.py
# checks that these are MkDocs' own): YAML between `---` lines at the very top, or else
# MultiMarkdown `Key: value` lines, which would pass any text to the theme unchecked.
YAML_RE = re.compile(r'^-{3}[ \t]*\n(.*?\n)(?:\.{3}|-{3})[ \t]*\n', re.UNICODE | re.DOTALL)
META_RE = re.compile(r'^[ ]{0,3}(?P<key>[A-Za-z0-9_-]+):\s*(?P<value>.*)')

#: Material's `hide` options
HIDE = ("feedback", "footer", "navigation", "path", "tags", "toc")
#: the front matter keys a hand-written page may set, and what their value must be
KEYS = {"title": "text", "description": "text", "hide": "a list of: " + ", ".join(HIDE)}
#: keys refused although the theme knows them, and why
REFUSED = {
    "template": "a page cannot choose its own template: every page is laid out by the theme's, where the "
                "site's <head> is written (a missing template would also stop the build)",
    "jsonld": "the build writes each page's JSON-LD itself",
}


def check_site_files(root: Path) -> list[Diagnostic]:
    """KB112/KB113 for every file under content/pages/ and site_templates/ that is not a
    readable regular file; KB115/KB117 for hand-written pages and the included files."""
    out: list[Diagnostic] = []
    pages, problems = walk_files(root, PAGES_DIR, probe=True)
    out += problems
    for rel in pages:
        if rel.endswith(".md"):
            out += check_page(root, rel)
    out += walk_files(root, TEMPLATES_DIR, probe=True)[1]
    for rel in INCLUDED:
        out += read_project_file(root, rel, MAX_PAGE_BYTES, refuse_controls=True)[1]
    for rel in BUILD_FILES:
        out += read_project_file(root, rel, MAX_PAGE_BYTES)[1]
    return out


@functools.cache
def _theme_folder() -> Path:
    """Where the theme (Material) keeps the files it publishes as they are."""
    from importlib.resources import files

    return Path(str(files("material") / "templates"))


def theme_files_replaced(pages: list[str]) -> list[tuple[str, str]]:
    """The files under content/pages/ (paths from the project root) that would replace a file of
    the theme (its JavaScript bundle, say), each with the theme's path: the audit trusts the
    theme's scripts by their path, so such a file is KB604 (allokb.rules.urls)."""
    theme = _theme_folder()
    prefix = PAGES_DIR + "/"
    # One look-up per hand-written file (there are few), not a walk of the theme's thousands.
    return [(rel, rel.removeprefix(prefix)) for rel in pages if not rel.endswith((".html", ".py"))
            and os.path.isfile(theme / rel.removeprefix(prefix))]


def check_page(root: Path, rel: str) -> list[Diagnostic]:
    """The diagnostics of one hand-written page: its text, then its front matter."""
    text, problems = read_project_file(root, rel, MAX_PAGE_BYTES, refuse_controls=True)
    if text is None:
        return problems
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # as MkDocs reads it (text mode)
    match = YAML_RE.match(text)
    if match is None:
        first = META_RE.match(text.split("\n", 1)[0])
        if first is None:
            return []
        return [make("KB117", f"MkDocs would read `{first.group('key')}:` at the top of the page as metadata",
                     Location(rel, 1, 1), "start the page with a heading, or put the metadata in YAML front "
                     "matter between `---` lines")]
    # A newline for the opening `---`: the YAML's lines are then the page's.
    doc, problems = parse_yaml("\n" + match.group(1), rel, "pages", rel)
    problems = [d for d in problems if d.code != "KB107"]  # empty front matter is harmless
    if doc is None:
        return problems
    data = doc.data
    if data is None:
        return problems
    if not isinstance(data, dict):
        return [*problems, make("KB117", "front matter must be a mapping of keys to values", doc.location())]
    for key, value in data.items():
        problems += _check_key(doc, key, value)
    return problems


def _check_key(doc: SourceDocument, key: str, value: Any) -> list[Diagnostic]:
    if key in REFUSED:
        return [make("KB117", f"front matter key `{key}` is not allowed: {REFUSED[key]}",
                     doc.location((key,), key=True), "remove it")]
    if key not in KEYS:
        return [make("KB117", f"unknown front matter key `{key}`", doc.location((key,), key=True),
                     did_you_mean(key, KEYS) or f"allowed keys: {', '.join(sorted(KEYS))}")]
    if key == "hide":
        if isinstance(value, list) and all(isinstance(item, str) and item in HIDE for item in value):
            return []
    elif isinstance(value, str):
        return []
    return [make("KB117", f"front matter `{key}` must be {KEYS[key]}", doc.location((key,)))]
