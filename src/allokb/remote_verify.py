"""Adding and verifying references against their online records (Crossref, PubMed, PMC).

`add_reference` fetches a publication's record and writes its references.bib entry and citation
stub, both only after every request succeeded, and, for a record with a PMID, its PubMed abstract
as the source text content/sources/<key>.md that its quotes are checked against. `verify_project`
re-fetches every reference with a DOI or PMID and reports drift (KB430), retractions (KB431),
corrections (KB432) and quotes missing from the PubMed abstract (KB433) as warnings, and refreshes
the committed PubMed abstracts (`allokb.refresh`: quotes the new text no longer holds are KB434);
`verify_online` does the same but writes nothing. The HTTP client and the command-line glue are
in `allokb.remote`.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import bibtexparser

from allokb.bib import (BIB_FILE, BIBKEY, DOI, PMCID, PMID, REQUIRED_FIELDS, URL, decode, field_line, load_references,
                        split_authors)
from allokb.diagnostics import Diagnostic, KbError, Severity, UsageError, sorted_diagnostics
from allokb.graph import KnowledgeBase, record_cites
from allokb.model import Cite, Reference
from allokb.project import CheckResult, check_project
from allokb.files import find_control, folder_problem
from allokb.files import write_atomic as _write_atomic
from allokb.remote import Client, FetchedRecord, RecordNotFound, RemoteError
from allokb.remote_answers import forbidden_char, shown
from allokb.refresh import Refresh, SourceChange, abstract_file, apply_changes, plan_source
from allokb.schema import load_schema
from allokb.sources import MAX_SOURCE_BYTES, SOURCES_DIR, find_quote, normalise, quote_parts, quotes_by_reference

from allokb.progress import Progress, make_progress  # noqa: F401 - re-exported for callers

# --- add-reference ---------------------------------------------------------------------------

STOP_WORDS = frozenset("a an the of on in and for to with at by from as into how what why when which can does do is "
                       "are i".split())
_FOLD = str.maketrans({"ß": "ss", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ł": "l",
                       "Ł": "L", "đ": "d", "Đ": "D", "þ": "th", "ı": "i"})


def ascii_fold(text: str) -> str:
    """Lower-case ASCII letters and digits of `text`, accents folded (`Bäckström` -> `backstrom`)."""
    plain = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return re.sub(r"[^a-z0-9]", "", plain.encode("ascii", "ignore").decode("ascii").lower())


def make_key(record: FetchedRecord) -> str:
    """The house-form bib key: first author's surname, year, first significant title word."""
    surname = ascii_fold(record.authors[0][0]) if record.authors else ""
    surname = surname.lstrip("0123456789") or "anonymous"
    if not record.year:
        raise KbError(f"the {record.source} record has no year; add the entry to references.bib by hand")
    word = ""
    for token in (record.title or "").split():
        word = ascii_fold(token).lstrip("0123456789")
        if word and word not in STOP_WORDS:
            break
        word = ""
    return f"{surname}{record.year}{word}"


def _plain(text: str) -> str:
    return text.replace("{", "").replace("}", "").replace("\\", "")


def _bib_value(text: str) -> str:
    """`text` as a braced BibTeX value that decodes back to it (braces and backslashes dropped)."""
    text = _plain(text)
    for char in "&%$#_":
        text = text.replace(char, "\\" + char)
    return text.replace("~", "\\textasciitilde{}").replace("--", "-{}-")


def _bib_person(family: str, given: str) -> str:
    if not given:
        return "{" + _bib_value(family) + "}"
    if re.fullmatch(r"[A-Z]{1,4}", given):  # PubMed initials: "AL" -> "A. L."
        given = " ".join(c + "." for c in given)
    return f"{_bib_value(family)}, {_bib_value(given)}"


