"""Contributor text is data: every string field of every record kind and every bib field is
tried with a corpus of hostile payloads. Each (payload, field) pair is either rejected by the
check with a located error in the file that carries it, or built into pages where it is inert and
literal: checked by parsing the built HTML against a clean build, and in Chromium (no dialog, no
console error, table intact).

Fast by construction (issue 14, item 9): 2,340 tries, five builds.

- Classifying, in memory: each pair first goes through the per-file stages that `check_project`
  runs on every file (`parse_yaml` + `process_document` for YAML, `load_references` for the bib),
  on the file's text made from a template (no YAML dump per try). An error there is an error of
  the full check, located in that file: rejected (the schema's explanation, which is slow, is
  asked once per payload and file, and must point at each refused field). Each pair that passes
  gets a full `check_project`, with a `LoadCache` so that only its file is loaded again: a rule
  of the whole knowledge base may refuse it (a number in a bottom line that no quote states).
  Pairs are not batched in one check: a payload in one field can satisfy a rule for another
  (a quote holding the bottom line's number), so a batch could accept a pair its own check refuses.
- Building: one clean build, and a few (four today) where each field carries several of the payloads it
  accepts (as many as its limits let the check pass), one paragraph each, each followed by its own
  marker `QZX<field>P<payload>`, until every accepted pair is built once in its field. Every
  finding (a handler, a javascript:/data: URL, an extra script or resource, a style or abbr that
  took effect, a broken JSON-LD block; in Chromium a dialog, a CSP refusal, a failed load) is
  traced to the marker that follows it, so that a failure names the payload and the field. A
  build that the post-build audit stops is scanned from the staging folder it refused.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml

from allokb import stages
from allokb.bib import load_references
from allokb.cli import main
from allokb.diagnostics import Diagnostic, Severity
from allokb.kinds import BY_FOLDER
from allokb.load import json_path, parse_yaml
from allokb.project import LoadCache, check_project, process_document
from allokb.schema import check_document, is_valid
from conftest import make_site_project
from sitecheck import _Scanner

PAYLOADS = {
    "script": "<script>alert(1)</script>",
    "img-onerror": "<img src=x onerror=alert(1)>",
    "svg-onload": "<svg onload=alert(1)><circle r=1></svg>",
    "md-js-link": "[click me](javascript:alert(1))",
    "md-data-image": "![x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "autolink-js": "<javascript:alert(1)>",
    "entities": "&lt;script&gt;alert(1)&lt;/script&gt; &#x3C;b&#x3E;",
    "html-comment": "<!-- hidden --> shown",
    "raw-html-block": "\n\n<div onclick=\"alert(1)\">block</div>\n\n",
    "jinja-expression": "{{ 7*7 }}",
    "jinja-statement": "{% raw %}x{% endraw %}{% include 'codes.md.j2' %}",
    "table-breaker": "a | b | c\n| --- |",
    "backticks": "``` code fence ``` and `tick`",
    "jsonld-breakout": "</script><script>alert(1)</script>",
    "attr-list": "text {: onclick=\"alert(1)\" }",
    "abbr-definition": "\n*[ALLO]: hijacked",
    "style": "<style>body{display:none}</style>",
    "long-word": "A" * 250,
}
NAMES = list(PAYLOADS)
MARK = "QZX"  # prefix of the marker that follows each payload: QZX<field index>P<payload index>
MARKER = re.compile(MARK + r"(\d+)P(\d+)")
SEPARATOR = "\n\n"  # between the payloads of one field in the combined build: one paragraph each
SLOT = "SLOTQZXSLOT"  # stands for the field's value in a file's text (a plain YAML scalar)

# Fields that are not free text (ids, bib keys, enums, dates, URLs, numbers): a payload there must
# be rejected by the check; that is asserted too.
BIB_FIELDS = ["author", "title", "journal", "year", "volume", "pages", "doi", "pmid", "url", "organization"]
BIB = "references.bib"

Target = tuple[str, tuple[Any, ...]]  # (file, path of the field in it)
Pair = tuple[int, int]  # (payload index, target index)


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), allow_unicode=True, sort_keys=False)


def string_paths(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from string_paths(value, path + (key,))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from string_paths(value, path + (i,))
    elif isinstance(data, str):
        yield path


def set_path(data: Any, path: tuple[Any, ...], value: str) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


def get_path(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def marker(target: int, payload: int) -> str:
    return f"{MARK}{target}P{payload}"


def tried(target: int, payload: int) -> str:
    """The text a field carries for one pair: the payload, then its marker."""
    return PAYLOADS[NAMES[payload]] + " " + marker(target, payload)


def set_bib(bib: str, key: str, field: str, text: str) -> str:
    """references.bib with `field` of entry `key` set to `text` (added when the entry lacks it)."""
    entry = re.search(r"@\w+\{" + key + r",.*?\n\}\n", bib, re.S)
    assert entry
    body = entry.group(0)
    replaced = re.sub(r"(\n  " + field + r" = \{).*?(\},\n)", lambda m: m.group(1) + text + m.group(2), body, count=1)
    if replaced == body:  # the fixture entry has no such field: add it
        replaced = body.replace("\n}\n", f"\n  {field} = {{{text}}},\n}}\n")
    return bib.replace(body, replaced)


def put(path: Path, text: str) -> None:
    """Write a file as a new one: rewriting a file in place (truncating it) makes ext4 flush it to
    disk, 4 to 10 ms a write here, against 0.1 ms for removing it and writing it anew."""
    path.unlink(missing_ok=True)
    path.write_text(text)


def clean_yaml_roundtrip(root: Path) -> None:
    """Write every YAML file back through the dumper, so that the clean build and the payload build
    differ only by the payloads. The source texts are removed: every quote is then checked by hand,
    so that a hostile quote reaches the page (the machine check refuses any quote its source text
    lacks; tests/test_quotes.py)."""
    shutil.rmtree(root / "content" / "sources", ignore_errors=True)
    for doc in (root / "content").rglob("*.yaml"):
        doc.write_text(_dump(yaml.safe_load(doc.read_text())))


@dataclass
class Project:
    """A clean project on disk, with what the tries change in it held in memory."""

    root: Path
    targets: list[Target]
    texts: dict[str, str]  # file -> its clean text
    data: dict[str, Any]  # YAML file -> its parsed clean data
    ticks: int = 0
    since: int = field(default_factory=time.time_ns)
    written: dict[str, str] = field(default_factory=dict)  # file -> its text on disk, if not the clean one

    def text_with(self, t: int, value: str) -> str:
        """The text of target `t`'s file with that one field set to `value`."""
        file, path = self.targets[t]
        if file == BIB:
            return set_bib(self.texts[BIB], *path, value)
        template = self.texts.get(f"{file}#{t}")
        if template is None:  # the file's text with this field as a slot, made once per field
            data = copy.deepcopy(self.data[file])
            set_path(data, path, SLOT)
            template = self.texts[f"{file}#{t}"] = _dump(data)
            assert template.count(SLOT) == 1
        # A JSON string is a YAML double-quoted scalar: the file's text without dumping it again
        return template.replace(SLOT, json.dumps(value, ensure_ascii=False))

    def write(self, values: dict[int, str]) -> set[str]:
        """Make the project on disk the clean one with each target (by index) set to its text;
        returns the files that differ."""
        by_file: dict[str, list[int]] = {}
        for t in values:
            by_file.setdefault(self.targets[t][0], []).append(t)
        for file in set(self.written) - set(by_file):
            self._put(file, self.texts[file])
        for file, ts in by_file.items():
            if len(ts) == 1:
                text = self.text_with(ts[0], values[ts[0]])
            elif file == BIB:
                text = self.texts[BIB]
                for t in ts:
                    text = set_bib(text, *self.targets[t][1], values[t])
            else:
                data = copy.deepcopy(self.data[file])
                for t in ts:
                    set_path(data, self.targets[t][1], values[t])
                text = _dump(data)
            self._put(file, text)
        return set(by_file)

    def restore(self) -> None:
        self.write({})

    def _put(self, file: str, text: str) -> None:
        """Write a file (unless it holds that text already) with a modification time of its own:
        `LoadCache` knows a file by its size, time and inode, and two writes of the same size can
        fall within one tick of the clock."""
        if self.written.get(file, self.texts[file]) == text:
            return
        if text == self.texts[file]:
            del self.written[file]
        else:
            self.written[file] = text
        self.ticks += 1
        put(self.root / file, text)
        stamp = self.since + self.ticks * 1000  # ns: a microsecond apart, after every earlier write
        os.utime(self.root / file, ns=(stamp, stamp))


