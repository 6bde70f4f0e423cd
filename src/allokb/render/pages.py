"""Page builders: one function per page kind, each preparing a view and rendering its template."""

from __future__ import annotations

from typing import Any

import jinja2

from allokb.corrections import seed_numbers
from allokb.diagnostics import DiagnosticError, Location, make
from allokb.graph import KnowledgeBase, record_cites
from allokb.kinds import CITATION, INTERVENTION, MECHANISM, Kind
from allokb.model import ChangeNote, Citation, Cite, Entry, Intervention, Mechanism, Reference
from allokb import labels as L
from allokb.render.bottom_line import top_view
from allokb.render.environment import TEMPLATES_DIR, Inert
from allokb.render.doses import NOT_REVIEWED, dose_rows, label_views
from allokb.render.citations import short_source
from allokb.render.trail import linked_text, named_sources
from allokb.sources import quotes_by_reference
from allokb.render.views import (
    EntryView,
    InterventionsIndexView,
    InterventionView,
    MechanismsIndexView,
    MechanismView,
    Numbering,
    PageView,
    ReferencesIndexView,
    ReferenceView,
    SiteInfo,
    authors_short,
    cited_reference,
    claim_views,
    context_of,
    describe_intervention,
    describe_mechanism,
    describe_reference,
    history_view,
    jsonld,
    page_citation,
    quote_check,
)
from allokb.urls import (entry_data_path, entry_href, entry_link, entry_src, index_page_src, md_prefix, url_prefix)


def render_template(env: jinja2.Environment, template: str, context: dict[str, Any]) -> str:
    """Render a template; a template error becomes a located KB501 error (templates are edited
    by contributors too, so a mistake in one is reported, not a crash)."""
    try:
        return env.get_template(template).render(**context)
    except jinja2.TemplateSyntaxError as exc:
        where = Location(f"{TEMPLATES_DIR}/{exc.name or template}", exc.lineno or 1, 1)
        raise DiagnosticError([make("KB501", f"template syntax error: {exc.message}", where)]) from None
    except jinja2.TemplateError as exc:
        line = _template_line(exc, template)
        where = Location(f"{TEMPLATES_DIR}/{template}", line, 1)
        raise DiagnosticError([make("KB501", f"template error: {exc}", where)]) from None


def _template_line(exc: BaseException, template: str) -> int:
    tb = exc.__traceback__
    line = 1
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(template):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