def bib_entry(key: str, r: FetchedRecord) -> str:
    """The BibTeX entry of `r` under `key`, in the layout of references.bib."""
    rows = [("title", r.title), ("journal" if r.kind == "article" else "booktitle", r.journal),
            ("publisher", r.publisher if r.kind == "book" else None), ("year", r.year),
            ("volume", r.volume), ("number", r.issue), ("pages", r.pages)]
    rows = [(k, _bib_value(v)) for k, v in rows if v]
    rows = [(k, re.sub(r"\s*(-\{\}-|[-‐‑‒–—])+\s*", "--", v) if k == "pages" else v) for k, v in rows]
    if r.authors:
        rows.insert(0, ("author", " and ".join(_bib_person(f, g) for f, g in r.authors)))
    rows += [(k, v) for k, v in (("doi", r.doi), ("pmid", r.pmid), ("pmcid", r.pmcid)) if v]
    return f"@{r.kind}{{{key},\n" + "".join(f"  {k} = {{{v}}},\n" for k, v in rows) + "}\n"


_DESIGNS = ("meta-analysis | rct | controlled-trial | uncontrolled-trial | cohort | case-control | cross-sectional | "
            "case-series | case-report | pharmacovigilance | animal | in-vitro | review | regulatory | web | anecdote")


def citation_stub(key: str, r: FetchedRecord, command: str, today: str) -> str:
    """The citation record written with a new reference: valid as it stands, design to be set."""
    retraction = "retracted" if r.retracted else "corrected" if r.updates else "none-found"
    checked = "".join(f"    - url: {json.dumps(url)}\n      fields: [{', '.join(fields)}]\n"
                      for url, fields in r.checked)
    services = " and ".join(dict.fromkeys(_service(url) for url, _ in r.checked))
    notes = f"Metadata copied from the {services} record by allokb add-reference; the publication itself " \
            "has not been read yet."
    return (
        "# yaml-language-server: $schema=../../src/allokb/schemas/citation.schema.json\n"
        f"# Written by `{command}` from the {services} record. Bibliographic facts stay in references.bib.\n"
        "# TODO: read the publication, then set the design, population, sample size and findings.\n"
        f"key: {key}\n"
        f"design: review               # PLACEHOLDER: set the real study design: {_DESIGNS}\n"
        "peer_reviewed: true          # check: false for preprints, letters and web pages\n"
        "# population: \"who or what was studied\"\n"
        "# sample_size: 40\n"
        "findings: []                 # - text: \"what it shows\"  quote: \"its exact words\"  locator: abstract\n"
        f"retraction: {retraction}\n"
        "verification:\n"
        "  status: partly-verified\n"
        f"  checked_on: \"{today}\"\n"
        "  checked_against:\n" + checked + f"  notes: {json.dumps(notes)}\n")


def _service(url: str) -> str:
    return "PMC" if ".fcgi?db=pmc&" in url else "PubMed" if ".fcgi?" in url else "Crossref"


def normalise_id(doi: str | None, pmid: str | None, pmcid: str | None) -> tuple[str, str]:
    """The one identifier given, as (kind, canonical value); `UsageError` when it is malformed."""
    given = [(k, v.strip()) for k, v in (("doi", doi), ("pmid", pmid), ("pmcid", pmcid)) if v is not None]
    if len(given) != 1:
        raise UsageError("give exactly one of --doi, --pmid and --pmcid")
    kind, value = given[0]
    if kind == "doi":
        value = re.sub(r"^(https?://(dx\.)?doi\.org/|doi:\s*)", "", value, flags=re.I)
    elif kind == "pmcid":
        value = "PMC" + value.upper().removeprefix("PMC")
    pattern, form = {"doi": (DOI, "a DOI; expected `10.NNNN/suffix`"),
                     "pmid": (PMID, "a PMID; expected digits only, e.g. `99999901`"),
                     "pmcid": (PMCID, "a PMCID; expected `PMC` and digits, e.g. `PMC9999901`")}[kind]
    if not pattern.fullmatch(value) or forbidden_char(value):
        raise UsageError(f"`{shown(value)}` is not {form}")
    return kind, value


def _longest(definition: str) -> int:
    """The `maxLength` that `allokb check` allows a value of `definition` in common.schema.json."""
    return int(load_schema("common")["$defs"][definition]["maxLength"])


