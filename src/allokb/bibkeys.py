"""Bib keys in the house form: first author's surname, year of publication, first title word.

`griffin1999selective`. Each part is lower-case ASCII: accents are dropped and spaces, hyphens and
apostrophes removed (`Bäckström` -> `backstrom`, `St Onge` -> `stonge`, `Gunduz-Bruce` ->
`gunduzbruce`, `de Wit` -> `dewit`), as `allokb add-reference` writes keys.

`key_problem` checks a key against its entry (KB455):

- **Surname.** The key begins with the first author's surname, particles included (`de Wit`). When
  the first author is an organisation (an entry without `author` but with `organization`, or a
  braced corporate author such as `{World Health Organization}`), the key begins with a name made
  from the organisation's name: one of its words, several consecutive words joined, or a run of at
  least two of its initials, where `of`, `and`, `the` and `for` are skipped for the initials (and may
  be skipped in joined words): `U.S. Food and Drug Administration` gives `fda` (initials `usfda`),
  `food`, `fooddrug`; `ClinicalTrials.gov` gives `clinicaltrialsgov`. An abbreviation that is not
  its initials (`APhA`) is a word of the name once written in it: `American Pharmacists Association
  (APhA)`. Without author, organisation or editor the surname is not checked.
- **Year.** The year of publication follows the surname. An entry without a year has no year in
  its key: a key that carries one (`wikipedia2026allopregnanolone` for a page without a date)
  is reported. A malformed year (KB411) is not compared.
- **Title word.** Not compared, beyond a key having one: which word is the *first significant*
  one depends on a list of stop words, and two papers of one author and year are told apart by
  another word (`clayton2023zuranolone`, `clayton2023mountain`). A key that ends at its year
  (`moe2017`) is reported.

The key the rule would make, for the hint, keeps the key's own title word (or, without one,
takes the title's first significant word, as `allokb add-reference` does).
"""

from __future__ import annotations

import re
import unicodedata

from bibtexparser.middlewares.names import split_multiple_persons_names

from allokb.bib import BIBKEY, YEAR, split_authors
from allokb.diagnostics import shown
from allokb.model import Reference

#: the words `allokb add-reference` skips to find a title's first significant word (as in
#: allokb.remote_verify.make_key)
STOP_WORDS = frozenset("a an the of on in and for to with at by from as into how what why when which can does do is "
                       "are i".split())
#: the words an organisation's initials skip
ORG_STOP_WORDS = frozenset({"of", "and", "the", "for"})
_FOLD = str.maketrans({"ß": "ss", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ł": "l",
                       "Ł": "L", "đ": "d", "Đ": "D", "þ": "th", "ı": "i"})
_WORD = re.compile(r"[a-z0-9]+")
_MARKS = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")  # combining accents
_YEAR_IN_KEY = re.compile(r"[0-9]{4}")
_LETTERS = re.compile(r"[a-z]*")
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


def ascii_fold(text: str) -> str:
    """Lower-case ASCII letters and digits of `text`, accents folded (`Bäckström` -> `backstrom`)."""
    plain = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return re.sub(r"[^a-z0-9]", "", plain.encode("ascii", "ignore").decode("ascii").lower())


def words(text: str) -> list[str]:
    """The words of `text`, folded like `ascii_fold`: split wherever there is neither a letter nor
    a digit (a dash or a Greek letter splits words, an accent does not)."""
    plain = _MARKS.sub("", unicodedata.normalize("NFKD", text.translate(_FOLD))).lower()
    return _WORD.findall(plain)


def _runs(text: str, parts: list[str]) -> set[int]:
    """Every length L such that `text[:L]` is one or more consecutive `parts` joined."""
    ends = set()
    for i in range(len(parts)):
        pos = 0
        for part in parts[i:]:
            if not text.startswith(part, pos):
                break
            pos += len(part)
            ends.add(pos)
    return ends


def _initials(key: str, significant: list[str]) -> set[int]:
    """Every length L >= 2 such that `key[:L]` is a run of the initials of `significant`."""
    initials = "".join(w[0] for w in significant)
    ends = set()
    for i in range(len(initials)):
        common = 0
        while common < len(key) and i + common < len(initials) and key[common] == initials[i + common]:
            common += 1
        ends.update(range(2, common + 1))
    return ends


