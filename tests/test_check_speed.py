"""The check at scale (issue 16): the reader rules run where a file is loaded (`record_findings`,
in `process_document`) and give the diagnostics the whole rule gives in the main process; a record
that lost its id to another file reports nothing from there; serve's cache keeps the findings; and
the shortcuts of the hot functions answer as the long way did."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import allokb.project
from allokb.diagnostics import sorted_diagnostics
from allokb.project import LoadCache, check_project
from allokb.rules.bibliography import _title_key
from allokb.rules.readers import check_readers
from allokb.sources import normalise

READER_CODES = {f"KB48{i}" for i in range(8)}


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _readers(diagnostics: object) -> list[tuple[str, int, str, str]]:
    return [(d.location.file, d.location.line, d.code, d.message) for d in diagnostics  # type: ignore[attr-defined]
            if d.code in READER_CODES]


def _with_maintainers_words(project: Path) -> Path:
    content = project / "content"
    _edit(content / "interventions" / "example-hormone.yaml", 'summary: "A fictional precursor used by the tests."',
          'summary: "We read smith2020example and notes.yaml for the seed post."')
    _edit(content / "citations" / "smith2020example.yaml", 'population: "40 fictional adults"',
          'population: "40 fictional adults, as in examplewiki2024page"')
    return project


KB485 = [
    ("content/citations/smith2020example.yaml", 4, "KB485",
     "maintainers' words on a reader's page: bib key `examplewiki2024page`"),
    ("content/interventions/example-hormone.yaml", 5, "KB485",
     "maintainers' words on a reader's page: bib key `smith2020example`, `seed`, file name `notes.yaml`, "
     "first person `We`"),
]


def test_reader_findings_made_where_each_file_is_loaded_are_the_whole_rules(project: Path) -> None:
    """Bib keys are known only once references.bib is read: a record whose words hold one has KB485
    run again with the keys; the others keep what was found where the file was loaded."""
    result = check_project(_with_maintainers_words(project))
    assert _readers(result.diagnostics) == KB485
    assert _readers(result.diagnostics) == _readers(sorted_diagnostics(check_readers(result.kb, project)))


def test_a_file_whose_id_another_file_holds_reports_no_reader_findings(project: Path) -> None:
    """The record of a file that lost its id to another (KB301-style clash) is not in the knowledge
    base: what the reader rules found in it where it was loaded is not reported."""
    content = project / "content" / "interventions"
    copy = content / "example-copy.yaml"
    copy.write_text((content / "example-hormone.yaml").read_text(encoding="utf-8")
                    .replace('summary: "A fictional precursor used by the tests."', 'summary: "The seed post."'),
                    encoding="utf-8")
    result = check_project(project)
    assert _readers(result.diagnostics) == []
    assert _readers(result.diagnostics) == _readers(sorted_diagnostics(check_readers(result.kb, project)))


def test_serves_cache_keeps_the_reader_findings_of_unchanged_files(project: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = allokb.project.record_findings

    def counting(record: object, place: object) -> object:
        calls.append(record.source)  # type: ignore[attr-defined]
        return real(record, place)  # type: ignore[arg-type]

    monkeypatch.setattr(allokb.project, "record_findings", counting)
    cache = LoadCache()
    assert _readers(check_project(project, cache).diagnostics) == []
    assert len(calls) == 6  # two interventions, two mechanisms, two citation records
    calls.clear()
    _with_maintainers_words(project)
    for name in ("interventions/example-hormone.yaml", "citations/smith2020example.yaml"):
        path = project / "content" / name
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert _readers(check_project(project, cache).diagnostics) == KB485
    assert sorted(calls) == ["content/citations/smith2020example.yaml", "content/interventions/example-hormone.yaml"]


TITLES = ["The α-subunit: a study_of GABA(A) receptors", "Étude n°2 — ½ dose, 3ʳᵈ trial", "a_b_c", "",
          "١٢٣ Arabic digits", "Ⅻ roman", "e\u0301cole", "snake_case and kebab-case", "漢字 2020", "x²"]


@pytest.mark.parametrize("title", TITLES)
def test_title_key_keeps_what_isalnum_keeps(title: str) -> None:
    assert _title_key(title) == "".join(c for c in normalise(title) if c.isalnum())


def test_title_key_pattern_agrees_with_isalnum_on_every_character() -> None:
    import allokb.rules.bibliography as bibliography

    every = "".join(map(chr, range(0x110000)))
    assert bibliography._NOT_ALNUM.sub("", every) == "".join(c for c in every if c.isalnum())


@pytest.mark.parametrize(("words", "found"), [
    ("from the seed", "`seed`"), ("see notes.yaml", "file name `notes.yaml`"), ("as I saw", "first person `I`"),
    ("see population_note", "field name `population_note`"), ("as smith2020example", "bib key `smith2020example`"),
])
def test_each_kind_of_maintainers_word_alone_is_found(project: Path, words: str, found: str) -> None:
    """The test of a whole record before its texts (`may_hold_maintainer_words`) lets each kind through."""
    _edit(project / "content" / "citations" / "smith2020example.yaml", 'population: "40 fictional adults"',
          f'population: "40 fictional adults, {words}"')
    result = check_project(project)
    assert _readers(result.diagnostics) == [("content/citations/smith2020example.yaml", 4, "KB485",
                                             f"maintainers' words on a reader's page: {found}")]
