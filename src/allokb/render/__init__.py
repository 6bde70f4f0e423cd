"""Render stage: the knowledge base -> Markdown pages and export files, in memory.

Knows nothing of MkDocs: `render_site` returns pages (docs path and Markdown), files (site path
and text) and blocks (Markdown that hand-written pages embed with `<!-- allokb:NAME -->`), or,
when a template or an included file is at fault, no pages and the located diagnostics (KB501 and
the file checks' codes): errors are data here as in the check.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from allokb.diagnostics import Diagnostic, DiagnosticError
from allokb.corrections import seed_numbers
from allokb.files import read_project_file
from allokb.graph import KnowledgeBase
from allokb.parallel import cores, share
from allokb.render.citations import format_references
from allokb.render.deps import Affected, RenderState, affected, included_files, record_links_of, reverse
from allokb.render.diagram import pathway_dot, pathway_text, render_svg
from allokb.render.environment import Inert, make_environment
from allokb.render.evidence_map import evidence_map_pages
from allokb.render.exports import export_parts
from allokb.render.overview import corrections_page, evidence_page, home_summary
from allokb.render.paging import diagram_fits
from allokb.render.pages import PageContext, interventions_index, mechanisms_index, page_of, references_index, render_template
from allokb.render.views import CodesView, SiteInfo, context_of
from allokb.urls import entries_with_pages, entry_src, redirect_html

__all__ = ["Page", "RenderedSite", "SiteInfo", "render_codes_page", "render_site"]


@dataclass(frozen=True)
class Page:
    """A generated page: its source path in the docs tree (e.g. `codes.md`) and its Markdown."""

    src_uri: str
    markdown: str


@dataclass(frozen=True)
class RenderedSite:
    """Everything the render stage produces."""

    pages: tuple[Page, ...]
    files: dict[str, str]
    blocks: dict[str, str]
    abbreviations: str = ""  # Markdown abbreviation definitions appended to every page
    diagnostics: tuple[Diagnostic, ...] = ()  # why nothing was rendered (then pages and files are empty)
    #: what it was rendered from, for the next render after an edit (allokb.render.deps); not compared
    state: RenderState | None = field(default=None, compare=False, repr=False)


#: abbreviation definitions (`*[ALLO]: allopregnanolone`) shown on hover on every page
ABBREVIATIONS = "site_templates/abbreviations.md"
#: the contributor guide, published as /contributing/
GUIDE = "CONTRIBUTING.md"
#: from this many references or entries a full render formats and renders them on every core
#: (allokb.parallel), in batches of BATCH
PARALLEL_FROM = 600
BATCH = 100
MAX_SOURCE_BYTES = 1024 * 1024


def _read_source(root: Path, rel: str) -> str | None:
    """A hand-written file the site includes, or None when there is none; one that is not a
    regular file, cannot be read as UTF-8 text or holds a control character stops the build
    with its location (not a traceback)."""
    text, problems = read_project_file(root, rel, MAX_SOURCE_BYTES, refuse_controls=True)
    if problems:
        raise DiagnosticError(problems[:1])
    return text


def render_codes_page(root: Path) -> Page:
    """The page documenting every diagnostic code, generated from the catalogue (`CODES`, with the
    rule functions' docstrings)."""
    from allokb.rules import catalogue  # the rules stage; render needs only its texts

    view = CodesView(codes=list(catalogue().values()))
    return Page("codes.md", render_template(make_environment(root), "codes.md.j2", context_of(view)))


def render_site(root: Path, kb: KnowledgeBase, site: SiteInfo, grades: dict[str, Any] | None = None,
                rubric: Any = None, redirects: dict[str, str] | None = None,
                previous: RenderedSite | None = None) -> RenderedSite:
    """Render every generated page, export and embedded block; or, when a template or an included
    file stops the render, a `RenderedSite` with nothing but its `diagnostics`. With `previous`
    (the render of the same project before an edit), only what the edit can change is rendered
    again (`allokb.render.deps`) and the rest taken from `previous`: the result is the same."""
    # A render after an edit allocates little next to the knowledge base it reads, which Python's
    # cyclic collector would walk again and again (at 3,000 entries 4.2 s of CPU with it, 2.5 s
    # without): it is off for that render, and on again after it.
    collecting = gc.isenabled() and previous is not None
    if collecting:
        gc.disable()
    try:
        return _render_site(root, kb, site, grades or {}, rubric, redirects or {}, previous)
    except DiagnosticError as exc:
        return RenderedSite((), {}, {}, diagnostics=exc.diagnostics)
    finally:
        if collecting:
            gc.enable()


def _format_all(refs: list[Any]) -> dict[str, Inert]:
    """`format_references(refs)`, shared among the cores for many references: each is formatted on
    its own (AMA numbers by citation, and each page numbers its own list), so batches give the
    same text, as serve's render of only the edited references relies on too."""
    batches = [refs[i:i + BATCH] for i in range(0, len(refs), BATCH)]
    done, _ = share(lambda i: format_references(batches[i]), len(batches),
                    cores() if len(refs) >= PARALLEL_FROM else 1)
    return {key: text for part in done for key, text in part.items()}


def _entry_pages(ctx: PageContext, entries: list[Any]) -> list[Page]:
    """The page of every entry, shared among the cores for many entries (a page reads the
    knowledge base and writes nothing the others read)."""
    batches = [entries[i:i + BATCH] for i in range(0, len(entries), BATCH)]
    done, _ = share(lambda i: [Page(entry_src(kind, ident), page_of(ctx, kind, record))
                               for kind, ident, record in batches[i]],
                    len(batches), cores() if len(entries) >= PARALLEL_FROM else 1)
    return [page for part in done for page in part]


def _render_site(root: Path, kb: KnowledgeBase, site: SiteInfo, grades: dict[str, Any], rubric: Any,
                 redirects: dict[str, str], previous: RenderedSite | None) -> RenderedSite:
    inputs = included_files(root, (GUIDE,))
    # what the render before an edit leaves to reuse: it, what it was made from, what the edit changed
    reuse: tuple[RenderedSite, RenderState, Affected] | None = None
    if previous is not None and previous.state is not None and not previous.diagnostics:
        change = affected(previous.state, kb, site, grades, rubric, redirects, inputs)
        reuse = (previous, previous.state, change) if change.full is None else None
    env = make_environment(root)
    if reuse is not None:
        formatted = {**reuse[1].formatted, **format_references([kb.references[k] for k in sorted(reuse[2].bib)])}
    else:
        formatted = _format_all(list(kb.references.values()))
    ctx = PageContext(env, kb, site, formatted, grades, rubric, memo=reuse[1].memo if reuse else None,
                      citing=reuse[2].linked_from if reuse else None)
    # Graphviz's SVG, with every label XML-escaped by Graphviz; it stands in a raw HTML block.
    mechs, items = list(kb.mechanisms.values()), list(kb.interventions.values())
    if reuse is not None and not reuse[2].records:  # drawn from the interventions and mechanisms only
        diagram = reuse[1].diagram
    elif not any(m.step for m in mechs):
        diagram = Inert("<p>No enzymatic step is recorded yet.</p>")
    elif not diagram_fits(len(mechs), len(items)):  # too large to draw on the index (render.paging)
        diagram = Inert(f"<p>The knowledge base holds {len(mechs)} mechanisms and {len(items)} interventions: too many "
                        "to draw legibly as one diagram. Each mechanism's page links the steps before and after it.</p>")
    else:
        diagram = Inert(render_svg(pathway_dot(mechs, items)) + "\n" + pathway_text(mechs, items))
    indexes = [*interventions_index(ctx), *mechanisms_index(ctx, diagram), *references_index(ctx)]
    pages = [render_codes_page(root), *(Page(src, markdown) for src, markdown in indexes),
             Page("evidence.md", evidence_page(ctx, rubric)),
             *(Page(src, markdown) for src, markdown in evidence_map_pages(ctx)),
             Page("corrections.md", corrections_page(ctx))]
    guide = _read_source(root, GUIDE)
    if guide is not None:  # one source for the repository's guide and the site's page
        pages.append(Page("contributing.md", "---\ndescription: \"How to add a source, a claim with its quote, an "
                          "intervention and a mechanism, how grades are computed, and the review checklist.\"\n---\n\n"
                          + guide))
    if reuse is not None:
        before, state, change = reuse
        kept = {p.src_uri: p for p in before.pages}
        pages += [Page(src, page_of(ctx, kind, record)) if (kind.name, ident) in change.pages else kept[src]
                  for kind, ident, record in entries_with_pages(kb) for src in (entry_src(kind, ident),)]
        files, parts = export_parts(kb, site.site_url, grades, site, previous=(before.files, state.exports),
                                    changed=change.pages, bib_changed=change.bib)
        links, linked_from = change.links, change.linked_from
    else:
        pages += _entry_pages(ctx, list(entries_with_pages(kb)))
        files, parts = export_parts(kb, site.site_url, grades, site)
        links = record_links_of(kb)
        linked_from = reverse(links)
    for old, new in redirects.items():
        files[f"{old.lstrip('/')}index.html"] = redirect_html(site.site_url, old, new)
    blocks = {"summary": home_summary(ctx)}
    new_state = RenderState(kb, site, grades, rubric, redirects, inputs, seed_numbers(kb), formatted, parts, diagram,
                            links, linked_from, ctx.rendered)
    return RenderedSite(tuple(sorted(pages, key=lambda p: p.src_uri)), files, blocks,
                        _read_source(root, ABBREVIATIONS) or "", state=new_state)
