"""Rules for the bibliography: each entry records the publication, under a key in the house form.

Each rule is one small function `check_*` over one entry (or one citation record) that yields
diagnostics; its docstring is the rule's documentation. `check_bibliography` runs them all over
the knowledge base with the link hosts of content/link-hosts.yaml (allokb.linkhosts). They read
nothing and reach no network: the work per entry is a few field look-ups, one URL split per
link and a walk over the words of the first author's name.
"""

from __future__ import annotations

from collections.abc import Iterator

from bibtexparser.middlewares.names import split_multiple_persons_names

from allokb.bib import RECORD_FIELDS
from allokb.bibkeys import key_problem
from allokb.diagnostics import Diagnostic, Location, make, shown
from allokb.graph import KnowledgeBase
from allokb.linkhosts import KIND_NAMES, LINK_HOSTS_FILE, LinkClass, LinkHosts
from allokb.model import Citation, Reference

#: entry types of publications; a web source is an @online or @misc without journal or identifiers
PUBLICATION_TYPES = frozenset({"article", "book", "incollection", "inproceedings", "report", "phdthesis",
                               "mastersthesis", "techreport"})
IDENTIFIERS = ("doi", "pmid", "pmcid")
#: what a link should be instead (KB453)
_RECORD = ("a publication's DOI (https://doi.org/...), PubMed, PMC, publisher or regulator page, or, for a web page, "
           "the site of whoever published it")
_RECORD_PAGES = "its DOI, PubMed, PMC, publisher or regulator page"


def is_publication(ref: Reference) -> bool:
    """Whether `ref` is a publication (a journal article, book, report...) rather than a web page:
    its type says so, or it has a journal, a DOI, a PMID or a PMCID."""
    return ref.entry_type in PUBLICATION_TYPES or any(ref.get(name) for name in ("journal", *IDENTIFIERS))


def check_publication_type(ref: Reference) -> Iterator[Diagnostic]:
    """KB450: an entry with a DOI, PMID or PMCID is a publication, and its type says which: an
    @article (or @book, @incollection, @report), not @online or @misc, which bibliography styles
    print as a bare title and a link."""
    if ref.entry_type not in ("online", "misc"):
        return
    found = [name.upper() for name in IDENTIFIERS if (ref.get(name) or "").strip()]
    if found:
        yield make("KB450", f"@{ref.entry_type} `{ref.key}` has a {' and a '.join(found)}: it is a publication, "
                   "not a web page", ref.location,
                   "a publication with a DOI or PMID is an @article (or @book/@incollection/@report)")


def check_article_fields(ref: Reference, citation: Citation | None) -> Iterator[Diagnostic]:
    """KB451: an @article names its authors, journal and year. A field is excused only when the
    reference's citation record says it exists but no record shows it: listed under
    `verification.missing`, with what was searched under `verification.searched`."""
    if ref.entry_type != "article":
        return
    absent = [name for name in RECORD_FIELDS if not (ref.get(name) or "").strip()]
    if citation is not None and citation.verification.searched:
        absent = [name for name in absent if name not in citation.verification.missing]
    if absent:
        fields = " or ".join(f"`{name}`" for name in absent)
        yield make("KB451", f"@article `{ref.key}` has no {fields}", ref.location,
                   "copy it from the PubMed or publisher record; if no record shows it, list it under "
                   f"`verification.missing`, with what was searched under `verification.searched`, in "
                   f"content/citations/{ref.key}.yaml")


def _searched_for(citation: Citation | None, name: str) -> bool:
    """The citation records `name` as missing from every record searched, and what was searched."""
    return citation is not None and name in citation.verification.missing and bool(citation.verification.searched)


def check_others(ref: Reference, citation: Citation | None = None) -> Iterator[Diagnostic]:
    """KB452 (warning): `author = {Family, A. and others}`: "others" as the only co-author cuts a
    list that the publication's record gives in full. Write every author — unless the citation
    records `author` under `verification.missing`, with what was `searched`: no record seen gave
    the list, and it is not filled in from elsewhere."""
    if ref.author_list is None or "others" not in ref.author_list:  # the common case, without splitting
        return
    if _searched_for(citation, "author"):
        return
    names = [name.strip() for name in split_multiple_persons_names(ref.author_list)]
    if len(names) == 2 and names[1] == "others":  # BibTeX's keyword, lower-case
        yield make("KB452", f"`author` of `{ref.key}` is `{shown(names[0])} and others`",
                   ref.field_location("author"), "the record lists every author; write them all")


