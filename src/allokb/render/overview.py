"""Overview pages: the evidence page (with field docs generated from the schemas), the
corrections page and the home page's summary block."""

from __future__ import annotations

from typing import Any

from allokb import labels as L
from allokb.corrections import collect_corrections
from allokb.kinds import BY_NAME, CITATION, INTERVENTION, KINDS
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
        designs=list(L.DESIGN.items()), rubric=rubric, kinds=kinds, quotes=count_quotes(ctx.kb)))


def corrections_page(ctx: PageContext) -> str:
    """Every correction to the source post's references and claims."""
    found = collect_corrections(ctx.kb)
    src = "corrections.md"
    refs = [{"number": r.number, "key": r.key, "href": entry_href(src, CITATION, r.key), "title": r.title,
             "corrections": r.corrections} for r in found.references]
    claims = [{"page": c.record_name, "statement": c.statement,
               "anchor_href": entry_href(src, BY_NAME[c.kind], c.record_id, f"claim-{c.claim_id}"),
               "post_text": c.post_text,
               "refs_cited": ", ".join(f"[{n}]" for n in c.post_refs), "support": L.label(L.SUPPORT, c.support),
               "note": c.note, "evidence": c.evidence,
               "better": [{"key": k, "href": entry_href(src, CITATION, k)} for k in c.better_sources]}
              for c in found.claims]
    totals = found.totals
    page = ctx.page(src, "Corrections to the source post",
                    f"{totals['corrected']} references with corrected metadata and {len(claims)} citations of "
                    "claims that the cited source does not fully support, each with its evidence.",
                    "content/citations", [])
    return ctx.render_view("corrections.md.j2", CorrectionsView(**context_of(page), totals=totals, refs=refs,
                                                                 claims=claims))


def home_summary(ctx: PageContext) -> str:
    """The summary block that replaces `<!-- allokb:summary -->` on the home page."""
    groups = []
    for code, label in L.CATEGORY.items():
        items = [{"name": i.name, "link": entry_link("index.md", INTERVENTION, i.id), "grade": grade_label(ctx, i.id)[0]}
                 for i in ctx.kb.interventions.values() if i.category == code]
        if items:
            groups.append({"label": label, "entries": items})
    verified = sum(1 for c in ctx.kb.citations.values() if c.verification.status == "verified")
    counts = {"interventions": len(ctx.kb.interventions), "mechanisms": len(ctx.kb.mechanisms),
              "references": len(ctx.kb.references), "verified": verified}
    return ctx.render_view("home_summary.md.j2", HomeSummaryView(groups=groups, counts=counts))
