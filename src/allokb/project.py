"""The check pipeline as one call: load -> schema -> model -> graph -> rules.

`check_project` runs every stage over a project folder and returns the resolved knowledge base
with every diagnostic found, sorted. It never writes anything. Files are independent until the
graph stage, so a large knowledge base is loaded and validated by a pool of processes (one per
core, this one included) while references.bib is parsed beside them; the result is the same
either way.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from allokb.bib import load_references
from allokb.diagnostics import Diagnostic, Location, Severity, sorted_diagnostics
from allokb.grade import RUBRIC_FILE, GradeMemo, InterventionMatrix, Rubric, grade_all, load_rubric
from allokb.graph import FileOutcome, KnowledgeBase, build_graph
from allokb.kinds import BY_FOLDER, KINDS
from allokb.linkhosts import LINK_HOSTS_FILE, load_link_hosts
from allokb.load import SourceDocument, load_document, scan_content
from allokb.model import Citation, Intervention, Mechanism, Reference
from allokb.pages_check import check_site_files
from allokb.parallel import cores, share
from allokb.readers import textstat_module
from allokb.rules import check_resolution, run_rules
from allokb.rules.bibliography import EntryMemo, check_bibliography
from allokb.rules.grades import check_approvals_graded, check_hand_grades, check_main_outcome_graded
from allokb.rules.numbers import check_numbers
from allokb.rules.readers import check_readers, record_findings
from allokb.rules.sources import check_source_keys, check_source_quotes
from allokb.rules.urls import check_urls
from allokb.schema import check_document, fast_validator_for
from allokb.sources import QuoteCount, count_quotes, load_sources
from allokb.urls import UrlPlan, plan_urls

#: below this many files a pool costs more than it saves
PARALLEL_THRESHOLD = 1500


@dataclass(frozen=True)
class CheckResult:
    """The knowledge base as far as it could be built, and every diagnostic."""

    kb: KnowledgeBase
    diagnostics: tuple[Diagnostic, ...]
    files: int
    rubric: Rubric | None = None
    grades: dict[str, InterventionMatrix] = field(default_factory=dict)
    urls: UrlPlan | None = None
    quotes: QuoteCount | None = None  # how the quotes were checked: by the machine, by hand, not found

    def count(self, severity: Severity) -> int:
        """How many diagnostics have `severity`."""
        return sum(1 for d in self.diagnostics if d.severity is severity)

    def failed(self, strict: bool = False) -> bool:
        """Whether the check fails: any error, or under `strict` any warning."""
        return self.count(Severity.ERROR) > 0 or (strict and self.count(Severity.WARNING) > 0)


Stamp = tuple[int, int, int] | None  # a file's size, modification time and inode; None when absent


def _stamp(path: Path | str) -> Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


@dataclass
class LoadCache:
    """What `check_project` loaded, for a process that checks the same project again and again
    (`allokb serve`): each content file's outcome and references.bib's parse, by the file's
    `Stamp` taken before it was read. A file whose stamp changed is loaded again; the others
    (records are frozen) are taken from here. After loading, every stage runs over the whole
    knowledge base; the grading and the rules of a single bib entry reuse what they found for the
    records that are the same objects as before (`allokb.grade.grade_all`,
    `allokb.rules.bibliography.check_bibliography`), the rest runs in full."""

    files: dict[tuple[str, str], tuple[Stamp, FileOutcome]] = field(default_factory=dict)
    bib: tuple[Stamp, list[Reference] | None, list[Diagnostic]] | None = None
    grades: GradeMemo = field(default_factory=dict)
    bibliography: EntryMemo = field(default_factory=dict)


def process_document(doc: SourceDocument, load_diagnostics: list[Diagnostic]) -> FileOutcome:
    """Validate one loaded document against its kind's schema and build its record (schema and
    model stages for one file; independent of every other file, so it can run in a worker)."""
    kind = BY_FOLDER[doc.kind]
    value = doc.data.get(kind.id_field) if isinstance(doc.data, dict) else None
    ident = value if isinstance(value, str) else None
    id_location = doc.location((kind.id_field,)) if ident is not None else None
    problems = check_document(doc)
    diagnostics = [*load_diagnostics, *problems]
    record = kind.build(doc) if not problems and not load_diagnostics else None
    former: tuple[tuple[str, Location], ...] = ()
    readers = None
    if isinstance(record, (Intervention, Mechanism)):
        # Numbers traced (KB460, KB461) here, where the document can place each one at its field.
        diagnostics.extend(check_numbers(record, doc.location))
    if isinstance(record, (Intervention, Mechanism, Citation)) and record.source == doc.path:
        # The reader rules, as far as they need only this record: here, in the worker that
        # loaded it, and kept with the file by serve's cache; `check_readers` completes them.
        readers = record_findings(record, lambda _source, path: doc.location(path))
    if record is not None:
        names = doc.data.get(kind.former_field, [])
        former = tuple((old, doc.location((kind.former_field, i))) for i, old in enumerate(names))
    return FileOutcome(doc.kind, doc.path, doc.stem, ident, id_location, record, tuple(diagnostics), former,
                       readers)


def process_file(root: Path | str, kind: str, name: str) -> FileOutcome:
    """Load, validate and build one content file, content/<kind>/<name>."""
    doc, problems = load_document(root, kind, name)
    if doc is None:
        stem = name.rsplit(".", 1)[0]
        return FileOutcome(kind, f"content/{kind}/{name}", stem, None, None, None, tuple(problems))
    return process_document(doc, problems)


def _process_batch(root: Path, batch: list[tuple[str, str]]) -> list[FileOutcome]:
    """Process files given as (kind, file name): plain strings travel to a worker cheaply."""
    base = str(root)
    with _no_cyclic_gc():
        return [process_file(base, kind, name) for kind, name in batch]


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector. Loading builds hundreds of thousands of small
    objects, which makes the collector run over and over although nothing here forms a cycle
    (records are trees; memory is still freed by reference counting): on 30,000 files this
    costs about a quarter of the check, pickling included."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            # Move what was built meanwhile straight to the oldest generation (freeze, then
            # unfreeze: two list splices). Otherwise the first collection after re-enabling walks
            # every object made while paused: 0.6 s after a 30,000-file check. Garbage cycles, if
            # any, are still found by the next full collection.
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def _processes(files: int) -> int:
    """How many processes share the loading: one per core (at most 8), this one included."""
    return cores() if files >= PARALLEL_THRESHOLD else 1


def _load_cached(root: Path, names: list[tuple[str, str]], cache: LoadCache) -> tuple[
        list[FileOutcome], list[Reference] | None, list[Diagnostic]]:
    """`_load_all`, loading only the files whose stamp changed since `cache` saw them."""
    if not cache.files:  # the first check: every file, by the pool
        stamps = [_stamp(root / "content" / kind / name) for kind, name in names]
        bib_stamp = _stamp(root / "references.bib")
        outcomes, references, bib_diagnostics = _load_all(root, names)
        cache.files = {n: (st, o) for n, st, o in zip(names, stamps, outcomes, strict=True) if st is not None}
        cache.bib = (bib_stamp, references, list(bib_diagnostics)) if bib_stamp is not None else None
        return outcomes, references, bib_diagnostics
    outcomes = []
    kept: dict[tuple[str, str], tuple[Stamp, FileOutcome]] = {}
    content = os.path.join(root, "content")  # plain strings: a Path per file costs more than its stat
    for kind, name in names:
        stamp = _stamp(os.path.join(content, kind, name))
        hit = cache.files.get((kind, name))
        outcome = hit[1] if hit is not None and stamp is not None and hit[0] == stamp else process_file(root, kind, name)
        if stamp is not None:
            kept[(kind, name)] = (stamp, outcome)
        outcomes.append(outcome)
    cache.files = kept
    stamp = _stamp(root / "references.bib")
    if cache.bib is None or stamp is None or cache.bib[0] != stamp:
        references, bib_diagnostics = load_references(root)
        cache.bib = (stamp, references, list(bib_diagnostics)) if stamp is not None else None
    else:
        references, bib_diagnostics = cache.bib[1], list(cache.bib[2])
    return outcomes, references, bib_diagnostics


def _load_all(root: Path, names: list[tuple[str, str]]) -> tuple[list[FileOutcome], list[Reference] | None,
                                                                    list[Diagnostic]]:
    processes = _processes(len(names))
    if processes == 1:
        outcomes = _process_batch(root, names)
        return (outcomes, *load_references(root))
    # A worker takes references.bib first; the batches are shared (allokb.parallel).
    for kind in KINDS:  # compile the validators once, here: forked workers inherit them
        fast_validator_for(kind.schema)
    textstat_module()  # and import textstat once (the reader rules of every worker use it)
    size = 256  # small, so that the batches a worker has already queued are a short wait at the end
    batches = [names[i:i + size] for i in range(0, len(names), size)]
    done, bib = share(lambda i: _process_batch(root, batches[i]), len(batches), processes,
                      first=lambda: load_references(root))
    references, bib_diagnostics = bib
    return [o for batch in done for o in batch], references, bib_diagnostics


def check_project(root: Path, cache: LoadCache | None = None) -> CheckResult:
    """Load, validate and resolve the knowledge base under `root`; report every problem.
    `cache`: what an earlier check of `root` loaded (`LoadCache`), updated by this one."""
    with _no_cyclic_gc():
        return _check(root, cache)


def _check(root: Path, cache: LoadCache | None = None) -> CheckResult:
    names, folder_diagnostics = scan_content(root)
    outcomes, references, bib_diagnostics = (_load_all(root, names) if cache is None
                                             else _load_cached(root, names, cache))
    present: dict[str, set[str]] = {}
    for kind, name in names:
        if name.endswith(".yaml"):
            present.setdefault(kind, set()).add(name[: -len(".yaml")])
    kb, resolution = build_graph(outcomes, references, present)
    graph_diagnostics = check_resolution(resolution)
    bib_keys = set(kb.references) if references is not None else None
    sources, source_diagnostics, unread_sources = load_sources(root, bib_keys)
    kb = replace(kb, sources=sources)
    quote_diagnostics = [*check_source_keys(unread_sources, bib_keys or ()), *check_source_quotes(kb)]
    quotes = count_quotes(kb, not_found=sum(d.code == "KB440" for d in quote_diagnostics))
    rubric, rubric_diagnostics = load_rubric(root)
    hosts, host_diagnostics = load_link_hosts(root)
    grades = grade_all(rubric, kb, cache.grades if cache is not None else None)
    found_before = {o.path: (o.record, o.readers) for o in outcomes if o.readers is not None}
    urls = plan_urls(root, kb)
    found = [*folder_diagnostics, *(d for o in outcomes for d in o.diagnostics), *bib_diagnostics,
             *graph_diagnostics, *source_diagnostics, *quote_diagnostics, *run_rules(kb), *rubric_diagnostics,
             *host_diagnostics, *check_bibliography(kb, hosts, cache.bibliography if cache is not None else None),
             *check_hand_grades(kb, grades), *check_readers(kb, root, found_before),
             *check_main_outcome_graded(kb, rubric), *check_approvals_graded(kb, rubric), *check_urls(root, urls),
             *check_site_files(root)]
    count = (len(names) + (root / "references.bib").exists() + (root / RUBRIC_FILE).exists()
             + (root / LINK_HOSTS_FILE).exists())
    return CheckResult(kb, tuple(sorted_diagnostics(found)), count, rubric, grades, urls, quotes)
