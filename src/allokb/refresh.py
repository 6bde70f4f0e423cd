"""Refreshing the committed source texts from PubMed: what `allokb verify --online` does to content/sources/.

For each reference with a PMID, `plan_source` decides what becomes of its source text
`content/sources/<key>.md`, given the PubMed abstract (fetched only when it is needed, once):

- a text of kind `abstract` retrieved from PubMed's record of that PMID is compared with the
  abstract after the quote normalisation (`allokb.sources.normalise`); if they differ it is
  rewritten with the same header and the new `retrieved` date (`updated`), else left untouched;
- with no text, and a quote of the reference for the check to look for, the abstract becomes
  the text, in the header `add-reference` writes (`added`);
- a text of another kind (full-text, label, web page), or an abstract from elsewhere, is
  hand-kept: never touched (`kept`);
- a failed request, or an abstract `allokb check` would refuse, writes nothing (`failed`).

`apply_changes` then writes the new texts (atomically, each on its own; nothing at all while the
check reports errors other than KB440), reads each back as `allokb check` will, and reports
every quote the new text no longer holds (KB434: `allokb check` will call it KB440). Without
`write` it writes nothing and reports the same for the texts as they would be.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from allokb.diagnostics import Diagnostic, make, sorted_diagnostics
from allokb.files import find_control, folder_problem, read_project_file, write_atomic
from allokb.graph import KnowledgeBase
from allokb.pages_check import YAML_RE
from allokb.remote import RemoteError
from allokb.sources import (MAX_SOURCE_BYTES, SOURCES_DIR, SourceText, closest_passage, find_quote, normalise,
                            quote_parts, quote_sites, read_source)

#: the outcomes that change a file (or would, without `write`)
WRITES = ("updated", "added")
#: the outcomes that make `verify` exit 1: something to act on
REPORTED = ("updated", "added", "failed", "unchecked")
_RETRIEVED = re.compile(r"^retrieved[ \t]*:.*$", re.MULTILINE)


@dataclass(frozen=True)
class SourceChange:
    """What the refresh did (or, not written, would do) to the source text of one reference."""

    key: str
    action: str  # updated | added | unchanged | kept | missing | failed | unchecked
    detail: str = ""
    old: str | None = None  # the text before (updated)
    body: str | None = None  # the new text (updated, added)
    content: str | None = None  # the new file: header and text (updated, added)
    #: whether the quotes of the reference are compared with PubMed's abstract here (the text is
    #: PubMed's abstract, or would be), rather than by KB433
    covers_quotes: bool = True
    written: bool = False

    @property
    def path(self) -> str:
        """The file, relative to the project root."""
        return f"{SOURCES_DIR}/{self.key}.md"

    def line(self) -> str | None:
        """The report's line for this reference; None for an unchanged text."""
        path = self.path
        if self.action == "updated":
            return f"{'updated' if self.written else 'would update'} {path}: abstract changed ({self.detail})"
        if self.action == "added":
            return f"{'added' if self.written else 'would add'} {path}: {self.detail}"
        if self.action == "kept":
            return f"kept {path} ({self.detail})"
        if self.action == "missing":
            return f"not added {path}: {self.detail}"
        if self.action == "failed":
            return f"not refreshed {path}: {self.detail}; nothing written"
        if self.action == "unchecked":
            return f"not checked `{self.key}`: {self.detail}; its quotes were not compared with the PubMed abstract"
        return None


@dataclass(frozen=True)
class Refresh:
    """The refresh of every source text: the changes, why nothing was written (if so), and the
    diagnostics of the new texts (KB434, and whatever reading a written file back found)."""

    changes: tuple[SourceChange, ...]
    diagnostics: tuple[Diagnostic, ...]
    blocked: str | None = None

    @property
    def reported(self) -> bool:
        """Whether there is something to act on (`verify` then exits 1)."""
        return self.blocked is not None or any(c.action in REPORTED for c in self.changes)

    def lines(self) -> list[str]:
        """The report: a line per source text that changed or was kept, then the counts."""
        out = [f"source texts not written: {self.blocked}"] if self.blocked else []
        out += [line for c in self.changes if (line := c.line()) is not None]
        counts: dict[str, int] = {}
        for c in self.changes:
            if c.action in WRITES and not c.written:
                name = {"updated": "to update", "added": "to add"}[c.action]
            else:
                name = {"failed": "not refreshed", "missing": "without an abstract"}.get(c.action, c.action)
            if c.action != "unchecked":
                counts[name] = counts.get(name, 0) + 1
        order = ["updated", "to update", "added", "to add", "unchanged", "kept", "without an abstract",
                 "not refreshed"]
        if counts:
            out.append("source texts: " + ", ".join(f"{counts[n]} {n}" for n in order if n in counts))
        return out


