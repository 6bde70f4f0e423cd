"""The bibliography records the publication: a field that exists but that no record showed is
recorded as missing, with what was searched, never filled in (the exception of KB403, and of
KB451 for an article's author, journal and year)."""

from __future__ import annotations

from pathlib import Path

from allokb.project import check_project


def _drop_author(root: Path) -> None:
    bib = root / "references.bib"
    text = bib.read_text()
    start = text.index("@article{smith2020example,")
    line = text.index("  author = ", start)
    bib.write_text(text[:line] + text[text.index("\n", line) + 1:])


def _codes(root: Path) -> list[str]:
    return [f"{d.code} {d.message}" for d in check_project(root).diagnostics]


def test_missing_author_is_an_error(project: Path) -> None:
    _drop_author(project)
    assert _codes(project) == ["KB451 @article `smith2020example` has no `author`"]


def test_missing_author_searched_and_recorded_passes(project: Path) -> None:
    _drop_author(project)
    citation = project / "content/citations/smith2020example.yaml"
    text = citation.read_text().replace(
        "      fields: [author, title, journal, year, volume, pages, doi, pmid]\n",
        "      fields: [title, journal, year, volume, pages, doi, pmid]\n"
        "  searched:\n    - \"PubMed: exact title → PMID 99999991, no author line\"\n  missing: [author]\n")
    citation.write_text(text)
    assert _codes(project) == []


def test_missing_without_searched_is_a_schema_error(project: Path) -> None:
    """`missing` alone is not enough: what was searched must be said."""
    _drop_author(project)
    citation = project / "content/citations/smith2020example.yaml"
    citation.write_text(citation.read_text().replace("  checked_against:\n", "  missing: [author]\n  checked_against:\n"))
    assert _codes(project) == ["KB202 missing required field `searched`",
                               "KB451 @article `smith2020example` has no `author`"]