def check_bib_url(ref: Reference, hosts: LinkHosts) -> Iterator[Diagnostic]:
    """KB453 (warning), for `url` in references.bib: the link of an entry is a record of the
    publication (the DOI's, PubMed's, PMC's, the publisher's or the regulator's page), never an IP
    address, a page of search results, a mirror or proxy, nor an aggregator (content/link-hosts.yaml
    lists both); a forum or wiki only for a web source posted there."""
    url = ref.get("url")
    if not url:
        return
    found = hosts.classify(url)
    if found is None or found.kind == "record" or (found.kind == "forum" and not is_publication(ref)):
        return
    extra = {"aggregator": "; an aggregator may confirm a record in `verification.checked_against`, never replace it",
             "forum": "; it is a record only of what was posted there"}.get(found.kind, "")
    yield make("KB453", f"`url` is {_what(found)}{extra}", ref.field_location("url"),
               f"link the record itself instead: {_RECORD}")


def check_checked_against(citation: Citation, ref: Reference | None, hosts: LinkHosts) -> Iterator[Diagnostic]:
    """KB453 (warning), for `verification.checked_against`: a page a record was checked against is
    never an IP address, a page of search results, a mirror or proxy, nor (for a publication) a
    forum or wiki."""
    for i, page in enumerate(citation.verification.checked_against):
        found = hosts.classify(page.url)
        if found is None or found.kind in ("record", "aggregator"):
            continue
        if found.kind == "forum" and (ref is None or not is_publication(ref)):
            continue
        yield make("KB453", f"`checked_against[{i}].url` is {_what(found)}", _page_location(citation, i),
                   f"list the record's own page instead: {_RECORD}")


def check_record_first(citation: Citation, hosts: LinkHosts) -> Iterator[Diagnostic]:
    """KB454 (warning): in `verification.checked_against`, a record of the publication (PubMed,
    PMC, DOI, publisher, regulator: the `records` of content/link-hosts.yaml) comes before any
    aggregator. An aggregator copies a record; it confirms one, never stands in for it. A list with
    no record at all is accepted only when the citation says what was `searched` for the record
    and which fields no record showed (`missing`): the aggregator is then all there is, and says so."""
    kinds = [getattr(hosts.classify(page.url), "kind", None) for page in citation.verification.checked_against]
    first = next((i for i, kind in enumerate(kinds) if kind == "aggregator"), None)
    if first is None or "record" in kinds[:first]:
        return
    if "record" not in kinds and citation.verification.searched and citation.verification.missing:
        return
    host = hosts.classify(citation.verification.checked_against[first].url).host  # type: ignore[union-attr]
    yield make("KB454", f"`checked_against[{first}]` is on `{shown(host)}`, an aggregator, and no record of the "
               "publication comes before it", _page_location(citation, first),
               "move the record's page to the top of the list" if "record" in kinds[first + 1:]
               else f"check the entry on the publication's record ({_RECORD_PAGES}) and list that page first")


def check_key(ref: Reference) -> Iterator[Diagnostic]:
    """KB455 (warning): a bib key is the first author's surname, the year of publication and the
    first significant word of the title; the surname and the year are compared (allokb.bibkeys
    says how)."""
    found = key_problem(ref)
    if found is not None:
        clauses, suggestion = found
        yield make("KB455", f"key `{ref.key}` {'; '.join(clauses)}", ref.location,
                   f"the house rule makes `{suggestion}`: `allokb rename-key {ref.key} {suggestion}`"
                   if suggestion != ref.key else None)


def _what(found: LinkClass) -> str:
    """`on `host`, listed as a mirror or proxy in content/link-hosts.yaml: why`, and the like."""
    if found.kind == "ip-address":
        return f"on the IP address `{shown(found.host)}`, not a record of the publication"
    if found.kind == "search-page":
        return f"a page of search results on `{shown(found.host)}`, not a record of the publication"
    return f"on `{shown(found.host)}`, listed as {KIND_NAMES[found.kind]} in {LINK_HOSTS_FILE}: {found.why}"


def _page_location(citation: Citation, i: int) -> Location:
    location = citation.verification.checked_against[i].location
    return location if location is not None else citation.location


def check_bibliography(kb: KnowledgeBase, hosts: LinkHosts) -> list[Diagnostic]:
    """Run every rule of this module over the knowledge base."""
    out: list[Diagnostic] = []
    for key, ref in kb.references.items():
        citation = kb.citations.get(key)
        out += check_publication_type(ref)
        out += check_article_fields(ref, citation)
        out += check_others(ref, citation)
        out += check_bib_url(ref, hosts)
        out += check_key(ref)
    for key, citation in kb.citations.items():
        out += check_checked_against(citation, kb.references.get(key), hosts)
        out += check_record_first(citation, hosts)
    return out