def clean_project(dest: Path) -> Project:
    root = make_site_project(dest)
    clean_yaml_roundtrip(root)
    files = sorted(str(p.relative_to(root)) for p in (root / "content").rglob("*.yaml")
                   if p.relative_to(root).parts[1] in BY_FOLDER)  # every record kind
    texts = {f: (root / f).read_text() for f in [*files, BIB]}
    data = {f: yaml.safe_load(texts[f]) for f in files}
    targets: list[Target] = [(f, p) for f in files for p in string_paths(data[f])]
    targets += [(BIB, ("smith2020example", f)) for f in BIB_FIELDS if f != "organization"]
    targets += [(BIB, ("examplewiki2024page", "organization"))]
    return Project(root, targets, texts, data)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return clean_project(tmp_path_factory.mktemp("classify") / "project")


@pytest.fixture(scope="module")
def targets(project: Project) -> list[Target]:
    """(file, path) of every string field of the fixture's YAML, plus every bib field."""
    return project.targets


def _errors(diagnostics: Any) -> list[Diagnostic]:
    return [d for d in diagnostics if d.severity is Severity.ERROR]


def _related(error_path: str, field_path: str) -> bool:
    """Whether a diagnostic's JSONPath is the field's, an ancestor's or a descendant's."""
    a, b = error_path, field_path
    return a == b or b.startswith((a + ".", a + "[")) or a.startswith((b + ".", b + "["))


