"""View models: what each template receives, prepared from the knowledge base.

Templates hold no logic beyond loops and conditionals; numbering of citations on a page,
links between pages, labels and the "cite this page" texts are computed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, cast

from allokb import labels as L
from allokb import urls
from allokb.graph import KnowledgeBase
from allokb.kinds import CITATION
from allokb.model import ChangeNote, Cite, Claim, Intervention, Mechanism, Reference
from allokb.render.citations import post_numbering, short_source, study_summary
from allokb.sources import CHECKED_SUPPORTS
from allokb.urls import entry_href, entry_link


@dataclass(frozen=True)
class Change:
    """A commit that changed content. Pages and the feed show only its date and hash (one
    "Updated on <date>" line for an entry without `changes`); its subject is the committer's text,
    kept for curators' tools, never shown to a reader."""

    sha: str
    when: str  # ISO 8601 date and time
    subject: str
    files: tuple[str, ...]

    @property
    def date(self) -> str:
        return self.when[:10]


@dataclass(frozen=True)
class SiteInfo:
    """What pages need to know about where the site lives."""

    site_name: str
    site_url: str  # absolute, ending in "/"
    repo_url: str | None  # e.g. https://github.com/org/repo
    branch: str
    updated: dict[str, str]  # content path -> ISO date of its last commit
    build_date: str  # ISO date used when a file has no git history
    changes: tuple[Change, ...] = ()  # newest first

    def history(self, path: str, limit: int = 10) -> list[Change]:
        """The last changes of one content file, newest first."""
        return [c for c in self.changes if path in c.files][:limit]


def history_view(site: SiteInfo, source: str, changes: tuple[ChangeNote, ...]) -> list[dict[str, Any]]:
    """The history of an entry's page, newest first: its own `changes` (date and summary, written
    for a reader), or, for an entry without them, one line per commit that changed its file (date
    and a link to the commit, never the commit's subject)."""
    if changes:
        return [{"date": c.date, "summary": c.summary, "url": None} for c in changes]
    return [{"date": c.date, "summary": None, "url": f"{site.repo_url}/commit/{c.sha}" if site.repo_url else None}
            for c in site.history(source)]


@dataclass
class CiteView:
    """One citation on a page: its number in the page's reference list and its check."""

    number: int
    key: str
    support: str
    support_label: str
    locator: str | None
    quote: str | None
    note: str | None
    link: str  # relative link to the reference page
    check: str = ""  # how its quote was checked: "machine-checked", "checked by hand", or "" (none is)
    curator_note: str | None = None  # how it was checked, in the maintainers' words ("How this was checked")
    source: str = ""  # the source in a few words: `Andréen 2006` (citations.short_source)
    study: str = ""  # its design and size as recorded: `RCT, n = 43` (citations.study_summary), or ""
    open: bool = False  # its quote is shown open: the best supporting quote of its claim


def cited_reference(kb: KnowledgeBase, cite: Cite) -> Reference:
    """The reference a citation names, as the graph resolved it (every citation of a checked
    knowledge base resolves to a reference)."""
    return cast(Reference, kb.target(cite.ref))


def quote_check(kb: KnowledgeBase, cite: Cite) -> str:
    """How the check treated a citation's quote: found in the committed source text
    ("machine-checked"), or, with no text committed for the reference, "checked by hand"; ""
    for a citation whose quote the check does not look for (`not-supported`, `unchecked`)."""
    if cite.support not in CHECKED_SUPPORTS or not (cite.quote or "").strip():
        return ""
    return "machine-checked" if cite.ref.target in kb.sources else "checked by hand"


def mark_best_quote(cites: list[CiteView]) -> list[CiteView]:
    """Mark the best supporting quote of a claim to be shown open: the first `supported` citation
    with a quote, else the first `partial` one; none when no supporting citation has a quote."""
    for support in ("supported", "partial"):
        for c in cites:
            if c.support == support and (c.quote or "").strip():
                c.open = True
                return cites
    return cites


