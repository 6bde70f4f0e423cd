"""Typed views: each page template's context is one view dataclass, and its header says so.

A template's header comment (`{#- … Context: a, b (what b is), c. -#}`) lists the names it is
given; the test reads that list and compares it with the fields of the template's view
(`allokb.render.views.VIEWS`), so that a field added to a view, or a name added to a template's
header, shows up here until the two agree.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from conftest import REPO

from allokb.render.views import VIEWS

TEMPLATES = REPO / "site_templates"


def header_names(text: str) -> list[str]:
    """The names a template's header lists after `Context:`: the list ends at the first full stop
    outside parentheses; what stands in parentheses describes a name."""
    header = re.match(r"\{#-?(.*?)-?#\}", text, re.DOTALL)
    assert header is not None, "the template has no header comment"
    body = header.group(1)
    start = body.index("Context:") + len("Context:")
    flat, depth = [], 0
    for char in body[start:]:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0:
            if char == ".":
                break
            flat.append(char)
    names = []
    for part in "".join(flat).split(","):
        match = re.match(r"\s*([a-z_]+)", part)
        assert match is not None, f"cannot read a name in {part!r}"
        names.append(match.group(1))
    return names


@pytest.mark.parametrize("template", sorted(VIEWS))
def test_each_template_header_lists_exactly_its_view(template: str) -> None:
    names = header_names((TEMPLATES / template).read_text(encoding="utf-8"))
    fields = [f.name for f in dataclasses.fields(VIEWS[template])]
    assert len(names) == len(set(names)), f"{template}: a name is listed twice"
    assert sorted(names) == sorted(fields)


def test_every_page_template_has_a_view() -> None:
    # the evidence map's template is rendered by render/evidence_map.py, which builds its own context
    pages = {p.name for p in TEMPLATES.glob("*.j2")} - {"evidence_map.md.j2"}
    assert pages == set(VIEWS)


def test_the_header_reader_reads_names_not_descriptions() -> None:
    text = "{#- A page. Context: meta, rows (list of {a, b}: the rows), counts (dict), cite. More prose. -#}"
    assert header_names(text) == ["meta", "rows", "counts", "cite"]


@pytest.mark.parametrize("table", sorted(__import__("allokb.labels", fromlist=["ENUMS"]).ENUMS))
def test_each_label_table_words_exactly_its_schema_enum(table: str) -> None:
    """Labels have no fallback: each table words every value of its enum, and nothing else."""
    from allokb import labels
    from allokb.schema import load_schema

    schema, pointer = labels.ENUMS[table]
    node = load_schema(schema)
    for part in pointer.strip("/").split("/"):
        node = node[part]
    assert set(getattr(labels, table)) == set(node["enum"])


def test_every_label_table_names_its_enum() -> None:
    from allokb import labels

    tables = {name for name, value in vars(labels).items() if name.isupper() and name != "ENUMS"
              and isinstance(value, dict)}
    assert tables == set(labels.ENUMS)


def test_a_value_without_words_is_a_bug_not_a_guess() -> None:
    from allokb import labels

    with pytest.raises(KeyError):
        labels.label(labels.DESIGN, "not-a-design")
    assert labels.label(labels.DESIGN, None) == "—" and labels.route("not-applicable") == "—"
