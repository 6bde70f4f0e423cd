"""The JSON Schemas: valid, fully documented, publishable, and satisfied by the real content."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from allokb.load import load_documents
from allokb.project import check_project
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


@pytest.mark.parametrize("root", [VALID, REPO], ids=["fixture", "repository"])
def test_content_validates_against_the_schemas(root: Any) -> None:
    documents, problems = load_documents(root)
    assert problems == []
    for doc in documents:
        assert check_document(doc) == [], doc.path


def test_repository_content_checks_clean() -> None:
    result = check_project(REPO)
    assert [d for d in result.diagnostics] == []