@dataclass
class RefEntry:
    """One numbered entry of a page's reference list."""

    number: int
    key: str
    formatted: str  # HTML from citeproc (escaped by it)
    href: str  # URL of the reference page, relative to the page's URL (for raw HTML)
    verification: str
    ref: Reference | None = None  # the reference, as the graph resolved the citation (for the page's JSON-LD)


#: re-exported: render/evidence_map.py takes it from here
url_prefix = urls.url_prefix


@dataclass
class Numbering:
    """Numbers the sources cited on one page in order of first citation."""

    src_uri: str  # the page's Markdown source path, e.g. interventions/foo.md
    kb: KnowledgeBase
    formatted: dict[str, str]
    numbers: dict[str, int] = field(default_factory=dict)
    records: dict[str, Reference] = field(default_factory=dict)  # key -> the reference its citations resolved to

    def cite(self, cite: Cite) -> CiteView:
        key = cite.ref.target
        number = self.numbers.setdefault(key, len(self.numbers) + 1)
        ref = self.records.setdefault(key, cited_reference(self.kb, cite))
        return CiteView(number, key, cite.support, L.label(L.SUPPORT, cite.support), cite.locator, cite.quote,
                        cite.note, entry_link(self.src_uri, CITATION, key), quote_check(self.kb, cite),
                        cite.curator_note, short_source(ref), study_summary(self.kb.citations.get(key)))

    def cites(self, cites: tuple[Cite, ...]) -> list[CiteView]:
        return [self.cite(c) for c in cites]

    def entries(self) -> list[RefEntry]:
        out = []
        for key, number in sorted(self.numbers.items(), key=lambda kv: kv[1]):
            citation = self.kb.citations.get(key)
            status = L.label(L.VERIFICATION, citation.verification.status) if citation else "No citation record"
            out.append(RefEntry(number, key, self.formatted.get(key, key),
                                entry_href(self.src_uri, CITATION, key), status, self.records[key]))
        return out


@dataclass
class ClaimView:
    """A claim with its citations numbered for the page."""

    claim: Claim
    outcome: str
    effect: str
    cites: list[CiteView]
    population: str  # the population's wording
    seed_refs: list[tuple[int, str | None]]  # the post's reference numbers and the bib keys they map to
    seed_text: str = ""  # the post's words, its own `[3,14]` written `[post refs 3, 14]`


def claim_views(claims: tuple[Claim, ...], numbering: Numbering, seed_map: dict[int, str],
                rubric: Any = None) -> list[ClaimView]:
    """Claims with page-numbered citations, their outcome and population in the rubric's words."""
    def outcome(ident: str) -> str:
        return rubric.outcome_label(ident) if rubric else L.label(L.OUTCOME, ident)

    def population(ident: str) -> str:
        return rubric.population_label(ident) if rubric else L.label(L.POPULATION, ident)

    return [ClaimView(c, outcome(c.outcome), L.label(L.EFFECT, c.direction),
                      mark_best_quote(numbering.cites(c.citations)), population(c.population),
                      [(n, seed_map.get(n)) for n in (c.seed.refs if c.seed else ())],
                      post_numbering(c.seed.text) if c.seed else "")
            for c in claims]


def authors_short(ref: Reference) -> str:
    """`Griffin and Mellon` / `Griffin et al.` / organisation: for compact mentions."""
    people = [p for p in ref.authors if p.family != "others"]
    names = [p.literal or p.family or "" for p in people] or [ref.get("organization") or ref.get("title") or ref.key]
    if len(names) == 1 and not (len(ref.authors) > 1):
        return names[0]
    if len(names) == 2 and len(ref.authors) == 2:
        return f"{names[0]} and {names[1]}"
    return f"{names[0]} et al."


