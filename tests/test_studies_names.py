"""The BibTeX export keeps a family name that starts with a particle whole (`{de Wit}, H.`), as the
site and the CSL-JSON export treat it: unbraced, pandoc and biblatex take `de` for a particle that
a style may drop, and the two exports cite the paper differently ("Wit et al." against "de Wit et
al."; the pandoc comparison of both exports is tests/test_exports_tools.py)."""

from __future__ import annotations

import pytest

from allokb.model import Person
from allokb.render.bibtex import bibtex_entry, person_text
from allokb.render.citations import csl_item


@pytest.mark.parametrize(("family", "given", "written"), [
    ("de Wit", "H.", "{de Wit}, H."),
    ("dos Santos", "Júlia Maria", "{dos Santos}, J{\\'u}lia Maria"),
    ("van der Berg", "A.", "{van der Berg}, A."),
    # no particle: written as before
    ("Wit", "H.", "Wit, H."),
    ("Del Giudice", "Francesco", "Del Giudice, Francesco"),
    ("Meltzer-Brody", "Samantha", "Meltzer-Brody, Samantha"),
    ("d'Alembert", "J.", "d'Alembert, J."),
    ("de", "X.", "de, X."),
    ("others", None, "others"),
])
def test_a_family_name_with_a_particle_is_braced_whole(family: str, given: str | None, written: str) -> None:
    assert person_text(Person(family, given)) == written


def test_the_exported_entry_and_the_csl_item_name_the_same_family() -> None:
    from conftest import REPO  # the repository's own reference with a particle as first author

    from allokb.bib import load_references

    refs, problems = load_references(REPO)
    assert problems == [] and refs is not None
    ref = next(r for r in refs if r.key == "dewit2001effects")
    assert bibtex_entry(ref).splitlines()[1] == "  author = {{de Wit}, H. and Schmitt, L. and Purdy, R. and Hauger, R.},"
    assert csl_item(ref)["author"][0] == {"family": "de Wit", "given": "H."}
