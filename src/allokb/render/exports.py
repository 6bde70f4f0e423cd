"""Data exports: /data/kb.json and each entry's part of it (/data/<section>/<id>.json),
/data/interventions.csv, /data/doses.csv, /data/references.bib, /data/references.csl.json,
/schema/<kind>.schema.json and the Atom feed /feed.xml.
Deterministic: sorted keys and rows, no timestamps. The two bibliographies are generated from the
checked references (render/bibtex.py for the BibTeX), with the same authors in both.

Contributor text is data in every export: a CSV cell that a spreadsheet would run as a formula is
neutralised (OWASP's rule), and the feed holds only characters XML 1.0 allows, whatever the input.
The feed and the pages' histories tell readers what changed in words written for them (an entry's
`changes`), or only that it was updated: a commit's subject never reaches them.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from allokb import model as M
from allokb.graph import KnowledgeBase
from allokb.kinds import BY_NAME, CITATION, INTERVENTION, KINDS, MECHANISM
from allokb.model import ChangeNote, Link, Reference
from allokb.urls import (
    absolute_url,
    entries_with_data,
    entries_with_pages,
    entry_data_path,
    entry_url,
    former_data_paths,
    former_source_paths,
)
from allokb import labels as L
from allokb.render.bibtex import HEADER, bibtex_entry
from allokb.render.citations import csl_item
from allokb.render.doses import dose_rows
from allokb.schema import SCHEMA_NAMES, published_schema
from allokb.sources import SourceText

#: bump on any incompatible change of kb.json (consumers check it). 2: `computed_grade` (two pooled
#: outcomes) gave way to `evidence` (the matrix: one object per outcome and population) and `main_outcome`.
KB_SCHEMA_VERSION = 2
#: the kb.json serializer: each record class and the fields it publishes, in this order. Only what
#: is listed here is exported, so a field added to the model stays out of kb.json until it is
#: listed (and described in kb.schema.json), and a field renamed in the model fails the export's
#: test instead of silently renaming a key that consumers read. A `Link` is published as its id.
EXPORTED_FIELDS: dict[type, tuple[str, ...]] = {
    M.Intervention: ("id", "name", "aliases", "category", "summary", "direction", "relation", "main_outcome",
                     "prescription_status", "populations", "mechanisms", "regulatory", "claims", "dosing",
                     "cautions", "interactions", "alternatives", "anecdotes", "seed_rating", "related",
                     "evidence_grade", "former_ids", "bottom_line", "suggested_for", "changes"),
    M.BottomLineSentence: ("text", "claims"),
    M.MainOutcome: ("outcome", "population"),
    M.Regulatory: ("agency", "status", "year", "date", "indication", "brand", "citations", "outcome", "population"),
    M.Claim: ("id", "statement", "outcome", "direction", "size", "population", "population_note", "subjects", "dose",
              "route", "duration", "citations", "seed", "note", "indirect", "upgrade", "derived", "heading",
              "curator_note"),
    M.Cite: ("ref", "support", "locator", "quote", "note", "curator_note"),
    M.SeedAttribution: ("text", "refs", "section"),
    M.Derived: ("value", "how"),
    M.Dosing: ("population", "population_note", "amount", "route", "timing", "frequency", "duration", "supervision",
               "context", "reported_by"),
    M.Caution: ("kind", "text", "citations"),
    M.Interaction: ("intervention", "kind", "note", "citations"),
    M.Alternative: ("name", "note", "citations"),
    M.Anecdote: ("id", "summary", "population", "citation"),
    M.SeedRating: ("rating", "mechanism", "refs"),
    M.Mechanism: ("id", "name", "kind", "summary", "step", "upstream", "related", "claims", "former_ids", "changes"),
    M.ChangeNote: ("date", "summary"),
    M.Step: ("substrate", "product", "enzyme", "rate_limiting"),
    M.Citation: ("key", "design", "peer_reviewed", "population", "subjects", "sample_size", "findings", "retraction",
                 "verification", "seed", "also_cited_as", "former_keys", "appraisal", "changes"),
    M.Finding: ("text", "quote", "locator"),
    M.Verification: ("status", "checked_on", "checked_against", "notes", "searched", "missing"),
    M.CheckedPage: ("url", "fields"),
    M.SeedCitation: ("number", "cited_as", "corrections"),
    M.Correction: ("field", "seed", "record", "evidence", "note"),
    M.Appraisal: ("basis", "randomised", "analysed", "blinding", "allocation", "primary_endpoint_met", "follow_up",
                  "funding", "conflicts", "participants", "registration", "risk_of_bias"),
    M.RiskOfBias: ("judgement", "reason"),
}


def to_data(value: Any) -> Any:
    """kb.json data of a record, by `EXPORTED_FIELDS`: links become ids; a record class the
    serializer does not list is a bug (TypeError), never exported as it happens to be."""
    if isinstance(value, Link):
        return value.target
    if isinstance(value, (list, tuple)):
        return [to_data(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_data(v) for k, v in sorted(value.items())}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    names = EXPORTED_FIELDS.get(type(value))
    if names is None:
        raise TypeError(f"kb.json has no serializer for {type(value).__name__}")
    return {name: to_data(getattr(value, name)) for name in names}


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1) + "\n"


def record_data(kind_name: str, record: Any, kb: KnowledgeBase, site_url: str, grades: dict[str, Any]) -> dict[str, Any]:
    """One record as kb.json lists it (`kind_name`: intervention, mechanism or citation, whose
    `record` is then its bib entry), with its `id` (or `key`) and page `url`."""
    if kind_name == INTERVENTION.name:
        data = to_data(record)
        data["url"] = absolute_url(site_url, entry_url(INTERVENTION, record.id))
        matrix = grades.get(record.id)
        data["evidence"] = [_row_export(row, data["url"]) for row in matrix["rows"]] if matrix else []
        data["main_outcome"] = {**data["main_outcome"], **(_main_export(matrix, data["url"]) if matrix else {})}
        data["source_post_comparison"] = {k: matrix[k] for k in ("source_post_rating", "differs_from_source_post",
                                                                  "notes")} if matrix else None
        return data
    if kind_name == MECHANISM.name:
        data = to_data(record)
        data["url"] = absolute_url(site_url, entry_url(MECHANISM, record.id))
        data["interventions"] = [item.id for item in kb.acting_through.get(record.id, ())]
        return data
    key, citation = record.key, kb.citations.get(record.key)
    return {
        "key": key, "url": absolute_url(site_url, entry_url(CITATION, key)), "csl": csl_export_item(record),
        "record": to_data(citation) if citation else None,
        "cited_by": [{"kind": s.kind, "id": s.record_id, "anchor": s.anchor, "support": s.support}
                     for s in kb.cited_by.get(key, ())],
    }


#: the kinds kb.json lists, in this order, each with the name of its list
_LISTS = ((INTERVENTION.name, "interventions"), (MECHANISM.name, "mechanisms"), (CITATION.name, "references"))


def _tables(kb: KnowledgeBase) -> dict[str, dict[str, Any]]:
    """The records kb.json lists, by kind name (the citation kind's are its bib entries)."""
    return {INTERVENTION.name: kb.interventions, MECHANISM.name: kb.mechanisms, CITATION.name: kb.references}


def entry_data(kb: KnowledgeBase, site_url: str, grades: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Each exported kind's records as kb.json lists them (`Kind.export` -> its list), each record
    with its `id` (or `key`) and page `url`: kb.json and the per-entry files are written from these
    same objects, so the two cannot disagree."""
    tables = _tables(kb)
    return {name: [record_data(kind, r, kb, site_url, grades) for r in tables[kind].values()] for kind, name in _LISTS}


def entry_texts(kb: KnowledgeBase, site_url: str, grades: dict[str, Any], only: Collection[tuple[str, str]] = (),
                previous: dict[tuple[str, str], str] | None = None) -> dict[tuple[str, str], str]:
    """Each exported record's JSON text (as its data file holds it, without the final newline), by
    (kind name, id); with `previous`, only the records `only` names are serialized again."""
    tables = _tables(kb)
    out = {}
    for kind, _name in _LISTS:
        for ident, record in tables[kind].items():
            key = (kind, ident)
            if previous is not None and key not in only and key in previous:
                out[key] = previous[key]
            else:
                out[key] = json.dumps(record_data(kind, record, kb, site_url, grades), ensure_ascii=False,
                                      sort_keys=True, indent=1)
    return out


def kb_json(kb: KnowledgeBase, site_url: str, grades: dict[str, Any],
            data: dict[str, list[dict[str, Any]]] | None = None) -> str:
    """The whole knowledge base as JSON, each record with its `id` (or `key`) and page `url`
    (`data`: the records of `entry_data`, when the caller has them)."""
    lists = data if data is not None else entry_data(kb, site_url, grades)
    return _dumps({"schema_version": KB_SCHEMA_VERSION, "site": site_url, **lists})


def nested(text: str) -> str:
    """A record's JSON text (`entry_texts`) as kb.json holds it, two levels down (in the top
    object's list): each line indented by two more spaces (JSON strings hold no raw line break)."""
    return text.replace("\n", "\n  ")


def kb_json_of(site_url: str, texts: dict[tuple[str, str], str]) -> str:
    """kb.json put together from each record's JSON text as it holds it (`nested`): the text
    `kb_json` writes, without serializing every record a second time. Joined once: at 1,000
    entries kb.json is 39 million characters, and each intermediate string would copy them all."""
    lists: dict[str, list[str]] = {name: [] for _kind, name in _LISTS}
    names = dict(_LISTS)
    for (kind, _ident), text in texts.items():
        lists[names[kind]].append(text)
    scalars = {"schema_version": json.dumps(KB_SCHEMA_VERSION), "site": json.dumps(site_url, ensure_ascii=False)}
    pieces, separator = ["{\n"], ""
    for key in sorted({*lists, *scalars}):
        pieces.append(f"{separator} {json.dumps(key)}: ")
        separator = ",\n"
        items = lists.get(key)
        if items is None:
            pieces.append(scalars[key])
        elif not items:
            pieces.append("[]")
        else:
            pieces.append("[\n  ")
            for j, item in enumerate(items):
                if j:
                    pieces.append(",\n  ")
                pieces.append(item)
            pieces.append("\n ]")
    pieces.append("\n}\n")
    return "".join(pieces)


def entry_files_of(kb: KnowledgeBase, texts: dict[tuple[str, str], str],
                   previous: tuple[dict[str, str], dict[tuple[str, str], str]] | None = None) -> dict[str, str]:
    """One JSON file per entry with a page, as endoflife.date serves one per product:
    `data/<section>/<id>.json` holds exactly the entry's object in kb.json (which carries its page
    `url`; `texts`: each record's JSON text, `entry_texts`), and a former id's path the same (a
    JSON file cannot redirect). Described by /schema/<kind>-data.schema.json. `previous`: the
    files and texts of the render before an edit: a record whose text is the same object as then
    keeps its file's text (no copy)."""
    old_files, old_texts = previous if previous is not None else ({}, {})
    files = {}
    for kind, ident, _ in entries_with_data(kb):
        path, text = entry_data_path(kind, ident), texts[(kind.name, ident)]
        kept = old_files.get(path) if old_texts.get((kind.name, ident)) is text else None
        files[path] = kept if kept is not None else text + "\n"
    for old, (kind, ident) in former_data_paths(kb).items():
        files[old] = files[entry_data_path(kind, ident)]
    return files


def _row_export(row: dict[str, Any], page_url: str) -> dict[str, Any]:
    """A matrix row as kb.json publishes it (the Contract: outcome, population, level, studies,
    participants, sources, trail; and the rest of the row)."""
    return {**row, "url": f"{page_url}#{row['anchor']}"}


def _main_export(matrix: dict[str, Any], page_url: str) -> dict[str, Any]:
    main = matrix["main"]
    return {"level": main["level"], "level_label": main["level_label"], "title": main["title"],
            "url": f"{page_url}#{main['anchor']}"}


#: what makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A CSV cell that a spreadsheet shows as text: one that starts like a formula gets a single
    quote in front (and, as every cell, is quoted by the writer)."""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class _Pieces(list[str]):
    """A file for `csv.writer` that keeps the text it is given, to be joined once."""

    def write(self, text: str) -> None:
        self.append(text)


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    """Rows as CSV lines, every cell neutralised (`csv_cell`) and quoted."""
    pieces = _Pieces()
    writer = csv.writer(pieces, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerows([csv_cell(cell) for cell in row] for row in rows)
    return "".join(pieces)


def _summary_rows(kb: KnowledgeBase, item: M.Intervention, site_url: str, grades: dict[str, Any]) -> list[list[Any]]:
    main = (grades.get(item.id) or {}).get("main", {})
    refs = sorted({c.ref.target for claim in item.claims for c in claim.citations})
    return [[item.id, item.name, item.category, item.direction, item.relation, item.prescription_status,
             " ".join(item.populations), " ".join(m.target for m in item.mechanisms),
             item.main_outcome.outcome, item.main_outcome.population, main.get("level", ""),
             item.seed_rating.rating if item.seed_rating else "",
             len(item.claims), " ".join(refs), absolute_url(site_url, entry_url(INTERVENTION, item.id))]]


def _dose_rows(kb: KnowledgeBase, item: M.Intervention, site_url: str, grades: dict[str, Any]) -> list[list[Any]]:
    return [[item.id, row.kind, row.amount, row.route, row.duration, row.timing, row.population, row.design, row.n,
             row.supervision, " ".join(dict.fromkeys(c.ref.target for c in row.cites)),
             "yes" if row.supported else "no",
             absolute_url(site_url, entry_url(INTERVENTION, item.id)) + f"#{row.anchor}"]
            for row in dose_rows(kb, item)]


def _evidence_rows(kb: KnowledgeBase, item: M.Intervention, site_url: str, grades: dict[str, Any]) -> list[list[Any]]:
    matrix = grades.get(item.id)
    if not matrix:
        return []
    return [[item.id, row["outcome"], row["population"], row["level"], row["studies"],
             "" if row["participants"] is None else row["participants"], row["direction"], row["consistency"],
             "yes" if row["anchor"] == matrix["main"]["anchor"] else "no", " ".join(row["sources"]),
             " ".join(s["rule"] for s in row["trail"] if s["change"]),
             absolute_url(site_url, entry_url(INTERVENTION, item.id)) + f"#{row['anchor']}"]
            for row in matrix["rows"]]


#: the CSV exports, each a header and then the rows of each intervention in turn (by id), which
#: show what the intervention's page shows: site path -> (header, the rows of one intervention)
CSV_TABLES: dict[str, tuple[list[str], Callable[[KnowledgeBase, M.Intervention, str, dict[str, Any]], list[list[Any]]]]] = {
    # the summary table
    "data/interventions.csv": (["id", "name", "category", "direction", "relation", "prescription_status",
                                "populations", "mechanisms", "main_outcome", "main_population", "main_level",
                                "source_post_rating", "claims", "references", "url"], _summary_rows),
    # every dose on the intervention pages, in page order (render/doses.py): what studies and labels
    # gave (`kind` study or label), then the post's and other reports' (`other`), each with whether
    # a checked source gives it
    "data/doses.csv": (["intervention", "kind", "amount", "route", "duration", "when", "population", "design", "n",
                        "supervision", "sources", "supported_by_checked_source", "url"], _dose_rows),
    # the evidence matrix: one row per intervention x outcome x population
    "data/evidence.csv": (["intervention", "outcome", "population", "level", "studies", "participants", "direction",
                           "consistency", "main_outcome", "sources", "rules_applied", "url"], _evidence_rows),
}


def csv_rows(kb: KnowledgeBase, site_url: str, grades: dict[str, Any], path: str,
             only: Collection[tuple[str, str]] = (), previous: dict[str, str] | None = None) -> dict[str, str]:
    """The CSV lines of each intervention in the table `path` of `CSV_TABLES`, by id; with
    `previous`, only the interventions `only` names (kind name, id) are written again."""
    rows = CSV_TABLES[path][1]
    return {ident: previous[ident] if previous is not None and ident in previous and (INTERVENTION.name, ident) not in only
            else csv_text(rows(kb, item, site_url, grades)) for ident, item in kb.interventions.items()}


def csv_of(path: str, lines: dict[str, str]) -> str:
    """The CSV export `path` of `CSV_TABLES`, from each intervention's lines (`csv_rows`)."""
    return csv_text([CSV_TABLES[path][0]]) + "".join(lines.values())


def interventions_csv(kb: KnowledgeBase, site_url: str, grades: dict[str, Any]) -> str:
    """One row per intervention: the summary table as CSV, every cell quoted and neutralised."""
    return csv_of("data/interventions.csv", csv_rows(kb, site_url, grades, "data/interventions.csv"))


def doses_csv(kb: KnowledgeBase, site_url: str) -> str:
    """One row per dose on the intervention pages (`CSV_TABLES`)."""
    return csv_of("data/doses.csv", csv_rows(kb, site_url, {}, "data/doses.csv"))


def evidence_csv(kb: KnowledgeBase, site_url: str, grades: dict[str, Any]) -> str:
    """One row per intervention x outcome x population: the evidence matrix as CSV."""
    return csv_of("data/evidence.csv", csv_rows(kb, site_url, grades, "data/evidence.csv"))


#: how CSL-JSON says "and others": pandoc writes BibTeX's `and others` so, and its citeproc prints
#: "et al." for it (CSL has no name for it; citeproc-js would print the word)
OTHERS = {"literal": "others"}


def csl_export_item(ref: Reference) -> dict[str, Any]:
    """The CSL-JSON item of a reference as exported: the authors of the BibTeX export, with
    `and others` kept as `OTHERS`."""
    item = csl_item(ref)
    if item.get("author") and any(p.family == "others" and not p.given for p in ref.authors):
        item["author"].append(dict(OTHERS))
    return item


def csl_json(kb: KnowledgeBase) -> str:
    """Every reference as CSL-JSON, sorted by key."""
    return _dumps([csl_export_item(ref) for _, ref in sorted(kb.references.items())])


#: how many entries the feed holds, newest first
FEED_ENTRIES = 100
#: what XML 1.0 forbids: C0 controls but tab, newline and carriage return; surrogates; U+FFFE, U+FFFF
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: Any) -> str:
    """Text that XML 1.0 can hold: each character it forbids becomes U+FFFD (the replacement
    character), so that a control character in a name or a file name cannot break the feed."""
    return _NOT_XML.sub("\ufffd", str(value))


def _feed_date(value: str, fallback: str) -> str:
    """A date feedgen can read, or `fallback` when git gave something else."""
    from dateutil import parser

    try:
        parsed = parser.isoparse(value)
    except (ValueError, OverflowError):
        return fallback
    return value if parsed.tzinfo is not None else fallback
#: content folder -> the kind whose entries its files are (the feed links to their pages)
_FEED_FOLDERS = {f"content/{kind.folder}/": kind for kind in KINDS}


@dataclass(frozen=True)
class FeedEntry:
    """One entry of the change feed: what changed for a reader in one entry, and when."""

    when: str  # ISO 8601 date and time with its offset
    id: str  # a tag URI, stable from build to build
    title: str
    link: str
    summary: str


#: what the feed reads of the knowledge base: each entry's name (by kind name and id), and the
#: `changes` of the entries that have some
FeedInputs = tuple[dict[tuple[str, str], str], dict[tuple[str, str], tuple[ChangeNote, ...]]]


def feed_inputs(kb: KnowledgeBase) -> FeedInputs:
    """All that `feed_entries` reads of `kb` (the rest is the site's metadata)."""
    names: dict[tuple[str, str], str] = {}
    logs: dict[tuple[str, str], tuple[ChangeNote, ...]] = {}
    for kind, ident, record in entries_with_pages(kb):
        names[(kind.name, ident)] = (record.get("title") or ident) if isinstance(record, Reference) else record.name
        own: Any = kb.citations.get(ident) if isinstance(record, Reference) else record
        notes = getattr(own, "changes", ())  # a kind of the generic builder keeps no log
        if notes:
            logs[(kind.name, ident)] = notes
    return names, logs


def feed_entries(kb: KnowledgeBase, site: Any, inputs: FeedInputs | None = None) -> list[FeedEntry]:
    """What the feed lists, newest first: each item of an entry's own `changes` (its summary,
    written for a reader), and for an entry without `changes` one "Updated on <date>" entry per
    commit that changed its file. Never a commit's subject: it is the committer's text.
    `inputs`: `feed_inputs(kb)`, when the caller has them."""
    from dateutil import parser

    host = site.site_url.split("//", 1)[-1].split("/", 1)[0]
    built = f"{site.build_date}T00:00:00+00:00"
    names, logs = inputs if inputs is not None else feed_inputs(kb)
    out = []
    for (kind_name, ident), notes in logs.items():
        kind = BY_NAME[kind_name]
        link = absolute_url(site.site_url, entry_url(kind, quote(ident)))
        for number, note in enumerate(reversed(notes), start=1):  # numbered from the oldest: stable ids
            out.append(FeedEntry(_feed_date(f"{note.date}T00:00:00+00:00", built),
                                 f"tag:{host},{note.date}:{kind.section}/{quote(ident)}/changes/{number}",
                                 f"{names[(kind_name, ident)]}: {note.summary}", link, note.summary))
    for change in site.changes:
        when = _feed_date(change.when, built)
        for path in sorted(change.files):
            folder = next((f for f in _FEED_FOLDERS if path.startswith(f)), None)
            if folder is None or not path.endswith(".yaml"):
                continue
            kind, ident = _FEED_FOLDERS[folder], path[len(folder):].removesuffix(".yaml")
            if (kind.name, ident) in logs:
                continue
            out.append(FeedEntry(when, f"tag:{host},{when[:10]}:{change.sha}/{quote(path)}",
                                 f"{names.get((kind.name, ident), ident)}: updated",
                                 absolute_url(site.site_url, entry_url(kind, quote(ident))), f"Updated on {when[:10]}."))
    out.sort(key=lambda e: e.id)
    out.sort(key=lambda e: parser.isoparse(e.when), reverse=True)
    return out[:FEED_ENTRIES]


def atom_feed(kb: KnowledgeBase, site: Any, inputs: FeedInputs | None = None) -> str:
    """An Atom feed of what changed for readers (`feed_entries`), newest first, each entry linking
    to the entry's stable URL (`inputs`: `feed_inputs(kb)`, when the caller has them)."""
    from feedgen.feed import FeedGenerator

    fg = FeedGenerator()
    fg.id(xml_text(site.site_url + "feed.xml"))
    fg.title(xml_text(f"{site.site_name}: changes"))
    fg.subtitle("What changed for readers in the knowledge base: interventions, mechanisms and references.")
    fg.author({"name": xml_text(site.site_name)})
    fg.link(href=xml_text(site.site_url), rel="alternate")
    fg.link(href=xml_text(site.site_url + "feed.xml"), rel="self")
    fg.language("en")
    fg.generator("allokb")
    entries = feed_entries(kb, site, inputs)
    fg.updated(entries[0].when if entries else f"{site.build_date}T00:00:00+00:00")
    for item in reversed(entries):  # feedgen prepends: add oldest first
        entry = fg.add_entry()
        entry.id(xml_text(item.id))
        entry.title(xml_text(item.title))
        entry.link(href=xml_text(item.link))
        entry.updated(item.when)
        entry.summary(xml_text(item.summary))
    return str(fg.atom_str(pretty=True).decode("utf-8"))


def exports(root: Path, kb: KnowledgeBase, site_url: str, grades: dict[str, Any], site: Any = None) -> dict[str, str]:
    """Every export file: site path -> text."""
    return export_parts(kb, site_url, grades, site)[0]


@dataclass(frozen=True)
class ExportParts:
    """What the export files are made from, by record: each record's JSON text (`texts`) and the
    same as kb.json holds it (`nested`), each reference's BibTeX entry (`bib_entries`), each
    intervention's lines of each CSV table (`csv`: site path -> id -> lines), and what the feed
    was made from with its text (`feed`: the site's metadata, `feed_inputs`)."""

    texts: dict[tuple[str, str], str]
    nested: dict[tuple[str, str], str]
    bib_entries: dict[str, str]
    csv: dict[str, dict[str, str]]
    feed: tuple[tuple[Any, FeedInputs], str] | None = None


def export_parts(kb: KnowledgeBase, site_url: str, grades: dict[str, Any], site: Any = None, *,
                 previous: tuple[dict[str, str], ExportParts] | None = None, changed: Collection[tuple[str, str]] = (),
                 bib_changed: Collection[str] = ()) -> tuple[dict[str, str], ExportParts]:
    """Every export file (site path -> text), with the parts they were made from. `previous`: the
    files and parts of the render before an edit of the same site, whose records `changed`
    (kind name, id: the entries whose pages the edit can change, allokb.render.deps) and bib
    entries `bib_changed` are all that the edit changed: the rest is taken from it. An
    intervention's CSV lines show what its page shows, so they are written again only when its
    page can have changed; the feed only when the names, the entries' `changes` or the site's
    metadata (its dates from git) did."""
    feed_from = (site, feed_inputs(kb)) if site is not None else None
    if previous is None:
        texts = entry_texts(kb, site_url, grades)
        parts = ExportParts(texts, {key: nested(text) for key, text in texts.items()},
                            {key: bibtex_entry(ref) for key, ref in kb.references.items()},
                            {path: csv_rows(kb, site_url, grades, path) for path in CSV_TABLES})
        entry_files = entry_files_of(kb, texts)
    else:
        old_files, old = previous
        texts = entry_texts(kb, site_url, grades, changed, old.texts)
        parts = ExportParts(texts, {key: old.nested[key] if key not in changed and key in old.nested else nested(text)
                                    for key, text in texts.items()},
                            {**old.bib_entries, **{key: bibtex_entry(kb.references[key]) for key in bib_changed}},
                            {path: csv_rows(kb, site_url, grades, path, changed, old.csv.get(path)) for path in CSV_TABLES})
        entry_files = entry_files_of(kb, texts, (old_files, old.texts))
    files = {
        "data/kb.json": kb_json_of(site_url, parts.nested),
        **entry_files,
        **{path: csv_of(path, lines) for path, lines in parts.csv.items()},
        "data/references.csl.json": old_files["data/references.csl.json"] if previous is not None and not bib_changed
        else csl_json(kb),  # from the bib entries only
        "data/references.bib": HEADER + "".join("\n" + parts.bib_entries[key] for key in sorted(kb.references)),
    }
    for name in SCHEMA_NAMES:  # from the site's URL only (the same site: the same URL)
        path = f"schema/{name}.schema.json"
        files[path] = old_files[path] if previous is not None else _dumps(published_schema(name, site_url))
    for source in kb.sources.values():  # the committed source texts, as /sources/<key>.txt
        files[source.site_path] = source_text_file(source, site_url)
    for old_path, source in former_source_paths(kb).items():  # a text file cannot redirect: the old
        files[old_path] = source_text_file(source, site_url)  # key's URL serves the same text
    if feed_from is not None:
        kept = previous[1].feed if previous is not None else None
        feed = kept[1] if kept is not None and kept[0] == feed_from else atom_feed(kb, feed_from[0], feed_from[1])
        files["feed.xml"] = feed
        parts = replace(parts, feed=(feed_from, feed))
    return files, parts


def source_text_file(source: SourceText, site_url: str) -> str:
    """A committed source text as plain text: what it is and where it was retrieved, then the text
    the quotes are checked against (published at /sources/<key>.txt, read as text by browsers)."""
    return (f"The {source.kind_label} of {source.key}, retrieved {source.retrieved} from {source.url}\n"
            f"Every quote the Allopregnanolone Evidence Atlas cites from this reference is checked against this "
            f"text: {site_url}references/{source.key}/\n\n{source.text}\n")


def population_options(kb: KnowledgeBase) -> list[tuple[str, str]]:
    """The populations used by some intervention, with their labels (filter options)."""
    used = sorted({p for item in kb.interventions.values() for p in item.populations})
    return [(p, L.label(L.POPULATION, p)) for p in used]
