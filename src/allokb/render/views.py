"""View models: what each template receives, prepared from the knowledge base.

Templates hold no logic beyond loops and conditionals; numbering of citations on a page,
links between pages, labels and the "cite this page" texts are computed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from allokb import labels as L
from allokb.graph import KnowledgeBase
from allokb.model import Cite, Claim, Intervention, Mechanism, Reference
from allokb.render.citations import post_numbering, short_source, study_summary
from allokb.sources import CHECKED_SUPPORTS


@dataclass(frozen=True)
class Change:
    """A commit that changed content: what the history of a page and the Atom feed list."""

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
    source: str = ""  # the source in a few words: `Andréen 2006` (citations.short_source)
    study: str = ""  # its design and size as recorded: `RCT, n = 43` (citations.study_summary), or ""
    open: bool = False  # its quote is shown open: the best supporting quote of its claim


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


def md_prefix(src_uri: str) -> str:
    """From a page's Markdown source to the docs root, for Markdown links (`../`)."""
    return "../" * src_uri.count("/")


def url_prefix(src_uri: str) -> str:
    """From a page's URL (directory style: a/b.md -> /a/b/) to the site root, for raw HTML."""
    parts = src_uri.removesuffix(".md").split("/")
    depth = len(parts) - 1 if parts[-1] == "index" else len(parts)
    return "../" * depth


@dataclass
class Numbering:
    """Numbers the sources cited on one page in order of first citation."""

    src_uri: str  # the page's Markdown source path, e.g. interventions/foo.md
    kb: KnowledgeBase
    formatted: dict[str, str]
    numbers: dict[str, int] = field(default_factory=dict)

    def cite(self, cite: Cite) -> CiteView:
        key = cite.ref.target
        number = self.numbers.setdefault(key, len(self.numbers) + 1)
        ref = self.kb.references.get(key)
        return CiteView(number, key, cite.support, L.label(L.SUPPORT, cite.support), cite.locator, cite.quote,
                        cite.note, f"{md_prefix(self.src_uri)}references/{key}.md", quote_check(self.kb, cite),
                        short_source(ref) if ref else key, study_summary(self.kb.citations.get(key)))

    def cites(self, cites: tuple[Cite, ...]) -> list[CiteView]:
        return [self.cite(c) for c in cites]

    def entries(self) -> list[RefEntry]:
        out = []
        for key, number in sorted(self.numbers.items(), key=lambda kv: kv[1]):
            citation = self.kb.citations.get(key)
            status = L.label(L.VERIFICATION, citation.verification.status) if citation else "No citation record"
            out.append(RefEntry(number, key, self.formatted.get(key, key),
                                f"{url_prefix(self.src_uri)}references/{key}/", status))
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
    return f"{authors_short(ref)} ({year}), {what}: {ref.get('title') or ref.key}. Verification record and cited-by list."
