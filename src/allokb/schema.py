"""Schema stage: validate loaded documents against the JSON Schema of their kind.

The schemas in `allokb/schemas/` are the single source of truth for the record formats; this
module only loads them and turns jsonschema's errors into located diagnostics that say what was
expected, what was found, and (for misspelt fields and values) what was probably meant.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import fastjsonschema
from fastjsonschema.ref_resolver import resolve_path

if TYPE_CHECKING:  # jsonschema is imported when a document fails (its import costs ~80 ms)
    import jsonschema
    import referencing
    from jsonschema.exceptions import ValidationError

from allokb.diagnostics import Diagnostic, did_you_mean, make
from allokb.kinds import KINDS
from allokb.load import SourceDocument

SCHEMA_BASE = "file:///allokb/schema/"
#: record kind (content folder) -> schema name
SCHEMA_OF_KIND = {**{k.folder: k.schema for k in KINDS}, "rubric": "rubric", "link-hosts": "link-hosts"}
#: every schema published at /schema/<name>.schema.json
SCHEMA_NAMES = ("common", *(k.schema for k in KINDS), "rubric", "kb", "link-hosts", "intervention-data",
                "mechanism-data", "reference-data")
#: kb.json list (`Kind.export`) -> the schema of one entry's data file, /data/<section>/<id>.json
ENTRY_DATA_SCHEMAS = {"interventions": "intervention-data", "mechanisms": "mechanism-data",
                      "references": "reference-data"}

_TYPE_NAMES = {
    "string": "text", "integer": "a whole number", "number": "a number", "boolean": "true or false",
    "array": "a list", "object": "a mapping (key: value)", "null": "nothing",
}
_PATTERN_NAMES = {
    "^[a-z0-9]+(?:-[a-z0-9]+)*(?!\\n)$": "a lower-case kebab-case id such as `oral-progesterone`",
    "^[a-z][a-z0-9]*(?!\\n)$": "a bib key in lower-case ASCII letters and digits such as `griffin1999selective`",
    "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])(?!\\n)$": "a date written YYYY-MM-DD",
    '^https?://[^\\s<>"]+(?!\\n)$': "an http:// or https:// URL without spaces",
    "^(?:\\*\\.)?[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+(?!\\n)$":
        "a lower-case host name such as `pubmed.ncbi.nlm.nih.gov`, or `*.` and a domain such as `*.frontiersin.org`",
}


@cache
def load_schema(name: str) -> dict[str, Any]:
    """Return the JSON Schema `name` (e.g. `intervention`) as shipped with the package."""
    text = resources.files("allokb.schemas").joinpath(f"{name}.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _registry() -> referencing.Registry:
    import referencing
    import referencing.jsonschema

    resources_ = [
        (SCHEMA_BASE + f"{name}.schema.json",
         referencing.Resource.from_contents(load_schema(name), default_specification=referencing.jsonschema.DRAFT202012))
        for name in SCHEMA_NAMES
    ]
    return referencing.Registry().with_resources(resources_)


@cache
def validator_for(name: str) -> jsonschema.Draft202012Validator:
    """A validator for schema `name` whose relative `$ref`s resolve to the shipped schemas."""
    import jsonschema

    schema = dict(load_schema(name), **{"$id": SCHEMA_BASE + f"{name}.schema.json"})
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, registry=_registry())


#: keywords that only annotate: a `$ref` beside them needs no `allOf`
_ANNOTATIONS = frozenset({"description", "title", "$comment", "examples", "default"})
#: 2019-09/2020-12 keywords draft 7 does not know: the fast path refuses to compile them
_NOT_IN_DRAFT7 = frozenset({"$anchor", "$dynamicRef", "$dynamicAnchor", "$recursiveRef", "dependentRequired",
                            "dependentSchemas", "prefixItems", "unevaluatedItems", "unevaluatedProperties",
                            "minContains", "maxContains"})


def _resolve(ref: str, schema_name: str) -> tuple[Any, str]:
    """The subschema a `$ref` such as `common.schema.json#/$defs/id` points to, and the name of
    the schema it lives in (the base of the references inside it)."""
    file, _, pointer = ref.partition("#")
    name = file.removesuffix(".schema.json") if file else schema_name
    return resolve_path(load_schema(name), pointer), name


def inline_refs(node: Any, schema_name: str, seen: tuple[str, ...] = ()) -> Any:
    """A copy of a schema with every `$ref` replaced by what it points to.

    Two reasons, both for the compiled fast path: fastjsonschema reads draft 7, where keywords
    beside a `$ref` are ignored, while these 2020-12 schemas mean them (`"$ref": …, "minItems": 1`
    must still require an item); and a referenced subschema becomes a function call whose
    error-name formatting costs more than the check itself. Inlined, the beside-keywords are
    kept as an `allOf` and the checks run in line. A recursive `$ref` is refused: these schemas
    have none, and inlining could not end."""
    if isinstance(node, list):
        return [inline_refs(item, schema_name, seen) for item in node]
    if not isinstance(node, dict):
        return node
    unknown = _NOT_IN_DRAFT7 & node.keys()
    if unknown:
        raise ValueError(f"schema {schema_name}: keyword {sorted(unknown)[0]} is not supported by the fast validator")
    if "$ref" in node:
        ref = node["$ref"]
        key = f"{schema_name}:{ref}"
        if key in seen:
            raise ValueError(f"schema {schema_name}: recursive $ref {ref}")
        target, target_name = _resolve(ref, schema_name)
        inlined = inline_refs(target, target_name, (*seen, key))
        rest = {k: v for k, v in node.items() if k != "$ref" and k not in _ANNOTATIONS}
        return {"allOf": [inlined, inline_refs(rest, schema_name, seen)]} if rest else inlined
    out: dict[str, Any] = {}
    for k, v in node.items():
        if k in ("$defs", "$id", "$schema"):
            continue
        if k in ("properties", "patternProperties") and isinstance(v, dict):  # names -> subschemas
            out[k] = {name: inline_refs(sub, schema_name, seen) for name, sub in v.items()}
        else:
            out[k] = inline_refs(v, schema_name, seen)
    return out


@cache
def fast_validator_for(name: str) -> Any:
    """A compiled validator (fastjsonschema) for the common case of a valid document: many
    times faster than jsonschema, which is used only to explain a document that fails. Both
    read the same schema files; a test checks that they agree on every fixture and on random
    records. The schema is compiled with its references inlined (see `inline_refs`), which
    leaves only keywords draft 7 shares with 2020-12. Its exceptions carry no details (only
    whether a document is valid is used): the generated code is then a third of the size and
    compiles in a third of the time, which every command pays once."""
    schema = inline_refs(load_schema(name), name)
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    return fastjsonschema.compile(schema, use_default=False, detailed_exceptions=False)


def is_valid(doc: SourceDocument) -> bool:
    """True when the document satisfies its schema (fast path)."""
    try:
        fast_validator_for(SCHEMA_OF_KIND[doc.kind])(doc.data)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def check_document(doc: SourceDocument) -> list[Diagnostic]:
    """Validate one document against the schema of its kind."""
    if is_valid(doc):
        return []
    validator = validator_for(SCHEMA_OF_KIND[doc.kind])
    out: list[Diagnostic] = []
    for error in validator.iter_errors(doc.data):
        out.extend(_diagnose(error, doc))
    return out


def _describe(value: Any, raw: str | None) -> str:
    if isinstance(value, bool):
        return f"the boolean `{raw or str(value).lower()}`"
    if isinstance(value, (int, float)):
        return f"the number `{raw if raw is not None else value}`"
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, str):
        return f"the text `{_clip(value)}`"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _clip(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _leaf_errors(error: ValidationError) -> Iterator[ValidationError]:
    """Descend into `allOf`/`$ref` wrappers to the errors that say something specific."""
    if error.context:
        for sub in error.context:
            yield from _leaf_errors(sub)
    else:
        yield error


def _diagnose(error: ValidationError, doc: SourceDocument) -> Iterator[Diagnostic]:
    path = tuple(error.absolute_path)
    kind = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance
    where = doc.location(path)
    if kind == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        for key in sorted(set(instance) - set(allowed)):
            hint = did_you_mean(key, allowed) or f"allowed fields: {', '.join(allowed)}"
            yield make("KB203", f"unknown field `{_clip(key)}`", doc.location(path + (key,), key=True), hint)
    elif kind == "required":
        missing = error.validator_value
        for name in missing:
            if name not in instance:
                yield make("KB202", f"missing required field `{name}`", where,
                           _field_doc(schema, name))
    elif kind == "type":
        expected = error.validator_value
        names = [expected] if isinstance(expected, str) else list(expected)
        wanted = " or ".join(_TYPE_NAMES.get(n, n) for n in names)
        found = _describe(instance, doc.raw_scalars.get(path))
        hint = None
        if "string" in names and isinstance(instance, (int, float, bool)):
            hint = f'quote it to keep it text: "{doc.raw_scalars.get(path, instance)}"'
        yield make("KB201", f"expected {wanted}, found {found}", where, hint)
    elif kind == "enum":
        options = [str(o) for o in error.validator_value]
        hint = did_you_mean(str(instance), options) if isinstance(instance, str) else None
        yield make("KB204", f"{_describe(instance, doc.raw_scalars.get(path))} is not allowed; "
                   f"expected one of: {', '.join(options)}", where, hint)
    elif kind == "const":
        yield make("KB204", f"expected `{error.validator_value}`, found {_describe(instance, None)}", where)
    elif kind == "pattern" and error.validator_value == "\\S":
        yield make("KB206", "text must not be blank", where)
    elif kind == "pattern":
        form = _PATTERN_NAMES.get(error.validator_value, f"the pattern `{error.validator_value}`")
        yield make("KB205", f"{_describe(instance, None)} is not {form}", where)
    elif kind in ("minLength", "maxLength", "minItems", "maxItems", "uniqueItems", "minimum", "maximum"):
        yield make("KB206", _bounds_message(kind, error.validator_value, instance), where)
    elif error.context:
        for leaf in _leaf_errors(error):
            yield from _diagnose(leaf, doc)
    else:
        yield make("KB208", error.message, where)


def _bounds_message(kind: str, limit: Any, instance: Any) -> str:
    if kind == "minLength":
        return "text must not be blank" if limit <= 1 else f"text must be at least {limit} characters"
    if kind == "maxLength":
        return f"text is {len(instance):,} characters; the limit is {limit:,}"
    if kind == "minItems":
        return f"list must have at least {limit} item" + ("s" if limit != 1 else "")
    if kind == "maxItems":
        return f"list has {len(instance)} items; the limit is {limit}"
    if kind == "uniqueItems":
        seen: list[Any] = []
        for item in instance:
            if item in seen:
                return f"list repeats the item {_describe(item, None)}"
            seen.append(item)
        return "list repeats an item"
    if kind == "minimum":
        return f"{instance} is below the minimum {limit}"
    return f"{instance} is above the maximum {limit}"


def _field_doc(schema: dict[str, Any], name: str) -> str | None:
    prop = schema.get("properties", {}).get(name, {})
    description = prop.get("description") if isinstance(prop, dict) else None
    return f"`{name}`: {description}" if description else None


def published_schema(name: str, base_url: str) -> dict[str, Any]:
    """The schema as published on the site: with an absolute `$id` under `base_url`."""
    return dict(load_schema(name), **{"$id": base_url.rstrip("/") + f"/schema/{name}.schema.json"})
