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
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from allokb.bib import load_references
from allokb.checkcache import Store, dump, open_store
from allokb.diagnostics import Diagnostic, Location, Severity, sorted_diagnostics
from allokb.grade import RUBRIC_FILE, GradeMemo, InterventionMatrix, Rubric, grade_all, load_rubric
from allokb.graph import FileOutcome, KnowledgeBase, build_graph
from allokb.kinds import BY_FOLDER, KINDS
from allokb.linkhosts import LINK_HOSTS_FILE, load_link_hosts
from allokb.load import SourceDocument, load_document, scan_content
from allokb.model import Citation, Intervention, Mechanism, Reference
from allokb.pages_check import check_site_files
from allokb.parallel import beside, cores, share
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


#: a file's size, modification and change times, inode and type (of the path itself: a symlink is
#: not its target); None when absent. Any write, rename or replacement of the file changes it.
Stamp = tuple[int, int, int, int, int] | None


def _stamp(path: Path | str) -> Stamp:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_mode)


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


def _process_pickled(root: Path, batch: list[tuple[str, str]]) -> list[bytes | None]:
    """`_process_batch`, each outcome pickled here, in the worker, for the store (`allokb.checkcache`):
    the pool then carries bytes, and this process unpickles them (what the pool would have done)."""
    return [dump(outcome) for outcome in _process_batch(root, batch)]


def _load_cached(root: Path, names: list[tuple[str, str]], cache: LoadCache, store: Store | None = None) -> tuple[
        list[FileOutcome], list[Reference] | None, list[Diagnostic]]:
    """Load the files under `root` whose stamp changed since `cache` (this process's last check)
    or `store` (what an earlier check kept on disk) saw them; update both. Many files (a first
    check) are shared among the cores (`_load_some`)."""
    content = os.path.join(root, "content")  # plain strings: a Path per file costs more than its stat
    stamps = [_stamp(os.path.join(content, kind, name)) for kind, name in names]  # before reading
    outcomes: list[FileOutcome | None] = []
    misses: list[int] = []
    kept = cache.files
    for i, (key, stamp) in enumerate(zip(names, stamps, strict=True)):
        hit = kept.get(key)
        outcome = hit[1] if hit is not None and stamp is not None and hit[0] == stamp else None
        if outcome is None and store is not None:
            outcome = store.outcome(key, stamp)
        if outcome is None:
            misses.append(i)
        outcomes.append(outcome)
    bib_stamp = _stamp(root / "references.bib")
    bib: tuple[list[Reference] | None, list[Diagnostic]] | None = None
    if cache.bib is not None and bib_stamp is not None and cache.bib[0] == bib_stamp:
        bib = cache.bib[1], list(cache.bib[2])
    elif store is not None:
        bib = store.references(bib_stamp)
    loaded, blobs, bib_blob, fresh_bib = _load_some(root, [names[i] for i in misses], bib is None, store is not None)
    for i, outcome in zip(misses, loaded, strict=True):
        outcomes[i] = outcome
    done: list[FileOutcome] = outcomes  # type: ignore[assignment]  # every miss is loaded now
    if fresh_bib is not None:
        bib = fresh_bib
    assert bib is not None
    references, bib_diagnostics = bib
    cache.files = {key: (stamp, outcome) for key, stamp, outcome in zip(names, stamps, done, strict=True)
                   if stamp is not None}
    cache.bib = (bib_stamp, references, list(bib_diagnostics)) if bib_stamp is not None else None
    if store is not None:
        _keep(store, names, stamps, done, dict(zip(misses, blobs, strict=True)), bib_stamp, bib, bib_blob)
    return done, references, list(bib_diagnostics)


def _keep(store: Store, names: list[tuple[str, str]], stamps: list[Stamp], outcomes: list[FileOutcome],
          blobs: dict[int, bytes | None], bib_stamp: Stamp, bib: tuple[Any, Any], bib_blob: bytes | None) -> None:
    """Give `store` this check's files: the entries it had for the files that are unchanged, the
    pickled outcomes of the others; it is written if anything changed."""
    files: dict[tuple[str, str], tuple[Any, bytes]] = {}
    before = store.files
    changed = len(blobs) > 0
    for i, (key, stamp) in enumerate(zip(names, stamps, strict=True)):
        if stamp is None:
            continue
        old = before.get(key)
        if i not in blobs and old is not None and old[0] == stamp:
            files[key] = old
            continue
        blob = blobs[i] if i in blobs else dump(outcomes[i])  # (a hit of this process's own cache)
        changed = True
        if blob is not None:
            files[key] = (stamp, blob)
    if before.keys() - files.keys():
        changed = True
    if bib_stamp is None:
        new_bib = None
    elif store.bib is not None and store.bib[0] == bib_stamp and bib_blob is None:
        new_bib = store.bib
    else:
        blob = bib_blob if bib_blob is not None else dump(bib)
        new_bib = (bib_stamp, blob) if blob is not None else None
    store.changed = store.changed or changed or new_bib != store.bib
    store.files, store.bib = files, new_bib


