"""Rules on the bibliography: each entry records the publication, under a key in the house form.

Required fields (KB403), one publication under two keys (KB407), references cited nowhere
(KB408), corrections to the source post that correct nothing (KB415), a publication typed as a
web page (KB450), an article without authors, journal or year (KB451), "others" as the only
co-author (KB452), links that are not records of the publication (KB453), an aggregator before
any record (KB454) and bib keys that do not match their entry (KB455).

`check_bibliography` runs KB450-KB455 with the link hosts of content/link-hosts.yaml
(`allokb.linkhosts` says what a URL points at). They read nothing and reach no network: the work
per entry is a few field look-ups, one URL split per link and a walk over the words of the first
author's name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bibtexparser.middlewares.names import split_multiple_persons_names

from allokb.bib import RECORD_FIELDS, REQUIRED_FIELDS
from allokb.bibkeys import key_problem
from allokb.diagnostics import Diagnostic, Location, make, shown
from allokb.graph import KnowledgeBase
from allokb.linkhosts import KIND_NAMES, LINK_HOSTS_FILE, LinkClass, LinkHosts
from allokb.model import Citation, Reference
from allokb.rules.catalogue import rule
from allokb.sources import normalise


@rule("KB407")
def check_duplicate_publications(kb: KnowledgeBase) -> Iterator[Diagnostic]:
    """Two bib entries share a DOI, PMID or PMCID (compared without regard to case), or the same title in
    the same year: they are the same publication. Titles are compared after Unicode NFKC, case
    folding and dropping accents, with Greek letters written out (`α` = `alpha`) and only letters
    and digits kept, so punctuation, dashes and spaces never differ. Keep one key."""
    for name in ("doi", "pmid", "pmcid"):
        seen: dict[str, str] = {}
        for key, ref in kb.references.items():
            value = ref.get(name)
            if not value:
                continue
            norm = value.strip().lower()
            if norm in seen:
                yield make("KB407", f"`{key}` has the same {name.upper()} `{value}` as `{seen[norm]}`",
                           ref.location, f"keep one entry and cite `{seen[norm]}` everywhere")
            else:
                seen[norm] = key
    titles: dict[tuple[str, str], str] = {}
    for key, ref in kb.references.items():
        title, year = ref.get("title"), (ref.get("year") or "").strip()
        norm = _title_key(title) if title and year else ""
        if not norm:
            continue
        first = titles.setdefault((norm, year), key)
        if first != key:
            yield make("KB407", f"`{key}` has the same title and year as `{first}`: `{shown(_clip(title))}`, {year}",
                       ref.location, f"keep one entry and cite `{first}` everywhere")


def _title_key(title: str) -> str:
    """A title as KB407 compares it: `allokb.sources.normalise` (NFKC, case, accents, Greek letters
    written out), letters and digits only."""
    return _NOT_ALNUM.sub("", normalise(title))


#: what `str.isalnum` refuses: `\w` is exactly the characters `isalnum` accepts, and `_`
_NOT_ALNUM = re.compile(r"[\W_]+")


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@rule("KB403")
def check_required_fields(kb: KnowledgeBase) -> Iterator[Diagnostic]:
    """An entry lacks a field that its type requires (article: title; book: title, publisher, year, and
    author or editor; incollection: author, title, booktitle, year; online: title, url, and author
    or organization; misc: title, year; report: title, year, and author, organization or
    institution; an article's author, journal and year are KB451). A field that exists but that no
    record showed is not filled in: list it under `verification.missing` of the citation, with what
    was `searched`, and the entry may go without it."""
    for key, ref in kb.references.items():
        citation = kb.citations.get(key)
        excused = set(citation.verification.missing) if citation and citation.verification.searched else set()
        for need in REQUIRED_FIELDS.get(ref.entry_type, ("title",)):
            if ref.entry_type == "article" and need in RECORD_FIELDS:
                continue  # KB451 (check_article_fields): one diagnostic naming every absent one
            options = need.split("|")
            if any((ref.get(o) or "").strip() for o in options) or excused.intersection(options):
                continue
            yield make("KB403", f"@{ref.entry_type} `{key}` has no `{'` or `'.join(options)}` field", ref.location,
                       f"add it, or, if no record shows it, list it under `verification.missing` of "
                       f"content/citations/{key}.yaml with what was `searched`")


@rule("KB408")
def check_cited_nowhere(kb: KnowledgeBase) -> Iterator[Diagnostic]:
    """A bib entry that no claim, dosing report, regulatory record or anecdote cites."""
    for key, ref in kb.references.items():
        if key not in kb.cited_by:
            yield make("KB408", f"reference `{key}` is cited nowhere", ref.location,
                       "cite it from a claim, a dose, a caution or an anecdote, or remove it")


#: correction fields whose value is also a field of the bib entry
_BIB_FIELDS = ("title", "journal", "year", "volume", "number", "pages", "doi", "pmid", "pmcid")


def _same(a: str, b: str) -> bool:
    return normalise(a) == normalise(b)


@rule("KB415")
def check_empty_corrections(kb: KnowledgeBase) -> Iterator[Diagnostic]:
    """A correction to the source post (`seed.corrections` of a citation) whose post value equals the
    record's value, or equals the bib entry's own field, says the post was wrong where it was right.
    The corrections report would publish it; remove it."""
    for key, citation in kb.citations.items():
        if not citation.seed:
            continue
        ref = kb.references.get(key)
        for c in citation.seed.corrections:
            if _same(c.seed, c.record):
                yield make("KB415", f"the correction of `{c.field}` says the post and the record agree "
                           f"(`{c.seed}`)", c.location or citation.location, "remove the correction")
            elif ref is not None and c.field in _BIB_FIELDS and ref.get(c.field) and _same(c.seed, ref.get(c.field) or ""):
                yield make("KB415", f"the post's {c.field} `{c.seed}` is the {c.field} of the record in "
                           f"references.bib: the post was right", c.location or citation.location,
                           "remove the correction, or fix references.bib if the record says otherwise")


#: the bibliography's rules, in the order they run
BIBLIOGRAPHY_RULES = (check_required_fields, check_duplicate_publications, check_cited_nowhere, check_empty_corrections)


# --- the entry's form: KB450-KB455 -----------------------------------------------------------

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


@rule("KB450")
def check_publication_type(ref: Reference) -> Iterator[Diagnostic]:
    """An `@online` or `@misc` entry has a `doi`, `pmid` or `pmcid`: it is a publication, and its entry type
    says which, `@article` (or `@book`, `@incollection`, `@report`), with the fields of that type. Bibliography
    styles print `@online` and `@misc` as a bare title and a link."""
    if ref.entry_type not in ("online", "misc"):
        return
    found = [name.upper() for name in IDENTIFIERS if (ref.get(name) or "").strip()]
    if found:
        yield make("KB450", f"@{ref.entry_type} `{ref.key}` has a {' and a '.join(found)}: it is a publication, "
                   "not a web page", ref.location,
                   "a publication with a DOI or PMID is an @article (or @book/@incollection/@report)")


@rule("KB451")
def check_article_fields(ref: Reference, citation: Citation | None) -> Iterator[Diagnostic]:
    """An `@article` has no `author`, `journal` or `year` (the message names which). Copy them from the PubMed
    or publisher record. A field that exists but that no record shows (every record seen cuts the author list,
    say) is excused when the reference's citation record lists it under `verification.missing` and says what was
    searched under `verification.searched`."""
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


@rule("KB452")
def check_others(ref: Reference, citation: Citation | None = None) -> Iterator[Diagnostic]:
    """`author = {Family, A. and others}`: the list stops after its first author. The publication's record
    (PubMed, the publisher) lists every author: write them all, so that citations show the same authors as the
    record. Where no record searched gave the list, the citation says so (`author` under `verification.missing`,
    with what was `searched`) and the warning is not given."""
    if ref.author_list is None or "others" not in ref.author_list:  # the common case, without splitting
        return
    if _searched_for(citation, "author"):
        return
    names = [name.strip() for name in split_multiple_persons_names(ref.author_list)]
    if len(names) == 2 and names[1] == "others":  # BibTeX's keyword, lower-case
        yield make("KB452", f"`author` of `{ref.key}` is `{shown(names[0])} and others`",
                   ref.field_location("author"), "the record lists every author; write them all")


@rule("KB453")
def check_record_links(kb: KnowledgeBase, hosts: LinkHosts) -> Iterator[Diagnostic]:
    """A `url` of references.bib, or a `verification.checked_against` page of a citation record, points at an IP
    address, a page of search results (a `/search` path with a query, PubMed's `?term=`, Google, Google Scholar,
    Bing, DuckDuckGo) or a host that content/link-hosts.yaml lists as a mirror or proxy. A `url` on an
    aggregator is reported too: an aggregator may confirm a record in `checked_against`, never replace it; and,
    for a publication (an entry with a journal, DOI, PMID or PMCID, or of a publication's type), a host listed
    as a forum or wiki, which is a record only of what was posted there. The message names the field, the host
    and why it is listed. Link the DOI, PubMed, PMC, publisher or regulator record instead. Hosts are matched
    exactly or by a `*.domain` pattern, without regard to case; `www.` is not implied."""
    for ref in kb.references.values():
        yield from _bib_url(ref, hosts)
    for key, citation in kb.citations.items():
        yield from _checked_against(citation, kb.references.get(key), hosts)


def _bib_url(ref: Reference, hosts: LinkHosts) -> Iterator[Diagnostic]:
    """KB453 for `url` in references.bib: neither an IP address, a page of search results, a mirror
    or proxy, nor an aggregator; a forum or wiki only for a web source posted there."""
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


def _checked_against(citation: Citation, ref: Reference | None, hosts: LinkHosts) -> Iterator[Diagnostic]:
    """KB453 for `verification.checked_against`: neither an IP address, a page of search results, a
    mirror or proxy, nor (for a publication) a forum or wiki."""
    for i, page in enumerate(citation.verification.checked_against):
        found = hosts.classify(page.url)
        if found is None or found.kind in ("record", "aggregator"):
            continue
        if found.kind == "forum" and (ref is None or not is_publication(ref)):
            continue
        yield make("KB453", f"`checked_against[{i}].url` is {_what(found)}", _page_location(citation, i),
                   f"list the record's own page instead: {_RECORD}")


@rule("KB454")
def check_record_first(citation: Citation, hosts: LinkHosts) -> Iterator[Diagnostic]:
    """In a citation record's `verification.checked_against`, a page on a host that content/link-hosts.yaml
    lists as an aggregator comes before every record of the publication (a host on its `records` list: PubMed,
    PMC, DOI, publisher, regulator), or there is no record at all. List the record first: an aggregator copies a
    record and may only confirm it. A list with no record is accepted only when the citation says what was
    `searched` for the record and which fields no record showed (`missing`)."""
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


@rule("KB455")
def check_key(ref: Reference) -> Iterator[Diagnostic]:
    """A bib key is the first author's surname, the year of publication and a word of the title, in lower-case
    ASCII (`Bäckström` -> `backstrom`, `de Wit` -> `dewit`, `Gunduz-Bruce` -> `gunduzbruce`). When the first
    author is an organisation (`organization` without `author`, or a braced corporate author), the surname is
    one of the organisation's words, several of them joined, or a run of its initials, skipping of/and/the/for
    (`U.S. Food and Drug Administration` -> `fda`). An entry without a year has no year in its key. The surname
    and the year are compared; the title word is not, beyond the key having one (which word is the first
    significant one depends on a list of stop words, and another word may tell apart two papers of one author
    and year). The hint gives the key the rule makes; `allokb rename-key OLD NEW` renames it everywhere and
    keeps the old reference URL answering."""
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


#: bib key -> the entry and citation record (or None) its own rules judged, and what they found
EntryMemo = dict[str, tuple[Reference, Citation | None, list[Diagnostic]]]


def check_bibliography(kb: KnowledgeBase, hosts: LinkHosts, memo: EntryMemo | None = None) -> list[Diagnostic]:
    """KB450-KB455 over the knowledge base, with the link hosts of content/link-hosts.yaml.
    `memo`: what an earlier call found per entry, updated by this one (`allokb serve`): the rules
    that read one entry and its citation record alone (KB450, KB451, KB452, KB455) run again
    only for an entry or record that is not the same object as then (records are frozen)."""
    out: list[Diagnostic] = []
    kept: EntryMemo = {}
    for key, ref in kb.references.items():
        citation = kb.citations.get(key)
        hit = memo.get(key) if memo is not None else None
        if hit is not None and hit[0] is ref and hit[1] is citation:
            found = hit[2]
        else:
            found = [*check_publication_type(ref), *check_article_fields(ref, citation), *check_others(ref, citation),
                     *check_key(ref)]
        kept[key] = (ref, citation, found)
        out += found
    if memo is not None:
        memo.clear()
        memo.update(kept)
    out += check_record_links(kb, hosts)
    for citation in kb.citations.values():
        out += check_record_first(citation, hosts)
    return out
