"""A render after an edit that reuses the last one (allokb.render.deps) is a full render, byte for byte.

For a sample of edits, each of one file as `allokb serve` sees them one after the other (a
free-text field of each kind of field of each record kind, a support verdict, a link added or
removed, a bib entry, a source text), in the fixture project and in the repository's own
content: the render that starts from the previous one (`previous=`) holds the same pages, files,
blocks and abbreviations as a render from nothing, and renders again only the entries' pages
the edit can change.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import REPO, VALID, make_site_project

from allokb import stages
from allokb.project import LoadCache, check_project
from allokb.render import RenderedSite
from allokb.render import pages as render_pages
from allokb.render.exports import KB_SCHEMA_VERSION, entry_texts, kb_json, kb_json_of, nested
from allokb.site import Settings

SETTINGS = Settings("Atlas", "https://example.org/atlas/")
#: a double-quoted free-text value: `name: "…"`, `  - text: "…"`
TEXT_FIELD = re.compile(r'^(?P<lead>\s*(?:- )?)(?P<field>[a-z_]+): "(?P<value>[^"\\]+)"$', re.M)
#: fields whose values the check reads as ids, vocabulary or dates: an edit of them is not free text
NOT_TEXT = {"id", "ref", "support", "direction", "population", "outcome", "route", "kind", "category", "relation",
            "prescription_status", "supervision", "intervention", "mechanism", "date", "subjects", "rating",
            "refs", "design", "status", "checked_on", "judgement", "retraction", "key", "quote", "medicine",
            "section", "basis", "url", "label", "approval", "agency", "year", "value", "cited_as"}


def _parts(rendered: RenderedSite) -> tuple[dict[str, str], dict[str, str], dict[str, str], str]:
    assert rendered.diagnostics == ()
    return {p.src_uri: p.markdown for p in rendered.pages}, rendered.files, rendered.blocks, rendered.abbreviations


def text_edits(root: Path, per_kind: int) -> list[tuple[str, Callable[[], None]]]:
    """One edit per free-text field name of each record kind (at most `per_kind` a kind), each
    appending a word to the first such value in the kind's files, by file name."""
    out: list[tuple[str, Callable[[], None]]] = []
    for folder in ("interventions", "mechanisms", "citations"):
        seen: list[str] = []
        for path in sorted((root / "content" / folder).glob("*.yaml")):
            for match in TEXT_FIELD.finditer(path.read_text()):
                name = match["field"]
                if name in NOT_TEXT or name in seen or len(seen) >= per_kind:
                    continue
                seen.append(name)
                out.append((f"{folder}/{path.name}: {name}", _append(path, match.start("value"), match.end("value"))))
    return out


def _append(path: Path, start: int, end: int) -> Callable[[], None]:
    def run() -> None:
        text = path.read_text()
        path.write_text(text[:end] + " (edited)" + text[end:])
    return run


def _sub(path: Path, pattern: str, new: str) -> Callable[[], None]:
    def run() -> None:
        text = path.read_text()
        assert re.search(pattern, text, re.M), (pattern, path)
        path.write_text(re.sub(pattern, new, text, count=1, flags=re.M))
    return run


def renders(root: Path, edits: list[tuple[str, Callable[[], None]]]) -> Iterator[tuple[str, RenderedSite, RenderedSite]]:
    """After each edit that the check passes (the others are undone): the render from the last
    one and a render from nothing, as a serve would run them one edit after another."""
    cache = LoadCache()
    previous, _ = stages.render(root, check_project(root, cache), SETTINGS)
    for what, edit in edits:
        files = {p: p.read_bytes() for p in [*root.glob("content/**/*"), root / "references.bib"] if p.is_file()}
        edit()
        result = check_project(root, cache)
        if result.failed():
            for path, data in files.items():
                path.write_bytes(data)
            continue
        partial, _ = stages.render(root, result, SETTINGS, previous)
        full, _ = stages.render(root, check_project(root), SETTINGS)
        yield what, partial, full
        previous = partial


@pytest.fixture()
def dated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764547200")


FIXTURE_EDITS: list[tuple[str, str, str]] = [
    # (file, pattern, replacement): edits that are not of free text
    ("content/interventions/example-hormone.yaml", r"^      support: partial$", "      support: supported"),
    ("content/interventions/example-hormone.yaml", r"^        support: supported$", "        support: partial"),
    ("content/interventions/example-hormone.yaml", r"^mechanisms: \[step-one, step-two\]$", "mechanisms: [step-two]"),
    ("content/interventions/example-hormone.yaml", r"^related: \[example-avoid\]$", "related: []"),
    ("content/mechanisms/step-one.yaml", r"^name: .*$", 'name: "Step one, renamed"'),
    ("references.bib", r"title = \{An example study of a made-up steroid\}", "title = {An example study, edited}"),
    ("content/sources/smith2020example.md", r"\Z", "\nOne more sentence of the source.\n"),
]