@dataclass
class Classified:
    """For each payload (by name): the targets that the check rejects and those it accepts."""

    rejected: dict[str, list[int]]
    accepted: dict[str, list[int]]
    full_checks: int


def per_file_rejected(project: Project, t: int, text: str, scratch: Path) -> tuple[bool, bool]:
    """The per-file stages of the check for target `t` set to `text`: (rejected, rejected by the
    schema alone). Every diagnostic here is one of the full check's, located in the file that
    carries the text."""
    file, path = project.targets[t]
    if file == BIB:
        put(scratch / BIB, project.text_with(t, text))
        errors = _errors(load_references(scratch)[1])
        assert all(d.location.file == BIB for d in errors), (text, project.targets[t], errors)
        return bool(errors), False
    kind, name = file.split("/")[1:]
    doc, diagnostics = parse_yaml(project.text_with(t, text), file, kind, name[: -len(".yaml")])
    if doc is None or _errors(diagnostics):
        assert all(d.location.file == file for d in diagnostics), (text, project.targets[t], diagnostics)
        return True, False
    assert get_path(doc.data, path) == text  # the slot held exactly the tried text
    if not is_valid(doc):  # `check_document` explains it (slowly): done once per file, below
        return True, True
    outcome = process_document(doc, diagnostics)
    errors = _errors(outcome.diagnostics)
    assert all(d.location.file == file for d in errors), (text, project.targets[t], errors)
    return bool(errors), False


def explain_schema(project: Project, p: int, ts: list[int]) -> None:
    """The schema's own report on one document per file carrying payload `p` in every field `ts`
    that the schema refused: each field has an error at its path (or its parent's)."""
    by_file: dict[str, list[int]] = {}
    for t in ts:
        by_file.setdefault(project.targets[t][0], []).append(t)
    for file, fields in by_file.items():
        data = copy.deepcopy(project.data[file])
        for t in fields:
            set_path(data, project.targets[t][1], tried(t, p))
        kind, name = file.split("/")[1:]
        doc, diagnostics = parse_yaml(_dump(data), file, kind, name[: -len(".yaml")])
        assert doc is not None and not _errors(diagnostics)
        found = _errors(check_document(doc))
        for t in fields:
            where = json_path(project.targets[t][1])
            assert any(d.location.file == file and _related(d.location.yaml_path, where) for d in found), \
                (NAMES[p], project.targets[t], found)


def full_check(project: Project, cache: LoadCache, p: int, t: int) -> bool:
    """Whether the whole check rejects one pair, the one file that carries it changed on disk and
    reloaded through `cache` (every other file is taken from it; everything after loading runs)."""
    project.write({t: tried(t, p)})  # and the file of the previous pair as it was
    errors = _errors(check_project(project.root, cache).diagnostics)
    if errors:  # the error is located in the file that carries the pair
        assert any(d.location.file == project.targets[t][0] for d in errors), (NAMES[p], project.targets[t], errors)
    return bool(errors)


