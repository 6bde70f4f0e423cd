"""Answers of online services are untrusted input: how they are parsed and what a record may hold.

`parse_json` bounds the nesting of a JSON answer and `parse_xml` refuses XML that declares entities
(the client in `allokb.remote` bounds the size and the time of an answer). `check_record` checks
every identifier and the year of a `FetchedRecord` with the patterns of `allokb check`
(`allokb.bib`), and every text for control characters and length, before `add-reference` writes
it or `verify` compares it. A value that fails is `Refused`, with a message naming the field.
"""

from __future__ import annotations

import itertools
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from allokb.bib import DOI, PMCID, PMID, URL, YEAR
from allokb.diagnostics import printable
from allokb.files import find_control

MAX_DEPTH = 64  # nesting of a JSON answer; Crossref's and NCBI's are 6 deep
MAX_FIELD = 2000  # characters of one text field of a record


@dataclass
class FetchedRecord:
    """A publication's metadata as an online service gave it."""

    source: str  # "Crossref", "PubMed" or "PMC"
    kind: str = "article"  # article | book | incollection | misc
    authors: list[tuple[str, str]] = field(default_factory=list)  # (family, given); given "" for a group
    title: str | None = None
    journal: str | None = None
    year: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    doi: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    url: str | None = None
    publisher: str | None = None
    retracted: bool = False
    updates: list[str] = field(default_factory=list)  # "correction: 10.5555/x", "Erratum in: PMID 99999902"
    publication_types: list[str] = field(default_factory=list)
    checked: list[tuple[str, list[str]]] = field(default_factory=list)  # (API URL, fields it gave)

    def fields_given(self) -> list[str]:
        """The citation-schema field names this record has values for."""
        have = {"author": self.authors, "title": self.title, "journal": self.journal, "year": self.year,
                "volume": self.volume, "number": self.issue, "pages": self.pages, "doi": self.doi,
                "pmid": self.pmid, "pmcid": self.pmcid, "publisher": self.kind == "book" and self.publisher}
        return [k for k, v in have.items() if v] + ["retraction"]


class Unparsable(ValueError):
    """An answer refused before parsing; the message says what it is ("XML that declares entities")."""


#: a JSON string, or an unterminated one and everything after it (which the decoder never reads as
#: brackets): no quote is tried twice, so a body of escaped quotes is read in linear time
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|".*', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def parse_json(text: str) -> Any:
    """`json.loads(text)`, refused (`Unparsable`) when arrays and objects nest more than `MAX_DEPTH`
    deep: the C decoder recurses once per level and raises RecursionError about 1,000 levels down.
    The brackets are counted outside strings, as the decoder reads them."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    if brackets and max(itertools.accumulate(map(_DEPTH_STEP.__getitem__, brackets))) > MAX_DEPTH:
        raise Unparsable(f"a response nested more than {MAX_DEPTH} levels deep")
    try:
        return json.loads(text)
    except RecursionError:  # not reached after the count above; kept so that no answer is a traceback
        raise Unparsable(f"a response nested more than {MAX_DEPTH} levels deep") from None


def parse_xml(text: str) -> ET.Element:
    """`ET.fromstring(text)` for XML without entity declarations; refused (`Unparsable`) otherwise.
    E-utilities never declare entities (their DOCTYPE names an external DTD, which is not read), so
    none is expanded: not a billion laughs, not an external file."""
    if "<!ENTITY" in text:
        raise Unparsable("XML that declares entities")
    return ET.fromstring(text)


# --- checking records -------------------------------------------------------------------------

class Refused(ValueError):
    """A value of a record that `allokb check` would not accept; the message names the field."""


_SURROGATE = re.compile("[\ud800-\udfff]")  # an argument that was not UTF-8


def forbidden_char(text: str) -> str | None:
    """The first character of `text` that no field may hold, or None: what the check refuses in
    content (allokb.files.find_control, KB115), and surrogates."""
    index = find_control(text)
    if index is not None:
        return text[index]
    found = _SURROGATE.search(text)
    return found.group(0) if found else None


def shown(text: str, limit: int = 80) -> str:
    """`text` for a one-line message: cut after `limit` characters, control characters escaped as
    every report escapes them (`allokb.report.printable`)."""
    return printable(text[:limit]) + ("..." if len(text) > limit else "")


_IDENTIFIERS = (("doi", "DOI", DOI, "a DOI"), ("pmid", "PMID", PMID, "a PMID"), ("pmcid", "PMCID", PMCID, "a PMCID"),
                ("year", "year", YEAR, "a year of four digits"), ("url", "URL", URL, "an http(s) URL"))


def check_identifier(name: str, value: str, pattern: re.Pattern[str], form: str) -> str:
    """`value` when it matches `pattern` (from `allokb.bib`, the patterns of `allokb check`)
    in full; `Refused` otherwise."""
    if not pattern.fullmatch(value) or forbidden_char(value):
        raise Refused(f'field {name} "{shown(value)}" is not {form}')
    return value


def check_text(name: str, value: str) -> str:
    """`value` when it holds no forbidden character and at most `MAX_FIELD` characters; `Refused`
    otherwise."""
    bad = forbidden_char(value)
    if bad is not None:
        raise Refused(f'field {name} "{shown(value)}" holds the control character U+{ord(bad):04X}')
    if len(value) > MAX_FIELD:
        raise Refused(f"field {name} is {len(value)} characters long (at most {MAX_FIELD})")
    return value


def check_record(record: FetchedRecord) -> FetchedRecord:
    """`record` when each identifier and the year match the patterns of `allokb check` and every
    text is plain (`check_text`); `Refused`, naming the first bad field, otherwise."""
    for attr, name, pattern, form in _IDENTIFIERS:
        value = getattr(record, attr)
        if value is not None:
            check_identifier(name, value, pattern, form)
    texts = [("title", record.title), ("journal", record.journal), ("volume", record.volume),
             ("issue", record.issue), ("pages", record.pages), ("publisher", record.publisher)]
    texts += [("author", part) for person in record.authors for part in person]
    texts += [("update", u) for u in record.updates] + [("publication type", t) for t in record.publication_types]
    for name, value in texts:
        if value is not None:
            check_text(name, value)
    return record