def first_author(ref: Reference) -> tuple[str, str] | None:
    """("person", surname) or ("organisation", name) of the entry's first author (or, without
    one, its organisation or first editor); None when it has none."""
    organisation = ref.get("organization")
    if not (ref.author_list or "").strip() and organisation:
        return "organisation", organisation
    names = next((n for n in (ref.author_list, ref.editor_list) if n and n.strip()), None)
    if names is None:
        return None
    name = _first_name(names)
    if "{" not in name and "\\" not in name and name.count(",") == 1:  # `Family, Given`: no parsing needed
        return "person", name.split(",", 1)[0]
    people = split_authors(name)
    if not people:
        return None
    if people[0].literal:
        return "organisation", people[0].literal
    return "person", people[0].family or ""


def _first_name(names: str) -> str:
    """The first name of a BibTeX name list: only it is parsed (names are slow to parse, and the
    key needs no other). Without braces, BibTeX's `and` is a word `and` between spaces."""
    if "{" not in names:
        return _AND.split(names.strip(), 1)[0]
    return next(iter(split_multiple_persons_names(names)), "")


def _surname_ends(key: str, author: tuple[str, str] | None) -> tuple[set[int] | None, str]:
    """Lengths of the prefixes of `key` that are a surname the rule allows, or None when it
    cannot be checked; and the surname the rule would write."""
    if author is None:
        return None, ""
    kind, name = author
    if kind == "person":
        surname = ascii_fold(name).lstrip("0123456789")
        if not surname:
            return None, ""
        return ({len(surname)} if key.startswith(surname) else set()), surname
    every = words(name)
    significant = [w for w in every if w not in ORG_STOP_WORDS]
    if not significant:
        return None, ""
    ends = _runs(key, every) | _runs(key, significant) | _initials(key, significant)
    made = "".join(significant) if len(significant) <= 2 else "".join(w[0] for w in significant)
    return ends, made.lstrip("0123456789")


def title_word(title: str) -> str:
    """The first significant word of a title, as `allokb add-reference` picks it."""
    for token in title.split():
        word = ascii_fold(token).lstrip("0123456789")
        if word and word not in STOP_WORDS:
            return word
    return ""


def key_problem(ref: Reference) -> tuple[list[str], str] | None:
    """What in `ref.key` does not follow the house rule for its entry (clauses of a message), and
    the key the rule would make; None when the key follows it (or is malformed: KB409)."""
    key = ref.key
    if not BIBKEY.match(key):
        return None
    year_field = (ref.get("year") or "").strip()
    year = year_field if YEAR.match(year_field) else None
    author = first_author(ref)
    ends, surname = _surname_ends(key, author)
    title = ref.get("title") or ""
    # Ways to read the key as surname | year | title word: after each surname the rule allows
    # (the longest first) that four digits follow, if the key has four digits anywhere; and as the
    # key itself is written, up to its first four digits.
    found = _YEAR_IN_KEY.search(key, 1)
    splits = [(n, n + 4 if found else n) for n in sorted(ends or (), reverse=True)
              if not found or _YEAR_IN_KEY.match(key, n)]
    if found:
        splits.append((found.start(), found.end()))
    elif ends is not None:
        splits.append((len(_LETTERS.match(key).group()),) * 2)  # type: ignore[union-attr]
    elif year is not None:  # neither a surname nor a year to split the key at
        return [f"does not carry the entry's year `{year}`"], key
    else:
        return None
    best: tuple[int, int, list[str]] | None = None
    for s, y in splits:
        carried = key[s:y]
        problems = []
        if ends is not None and s not in ends:
            problems.append(_surname_clause(author, surname))
        if year is not None and carried != year:
            problems.append(f"carries the year `{carried}`, but the entry's year is `{year}`" if carried
                            else f"does not carry the entry's year `{year}` after the surname")
        elif not year_field and carried:  # (a malformed year, KB411, is not compared)
            problems.append(f"carries the year `{carried}`, but the entry has no year")
        if y == len(key) and title:
            problems.append("has no word of the title after the year" if carried or year
                            else "has no word of the title after the surname")
        if best is None or len(problems) < len(best[2]):
            best = (s, y, problems)
    assert best is not None
    s, y, clauses = best
    if not clauses:
        return None
    name = key[:s] if ends is None or s in ends else (surname or key[:s])
    return clauses, f"{name}{year or ''}{key[y:] or title_word(title)}"


def _surname_clause(author: tuple[str, str] | None, surname: str) -> str:
    assert author is not None
    if author[0] == "person":
        return f"does not begin with the first author's surname `{surname}`"
    return (f"does not begin with a name made from the organisation `{shown(author[1])}` (one of its words, words "
            "joined, or its initials)")
