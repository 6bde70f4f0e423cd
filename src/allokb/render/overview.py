"""Overview pages: the evidence page (with field docs generated from the schemas), the
corrections page and the home page's summary block."""

from __future__ import annotations

from typing import Any

from allokb import labels as L
from allokb.render.pages import PageContext, grade_label
from allokb.schema import load_schema

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
              "fields": field_docs(n)} for n in ("intervention", "mechanism", "citation")]
    common = ctx.common("evidence.md", "Evidence: how claims are checked and graded",
                        "How every claim is checked against its source, how evidence grades are computed by an "
                        "open rubric, and the documentation of every field of the knowledge base.",
                        "src/allokb/schemas", [])
    return ctx.render("evidence.md.j2", supports=[(k, L.SUPPORT[k], v) for k, v in SUPPORT_DOCS.items()],
                      designs=list(L.DESIGN.items()), rubric=rubric, kinds=kinds, **common)


def corrections_page(ctx: PageContext) -> str:
    """Every correction to the source post's references and claims."""
    kb = ctx.kb
    refs = []
    totals = {"seed_refs": 0, "checked": 0, "corrected": 0, "not_found": 0,
              "claims": 0, "not_supported": 0, "partial": 0, "unchecked": 0}
    for key, citation in kb.citations.items():
        if not citation.seed:
            continue
        totals["seed_refs"] += 1 + len(citation.also_cited_as)
        status = citation.verification.status
        totals["checked"] += status != "unchecked"
        totals["not_found"] += status == "not-found"
        totals["corrected"] += bool(citation.seed.corrections)
        refs.append({"number": citation.seed.number, "key": key, "href": f"../references/{key}/",
                     "title": kb.references[key].get("title") or key, "corrections": citation.seed.corrections})
    refs.sort(key=lambda r: r["number"])
    claims = []
    records = [("intervention", r) for r in kb.interventions.values()] + [("mechanism", r) for r in kb.mechanisms.values()]
    for kind, record in records:
        for claim in record.claims:
            if not claim.seed:
                continue
            seed_keys = {ctx.seed_map.get(n) for n in claim.seed.refs}
            for cite in claim.citations:
                if cite.ref.target not in seed_keys:
                    continue
                totals["claims"] += 1
                key = cite.support.replace("-", "_")
                if key in totals:
                    totals[key] += 1
                if cite.support == "supported":
                    continue
                claims.append({"page": record.name, "statement": claim.statement,
                               "anchor_href": f"../{kind}s/{record.id}/#claim-{claim.id}",
                               "post_text": claim.seed.text, "refs_cited": ", ".join(f"[{n}]" for n in claim.seed.refs),
                               "support": L.label(L.SUPPORT, cite.support), "note": cite.note or ""})
    common = ctx.common("corrections.md", "Corrections to the source post",
                        f"{totals['corrected']} references with corrected metadata and {len(claims)} claims the cited "
                        "source does not fully support, each with its evidence.", "content/citations", [])
    return ctx.render("corrections.md.j2", totals=totals, refs=refs, claims=claims, **common)


def home_summary(ctx: PageContext) -> str:
    """The summary block that replaces `<!-- allokb:summary -->` on the home page."""
    groups = []
    for code, label in L.CATEGORY.items():
        items = [{"name": i.name, "link": f"interventions/{i.id}.md", "grade": grade_label(ctx, i.id)[0]}
                 for i in ctx.kb.interventions.values() if i.category == code]
        if items:
            groups.append({"label": label, "entries": items})
    verified = sum(1 for c in ctx.kb.citations.values() if c.verification.status == "verified")
    counts = {"interventions": len(ctx.kb.interventions), "mechanisms": len(ctx.kb.mechanisms),
              "references": len(ctx.kb.references), "verified": verified}
    return ctx.render("home_summary.md.j2", groups=groups, counts=counts)
