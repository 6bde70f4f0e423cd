"""Overview pages: the evidence page (with field docs generated from the schemas), the
corrections page and the home page's summary block."""

from __future__ import annotations

from typing import Any

from allokb import labels as L
from allokb.corrections import (
    ERROR_KINDS,
    ClaimErrors,
    collect_corrections,
    ranked_errors,
)
from allokb.kinds import BY_NAME, CITATION, INTERVENTION, KINDS
from allokb.render.citations import (
    SHORT_VERDICT,
    post_numbering,
    post_refs,
    short_source,
)
from allokb.render.pages import PageContext, grade_label
from allokb.render.views import (
    CorrectionsView,
    EvidenceView,
    HomeSummaryView,
    context_of,
)
from allokb.schema import load_schema
from allokb.sources import count_quotes
from allokb.urls import entry_href, entry_link

SUPPORT_DOCS = {
    "supported": "The quoted words of the source state the claim.",
    "partial": "The source states part of the claim, or something weaker (e.g. in animals only).",
    "not-supported": "The source does not say this, or says something else. The page says so in plain view.",
    "unchecked": "Not yet checked against the source; shown as such and never counted as support.",
}


def _type_of(prop: dict[str, Any], defs: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """(type wording, allowed values, the resolved property) of a schema property."""
    if "$ref" in prop:
        target = dict(defs[prop["$ref"].rsplit("/", 1)[-1]])
        merged = {**target, **{k: v for k, v in prop.items() if k != "$ref"}}
        return _type_of(merged, defs)
    if "enum" in prop:
        return "one of a list", ", ".join(f"`{v}`" for v in prop["enum"]), prop
    kind = prop.get("type", "")
    if kind == "array":
        item_type, values, _ = _type_of(prop.get("items", {}), defs)
        return f"list of {item_type or 'items'}", values, prop
    return {"string": "text", "integer": "whole number", "boolean": "true/false", "object": "mapping"}.get(kind, kind), \
        "", prop


def field_docs(name: str) -> list[dict[str, Any]]:
    """Every field of schema `name`, flattened with dotted paths, from the schema itself."""
    defs = load_schema("common")["$defs"]
    out: list[dict[str, Any]] = []

    def walk(schema: dict[str, Any], prefix: str, depth: int) -> None:
        required = set(schema.get("required", []))
        for key, prop in schema.get("properties", {}).items():
            wording, values, resolved = _type_of(prop, defs)
            description = prop.get("description") or resolved.get("description", "")
            out.append({"path": prefix + key, "type": wording, "required": key in required,
                        "allowed": values, "description": description})
            inner = resolved.get("items", resolved) if resolved.get("type") == "array" else resolved
            if "$ref" in inner:
                inner = _type_of(inner, defs)[2]
            if inner.get("type") == "object" and depth < 3:
                walk(inner, f"{prefix}{key}{'[]' if resolved.get('type') == 'array' else ''}.", depth + 1)

    walk(load_schema(name), "", 0)
    return out


def evidence_page(ctx: PageContext, rubric: Any) -> str:
    """How claims are checked and graded, and the field reference."""
    kinds = [{"name": n, "title": load_schema(n)["title"], "description": load_schema(n)["description"],
              "fields": field_docs(n)} for n in (kind.schema for kind in KINDS)]
    page = ctx.page("evidence.md", "Evidence: how claims are checked and graded",
                    "How every claim is checked against its source, how evidence grades are computed by an "
                    "open rubric, and the documentation of every field of the knowledge base.",
                    "src/allokb/schemas", [])
    return ctx.render_view("evidence.md.j2", EvidenceView(
        **context_of(page), supports=[(k, L.SUPPORT[k], v) for k, v in SUPPORT_DOCS.items()],
        designs=list(L.DESIGN.items()), rubric=rubric, kinds=kinds, quotes=count_quotes(ctx.kb)), memo="evidence.md")


#: the kind of a claim that nothing found wrong yet: listed by page below the table, not as a row
_NOT_CHECKABLE = "not-checkable"
_NOT_FOUND = "source-not-found"


def corrections_page(ctx: PageContext) -> str:
    """Every error found in the source post, one row per claim or reference, the most consequential
    first (`corrections.ERROR_KINDS`), with filters by kind of error; below them, how many claims
    could not be checked yet (no error is known in them: a count, to keep the page small)."""
    kb = ctx.kb
    found = collect_corrections(kb)
    labels = {k.id: k.label for k in ERROR_KINDS}

    src = "corrections.md"

    def source(key: str) -> dict[str, str]:
        return {"name": short_source(kb.references[key]), "href": entry_href(src, CITATION, key)}

    def claim_href(row: ClaimErrors, anchor: str) -> str:
        return entry_href(src, BY_NAME[row.kind], row.record_id, anchor)

    view: list[dict[str, Any]] = []
    pending: dict[str, int] = {}  # page -> its claims not yet checkable
    # A claim whose one error is that the paper it cites cannot be found is listed in that paper's
    # row (the row says what is wrong; each claim would repeat it, and the page must stay small).
    cited_for: dict[str, list[dict[str, str]]] = {}
    rows = ranked_errors(kb, found)
    for row in rows:
        if not isinstance(row, ClaimErrors):
            continue
        if set(row.errors) - {_NOT_CHECKABLE} == {_NOT_FOUND}:
            for f in row.findings:
                cited = kb.citations.get(f.cited_key)
                if cited and cited.verification.status == "not-found":
                    cited_for.setdefault(f.cited_key, []).append(
                        {"page": row.record_name, "href": claim_href(row, f"claim-{row.claim_id}")})
    for row in rows:
        if isinstance(row, ClaimErrors) and row.errors[0] == _NOT_CHECKABLE:
            pending[row.kind + row.record_id] = pending.get(row.kind + row.record_id, 0) + 1
            continue
        if isinstance(row, ClaimErrors) and set(row.errors) - {_NOT_CHECKABLE} == {_NOT_FOUND}:
            continue
        errors = [k for k in row.errors if k != _NOT_CHECKABLE]
        entry: dict[str, Any] = {"kinds": " ".join(errors), "worst": labels[errors[0]]}
        if isinstance(row, ClaimErrors):
            entry |= {"claim": True, "post_text": post_numbering(row.post_text), "post_refs": post_refs(row.post_refs),
                      "page": row.record_name, "href": claim_href(row, f"claim-{row.claim_id}"),
                      "findings": [source(f.cited_key) | {"support": f.support, "verdict": SHORT_VERDICT[f.support]}
                                   for f in row.findings],
                      "better": [source(k) for k in row.better_sources]}
        else:
            entry |= {"claim": False, "post_refs": post_refs([row.number]), "source": source(row.key),
                      "not_found": row.status == "not-found", "cited_for": cited_for.get(row.key, []),
                      "fields": [{"field": c.field, "seed": c.seed, "record": c.record, "evidence": c.evidence}
                                 for c in row.corrections]}
        view.append(entry)
    page = ctx.page(src, "Corrections to the source post",
                    "What the source post got wrong, the most serious error first, with the evidence for each.",
                    "content/citations", [])
    ranking = [{"id": k.id, "label": k.label} for k in ERROR_KINDS if k.id != _NOT_CHECKABLE]
    return ctx.render_view("corrections.md.j2", CorrectionsView(
        **context_of(page), totals=found.totals, ranking=ranking, rows=view,
        unchecked_count=sum(pending.values()), unchecked_pages=len(pending)), memo="corrections.md")


#: names listed per category on the home page: beyond it, the category's count and a link to the
#: summary table filtered by it, so that the home page does not grow with the knowledge base
HOME_PER_CATEGORY = 25


def home_summary(ctx: PageContext) -> str:
    """The summary block that replaces `<!-- allokb:summary -->` on the home page: each category's
    interventions by name, at most `HOME_PER_CATEGORY` of them (then how many more, and the link
    to the summary table filtered by that category)."""
    groups = []
    for code, label in L.CATEGORY.items():
        items = [i for i in ctx.kb.interventions.values() if i.category == code]
        if items:
            shown = [{"name": i.name, "link": entry_link("index.md", INTERVENTION, i.id),
                      "grade": grade_label(ctx, i.id)[0]} for i in items[:HOME_PER_CATEGORY]]
            groups.append({"label": label, "entries": shown, "more": len(items) - len(shown),
                           "more_href": f"interventions/?category={code}"})
    verified = sum(1 for c in ctx.kb.citations.values() if c.verification.status == "verified")
    counts = {"interventions": len(ctx.kb.interventions), "mechanisms": len(ctx.kb.mechanisms),
              "references": len(ctx.kb.references), "verified": verified}
    return ctx.render_view("home_summary.md.j2", HomeSummaryView(groups=groups, counts=counts), memo="index.md")
