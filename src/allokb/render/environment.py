"""The one Jinja environment and the filters that make contributor text inert where it lands.

Templates produce Markdown that Python-Markdown turns into HTML, so a contributor's string must be
inert twice: as Markdown (no link, emphasis, table break, fence or block marker) and as HTML (no
tag, entity or attribute break). The default filter, applied by the environment's `finalize` to
every `{{ … }}` that a template does not mark, writes every character that has a meaning in
either language as a numeric character reference (`[` → `&#91;`). A character reference is
plain text to Python-Markdown and to the browser alike, so the same output is safe in running
text, a table cell, an admonition title, HTML text and a double-quoted attribute: escaping is
by construction, not by care. Other placements have their own filter (`url`, `fence`, `code`,
`jsonld`, `yaml`), each returning an `Inert` string that `finalize` passes through unchanged.

Why not render contributor prose with markdown-it-py and sanitise it with nh3: the HTML it
produced would land in a Markdown document and be read by Python-Markdown again, which would
find link syntax in its text; and no field needs formatting. Character references are the one
form inert in both languages.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from allokb import templatecache

TEMPLATES_DIR = "site_templates"


class Inert(str):
    """Text already made safe for the place it lands; `finalize` leaves it alone. Any operation
    on it (concatenation, `replace`, a Jinja string filter) returns a plain `str`, which is then
    escaped again: a mistake shows as visible `&amp;#91;`, never as live markup."""

    __slots__ = ()


# Every ASCII character with a meaning in Markdown (Python-Markdown and the extensions in
# mkdocs.yml) or HTML, wherever it stands. Parentheses are left as they are: they make a link only
# after a `]`, which is always referenced, and a contributor's text is never a link target (URLs
# go through `url`, which percent-encodes them).
_ALWAYS = "&<>\"'`\\*_{}[]|!~^"
_REFS = {ord(c): f"&#{ord(c)};" for c in _ALWAYS}
# What starts a block only at the start of a line: a heading, a list, a quote, a setext underline,
# an admonition (`!!!`, in _ALWAYS) or a details block (`???`), a definition (`:`), a line of
# `=`/`-`, an abbreviation (`*[`), a table (`|`), an ordered list (`1.` / `1)`).
_LINE_START = re.compile(r"([#+\-=>:?%]|\d+(?=[.)](?:\s|$)))")
_SAFE_URL = re.compile(r"https?://[^\s<>\"'`\\\x00-\x1f\x7f]+\Z")
_BACKTICKS = re.compile(r"`+")
_CODE_SPAN = re.compile(r"(`[^`]+`)")


def escape_chars(text: str) -> str:
    """`text` with every character that Markdown or HTML reads as markup written as a numeric
    character reference (line breaks and spaces kept)."""
    return text.translate(_REFS)


def inert(value: Any) -> Inert:
    """Any value as one line of text that no Markdown or HTML parser reads as markup."""
    if isinstance(value, Inert):
        return value
    if value is None:
        return Inert("")
    if isinstance(value, bool | int | float):
        return Inert(str(value))
    text = " ".join(str(value).split()).translate(_REFS)
    match = _LINE_START.match(text)
    if match:
        lead = match.group(1)
        if lead[0].isdigit():  # `1.` stays readable: the digits stay, the `.`/`)` is referenced
            after = text[len(lead)]
            text = lead + f"&#{ord(after)};" + text[len(lead) + 1:]
        else:
            text = f"&#{ord(lead)};" + text[1:]
    return Inert(text)


def cell(value: Any) -> Inert:
    """Contributor text for a Markdown table cell; an empty value shows as a dash."""
    return inert(value) if value not in (None, "") else Inert("—")


def doc(value: Any) -> Inert:
    """The project's own documentation text (schema descriptions, code docstrings: trusted, from
    the package) for a table cell: its `code` spans are kept; HTML and table breaks are not."""
    parts = _CODE_SPAN.split(" ".join(str(value).split()))
    # Outside code spans: no tag, entity or cell break. Inside, Python-Markdown shows every
    # character as it is (a reference there would show as `&#60;`).
    return Inert("".join(part if i % 2 else part.replace("&", "&#38;").replace("<", "&#60;").replace(">", "&#62;")
                         .replace("|", "&#124;") for i, part in enumerate(parts)))


def code(value: Any) -> Inert:
    """Text as an inline Markdown code span, with a backtick fence longer than any run inside."""
    text = " ".join(str(value).split()).replace("|", "\\|")  # a table cell ends at a bare `|`, even in code
    longest = max((len(m) for m in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return Inert(f"{fence}{pad}{text}{pad}{fence}")


def fence(value: Any, lang: str = "text") -> Inert:
    """Text as a fenced code block (several lines kept), with a fence longer than any run of
    backticks inside, so that no line of the text can close it."""
    text = str(value).replace("\r", "")
    longest = max((len(m) for m in _BACKTICKS.findall(text)), default=0)
    marks = "`" * max(3, longest + 1)
    return Inert(f"{marks}{lang}\n{text}\n{marks}")


def url(value: Any) -> Inert:
    """An http(s) URL, percent-encoded so that it is safe in an href attribute and as a Markdown
    link target; anything else becomes `#` (never `javascript:`)."""
    candidate = str(value).strip()
    if not _SAFE_URL.match(candidate):
        return Inert("#")
    # Keep the characters that give a URL its structure; encode the rest, brackets, parentheses,
    # quotes and backslashes included, so that neither HTML nor Markdown can end the target early.
    return Inert(quote(candidate, safe=":/?#@,;=%~-._+&").replace("&", "&#38;"))


def jsonld(value: Any) -> Inert:
    """JSON for a <script type="application/ld+json"> element: `<`, `>` and `&` escaped so that the
    data cannot close the element."""
    data = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return Inert(data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
                 .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


#: what a YAML double-quoted scalar must write as an escape: the quote and backslash, and every
#: character YAML does not allow raw in a stream (C0 but tab, DEL, C1, surrogates, U+FFFE/U+FFFF)
#: or reads as a line break (U+2028/U+2029, NEL) or a byte-order mark (U+FEFF)
_YAML_ESCAPE = re.compile(r'["\\\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]')


def _yaml_escape(match: re.Match[str]) -> str:
    char = match.group()
    return "\\" + char if char in '"\\' else f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def yaml_string(value: Any) -> Inert:
    """A double-quoted YAML scalar (for page front matter) that a YAML reader reads back as
    exactly this text: a front matter that failed to parse would be published as Markdown."""
    return Inert('"' + _YAML_ESCAPE.sub(_yaml_escape, " ".join(str(value).split())) + '"')


def finalize(value: Any) -> Any:
    """What every `{{ … }}` prints: `Inert` text as it is, anything else made inert."""
    return value if isinstance(value, Inert) else inert(value)


#: `md`, `title`, `attr` and `text` are the default filter under their placement's name, kept so
#: that a template says where a value lands; they all produce the same inert text.
FILTERS = {"md": inert, "title": inert, "attr": inert, "text": inert, "cell": cell, "doc": doc, "code": code,
           "fence": fence, "url": url, "jsonld": jsonld, "yaml": yaml_string}


def make_environment(root: Path) -> jinja2.Environment:
    """The one Jinja environment: templates from `<root>/site_templates`, undefined names fail,
    every output inert unless a filter made it so, filters registered here and nowhere else."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root / TEMPLATES_DIR)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # output is Markdown: `finalize` and the filters above escape for it
        finalize=finalize,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return templatecache.install(env)