def page_citation(site: SiteInfo, title: str, path: str, date: str) -> dict[str, str]:
    """The 'cite this page' texts: plain text and BibTeX, with the permalink and date."""
    url = site.site_url + path
    key = "alloatlas" + "".join(ch for ch in path if ch.isalnum())[:40] + date[:4]
    plain = f"{site.site_name}. {title}. Updated {date}. {url}"
    # In BibTeX a brace in the title would end the field, and `\`, `#`, `%` start commands,
    # concatenation and comments: each is written as a LaTeX command or escape.
    latex = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "#": r"\#", "%": r"\%", "&": r"\&", "$": r"\$",
             "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
    safe_title = "".join(latex.get(ch, ch) for ch in " ".join(title.split()))
    bibtex = (f"@misc{{{key},\n  title = {{{safe_title}}},\n  author = {{{{{site.site_name}}}}},\n"
              f"  year = {{{date[:4]}}},\n  url = {{{url}}},\n  note = {{Updated {date}}}\n}}")
    return {"url": url, "plain": plain, "bibtex": bibtex, "date": date}


def jsonld(site: SiteInfo, name: str, description: str, path: str, date: str,
           refs: list[Reference]) -> dict[str, Any]:
    """schema.org MedicalWebPage metadata for a page."""
    citations = []
    for ref in refs:
        work: dict[str, Any] = {"@type": "CreativeWork", "name": ref.get("title") or ref.key}
        if ref.get("doi"):
            work["url"] = f"https://doi.org/{ref.get('doi')}"
        elif ref.get("url"):
            work["url"] = ref.get("url")
        citations.append(work)
    data: dict[str, Any] = {
        "@context": "https://schema.org", "@type": "MedicalWebPage", "name": name, "description": description,
        "url": site.site_url + path, "lastReviewed": date, "inLanguage": "en",
        "isPartOf": {"@type": "WebSite", "name": site.site_name, "url": site.site_url},
        "medicalAudience": [{"@type": "MedicalAudience", "audienceType": "Patient"},
                            {"@type": "MedicalAudience", "audienceType": "Clinician"}],
    }
    if citations:
        data["citation"] = citations
    return data


def describe_intervention(item: Intervention) -> str:
    """The meta description of an intervention page, written from the data."""
    populations = ", ".join(L.label(L.POPULATION, p).lower() for p in item.populations[:3])
    return (f"{item.name}: {L.label(L.DIRECTION, item.direction).lower()}; "
            f"{L.label(L.PRESCRIPTION, item.prescription_status).lower()}; evidence in {populations}. "
            f"{len(item.claims)} checked claim{'s' * (len(item.claims) != 1)} with sources and quotes.")


def describe_mechanism(mech: Mechanism) -> str:
    """The meta description of a mechanism page."""
    step = f" {mech.step.substrate} → {mech.step.product}" + (f" by {mech.step.enzyme}" if mech.step.enzyme else "") \
        + "." if mech.step else ""
    return f"{mech.name}: {L.label(L.MECHANISM_KIND, mech.kind).lower()} in allopregnanolone biology.{step}"


def describe_reference(ref: Reference, design: str | None) -> str:
    """The meta description of a reference page."""
    year = ref.get("year") or "n.d."
    what = L.label(L.DESIGN, design).lower() if design else "source"
    return f"{authors_short(ref)} ({year}), {what}: {ref.get('title') or short_source(ref)}. Verification record and cited-by list."


# --- page views: one per page kind, the whole context of its template -----------------------
# Each template's header comment lists exactly the fields of its view (tests/test_views.py).

@dataclass(frozen=True)
class PageView:
    """What every page template gets: front matter, the cite box and its history, the edit link,
    and the paths from the page to the site root."""

    meta: dict[str, Any]
    cite: dict[str, str]
    edit_url: str | None
    source: str
    root_url: str
    prefix: str
    history: list[dict[str, Any]]


@dataclass(frozen=True)
class InterventionView(PageView):
    """One intervention's page."""

    item: Intervention
    v: dict[str, str]
    matrix: dict[str, Any] | None
    mechanisms: list[dict[str, str]]
    claims: list[ClaimView]
    regulatory: list[dict[str, Any]]
    dosing: list[dict[str, Any]]
    cautions: list[dict[str, Any]]
    contraindications: list[str]
    doses_checked: list[dict[str, Any]]
    doses_other: list[dict[str, Any]]
    dose_routes: list[str]
    label_summaries: list[dict[str, Any]]
    not_reviewed: dict[str, Any]
    interactions: list[dict[str, Any]]
    alternatives: list[dict[str, Any]]
    anecdotes: list[dict[str, Any]]
    related: list[dict[str, str]]
    interacting: list[dict[str, str]]
    refs: list[RefEntry]
    entries: list[RefEntry]
    top: dict[str, Any]  # render.bottom_line.top_view: the bottom line, "Studied in", "Suggested by the post for"