class PageContext:
    """What every page template gets: front matter, cite box, edit link."""

    def __init__(self, env: jinja2.Environment, kb: KnowledgeBase, site: SiteInfo, formatted: dict[str, str],
                 grades: dict[str, Any], rubric: Any = None, memo: dict[tuple[str, str], tuple[dict[str, Any], str]]
                 | None = None, citing: dict[tuple[str, str], frozenset[tuple[str, str]]] | None = None) -> None:
        self.env, self.kb, self.site, self.formatted, self.grades = env, kb, site, formatted, grades
        self.rubric = rubric  # allokb.rubric.Rubric: the vocabularies' wording (None without a rubric)
        self.seed_map = seed_numbers(kb)
        self.quote_counts = quotes_by_reference(kb)  # bib key -> how many quotes are checked against it
        self._cites: dict[str, list[tuple[Kind, Any, str, str, Cite]]] | None = None
        #: (template, page) -> the context and the text of each page rendered with `memo=` by the
        #: render before an edit (`memo`), and by this one (`rendered`): a page whose whole context
        #: is equal is not rendered again (its template and the environment are the same:
        #: allokb.render.deps compares them)
        self.memo = memo or {}
        self.rendered: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        #: (kind name, id) -> the records linking it (allokb.render.deps): with it, the citations of
        #: a reference are found in the records citing it, not in every record
        self.citing = citing

    def cites_of(self, key: str) -> list[tuple[Kind, Any, str, str, Cite]]:
        """(kind, record, anchor, label, cite) of every citation of the reference `key` in an
        intervention or a mechanism, in page order: indexed once for all reference pages (scanning
        every record for each reference made the build quadratic: 174 s of a 1,000-entry build)."""
        if self.citing is not None:  # the records linking `key`, in page order: interventions, then mechanisms
            names = self.citing.get((CITATION.name, key), frozenset())
            return [(kind, record, anchor, label, cite)
                    for kind, records in ((INTERVENTION, self.kb.interventions), (MECHANISM, self.kb.mechanisms))
                    for ident in sorted(ident for name, ident in names if name == kind.name)
                    for record in (records[ident],)
                    for anchor, label, cite in record_cites(record) if cite.ref.target == key]
        if self._cites is None:
            index: dict[str, list[tuple[Kind, Any, str, str, Cite]]] = {}
            for kind, records in ((INTERVENTION, self.kb.interventions), (MECHANISM, self.kb.mechanisms)):
                for record in records.values():
                    for anchor, label, cite in record_cites(record):
                        index.setdefault(cite.ref.target, []).append((kind, record, anchor, label, cite))
            self._cites = index
        return self._cites.get(key, [])

    def common(self, src_uri: str, title: str, description: str, source: str, refs: list[Reference],
               changes: tuple[ChangeNote, ...] = (), data: str | None = None) -> dict[str, Any]:
        """The common context; `changes` are the entry's own (its history), `data` the site path
        of its data file (linked from the cite box as "This entry as JSON")."""
        path = src_uri.removesuffix(".md").removesuffix("index")
        path = path if path.endswith("/") or not path else path + "/"
        date = self.site.updated.get(source, self.site.build_date)
        edit = f"{self.site.repo_url}/edit/{self.site.branch}/{source}" if self.site.repo_url and "/" in source else None
        history = history_view(self.site, source, changes) if source.endswith(".yaml") else []
        cite = page_citation(self.site, title, path, date)
        cite["json"], cite["json_url"] = (url_prefix(src_uri) + data, self.site.site_url + data) if data else ("", "")
        return {
            "history": history,
            "meta": {"title": title, "description": description, "updated": date, "search_exclude": False,
                     "jsonld": jsonld(self.site, title, description, path, date, refs)},
            "cite": cite, "edit_url": edit, "source": source,
            "root_url": url_prefix(src_uri), "prefix": md_prefix(src_uri),
        }

    def page(self, src_uri: str, title: str, description: str, source: str, refs: list[Reference],
             changes: tuple[ChangeNote, ...] = (), data: str | None = None) -> PageView:
        """The common part of a page's view (`PageView`)."""
        return PageView(**self.common(src_uri, title, description, source, refs, changes, data))

    def render(self, template: str, memo: str | None = None, **context: Any) -> str:
        """Render a template with `context`; `memo`: the page's docs path, to take its text from
        the render before an edit when its context is equal (`self.memo`)."""
        if memo is None:
            return render_template(self.env, template, context)
        old = self.memo.get((template, memo))
        text = old[1] if old is not None and old[0] == context else render_template(self.env, template, context)
        self.rendered[(template, memo)] = (context, text)
        return text

    def render_view(self, template: str, view: Any, memo: str | None = None) -> str:
        """Render a template with its view as the whole context (`memo`: as for `render`)."""
        return self.render(template, memo, **context_of(view))

    def named_link(self, src_uri: str, kind: Kind, record: Intervention | Mechanism) -> dict[str, str]:
        """{name, link} of a record, linked from the page `src_uri`."""
        return {"name": record.name, "link": entry_link(src_uri, kind, record.id)}


def grade_label(ctx: PageContext, ident: str) -> tuple[str, int]:
    """The level of an intervention's main outcome, named (`Depressive symptoms, postpartum women:
    High`), and its rank for sorting: never the best of unrelated outcomes."""
    matrix = ctx.grades.get(ident)
    if not matrix:
        return "Not graded", 0
    main = matrix["main"]
    return f"{main['title']}: {main['level_label']}", int(main["rank"])


