"""Numbers traced (issue 12, item 7): every number of a claim's statement, size and dose is in
one of its supported or partial quotes, or declared derived with its arithmetic (KB460, KB461).
A number missing from the quotes fails; the same number written otherwise passes; digits in
names are not numbers; `unchecked` and `not-supported` quotes hold nothing up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from allokb.cli import main
from allokb.grade import matrix_data
from allokb.numbers import canonical, numbers_in
from allokb.project import check_project
from allokb.render import SiteInfo, render_site
from conftest import REPO, make_project

FILE = "content/interventions/example-avoid.yaml"
# A reference without a committed source text: its quotes are checked by hand (no KB440), so a
# test can quote any words.
WEB = "examplewiki2024page"
HEAD = """id: example-avoid
name: "Avoid example blocker"
category: avoidance
summary: "A fictional drug that blocks step one."
direction: preserves
prescription_status: prescription
populations: [men]
mechanisms: [step-one]
claims:
  - id: numbers
"""
#: the fields the evidence matrix requires, after the claim so that its line numbers stay put
TAIL = ("relation: lowers\nmain_outcome: {outcome: allo-level, population: men}\n"
        "bottom_line:\n  - text: \"A fictional entry.\"\n")
PASSED = "check passed: 0 errors, 0 warnings in 8 files\n"


def q(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string form is one)."""
    return json.dumps(text, ensure_ascii=False)


def write_claim(root: Path, statement: str, quotes: list[tuple[str, str]], *, size: str = "not reported",
                dose: str = "not reported", derived: list[tuple[str, str]] | None = None) -> None:
    """example-avoid.yaml with one claim: the statement on line 11, size on 12, dose on 13; its
    citations quote `quotes` as (quote, support) from a reference without a source text."""
    text = HEAD + f"    statement: {q(statement)}\n    size: {q(size)}\n    dose: {q(dose)}\n"
    text += "    outcome: allo-level\n    direction: increases\n    population: general-adults\n    citations:\n"
    for quote, support in quotes:
        text += f"      - ref: {WEB}\n        quote: {q(quote)}\n        support: {support}\n"
    if derived:
        text += "    derived:\n" + "".join(f"      - value: {q(v)}\n        how: {q(h)}\n" for v, h in derived)
    (root / FILE).write_text(text + TAIL, encoding="utf-8")


def check(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(["check", str(root)])
    return status, capsys.readouterr().out


def failed(*lines: str) -> str:
    n = len(lines)
    return "".join(f"{line}\n" for line in lines) + f"check failed: {n} error{'s' * (n != 1)}, 0 warnings in 8 files\n"


AT = {"statement": "11:16", "size": "12:11", "dose": "13:11"}


def kb460(field: str, number: str, have: str, value: str | None = None) -> str:
    """The exact KB460 line for `number` in `field` of the test claim; `have` lists the quotes'
    numbers as the hint shows them."""
    return (f"{FILE}:{AT[field]}: error[KB460] $.claims[0].{field}: number `{number}` in `{field}` is in none of "
            f"the claim's supported or partial quotes (they have {have}; quote the words that state it, or, if it is "
            f"arithmetic on quoted numbers, declare it: `derived: [{{value: \"{value or number}\", how: \"...\"}}]` "
            "with the arithmetic written out)")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_project(tmp_path / "kb")


# --- what a number is ------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "values"), [
    ("1,662 women", ["1662"]),
    ("1662 women", ["1662"]),
    ("0.5 mg and .5 mg", ["0.5", "0.5"]),
    ("48.4% of 10.0 and 010.50", ["48.4", "10", "10.5"]),
    ("10–30-fold", ["10", "30"]),
    ("10- to 30-fold", ["10", "30"]),
    ("2.5–5 mg", ["2.5", "5"]),
    ("from -5 to +5, −7", ["5", "5", "7"]),
    ("types 1,2 and 1,23", ["1", "2", "1", "23"]),  # a comma separates thousands only before three digits
    ("Four women, twenty-five men, two hundred rats, a hundred mice, Zero", ["4", "25", "200", "100", "0"]),
    ("eleven, twelve, thirteen, nineteen, twenty, thirty, ninety", ["11", "12", "13", "19", "20", "30", "90"]),
    ("one of them", ["1"]),
    ("often, tent, someone, nineteenth, tens", []),  # number words inside other words
    ("5α-reductase, 3β-HSD, 3α,5α-THP, 17beta-estradiol, 5alpha-reductase", []),
    ("SAGE-217, LYT-300, HAMD-17, omega-3, COVID-19, GABAA, C18, CYP3A4, type III", []),
    ("5-HT, 5-ARIs, 5-alpha-reductase, 3-alpha, µg·kg−1", []),
    ("as shown [12], [3, 4] and [12–15]", []),
    ("50mg, 1.75mg, 55x, 3rd, 5µg", ["50", "1.75", "55", "3", "5"]),  # a glued unit keeps a number
    ("a 14-day course, 50-fold, 60-hour infusion", ["14", "50", "60"]),
    ("3T fMRI and vitamin B6", []),
])
def test_numbers_in(text: str, values: list[str]) -> None:
    assert [n.value for n in numbers_in(text)] == values


