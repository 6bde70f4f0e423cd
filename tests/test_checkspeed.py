"""The check's speed work (issue 16): the shortcuts give the answers of the long way, a clean
knowledge base is read once, and the benchmark's real-size knowledge base is clean."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from conftest import REPO

import allokb.readers
from allokb.files import find_control
from allokb.load import _may_hold_control
from allokb.project import check_project
from allokb.readers import _FIRST_PERSON

sys.path.insert(0, str(REPO / "benchmarks"))
from bench_check import replicate  # noqa: E402

# The first-person pattern as it was before the look-behinds moved after the `I`.
_FIRST_PERSON_BEFORE = re.compile(
    r"(?<![Tt]ype )(?<![Pp]hase )(?<![Cc]lass )(?<![Gg]rade )(?<![Ss]tage )\bI\b(?![.\-–]\w)(?!\.[A-Z])"
    r"|\b(?:[Mm]e|[Mm]y|[Mm]ine|[Ww]e|us|[Oo]ur|[Oo]urs)\b")

TEXTS = ["type I", "phase I trial", "Phase  I", "I.V. dose", "I-V", "I–x", "I.A", "I.a", "I", "xI", "_I",
         "é I", "éI", "I é", "grade I,", "stage I; I found", "class I I", "[I]", "Ours", "ours.", "usual",
         "we did", "Type I we", "My note", "mine", "The source post says so.", "In a type II trial I saw"]


@pytest.mark.parametrize("text", TEXTS)
def test_first_person_pattern_finds_what_it_found_before(text: str) -> None:
    before, now = _FIRST_PERSON_BEFORE.search(text), _FIRST_PERSON.search(text)
    assert (now and (now.start(), now.group())) == (before and (before.start(), before.group()))


REFUSED = ["\x00", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\x9f", "\u061c", "\u200e", "\u200f", "\u2028",
           "\u202e", "\u2066", "\u2069", "\ufdd0", "\ufdef", "\ufffe", "\uffff", "\U0001fffe", "\U0010ffff"]
ALLOWED = ["", "a", "é", "\t", "\n", "\r", "\r\n", "\u200b", "\u00a0", "µ", "“x”", "\U0001f600", "\u2070", "\ufdcf",
           "\ufdf0", "\U0001fffd"]


@pytest.mark.parametrize("text", [f"id: x\nsummary: “{c}”\n" for c in REFUSED + ALLOWED] + ["plain ascii\n"])
def test_refused_characters_are_found_as_by_a_search_of_the_whole_text(text: str) -> None:
    assert _may_hold_control(text) is (find_control(text, line_ends=True) is not None)


def test_may_hold_control_answers() -> None:
    assert [_may_hold_control(t) for t in ("ascii only", "é\u202e", "é\U0001f600", "é\r\n", "back\\slash")] == [
        False, True, False, False, True]


def test_a_clean_knowledge_base_is_read_once(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reader rules re-read a file only to place a finding: the valid fixture has bottom lines
    and headings, and no finding."""
    reads: list[tuple[str, str]] = []
    real = allokb.readers.load_document

    def counted(root: Path | str, kind: str, name: str) -> object:
        reads.append((kind, name))
        return real(root, kind, name)

    monkeypatch.setattr(allokb.readers, "load_document", counted)
    result = check_project(project)
    assert [d.code for d in result.diagnostics] == []
    assert reads == []


def test_the_benchmarks_real_size_copies_check_clean(tmp_path: Path) -> None:
    """One copy of the repository's content with fresh ids passes `check --strict` (a field that
    names an id or key and is not renamed would fail it: label_summary's `label` once did)."""
    assert replicate(tmp_path, 1) == 1
    result = check_project(tmp_path)
    assert [(d.code, d.message) for d in result.diagnostics] == []
    assert not result.failed(strict=True)


def _maintainer_words_before(text: str, bib_keys: frozenset[str]) -> list[str]:
    """maintainer_words as it was before its searches were skipped on texts that cannot match."""
    found: list[str] = []
    for word in allokb.readers._WORD.findall(text):
        what = (f"bib key `{word}`" if word in bib_keys else
                f"field name `{word}`" if word in allokb.readers.schema_field_names() else None)
        if what and what not in found:
            found.append(what)
    if re.search(r"\bseed\b", text, re.IGNORECASE):
        found.append("`seed`")
    for m in allokb.readers._FILE.finditer(text):
        what = f"file name `{allokb.readers.shown(m.group())}`"
        if what not in found:
            found.append(what)
    person = _FIRST_PERSON_BEFORE.search(re.sub(r"“[^”]*”|\"[^\"]*\"", " ", text))
    if person:
        found.append(f"first person `{person.group()}`")
    return found


@pytest.mark.parametrize("text", [*TEXTS, "the seed post", "SEED", "ſeed", "seeds", "a\u017fEED b", "éseed",
                                  "see population_note and smith2020x", "“we said” it", "“we said” we",
                                  "in notes.yaml I", "our smith2020x, smith2020x", "ÉI", "I\u0301"])
def test_maintainer_words_find_what_they_found_before(text: str) -> None:
    keys = frozenset({"smith2020x"})
    assert allokb.readers.maintainer_words(text, keys) == _maintainer_words_before(text, keys)