def matrix_view(ctx: PageContext, src: str, item: Intervention) -> dict[str, Any] | None:
    """An intervention's matrix for its page: every row (the main outcome's among them, even when
    nothing is recorded for it), each study linked to its reference page, each claim linked by its
    heading (issue 15 item 6: no claim id, design id or rule id in a reader's words)."""
    matrix = ctx.grades.get(item.id)
    if not matrix:
        return None
    # a claim is linked by its heading, as its section on the page is titled; its id is the anchor only
    titles = {c.id: (c.heading or c.statement).rstrip(" .") or c.id for c in item.claims}

    def claim(ident: str) -> dict[str, str]:
        return {"id": ident, "title": titles.get(ident, ident)}

    view = []
    for r in matrix["rows"]:
        # the sources named for a reader (`Irwig 2012`), in the study list, the trail and the wishes
        named = named_sources(ctx.kb, src, sorted({*r["sources"], *(s["id"] for s in r["included"]
                                                                   if not s["approval"])}))
        studies = [{"id": s["id"], "name": named[s["id"]].name if s["id"] in named else s["id"],
                    "approval": s["approval"], "design": L.label(L.DESIGN, s["design"]),
                    "participants": s["participants"], "support": L.label(L.SUPPORT, s["support"]),
                    "claims": [claim(c) for c in s["claims"]], "human": s["human"],
                    "sources": [named[k] for k in s["sources"]]}
                   for s in r["included"]]
        trail = [{**s, "text": linked_text(s["text"], named)} for s in r["trail"]]
        view.append({**r, "studies_view": studies, "direction_label": L.label(L.EFFECT, r["direction"]),
                     "claims_view": [claim(c) for c in r["claims"]],
                     "sizes_view": [{**claim(z["claim"]), "size": z["size"]} for z in r["sizes"]],
                     "main": r["anchor"] == matrix["main"]["anchor"], "trail": trail,
                     "raise_it": [linked_text(w, named) for w in r["raise_it"]]})
    return {**matrix, "rows_view": view}


