"""Per-entry data and reader-written changes (issue 15, item 9).

Each entry with a page has its own data file, /data/<section>/<id>.json, exactly its object in
kb.json, described by a published schema. An entry's page history and the Atom feed say what
changed for a reader: the entry's own `changes`, or "Updated on <date>" per commit; a commit's
subject (the committer's words) reaches neither. Bad `changes` are located errors (KB530–KB534;
their case folders are tests/cases/changes-*), and maintainers' words in a summary are KB485.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import referencing
import referencing.jsonschema

from allokb.cli import main
from allokb.grade import matrix_data
from allokb.model import ChangeNote
from allokb.project import check_project
from allokb.render import render_site
from allokb.render.views import Change
from allokb.rules.changes import check_change_future
from allokb.schema import ENTRY_DATA_SCHEMAS
from allokb.site import git_log
from conftest import REPO, VALID, make_project
from test_golden import SITE

HORMONE = "content/interventions/example-hormone.yaml"
STEP_TWO = "content/mechanisms/step-two.yaml"
SUBJECT = "Refactor the frobnicator (internal) and bump the cache"  # a maintainer's commit subject
SHA_A, SHA_B = "a" * 40, "b" * 40


def _render(root: Path, site: Any = SITE) -> dict[str, str]:
    result = check_project(root)
    assert not result.failed(), [d.message for d in result.diagnostics]
    grades = {k: matrix_data(result.rubric, g) for k, g in result.grades.items()}
    rendered = render_site(REPO, result.kb, site, grades, result.rubric)
    return {**rendered.files, **{p.src_uri: p.markdown for p in rendered.pages}}


@pytest.fixture(scope="module")
def exported() -> dict[str, str]:
    return _render(VALID)


# --- per-entry data -------------------------------------------------------------------------------

def test_one_data_file_per_entry_with_a_page(exported: dict[str, str]) -> None:
    assert sorted(p for p in exported if re.fullmatch(r"data/[a-z]+/[^/]+\.json", p)) == [
        "data/interventions/example-avoid.json", "data/interventions/example-hormone.json",
        "data/mechanisms/step-one.json", "data/mechanisms/step-two.json",
        "data/references/examplewiki2024page.json", "data/references/smith2020example.json"]


def test_each_data_file_is_its_entry_in_kb_json(exported: dict[str, str]) -> None:
    kb = json.loads(exported["data/kb.json"])
    seen = 0
    for section, field in (("interventions", "id"), ("mechanisms", "id"), ("references", "key")):
        for record in kb[section]:
            data = json.loads(exported[f"data/{section}/{record[field]}.json"])
            assert data == record
            assert data["url"] == f"https://allo-atlas.github.io/atlas/{section}/{record[field]}/"
            seen += 1
    assert seen == 6


def _published_validator(exported: dict[str, str], name: str) -> jsonschema.Draft202012Validator:
    """A validator for a published schema whose `$ref`s resolve to the other published schemas
    (by their `$id` under the site URL), as a consumer of the site would resolve them."""
    schemas = [json.loads(text) for path, text in exported.items() if path.startswith("schema/")]
    registry = referencing.Registry().with_resources(
        (s["$id"], referencing.Resource.from_contents(s, default_specification=referencing.jsonschema.DRAFT202012))
        for s in schemas)
    schema = json.loads(exported[f"schema/{name}.schema.json"])
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, registry=registry)


@pytest.mark.parametrize("section", sorted(ENTRY_DATA_SCHEMAS))
def test_each_data_file_follows_its_published_schema(exported: dict[str, str], section: str) -> None:
    validator = _published_validator(exported, ENTRY_DATA_SCHEMAS[section])
    files = [p for p in exported if p.startswith(f"data/{section}/")]
    assert len(files) == 2
    for path in files:
        assert [e.message for e in validator.iter_errors(json.loads(exported[path]))] == [], path


def test_a_key_outside_the_schema_fails_the_entry_schema(exported: dict[str, str]) -> None:
    validator = _published_validator(exported, "intervention-data")
    data = json.loads(exported["data/interventions/example-hormone.json"])
    data["computed_grade"] = "high"
    assert [e.message for e in validator.iter_errors(data)] == [
        "Additional properties are not allowed ('computed_grade' was unexpected)"]
    del data["computed_grade"], data["url"]
    assert [e.message for e in validator.iter_errors(data)] == ["'url' is a required property"]


def test_entry_pages_link_their_data(exported: dict[str, str]) -> None:
    for src, path in (("interventions/example-hormone.md", "data/interventions/example-hormone.json"),
                      ("mechanisms/step-two.md", "data/mechanisms/step-two.json"),
                      ("references/smith2020example.md", "data/references/smith2020example.json")):
        assert (f'<p class="allokb-cite-url">This entry as JSON: <a href="../../{path}">'
                f'https://allo-atlas.github.io/atlas/{path}</a></p>') in exported[src], src
    assert "This entry as JSON" not in exported["interventions/index.md"]


# --- reader-written changes: the page history and the feed ----------------------------------------

LOG = '''changes:
  - date: "2026-11-20"
    summary: "Named the enzyme of this step."
  - date: "2026-11-01"
    summary: "Added this entry."
'''


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], Any]:
    """The fixture with a `changes` log on step-two, and two commits whose subject is a
    maintainer's: one changed step-two (which has a log), one example-hormone (which has none)."""
    root = make_project(tmp_path_factory.mktemp("logged") / "kb")
    (root / STEP_TWO).write_text((root / STEP_TWO).read_text() + LOG)
    site = dataclasses.replace(SITE, changes=(Change(SHA_B, "2026-11-21T09:00:00+00:00", SUBJECT, (HORMONE,)),
                                              Change(SHA_A, "2026-11-20T10:00:00+00:00", SUBJECT, (STEP_TWO,))))
    return _render(root, site), site