def test_a_partial_render_equals_a_full_one_after_each_edit_of_the_fixture(tmp_path: Path, dated: None) -> None:
    root = make_site_project(tmp_path / "project")
    # with the fixture's rubric: the grades, the evidence CSV and the matrices on the pages as well
    shutil.copy(VALID / "content" / "rubric.yaml", root / "content" / "rubric.yaml")
    edits = text_edits(root, per_kind=40)
    edits += [(f"{file}: {pattern}", _sub(root / file, pattern, new)) for file, pattern, new in FIXTURE_EDITS]
    done = []
    for what, partial, full in renders(root, edits):
        assert (what, _parts(partial)) == (what, _parts(full))
        done.append(what)
    # every structural edit passed the check (a free-text one may not: a quote must stay in its source)
    assert [w for w in done if w.endswith(tuple(p for _, p, _ in FIXTURE_EDITS))] == \
        [f"{file}: {pattern}" for file, pattern, _ in FIXTURE_EDITS]
    assert len(done) >= 15, done


def test_a_partial_render_equals_a_full_one_after_edits_of_the_repository_content(tmp_path: Path,
                                                                                dated: None) -> None:
    root = make_site_project(tmp_path / "project", REPO)
    shutil.copy(REPO / "content" / "rubric.yaml", root / "content" / "rubric.yaml")
    shutil.copy(REPO / "content" / "link-hosts.yaml", root / "content" / "link-hosts.yaml")
    shutil.copy(REPO / "urls.txt", root / "urls.txt")
    edits = text_edits(root, per_kind=4)
    done = []
    for what, partial, full in renders(root, edits):
        assert (what, _parts(partial)) == (what, _parts(full))
        done.append(what)
    assert len(done) >= 8, done


def test_an_edit_renders_again_only_the_pages_of_the_record_and_its_neighbours(tmp_path: Path, dated: None,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_site_project(tmp_path / "project")
    cache = LoadCache()
    previous, _ = stages.render(root, check_project(root, cache), SETTINGS)
    rendered: list[str] = []
    real = render_pages.page_of

    def counting(ctx: render_pages.PageContext, kind: object, record: object) -> str:
        rendered.append(getattr(record, "id", None) or record.key)  # type: ignore[attr-defined]
        return real(ctx, kind, record)  # type: ignore[arg-type]

    monkeypatch.setattr("allokb.render.page_of", counting)
    _sub(root / "content/mechanisms/step-two.yaml", r"^name: .*$", 'name: "Step two, renamed"')()
    partial, _ = stages.render(root, check_project(root, cache), SETTINGS, previous)
    # the mechanism, the intervention acting through it, the mechanism downstream of it, its source
    assert sorted(rendered) == ["example-hormone", "smith2020example", "step-one", "step-two"]
    rendered.clear()
    _sub(root / "references.bib", r"title = \{An example study of a made-up steroid\}", "title = {Edited}")()
    stages.render(root, check_project(root, cache), SETTINGS, partial)
    # the reference and the records citing it
    assert sorted(rendered) == ["example-hormone", "smith2020example", "step-two"]


def test_a_template_edit_renders_everything_again(tmp_path: Path, dated: None) -> None:
    root = make_site_project(tmp_path / "project")
    cache = LoadCache()
    previous, _ = stages.render(root, check_project(root, cache), SETTINGS)
    template = root / "site_templates" / "mechanism.md.j2"
    template.write_text(template.read_text() + "\nA line added to every mechanism's page.\n")
    os.utime(template, ns=(1, 1))
    partial, _ = stages.render(root, check_project(root, cache), SETTINGS, previous)
    assert partial.pages == stages.render(root, check_project(root), SETTINGS)[0].pages
    assert "A line added to every mechanism's page." in dict((p.src_uri, p.markdown) for p in partial.pages)[
        "mechanisms/step-one.md"]


def test_kb_json_put_together_from_each_record_is_the_one_serializer_writes(repo_check: object) -> None:
    from allokb.grade import matrix_data

    result = repo_check
    grades = {k: matrix_data(result.rubric, g) for k, g in result.grades.items()}  # type: ignore[attr-defined]
    kb = result.kb  # type: ignore[attr-defined]
    url = "https://example.org/atlas/"
    assert kb_json_of(url, {k: nested(t) for k, t in entry_texts(kb, url, grades).items()}) == kb_json(kb, url, grades)
    empty = kb_json_of(url, {})
    assert json.loads(empty) == {"interventions": [], "mechanisms": [], "references": [],
                                 "schema_version": KB_SCHEMA_VERSION, "site": url}
    assert empty == json.dumps(json.loads(empty), ensure_ascii=False, sort_keys=True, indent=1) + "\n"