def intervention_page(ctx: PageContext, item: Intervention) -> str:
    """The page of one intervention."""
    src = entry_src(INTERVENTION, item.id)
    numbering = Numbering(src, ctx.kb, ctx.formatted)
    kb = ctx.kb
    claims = claim_views(item.claims, numbering, ctx.seed_map, ctx.rubric)
    regulatory = [{"r": r, "cites": numbering.cites(r.citations)} for r in item.regulatory]
    dosing = [{"d": d, "cite": numbering.cite(d.reported_by), "population": L.label(L.POPULATION, d.population),
               "supervision": L.label(L.SUPERVISION, d.supervision), "route": L.route(d.route)}
              for d in item.dosing]
    def named(cites: tuple[Cite, ...]) -> list[dict[str, Any]]:
        return [{"c": numbering.cite(c), "name": source_name(cited_reference(kb, c))} for c in cites]

    doses: list[dict[str, Any]] = [{"r": r, "cites": named(r.cites), "supported_by": named(r.supported_by)} for r in dose_rows(kb, item)]
    label_summaries = label_views(item, lambda key: entry_link(src, CITATION, key), numbering.cite)
    cautions = [{"kind": L.label(L.CAUTION, c.kind), "text": c.text, "cites": numbering.cites(c.citations)}
                for c in sorted(item.cautions, key=lambda c: c.kind != "contraindication")]
    interactions = [{**ctx.named_link(src, INTERVENTION, kb.target(i.intervention)),  # type: ignore[arg-type]
                     "kind": L.label(L.INTERACTION, i.kind), "note": i.note, "cites": numbering.cites(i.citations)}
                    for i in item.interactions]
    alternatives = [{"name": a.name, "note": a.note, "cites": numbering.cites(a.citations)} for a in item.alternatives]
    anecdotes = [{"a": a, "cite": numbering.cite(a.citation),
                  "population": L.label(L.POPULATION, a.population) if a.population else None} for a in item.anecdotes]
    related_ids = {r.target for r in item.related}
    related = [ctx.named_link(src, INTERVENTION, kb.target(r)) for r in item.related]  # type: ignore[arg-type]
    interacting = [ctx.named_link(src, INTERVENTION, other) for other in kb.interacting.get(item.id, ())
                   if other.id not in related_ids]
    refs = numbering.entries()
    page = ctx.page(src, item.name, describe_intervention(item), item.source, [e.ref for e in refs if e.ref],
                    item.changes, entry_data_path(INTERVENTION, item.id))
    return ctx.render_view("intervention.md.j2", InterventionView(
        **context_of(page), item=item, matrix=matrix_view(ctx, src, item),
        v={"direction": L.label(L.DIRECTION, item.direction), "category": L.label(L.CATEGORY, item.category),
           "relation": ctx.rubric.relations[item.relation].label if ctx.rubric and item.relation in
           ctx.rubric.relations else L.plain(item.relation),
           "main": grade_label(ctx, item.id)[0],
           "prescription": L.label(L.PRESCRIPTION, item.prescription_status),
           "populations": ", ".join(L.label(L.POPULATION, p) for p in item.populations)},
        mechanisms=[ctx.named_link(src, MECHANISM, kb.target(m)) for m in item.mechanisms],  # type: ignore[arg-type]
        claims=claims, regulatory=regulatory, dosing=dosing, cautions=cautions,
        contraindications=[c.text for c in item.cautions if c.kind == "contraindication"],
        doses_checked=[d for d in doses if d["r"].kind != "other"], doses_other=[d for d in doses if d["r"].kind == "other"],
        dose_routes=sorted({d["r"].route for d in doses}), label_summaries=label_summaries,
        not_reviewed=not_reviewed(item, label_summaries),
        interactions=interactions, alternatives=alternatives, anecdotes=anecdotes, related=related,
        interacting=interacting, refs=refs, entries=refs,
        top=top_view(item, ctx.rubric.population_label if ctx.rubric else None)))


def source_name(ref: Reference) -> str:
    """`Andréen et al. 2006`: a source named for a reader, never by its bib key."""
    year = ref.get("year")
    return f"{authors_short(ref)} {year}" if year else authors_short(ref)