@pytest.fixture(scope="module")
def classified(project: Project, tmp_path_factory: pytest.TempPathFactory) -> Classified:
    """For each payload: the fields where the check rejects it and those where it is accepted."""
    scratch = tmp_path_factory.mktemp("bib")
    rejected: dict[str, list[int]] = {name: [] for name in NAMES}
    accepted: dict[str, list[int]] = {name: [] for name in NAMES}
    candidates: set[Pair] = set()
    for p, name in enumerate(NAMES):
        by_schema = []
        for t in range(len(project.targets)):
            refused, schema = per_file_rejected(project, t, tried(t, p), scratch)
            if schema:
                by_schema.append(t)
            if refused:
                rejected[name].append(t)
            else:
                candidates.add((p, t))
        explain_schema(project, p, by_schema)
    cache = LoadCache()
    assert not check_project(project.root, cache).failed()
    try:
        for p, t in sorted(candidates, key=lambda pair: (pair[1], pair[0])):  # a rule of the whole KB may refuse it
            (rejected if full_check(project, cache, p, t) else accepted)[NAMES[p]].append(t)
    finally:
        project.restore()
    for lists in (rejected, accepted):
        for name in lists:
            lists[name].sort()
    return Classified(rejected, accepted, len(candidates))


def test_free_text_fields_accept_hostile_text(classified: Classified, targets: list[Target]) -> None:
    # Summary, statement, quote, note, name… accept any text; ids, enums, dates, URLs reject it.
    accepted = {targets[t] for t in classified.accepted["script"]}
    assert ("content/interventions/example-hormone.yaml", ("summary",)) in accepted
    assert ("content/interventions/example-hormone.yaml", ("claims", 0, "citations", 0, "quote")) in accepted
    assert ("content/interventions/example-hormone.yaml", ("id",)) not in accepted
    assert ("content/citations/smith2020example.yaml", ("verification", "checked_on")) not in accepted
    assert (BIB, ("smith2020example", "doi")) not in accepted
    # rejected by a rule of the whole knowledge base, not by its file alone: found by the full checks
    assert ("content/interventions/example-hormone.yaml", ("bottom_line", 0, "text")) not in accepted
    assert ("content/interventions/example-hormone.yaml", ("bottom_line", 0, "text")) in \
        {targets[t] for t in classified.accepted["style"]}


