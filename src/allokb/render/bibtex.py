r"""The BibTeX export (/data/references.bib), generated from the checked references so that the
tools its users cite with read it: pdflatex with BibTeX's standard styles (plain.bst), biblatex
with biber, pandoc `--citeproc`.

- Every field is written as LaTeX from its decoded text: non-ASCII through pylatexenc's
  latexencode, each character as one braced group (`{\"o}`, `{$\alpha$}`), so that no UTF-8
  reaches pdflatex and BibTeX's case changes and sorting treat it as one letter. A character
  with no LaTeX form is written as its code point (`{\texttt{U+4E2D}}`). Contributor text never
  passes through as LaTeX: `\`, braces, `$`, `%`, `&`, `#`, `_`, `^` and `~` are written as text.
- Title words that a style's case change would spoil are braced: acronyms and words with a
  capital after their first letter (`{PTSD}`, `{GABAergic}`, `{SAGE-217}`), and, in a title
  written in sentence case, every capitalised word after the first (a proper name).
- A corporate author (a braced `author` or, where no person is named, the `organization`) is
  written in double braces, `{{U.S. Food and Drug Administration}}`, so that no style splits it
  at "and" or abbreviates it; `and others` is kept where the record has it. A family name that
  starts with a particle is braced whole (`{de Wit}, H.`), as the site and the CSL-JSON export
  treat it, so that no style drops the particle.
- Entry types are the ones the standard styles know: `@online` becomes `@misc` with
  `howpublished = {\url{...}}` and `url`; `@report` becomes `@techreport`. A document that cites
  the export loads hyperref (url.sty alone prints the backslash of a URL's `\%` or `\#`, which
  biblatex needs: it prints `howpublished` from inside a macro argument).
- Fields in one fixed order, entries sorted by key: the same references give the same bytes.

Known limit: biber 2.18 (Debian 12) writes unbalanced braces into the initials of a name whose first
character is a LaTeX symbol (`{\textbackslash}`, `{$\alpha$}`), and biblatex then stops; no
spelling of such a first character avoids it. No name in the repository starts so.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import quote

from allokb.model import Person, Reference

#: the export's entry type for each type references.bib allows
ENTRY_TYPES = {"article": "article", "book": "book", "incollection": "incollection", "report": "techreport",
               "online": "misc", "misc": "misc"}
#: every field written, in this order (anything else the entry has is not exported)
FIELD_ORDER = ("author", "editor", "title", "journal", "booktitle", "publisher", "institution", "organization",
               "year", "volume", "number", "pages", "howpublished", "doi", "pmid", "pmcid", "url", "note")
_URL_FIELDS = {"url", "doi"}

HEADER = ("% The bibliography of the Allopregnanolone Evidence Atlas, generated from references.bib.\n"
          "% Written as LaTeX for pdflatex with BibTeX or biber; links are \\url{...}: load hyperref.\n"
          "% Do not edit: the repository's references.bib is the source.\n")

_PLAIN = re.compile(r"[A-Za-z0-9 .,;:!?()\[\]/'`*+=@\"-]")
#: ASCII that the default (OT1) font encoding prints as other characters
_MATH_ASCII = {"<": "{$<$}", ">": "{$>$}", "|": "{$|$}",
               # BibTeX counts `\{` as a brace: a brace of the text must be a macro without one
               "{": "{$\\lbrace$}", "}": "{$\\rbrace$}",
               # dashes as TeX's ligatures, which pandoc's reader knows (it drops \\textemdash)
               "\u2014": "{---}", "\u2013": "{--}"}


def latex_text(text: str) -> str:
    """`text` written as LaTeX that pdflatex compiles with no package: ASCII letters and harmless
    punctuation as they are, every other character as one braced LaTeX group."""
    from pylatexenc.latexencode import unicode_to_latex

    out = []
    for char in unicodedata.normalize("NFC", text):
        if _PLAIN.fullmatch(char):
            out.append(char)
            continue
        if char in _MATH_ASCII:
            out.append(_MATH_ASCII[char])
            continue
        if char in "\t\n\r":
            out.append(" ")
            continue
        logging.getLogger("pylatexenc").setLevel(logging.CRITICAL)  # unknown characters are handled below
        encoded = unicode_to_latex(char, non_ascii_only=False, unknown_char_policy="keep")
        if all(_PLAIN.fullmatch(c) for c in encoded):  # a hyphen, a space: ASCII as it is
            out.append(encoded)
        elif encoded == char:  # no LaTeX form: its code point, visibly
            out.append("{\\texttt{U+%04X}}" % ord(char))
        elif encoded.startswith("\\ensuremath{") and encoded.endswith("}"):
            out.append("{$" + encoded[len("\\ensuremath{"):-1] + "$}")
        elif encoded.startswith("{") and encoded.endswith("}"):
            out.append(encoded)
        else:
            out.append("{" + encoded + "}")
    return "".join(out)


def url_text(url: str) -> str:
    """A URL as a BibTeX value: the characters that would end the value or the `\\url` argument,
    and every non-ASCII character (as UTF-8), are percent-encoded (they mean the same in a URL)."""
    url = "".join(c if c.isascii() else quote(c, safe="") for c in url)
    return url.replace("\\", "%5C").replace("{", "%7B").replace("}", "%7D")


def howpublished_url(url: str) -> str:
    """`\\url{...}` for `howpublished`, which styles print as text: `%` and `#` escaped, as
    hyperref's `\\url` reads them both at the top level (plain.bst) and inside another command's
    argument (biblatex's `\\field`); `~` and `^` percent-encoded (the same URL)."""
    text = url_text(url).replace("~", "%7E").replace("^", "%5E")
    return "\\url{" + text.replace("%", "\\%").replace("#", "\\#") + "}"


_WORD = re.compile(r"\S+")
#: punctuation around a word, kept outside its braces
_EDGE = "()[]{},.;:!?\"'\u2018\u2019\u201c\u201d"
_PARTS = re.compile(r"[-\u2010-\u2015/]")


def _needs_braces(word: str) -> bool:
    """Whether a style's case change would spoil `word`: an acronym, a capital after the first
    letter of a part, or capitals with digits."""
    for part in _PARTS.split(word.strip(_EDGE)):
        letters = [c for c in part if c.isalpha()]
        capitals = sum(c.isupper() for c in letters)
        if capitals >= 2 or any(c.isupper() for c in letters[1:]):
            return True
        if capitals and any(c.isdigit() for c in part):
            return True
    return False


def _sentence_case(words: list[str]) -> bool:
    """Whether a title is written in sentence case: most of its longer words after the first
    start with a small letter."""
    long = [w for w in words[1:] if len(w) > 3 and w[0].isalpha()]
    return bool(long) and sum(w[0].isupper() for w in long) * 2 < len(long)


def title_text(title: str) -> str:
    """A title as LaTeX, with the words a style's case change would spoil in braces."""
    words = _WORD.findall(title)
    sentence = _sentence_case(words)
    out = []
    for i, word in enumerate(words):
        protect = _needs_braces(word) or (sentence and i > 0 and word[0].isupper()
                                          and not words[i - 1].endswith(":"))
        if not protect:
            out.append(latex_text(word))
            continue
        core = word.strip(_EDGE) or word
        start = word.index(core)
        out.append(latex_text(word[:start]) + "{" + latex_text(core) + "}" + latex_text(word[start + len(core):]))
    return " ".join(out)


def _name_part(text: str) -> str:
    encoded = latex_text(text)
    # a part holding "and" or a comma would be split by BibTeX: keep it whole
    return "{" + encoded + "}" if re.search(r"\band\b|,", text, re.I) else encoded


#: a family name that starts with a lower-case word: a particle (`de Wit`, `dos Santos`, `van der Berg`)
_PARTICLE = re.compile(r"[^\W\d_A-Z]+\s+\S")


def _family_part(family: str) -> str:
    """A family name as BibTeX writes it. One that starts with a particle is braced whole
    (`{de Wit}`): the site and the CSL-JSON export treat `de Wit` as the family name, while
    BibTeX, biber and pandoc would take an unbraced `de` for a particle that a style may drop
    (pandoc cites `de Wit, H.` as "Wit et al."), so the two exports would cite it differently."""
    if _PARTICLE.match(family) and family[0].islower():
        return "{" + latex_text(family) + "}"
    return _name_part(family)


def person_text(person: Person) -> str:
    """One name as BibTeX writes it: `Family, Given`, `others`, or a corporate name in braces;
    a family name with a particle in braces (`{de Wit}, H.`)."""
    if person.literal:
        return "{" + latex_text(person.literal) + "}"
    family = person.family or ""
    if family == "others" and not person.given:
        return "others"
    return _family_part(family) + (", " + _name_part(person.given) if person.given else "")


def names_text(people: Iterable[Person]) -> str:
    return " and ".join(person_text(p) for p in people)


def entry_fields(ref: Reference) -> dict[str, str]:
    """The exported fields of one reference, as BibTeX values (without their outer braces)."""
    get = ref.get
    out: dict[str, str] = {}
    people = ref.authors
    organization = get("organization")
    if people:
        out["author"] = names_text(people)
    elif organization:
        out["author"] = "{" + latex_text(organization) + "}"
    if ref.editors:
        out["editor"] = names_text(ref.editors)
    for name in FIELD_ORDER:
        value = get(name)
        if not value or name in ("author", "editor") or name in out:
            continue
        if name == "organization" and (not people or ref.entry_type == "report"):
            continue  # already the author, or the institution below
        if name == "title":
            out[name] = title_text(value)
        elif name in _URL_FIELDS:
            out[name] = url_text(value)
        elif name == "pages":
            out[name] = latex_text(re.sub(r"\s*[-\u2010-\u2015]+\s*", "--", value))
        else:
            out[name] = latex_text(value)
    if ref.entry_type == "report" and "institution" not in out and (get("institution") or organization):
        out["institution"] = latex_text(get("institution") or organization or "")
    if ENTRY_TYPES.get(ref.entry_type, "misc") == "misc" and get("url") and "howpublished" not in out:
        out["howpublished"] = howpublished_url(get("url") or "")
    return {name: out[name] for name in FIELD_ORDER if name in out}


def bibtex_entry(ref: Reference) -> str:
    fields = entry_fields(ref)
    body = "".join(f"  {name} = {{{value}}},\n" for name, value in fields.items())
    return f"@{ENTRY_TYPES.get(ref.entry_type, 'misc')}{{{ref.key},\n{body}}}\n"


def bibtex(refs: Iterable[Reference]) -> str:
    """The whole export: the header, then every entry sorted by key."""
    return HEADER + "".join("\n" + bibtex_entry(r) for r in sorted(refs, key=lambda r: r.key))