def from_pubmed(url: str, pmid: str) -> bool:
    """Whether `url` is PubMed's page of `pmid` (where `add-reference` says an abstract came from)."""
    plain = url.strip().lower().rstrip("/")
    return plain.split("://", 1)[-1] in (f"pubmed.ncbi.nlm.nih.gov/{pmid}", f"www.ncbi.nlm.nih.gov/pubmed/{pmid}")


def refusal(abstract: str) -> str | None:
    """Why `allokb check` would refuse `abstract` as a source text, or None."""
    at = find_control(abstract)
    if at is not None:
        return f"holds the character U+{ord(abstract[at]):04X}, which `allokb check` refuses"
    return None


def abstract_file(pmid: str, abstract: str, today: str) -> str:
    """The source text file of a PubMed abstract, as `add-reference` writes it."""
    return (f"---\nurl: \"https://pubmed.ncbi.nlm.nih.gov/{pmid}/\"\nretrieved: \"{today}\"\n"
            f"kind: abstract\n---\n{abstract}\n")


def word_changes(old: str, new: str) -> tuple[int, int]:
    """How many words `new` adds to `old` and removes from it, compared as the quotes are."""
    before = [w for w in (normalise(w) for w in old.split()) if w]
    after = [w for w in (normalise(w) for w in new.split()) if w]
    added = removed = 0
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        if op in ("replace", "delete"):
            removed += i2 - i1
        if op in ("replace", "insert"):
            added += j2 - j1
    return added, removed


def _words(n: int) -> str:
    return f"{n} word{'s' * (n != 1)}"


def plan_source(root: Path, kb: KnowledgeBase, key: str, pmid: str, abstract: Callable[[], str | None],
                today: str, quoted: bool) -> SourceChange | None:
    """What the refresh does to the source text of the reference `key` with PMID `pmid`; None when
    it has none and nothing of it is quoted. `abstract` fetches PubMed's abstract (None: PubMed
    has none; `RemoteError` when the request failed); it is called only when needed. Writes nothing."""
    rel = f"{SOURCES_DIR}/{key}.md"
    source = kb.sources.get(key)
    if source is None and os.path.lexists(root / rel):
        return SourceChange(key, "kept", "it cannot be read as a source text: run `allokb check`", covers_quotes=False)
    if source is not None and source.kind != "abstract":
        return SourceChange(key, "kept", f"hand-kept {source.kind}", covers_quotes=False)
    if source is not None and not from_pubmed(source.url, pmid):
        return SourceChange(key, "kept", f"hand-kept abstract, not retrieved from PubMed's record of PMID {pmid}",
                            covers_quotes=False)
    if source is None and not quoted:
        return None
    try:
        text = abstract()
    except RemoteError as exc:
        return SourceChange(key, "failed", str(exc))
    if text is None:
        if source is not None:
            return SourceChange(key, "kept", f"PubMed has no abstract for PMID {pmid} any more")
        return SourceChange(key, "missing", f"PubMed has no abstract for PMID {pmid}")
    why = refusal(text)
    if why is not None:
        return SourceChange(key, "failed", f"PubMed's abstract of PMID {pmid} {why}")
    if source is None:
        content = abstract_file(pmid, text, today)
        change = SourceChange(key, "added", f"the PubMed abstract of PMID {pmid} ({_words(len(text.split()))})",
                              None, text, content)
    elif normalise(source.text) == normalise(text):
        return SourceChange(key, "unchanged")
    else:
        added, removed = word_changes(source.text, text)
        content = _rewritten(root, source, pmid, text, today)
        change = SourceChange(key, "updated", f"{_words(added)} added, {removed} removed", source.text, text, content)
    if len(content.encode("utf-8")) > MAX_SOURCE_BYTES:
        return SourceChange(key, "failed", f"PubMed's abstract of PMID {pmid} is larger than the "
                            f"{MAX_SOURCE_BYTES // 1024} KiB a source text may be")
    return change


