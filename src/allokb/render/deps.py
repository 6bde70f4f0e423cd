"""Which outputs of the render an edit can change: the pages of the edited records and of their
neighbours in the graph, found by comparing the knowledge base with the one the last render was
made from (`RenderState`, kept on the `RenderedSite`).

An entry's page (allokb.render.pages) shows its own record and, of any other record, only what a
link between the two brings: an intervention page shows the names of the mechanisms and
interventions it links and of the interventions that link it, and of each reference it cites the
formatted entry, the citation record's design, size and verification and whether a source text
is committed; a mechanism page the same of its links and of the interventions acting through it;
a reference page its bib entry, citation record and source text, and the records citing it
(their names, claim labels, quotes). So an edit of a record can change only the pages of the
record itself and of the records one link away from it, in the old graph or the new
(`affected`); an intervention's grade is compared as well (it is computed from the citation
records of its sources: a second guard, as the records citing a source are one link from it).
The pages that are not an entry's (the indexes, the map, the corrections and evidence pages, the
home summary) each list many records: their views are built again after every edit, and a page
is rendered again only when its whole template context differs from the one it was rendered
with (`allokb.render.pages.PageContext.render`), which cannot miss what it shows.

What every page reads is compared as a whole, and when it differs nothing is reused (`affected`
gives the reason): the site's metadata (dates from git), the rubric, the redirects, the source
post's numbering of references, the templates and the files the render includes (their sizes and
times), the generic kinds' entries, and the set of ids of each kind (an added, removed or renamed
record changes the indexes' paging, the navigation and the kb.json lists' shape).

tests/test_render_deps.py is the proof: for edits of every kind of field of every record kind, in
the fixture project and in the repository's own content, the partial render equals a full one
byte for byte.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from allokb.corrections import seed_numbers
from allokb.files import file_stat
from allokb.graph import KnowledgeBase, record_links
from allokb.kinds import CITATION, INTERVENTION, MECHANISM

#: an entry with a page: (kind name, id or bib key)
PageKey = tuple[str, str]

_LINK_KIND = {"intervention": INTERVENTION.name, "mechanism": MECHANISM.name, "reference": CITATION.name}


@dataclass(frozen=True)
class RenderState:
    """What a render was made from, and the parts of it that a partial render reuses: the
    formatted references, the exports' parts (each entry's JSON, each BibTeX entry), the pathway
    diagram and each record's links (forward, and who links each record)."""

    kb: KnowledgeBase
    site: Any
    grades: dict[str, Any]
    rubric: Any
    redirects: dict[str, str]
    inputs: tuple[tuple[str, int, int], ...]
    seed_map: dict[int, str]
    formatted: dict[str, Any]
    exports: Any  # allokb.render.exports.ExportParts
    diagram: Any
    links: dict[PageKey, frozenset[PageKey]] = field(default_factory=dict)
    linked_from: dict[PageKey, frozenset[PageKey]] = field(default_factory=dict)
    #: (template, docs path) -> context and text of the pages rendered from a memo (the indexes,
    #: the overview pages: allokb.render.pages.PageContext.render)
    memo: dict[tuple[str, str], tuple[dict[str, Any], str]] = field(default_factory=dict)
    #: intervention id -> the matrix (allokb.grade.InterventionMatrix) its grades were made from
    #: (`allokb.stages.render`: the same matrix object, kept by the check, gives the same data)
    matrices: dict[str, Any] = field(default_factory=dict)


def included_files(root: Path, names: tuple[str, ...]) -> tuple[tuple[str, int, int], ...]:
    """Size and modification time of the files the render reads besides the knowledge base: the
    templates (every file under `site_templates/`) and the included files `names`."""
    found: list[tuple[str, int, int]] = []
    for dirpath, _dirs, files in os.walk(root / "site_templates", followlinks=False):
        found += [file_stat(Path(dirpath) / name) for name in files]
    found += [file_stat(root / name) for name in names]
    return tuple(sorted(found))


