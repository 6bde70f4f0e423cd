"""The JSON Schemas: valid, fully documented, publishable, and satisfied by the real content."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from allokb.load import load_documents
from allokb.schema import SCHEMA_NAMES, check_document, load_schema, published_schema
from conftest import REPO, VALID


def _properties(node: Any, path: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            yield f"{path}.{name}", sub
        for key, value in node.items():
            if key != "if":  # an `if` clause restates a field; it is not a field of its own
                yield from _properties(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _properties(value, f"{path}[{i}]")


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(load_schema(name))


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_field_has_a_description(name: str) -> None:
    schema = load_schema(name)
    assert schema.get("description")
    missing = [path for path, prop in _properties(schema) if not prop.get("description")
               and not ("#/$defs/" in prop.get("$ref", "") and _ref_described(prop["$ref"]))]
    assert missing == []


def _ref_described(ref: str) -> bool:
    name = ref.rsplit("/", 1)[-1]
    return bool(load_schema("common")["$defs"][name].get("description"))


@pytest.mark.parametrize("name", ["intervention", "mechanism", "citation"])
def test_objects_reject_unknown_fields(name: str) -> None:
    def objects(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            if node.get("type") == "object":
                yield node
            for value in node.values():
                yield from objects(value)
        elif isinstance(node, list):
            for value in node:
                yield from objects(value)

    for obj in [*objects(load_schema(name)), *objects(load_schema("common"))]:
        assert obj.get("additionalProperties") is False, obj.get("description")


def test_published_schema_has_absolute_id() -> None:
    schema = published_schema("intervention", "https://example.org/atlas/")
    assert schema["$id"] == "https://example.org/atlas/schema/intervention.schema.json"
    assert schema["properties"]["id"] == {"$ref": "common.schema.json#/$defs/id"}


def test_content_validates_against_the_schemas() -> None:
    documents, problems = load_documents(VALID)
    assert problems == []
    for doc in documents:
        assert check_document(doc) == [], doc.path
# The repository's content: tests/test_content.py.


def _emptied_lists(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every copy of `node` with one of its lists emptied, with the path of that list."""
    if isinstance(node, list):
        yield path, []
        for i, item in enumerate(node):
            for sub_path, variant in _emptied_lists(item, path + (i,)):
                yield sub_path, [*node[:i], variant, *node[i + 1:]]
    elif isinstance(node, dict):
        for key, value in node.items():
            for sub_path, variant in _emptied_lists(value, path + (key,)):
                yield sub_path, {**node, key: variant}


def test_fast_validator_keeps_keywords_beside_a_ref() -> None:
    """`"$ref": …, "minItems": 1` means both in 2020-12; draft 7 (what fastjsonschema reads) would
    ignore the `minItems`. Emptying each list of the real content must be judged alike by both
    validators: the fast path once let an empty `regulatory[].citations` through."""
    from allokb.schema import SCHEMA_OF_KIND, fast_validator_for, validator_for

    import fastjsonschema

    tried = rejected = 0
    for doc in load_documents(REPO)[0]:
        name = SCHEMA_OF_KIND[doc.kind]
        fast, full = fast_validator_for(name), validator_for(name)
        for path, variant in _emptied_lists(doc.data):
            try:
                fast(variant)
                fast_ok = True
            except fastjsonschema.JsonSchemaException:
                fast_ok = False
            full_ok = full.is_valid(variant)
            assert fast_ok == full_ok, (doc.path, path)
            tried += 1
            rejected += not full_ok
    assert tried > 500 and rejected > 100  # the variants do reach both outcomes


def test_inlining_refuses_recursive_refs(monkeypatch: pytest.MonkeyPatch) -> None:
    import allokb.schema

    loop = {"$defs": {"a": {"type": "array", "items": {"$ref": "#/$defs/a"}}}, "$ref": "#/$defs/a"}
    monkeypatch.setattr(allokb.schema, "load_schema", lambda name: loop)
    with pytest.raises(ValueError, match="recursive"):
        allokb.schema.inline_refs(loop, "loop")