def _history(markdown: str) -> str:
    return markdown[markdown.index("## History"):markdown.index("## Cite this page")]


def test_the_history_shows_the_entrys_own_changes(logged: tuple[dict[str, str], Any]) -> None:
    assert _history(logged[0]["mechanisms/step-two.md"]) == (
        "## History { #history data-search-exclude }\n\n"
        "Changes to this entry, newest first ([all changes as a feed](../feed.xml)):\n\n"
        "- 2026-11-20: Named the enzyme of this step.\n- 2026-11-01: Added this entry.\n\n")


def test_without_changes_the_history_says_only_when_it_was_updated(logged: tuple[dict[str, str], Any]) -> None:
    assert _history(logged[0]["interventions/example-hormone.md"]) == (
        "## History { #history data-search-exclude }\n\n"
        "Changes to this entry, newest first ([all changes as a feed](../feed.xml)):\n\n"
        f"- [Updated on 2026-11-21](https://github.com/allo-atlas/atlas/commit/{SHA_B})\n\n")


def test_no_commit_subject_on_a_page_or_in_the_feed(logged: tuple[dict[str, str], Any]) -> None:
    files, _ = logged
    assert [path for path, text in files.items() if "frobnicator" in text] == []


def test_the_feed_shows_the_summaries(logged: tuple[dict[str, str], Any]) -> None:
    import feedparser

    feed = feedparser.parse(logged[0]["feed.xml"].encode("utf-8"))
    assert not feed.bozo
    assert [(e.id, e.title, e.summary, e.link) for e in feed.entries] == [
        (f"tag:allo-atlas.github.io,2026-11-21:{SHA_B}/{HORMONE}", "Example hormone: updated", "Updated on 2026-11-21.",
         "https://allo-atlas.github.io/atlas/interventions/example-hormone/"),
        ("tag:allo-atlas.github.io,2026-11-20:mechanisms/step-two/changes/2", "Step two: Named the enzyme of this step.",
         "Named the enzyme of this step.", "https://allo-atlas.github.io/atlas/mechanisms/step-two/"),
        ("tag:allo-atlas.github.io,2026-11-02:interventions/example-avoid/changes/1",
         "Avoid example blocker: Added a bottom line.", "Added a bottom line.",
         "https://allo-atlas.github.io/atlas/interventions/example-avoid/"),
        ("tag:allo-atlas.github.io,2026-11-01:mechanisms/step-two/changes/1", "Step two: Added this entry.",
         "Added this entry.", "https://allo-atlas.github.io/atlas/mechanisms/step-two/")]
    assert feed.feed.updated == "2026-11-21T09:00:00+00:00"