def _check_key(key: str, given: bool) -> None:
    """Refuse a bib key that `allokb check` would not accept (its pattern and length): a `UsageError`
    for a `given` --key, a `KbError` for one made from the record."""
    longest = _longest("bibkey")
    error = UsageError if given else KbError
    if not BIBKEY.fullmatch(key):
        raise error(f"`{shown(key)}` is not a bib key (lower-case ASCII letters and digits)")
    if len(key) > longest:
        raise error(f"the bib key `{key[:20]}...` is {len(key)} characters long (at most {longest}); "
                    "choose a shorter one with --key")


def add_reference(root: Path, doi: str | None = None, pmid: str | None = None, pmcid: str | None = None,
                  client: Client | None = None, *, key: str | None = None,
                  today: datetime.date | None = None) -> tuple[str, Path, Path]:
    """Fetch a publication's record, append its entry to references.bib and write the citation stub
    content/citations/<key>.yaml, and for a record with a PMID its abstract as the source text
    content/sources/<key>.md (`source_text`). Returns (key, bib path, citation path). Raises
    `KbError` with nothing written for a duplicate, a taken key or any failed request (but for the
    abstract's: without it, the reference is added without a source text)."""
    kind, value = normalise_id(doi, pmid, pmcid)
    if key:
        _check_key(key, given=True)
    client = client or Client()
    bib_path = root / BIB_FILE
    refs, problems = load_references(root)
    if refs is None or any(p.code == "KB401" for p in problems):
        raise KbError(f"{BIB_FILE} cannot be read or parsed; run `allokb check` and fix it first")
    _refuse_duplicate(refs, kind, value)
    fetch = {"doi": client.fetch_doi, "pmid": client.fetch_pmid, "pmcid": client.fetch_pmcid}[kind]
    record = fetch(value)
    for name in ("doi", "pmid", "pmcid"):
        if getattr(record, name):
            _refuse_duplicate(refs, name, getattr(record, name))
    if not key:
        key = make_key(record)
        _check_key(key, given=False)
    cite_path = root / "content" / "citations" / f"{key}.yaml"
    taken = {r.key for r in refs}
    if key in taken or cite_path.exists():
        free = next(key + c for c in "bcdefghijklmnopqrstuvwxyz" if key + c not in taken
                    and not (cite_path.parent / f"{key}{c}.yaml").exists())
        raise KbError(f"the key `{key}` exists already; if this is another publication, rerun with "
                      f"--key {free}")
    entry = bib_entry(key, record)
    _check_entry_text(entry, key, record)
    for url, _ in record.checked:
        if not URL.fullmatch(url) or len(url) > _longest("url"):
            raise KbError(f"the record URL `{shown(url)}` cannot be written to the citation record; "
                          "check ALLOKB_CROSSREF_URL and ALLOKB_EUTILS_URL")
    old = bib_path.read_text(encoding="utf-8") if bib_path.exists() else ""
    new = old + ("\n" if old and not old.endswith("\n") else "") + ("\n" if old.strip() else "") + entry
    command = f"allokb add-reference --{kind} {value}"
    day = (today or datetime.date.today()).isoformat()
    stub = citation_stub(key, record, command, day)
    source_path = root / SOURCES_DIR / f"{key}.md"
    source = source_text(root, key, record, client, day)
    existed = bib_path.exists()
    target = cite_path.parent
    try:
        target.mkdir(parents=True, exist_ok=True)
        target = bib_path
        _write_atomic(bib_path, new)
        target = cite_path
        _write_atomic(cite_path, stub)
        if source is not None:
            target = source_path
            source_path.parent.mkdir(exist_ok=True)
            _write_atomic(source_path, source)
    except BaseException as exc:  # includes Ctrl-C: put everything back as it was
        if target == source_path:
            source_path.unlink(missing_ok=True)
        if target in (cite_path, source_path):
            cite_path.unlink(missing_ok=True)
        if target != cite_path.parent and existed:
            _write_atomic(bib_path, old)
        elif target != cite_path.parent:
            bib_path.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise KbError(f"cannot write {target.relative_to(root).as_posix()} ({exc.strerror or exc}); "
                          "nothing was added") from None
        raise
    return key, bib_path, cite_path


