"""`allokb verify --online` refreshes the committed PubMed abstracts (content/sources/) and reports
what changed: against the real local HTTP server of tests/test_remote.py standing in for PubMed."""

from __future__ import annotations

import datetime
import json
import os
import shutil
from pathlib import Path

import pytest

from allokb.cli import main
from allokb.diagnostics import Diagnostic, Location, Severity
from allokb.project import check_project
from allokb.refresh import SourceChange, apply_changes, word_changes
from allokb.remote_verify import verify_online, verify_project
from allokb.sources import QuoteCount
from conftest import make_project
from test_remote import ABSTRACT_SMITH, RECORDS, FakeServices, Reply, client, services, snapshot  # noqa: F401

TODAY = datetime.date(2026, 12, 2)
SOURCE = "content/sources/smith2020example.md"
HEADER = ("---\n# fetched by allokb add-reference\nurl: \"https://pubmed.ncbi.nlm.nih.gov/99999991/\"\n"
          "retrieved: \"2026-01-01\"\nkind: abstract\n---\n")
#: the abstract of efetch_99999991.xml, as add-reference writes it
ABSTRACT = ("A fictional steroid was given to 40 pretend adults. After the example dose, serum levels rose "
            "three\u2013fold in the imaginary group.")
WHERE = "content/interventions/example-hormone.yaml"
SUMMARY = "check passed (strict): 0 errors, 0 warnings in 8 files\n"


