"""Numbers traced: every number a claim or a dose states is in one of its supporting quotes
(KB460), and every number a claim declares `derived` is arithmetic on quoted numbers (KB461).

What a number is, and which quotes count, is `allokb.numbers`. These rules run per record at load
time (`check_numbers`, from `allokb.project.process_document`), where the record's document can
place each finding at its field: `locate` is that document's `location`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from allokb.diagnostics import Diagnostic, Location, make
from allokb.model import Claim, Intervention, Mechanism
from allokb.numbers import CLAIM_FIELDS, DOSE_FIELDS, NOT_CHECKED_IN_CLAIMS, SUPPORTING, canonical, numbers_in, quoted_numbers
from allokb.rules.catalogue import rule

#: the location of a path in the record's document
Locate = Callable[[tuple[str | int, ...]], Location]


@rule("KB460")
def check_numbers_quoted(record: Intervention | Mechanism, locate: Locate) -> Iterator[Diagnostic]:
    """Every number in a claim's `statement`, `size` and `dose` must be in the quote of one of the claim's
    `supported` or `partial` citations (`unchecked` and `not-supported` ones do not count), or be declared in
    its `derived` list; every number in a dose entry's `amount`, `timing`, `frequency` and `duration` must be in
    the quote of its `reported_by` citation, which must be supported or partial. A number is ASCII digits with
    an optional decimal part and thousands separators (`1,662` = `1662`, `0.5`, `48.4%`); a range counts as its
    two ends (`10–30`, `10- to 30-fold`); signs are ignored. Digits that are part of a name do not count: glued
    to a letter before or after (`5α-reductase`, `3β`, `C18`), after a letter and a hyphen (`SAGE-217`,
    `omega-3`, `COVID-19`), before a hyphen and a capital or Greek letter (`5-HT`, `5-alpha`); a glued unit
    keeps digits a number (`50mg`, `55x`). A citation marker such as `[12]` holds no numbers. Number words count
    as their value both ways (`four` = `4`: zero to twenty, the tens, `hundred`, `twenty-five`, `two hundred`);
    `one` alone is not checked in a claim, where it is mostly a pronoun or an article. Numbers are compared by
    value (`10` = `10.0`; `30` is not `300`), never as substrings. Quote the words that state the number,
    declare it derived, or rewrite the claim without it."""
    for i, claim in enumerate(record.claims):
        yield from _claim_numbers(claim, ("claims", i), locate)
    if isinstance(record, Intervention):
        for i, dose in enumerate(record.dosing):
            path = ("dosing", i)
            cite = dose.reported_by
            quoted, written = quoted_numbers([cite])
            if cite.support in SUPPORTING:
                what, have = "is not in the quote of `reported_by`", _have(written, "it has")
            else:
                what, have = f"is in no quote that supports it (`reported_by` is `{cite.support}`)", "check the source"
            for name in DOSE_FIELDS:
                reported: set[str] = set()
                for n in numbers_in(getattr(dose, name) or ""):
                    if n.value in quoted or n.value in reported:
                        continue
                    reported.add(n.value)
                    yield make("KB460", f"number `{n.text}` in `{name}` {what}", locate((*path, name)),
                               f"{have}; quote the words that state it, or leave it out")


def _claim_numbers(claim: Claim, path: tuple[str | int, ...], locate: Locate) -> Iterator[Diagnostic]:
    """KB460 for a claim: a number of its statement, size or dose that is in none of its
    supporting quotes and not declared derived (reported once per field)."""
    fields = [(name, numbers_in(text)) for name in CLAIM_FIELDS if (text := getattr(claim, name))]
    if not any(found for _, found in fields):
        return
    quoted, written = quoted_numbers(claim.citations)
    derived = {canonical(d.value) for d in claim.derived}
    for name, found in fields:
        reported: set[str] = set()
        for n in found:
            if n.text.lower() in NOT_CHECKED_IN_CLAIMS:
                continue
            if n.value in quoted or n.value in derived or n.value in reported:
                continue
            reported.add(n.value)
            yield make("KB460", f"number `{n.text}` in `{name}` is in none of the claim's supported or partial "
                       "quotes", locate((*path, name)),
                       f"{_have(written)}; quote the words that state it, or, if it is arithmetic on quoted "
                       f"numbers, declare it: `derived: [{{value: \"{n.value}\", how: \"...\"}}]` with the "
                       "arithmetic written out")


@rule("KB461")
def check_derived_numbers(record: Intervention | Mechanism, locate: Locate) -> Iterator[Diagnostic]:
    """An entry of a claim's `derived` list (`{value: "40", how: "4 of 10 = 40%"}`) declares a number of the
    statement, size or dose worked out from the claim's quoted numbers. Its `how` must write the arithmetic out
    with at least one number of the claim's supported or partial quotes, and its `value` must still be a number
    of the statement, size or dose; otherwise remove or correct the entry."""
    for i, claim in enumerate(record.claims):
        if not claim.derived:
            continue
        path = ("claims", i)
        stated = {n.value for name in CLAIM_FIELDS if (text := getattr(claim, name))
                  for n in numbers_in(text) if n.text.lower() not in NOT_CHECKED_IN_CLAIMS}
        quoted, written = quoted_numbers(claim.citations)
        for j, entry in enumerate(claim.derived):
            if canonical(entry.value) not in stated:
                yield make("KB461", f"derived value `{entry.value}` is in none of the claim's statement, size and "
                           "dose", locate((*path, "derived", j, "value")), "remove the entry, or correct its value")
            if not {n.value for n in numbers_in(entry.how)} & quoted:
                yield make("KB461", f"the arithmetic of derived value `{entry.value}` holds none of the claim's quoted "
                           "numbers", locate((*path, "derived", j, "how")),
                           f"{_have(written)}; write the arithmetic out from them, e.g. `4 of 10 = 40%`")


def _have(written: list[str], whose: str = "they have") -> str:
    """What the quotes hold, for a hint: `they have `40`, `10``."""
    return f"{whose} " + (", ".join(f"`{w}`" for w in written) if written else "no numbers")


def check_numbers(record: Intervention | Mechanism, locate: Locate) -> Iterator[Diagnostic]:
    """KB460 and KB461 for a record: its claims and, for an intervention, its dose entries."""
    yield from check_numbers_quoted(record, locate)
    yield from check_derived_numbers(record, locate)
