r"""BibTeX field text: LaTeX decoded to Unicode, and author lists split into people.

The model (`Reference.authors`) and the .bib reader (`allokb.bib`) both need this; it lives
below both so that neither imports the other's importer (the `bib` <-> `model` cycle).

The LaTeX of a field is contributor input handed to pylatexenc, which raises on some macros
(`\href` without its arguments, `\verb`) and recurses on nested groups: `decode_strict` raises
`UndecodableError` for such a value, and `decode` never raises (it falls back to the text without
its markup). pylatexenc reads no file: `\input` is dropped unless a tex input directory is set,
which this module never does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bibtexparser.middlewares.names import (
    InvalidNameError,
    parse_single_name_into_parts,
    split_multiple_persons_names,
)
from pylatexenc.latex2text import LatexNodes2Text
from pylatexenc.latexwalker import get_default_latex_context_db
from pylatexenc.macrospec import MacroSpec

from allokb.diagnostics import fast_pickle

__all__ = ["MAX_BRACE_DEPTH", "Person", "UndecodableError", "decode", "decode_strict", "split_authors"]


@fast_pickle
@dataclass(frozen=True, slots=True)
class Person:
    """One author: family and given names, or a literal (corporate) name."""

    family: str | None
    given: str | None
    literal: str | None = None

    def display(self) -> str:
        """'Surname, G.'-style display form."""
        if self.literal:
            return self.literal
        return f"{self.family}, {self.given}" if self.given else str(self.family)


_LATEX = LatexNodes2Text(math_mode="text", strict_latex_spaces=True)
# pylatexenc 2.10 knows how to print `\href{url}{text}` but its parser does not know that \href
# takes two arguments (every \href was an IndexError): tell it.
_CONTEXT = get_default_latex_context_db()
_CONTEXT.add_context_category("allokb", prepend=True, macros=[MacroSpec("href", "{{")])
#: deeper groups are refused before pylatexenc sees them (it recurses once per level or more)
MAX_BRACE_DEPTH = 32
_MARKUP = re.compile(r"\\[A-Za-z@]+\*?|\\.|[{}$]")

class UndecodableError(ValueError):
    """A field value whose LaTeX cannot be decoded; the message says why."""


def decode_strict(value: str) -> str:
    """Decode a LaTeX field value to Unicode text (braces removed, accents resolved), or raise
    `UndecodableError`."""
    if "\\" not in value and "{" not in value and "$" not in value and "~" not in value and "--" not in value:
        return value
    if value.count("{") > MAX_BRACE_DEPTH and _depth(value) > MAX_BRACE_DEPTH:
        raise UndecodableError(f"nests braces more than {MAX_BRACE_DEPTH} deep")
    try:
        text = _LATEX.latex_to_text(value, latex_context=_CONTEXT)
    # pylatexenc raises IndexError, KeyError, its own parse errors or RecursionError on malformed or
    # hostile LaTeX (`\href`, `\verb`, `\sqrt[\sqrt[...`): any failure of this third-party parser on
    # contributor input is the contributor's to fix, reported with its location.
    except Exception:  # noqa: BLE001 (see above: any failure of the parser is reported, never raised)
        raise UndecodableError("holds LaTeX that cannot be turned into text") from None
    return " ".join(text.split())


def decode(value: str) -> str:
    """`decode_strict`, or, for a value it cannot decode (already reported by the check), the
    value without its LaTeX markup: never raises."""
    try:
        return decode_strict(value)
    except UndecodableError:
        return " ".join(_MARKUP.sub(" ", value).split())


def _depth(text: str) -> int:
    depth = deepest = 0
    for char in text:
        if char == "{":
            depth += 1
            deepest = max(deepest, depth)
        elif char == "}":
            depth = max(depth - 1, 0)
    return deepest


def split_authors(raw: str, decode: Callable[[str], str] = decode) -> tuple[Person, ...]:
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
