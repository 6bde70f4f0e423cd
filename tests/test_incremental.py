"""`allokb serve` rebuilds in part (issue 16, item 3): after an edit, the preview rewrites only the
pages whose Markdown changed, and the site it leaves is the site a fresh `allokb build` of the
edited project writes, file by file.

The one file a build has and the preview has not is the marker `.allokb-site`
(allokb.output.write_marker), which says that a folder may be replaced by the next build: the
preview lives in a temporary folder of its own. The search index is compared by what it finds
(tests/test_search_inc.searchable): the preview keeps its full bundle and adds the edited pages
in a delta bundle (allokb.livesearch), a build writes one bundle. Both run with one SOURCE_DATE_EPOCH, as two builds
of one commit do (the build date is on the pages).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import VALID, make_site_project, tree_digest
from test_search_inc import searchable

import allokb.grade
import allokb.project
import allokb.rules.bibliography
from allokb.build import build
from allokb.incremental import InputSnapshot, SiteDelta, diff_sites, embedded_blocks
from allokb.project import LoadCache, check_project
from allokb.render import Page, RenderedSite
from allokb.search import BUNDLE
from allokb.sink import Preview, Rebuild

#: in a built site, not in the preview
BUILD_ONLY = {".allokb-site"}


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764547200")
    return make_site_project(tmp_path / "project")


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} in {path}"
    path.write_text(text.replace(old, new))


def _differences(preview: Path, fresh: Path) -> dict[str, list[str]]:
    a, b = ({k: v for k, v in tree_digest(site).items() if not k.startswith(f"{BUNDLE}/")} for site in (preview, fresh))
    found, fresh_found = searchable(preview), searchable(fresh)
    return {"only in the preview": sorted(set(a) - set(b)), "only in the fresh build": sorted(set(b) - set(a) - BUILD_ONLY),
            "different": sorted(k for k in a if k in b and a[k] != b[k]),
            "found differently": sorted(url for url in {*found, *fresh_found} if found.get(url) != fresh_found.get(url))}


NO_DIFFERENCE: dict[str, list[str]] = {"only in the preview": [], "only in the fresh build": [], "different": [],
                                       "found differently": []}

STEP_THREE = """id: step-three
name: "Step three"
kind: enzymatic-step
summary: "A third conversion."
step:
  substrate: "Product"
  product: "Later product"
  enzyme: "Enzyme C"
upstream: [step-two]
claims:
  - id: third-step
    statement: "Enzyme C makes the later product."
    outcome: mechanism
    direction: not-applicable
    citations:
      - ref: smith2020example
        support: unchecked
    population: any