@dataclass(frozen=True)
class InterventionsIndexView(PageView):
    """The summary table of interventions."""

    rows: list[dict[str, Any]]
    categories: list[tuple[str, str]]
    populations: list[tuple[str, str]]
    outcomes: list[tuple[str, str]]
    paging: dict[str, Any] | None = None  # the page links (allokb.render.paging); None: one page holds all


@dataclass(frozen=True)
class MechanismView(PageView):
    """One mechanism's page."""

    mech: Mechanism
    kind: str
    step: Any
    upstream: list[dict[str, str]]
    downstream: list[dict[str, str]]
    related: list[dict[str, str]]
    acting: list[dict[str, str]]
    claims: list[ClaimView]
    refs: list[RefEntry]
    entries: list[RefEntry]


@dataclass(frozen=True)
class MechanismsIndexView(PageView):
    """The mechanisms index with the pathway diagram."""

    diagram: Any
    groups: list[dict[str, Any]]
    paging: dict[str, Any] | None = None  # the page links (allokb.render.paging); None: one page holds all


@dataclass(frozen=True)
class ReferenceView(PageView):
    """One reference's page."""

    ref: Reference
    formatted: str
    citation: Any
    design: str
    subjects: str
    retraction: str
    identifiers: list[dict[str, str]]
    verification: str
    record: dict[str, Any] | None
    seed: Any
    corrections: Any
    cited_by: list[dict[str, str]]
    quotes: dict[str, Any] | None


@dataclass(frozen=True)
class ReferencesIndexView(PageView):
    """The bibliography."""

    style: str
    entries: list[dict[str, Any]]
    counts: dict[str, int]
    paging: dict[str, Any] | None = None  # the page links (allokb.render.paging); None: one page holds all


@dataclass(frozen=True)
class EvidenceView(PageView):
    """How evidence is graded and claims are checked, with the field reference."""

    supports: list[tuple[str, str, str]]
    designs: list[tuple[str, str]]
    rubric: Any
    kinds: list[dict[str, Any]]
    quotes: Any


@dataclass(frozen=True)
class CorrectionsView(PageView):
    """Every error found in the source post, one row per claim or reference, the worst first."""

    totals: dict[str, int]
    ranking: list[dict[str, str]]
    rows: list[dict[str, Any]]
    unchecked_count: int
    unchecked_pages: int


@dataclass(frozen=True)
class EntryView(PageView):
    """The page of an entry of a kind built by the generic builder (`model.Entry`)."""

    entry: Any
    kind: Any


@dataclass(frozen=True)
class HomeSummaryView:
    """The summary block of the home page."""

    groups: list[dict[str, Any]]
    counts: dict[str, int]


@dataclass(frozen=True)
class CodesView:
    """The diagnostic codes page."""

    codes: list[Any]


#: template -> its view: what tests/test_views.py checks each header against
VIEWS: dict[str, type] = {
    "intervention.md.j2": InterventionView, "interventions_index.md.j2": InterventionsIndexView,
    "mechanism.md.j2": MechanismView, "mechanisms_index.md.j2": MechanismsIndexView,
    "reference.md.j2": ReferenceView, "references_index.md.j2": ReferencesIndexView,
    "evidence.md.j2": EvidenceView, "corrections.md.j2": CorrectionsView,
    "home_summary.md.j2": HomeSummaryView, "codes.md.j2": CodesView,
}


def context_of(view: Any) -> dict[str, Any]:
    """A view as a template's context: its fields, by name (shallow: records stay records)."""
    return {f.name: getattr(view, f.name) for f in fields(view)}