def record_links_of(kb: KnowledgeBase) -> dict[PageKey, frozenset[PageKey]]:
    """Each intervention's and mechanism's links, as the pages they name."""
    out = {}
    for kind, records in ((INTERVENTION, kb.interventions), (MECHANISM, kb.mechanisms)):
        for ident, record in records.items():
            out[(kind.name, ident)] = frozenset((_LINK_KIND[link.kind], link.target) for link in record_links(record))
    return out


def reverse(links: dict[PageKey, frozenset[PageKey]]) -> dict[PageKey, frozenset[PageKey]]:
    """Who links each page."""
    out: dict[PageKey, set[PageKey]] = {}
    for source, targets in links.items():
        for target in targets:
            out.setdefault(target, set()).add(source)
    return {k: frozenset(v) for k, v in out.items()}


def _changed(old: dict[str, Any], new: dict[str, Any]) -> set[str] | None:
    """The keys whose value changed; None when the keys differ."""
    if old.keys() != new.keys():
        return None
    return {k for k, v in new.items() if v is not old[k] and v != old[k]}


@dataclass(frozen=True)
class Affected:
    """What an edit changed (`records`: the edited entries; `references`: bib keys whose entry,
    citation record or source text changed) and the entries' pages it can change (`pages`), or
    `full`, why nothing of the last render can be reused."""

    pages: frozenset[PageKey] = frozenset()
    records: frozenset[PageKey] = frozenset()
    references: frozenset[str] = frozenset()
    bib: frozenset[str] = frozenset()
    links: dict[PageKey, frozenset[PageKey]] = field(default_factory=dict)
    linked_from: dict[PageKey, frozenset[PageKey]] = field(default_factory=dict)
    full: str | None = None


def affected(state: RenderState, kb: KnowledgeBase, site: Any, grades: dict[str, Any], rubric: Any,
             redirects: dict[str, str], inputs: tuple[tuple[str, int, int], ...]) -> Affected:
    """The entries' pages that the change from `state` to the new knowledge base (and its grades)
    can change, with the links of the new one; or why every output must be rendered again."""
    old = state.kb
    for what, same in (("the site's metadata", site == state.site), ("the rubric", rubric == state.rubric),
                       ("the redirects", redirects == state.redirects),
                       ("a template or an included file", inputs == state.inputs),
                       ("an entry of a generic kind", kb.entries == old.entries)):
        if not same:
            return Affected(full=f"{what} changed")
    tables = {}
    for name in ("interventions", "mechanisms", "citations", "references", "sources"):
        changed = _changed(getattr(old, name), getattr(kb, name))
        if changed is None:
            return Affected(full=f"the {name} are not the same set of ids")
        tables[name] = changed
    if (tables["citations"] or tables["references"]) and seed_numbers(kb) != state.seed_map:
        return Affected(full="the source post's numbering of references changed")
    records = {(INTERVENTION.name, i) for i in tables["interventions"]} | {(MECHANISM.name, i) for i in tables["mechanisms"]}
    references = tables["citations"] | tables["references"] | tables["sources"]
    links = dict(state.links)
    if records:
        links.update({key: value for key, value in record_links_of(_only(kb, records)).items()})
    linked_from = reverse(links) if records else state.linked_from
    pages: set[PageKey] = set(records) | {(CITATION.name, k) for k in references}
    for key in set(pages):
        pages |= state.links.get(key, frozenset()) | links.get(key, frozenset())
        pages |= state.linked_from.get(key, frozenset()) | linked_from.get(key, frozenset())
    pages |= {(INTERVENTION.name, i) for i, m in grades.items() if state.grades.get(i) != m}
    pages |= {(INTERVENTION.name, i) for i in state.grades.keys() - grades.keys()}
    return Affected(frozenset(pages), frozenset(records), frozenset(references), frozenset(tables["references"]),
                    links, linked_from)


def _only(kb: KnowledgeBase, keys: set[PageKey]) -> KnowledgeBase:
    """A knowledge base holding only the interventions and mechanisms `keys` (to read their links)."""
    return KnowledgeBase({i: r for i, r in kb.interventions.items() if (INTERVENTION.name, i) in keys},
                         {i: r for i, r in kb.mechanisms.items() if (MECHANISM.name, i) in keys}, {}, {})


__all__ = ["Affected", "PageKey", "RenderState", "affected", "included_files", "record_links_of", "reverse"]
