"""The bibliography records the publication: a field that exists but that no record showed is
recorded as missing, with what was searched, never filled in (the exception of KB403, and of
KB451 for an article's author, journal and year)."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import REPO

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


def _record_searched(root: Path, fields: str, missing: str) -> None:
    citation = root / "content/citations/smith2020example.yaml"
    citation.write_text(citation.read_text().replace(
        "      fields: [author, title, journal, year, volume, pages, doi, pmid]\n",
        f"      fields: [{fields}]\n  searched:\n    - \"PubMed: exact title → no record\"\n  missing: [{missing}]\n"))


def test_others_is_a_warning_unless_no_record_gave_the_list(project: Path) -> None:
    bib = project / "references.bib"
    bib.write_text(bib.read_text().replace(
        "author = {Smith, Jane and M{\\\"u}ller, J{\\\"o}rg and {Example Study Group}}", "author = {Smith, Jane and others}"))
    assert [c for c in _codes(project) if c.startswith("KB452")] == [
        "KB452 `author` of `smith2020example` is `Smith, Jane and others`"]
    _record_searched(project, "title, journal, year, volume, pages, doi, pmid", "author")
    assert [c for c in _codes(project) if c.startswith("KB452")] == []


def test_aggregator_alone_is_a_warning_unless_the_record_was_searched_for(project: Path) -> None:
    shutil.copy(REPO / "content" / "link-hosts.yaml", project / "content" / "link-hosts.yaml")
    citation = project / "content/citations/smith2020example.yaml"
    citation.write_text(citation.read_text().replace("https://example.org/record/99999991",
                                                     "https://europepmc.org/article/MED/99999991"))
    assert [c.split(",")[0] for c in _codes(project) if c.startswith("KB454")] == [
        "KB454 `checked_against[0]` is on `europepmc.org`"]
    _record_searched(project, "author, title, journal, year, volume, pages, doi, pmid", "pmcid")
    assert [c for c in _codes(project) if c.startswith("KB454")] == []