def test_every_try_is_rejected_or_accepted(classified: Classified, targets: list[Target],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    rejected = sum(len(v) for v in classified.rejected.values())
    accepted = sum(len(v) for v in classified.accepted.values())
    for name in NAMES:
        assert sorted(classified.rejected[name] + classified.accepted[name]) == list(range(len(targets))), name
    assert rejected + accepted == len(PAYLOADS) * len(targets)
    with capsys.disabled():
        print(f"\ninjection: {len(PAYLOADS)} payloads x {len(targets)} fields = {rejected + accepted} tries: "
              f"{rejected} rejected by check with a located error, {accepted} built and checked inert "
              f"({classified.full_checks} full checks)")


# --- the builds ------------------------------------------------------------------------------------


def _bad(url: str) -> bool:
    return re.match(r"\s*(javascript|data|vbscript):", url, re.I) is not None


class _Located(_Scanner):
    """The page scan of tests/sitecheck.py, noting where in the text each thing that could run code
    or load something starts: a handler, a javascript:/data: URL, a resource, an inline script."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.found: list[tuple[str, int]] = []  # (what, offset)

    def _offset(self) -> int:
        line, col = self.getpos()
        return self.starts[line - 1] + col

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        scan = self.scan
        handlers, links, resources = len(scan.handlers), len(scan.links), len(scan.resources)
        super().handle_starttag(tag, attrs)
        at = self._offset()
        self.found += [(f"handler <{t} {a}=…>", at) for t, a in scan.handlers[handlers:]]
        self.found += [(f"URL {u}", at) for u in scan.links[links:] + scan.resources[resources:] if _bad(u)]
        self.found += [(f"resource {u}", at) for u in scan.resources[resources:]]
        if self._in_script:
            self.found.append(("inline script", at))


@dataclass(frozen=True)
class Finding:
    """Something in a payload build's page that the clean build lacks (or has and this one lost),
    with the pair whose marker follows it."""

    page: str
    what: str
    pair: Pair | None
    context: str

    def describe(self, targets: list[Target]) -> str:
        who = "no marker after it" if self.pair is None else \
            f"payload {NAMES[self.pair[0]]!r} in {targets[self.pair[1]][0]} {json_path(targets[self.pair[1]][1])}"
        return f"{self.page}: {self.what}: {who}: …{self.context}…"


def _culprit(text: str, offset: int) -> tuple[Pair | None, str]:
    """The pair whose marker is the first after `offset`, and the text from there to it."""
    m = MARKER.search(text, offset)
    if m is None:
        return None, text[offset:offset + 160]
    return (int(m.group(2)), int(m.group(1))), text[offset:min(m.end(), offset + 400)]


def scan_site_located(site: Path) -> dict[str, tuple[str, list[tuple[str, int]]]]:
    """Every HTML page of a built site: its text and what `_Located` found in it."""
    out = {}
    for page in sorted(site.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        scanner = _Located(text)
        scanner.feed(text)
        scanner.close()
        out[page.relative_to(site).as_posix()] = (text, scanner.found)
    return out


def findings_of(built: dict[str, tuple[str, list[tuple[str, int]]]],
                clean: dict[str, tuple[str, list[tuple[str, int]]]]) -> list[Finding]:
    out = [Finding(page, "page not in the clean build", None, "") for page in sorted(set(built) - set(clean))]
    out += [Finding(page, "page missing", None, "") for page in sorted(set(clean) - set(built))]
    for page in sorted(set(built) & set(clean)):
        text, found = built[page]
        extra = Counter(w for w, _ in found) - Counter(w for w, _ in clean[page][1])
        lost = Counter(w for w, _ in clean[page][1]) - Counter(w for w, _ in found)
        for what, count in extra.items():
            # of the occurrences, the ones closest to a marker are the injected ones
            spots = sorted((_culprit(text, at) for w, at in found if w == what),
                           key=lambda c: len(c[1]) if c[0] is not None else 10**9)
            out += [Finding(page, what, pair, context) for pair, context in spots[:count]]
        out += [Finding(page, f"lost {what} (x{count})", None, "") for what, count in lost.items()]
        for bad in ("<style>body{display:none}", "hijacked</abbr"):
            out += [Finding(page, bad, *_culprit(text, m.start())) for m in re.finditer(re.escape(bad), text)]
        for m in re.finditer(r'<script type="application/ld\+json">(.*?)</script>', text, re.S):
            try:  # JSON-LD still parses: no payload closed the element
                json.loads(m.group(1))
            except ValueError:
                out.append(Finding(page, "JSON-LD block no longer parses", *_culprit(text, m.end())))
    return out


def build(root: Path, site: Path) -> tuple[int, Path]:
    """`allokb build`'s exit code and the site it wrote. When the post-build audit stops
    the build (it refuses a handler, an inline script, a javascript: URL…), the site is the
    staging folder it refused, kept aside, so that each finding can be traced to its pair."""
    refused = site.with_name(site.name + ".refused")
    audit = stages.audit

    def keep(staging: Path, *args: Any, **kwargs: Any) -> Any:
        problems = audit(staging, *args, **kwargs)
        if problems:
            shutil.copytree(staging, refused)
        return problems

    with mock.patch.object(stages, "audit", keep):
        code = main(["build", str(root), "--site-dir", str(site)])
    return code, site if code == 0 or not refused.exists() else refused


@pytest.fixture(scope="module")
def clean_pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, list[tuple[str, int]]]]:
    """The pages of the clean build, scanned once."""
    root = clean_project(tmp_path_factory.mktemp("clean") / "project").root
    code, site = build(root, root / "site")
    assert code == 0
    return scan_site_located(site)


def pack(project: Project, classified: Classified) -> list[dict[int, list[int]]]:
    """The payload builds: in each, every field carries several of the payloads it accepts (as
    many as its limits let the check pass), until every accepted pair is in one build."""
    first: dict[int, list[int]] = {}
    for p, name in enumerate(NAMES):
        for t in classified.accepted[name]:
            first.setdefault(t, []).append(p)
    builds = [first]
    cache = LoadCache()
    # A field's limits (its length, a heading's word count…) refuse too many payloads at once: move
    # the field's longest payload on to the next build, until every build passes the check.
    j = 0
    while j < len(builds):
        assert len(builds) <= len(NAMES)
        project.write({t: together(t, ps) for t, ps in builds[j].items()})
        errors = _errors(check_project(project.root, cache).diagnostics)
        if not errors:
            project.restore()
            j += 1
            continue
        culprits = {t for t in builds[j] for d in errors if d.location.file == project.targets[t][0]
                    and _related(d.location.yaml_path, json_path(project.targets[t][1]))}
        assert culprits, errors
        if j + 1 == len(builds):
            builds.append({})
        for t in culprits:
            moved = max(builds[j][t], key=lambda p: len(tried(t, p)))
            builds[j][t].remove(moved)
            if not builds[j][t]:
                del builds[j][t]
            builds[j + 1][t] = sorted([*builds[j + 1].get(t, []), moved])
    return builds


def together(t: int, payloads: list[int]) -> str:
    return SEPARATOR.join(tried(t, p) for p in payloads)


@dataclass
class PayloadBuild:
    site: Path  # www/atlas, or what the audit refused (www/atlas.refused)
    code: int  # of `allokb build`
    pages: dict[str, tuple[str, list[tuple[str, int]]]]
    carried: dict[int, list[int]]  # target -> the payloads it carries


@pytest.fixture(scope="module")
def payload_builds(project: Project, classified: Classified,
                   tmp_path_factory: pytest.TempPathFactory) -> list[PayloadBuild]:
    """A few builds that together carry every accepted pair, each payload followed by its marker."""
    out = []
    for i, carried in enumerate(pack(project, classified)):
        tmp = tmp_path_factory.mktemp(f"payloads{i}")
        root = clean_project(tmp / "project")
        root.write({t: together(t, ps) for t, ps in carried.items()})
        code, site = build(root.root, tmp / "www" / "atlas")
        out.append(PayloadBuild(site, code, scan_site_located(site), carried))
    return out


@pytest.fixture(scope="module")
def findings(payload_builds: list[PayloadBuild], clean_pages: dict[str, Any]) -> list[Finding]:
    return [f for b in payload_builds for f in findings_of(b.pages, clean_pages)]


def test_payload_builds_pass(payload_builds: list[PayloadBuild]) -> None:
    # a build that the audit stopped fails here; which pair it was, the tests below say
    assert [b.code for b in payload_builds] == [0] * len(payload_builds)


def test_findings_are_traced_to_their_pair(findings: list[Finding], targets: list[Target]) -> None:
    # a finding with no marker after it fails here; the others fail their payload's test below
    assert [f.describe(targets) for f in findings if f.pair is None] == []


@pytest.mark.parametrize("name", NAMES)
def test_payload_is_inert_in_the_built_html(name: str, classified: Classified, payload_builds: list[PayloadBuild],
                                            findings: list[Finding], targets: list[Target]) -> None:
    p = NAMES.index(name)
    assert [f.describe(targets) for f in findings if f.pair is not None and f.pair[0] == p] == []
    assert sorted(t for b in payload_builds for t, ps in b.carried.items() if p in ps) == classified.accepted[name]
    text = "\n".join(page for b in payload_builds for page, _ in b.pages.values())
    shown = {int(t) for t, q in MARKER.findall(text) if int(q) == p}
    accepted = classified.accepted[name]
    assert shown <= set(accepted)
    assert len(shown) >= len(accepted) // 2  # most accepted fields are displayed, literally
    if name == "jinja-expression":  # shown as written, never evaluated
        assert "{{ 7*7 }}" in text.replace("&#123;", "{")
        assert re.findall(r"49 " + MARK + rf"\d+P{p}\b", text) == []


# --- in Chromium -----------------------------------------------------------------------------------

#: Makes a dialog, a CSP refusal or a failed load name the marker after the element or script
#: that caused it (the marker of the pair whose payload it was).
_NAME_DIALOGS = """(() => {
  const after = (node) => {
    try {
      const walker = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_TEXT);
      walker.currentNode = node;
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const m = /QZX\\d+P\\d+/.exec(n.data);
        if (m) return m[0];
      }
    } catch (e) {}
    return "no marker";
  };
  // a refused inline script or handler, a resource that failed to load: said again with its marker
  document.addEventListener("securitypolicyviolation", (e) =>
    console.error(`[${after(e.target)}] refused by the CSP: ${e.violatedDirective} ${e.sample}`), true);
  window.addEventListener("error", (e) => {
    if (e.target instanceof Element) console.error(`[${after(e.target)}] failed to load <${e.target.tagName}>`);
  }, true);
  for (const name of ["alert", "confirm", "prompt"]) {
    const original = window[name];
    window[name] = function (...args) {
      const node = (window.event && window.event.target) || document.currentScript;
      return original.call(window, `[${node ? after(node) : "no marker"}] ${args[0]}`);
    };
  }
})();"""


LANES = 2  # pages loading at once, each in a tab of its own that the next page reuses


def _named(message: str, targets: list[Target]) -> str:
    return MARKER.sub(lambda m: f"{NAMES[int(m.group(2))]} in {targets[int(m.group(1))][0]} "
                                f"{json_path(targets[int(m.group(1))][1])}", message)


def settle(tabs: list[Any], inflight: dict[Any, int], quiet: float = 0.15, limit: float = 30.0) -> None:
    """Wait until every tab has loaded and none has had a request in flight for `quiet` seconds.
    After the load event these pages fetch only their favicon: Playwright's `networkidle` would
    wait 0.5 s of silence on each page."""
    for tab in tabs:
        tab.wait_for_load_state("load")
    since, end = time.monotonic(), time.monotonic() + limit
    while time.monotonic() - since < quiet:
        assert time.monotonic() < end, {tab.url: n for tab, n in inflight.items() if n}
        tabs[0].wait_for_timeout(25)  # Playwright delivers the pages' events meanwhile
        if any(inflight.values()):
            since = time.monotonic()


def test_payloads_in_the_browser(payload_builds: list[PayloadBuild], targets: list[Target], browser: Any) -> None:
    """The payload build that carries the most pairs (every payload, in every field without a
    length limit), every page opened in Chromium, two at a time (the machine's two cores): no
    dialog opens, no console error, the summary table keeps its columns."""
    from browser import serve

    payload_build = payload_builds[0]
    site = payload_build.site
    paths = sorted(p.relative_to(site).parent.as_posix() for p in site.rglob("index.html"))
    assert len(payload_build.carried) > 40 and {p for ps in payload_build.carried.values() for p in ps} == \
        set(range(len(NAMES)))
    dialogs: list[str] = []
    errors: list[str] = []
    inflight: dict[Any, int] = {}
    cells: list[int] = []
    headers = 0

    def count(tab: Any, step: int) -> None:
        inflight[tab] += step

    with serve(site.parent) as url:
        context = browser.new_context()
        context.add_init_script(_NAME_DIALOGS)
        tabs = [context.new_page() for _ in range(LANES)]
        for tab in tabs:
            inflight[tab] = 0
            tab.on("request", lambda r, tab=tab: count(tab, 1))
            tab.on("requestfinished", lambda r, tab=tab: count(tab, -1))
            tab.on("requestfailed", lambda r, tab=tab: count(tab, -1))
            tab.on("dialog", lambda d, tab=tab: (dialogs.append(f"{tab.url}: {d.message}"), d.dismiss()))
            tab.on("console", lambda m, tab=tab: errors.append(f"{tab.url}: {m.text}") if m.type == "error" else None)
            tab.on("pageerror", lambda e, tab=tab: errors.append(f"{tab.url}: {e}"))
        for step in range(0, len(paths), LANES):  # a page in each tab at a time, each tab reused
            lanes = list(zip(tabs, paths[step:step + LANES], strict=False))
            for tab, path in lanes:
                tab.goto(f"{url}{site.name}/{'' if path == '.' else path + '/'}", wait_until="commit")
            settle([tab for tab, _ in lanes], inflight)
            for tab, path in lanes:
                if path == "interventions":
                    cells = tab.eval_on_selector_all("table.allokb-summary tbody tr",
                                                     "rows => rows.map(r => r.cells.length)")
                    headers = tab.eval_on_selector_all("table.allokb-summary thead th", "cells => cells.length")
        context.close()
    # what names its pair first
    problems = sorted(dialogs + errors, key=lambda e: (MARKER.search(e) is None, e))
    assert problems == [], "\n".join(_named(e, targets) for e in problems[:40])
    assert headers == 9 and cells == [9, 9]
