"""Rules on what the graph resolved: files and ids, links between records, bib keys, renames.

Each takes the graph's `Resolution` (allokb.graph) and yields diagnostics placed where the id,
the link or the former id is written.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from allokb.diagnostics import Diagnostic, Location, Suggester, make, shown
from allokb.graph import FileOutcome, Resolution
from allokb.kinds import BY_FOLDER, BY_LINK, CITATION, Kind
from allokb.rules.catalogue import rule
from allokb.urls import RESERVED_IDS, entry_url, section_url

_ID_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")  # used with fullmatch: no `$` before a final newline


@rule("KB207")
def check_file_names(res: Resolution) -> Iterator[Diagnostic]:
    """A record's `id` (or `key`) must equal its file name without `.yaml`, so that the file, the
    id and the page URL agree."""
    for outcome in res.outcomes:
        if outcome.ident is not None and outcome.ident != outcome.stem:
            assert outcome.id_location is not None
            field_name = BY_FOLDER[outcome.kind].id_field
            ident = outcome.ident
            fix = f"rename the file to `{ident}.yaml` or set" if _ID_PATTERN.fullmatch(ident) else "set"
            yield make("KB207", f"{field_name} `{shown(ident)}` differs from the file name `{outcome.stem}.yaml`",
                       outcome.id_location, f"{fix} the id to `{outcome.stem}`")


def _dangling(res: Resolution, code: str) -> Iterator[Diagnostic]:
    kind = next(k for k in BY_LINK.values() if k.link_code == code)
    links = [link for link in res.dangling if link.kind == kind.link_name]
    if links:
        suggest = Suggester(res.known[kind.link_name])  # indexed once, not once per link
        for link in links:
            yield make(code, f"no {link.kind} `{link.target}`", link.location, suggest.hint(link.target))


@rule("KB301")
def check_mechanism_links(res: Resolution) -> Iterator[Diagnostic]:
    """A reference to a mechanism id that has no file in content/mechanisms/."""
    return _dangling(res, "KB301")


@rule("KB302")
def check_intervention_links(res: Resolution) -> Iterator[Diagnostic]:
    """A reference to an intervention id that has no file in content/interventions/."""
    return _dangling(res, "KB302")


@rule("KB303")
def check_reference_links(res: Resolution) -> Iterator[Diagnostic]:
    """A citation names a bib key that references.bib does not define."""
    return _dangling(res, "KB303")


@rule("KB304")
def check_duplicate_ids(res: Resolution) -> Iterator[Diagnostic]:
    """Two files of the same kind declare the same id."""
    for outcome, first in res.clashes:
        assert outcome.id_location is not None
        yield make("KB304", f"{BY_FOLDER[outcome.kind].id_field} `{outcome.ident}` is already used by {first}",
                   outcome.id_location)


@rule("KB305")
def check_citations_have_references(res: Resolution) -> Iterator[Diagnostic]:
    """A file in content/citations/ whose key is not an entry in references.bib."""
    if res.references is None:
        return
    suggest = Suggester(res.references)
    for outcome in _first_records(res, CITATION):
        assert outcome.ident is not None and outcome.record is not None
        if outcome.ident not in res.references:
            yield make("KB305", f"citation record `{outcome.ident}` has no entry in references.bib",
                       outcome.record.location, suggest.hint(outcome.ident))


@rule("KB306")
def check_references_have_citations(res: Resolution) -> Iterator[Diagnostic]:
    """Every entry in references.bib should have content/citations/<key>.yaml recording its design,
    population and verification."""
    built = {o.ident for o in _first_records(res, CITATION)} | res.present.get(CITATION.folder, set())
    for key, ref in sorted((res.references or {}).items()):
        if key not in built:
            yield make("KB306", f"reference `{key}` has no citation record", ref.location,
                       f"run `allokb new {CITATION.name} {key}`")


def _first_records(res: Resolution, kind: Kind) -> list[FileOutcome]:
    """The files of `kind` that built a record and hold their id first (not a KB304 clash)."""
    clashed = {id(o) for o, _ in res.clashes}
    return [o for o in res.outcomes if o.kind == kind.folder and o.record is not None and id(o) not in clashed]


def _reserved(ident: str, kind: Kind, where: Location) -> Diagnostic:
    return make("KB310", f"`{ident}` is reserved: its page would replace `{section_url(kind)}`, the page of the "
                "section itself", where, "choose another bib key" if kind is CITATION else "choose another id")


@rule("KB310")
def check_reserved_ids(res: Resolution) -> Iterator[Diagnostic]:
    """The id of an intervention or mechanism, or a bib key, would name a page its section
    generates itself: `index` would replace `/interventions/`, `/mechanisms/` or `/references/`.
    Choose another id; `allokb new` refuses reserved ids as well."""
    for outcome in res.outcomes:
        # a bib key is checked where references.bib defines it
        if outcome.ident in RESERVED_IDS and outcome.kind != CITATION.folder:
            assert outcome.id_location is not None
            yield _reserved(outcome.ident, BY_FOLDER[outcome.kind], outcome.id_location)
    for key, ref in sorted((res.references or {}).items()):
        if key in RESERVED_IDS:
            yield _reserved(key, CITATION, ref.location)


@rule("KB311")
def check_former_ids(res: Resolution) -> Iterator[Diagnostic]:
    """A former id (`former_ids`, or `former_keys` for a reference) must redirect to exactly one
    entry: two entries list the same former id, or a former id is still the id of an entry of the
    same section (its own, or another's after a chain of renames: list every old id on the entry
    at the end of the chain)."""
    listed: dict[tuple[str, str], list[FileOutcome]] = defaultdict(list)
    outcomes = sorted(res.outcomes, key=lambda o: o.path)
    for outcome in outcomes:
        for old, _ in outcome.former:
            listed[(outcome.kind, old)].append(outcome)
    for outcome in outcomes:
        for old, where in outcome.former:
            url = entry_url(BY_FOLDER[outcome.kind], old)
            owner = res.owners.get((outcome.kind, old))
            if old == outcome.ident:
                yield make("KB311", f"former id `{old}` is this entry's own id", where, "remove it")
            elif owner is not None:
                yield make("KB311", f"former id `{old}` is the id of {owner}, which serves `{url}`: it cannot "
                           "redirect", where, "remove it; after a chain of renames, every old id belongs on the "
                           "entry with the newest one")
            elif len(listed[(outcome.kind, old)]) > 1:
                others = ", ".join(o.path for o in listed[(outcome.kind, old)] if o is not outcome)
                yield make("KB311", f"former id `{old}` is also listed by {others}: `{url}` can redirect to "
                           "one entry only", where, "keep it on the entry that replaced it")


#: every rule on the resolution, in the order they run
LINK_RULES = (check_file_names, check_mechanism_links, check_intervention_links, check_reference_links,
              check_duplicate_ids, check_citations_have_references, check_references_have_citations,
              check_reserved_ids, check_former_ids)


def check_resolution(res: Resolution) -> list[Diagnostic]:
    """Run every rule on what the graph resolved."""
    return [d for check in LINK_RULES for d in check(res)]