def test_numbers_keep_how_they_were_written() -> None:
    assert [(n.value, n.text) for n in numbers_in("Four of 1,662 (0.50%)")] == [
        ("4", "Four"), ("1662", "1,662"), ("0.5", "0.50")]


@pytest.mark.parametrize(("numeral", "value"), [
    ("1,662", "1662"), ("010.50", "10.5"), (".5", "0.5"), ("10.0", "10"), ("0", "0"), ("000", "0"), ("0.0", "0")])
def test_canonical(numeral: str, value: str) -> None:
    assert canonical(numeral) == value


# --- the check: a number missing from the quotes fails ----------------------------------------

def test_number_missing_from_the_quotes_fails(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_claim(root, "Levels rose 4-fold in 1,662 adults.", [("levels rose 3-fold in 1662 adults", "supported")])
    assert check(root, capsys) == (1, failed(kb460("statement", "4", "`3`, `1662`")))


def test_size_and_dose_are_checked_at_their_fields(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_claim(root, "Levels rose in adults.", [("levels rose 3-fold after 10 mg", "supported")],
                size="30-fold", dose="10 mg, then 2.5–5 mg")
    assert check(root, capsys) == (1, failed(
        kb460("size", "30", "`3`, `10`"), kb460("dose", "2.5", "`3`, `10`"), kb460("dose", "5", "`3`, `10`")))


def test_each_number_is_reported_once_per_field(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_claim(root, "12 rats, then 12 more, then 12 again.", [("rats", "supported")])
    assert check(root, capsys) == (1, failed(kb460("statement", "12", "no numbers")))


@pytest.mark.parametrize(("statement", "quote", "missing", "value"), [
    ("30 women", "300 women", "30", "30"),  # by value, not as a substring
    ("300 women", "30 women", "300", "300"),
    ("3.5 mg", "35 mg", "3.5", "3.5"),
    ("1,662 women", "1,663 women", "1,662", "1662"),
    ("four women", "14 women", "four", "4"),
    ("40% of women", "4 of 10 women", "40", "40"),
    ("SAGE-217 at 217 mg", "SAGE-217 was given", "217", "217"),  # a name in the quote is not its number
])
def test_other_numbers_fail(statement: str, quote: str, missing: str, value: str, root: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    write_claim(root, statement, [(quote, "supported")])
    have = ", ".join(f"`{n.text}`" for n in numbers_in(quote)) or "no numbers"
    assert check(root, capsys) == (1, failed(kb460("statement", missing, have, value)))


# --- the same number written otherwise passes -------------------------------------------------

@pytest.mark.parametrize(("statement", "quote"), [
    ("1,662 women", "1662 women"),
    ("1662 women", "1,662 women"),
    ("a 10–30-fold rise", "a 10- to 30-fold rise"),
    ("a 10- to 30-fold rise", "rose 10–30-fold"),
    ("four women", "4 women"),
    ("4 women", "Four women"),
    ("25 men", "twenty-five men"),
    ("200 rats", "two hundred rats"),
    ("10 mg", "10.0 mg"),
    ("48.4% fewer", "48.4 % fewer"),
    ("2.5–5 mg", "2.5 to 5 mg"),
    ("a −5-point change", "changed by 5 points"),
    ("10 mg daily", "a daily dose of 10mg"),
])
def test_same_number_written_otherwise_passes(statement: str, quote: str, root: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    write_claim(root, statement, [(quote, "supported")])
    assert check(root, capsys) == (0, PASSED)


def test_a_partial_quote_holds_numbers_too(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_claim(root, "Levels rose 4-fold in 12 adults.", [("rose 4-fold", "supported"), ("12 adults", "partial")])
    assert check(root, capsys) == (0, PASSED)


@pytest.mark.parametrize("statement", [
    "SAGE-217 and LYT-300 act like it; HAMD-17 and omega-3 do not; nor did COVID-19.",
    "5α-reductase and 3β-HSD make it; CYP3A4 breaks it down; GABAA receptors and C18 steroids.",
    "5-HT and 5-ARIs; 5alpha-reductase; type III.",
    "Shown before [12], and again [3, 4] and [12–15].",
    "One review says so, and one of the trials.",  # `one` in a claim is not checked
])
def test_names_with_digits_are_not_numbers(statement: str, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_claim(root, statement, [("no numbers here", "supported")])
    assert check(root, capsys) == (0, PASSED)


# --- unchecked and not-supported quotes hold nothing up ---------------------------------------

@pytest.mark.parametrize("support", ["unchecked", "not-supported"])
def test_unsupporting_quotes_do_not_count(support: str, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_claim(root, "Levels rose 4-fold.", [("levels rose 4-fold", support), ("levels rose", "supported")])
    assert check(root, capsys) == (1, failed(kb460("statement", "4", "no numbers")))


# --- derived numbers --------------------------------------------------------------------------

def test_derived_number_passes(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_claim(root, "64% had moderate or severe symptoms.", [("28% moderate and 36% severe", "supported")],
                derived=[("64", "28% moderate + 36% severe = 64%")])
    assert check(root, capsys) == (0, PASSED)


def test_derived_number_covers_its_value_in_every_field(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_claim(root, "Four in ten (40%) responded.", [("4 of 10 responded", "supported")], size="40%",
                derived=[("40", "4 of 10 = 40%")])
    assert check(root, capsys) == (0, PASSED)


def test_derived_arithmetic_is_shown_on_the_claim(root: Path) -> None:
    write_claim(root, "64% had moderate or severe symptoms.", [("28% moderate and 36% severe", "supported")],
                derived=[("64", "28% moderate + 36% severe = 64%"), ("64", "<b>28 + 36</b>")])
    result = check_project(root)
    assert not result.failed()
    site = SiteInfo(site_name="Atlas", site_url="https://example.org/atlas/", repo_url="https://example.org/repo",
                    branch="main", updated={}, build_date="2026-11-27")
    pages = render_site(REPO, result.kb, site, {k: matrix_data(result.rubric, g) for k, g in result.grades.items()}, result.rubric).pages
    page = next(p.markdown for p in pages if p.src_uri == "interventions/example-avoid.md")
    facts = page[page.index('<div class="allokb-claim-facts" markdown>'):]
    assert facts.split("\n</div>")[0].splitlines()[2:] == [
        "", "**Worked out from the quotes:** 28% moderate + 36% severe = 64%; &#60;b&#62;28 + 36&#60;/b&#62;"]


def test_stale_derived_number_fails(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_claim(root, "Most had moderate or severe symptoms.", [("28% moderate and 36% severe", "supported")],
                derived=[("64", "28% moderate + 36% severe = 64%")])
    assert check(root, capsys) == (1, failed(
        f"{FILE}:22:16: error[KB461] $.claims[0].derived[0].value: derived value `64` is in none of the claim's "
        "statement, size and dose (remove the entry, or correct its value)"))


def test_derived_number_without_quoted_arithmetic_fails(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_claim(root, "64% had moderate or severe symptoms.", [("28% moderate and 36% severe", "supported")],
                derived=[("64", "the sum of the two groups")])
    assert check(root, capsys) == (1, failed(
        f"{FILE}:23:14: error[KB461] $.claims[0].derived[0].how: the arithmetic of derived value `64` holds none "
        "of the claim's quoted numbers (they have `28`, `36`; write the arithmetic out from them, e.g. "
        "`4 of 10 = 40%`)"))


def test_derived_arithmetic_from_unsupporting_quotes_fails(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_claim(root, "64% had moderate or severe symptoms.", [("28% moderate and 36% severe", "unchecked")],
                derived=[("64", "28% moderate + 36% severe = 64%")])
    assert check(root, capsys) == (1, failed(
        f"{FILE}:23:14: error[KB461] $.claims[0].derived[0].how: the arithmetic of derived value `64` holds none "
        "of the claim's quoted numbers (they have no numbers; write the arithmetic out from them, e.g. "
        "`4 of 10 = 40%`)"))


def test_derived_value_is_digits(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_claim(root, "64% had moderate or severe symptoms.", [("28% moderate and 36% severe", "supported")],
                derived=[("64%", "28% moderate + 36% severe = 64%")])
    status, out = check(root, capsys)
    assert status == 1
    assert out.startswith(f"{FILE}:22:16: error[KB205] $.claims[0].derived[0].value: ")
    assert out.endswith("check failed: 1 error, 0 warnings in 8 files\n")


# --- dose entries -----------------------------------------------------------------------------

DOSE = """dosing:
  - population: men
    amount: {amount}
    frequency: "twice a day"
    supervision: required
    reported_by:
      ref: {ref}
      quote: {quote}
      support: {support}
"""


def write_dose(root: Path, amount: str, quote: str, support: str = "supported") -> None:
    write_claim(root, "Levels rose.", [("levels rose", "supported")])
    with (root / FILE).open("a", encoding="utf-8") as f:
        f.write(DOSE.format(amount=q(amount), ref=WEB, quote=q(quote), support=support))


def test_dose_entry_amount_in_its_quote_passes(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_dose(root, "50–200 mg", "doses of 50 to 200 mg")
    assert check(root, capsys) == (0, PASSED)


def test_dose_entry_amount_missing_from_its_quote_fails(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_dose(root, "50–300 mg", "doses of 50 to 200 mg")
    assert check(root, capsys) == (1, failed(
        f"{FILE}:27:13: error[KB460] $.dosing[0].amount: number `300` in `amount` is not in the quote of "
        "`reported_by` (it has `50`, `200`; quote the words that state it, or leave it out)"))


def test_dose_entry_with_unchecked_report_fails(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_dose(root, "50 mg", "doses of 50 mg", support="unchecked")
    assert check(root, capsys) == (1, failed(
        f"{FILE}:27:13: error[KB460] $.dosing[0].amount: number `50` in `amount` is in no quote that supports it "
        "(`reported_by` is `unchecked`) (check the source; quote the words that state it, or leave it out)"))
