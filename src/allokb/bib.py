"""Load stage for references.bib: parse with bibtexparser 2.x and check each entry's form.

bibtexparser 2 does not raise on bad input: failed and duplicate blocks are collected in
`library.failed_blocks`, which become diagnostics here with their line in the file. Field
values are decoded from LaTeX to Unicode; author lists are kept as written and split (by
`split_authors`, when a page first needs them) before decoding, so that a braced corporate
author (`{World Health Organization}`) stays whole.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import bibtexparser
from bibtexparser import model as bibmodel
from bibtexparser.middlewares.names import InvalidNameError, parse_single_name_into_parts, split_multiple_persons_names
from pylatexenc.latex2text import LatexNodes2Text

from allokb.diagnostics import Diagnostic, Location, make
from allokb.load import read_text
from allokb.model import Person, Reference

BIB_FILE = "references.bib"
MAX_BIB_BYTES = 5 * 1024 * 1024

DOI = re.compile(r"^10\.\d{4,9}/[^\s\"<>]+$")
PMID = re.compile(r"^[1-9][0-9]{0,8}$")
PMCID = re.compile(r"^PMC[0-9]{1,9}$")
BIBKEY = re.compile(r"^[a-z][a-z0-9]*$")
YEAR = re.compile(r"^[0-9]{4}$")
URL = re.compile(r"^https?://[^\s<>\"]+$")

#: fields each entry type must have; `author|organization` means one of them
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "article": ("author", "title", "journal", "year"),
    "book": ("author|editor", "title", "publisher", "year"),
    "incollection": ("author", "title", "booktitle", "year"),
    "online": ("author|organization", "title", "url"),
    "misc": ("title", "year"),
    "report": ("author|organization|institution", "title", "year"),
}

_LATEX = LatexNodes2Text(math_mode="text", strict_latex_spaces=True)


def decode(value: str) -> str:
    """Decode a LaTeX field value to Unicode text (braces removed, accents resolved)."""
    if "\\" not in value and "{" not in value and "$" not in value and "~" not in value and "--" not in value:
        return value
    return " ".join(_LATEX.latex_to_text(value).split())


def split_authors(raw: str) -> tuple[Person, ...]:
    """Split a BibTeX author list into people; a fully braced name is kept whole as a literal."""
    people = []
    for name in split_multiple_persons_names(raw):
        name = name.strip()
        if name.startswith("{") and name.endswith("}") and _balanced(name[1:-1]):
            people.append(Person(None, None, decode(name[1:-1])))
            continue
        try:
            parts = parse_single_name_into_parts(name, strict=False)
        except InvalidNameError:
            people.append(Person(None, None, decode(name)))
            continue
        family = " ".join(parts.von + parts.last + ([", ".join(parts.jr)] if parts.jr else []))
        given = " ".join(parts.first)
        people.append(Person(decode(family), decode(given) or None))
    return tuple(people)


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def load_references(root: Path) -> tuple[list[Reference] | None, list[Diagnostic]]:
    """Parse references.bib under `root` into `Reference` records, with diagnostics for every
    parse failure and malformed entry. None (with a diagnostic) when the file cannot be read,
    so that citations are not all reported as dangling."""
    path = root / BIB_FILE
    if not path.exists():
        return [], []
    text, problems = read_text(path, BIB_FILE, MAX_BIB_BYTES)
    if text is None:
        return None, problems
    logging.getLogger("bibtexparser").setLevel(logging.CRITICAL)  # failures are reported below
    library = bibtexparser.parse_string(text)
    diagnostics = list(problems)
    for block in library.failed_blocks:
        diagnostics.append(_failed_block(block))
    references: list[Reference] = []
    for entry in library.entries:
        ref, found = _check_entry(entry)
        references.append(ref)
        diagnostics.extend(found)
    return references, diagnostics


def _failed_block(block: bibmodel.Block) -> Diagnostic:
    where = Location(BIB_FILE, (block.start_line or 0) + 1, 1)
    if isinstance(block, bibmodel.DuplicateBlockKeyBlock):
        return make("KB402", f"duplicate bib key `{block.key}`", where, "give each entry its own key")
    if isinstance(block, bibmodel.DuplicateFieldKeyBlock):
        fields = ", ".join(f"`{k}`" for k in sorted(block.duplicate_keys))
        return make("KB401", f"entry has the field {fields} more than once; the entry is ignored", where,
                    "keep one value per field")
    first_line = block.raw.strip().splitlines()[0] if block.raw.strip() else ""
    reason = getattr(getattr(block, "error", None), "abort_reason", None) or "syntax error"
    detail = " ".join(str(reason).split())
    return make("KB401", f"cannot parse `{first_line[:60]}`: {detail}", where,
                "check the braces and commas of this entry")


def _check_entry(entry: bibmodel.Entry) -> tuple[Reference, list[Diagnostic]]:
    out: list[Diagnostic] = []
    entry_line = entry.start_line + 1
    key_loc = Location(BIB_FILE, entry_line, 1, f"$.{entry.key}")
    fields: dict[str, tuple[str, int]] = {}
    for f in entry.fields:
        value = f.value if isinstance(f.value, str) else str(f.value)
        fields[f.key.lower()] = (value, (f.start_line if f.start_line is not None else entry.start_line) + 1)

    def loc(name: str) -> Location:
        return Location(BIB_FILE, fields[name][1], 1, f"$.{entry.key}.{name}")

    if not BIBKEY.match(entry.key):
        out.append(make("KB409", f"bib key `{entry.key}` is not lower-case ASCII letters and digits", key_loc,
                        "use surname + year + first title word, e.g. `griffin1999selective`"))
    entry_type = entry.entry_type.lower()
    for need in REQUIRED_FIELDS.get(entry_type, ("title",)):
        options = need.split("|")
        if not any(o in fields and fields[o][0].strip() for o in options):
            out.append(make("KB403", f"@{entry_type} `{entry.key}` has no `{'` or `'.join(options)}` field",
                            key_loc))
    checks = (("doi", DOI, "KB404", "`10.NNNN/suffix`, without `https://doi.org/`"),
              ("pmid", PMID, "KB405", "digits only, e.g. `10557352`"),
              ("pmcid", PMCID, "KB406", "`PMC` and digits, e.g. `PMC23979`"),
              ("year", YEAR, "KB411", "four digits"),
              ("url", URL, "KB412", "an http:// or https:// URL"))
    for name, pattern, code, form in checks:
        if name in fields and not pattern.match(fields[name][0].strip()):
            out.append(make(code, f"`{name}` is `{fields[name][0][:80]}`; expected {form}", loc(name)))
    decoded = tuple(sorted((k, v if k in ("url", "doi") else decode(v)) for k, (v, _) in fields.items()))
    authors = fields["author"][0] if "author" in fields else None
    editors = fields["editor"][0] if "editor" in fields else None
    return Reference(entry.key, entry_type, decoded, authors, editors, key_loc), out


def field_line(reference: Reference, name: str) -> Location:
    """The location of a reference (fields share the entry's line in the model)."""
    return Location(reference.location.file, reference.location.line, 1, f"$.{reference.key}.{name}")