"""


def _claim_text(root: Path) -> None:
    _replace(root / "content/interventions/example-hormone.yaml", '"The example dose tripled serum levels."',
             '"The example dose tripled serum levels in fictional adults."')


def _title(root: Path) -> None:  # shown on the mechanism's page, its backlinks, the indexes
    _replace(root / "content/mechanisms/step-two.yaml", 'name: "Step two"', 'name: "Step two, renamed"')


def _intervention_name(root: Path) -> None:  # also on the home page (its summary block)
    _replace(root / "content/interventions/example-avoid.yaml", 'name: "Avoid example blocker"',
             'name: "Avoid the example blocker"')


def _new_entry(root: Path) -> None:
    (root / "content/mechanisms/step-three.yaml").write_text(STEP_THREE)


def _deleted_entry(root: Path) -> None:
    (root / "content/mechanisms/step-three.yaml").unlink()


def _bib_entry(root: Path) -> None:
    _replace(root / "references.bib", "title = {An example study of a made-up steroid}",
             "title = {An example study of a steroid that was made up}")


def _citation_record(root: Path) -> None:
    _replace(root / "content/citations/smith2020example.yaml", 'population: "40 fictional adults"',
             'population: "40 fictional adults, all of them"')


EDITS: list[tuple[str, Callable[[Path], None]]] = [
    ("a claim's text", _claim_text), ("a title in backlinks and indexes", _title),
    ("an intervention's name, on the home page", _intervention_name), ("a new entry", _new_entry),
    ("a deleted entry", _deleted_entry), ("a bib entry", _bib_entry), ("a citation record", _citation_record)]


def _comment(root: Path) -> None:  # the YAML's data does not change
    path = root / "content/interventions/example-hormone.yaml"
    path.write_text(path.read_text() + "\n# a comment\n")


BROKEN = "content/mechanisms/step-one.yaml"
ENTRY = "interventions/example-hormone/index.html"


def _break(root: Path) -> None:
    (root / BROKEN).write_text("id: step-one\nname: [\n")


def _about(root: Path) -> None:  # a hand-written page: MkDocs reads it itself
    about = root / "content/pages/about.md"
    about.write_text(about.read_text() + "\nOne more sentence.\n")


@dataclass(frozen=True)
class Step:
    """One edit of the preview's project and what the rebuild after it did; `differences` from a
    fresh `build` of the edited project (None: not compared); `home` the home page it left;
    `entry_kept`: whether ENTRY is byte for byte what it was before the edit."""

    what: str
    done: Rebuild
    differences: dict[str, list[str]] | None
    home: str
    entry_kept: bool


@pytest.fixture(scope="module")
def steps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Step]:
    """One preview, edited step after step (each test below reads the steps it is about): the
    seven EDITS, an edit that breaks the check and its fix, one that changes nothing, and one of
    a page MkDocs reads itself. After each edit that changes the site, a fresh `build` of the
    edited project is compared with the preview, file by file: a page a rebuild left stale shows
    at its own step, not only at the end."""
    tmp = tmp_path_factory.mktemp("incremental")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", "1764547200")
        root = make_site_project(tmp / "project")
        site = tmp / "preview"
        preview = Preview(root, site, serving=False)
        first = preview.rebuild()
        out = {"first build": Step("first build", first, None, "", True)}
        good = (root / BROKEN).read_text()
        # compare: with a fresh build of the edited project ("fresh"), with the last fresh build
        # when the project is byte for byte what that build read ("last": the fix restores the
        # broken file), or not at all ("")
        plan: list[tuple[str, Callable[[Path], None], str]] = [(what, edit, "fresh") for what, edit in EDITS]
        plan += [("a broken file", _break, ""),
                 ("the broken file fixed", lambda root: (root / BROKEN).write_text(good), "last"),
                 ("a comment", _comment, ""), ("a hand-written page", _about, "fresh")]
        last: tuple[Path, dict[str, str]] | None = None
        for i, (what, edit, compare) in enumerate(plan):
            entry = (site / ENTRY).read_bytes()
            edit(root)
            done = preview.rebuild()
            differences = None
            if compare == "fresh":
                if last is not None:
                    shutil.rmtree(last[0])
                fresh = tmp / f"fresh-{i}"
                assert build(root, fresh).stage == "done", what
                last = (fresh, tree_digest(root))
            if compare:
                assert last is not None and tree_digest(root) == last[1], what
                differences = _differences(site, last[0])
            out[what] = Step(what, done, differences, (site / "index.html").read_text(),
                             (site / ENTRY).read_bytes() == entry)
    return out


def test_each_partial_rebuild_leaves_the_site_a_fresh_build_writes(steps: dict[str, Step]) -> None:
    assert steps["first build"].done.kind == "full"
    for what, _ in EDITS:
        done = steps[what].done
        assert (what, done.kind, done.reason, done.problems) == (what, "partial", "", ())
        assert (what, steps[what].differences) == (what, NO_DIFFERENCE)


def test_an_edit_rewrites_the_pages_that_show_what_it_changed_and_no_other(steps: dict[str, Step]) -> None:
    # the first three steps, in this order, after the first build
    assert [what for what in steps][1:4] == ["a claim's text", "a title in backlinks and indexes",
                                             "an intervention's name, on the home page"]
    # the claim is on its entry's page and on its source's page ("cited by")
    assert steps["a claim's text"].done.written == ("data/interventions/example-hormone.json", "data/kb.json",
                                                    "interventions/example-hormone/index.html",
                                                    "references/smith2020example/index.html", "pagefind/")
    # a mechanism's name: its page, the pages that link it, the indexes, the export
    assert steps["a title in backlinks and indexes"].done.written == (
        "data/kb.json", "data/mechanisms/step-two.json", "interventions/example-hormone/index.html",
        "interventions/index.html", "mechanisms/index.html", "mechanisms/step-one/index.html",
        "mechanisms/step-two/index.html", "references/smith2020example/index.html", "pagefind/")
    # and an intervention's, also in the home page's summary
    assert steps["an intervention's name, on the home page"].done.written == (
        "data/interventions.csv", "data/interventions/example-avoid.json", "data/kb.json", "feed.xml", "index.html",
        "interventions/example-avoid/index.html",
        "interventions/example-hormone/index.html", "interventions/index.html", "mechanisms/index.html",
        "mechanisms/step-one/index.html", "pagefind/")


def test_an_edit_that_changes_nothing_rewrites_nothing(steps: dict[str, Step]) -> None:
    done = steps["a comment"].done
    assert (done.kind, done.written) == ("unchanged", ())


def test_an_edit_that_breaks_the_check_shows_it_and_keeps_the_last_good_site(steps: dict[str, Step]) -> None:
    broken = steps["a broken file"]
    assert (broken.done.kind, broken.done.written) == ("errors", ("index.html",))
    assert "The knowledge base has errors" in broken.home
    assert "content/mechanisms/step-one.yaml:3:1: error[KB102]" in broken.home
    assert broken.entry_kept
    fixed = steps["the broken file fixed"]
    assert (fixed.done.kind, fixed.done.written) == ("partial", ("index.html", "pagefind/"))
    assert fixed.differences == NO_DIFFERENCE


def test_an_edit_of_what_mkdocs_reads_itself_rebuilds_everything(steps: dict[str, Step]) -> None:
    about = steps["a hand-written page"]
    assert (about.done.kind, about.done.reason) == ("full", "mkdocs.yml, a hand-written page or the theme override changed")
    assert about.differences == NO_DIFFERENCE


def test_a_check_with_the_load_cache_loads_the_edited_file_only_and_finds_what_a_fresh_check_finds(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = LoadCache()
    check_project(project, cache)
    loaded: list[str] = []
    real = allokb.project.process_file

    def counting(root: Path | str, kind: str, name: str) -> allokb.project.FileOutcome:
        loaded.append(f"{kind}/{name}")
        return real(root, kind, name)

    monkeypatch.setattr(allokb.project, "process_file", counting)
    _replace(project / "content/mechanisms/step-two.yaml", "kind: enzymatic-step", "kind: no-such-kind")
    _bib_entry(project)
    cached = check_project(project, cache)
    assert loaded == ["mechanisms/step-two.yaml"]
    monkeypatch.setattr(allokb.project, "process_file", real)
    fresh = check_project(project)
    assert cached.failed() and cached.diagnostics == fresh.diagnostics
    assert cached.kb.references == fresh.kb.references



def test_a_check_with_the_load_cache_grades_and_judges_again_what_an_edit_changed_as_a_fresh_check_does(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check's memos (grades, and the rules of a single bib entry: `LoadCache`) see an edit of
    one file that changes what another file's record is judged or graded by: a bib entry loses its
    journal (KB451), then its citation record says the field was searched for and is missing
    (KB451 excused: a finding of the entry that only the other file changes), then the citation
    record's design and size change (the grade of the intervention citing it changes)."""
    shutil.copy(VALID / "content" / "rubric.yaml", project / "content" / "rubric.yaml")
    cache = LoadCache()
    first = check_project(project, cache)
    graded: list[str] = []
    judged: list[str] = []
    grade, key_rule = allokb.grade.grade_intervention, allokb.rules.bibliography.check_key

    def grading(rubric: Any, kb: Any, item: Any) -> Any:
        graded.append(item.id)
        return grade(rubric, kb, item)

    def judging(ref: Any) -> Any:
        judged.append(ref.key)
        return key_rule(ref)

    monkeypatch.setattr(allokb.grade, "grade_intervention", grading)
    monkeypatch.setattr(allokb.rules.bibliography, "check_key", judging)
    citation = project / "content/citations/smith2020example.yaml"
    steps: list[tuple[Callable[[], None], set[str], set[str], set[str]]] = [
        # (edit, interventions graded again, bib entries judged again, KB451 found)
        (lambda: _replace(project / "references.bib", "  journal = {Journal of Test Fixtures},\n", ""),
         set(), {"smith2020example", "examplewiki2024page"}, {"smith2020example"}),
        (lambda: _replace(citation, "  status: verified\n", "  status: verified\n  searched:\n    - \"PubMed: the "
                          "exact title, no journal on the record\"\n  missing: [journal]\n"),
         {"example-hormone"}, {"smith2020example"}, set()),
        (lambda: (_replace(citation, "design: rct", "design: case-report"), _replace(citation, "sample_size: 40",
                                                                                    "sample_size: 4")),
         {"example-hormone"}, {"smith2020example"}, set()),
    ]
    grades = first.grades
    for edit, regraded, rejudged, unexcused in steps:
        graded.clear()
        judged.clear()
        edit()
        cached = check_project(project, cache)
        assert (set(graded), set(judged)) == (regraded, rejudged)
        fresh = check_project(project)
        assert cached.diagnostics == fresh.diagnostics
        assert {d.location.file for d in cached.diagnostics if d.code == "KB451"} == \
            {"references.bib" for _ in unexcused}
        assert cached.grades == fresh.grades
    assert grades["example-hormone"] != cached.grades["example-hormone"]  # the last edit regraded it
    assert grades["example-avoid"] is cached.grades["example-avoid"]  # and kept the other