def _load_some(root: Path, names: list[tuple[str, str]], bib: bool, pickled: bool) -> tuple[
        list[FileOutcome], list[bytes | None], bytes | None, tuple[list[Reference] | None, list[Diagnostic]] | None]:
    """Load `names`, and references.bib if `bib`: their outcomes; with `pickled`, each outcome
    pickled (None if it does not pickle) and the bib's parse pickled; and the bib's parse. Many
    files are shared among the cores (a worker takes references.bib first; allokb.parallel)."""
    processes = _processes(len(names))
    if processes == 1:
        outcomes = _process_batch(root, names)
        parsed = load_references(root) if bib else None
        return (outcomes, [dump(o) for o in outcomes] if pickled else [],
                dump(parsed) if pickled and bib else None, parsed)
    for kind in KINDS:  # compile the validators once, here: forked workers inherit them
        fast_validator_for(kind.schema)
    textstat_module()  # and import textstat once (the reader rules of every worker use it)
    size = 256  # small, so that the batches a worker has already queued are a short wait at the end
    batches = [names[i:i + size] for i in range(0, len(names), size)]
    if not pickled:
        done, parsed = share(lambda i: _process_batch(root, batches[i]), len(batches), processes,
                             first=(lambda: load_references(root)) if bib else None)
        return [o for batch in done for o in batch], [], None, parsed
    done_blobs, bib_blob = share(lambda i: _process_pickled(root, batches[i]), len(batches), processes,
                                 first=(lambda: dump(load_references(root))) if bib else None)
    blobs = [b for batch in done_blobs for b in batch]
    outcomes = [pickle.loads(b) if b is not None else process_file(root, *name)  # noqa: S301 - made just now
                for b, name in zip(blobs, names, strict=True)]
    parsed = None
    if bib:
        parsed = pickle.loads(bib_blob) if bib_blob is not None else load_references(root)  # noqa: S301
    return outcomes, blobs, bib_blob, parsed


def check_project(root: Path, cache: LoadCache | None = None, *, stored: bool = False) -> CheckResult:
    """Load, validate and resolve the knowledge base under `root`; report every problem.
    `cache`: what an earlier check of `root` in this process loaded (`LoadCache`), updated by this
    one. `stored`: take the files that did not change from what the last check kept on disk, and
    keep this one's there (`allokb.checkcache`); the result is the same either way."""
    with _no_cyclic_gc():
        store = open_store(root) if stored else None
        result = _check(root, cache if cache is not None else LoadCache(), store, split=cache is None)
        if store is not None:
            store.save()
        return result


def _check(root: Path, cache: LoadCache, store: Store | None, *, split: bool) -> CheckResult:
    names, folder_diagnostics = scan_content(root)
    outcomes, references, bib_diagnostics = _load_cached(root, names, cache, store)
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
    found_before = {o.path: (o.record, o.readers) for o in outcomes if o.readers is not None}

    def whole() -> list[Diagnostic]:  # the rules of the whole knowledge base whose findings are all they give
        return [*run_rules(kb), *check_bibliography(kb, hosts, cache.bibliography)]

    def graded() -> tuple[dict[str, InterventionMatrix], UrlPlan, list[Diagnostic]]:
        grades = grade_all(rubric, kb, cache.grades)
        urls = plan_urls(root, kb)
        return grades, urls, [*check_hand_grades(kb, grades), *check_main_outcome_graded(kb, rubric),
                              *check_approvals_graded(kb, rubric), *check_urls(root, urls),
                              *check_readers(kb, root, found_before), *check_site_files(root)]

    # Two halves of about equal cost. A one-off check of a large knowledge base runs the first in
    # a worker beside the second (only diagnostics come back: the grades and the URL plan would
    # cost more to send than to make); `allokb serve` runs both here, where its memos are kept.
    if split and _processes(len(names)) > 1:
        whole_diagnostics, (grades, urls, graded_diagnostics) = beside(whole, graded)
    else:
        whole_diagnostics = whole()
        grades, urls, graded_diagnostics = graded()
    found = [*folder_diagnostics, *(d for o in outcomes for d in o.diagnostics), *bib_diagnostics,
             *graph_diagnostics, *source_diagnostics, *quote_diagnostics, *rubric_diagnostics, *host_diagnostics,
             *whole_diagnostics, *graded_diagnostics]
    count = (len(names) + (root / "references.bib").exists() + (root / RUBRIC_FILE).exists()
             + (root / LINK_HOSTS_FILE).exists())
    return CheckResult(kb, tuple(sorted_diagnostics(found)), count, rubric, grades, urls, quotes)