def source_text(root: Path, key: str, record: FetchedRecord, client: Client, today: str) -> str | None:
    """The PubMed abstract of a record with a PMID as the source text content/sources/<key>.md
    (its quotes are then checked against it), or None: no PMID, no abstract, the request failed,
    the text is one `allokb check` would refuse (a control character, too large), or the file or
    a link in its place exists already (nothing is overwritten or written through a link)."""
    if not record.pmid or folder_problem(root, SOURCES_DIR) is not None \
            or os.path.lexists(root / SOURCES_DIR / f"{key}.md"):
        return None
    try:
        abstract = client.fetch_abstract(record.pmid)
    except RemoteError:
        return None
    if not abstract or find_control(abstract) is not None:
        return None
    text = abstract_file(record.pmid, abstract, today)
    return text if len(text.encode("utf-8")) <= MAX_SOURCE_BYTES else None


def _refuse_duplicate(refs: list[Reference], name: str, value: str) -> None:
    for ref in refs:
        ours = ref.get(name)
        if ours and ours.strip().lower() == value.strip().lower():
            raise KbError(f"{name.upper()} {value} is already in {BIB_FILE} as `{ref.key}`; cite that key")


def _check_entry_text(entry: str, key: str, record: FetchedRecord) -> None:
    """Refuse an entry that BibTeX would not read back as the record said, or that lacks a field
    `allokb check` requires of its type."""
    library = bibtexparser.parse_string(entry)
    parsed = {f.key: decode(str(f.value)) for e in library.entries for f in e.fields}
    for need in REQUIRED_FIELDS.get(record.kind, ("title",)):
        if not any(parsed.get(name, "").strip() for name in need.split("|")):
            raise KbError(f"the {record.source} record of `{key}` has no {need.replace('|', ' or ')}, which "
                          f"{BIB_FILE} needs for @{record.kind}; add the entry by hand")
    wrong = [name for name, value in (("title", record.title), ("journal", record.journal))
             if value and record.kind == "article" and parsed.get(name) != _plain(value)]
    authors = [str(f.value) for e in library.entries for f in e.fields if f.key == "author"]
    if authors and len(split_authors(authors[0])) != len(record.authors):  # an ` and ` inside a name
        wrong.append("author")
    if library.failed_blocks or len(library.entries) != 1 or wrong:
        raise KbError(f"the record of `{key}` cannot be written as BibTeX faithfully; add it to {BIB_FILE} by hand")


# --- verify --online --------------------------------------------------------------------------

