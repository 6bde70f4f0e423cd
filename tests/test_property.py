"""Property-based: whatever text or bytes arrive, the loader and validator return diagnostics
and never raise."""

from __future__ import annotations

import string
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allokb.bib import load_references
from allokb.diagnostics import Diagnostic
from allokb.graph import build_graph
from allokb.load import parse_yaml
from allokb.project import process_document
from allokb.schema import check_document

yaml_chars = st.sampled_from(list(string.printable) + ["é", "α", "\u2028", "\ufeff", "&", "*", "!", "|", ">"])
yaml_like = st.text(yaml_chars, max_size=300)

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=20), st.sampled_from(["no", "yes", "2024-01-01", "1.10", "on", "~"]))
trees = st.recursive(scalars, lambda c: st.one_of(st.lists(c, max_size=4),
                                                  st.dictionaries(st.text(max_size=10), c, max_size=5)),
                     max_leaves=20)
KEYS = ["id", "name", "kind", "summary", "claims", "category", "direction", "populations", "key", "design",
        "verification", "citations", "statement", "outcome", "ref", "support", "quote", "step", "upstream"]
records = st.dictionaries(st.sampled_from(KEYS), trees, max_size=10)


def _check_text(text: str, kind: str) -> None:
    doc, diags = parse_yaml(text, f"content/{kind}/x.yaml", kind, "x")
    assert all(isinstance(d, Diagnostic) for d in diags)
    if doc is not None:
        assert all(isinstance(d, Diagnostic) for d in check_document(doc))
        build_graph([process_document(doc, diags)], [])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(yaml_like, st.sampled_from(["interventions", "mechanisms", "citations"]))
def test_random_text_gives_only_diagnostics(text: str, kind: str) -> None:
    _check_text(text, kind)




@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400))
def test_random_bytes_give_only_diagnostics(tmp_path: Path, raw: bytes) -> None:
    folder = tmp_path / "content" / "mechanisms"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "x.yaml").write_bytes(raw)
    (tmp_path / "references.bib").write_bytes(raw)
    from allokb.project import check_project

    result = check_project(tmp_path)
    assert all(isinstance(d, Diagnostic) for d in result.diagnostics)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(list("@{}=,\"\\% \nabtilc0123") + ["article", "author", "doi"]), max_size=120)
       .map("".join))
def test_random_bib_text_gives_only_diagnostics(tmp_path: Path, text: str) -> None:
    (tmp_path / "references.bib").write_text(text, encoding="utf-8")
    refs, diags = load_references(tmp_path)
    assert all(isinstance(d, Diagnostic) for d in diags)


def _agree(text: str, kind: str) -> None:
    from allokb.schema import SCHEMA_OF_KIND, is_valid, validator_for

    doc, _ = parse_yaml(text, f"content/{kind}/x.yaml", kind, "x")
    if doc is not None:
        slow = not any(True for _ in validator_for(SCHEMA_OF_KIND[kind]).iter_errors(doc.data))
        assert is_valid(doc) == slow


@settings(max_examples=300, deadline=None)
@given(records, st.sampled_from(["interventions", "mechanisms", "citations"]))
def test_random_records_give_only_diagnostics_and_the_fast_and_full_validators_agree(data: dict[str, object],
                                                                                      kind: str) -> None:
    """Two properties of one record each (drawing the records is most of the time)."""
    text = yaml.safe_dump(data, allow_unicode=True)
    _check_text(text, kind)
    _agree(text, kind)


def test_fast_and_full_validators_agree_on_every_fixture_file() -> None:
    from conftest import CASES, VALID

    files = [*VALID.rglob("content/*/*.yaml"), *CASES.rglob("content/*/*.yaml")]
    assert len(files) > 20
    for path in files:
        _agree(path.read_text(encoding="utf-8", errors="replace"), path.parent.name)
