"""The registry of record kinds: one entry per kind of content file, read by every stage.

Load scans each kind's folder, the schema stage validates with its schema, the model stage builds
with its builder, the graph indexes records by its id field, urls.py derives its pages' URLs from
its section, render uses its template, scaffold writes its files and the exports list its records.
Adding a kind is an entry here, a schema in `allokb/schemas/`, a template in `site_templates/`
and its content (CONTRIBUTING.md, "Record kinds and URLs", shows it for a toy kind).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from allokb.model import (
    Document,
    Record,
    build_citation,
    build_intervention,
    build_mechanism,
    build_record,
)


@dataclass(frozen=True)
class Kind:
    """One kind of record: where its files are, how they are checked and built, where its pages go.

    `name` is the singular (`allokb new NAME`, the name a `Link` uses for it unless `link_name`
    says otherwise); `folder` is `content/<folder>/`; `section` the URL folder of its pages
    (`/<section>/<id>/`); `id_field` and `former_field` the fields holding its id and the ids it
    had before a rename; `link_code` the diagnostic for a link to an entry that does not exist.
    `pages` is `records` (one page per file) or `references` (one page per bib entry: a
    citation record only adds to its reference's page); `export` names its list in kb.json (None:
    not exported)."""

    name: str
    folder: str
    schema: str
    id_field: str
    former_field: str
    build: Callable[[Document], Record]
    section: str
    template: str
    title: str
    link_name: str
    link_code: str | None
    pages: str = "records"
    export: str | None = None
    index_template: str | None = None  # the section's own page, `/<section>/` (None: no such page)


INTERVENTION = Kind("intervention", "interventions", "intervention", "id", "former_ids", build_intervention,
                    "interventions", "intervention.md.j2", "Interventions", "intervention", "KB302",
                    export="interventions", index_template="interventions_index.md.j2")
MECHANISM = Kind("mechanism", "mechanisms", "mechanism", "id", "former_ids", build_mechanism,
                 "mechanisms", "mechanism.md.j2", "Mechanisms", "mechanism", "KB301", export="mechanisms",
                 index_template="mechanisms_index.md.j2")
CITATION = Kind("citation", "citations", "citation", "key", "former_keys", build_citation,
                "references", "reference.md.j2", "References", "reference", "KB303", pages="references",
                export="references", index_template="references_index.md.j2")

#: every kind, in the order pages, exports and diagnostics list them
KINDS: tuple[Kind, ...] = (INTERVENTION, MECHANISM, CITATION)

#: the generic builder, for a kind whose records need no class of their own (`model.Record`)
GENERIC = build_record

BY_NAME: dict[str, Kind] = {k.name: k for k in KINDS}
BY_FOLDER: dict[str, Kind] = {k.folder: k for k in KINDS}
BY_LINK: dict[str, Kind] = {k.link_name: k for k in KINDS}


def kind_of(folder: str) -> Kind:
    """The kind whose files are in content/<folder>/."""
    return BY_FOLDER[folder]


def folders() -> tuple[str, ...]:
    """The content folders, in registry order."""
    return tuple(k.folder for k in KINDS)