_GREEK = str.maketrans({"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "κ": "kappa", "ω": "omega"})


def _text_key(value: str) -> str:
    """Case-, accent- and punctuation-insensitive form of a title or journal name."""
    text = unicodedata.normalize("NFKC", value).translate(_GREEK).casefold().replace("&", " and ")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    words = re.sub(r"[\W_]+", " ", text).split()
    return " ".join(words[1:] if words[:1] == ["the"] else words)


def _pages_key(value: str) -> str:
    """`442--450`, `442-50` and `442–450` all as `442-450`."""
    parts = re.split(r"\s*[-‐‑‒–—]+\s*", value.strip())
    if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit() and len(parts[1]) < len(parts[0]):
        parts[1] = parts[0][: len(parts[0]) - len(parts[1])] + parts[1]
    return "-".join(parts).casefold()


_FIELDS: tuple[tuple[str, Callable[[str], str]], ...] = (
    ("author", lambda v: ",".join(ascii_fold(name) for name in v.split(", "))), ("title", _text_key),
    ("journal", _text_key), ("year", str.strip), ("volume", lambda v: v.strip().casefold()), ("pages", _pages_key),
    ("doi", lambda v: v.strip().casefold()), ("pmid", str.strip), ("pmcid", lambda v: v.strip().upper()))
_RETRACTION = re.compile(r"retract|withdraw|removal", re.I)


def _theirs(record: FetchedRecord, name: str) -> str | None:
    if name == "author":
        return ", ".join(f for f, _ in record.authors[:3]) or None
    value = getattr(record, name)
    return str(value) if value else None


def _ours(ref: Reference, name: str) -> str | None:
    if name == "author":
        return ", ".join(p.family or p.literal or "" for p in ref.authors[:3]) or None
    return ref.get(name)


def verify_online(root: Path, client: Client | None = None, progress: Progress | None = None) -> list[Diagnostic]:
    """Re-fetch every reference of the project at `root` that has a DOI or PMID and report drift,
    retractions, corrections and quotes missing from the abstract, as warnings, and the quotes that
    refreshing the committed PubMed abstracts would lose (KB434). Writes nothing."""
    return list(verify_project(root, check_project(root), client or Client(), progress).diagnostics)


@dataclass(frozen=True)
class Verified:
    """What `verify --online` found: its warnings, and the refresh of the source texts."""

    diagnostics: tuple[Diagnostic, ...]
    refresh: Refresh

    @property
    def reported(self) -> bool:
        """Whether anything was reported (`verify` then exits 1)."""
        return bool(self.diagnostics) or self.refresh.reported


class _Abstract:
    """The PubMed abstract of one PMID, asked for at most once: its text (None: PubMed has no
    abstract), or the failed request's error, raised again at every call."""

    def __init__(self, client: Client, pmid: str) -> None:
        self.client, self.pmid = client, pmid
        self.asked = False
        self.text: str | None = None
        self.error: RemoteError | None = None

    def __call__(self) -> str | None:
        if not self.asked:
            self.asked = True
            try:
                self.text = self.client.fetch_abstract(self.pmid)
            except RemoteError as exc:
                self.error = exc
        if self.error is not None:
            raise self.error
        return self.text


def verify_project(root: Path, result: CheckResult, client: Client, progress: Progress | None = None, *,
                   write: bool = False, today: datetime.date | None = None) -> Verified:
    """`verify_online` for the `CheckResult` of the project at `root`, and the refresh of its
    source texts from PubMed (`allokb.refresh`): every request is made first, then, with `write`,
    the texts that changed are written (an interrupted run writes nothing)."""
    kb: KnowledgeBase = result.kb
    day = (today or datetime.date.today()).isoformat()
    refs = [r for r in kb.references.values() if r.get("doi") or r.get("pmid")]
    quoted: dict[str, list[Cite]] = {}
    for record in [*kb.interventions.values(), *kb.mechanisms.values()]:
        for _, _, cite in record_cites(record):
            if cite.support in ("supported", "partial") and cite.quote and \
                    (cite.locator is None or "abstract" in cite.locator.casefold()):
                quoted.setdefault(cite.ref.target, []).append(cite)
    checked = quotes_by_reference(kb)  # the references whose quotes the check looks for
    found: list[Diagnostic] = []
    changes: list[SourceChange] = []
    for done, ref in enumerate(refs, 1):
        citation = kb.citations.get(ref.key)
        pmid = (ref.get("pmid") or "").strip()
        abstract = _Abstract(client, pmid) if PMID.fullmatch(pmid) else None
        change = plan_source(root, kb, ref.key, pmid, abstract, day, ref.key in checked) \
            if abstract is not None else None
        # Where the quotes are compared with PubMed's abstract as a source text (KB434), KB433 would
        # say the same again.
        cites = [] if change is not None and change.covers_quotes else quoted.get(ref.key, [])
        diagnostics, failure = _verify_reference(ref, citation.retraction if citation else None, cites, client,
                                                 abstract)
        found.extend(diagnostics)
        changes += [change] if change is not None else []
        if failure is not None:  # only where KB433 asked for the abstract: the text is hand-kept, or none
            changes.append(SourceChange(ref.key, "unchecked", str(failure), covers_quotes=False))
        if progress:
            progress(done, len(refs), ref.key)
    check_failed = any(d.severity is Severity.ERROR and d.code != "KB440" for d in result.diagnostics)
    refresh = apply_changes(root, kb, changes, write=write, check_failed=check_failed)
    return Verified(tuple(sorted_diagnostics(found + list(refresh.diagnostics))), refresh)


def _verify_reference(ref: Reference, retraction: str | None, cites: list[Cite], client: Client,
                      abstract: Callable[[], str | None] | None) -> tuple[list[Diagnostic], RemoteError | None]:
    """The warnings of one reference, and the error of the request for its abstract if that
    failed (its quotes were then not compared)."""
    out: list[Diagnostic] = []
    records: list[FetchedRecord] = []
    doi, pmid = ref.get("doi"), ref.get("pmid")
    for name, value, fetch in (("doi", doi, client.fetch_doi), ("pmid", pmid, client.fetch_pmid)):
        if not value or (name == "doi" and not DOI.match(value)) or (name == "pmid" and not PMID.match(value)):
            continue  # malformed identifiers are `allokb check`'s KB404/KB405
        try:
            records.append(fetch(value.strip()))
        except RecordNotFound as exc:
            out.append(Diagnostic("KB430", Severity.WARNING, str(exc), field_line(ref, name),
                                  f"check the {name.upper()} in {BIB_FILE}"))
    if not records:
        return out, None
    for name, norm in _FIELDS:
        ours = _ours(ref, name)
        offered = [(r, v) for r in records if (v := _theirs(r, name))]
        if not offered or (ours is None and name not in ("doi", "pmcid")):
            continue
        if ours is not None and any(norm(ours) == norm(v) for _, v in offered):
            continue
        record, theirs = offered[0]
        said = f"`{ours}`" if ours is not None else "nothing"
        out.append(Diagnostic(
            "KB430", Severity.WARNING, f"{name} differs from {record.source}: {BIB_FILE} has {said}, "
            f"{record.source} has `{theirs}`", field_line(ref, name),
            f"check the publication and correct {BIB_FILE} (record: {record.checked[-1][0]})"))
    retractions: list[str] = []
    corrections: list[str] = []
    for r in records:
        said = [f"{r.source}: publication type Retracted Publication"] if "Retracted Publication" in \
            r.publication_types else []
        for update in r.updates:
            (said if _RETRACTION.search(update) else corrections).append(f"{r.source}: {update}")
        retractions += said or ([f"{r.source}: the title says RETRACTED"] if r.retracted else [])
    citation_file = f"content/citations/{ref.key}.yaml"
    if retractions and retraction != "retracted":
        out.append(Diagnostic("KB431", Severity.WARNING, f"`{ref.key}` is retracted ({'; '.join(retractions)})",
                              ref.location, f"review every claim citing it and set `retraction: retracted` "
                              f"in {citation_file}"))
    if corrections and retraction not in ("corrected", "retracted", "expression-of-concern"):
        out.append(Diagnostic("KB432", Severity.WARNING,
                              f"`{ref.key}` has a linked correction ({'; '.join(corrections)})", ref.location,
                              f"read it, check the claims citing `{ref.key}`, and set `retraction: corrected` "
                              f"in {citation_file}"))
    if cites and abstract is not None and any(r.pmid for r in records):
        try:
            out.extend(_check_quotes(pmid.strip(), cites, abstract))
        except RemoteError as exc:
            return out, exc
    return out, None


def _check_quotes(pmid: str, cites: list[Cite], fetch: Callable[[], str | None]) -> list[Diagnostic]:
    try:
        abstract = fetch()
    except RecordNotFound:
        return []
    haystack = normalise(abstract or "")  # as `allokb check` compares quotes with committed texts
    out = []
    for cite in cites:
        assert cite.quote is not None
        if abstract is None:
            message = f"PubMed has no abstract for PMID {pmid}, so the quote cannot be found there"
        else:
            if find_quote(quote_parts(cite.quote), haystack):
                continue
            shown = cite.quote if len(cite.quote) <= 80 else cite.quote[:77] + "..."
            message = f"quote not found in the PubMed abstract of PMID {pmid}: \"{shown}\""
        out.append(Diagnostic("KB433", Severity.WARNING, message, cite.location,
                              "copy the words exactly from the abstract, or give the `locator` of the "
                              "passage they come from"))
    return out


