r"""Load stage for references.bib: parse with bibtexparser 2.x and check each entry's form.

bibtexparser 2 does not raise on bad input: failed and duplicate blocks are collected in
`library.failed_blocks`, which become diagnostics here with their line in the file. Field
values are decoded from LaTeX to Unicode; author lists are kept as written and split (by
`split_authors`, when a page first needs them) before decoding, so that a braced corporate
author (`{World Health Organization}`) stays whole.

The LaTeX of a field is contributor input handed to pylatexenc, which raises on some macros
(`\href` without its arguments, `\verb`) and recurses on nested groups: a field that cannot be
decoded is KB413 at its line, and `decode` itself never raises (render time falls back to the
text without its markup). pylatexenc reads no file: `\input` is dropped unless a
tex input directory is set, which this module never does.
"""

from __future__ import annotations

import bisect
import logging
import re
from pathlib import Path

import bibtexparser
from bibtexparser import model as bibmodel

from allokb.bibtext import UndecodableError, decode, decode_strict, split_authors
from allokb.diagnostics import Diagnostic, Location, make, printable
from allokb.files import control_problem, find_control, read_project_file
from allokb.model import Reference

BIB_FILE = "references.bib"
#: 10,000 entries at the density of the real content (3.7 references each) hold about 15.5 MB of
#: bibliography (issue 16's target size); 5 MiB refused it
MAX_BIB_BYTES = 32 * 1024 * 1024

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

#: the fields of an @article that KB451 reports, in one diagnostic, instead of KB403
RECORD_FIELDS = ("author", "journal", "year")

_UNDECODABLE_HINT = ("write it in plain Unicode, such as `ü`, `–` or `α`; a macro such as `\\href` or `\\verb` "
                     "needs its arguments")


def load_references(root: Path) -> tuple[list[Reference] | None, list[Diagnostic]]:
    """Parse references.bib under `root` into `Reference` records, with diagnostics for every
    parse failure and malformed entry. None (with a diagnostic) when the file cannot be read,
    so that citations are not all reported as dangling."""
    text, problems = read_project_file(root, BIB_FILE, MAX_BIB_BYTES)
    if text is None:
        return (None if problems else []), problems
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
    diagnostics += _raw_controls(text, library.entries) + _raw_latex(text, library.entries)
    return references, diagnostics


def _path_of_line(entries: list[bibmodel.Entry], starts: list[int], number: int) -> str:
    """The JSONPath of the entry and field whose lines hold 0-based line `number` (`$` outside)."""
    i = bisect.bisect_right(starts, number) - 1
    if i < 0 or number > entries[i].start_line + entries[i].raw.count("\n"):
        return "$"
    entry = entries[i]
    fields = [f for f in entry.fields if f.start_line is not None and f.start_line <= number]
    field = f".{max(fields, key=lambda f: f.start_line).key.lower()}" if fields else ""
    return f"$.{entry.key}{field}"


def _raw_controls(text: str, entries: list[bibmodel.Entry]) -> list[Diagnostic]:
    """KB115 for the first control character of each line of references.bib, wherever it is:
    the file is published as it is (/data/references.bib). Placed in the entry and field whose
    lines hold it, when there is one."""
    if find_control(text, line_ends=True) is None:  # one scan of the whole text: the common case
        return []
    starts = [e.start_line for e in entries]
    out = []
    for number, line in enumerate(text.split("\n")):
        index = find_control(line, line_ends=True)
        if index is not None:
            out.append(control_problem(line[index], Location(BIB_FILE, number + 1, index + 1,
                                                             _path_of_line(entries, starts, number))))
    return out


