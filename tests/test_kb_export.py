"""kb.json: written by its own serializer (`render.exports.EXPORTED_FIELDS`), described by its
published JSON Schema (/schema/kb.schema.json), and pinned for the fixture (tests/golden/).

A change of the internal model does not change the export: only what the serializer lists is
written, a class it does not list is refused, and a field it lists must exist. After an intended
change of the export: UPDATE_GOLDEN=1 pytest tests/test_kb_export.py, read the diff, and bump
`KB_SCHEMA_VERSION` if it is incompatible.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

import jsonschema
import pytest
from conftest import REPO, TESTS, VALID
from test_golden import SITE

from allokb import model as M
from allokb.grade import matrix_data
from allokb.project import check_project
from allokb.render import render_site
from allokb.render.exports import EXPORTED_FIELDS, to_data

GOLDEN = TESTS / "golden" / "data__kb.json"


@pytest.fixture(scope="module")
def exported() -> dict[str, str]:
    result = check_project(VALID)
    assert not result.failed()
    grades = {k: matrix_data(result.rubric, g) for k, g in result.grades.items()}
    return render_site(REPO, result.kb, SITE, grades, result.rubric).files


def test_the_export_is_pinned(exported: dict[str, str]) -> None:
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(exported["data/kb.json"], encoding="utf-8")
    assert exported["data/kb.json"] == GOLDEN.read_text(encoding="utf-8")


def test_the_export_follows_its_published_schema(exported: dict[str, str]) -> None:
    schema = json.loads(exported["schema/kb.schema.json"])
    jsonschema.Draft202012Validator.check_schema(schema)
    data = json.loads(exported["data/kb.json"])
    errors = [f"{e.json_path}: {e.message}" for e in jsonschema.Draft202012Validator(schema).iter_errors(data)]
    assert errors == []


def test_the_schema_describes_every_key_and_no_more(exported: dict[str, str]) -> None:
    """Each record of kb.json has exactly the keys its schema describes (`additionalProperties:
    false`), and those are the serializer's fields plus what the export adds (url, the matrix)."""
    schema = json.loads(exported["schema/kb.schema.json"])["properties"]
    added = {"interventions": {"url", "evidence", "source_post_comparison"}, "mechanisms": {"url", "interventions"}}
    for name, cls in (("interventions", M.Intervention), ("mechanisms", M.Mechanism)):
        items = schema[name]["items"]
        assert items["additionalProperties"] is False
        assert set(items["properties"]) == set(EXPORTED_FIELDS[cls]) | added[name], name
    record = schema["references"]["items"]["properties"]["record"]
    assert record["additionalProperties"] is False and set(record["properties"]) == set(EXPORTED_FIELDS[M.Citation])


def test_a_key_outside_the_schema_fails_the_published_schema(exported: dict[str, str]) -> None:
    schema = json.loads(exported["schema/kb.schema.json"])
    data = json.loads(exported["data/kb.json"])
    data["interventions"][0]["computed_grade"] = "high"  # what kb.json had before schema_version 2
    messages = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(data)]
    assert messages == ["Additional properties are not allowed ('computed_grade' was unexpected)"]


def test_every_field_the_serializer_lists_exists_in_the_model() -> None:
    for cls, names in EXPORTED_FIELDS.items():
        fields = {f.name for f in dataclasses.fields(cls)}
        assert set(names) <= fields, (cls.__name__, set(names) - fields)
        assert len(names) == len(set(names)), cls.__name__


def test_a_record_the_serializer_does_not_know_is_refused() -> None:
    @dataclasses.dataclass(frozen=True)
    class Population:
        id: str

    with pytest.raises(TypeError, match="kb.json has no serializer for Population"):
        to_data(Population("men-on-trt"))


def test_a_model_field_reaches_the_export_only_through_the_serializer() -> None:
    step = M.Step("Progesterone", "5α-DHP", "5α-reductase", True)
    assert to_data(step) == {"substrate": "Progesterone", "product": "5α-DHP", "enzyme": "5α-reductase",
                             "rate_limiting": True}
    # a model class that grows a field (here a subclass with one more) is not exported as it is
    extended: Any = dataclasses.make_dataclass("Step", [("note", str)], bases=(M.Step,), frozen=True, slots=True)
    with pytest.raises(TypeError):
        to_data(extended("Progesterone", "5α-DHP", None, False, "internal"))
