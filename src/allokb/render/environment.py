"""The one Jinja environment and the filters that escape contributor text where it lands.

Templates produce Markdown. Contributor text is data: every field passes through a filter for
the place it lands (`md` for running text, `cell` for a table cell, `attr` for an HTML
attribute, `url` for a link target), so that no HTML, Markdown link, template syntax or table
break written in a YAML field can take effect. Templates are never built from contributor text.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

TEMPLATES_DIR = "site_templates"

# Characters with a meaning in Python-Markdown's inline syntax (and the tables and attr_list
# extensions) that it accepts backslash escapes for. `<` and `&` become entities instead, so no
# HTML tag or entity can be formed. A leading `#`, `+`, `-` or `1.` would start a block.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()|])")
_LINE_START = re.compile(r"^([#+\-]|\d+(?=\.))")
_SAFE_URL = re.compile(r"^https?://[^\s<>\"'`\\]+$")


def md(value: Any) -> str:
    """Contributor text as inert inline Markdown: one line, no HTML, no Markdown syntax."""
    text = " ".join(str(value).split())
    text = html.escape(text, quote=False)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    match = _LINE_START.match(text)
    if match:
        lead = match.group(1)
        text = ("\\" + text) if not lead[0].isdigit() else lead + "\\" + text[len(lead):]
    return text


def title(value: Any) -> str:
    """Contributor text inside a double-quoted admonition title."""
    return md(value).replace('"', "&quot;")


def cell(value: Any) -> str:
    """Contributor text for a Markdown table cell (pipes and newlines are already neutral)."""
    return md(value) if value not in (None, "") else "—"


def doc(value: Any) -> str:
    """The project's own documentation text (schema descriptions, code docstrings) for a table
    cell: its `code` spans are kept; HTML and table breaks are neutralised."""
    return html.escape(" ".join(str(value).split()), quote=False).replace("|", "\\|")


def attr(value: Any) -> str:
    """Text for an HTML attribute value in double quotes."""
    return html.escape(" ".join(str(value).split()), quote=True)


def text(value: Any) -> str:
    """Text inside an HTML element (no Markdown processing happens inside our HTML blocks)."""
    return html.escape(" ".join(str(value).split()), quote=False)


def url(value: Any) -> str:
    """An http(s) URL safe for an href attribute; anything else becomes `#` (never `javascript:`)."""
    candidate = str(value).strip()
    if not _SAFE_URL.match(candidate):
        return "#"
    return html.escape(quote(candidate, safe=":/?#[]@!$&'()*+,;=%~-._"), quote=True)


def jsonld(value: Any) -> str:
    """JSON for a <script type="application/ld+json"> element: `<`, `>` and `&` escaped so that the
    data cannot close the element."""
    data = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def yaml_string(value: Any) -> str:
    """A double-quoted YAML scalar (for page front matter)."""
    return json.dumps(" ".join(str(value).split()), ensure_ascii=False)


FILTERS = {"md": md, "doc": doc, "title": title, "cell": cell, "attr": attr, "text": text, "url": url, "jsonld": jsonld, "yaml": yaml_string}


def make_environment(root: Path) -> jinja2.Environment:
    """The one Jinja environment: templates from `<root>/site_templates`, undefined names fail,
    filters registered here and nowhere else."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root / TEMPLATES_DIR)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # output is Markdown: contributor text is escaped by the filters above
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env
