"""Pages a reader can use (issue 15, items 1 and 6): the bottom line first, claim headings of at
most 20 words, and no maintainers' words on readers' pages (KB480–KB487, allokb.readers).

Each check is shown failing on the fixture knowledge base with its exact diagnostic, and the
repository passing. The fixture's example-hormone.yaml ends with its bottom line (line 62 on),
so a test replaces the end of the file and the line numbers above it stay put.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO

from allokb.cli import main
from allokb.grade import matrix_data
from allokb.project import CheckResult, check_project
from allokb.readers import maintainer_words, reading_grade, sentences_in
from allokb.render import SiteInfo, render_site
from allokb.report import render

HORMONE = "content/interventions/example-hormone.yaml"
MECHANISM = "content/mechanisms/step-two.yaml"
#: the line of example-hormone.yaml where `bottom_line:` starts
BOTTOM = 62
KEYS = frozenset({"smith2020example", "examplewiki2024page"})


def q(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def set_bottom_line(root: Path, sentences: list[tuple[str, list[str]]] | None, *, extra: str = "") -> None:
    """Replace the bottom line (and what follows it) of example-hormone.yaml."""
    path = root / HORMONE
    head = path.read_text(encoding="utf-8").split("bottom_line:\n")[0]
    text = head
    if sentences is not None:
        text += "bottom_line:\n"
        for sentence, claims in sentences:
            text += f"  - text: {q(sentence)}\n"
            if claims:
                text += f"    claims: [{', '.join(claims)}]\n"
    path.write_text(text + extra, encoding="utf-8")


def reader_lines(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """The exit status of `allokb check` and its KB48x lines."""
    status = main(["check", str(root)])
    out = capsys.readouterr().out
    return status, [line for line in out.splitlines() if "[KB48" in line]


def test_repository_passes_strict(repo_check: CheckResult) -> None:
    # what `allokb check --strict` reports and exits with, from the session's check of the repository
    assert not repo_check.failed(strict=True)
    assert render(repo_check.diagnostics, "text", repo_check.files, True).startswith(
        "check passed (strict): 0 errors, 0 warnings in ")


def test_every_repository_intervention_has_a_short_plain_bottom_line(repo_check: CheckResult) -> None:
    result = repo_check
    assert len(result.kb.interventions) >= 19
    for item in result.kb.interventions.values():
        texts = [s.text for s in item.bottom_line]
        assert 1 <= len(texts) <= 3, item.id
        assert sum(len(t.split()) for t in texts) < 70, item.id
        assert reading_grade(" ".join(texts)) <= 10.5, item.id


def test_fixture_passes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert reader_lines(project, capsys) == (0, [])


def test_missing_bottom_line_warns(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    set_bottom_line(project, None)
    assert reader_lines(project, capsys) == (0, [
        (f"{HORMONE}:1:1: warning[KB480] $: `example-hormone` has no `bottom_line` (add up to three plain sentences "
        "(what it is; what the evidence shows, in whom; the main risk), each with the ids of the claims it rests on)")])
    assert main(["check", "--strict", str(project)]) == 1


def test_long_bottom_line_fails(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    words = " ".join(["word"] * 35)
    set_bottom_line(project, [(f"It is {words}.", ["raises-level"]), (f"It is {words}.", ["raises-level"])])
    status, lines = reader_lines(project, capsys)
    assert status == 1
    assert lines[0] == (f"{HORMONE}:{BOTTOM + 1}:3: error[KB481] $.bottom_line: the bottom line has 74 words, "
                        "expected under 70 (say less: the page below holds the detail)")


def test_bottom_line_of_69_words_passes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    set_bottom_line(project, [("It is " + " ".join(["word"] * 66) + ".", ["raises-level"])])
    assert [line for line in reader_lines(project, capsys)[1] if "KB481" in line] == []


def test_four_sentences_fail(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    set_bottom_line(project, [("It is a hormone.", ["raises-level"])] * 4)
    assert reader_lines(project, capsys) == (1, [
        (f"{HORMONE}:{BOTTOM + 1}:3: error[KB482] $.bottom_line: the bottom line has 4 sentences, expected at most 3 "
        "(keep what it is, what the evidence shows in whom, and the main risk)")])


def test_two_sentences_in_one_item_fail(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    set_bottom_line(project, [("It is a hormone. It raised levels.", ["raises-level"])])
    assert reader_lines(project, capsys) == (1, [
        (f"{HORMONE}:{BOTTOM + 1}:11: error[KB482] $.bottom_line[0].text: item 1 of the bottom line holds 2 "
        "sentences, expected one (split it, each sentence with its own claims)")])


@pytest.mark.parametrize("text, count", [
    ("It is a hormone.", 1),
    ("It raised levels, e.g. in adults, vs. placebo (Smith et al. 2020).", 1),
    ("It is a hormone! Is it? Yes.", 3),
    ("It is “a hormone.” It raised levels.", 2),
])
def test_sentences_are_counted(text: str, count: int) -> None:
    assert sentences_in(text) == count


def test_hard_bottom_line_warns(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hard = ("Administration of the neuroactive steroidogenic precursor substantially potentiated endogenous "
            "allopregnanolone biosynthesis in experimentally characterised individuals.")
    grade = reading_grade(hard)
    assert grade > 10.5
    set_bottom_line(project, [(hard, ["raises-level"])])
    assert reader_lines(project, capsys) == (0, [
        (f"{HORMONE}:{BOTTOM + 1}:3: warning[KB483] $.bottom_line: the bottom line reads at grade {grade:.1f} "
        "(Flesch–Kincaid), expected 10.5 or below (use shorter sentences and common words)")])


def test_unknown_claim_fails(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    set_bottom_line(project, [("It raised levels.", ["raises-levels"])])
    assert reader_lines(project, capsys) == (1, [
        (f"{HORMONE}:{BOTTOM + 2}:14: error[KB484] $.bottom_line[0].claims[0]: no claim `raises-levels` in "
        "`example-hormone` (did you mean `raises-level`?)")])


def test_number_in_a_linked_quote_passes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    set_bottom_line(project, [("It made serum levels three times higher.", ["raises-level"])])
    assert reader_lines(project, capsys) == (0, [])


def test_untraced_number_fails(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    set_bottom_line(project, [("It raised levels by 40%.", ["raises-level"])])
    assert reader_lines(project, capsys) == (1, [
        (f"{HORMONE}:{BOTTOM + 1}:11: error[KB487] $.bottom_line[0].text: number `40` in the bottom line is in none "
        "of the supported or partial quotes of the claims it links (they have `three`; write it in words, or link "
        "the claim whose quote states it)")])


def test_number_without_a_linked_claim_fails(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    set_bottom_line(project, [("It raised levels three times.", [])])
    assert reader_lines(project, capsys) == (1, [
        (f"{HORMONE}:{BOTTOM + 1}:11: error[KB487] $.bottom_line[0].text: number `three` in the bottom line is in "
        "none of the supported or partial quotes of the claims it links (they have no numbers; write it in words, "
        "or link the claim whose quote states it)")])


def _claim_statement(root: Path, statement: str, heading: str | None = None) -> None:
    path = root / MECHANISM
    text = path.read_text(encoding="utf-8")
    new = f"    statement: {q(statement)}\n"
    if heading is not None:
        new += f"    heading: {q(heading)}\n"
    path.write_text(text.replace('    statement: "Enzyme B makes the product."\n', new), encoding="utf-8")


def test_long_statement_without_heading_fails(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _claim_statement(project, "Enzyme B makes the product " + " ".join(["again"] * 16) + ".")
    assert reader_lines(project, capsys) == (1, [
        (f"{MECHANISM}:12:16: error[KB486] $.claims[0].statement: the heading of claim `second-step` has 21 words, "
        "expected at most 20 (add `heading:` with the claim in at most 20 plain words; the statement is shown "
        "below it)")])


def test_heading_makes_a_long_statement_pass(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _claim_statement(project, "Enzyme B makes the product " + " ".join(["again"] * 16) + ".", "Enzyme B makes it.")
    assert reader_lines(project, capsys) == (0, [])


def test_long_heading_fails(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _claim_statement(project, "Enzyme B makes the product.", "Enzyme B makes it " + " ".join(["again"] * 17))
    assert reader_lines(project, capsys) == (1, [
        (f"{MECHANISM}:13:14: error[KB486] $.claims[0].heading: the heading of claim `second-step` has 21 words, "
        "expected at most 20 (shorten it)")])


def test_number_in_heading_is_traced(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _claim_statement(project, "Enzyme B makes the product.", "Enzyme B makes 2 products.")
    assert reader_lines(project, capsys) == (1, [
        (f"{MECHANISM}:13:14: error[KB487] $.claims[0].heading: number `2` in the heading is in none of the "
        "supported or partial quotes of the claims it links (they have no numbers; write it in words, or link "
        "the claim whose quote states it)")])


@pytest.mark.parametrize("text, found", [
    ("As smith2020example shows.", ["bib key `smith2020example`"]),
    ("The seed says so.", ["`seed`"]),
    ("Listed under alternative_sources.", ["field name `alternative_sources`"]),
    ("Given as population_note.", ["field name `population_note`"]),
    ("Discussed in 29.json and refs/12.yaml.", ["file name `29.json`", "file name `refs/12.yaml`"]),
    ("See references.bib.", ["file name `references.bib`"]),
    ("I found no record.", ["first person `I`"]),
    ("In the text we checked.", ["first person `we`"]),
    ("My reading of it.", ["first person `My`"]),
    ("5α-reductase type I and phase I trials, given I.V.", []),
    ("A reader said it \"killed my mood\" and “I felt lousy”.", []),
    ("Seedlings and sesame seeds; Smith 2020 says so.", []),
])
def test_maintainer_words(text: str, found: list[str]) -> None:
    assert maintainer_words(text, KEYS) == found


def test_maintainer_words_on_a_page_warn(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = project / HORMONE
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('        support: supported\n    seed:',
                                 '        support: supported\n        note: "I found it in smith2020example."\n'
                                 '    seed:', 1), encoding="utf-8")
    assert reader_lines(project, capsys) == (0, [
        (f"{HORMONE}:26:15: warning[KB485] $.claims[0].citations[0].note: maintainers' words on a reader's page: bib "
        "key `smith2020example`, first person `I` (write it for a reader (\"the source post\", \"Andréen 2006\"); "
        "move how it was checked into `curator_note`)")])


def test_curator_note_may_hold_them(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = project / HORMONE
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('        support: supported\n    seed:',
                                 '        support: supported\n        curator_note: "I found it in smith2020example."\n'
                                 '    seed:', 1), encoding="utf-8")
    assert reader_lines(project, capsys) == (0, [])


# --- the page ----------------------------------------------------------------------------------

SITE = SiteInfo(site_name="Allopregnanolone Evidence Atlas", site_url="https://allo-atlas.github.io/atlas/",
                repo_url=None, branch="main", updated={}, build_date="2026-11-27")


def page(root: Path, uri: str) -> str:
    result = check_project(root)
    assert not result.failed()
    site = render_site(REPO, result.kb, SITE, {k: matrix_data(result.rubric, g) for k, g in result.grades.items()},
                       result.rubric)
    return next(p.markdown for p in site.pages if p.src_uri == uri)


def test_bottom_line_is_the_first_content_after_the_title(project: Path) -> None:
    text = page(project, "interventions/example-hormone.md")
    after_title = text.split("# Example hormone { #title }\n\n", 1)[1]
    assert after_title.startswith(
        '<div id="bottom-line" class="allokb-bottom-line" markdown>\n\n'
        "**Bottom line.** A fictional precursor that raised serum levels in fictional adults. (claim "
        "[1](#claim-raises-level)) It can cause drowsiness.\n\n</div>\n\n"
        '<div class="allokb-populations" markdown>\n\n'
        "**Studied in:** Adults in general.\n\n"
        "**Suggested by the post for:** Women.\n\n</div>\n\n"
        '<p class="allokb-disclaimer" role="note"><strong>Not medical advice:</strong> this page reports what named '
        'sources say and recommends no treatment or dose. <a href="../../disclaimer/">Read the disclaimer</a>.</p>\n')


def test_no_bottom_line_no_element(project: Path) -> None:
    set_bottom_line(project, None, extra="suggested_for: [women]\n")
    assert 'id="bottom-line"' not in page(project, "interventions/example-hormone.md")


def test_heading_then_statement_and_curator_note_only_under_how_checked(project: Path) -> None:
    _claim_statement(project, "Enzyme B makes the product from the substrate.", "Enzyme B makes the product.")
    path = project / MECHANISM
    path.write_text(path.read_text(encoding="utf-8").replace(
        "        support: unchecked\n",
        '        support: unchecked\n        note: "Not seen yet."\n        curator_note: "I searched PubMed."\n', 1),
        encoding="utf-8")
    text = page(project, "mechanisms/step-two.md")
    assert "### Enzyme B makes the product. { #claim-second-step }\n\nEnzyme B makes the product from the substrate.\n" in text
    assert text.count("I searched PubMed.") == 1
    before, after = text.split('??? note "How this was checked"\n', 1)
    assert "I searched PubMed." not in before
    assert after.startswith("    - **[1]** I searched PubMed.\n")
    assert "Not seen yet." in before
