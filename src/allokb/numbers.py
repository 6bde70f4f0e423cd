"""Numbers traced: every number a claim states is in one of its supporting quotes, or derived.

A number in a claim's `statement`, `size` or `dose` must appear in a quote of one of the
claim's citations whose support is `supported` or `partial` (KB460), or be declared in the
claim's `derived` list with the arithmetic that gives it from quoted numbers (KB461 checks that
list). The rules are `allokb.rules.numbers`; this module says what a number is. So must a number in a dose entry's `amount`, `timing`, `frequency` or `duration`, in the
quote of its `reported_by` citation, which must then be supported or partial. Misattributed
numbers were what was wrong with the source post; this check keeps them from coming back.

What a number is (`numbers_in`), deterministically:

- ASCII digits with an optional decimal part and thousands separators: `1,662` is 1662, `0.5`,
  `.5` (0.5), `48.4%` is 48.4. A comma separates thousands only before exactly three digits
  (`1,662`; `1,2` is 1 and 2).
- a range gives both ends, `10–30`, `10- to 30-fold`, `2.5–5 mg`; signs are ignored (`-5`, `−5`
  and `+5` are 5).
- digits that are part of a name are not numbers: digits glued to a letter (Latin, Greek or any
  other) before or after them (`5α-reductase`, `3β`, `C18`, `CYP3A4`, `17beta`), digits after a
  letter and a hyphen (`SAGE-217`, `LYT-300`, `HAMD-17`, `omega-3`, `COVID-19`), and digits
  before a hyphen and a capital or Greek letter or a Greek letter's name (`5-HT`, `5-ARIs`,
  `5-alpha`). A unit or an ordinal ending glued to digits keeps them a number (`50mg`, `1.75mg`,
  `55x`, `3rd`: see `UNITS`). Roman numerals (`type III`) are not numbers.
- a citation marker in square brackets (`[12]`, `[3, 4]`, `[12–15]`) holds no numbers.
- number words count as their value, in quotes and in claims alike (`Four women` in a quote
  supports `4 women`, `4` supports `four`): zero to twenty, the tens (`thirty` ... `ninety`),
  `hundred`, a ten joined to a unit (`twenty-five`, 25) and a unit before `hundred` (`two
  hundred`, 200). The word `one` on its own supports a 1 but is not itself checked in a claim:
  there it is nearly always a pronoun or an article (`one of`, `one review`), not a count.

Numbers are compared by value, never as substrings: `10` = `10.0`, `30` is not `300`. The risk,
accepted: a number that happens to have the value of another number in the quote passes (a
claim's `60 hours` against a quote's `60 mcg/kg/hr`).

`derived`, an optional list on a claim, declares the numbers that are arithmetic on quoted
numbers: each entry gives the `value` as the statement, size or dose has it (`"40"`) and `how`,
the arithmetic written out from quoted numbers (`"4 of 10 = 40%"`). An entry whose `how` holds
none of the claim's quoted numbers, or whose value is in none of the statement, size and dose
(stale), is KB461.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

from allokb.model import Cite

#: the supports whose quotes hold a claim's numbers
SUPPORTING = ("supported", "partial")
#: the fields of a claim whose numbers are traced, in the order they are checked
CLAIM_FIELDS = ("statement", "size", "dose")
#: the fields of a dose entry whose numbers are traced to its `reported_by` quote
DOSE_FIELDS = ("amount", "timing", "frequency", "duration")
#: units and ordinal endings that may be glued to digits without making them part of a name
UNITS = frozenset(
    "mg g kg mcg µg μg ug ng pg ml l dl mm cm m µm μm um nm nmol pmol mmol iu kcal h hr hrs min s d wk wks mo "
    "y yr yrs am pm x fold st nd rd th".split())
#: number words that a quote may hold but a claim is not checked for (see the module docstring)
NOT_CHECKED_IN_CLAIMS = frozenset({"one"})

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
         "sixteen seventeen eighteen nineteen twenty").split()
_WORDS = {word: i for i, word in enumerate(_ONES)}
_TENS = {word: 10 * i for i, word in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split(), 2)}
_VALUE_OF_WORD = {**_WORDS, **_TENS, "hundred": 100}
_UNIT = "one|two|three|four|five|six|seven|eight|nine"
_JOIN = "[-\u2010\u2011 ]"
_HYPHENS = "-\u2010\u2011\u2212"  # hyphen-minus, hyphen, non-breaking hyphen, minus sign
_NOT_LETTER_AFTER = r"(?![^\W\d_])"

# Numerals: thousands groups (a comma before exactly three digits), a decimal part, or a bare
# decimal part (`.5`). Number words, matched in the lower-cased text: `tens` and `unit` a compound
# such as twenty-five, `hundreds` a unit before hundred, `word` any other. Two simple patterns
# are several times faster than one that holds both behind a look-behind.
_NUMERAL = re.compile(r"[0-9]+(?:,[0-9]{3}(?![0-9]))*(?:\.[0-9]+)?|\.[0-9]+")
_WORD_PATTERN = (rf"\b(?:(?P<tens>{'|'.join(_TENS)}){_JOIN}(?P<unit>{_UNIT})|(?P<hundreds>{_UNIT}){_JOIN}hundred"
                 rf"|(?P<word>{'|'.join(sorted(_VALUE_OF_WORD, key=len, reverse=True))})){_NOT_LETTER_AFTER}")
_NUMBER_WORD = re.compile(_WORD_PATTERN)
_NUMBER_WORD_ANY_CASE = re.compile(_WORD_PATTERN, re.IGNORECASE)  # for the rare text lower() lengthens
_MARKER = re.compile(r"\[\s*[0-9]+(?:\s*[,\u2013\u2014-]\s*[0-9]+)*\s*\]")
#: after digits and a hyphen, the start of a name: a capital, a Greek letter, a Greek letter's name
_NAME_AFTER_HYPHEN = re.compile(r"[A-Z\u0370-\u03ff]|(?i:alpha|beta|gamma|delta|epsilon|kappa|omega)(?![a-z])")
_LETTERS = re.compile(r"[^\W\d_]+")
_DIGITS = "0123456789"


class Number(NamedTuple):
    """A number found in a text: its value in canonical form and the text it was written as (a
    named tuple: texts hold tens of thousands of numbers, and a tuple is the cheapest record)."""

    value: str
    text: str


def canonical(numeral: str) -> str:
    """The canonical form of a numeral: no thousands separators, no leading zeros, no trailing
    decimal zeros (`1,662` -> `1662`, `010.50` -> `10.5`, `.5` -> `0.5`, `10.0` -> `10`)."""
    if numeral.isdigit() and numeral[0] != "0":
        return numeral
    whole, _, fraction = numeral.replace(",", "").partition(".")
    whole = whole.lstrip("0") or "0"
    fraction = fraction.rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


def numbers_in(text: str) -> list[Number]:
    """Every number in `text`, in order (see the module docstring for what counts)."""
    if "[" in text:
        text = _MARKER.sub(" ", text)
    found: list[tuple[int, Number]] = []
    for m in _NUMERAL.finditer(text):
        numeral, start = m.group(), m.start()
        if numeral[0] == "." and start and text[start - 1] in _DIGITS + ".":  # `1.2.3`: no bare `.3`
            numeral, start = numeral[1:], start + 1
        if not _in_name(text, start, m.end()):
            found.append((start, Number(canonical(numeral), numeral)))
    lower = text.lower()
    words, haystack = (_NUMBER_WORD, lower) if len(lower) == len(text) else (_NUMBER_WORD_ANY_CASE, text)
    for m in words.finditer(haystack):
        found.append((m.start(), Number(_word_value(m), text[m.start():m.end()])))
    if len(found) > 1:
        found.sort(key=_first)
    return [number for _, number in found]


def _first(pair: tuple[int, Number]) -> int:
    return pair[0]


def _word_value(m: re.Match[str]) -> str:
    if m.group("tens"):
        return str(_TENS[m.group("tens").lower()] + _WORDS[m.group("unit").lower()])
    if m.group("hundreds"):
        return str(100 * _WORDS[m.group("hundreds").lower()])
    return str(_VALUE_OF_WORD[m.group("word").lower()])


def _in_name(text: str, start: int, end: int) -> bool:
    """Whether the digits text[start:end] are part of a name (glued to letters)."""
    if start:
        before = text[start - 1]
        if before.isalpha() or (before in _HYPHENS and start >= 2 and text[start - 2].isalpha()):
            return True
    if end < len(text):
        after = text[end]
        if after.isalpha():
            letters = _LETTERS.match(text, end)
            return letters is None or letters.group().lower() not in UNITS
        if after in _HYPHENS and _NAME_AFTER_HYPHEN.match(text, end + 1):
            return True
    return False


@lru_cache(maxsize=4096)
def _quote_numbers(quote: str) -> tuple[Number, ...]:
    """The numbers of a quote (cached: one quote often backs several claims)."""
    return tuple(numbers_in(quote))


def quoted_numbers(cites: Iterable[Cite]) -> tuple[set[str], list[str]]:
    """The values of the numbers in the quotes of the supporting `cites`, and those numbers as
    first written there, in order."""
    values: set[str] = set()
    written: list[str] = []
    for cite in cites:
        if cite.support in SUPPORTING and cite.quote:
            for n in _quote_numbers(cite.quote):
                if n.value not in values:
                    values.add(n.value)
                    written.append(n.text)
    return values, written