#: TeX that does more than typeset a character: reads or writes files, runs programs (`\write18`),
#: defines or redefines commands, changes category codes, or hides a character (`^^5c` is a
#: backslash); and `@preamble`, which BibTeX copies into every document that cites the file.
#: Whoever cites the site with LaTeX would run it; a bibliography needs none of it.
UNSAFE_LATEX = re.compile(
    r"\\(?:input|include|InputIfFileExists|write|immediate|openin|openout|read|readline|closein|closeout|"
    r"catcode|lccode|uccode|def|edef|gdef|xdef|let|futurelet|newcommand|renewcommand|providecommand|"
    r"DeclareRobustCommand|csname|expandafter|usepackage|RequirePackage|documentclass|special|directlua|"
    r"latelua|luaexec|shellescape|ShellEscape|pdfprimitive|primitive|scantokens|endinput|jobname|loop|"
    r"everypar|everyeof|output|afterassignment|aftergroup|begingroup|endgroup|makeatletter|verb)(?![A-Za-z])"
    r"|\^\^|@preamble\b", re.IGNORECASE)


def _raw_latex(text: str, entries: list[bibmodel.Entry]) -> list[Diagnostic]:
    """KB414 for each line of references.bib holding TeX that could run (UNSAFE_LATEX)."""
    if UNSAFE_LATEX.search(text) is None:
        return []
    starts = [e.start_line for e in entries]
    out = []
    for number, line in enumerate(text.split("\n")):
        found = UNSAFE_LATEX.search(line)
        if found is not None:
            out.append(make("KB414", f"`{printable(found.group())}` is TeX that does more than typeset text",
                            Location(BIB_FILE, number + 1, found.start() + 1, _path_of_line(entries, starts, number)),
                            "write the text itself (LaTeX accents such as {\\\"u} are fine); a bibliography "
                            "needs no commands that read files, run programs or define macros"))
    return out


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
    # Required fields (KB403) are checked in the rules stage, where the citation's verification
    # record can say that a field was searched for and not found (allokb.rules).
    checks = (("doi", DOI, "KB404", "`10.NNNN/suffix`, without `https://doi.org/`"),
              ("pmid", PMID, "KB405", "digits only, e.g. `10557352`"),
              ("pmcid", PMCID, "KB406", "`PMC` and digits, e.g. `PMC23979`"),
              ("year", YEAR, "KB411", "four digits"),
              ("url", URL, "KB412", "an http:// or https:// URL"))
    for name, pattern, code, form in checks:
        if name in fields and not pattern.match(fields[name][0].strip()):
            out.append(make(code, f"`{name}` is `{fields[name][0][:80]}`; expected {form}", loc(name)))
    decoded_fields = []
    undecodable: set[str] = set()
    for name, (value, _) in sorted(fields.items()):
        if name in ("url", "doi"):
            decoded_fields.append((name, value))
            continue
        try:
            text = decode_strict(value)
        except UndecodableError as exc:
            out.append(make("KB413", f"`{name}` {exc}", loc(name), _UNDECODABLE_HINT))
            # the field is there (KB403 must not say otherwise): keep its raw text when the
            # lenient decoding leaves nothing
            text = decode(value).strip() or value
            undecodable.add(name)
        else:
            if text is not value and (index := find_control(text)) is not None:  # made by the LaTeX
                out.append(control_problem(text[index], loc(name)))
        decoded_fields.append((name, text))
    for name in ("author", "editor"):
        # Each name is decoded on its own when a page needs it: check them now, if there is LaTeX.
        if name in fields and name not in undecodable and "\\" in fields[name][0]:
            try:
                split_authors(fields[name][0], decode_strict)
            except UndecodableError as exc:
                out.append(make("KB413", f"a name in `{name}` {exc}", loc(name), _UNDECODABLE_HINT))
    decoded = tuple(decoded_fields)
    authors = fields["author"][0] if "author" in fields else None
    editors = fields["editor"][0] if "editor" in fields else None
    lines = tuple(sorted((name, line) for name, (_, line) in fields.items()))
    return Reference(entry.key, entry_type, decoded, authors, editors, key_loc, lines), out


def field_line(reference: Reference, name: str) -> Location:
    """The location of a reference (fields share the entry's line in the model)."""
    return Location(reference.location.file, reference.location.line, 1, f"$.{reference.key}.{name}")