def test_kb_json_carries_the_changes(logged: tuple[dict[str, str], Any]) -> None:
    data = json.loads(logged[0]["data/mechanisms/step-two.json"])
    assert data["changes"] == [{"date": "2026-11-20", "summary": "Named the enzyme of this step."},
                               {"date": "2026-11-01", "summary": "Added this entry."}]
    assert json.loads(logged[0]["data/interventions/example-hormone.json"])["changes"] == []


def test_the_repository_site_shows_no_real_commit_subject(repo_site: Path) -> None:
    # Subjects of real commits that changed entries, of characters no page escapes (so that a
    # subject on a page would be found as it is written).
    subjects = sorted({c.subject for c in git_log(REPO) if any(f.startswith("content/interventions/") for f in c.files)
                       and re.fullmatch(r"[A-Za-z0-9 ,;:()α-]{30,}", c.subject)})
    assert "Vocabularies as data: outcomes, populations, relations to ALLO; every claim names an outcome and a " \
           "population id" in subjects
    texts = [p.read_text(encoding="utf-8") for p in [*repo_site.rglob("*.html"), repo_site / "feed.xml"]]
    assert [s for s in subjects if any(s in text for text in texts)] == []
    # and the histories say what changed, in the entry's own words
    page = (repo_site / "interventions" / "brexanolone" / "index.html").read_text(encoding="utf-8")
    assert "2026-12-01: Added the phase 2 trial and the two phase 3 trials behind the approval" in page


# --- bad `changes` --------------------------------------------------------------------------------

def _check(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    status = main(["check", str(root)])
    return status, capsys.readouterr().out.splitlines()


def test_a_malformed_date_is_a_located_schema_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path / "kb")
    (root / STEP_TWO).write_text((root / STEP_TWO).read_text() + 'changes:\n  - date: "20 Nov 2026"\n'
                                 '    summary: "Named the enzyme."\n')
    assert _check(root, capsys) == (1, [
        f"{STEP_TWO}:20:11: error[KB205] $.changes[0].date: the text `20 Nov 2026` is not a date written YYYY-MM-DD",
        "check failed: 1 error, 0 warnings in 8 files"])


def test_maintainers_words_in_a_summary_are_flagged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path / "kb")
    (root / STEP_TWO).write_text((root / STEP_TWO).read_text() + 'changes:\n  - date: "2026-11-20"\n'
                                 '    summary: "We fixed the seed quote of smith2020example."\n')
    assert _check(root, capsys) == (0, [
        f"{STEP_TWO}:21:14: warning[KB485] $.changes[0].summary: maintainers' words on a reader's page: bib key "
        "`smith2020example`, `seed`, first person `We` (write it for a reader (\"the source post\", \"Andréen "
        "2006\"); move how it was checked into `curator_note`)", "check passed: 0 errors, 1 warning in 8 files"])


def test_the_future_is_after_today() -> None:
    kb = check_project(VALID).kb
    mech = kb.mechanisms["step-two"]
    notes = (ChangeNote("2026-12-02", "Later.", mech.location, mech.location),
             ChangeNote("2026-12-01", "Today.", mech.location, mech.location))
    kb = dataclasses.replace(kb, mechanisms={**kb.mechanisms, "step-two": dataclasses.replace(mech, changes=notes)})
    found = [d.message for d in check_change_future(kb, dt.date(2026, 12, 1))]
    assert found == ["the change is dated 2026-12-02, a day that has not come yet"]