# --- the comparison of two renders ------------------------------------------------------------

def _site(pages: dict[str, str], files: dict[str, str] | None = None, summary: str = "s",
          abbreviations: str = "") -> RenderedSite:
    return RenderedSite(tuple(Page(k, v) for k, v in sorted(pages.items())), files or {}, {"summary": summary},
                        abbreviations)


def test_diff_sites_names_changed_added_and_removed_pages_and_files() -> None:
    old = _site({"a.md": "A", "b.md": "B", "c.md": "C"}, {"data/kb.json": "1", "data/x.csv": "x"})
    new = _site({"a.md": "A", "b.md": "B2", "d.md": "D"}, {"data/kb.json": "2", "data/y.csv": "y"})
    assert diff_sites(old, new, {}) == SiteDelta(changed=("b.md",), added=("d.md",), removed=("c.md",),
                                                 written=("data/kb.json", "data/y.csv"), deleted=("data/x.csv",))


def test_a_changed_block_rewrites_the_hand_written_pages_that_embed_it() -> None:
    embeds = embedded_blocks({"index.md": "# Home\n\n<!-- allokb:summary -->\n", "about.md": "# About\n"},
                             ["summary"])
    assert embeds == {"index.md": frozenset({"summary"})}
    delta = diff_sites(_site({"a.md": "A"}), _site({"a.md": "A"}, summary="t"), embeds)
    assert delta == SiteDelta(changed=("index.md",))


def test_changed_abbreviations_need_a_full_rebuild() -> None:
    delta = diff_sites(_site({"a.md": "A"}), _site({"a.md": "A"}, abbreviations="*[X]: x"), {})
    assert delta == SiteDelta(full="the abbreviations, appended to every page, changed")


def test_the_snapshot_of_mkdocs_inputs_sees_an_edit_a_new_file_and_a_removed_one(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("a")
    (tmp_path / "mkdocs.yml").write_text("site_name: x\n")
    paths = [tmp_path / "mkdocs.yml", tmp_path / "docs"]
    first = InputSnapshot.take(paths)
    assert not first.needs_full(InputSnapshot.take(paths))
    (tmp_path / "docs" / "b.md").write_text("b")
    second = InputSnapshot.take(paths)
    assert first.needs_full(second)
    (tmp_path / "docs" / "b.md").unlink()
    (tmp_path / "mkdocs.yml").write_text("site_name: a longer name\n")
    assert second.needs_full(InputSnapshot.take(paths))