def _rewritten(root: Path, source: SourceText, pmid: str, text: str, today: str) -> str:
    """The file of `source` with the new text: its own header, but for the new `retrieved` date
    (the header `add-reference` writes, if that line cannot be found)."""
    raw, _ = read_project_file(root, source.path, MAX_SOURCE_BYTES, refuse_controls=True)
    match = YAML_RE.match((raw or "").replace("\r\n", "\n").replace("\r", "\n"))
    if match is not None:
        header, found = _RETRIEVED.subn(f"retrieved: \"{today}\"", match.group(1), count=1)
        if found:
            return f"---\n{header}---\n{text}\n"
    return abstract_file(pmid, text, today)


def apply_changes(root: Path, kb: KnowledgeBase, changes: list[SourceChange], *, write: bool,
                  check_failed: bool) -> Refresh:
    """Write the new source texts of `changes` (only with `write`, and not while the check
    reports errors other than KB440: `check_failed`), read each back, and report the quotes the
    new texts no longer hold (KB434). A file that cannot be written is a failed change."""
    changes = sorted(changes, key=lambda c: c.key)
    pending = [c for c in changes if c.action in WRITES]
    blocked = None
    if write and pending:
        problem = folder_problem(root, SOURCES_DIR)
        if check_failed:
            blocked = "`allokb check` reports errors other than KB440; fix them, then run verify again"
        elif problem is not None:
            blocked = f"{problem.location.file}: {problem.message}"
    doing = write and blocked is None
    done: list[SourceChange] = []
    found: list[Diagnostic] = []
    for change in changes:
        if change.action not in WRITES:
            done.append(change)
            continue
        assert change.content is not None and change.body is not None
        new_text: str | None = change.body
        if doing:
            path = root / change.path
            try:
                if change.action == "added" and os.path.lexists(path):
                    raise FileExistsError(17, "it exists now")
                path.parent.mkdir(exist_ok=True)
                write_atomic(path, change.content)
            except OSError as exc:
                done.append(dataclasses.replace(change, action="failed",
                                                detail=f"cannot write it ({exc.strerror or exc})"))
                continue
            change = dataclasses.replace(change, written=True)
            source, problems = read_source(root, change.path, change.key)  # as `allokb check` will
            found += problems
            new_text = source.text if source is not None else None
        done.append(change)
        if new_text is not None:
            found += quotes_lost(kb, change, new_text)
    return Refresh(tuple(done), tuple(sorted_diagnostics(found)), blocked)


def quotes_lost(kb: KnowledgeBase, change: SourceChange, new_text: str) -> list[Diagnostic]:
    """KB434 for each quote of the reference that the new text does not hold but the old one did
    (a quote the old text did not hold either is already `allokb check`'s KB440); for a new
    text, each quote it does not hold."""
    new = normalise(new_text)
    old = normalise(change.old) if change.old is not None else None
    out = []
    for site in quote_sites(kb):
        if site.key != change.key:
            continue
        parts = quote_parts(site.quote)
        if find_quote(parts, new) or (old is not None and not find_quote(parts, old)):
            continue
        shown = site.quote if len(site.quote) <= 80 else site.quote[:77] + "..."
        if change.written:
            what = (f"the abstract of `{change.key}` refreshed from PubMed ({change.path})" if change.old is not None
                    else f"the PubMed abstract now committed as {change.path}")
            then = "`allokb check` now reports it as KB440"
        else:
            what = f"PubMed's current abstract of `{change.key}` ({change.path} not written)"
            then = "once the text is refreshed, `allokb check` reports it as KB440"
        out.append(make("KB434", f"quote not found in {what}: \"{shown}\"", site.location,
                        f"closest passage: \"{closest_passage(site.quote, new_text)}\"; {then}: correct the quote, "
                        "or give the `locator` of the passage it comes from"))
    return out