@pytest.fixture(scope="module")
def kb_made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The valid fixture, its source text now PubMed's abstract as add-reference stored it: made
    and checked once for the file (read-only; `kb` is a test's own copy)."""
    root = make_project(tmp_path_factory.mktemp("refresh") / "kb")
    (root / SOURCE).write_text(HEADER + ABSTRACT + "\n", encoding="utf-8")
    assert check_project(root).diagnostics == ()
    return root


@pytest.fixture
def kb(kb_made: Path, tmp_path: Path) -> Path:
    """A copy of `kb_made`, the test's own."""
    return Path(shutil.copytree(kb_made, tmp_path / "kb", symlinks=True))


def serve_abstract(services: FakeServices, old: str, new: str) -> None:
    xml = (RECORDS / "efetch_99999991.xml").read_text(encoding="utf-8")
    assert old in xml
    services.set(ABSTRACT_SMITH, Reply(body=xml.replace(old, new).encode()))


def verify(capsys: pytest.CaptureFixture[str], root: Path, *options: str) -> tuple[int, str, str]:
    status = main(["verify", "--online", str(root), *options])
    out = capsys.readouterr()
    progress = "verify: 1/1 references checked (smith2020example)\n"
    assert out.err.startswith(progress)
    return status, out.out, out.err.removeprefix(progress)


def stat(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


# --- a changed abstract is rewritten; an unchanged one is left alone ---------------------------

def test_a_changed_abstract_is_rewritten_with_its_header_and_the_line_printed(
        services: FakeServices, kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    serve_abstract(services, "in the <i>imaginary</i> group", "in the imaginary group of volunteers")
    (kb / SOURCE).chmod(0o640)
    status, out, err = verify(capsys, kb)
    assert (status, out, err) == (1, "updated content/sources/smith2020example.md: abstract changed (2 words added, "
                                     "0 removed)\nsource texts: 1 updated\n" + SUMMARY, "")
    today = datetime.date.today().isoformat()
    assert (kb / SOURCE).read_text(encoding="utf-8") == HEADER.replace("2026-01-01", today) + ABSTRACT.replace(
        "imaginary group.", "imaginary group of volunteers.") + "\n"
    assert (kb / SOURCE).stat().st_mode & 0o777 == 0o640  # the file keeps its permissions
    assert check_project(kb).diagnostics == ()
    # Run again: PubMed's abstract is now the committed one.
    before = stat(kb / SOURCE)
    assert verify(capsys, kb) == (0, "source texts: 1 unchanged\n" + SUMMARY, "")
    assert stat(kb / SOURCE) == before


def test_words_added_and_removed_are_counted_as_the_quotes_are_compared() -> None:
    assert word_changes("Serum levels rose three-fold", "serum levels rose three\u2013fold.") == (0, 0)
    assert word_changes("a b c d", "a x c d e") == (2, 1)
    assert word_changes("rose (p < 0.05)", "rose, p<0.05") == (1, 3)  # `p<0.05` is one word, `p < 0.05` three


def test_an_abstract_that_differs_only_in_dashes_case_and_white_space_is_untouched(
        services: FakeServices, kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (kb / SOURCE).write_text(HEADER + "A FICTIONAL steroid was given to 40 pretend\nadults.  After the example "
                             "dose, serum levels rose three-fold in the imaginary group\n", encoding="utf-8")
    os.utime(kb / SOURCE, ns=(1_000_000_000, 1_000_000_000))
    before = stat(kb / SOURCE)
    assert verify(capsys, kb) == (0, "source texts: 1 unchanged\n" + SUMMARY, "")
    assert stat(kb / SOURCE) == before
    assert services.hits.count(ABSTRACT_SMITH) == 1  # fetched once, for the refresh and the quotes alike


@pytest.mark.parametrize("kind, url, said", [
    ("full-text", "https://pubmed.ncbi.nlm.nih.gov/99999991/", "hand-kept full-text"),
    ("label", "https://example.org/label", "hand-kept label"),
    ("web-page", "https://example.org/page", "hand-kept web-page"),
    ("abstract", "https://example.org/record/99999991",
     "hand-kept abstract, not retrieved from PubMed's record of PMID 99999991"),
    ("abstract", "https://pubmed.ncbi.nlm.nih.gov/99999992/",
     "hand-kept abstract, not retrieved from PubMed's record of PMID 99999991"),
])
def test_a_hand_kept_text_is_never_touched(kind: str, url: str, said: str, services: FakeServices, kb: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    serve_abstract(services, "in the <i>imaginary</i> group", "in the imaginary group of volunteers")
    (kb / SOURCE).write_text(f"---\nurl: \"{url}\"\nretrieved: \"2026-01-01\"\nkind: {kind}\n---\n{ABSTRACT}\n"
                             "A second paragraph that PubMed does not have.\n", encoding="utf-8")
    before = stat(kb / SOURCE)
    assert verify(capsys, kb) == (0, f"kept content/sources/smith2020example.md ({said})\nsource texts: 1 kept\n"
                                  + SUMMARY, "")
    assert stat(kb / SOURCE) == before


# --- a failed request writes nothing -------------------------------------------------------------

def test_a_failed_request_writes_nothing_and_says_so(services: FakeServices, kb: Path) -> None:
    services.set(ABSTRACT_SMITH, Reply(500))
    before = snapshot(kb)
    found = verify_project(kb, check_project(kb), client(), write=True, today=TODAY)
    assert found.refresh.lines() == [
        "not refreshed content/sources/smith2020example.md: PubMed failed with HTTP 500 after 3 attempts; try again "
        "later; nothing written", "source texts: 1 not refreshed"]
    assert (found.diagnostics, found.reported) == ((), True)
    assert snapshot(kb) == before


def test_a_failed_request_adds_nothing(services: FakeServices, kb: Path) -> None:
    (kb / SOURCE).unlink()
    services.set(ABSTRACT_SMITH, Reply(200, b"<PubmedArticleSet"))  # not XML
    before = snapshot(kb)
    found = verify_project(kb, check_project(kb), client(), write=True, today=TODAY)
    assert found.refresh.lines() == [
        f"not refreshed content/sources/smith2020example.md: PubMed sent a response that is not valid XML "
        f"({services.base}{ABSTRACT_SMITH}); try again later; nothing written", "source texts: 1 not refreshed"]
    assert snapshot(kb) == before


def test_an_abstract_the_check_would_refuse_is_not_written(services: FakeServices, kb: Path) -> None:
    serve_abstract(services, "rose three", "rose \u202e three")
    before = snapshot(kb)
    found = verify_project(kb, check_project(kb), client(), write=True, today=TODAY)
    assert found.refresh.lines() == [
        "not refreshed content/sources/smith2020example.md: PubMed's abstract of PMID 99999991 holds the character "
        "U+202E, which `allokb check` refuses; nothing written", "source texts: 1 not refreshed"]
    assert snapshot(kb) == before


def test_a_hand_kept_text_whose_abstract_request_failed_is_reported(services: FakeServices, kb: Path) -> None:
    (kb / SOURCE).write_text(HEADER.replace("abstract", "full-text") + ABSTRACT + "\n", encoding="utf-8")
    services.set(ABSTRACT_SMITH, Reply(500))
    found = verify_project(kb, check_project(kb), client(), write=True, today=TODAY)
    assert found.refresh.lines() == [
        "kept content/sources/smith2020example.md (hand-kept full-text)",
        "not checked `smith2020example`: PubMed failed with HTTP 500 after 3 attempts; try again later; its quotes "
        "were not compared with the PubMed abstract",
        "source texts: 1 kept"]
    assert found.reported


# --- --no-write ------------------------------------------------------------------------------------

def test_no_write_reports_and_writes_nothing(services: FakeServices, kb: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    serve_abstract(services, "in the <i>imaginary</i> group", "in the imaginary group of volunteers")
    before = snapshot(kb)
    assert verify(capsys, kb, "--no-write") == (
        1, "would update content/sources/smith2020example.md: abstract changed (2 words added, 0 removed)\n"
           "source texts: 1 to update\n" + SUMMARY, "")
    assert snapshot(kb) == before
    (kb / SOURCE).unlink()
    before = snapshot(kb)
    assert verify(capsys, kb, "--no-write") == (
        1, "would add content/sources/smith2020example.md: the PubMed abstract of PMID 99999991 (23 words)\n"
           "source texts: 1 to add\n" + SUMMARY, "")
    assert snapshot(kb) == before
    assert verify_online(kb, client()) == []  # the library's verify never writes
    assert snapshot(kb) == before


def test_a_missing_text_of_a_quoted_reference_is_added(services: FakeServices, kb: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    (kb / SOURCE).unlink()
    assert check_project(kb).quotes == QuoteCount(machine=0, hand=4, not_found=0)  # 3 of them quote smith2020example
    assert verify(capsys, kb) == (
        1, "added content/sources/smith2020example.md: the PubMed abstract of PMID 99999991 (21 words)\n"
           "source texts: 1 added\n" + SUMMARY, "")
    today = datetime.date.today().isoformat()
    assert (kb / SOURCE).read_text(encoding="utf-8") == (
        f"---\nurl: \"https://pubmed.ncbi.nlm.nih.gov/99999991/\"\nretrieved: \"{today}\"\nkind: abstract\n---\n"
        f"{ABSTRACT}\n")
    result = check_project(kb)
    assert (result.diagnostics, result.quotes) == ((), QuoteCount(machine=3, hand=1, not_found=0))


def test_nothing_is_written_while_the_check_reports_errors(services: FakeServices, kb: Path) -> None:
    serve_abstract(services, "in the <i>imaginary</i> group", "in the imaginary group of volunteers")
    path = kb / "content" / "interventions" / "example-avoid.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "unknown_field: 1\n", encoding="utf-8")
    before = snapshot(kb)
    found = verify_project(kb, check_project(kb), client(), write=True, today=TODAY)
    assert found.refresh.lines() == [
        "source texts not written: `allokb check` reports errors other than KB440; fix them, then run verify again",
        "would update content/sources/smith2020example.md: abstract changed (2 words added, 0 removed)",
        "source texts: 1 to update"]
    assert snapshot(kb) == before


def test_a_link_in_place_of_the_text_is_never_written_through(services: FakeServices, kb: Path,
                                                              tmp_path: Path) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text(HEADER + "Another text.\n", encoding="utf-8")
    (kb / SOURCE).unlink()
    (kb / SOURCE).symlink_to(outside)
    found = verify_project(kb, check_project(kb), client(), write=True, today=TODAY)
    assert found.refresh.lines() == [
        "kept content/sources/smith2020example.md (it cannot be read as a source text: run `allokb check`)",
        "source texts: 1 kept"]
    assert outside.read_text(encoding="utf-8") == HEADER + "Another text.\n"
    assert (kb / SOURCE).is_symlink()


# --- quotes the new text no longer holds ----------------------------------------------------------

#: where the fixture quotes smith2020example
LOST = [Location(WHERE, 22, 9, "$.claims[0].citations[0]"), Location(WHERE, 37, 7, "$.dosing[0].reported_by"),
        Location("content/citations/smith2020example.yaml", 8, 5, "$.findings[0]")]


def test_a_quote_that_stops_matching_is_reported_now_and_is_kb440_next(
        services: FakeServices, kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    serve_abstract(services, "rose three", "fell two")
    status, out, _ = verify(capsys, kb)
    message = ("quote not found in the abstract of `smith2020example` refreshed from PubMed "
               "(content/sources/smith2020example.md): \"serum levels rose three-fold\"")
    hint = ("closest passage: \"serum levels fell two\u2013fold\"; `allokb check` now reports it as "
            "KB440: correct the quote, or give the `locator` of the passage it comes from")
    assert status == 1
    assert out.splitlines() == [
        "updated content/sources/smith2020example.md: abstract changed (2 words added, 2 removed)",
        "source texts: 1 updated",
        *(f"{where.file}:{where.line}:{where.col}: warning[KB434] {where.yaml_path}: {message} ({hint})"
          for where in sorted(LOST)),
        "check failed (strict): 0 errors, 3 warnings in 8 files"]
    assert [(d.code, d.location) for d in check_project(kb).diagnostics] == [("KB440", w) for w in sorted(LOST)]


def test_a_quote_missing_from_the_text_that_would_be_added_or_rewritten_is_reported(
        services: FakeServices, kb: Path) -> None:
    serve_abstract(services, "rose three", "fell two")
    found = verify_project(kb, check_project(kb), client(), write=False, today=TODAY)
    assert found.diagnostics[0] == Diagnostic(
        "KB434", Severity.WARNING, "quote not found in PubMed's current abstract of `smith2020example` "
        "(content/sources/smith2020example.md not written): \"serum levels rose three-fold\"", sorted(LOST)[0],
        "closest passage: \"serum levels fell two\u2013fold\"; once the text is refreshed, `allokb check` "
        "reports it as KB440: correct the quote, or give the `locator` of the passage it comes from")
    assert [d.code for d in found.diagnostics] == ["KB434"] * 3  # and no KB433 saying the same again
    (kb / SOURCE).unlink()
    found = verify_project(kb, check_project(kb), client(), write=True, today=TODAY)
    assert [(d.code, d.message) for d in found.diagnostics] == [
        ("KB434", "quote not found in the PubMed abstract now committed as content/sources/smith2020example.md: "
                  "\"serum levels rose three-fold\"")] * 3


def test_a_quote_the_old_text_did_not_hold_either_is_left_to_the_check(services: FakeServices, kb: Path) -> None:
    serve_abstract(services, "in the <i>imaginary</i> group", "in the imaginary group of volunteers")
    path = kb / "content" / "citations" / "smith2020example.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('quote: "serum levels rose three-fold"',
                                                             'quote: "serum levels rose four-fold"'), encoding="utf-8")
    assert [d.code for d in check_project(kb).diagnostics] == ["KB440"]
    found = verify_project(kb, check_project(kb), client(), write=True, today=TODAY)
    assert found.diagnostics == ()
    assert found.refresh.changes[0].action == "updated" and found.refresh.changes[0].written


def test_json_output_stays_json(services: FakeServices, kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    serve_abstract(services, "in the <i>imaginary</i> group", "in the imaginary group of volunteers")
    status, out, err = verify(capsys, kb, "--format", "json", "--no-write")
    assert status == 1
    assert json.loads(out)["summary"]["text"] == "check passed (strict): 0 errors, 0 warnings in 8 files"
    assert err == ("would update content/sources/smith2020example.md: abstract changed (2 words added, 0 removed)\n"
                   "source texts: 1 to update\n")


def test_every_line_has_its_form() -> None:
    lines = {a: SourceChange("k", a, "why").line() for a in
             ("updated", "added", "unchanged", "kept", "missing", "failed", "unchecked")}
    assert lines == {
        "updated": "would update content/sources/k.md: abstract changed (why)",
        "added": "would add content/sources/k.md: why", "unchanged": None, "kept": "kept content/sources/k.md (why)",
        "missing": "not added content/sources/k.md: why", "failed": "not refreshed content/sources/k.md: why; "
        "nothing written", "unchecked": "not checked `k`: why; its quotes were not compared with the PubMed abstract"}


def test_an_abstract_pubmed_no_longer_has_is_kept(services: FakeServices, kb: Path) -> None:
    xml = (RECORDS / "efetch_99999991.xml").read_text(encoding="utf-8")
    start, end = xml.index("<Abstract>"), xml.index("</Abstract>") + len("</Abstract>")
    services.set(ABSTRACT_SMITH, Reply(body=(xml[:start] + xml[end:]).encode()))
    before = snapshot(kb)
    found = verify_project(kb, check_project(kb), client(), write=True, today=TODAY)
    assert found.refresh.lines() == [
        "kept content/sources/smith2020example.md (PubMed has no abstract for PMID 99999991 any more)",
        "source texts: 1 kept"]
    assert snapshot(kb) == before


def test_nothing_is_written_through_a_linked_sources_folder(kb: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    (kb / "content" / "sources").rename(outside)
    (outside / "smith2020example.md").unlink()
    (kb / "content" / "sources").symlink_to(outside)
    kb_model = check_project(kb).kb  # the check reports the link (KB112); `apply_changes` refuses it on its own too
    change = SourceChange("smith2020example", "added", "the PubMed abstract", None, ABSTRACT, HEADER + ABSTRACT)
    refresh = apply_changes(kb, kb_model, [change], write=True, check_failed=False)
    assert refresh.blocked is not None and refresh.blocked.startswith("content/sources: ")
    assert [c.written for c in refresh.changes] == [False]
    assert list(outside.iterdir()) == []