def not_reviewed(item: Intervention, summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """What the page says where no caution or contraindication is recorded: "Not reviewed yet",
    with the first label's link where there is one, or the label summary's anchor when it quotes
    contraindications."""
    href = next((s["href"] for s in summaries if s["href"]), None)
    quoted = any(sec["quotes"] for s in summaries for sec in s["sections"] if sec["title"].startswith("Who"))
    return {"text": NOT_REVIEWED, "href": href, "label_has_contraindications": quoted}


def interventions_index(ctx: PageContext) -> list[tuple[str, str]]:
    """The summary table of all interventions: (docs path, Markdown) of each of its pages
    (`allokb.render.paging`; one page on a knowledge base smaller than a page)."""
    from allokb.render.exports import population_options
    from allokb.render.paging import chunks, option_pages, paging_view, section_prefix

    items = list(ctx.kb.interventions.values())
    categories = sorted({(i.category, L.label(L.CATEGORY, i.category)) for i in items})
    outcomes = sorted({(r["outcome"], r["outcome_label"]) for m in ctx.grades.values() for r in m["rows"]},
                      key=lambda o: o[1])
    populations = population_options(ctx.kb)  # the same on every page of the table
    pages = chunks(items, INTERVENTION)
    out = []
    options: dict[str, dict[str, str]] | None = None
    for number, chunk in enumerate(pages, start=1):
        src = index_page_src(INTERVENTION, number)
        rows = [index_row(ctx, src, section_prefix(number), item) for item in chunk]
        paging = paging_view(INTERVENTION, number, len(items))
        if paging is not None:
            options = options or option_pages(
                INTERVENTION, [{"category": [i.category], "population": list(i.populations),
                                "outcome": sorted({r["outcome"] for r in (ctx.grades.get(i.id) or {}).get("rows", [])})}
                               for i in items])
            paging["options"] = options
        title = "Interventions" if number == 1 else f"Interventions (page {number} of {len(pages)})"
        page = ctx.page(src, title, f"Summary table of {len(items)} ways people try to raise "
                        "allopregnanolone, with computed evidence grades, sources and cautions.",
                        "content/interventions", [])
        page.meta["search_exclude"] = number > 1  # its entries are searchable on their own pages
        out.append((src, ctx.render_view("interventions_index.md.j2", InterventionsIndexView(
            **context_of(page), rows=rows, categories=categories, populations=populations,
            outcomes=outcomes, paging=paging), memo=src)))
    return out


def index_row(ctx: PageContext, src: str, to_section: str, item: Intervention) -> dict[str, Any]:
    """One row of the summary table, on its page `src` (`to_section`: from that page to
    /interventions/, where the entries' pages are)."""
    label, rank = grade_label(ctx, item.id)
    refs = {c.ref.target for claim in item.claims for c in claim.citations}
    return {
        "item": item, "href": f"{to_section}{item.id}/", "direction": L.label(L.DIRECTION, item.direction),
        "category": L.label(L.CATEGORY, item.category), "category_code": item.category,
        "prescription": L.label(L.PRESCRIPTION, item.prescription_status),
        "populations": ", ".join(L.label(L.POPULATION, p) for p in item.populations),
        "population_codes": list(item.populations),
        "mechanisms": [{"name": ctx.kb.target(m).name, "href": entry_href(src, MECHANISM, m.target)}  # type: ignore[union-attr]
                       for m in item.mechanisms],
        "grade_label": label, "grade_rank": rank,
        "evidence": evidence_cells(ctx, item.id),
        "outcome_codes": sorted({r["outcome"] for r in (ctx.grades.get(item.id) or {}).get("rows", [])}),
        "seed_rating": item.seed_rating.rating if item.seed_rating else "—", "ref_count": len(refs),
    }


def evidence_cells(ctx: PageContext, ident: str) -> list[dict[str, Any]]:
    """Every graded (outcome, population) row of an intervention, for the summary table: the
    table shows the row of its main outcome; filtered by a population or an outcome, it shows
    the rows of that population or outcome instead (allokb.js), or says that none was studied."""
    matrix = ctx.grades.get(ident)
    if not matrix:
        return []
    return [{"outcome": r["outcome"], "population": r["population"], "rank": int(r["rank"]),
             "text": f"{r['title']}: {r['level_label']}"}
            for r in sorted(matrix["rows"], key=lambda r: (-int(r["rank"]), r["title"]))]


def mechanism_page(ctx: PageContext, mech: Mechanism) -> str:
    """The page of one mechanism, with every intervention acting through it."""
    src = entry_src(MECHANISM, mech.id)
    kb = ctx.kb
    numbering = Numbering(src, kb, ctx.formatted)
    claims = claim_views(mech.claims, numbering, ctx.seed_map, ctx.rubric)
    refs = numbering.entries()

    def links(records: Any) -> list[dict[str, str]]:
        return [ctx.named_link(src, MECHANISM, record) for record in records]

    acting = [{**ctx.named_link(src, INTERVENTION, item), "direction": L.label(L.DIRECTION, item.direction).lower()}
              for item in kb.acting_through.get(mech.id, ())]
    page = ctx.page(src, mech.name, describe_mechanism(mech), mech.source, [e.ref for e in refs if e.ref],
                    mech.changes, entry_data_path(MECHANISM, mech.id))
    return ctx.render_view("mechanism.md.j2", MechanismView(
        **context_of(page), mech=mech, kind=L.label(L.MECHANISM_KIND, mech.kind), step=mech.step,
        upstream=links(kb.target(u) for u in mech.upstream), downstream=links(kb.downstream.get(mech.id, ())),
        related=links(kb.target(r) for r in mech.related), acting=acting, claims=claims, refs=refs, entries=refs))


def mechanisms_index(ctx: PageContext, diagram: str) -> list[tuple[str, str]]:
    """The mechanisms index, by kind of mechanism, with the pathway diagram on its first page:
    (docs path, Markdown) of each of its pages (`allokb.render.paging`)."""
    from allokb.render.paging import chunks, paging_view

    plural = {kind: label + ("s" if not label.endswith("s") else "") for kind, label in L.MECHANISM_KIND.items()}
    order = list(L.MECHANISM_KIND)
    mechs = sorted((m for m in ctx.kb.mechanisms.values() if m.kind in plural), key=lambda m: order.index(m.kind))
    out = []
    for number, chunk in enumerate(chunks(mechs, MECHANISM), start=1):
        src = index_page_src(MECHANISM, number)
        to_section = "" if number == 1 else "../"  # a Markdown link goes from the page's file, mechanisms/page/N.md
        groups: list[dict[str, Any]] = []
        for m in chunk:
            if not groups or groups[-1]["kind"] != m.kind:
                groups.append({"kind": m.kind, "label": plural[m.kind], "entries": []})
            groups[-1]["entries"].append({"name": m.name, "link": f"{to_section}{m.id}.md", "summary": m.summary,
                                          "count": len(ctx.kb.acting_through.get(m.id, ()))})
        paging = paging_view(MECHANISM, number, len(mechs))
        title = "Mechanisms" if number == 1 else f"Mechanisms (page {number} of {paging['count'] if paging else 1})"
        page = ctx.page(src, title, "How allopregnanolone is made, acts and is lowered: the biosynthesis "
                        "pathway and every mechanism in the knowledge base.", "content/mechanisms", [])
        page.meta["search_exclude"] = number > 1  # its entries are searchable on their own pages
        out.append((src, ctx.render_view("mechanisms_index.md.j2", MechanismsIndexView(
            **context_of(page), diagram=diagram if number == 1 else None, groups=groups, paging=paging), memo=src)))
    return out


def entry_page(ctx: PageContext, kind: Kind, entry: Entry) -> str:
    """The page of an entry of a kind without a page builder of its own (`kinds.GENERIC`)."""
    src = entry_src(kind, entry.id)
    page = ctx.page(src, entry.name, entry.summary or entry.name, entry.source, [])
    return ctx.render_view(kind.template, EntryView(**context_of(page), entry=entry, kind=kind))


def reference_links(ref: Reference) -> list[dict[str, str]]:
    """DOI, PubMed, PMC and web links of a reference."""
    links = []
    if ref.get("doi"):
        links.append({"label": "DOI", "value": ref.get("doi") or "", "url": f"https://doi.org/{ref.get('doi')}"})
    if ref.get("pmid"):
        links.append({"label": "PubMed", "value": ref.get("pmid") or "",
                      "url": f"https://pubmed.ncbi.nlm.nih.gov/{ref.get('pmid')}/"})
    if ref.get("pmcid"):
        links.append({"label": "PMC", "value": ref.get("pmcid") or "",
                      "url": f"https://pmc.ncbi.nlm.nih.gov/articles/{ref.get('pmcid')}/"})
    if ref.get("url"):
        links.append({"label": "Web", "value": ref.get("url") or "", "url": ref.get("url") or ""})
    return links


def reference_page(ctx: PageContext, ref: Reference) -> str:
    """The page of one reference: record, verification, corrections and cited-by."""
    src = entry_src(CITATION, ref.key)
    citation = ctx.kb.citations.get(ref.key)
    cited_by = [{"name": s.record_name, "label": s.label, "support": L.label(L.SUPPORT, s.support),
                 "link": entry_link(src, INTERVENTION if s.kind == INTERVENTION.name else MECHANISM, s.record_id,
                                    s.anchor)}
                for s in ctx.kb.cited_by.get(ref.key, ())]
    title = ref.get("title") or short_source(ref)  # `Nyberg 2005`, never the bib key
    design = citation.design if citation else None
    page = ctx.page(src, title, describe_reference(ref, design), citation.source if citation else "references.bib",
                    [ref], citation.changes if citation else (), entry_data_path(CITATION, ref.key))
    # One page per source would dominate the search index (and every reader's first download);
    # the bibliography page, which lists every source, is searchable instead.
    page.meta["search_exclude"] = True
    return ctx.render_view("reference.md.j2", ReferenceView(
        **context_of(page), ref=ref, formatted=ctx.formatted.get(ref.key, ""), citation=citation,
        design=L.label(L.DESIGN, design) if design else "not recorded",
        subjects=citation.subjects if citation and citation.subjects else "not recorded",
        retraction=L.label(L.RETRACTION, citation.retraction if citation and citation.retraction else "unchecked"),
        identifiers=reference_links(ref),
        verification=L.label(L.VERIFICATION, citation.verification.status) if citation else "No citation record",
        record=verification_record(citation),
        seed=citation.seed if citation else None, corrections=citation.seed.corrections if citation and citation.seed
        else (), cited_by=cited_by, quotes=source_view(ctx, ref.key)))


def source_view(ctx: PageContext, key: str) -> dict[str, Any] | None:
    """The quotes the site takes from a reference, for its page: each with where it is used and
    how it was checked, and the committed text they are checked against (with the link to read
    it) or None; None when nothing quotes it."""
    items = quote_uses(ctx, key)
    if not items:
        return None
    count = ctx.quote_counts.get(key, 0)
    source = ctx.kb.sources.get(key)
    if source is None:
        return {"source": None, "count": count, "uses": items}
    return {"source": source, "count": count, "href": f"../{source.site_path}", "uses": items,
            "html_href": f"{url_prefix(entry_src(CITATION, key))}{source.site_path}",
            "words": f"{count} quote{'s' * (count != 1)}"}


def quote_uses(ctx: PageContext, key: str) -> list[dict[str, str]]:
    """Every quote the site takes from the reference `key`: the quotes of its citation record's
    findings, then of every citation of it in an intervention or a mechanism, in page order;
    each with where it is used and its check (`machine`, `hand`, or `none` for a citation whose
    quote the check does not look for), as the check itself decides (`quote_check`)."""
    kb = ctx.kb
    have_text = key in kb.sources
    out = []
    citation = kb.citations.get(key)
    for finding in citation.findings if citation else ():
        if finding.quote and finding.quote.strip():
            out.append({"quote": finding.quote, "name": "What it shows", "link": Inert("#findings"),
                        "label": finding.text, "check": "machine" if have_text else "hand", "support": ""})
    for kind, record, anchor, label, cite in ctx.cites_of(key):
        if not (cite.quote and cite.quote.strip()):
            continue
        check = {"machine-checked": "machine", "checked by hand": "hand"}.get(quote_check(kb, cite), "none")
        out.append({"quote": cite.quote, "name": record.name, "label": label,
                    "link": entry_link(entry_src(CITATION, key), kind, record.id, anchor), "check": check,
                    "support": L.label(L.SUPPORT, cite.support)})
    return out


def verification_record(citation: Citation | None) -> dict[str, Any] | None:
    """The maintainers' record of how the reference was checked, for the collapsed section of its
    page: the records checked (with the fields seen on each), the date, what was searched, the
    fields found on no record, and the notes; None when nothing was recorded."""
    if citation is None:
        return None
    v = citation.verification
    when = f"Checked on {v.checked_on}" if v.checked_on else "Checked"
    intro = f"{when} against these records, with the fields seen on each:" if v.checked_against else \
        f"{when}." if v.checked_on else None
    record = {"checked_intro": intro,
              "checked": [{"url": p.url, "fields": ", ".join(p.fields)} for p in v.checked_against],
              "searched": list(v.searched), "missing": ", ".join(v.missing), "notes": v.notes}
    return record if any(record.values()) else None


#: the bibliography's row of each reference, kept from the last render with what it was made from
#: (bib entry and citation record, by identity; formatted reference; citing pages): each rebuild
#: of `allokb serve` lists every reference again (0.5 s at 10,000 entries). The rows are read, never changed.
_INDEX_ROWS: dict[str, tuple[Any, ...]] = {}


def references_index(ctx: PageContext) -> list[tuple[str, str]]:
    """The bibliography: (docs path, Markdown) of each of its pages (`allokb.render.paging`)."""
    from allokb.render.paging import chunks, paging_view, section_prefix

    rows = []
    counts = {"total": 0, "verified": 0, "partly": 0, "not_found": 0, "unchecked": 0}
    names = {"verified": "verified", "partly-verified": "partly", "not-found": "not_found", "unchecked": "unchecked"}
    kept, made = _INDEX_ROWS, {}
    for key, ref in ctx.kb.references.items():
        citation = ctx.kb.citations.get(key)
        status = citation.verification.status if citation else "unchecked"
        counts["total"] += 1
        counts[names[status]] += 1
        formatted, cited = ctx.formatted.get(key, key), len(ctx.kb.cited_by.get(key, ()))
        row = kept.get(key)
        if row is None or row[0] is not ref or row[1] is not citation or row[2] != formatted or row[3] != cited:
            row = (ref, citation, formatted, cited, (authors_short(ref).lower(), key), {
                "key": key, "formatted": formatted, "href": key,
                "design": L.label(L.DESIGN, citation.design) if citation else "design not recorded",
                "verification": L.label(L.VERIFICATION, status),
                "links": [{"label": x["label"], "url": x["url"]} for x in reference_links(ref)],
                "cited_by_count": cited})
        made[key] = row
        rows.append(row)
    _INDEX_ROWS.clear()
    _INDEX_ROWS.update(made)
    rows.sort(key=lambda row: row[4])
    entries = [row[5] for row in rows]
    out = []
    for number, chunk in enumerate(chunks(entries, CITATION), start=1):
        src = index_page_src(CITATION, number)
        paging = paging_view(CITATION, number, len(entries))
        title = "References" if number == 1 else f"References (page {number} of {paging['count'] if paging else 1})"
        page = ctx.page(src, title, f"All {counts['total']} sources cited by the Allopregnanolone Evidence "
                        "Atlas, with verification status and links to PubMed, PMC and DOI.", "references.bib", [])
        page.meta["search_exclude"] = number > 1  # its entries are searchable on their own pages
        shown = [e | {"href": f"{section_prefix(number)}{e['key']}/"} for e in chunk]
        out.append((src, ctx.render_view("references_index.md.j2", ReferencesIndexView(
            **context_of(page), style="AMA (11th edition)", entries=shown, counts=counts, paging=paging), memo=src)))
    return out


#: kind name -> the page builder of its entries; a kind not listed gets `entry_page`
ENTRY_PAGES: dict[str, Any] = {INTERVENTION.name: intervention_page, MECHANISM.name: mechanism_page,
                               CITATION.name: reference_page}


def page_of(ctx: PageContext, kind: Kind, record: Any) -> str:
    """The page of one entry of `kind` (for the citation kind, `record` is its bib entry)."""
    builder = ENTRY_PAGES.get(kind.name)
    return builder(ctx, record) if builder is not None else entry_page(ctx, kind, record)
