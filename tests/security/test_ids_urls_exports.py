"""Issue 11, items 7, 9 (exports), 10 and 11: ids and URLs, exports, determinism, fast error paths.

Ids that would replace a section's own page are refused (KB310) by `check` and by `new`; former
ids redirect to exactly one entry (KB311); patterns never accept a trailing newline; a site keeps
its URL manifest (KB603) and `urls --write` keeps its comments; a hand-written page that a
generated one would replace is an error (KB604); CSV cells never start a formula; the feed is XML
whatever the input; "cited by" lists have a total order; "did you mean" stays near-linear.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import fastjsonschema
import jsonschema
import pytest

from allokb.cli import main
from allokb.diagnostics import Suggester, did_you_mean
from allokb.graph import build_graph
from allokb.model import ChangeNote
from allokb.project import check_project, process_file
from allokb.render import render_site
from allokb.render.exports import atom_feed, interventions_csv, kb_json
from allokb.render.views import Change, SiteInfo
from allokb.schema import SCHEMA_NAMES, load_schema
from allokb.urls import GENERATED_PAGES, MKDOCS_FILES, RESERVED_IDS, plan_urls, site_path
from conftest import REPO, VALID, make_project, make_site_project
from test_reproducible import TWICE

SITE = SiteInfo(site_name="Allopregnanolone Evidence Atlas", site_url="https://allo-atlas.github.io/atlas/",
                repo_url=None, branch="main", updated={}, build_date="2026-11-27")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out = capsys.readouterr()
    return status, out.out, out.err


def check_lines(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    status, out, _ = run(capsys, "check", str(root))
    return status, out.splitlines()


# --- 7. Ids: reserved ids, `allokb new` ----------------------------------------------------------

def test_an_entry_with_id_index_is_refused(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Before: accepted, and its page replaced the summary table at /interventions/.
    folder = project / "content" / "interventions"
    (folder / "index.yaml").write_text((folder / "example-avoid.yaml").read_text()
                                       .replace("id: example-avoid", "id: index"))
    assert check_lines(project, capsys) == (1, [
        "content/interventions/index.yaml:1:5: error[KB310] $.id: `index` is reserved: its page would replace "
        "`/interventions/`, the page of the section itself (choose another id)",
        "check failed: 1 error, 0 warnings in 9 files"])


def test_reserved_ids_cover_every_page_a_section_generates(tmp_path: Path) -> None:
    """RESERVED_IDS must name every page a section generates besides the entries' own pages,
    and urls.py's lists must be what render_site really writes."""
    root = make_site_project(tmp_path / "project")
    result = check_project(root)
    rendered = render_site(root, result.kb, SITE)
    entries = {"interventions": result.kb.interventions, "mechanisms": result.kb.mechanisms,
               "references": result.kb.references}
    for page in rendered.pages:
        section, _, name = page.src_uri.rpartition("/")
        if section in entries:
            stem = name.removesuffix(".md")
            assert stem in entries[section] or stem in RESERVED_IDS, page.src_uri
    written = {site_path(p.src_uri) for p in rendered.pages} | set(rendered.files)
    plan = plan_urls(root, result.kb)
    assert written == set(plan.generated) - set(MKDOCS_FILES)
    assert set(GENERATED_PAGES) < {p.src_uri for p in rendered.pages}


NEW_IDS = {
    "123": None,  # written quoted, so that it stays text
    "no": None,  # a YAML 1.1 boolean unless quoted
    "a" * 80: None,
    "a" * 81: "`" + "a" * 81 + "` is 81 characters; the limit is 80",
    "index": "`index` is reserved: its page would replace `/{section}/`, the page of the section itself",
    "Bad_Id": "`Bad_Id` is not a lower-case kebab-case id such as `oral-progesterone`",
    "a--b": "`a--b` is not a lower-case kebab-case id such as `oral-progesterone`",
    "x\n": "`x\\n` is not a lower-case kebab-case id such as `oral-progesterone`",
    "x-": "`x-` is not a lower-case kebab-case id such as `oral-progesterone`",
}


@pytest.mark.parametrize("kind", ["intervention", "mechanism"])
@pytest.mark.parametrize("ident", list(NEW_IDS), ids=repr)
def test_new_refuses_or_writes_a_file_that_passes_check(kind: str, ident: str, project: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    folder = project / "content" / f"{kind}s"
    before = sorted(p.name for p in folder.iterdir())
    status, out, err = run(capsys, "new", kind, ident, "--root", str(project))
    expected = NEW_IDS[ident]
    if expected is None:
        assert (status, err) == (0, "")
        assert out == f"wrote content/{kind}s/{ident}.yaml; run `allokb check` after editing it\n"
        assert f'id: "{ident}"\n' in (folder / f"{ident}.yaml").read_text()
        assert run(capsys, "check", str(project), "--strict")[0] == 0
    else:
        message = expected.format(section=f"{kind}s")
        assert (status, out, err) == (2, "", f"allokb: usage error: {message}\n")
        assert sorted(p.name for p in folder.iterdir()) == before


def test_new_citation_refuses_a_reserved_key(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bib = project / "references.bib"
    bib.write_text(bib.read_text() + "\n@article{index,\n  author = {Index, Ian},\n  title = {T},\n"
                   "  journal = {J},\n  year = {2021},\n}\n")
    assert run(capsys, "new", "citation", "index", "--root", str(project)) == (
        2, "", "allokb: usage error: `index` is reserved: its page would replace `/references/`, the page of "
        "the section itself\n")
    assert not (project / "content" / "citations" / "index.yaml").exists()


# --- 7. Former ids and anchored patterns ---------------------------------------------------------

def test_two_entries_listing_one_former_id_are_both_reported(project: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    # Before: the redirect went to whichever entry sorted last.
    for name in ("example-avoid", "example-hormone"):
        path = project / "content" / "interventions" / f"{name}.yaml"
        path.write_text(path.read_text().replace(f"id: {name}\n", f"id: {name}\nformer_ids: [old-name]\n"))
    assert check_lines(project, capsys) == (1, [
        "content/interventions/example-avoid.yaml:2:14: error[KB311] $.former_ids[0]: former id `old-name` is also "
        "listed by content/interventions/example-hormone.yaml: `/interventions/old-name/` can redirect to one entry "
        "only (keep it on the entry that replaced it)",
        "content/interventions/example-hormone.yaml:2:14: error[KB311] $.former_ids[0]: former id `old-name` is also "
        "listed by content/interventions/example-avoid.yaml: `/interventions/old-name/` can redirect to one entry "
        "only (keep it on the entry that replaced it)",
        "check failed: 2 errors, 0 warnings in 8 files"])


def test_a_chain_of_renames_is_reported(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # step-two was step-one, which still exists and was itself `step-zero`.
    mechs = project / "content" / "mechanisms"
    for name, former in (("step-two", "step-one"), ("step-one", "step-zero")):
        path = mechs / f"{name}.yaml"
        path.write_text(path.read_text().replace(f"id: {name}\n", f"id: {name}\nformer_ids: [{former}]\n"))
    assert check_lines(project, capsys) == (1, [
        "content/mechanisms/step-two.yaml:2:14: error[KB311] $.former_ids[0]: former id `step-one` is the id of "
        "content/mechanisms/step-one.yaml, which serves `/mechanisms/step-one/`: it cannot redirect (remove it; "
        "after a chain of renames, every old id belongs on the entry with the newest one)",
        "check failed: 1 error, 0 warnings in 8 files"])


def test_a_former_key_that_is_a_live_bib_key_is_reported(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = project / "content" / "citations" / "smith2020example.yaml"
    path.write_text(path.read_text().replace("key: smith2020example\n",
                                             "key: smith2020example\nformer_keys: [examplewiki2024page]\n"))
    assert check_lines(project, capsys) == (1, [
        "content/citations/smith2020example.yaml:2:15: error[KB311] $.former_keys[0]: former id `examplewiki2024page` "
        "is the id of references.bib, which serves `/references/examplewiki2024page/`: it cannot redirect (remove "
        "it; after a chain of renames, every old id belongs on the entry with the newest one)",
        "check failed: 1 error, 0 warnings in 8 files"])


def test_an_id_with_a_newline_is_reported_on_one_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = project / "content" / "interventions" / "example-avoid.yaml"
    path.write_text(path.read_text().replace("id: example-avoid\n", 'id: "example-avoid\\n"\n'))
    assert check_lines(project, capsys) == (1, [
        "content/interventions/example-avoid.yaml:1:5: error[KB205] $.id: the text `example-avoid` is not a "
        "lower-case kebab-case id such as `oral-progesterone`",
        "content/interventions/example-avoid.yaml:1:5: error[KB207] $.id: id `example-avoid\\n` differs from the "
        "file name `example-avoid.yaml` (set the id to `example-avoid`)",
        "check failed: 2 errors, 0 warnings in 8 files"])


@pytest.mark.parametrize("file, old, new, line", [
    ("interventions/example-avoid.yaml", "id: example-avoid\n", 'id: example-avoid\nformer_ids: ["old\\n"]\n',
     "content/interventions/example-avoid.yaml:2:14: error[KB205] $.former_ids[0]: the text `old` is not a "
     "lower-case kebab-case id such as `oral-progesterone`"),
    ("citations/smith2020example.yaml", 'checked_on: "2026-11-27"', 'checked_on: "2026-11-27\\n"',
     "content/citations/smith2020example.yaml:14:15: error[KB205] $.verification.checked_on: the text "
     "`2026-11-27` is not a date written YYYY-MM-DD"),
    ("citations/smith2020example.yaml", 'url: "https://example.org/record/99999991"',
     'url: "https://example.org/record/99999991\\n"',
     "content/citations/smith2020example.yaml:16:12: error[KB205] $.verification.checked_against[0].url: the text "
     "`https://example.org/record/99999991` is not an http:// or https:// URL without spaces"),
])
def test_a_trailing_newline_never_passes_a_pattern(file: str, old: str, new: str, line: str, project: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # Before: `$` matched before a final newline (jsonschema uses Python's re.search), so these
    # passed, and a redirect was written to a folder named `old\n`. (The message shows the value
    # with its white space folded, as every schema message does.)
    path = project / "content" / file
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    assert check_lines(project, capsys) == (1, [line, "check failed: 1 error, 0 warnings in 8 files"])


def _patterns(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return found + [p for v in node.values() for p in _patterns(v)]
    if isinstance(node, list):
        return [p for v in node for p in _patterns(v)]
    return []


PATTERNS = sorted({p for name in SCHEMA_NAMES for p in _patterns(load_schema(name))})
SAMPLES = ["old", "old\n", "old\n\n", "\nold", "a\nb", "griffin1999selective\n", "2026-01-01", "2026-01-01\n",
           "https://example.org/x", "https://example.org/x\n", " ", "x", "-", ""]


def test_every_schema_pattern_reads_the_same_in_both_validators_and_refuses_a_final_newline() -> None:
    assert len(PATTERNS) >= 4
    for pattern in PATTERNS:
        fast = fastjsonschema.compile({"type": "string", "pattern": pattern})
        slow = jsonschema.Draft202012Validator({"type": "string", "pattern": pattern})
        for sample in SAMPLES:
            try:
                fast(sample)
                fast_ok = True
            except fastjsonschema.JsonSchemaException:
                fast_ok = False
            assert fast_ok == slow.is_valid(sample), (pattern, sample)
            if pattern.startswith("^") and sample.endswith("\n"):
                assert not fast_ok, (pattern, sample)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_every_schema_pattern_reads_the_same_in_ecma_regexps() -> None:
    """Editors validate the published schemas with JavaScript regular expressions."""
    script = ("const [patterns, samples] = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "console.log(JSON.stringify(patterns.map(p => samples.map(s => new RegExp(p, 'u').test(s)))));")
    proc = subprocess.run(["node", "-e", script], input=json.dumps([PATTERNS, SAMPLES]), capture_output=True,
                          text=True, check=True, timeout=60)
    ecma = json.loads(proc.stdout)
    for pattern, results in zip(PATTERNS, ecma):
        validator = jsonschema.Draft202012Validator({"type": "string", "pattern": pattern})
        assert results == [validator.is_valid(s) for s in SAMPLES], pattern


# --- 7. The URL manifest and what is served --------------------------------------------------------

def test_a_deleted_manifest_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Before: deleting urls.txt silently switched the URL check off.
    root = make_site_project(tmp_path / "project")
    (root / "urls.txt").unlink()
    status, lines = check_lines(root, capsys)
    assert (status, lines[0], lines[-1]) == (1, "urls.txt:1:1: error[KB603] $: urls.txt is missing: the URLs this "
                                             "site has published would no longer be checked (restore it with `git "
                                             "checkout -- urls.txt`; a new site creates it with `allokb urls "
                                             "--write`)",
                                             "check failed: 1 error, 0 warnings in 7 files")
    assert run(capsys, "build", str(root), "--site-dir", str(tmp_path / "site"))[0] == 1
    assert not (tmp_path / "site").exists()
    assert run(capsys, "urls", str(root), "--write") == (0, "urls.txt: 41 URLs added\n", "")
    assert run(capsys, "check", str(root), "--strict")[0] == 0


def test_a_project_without_mkdocs_yml_needs_no_manifest(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert not (project / "urls.txt").exists()
    assert check_lines(project, capsys) == (0, ["check passed: 0 errors, 0 warnings in 8 files"])


def _written_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str], manifest: str) -> str:
    root = make_site_project(tmp_path / "project")
    (root / "urls.txt").write_text(manifest)
    status, out, err = run(capsys, "urls", str(root), "--write")
    assert (status, err) == (0, "")
    return out + "---\n" + (root / "urls.txt").read_text()


ADDED = sorted({"/codes/", "/contributing/", "/corrections/", "/data/doses.csv", "/data/evidence.csv", "/data/interventions.csv",
                "/data/references.bib", "/disclaimer/", "/evidence-map/",
                "/data/references.csl.json", "/feed.xml", "/interventions/", "/interventions/example-avoid/",
                "/interventions/example-hormone/", "/mechanisms/", "/mechanisms/step-one/", "/mechanisms/step-two/",
                "/references/", "/references/examplewiki2024page/", "/references/smith2020example/",
                "/sources/smith2020example.txt", *(f"/schema/{n}.schema.json" for n in SCHEMA_NAMES),
                "/data/interventions/example-avoid.json", "/data/interventions/example-hormone.json",
                "/data/mechanisms/step-one.json", "/data/mechanisms/step-two.json",
                "/data/references/examplewiki2024page.json", "/data/references/smith2020example.json"})


def _lines(urls: list[str]) -> str:
    return "".join(f"{u}\n" for u in urls)


def test_urls_write_keeps_comments_blank_lines_and_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Before: the manifest was rewritten sorted, under a fresh header, without its comments.
    unsorted = ("# Our manifest. Do not remove lines.\n/\n\n# the about page, cited in a 2026 paper\n/about/\n"
                "/evidence/\n# data exports\n/data/kb.json")  # no final newline either
    assert _written_manifest(tmp_path / "a", capsys, unsorted) == (
        "urls.txt: 37 URLs added\n---\n" + unsorted + "\n" + _lines(ADDED))
    # In a sorted manifest each new URL goes right after the URL it follows, so that a comment
    # written above a URL stays above it.
    ordered = ("# Our manifest. Do not remove lines.\n/\n\n# the about page, cited in a 2026 paper\n/about/\n"
               "# data exports\n/data/kb.json\n/evidence/\n")
    assert _written_manifest(tmp_path / "b", capsys, ordered) == (
        "urls.txt: 37 URLs added\n---\n# Our manifest. Do not remove lines.\n/\n\n"
        "# the about page, cited in a 2026 paper\n/about/\n" + _lines([u for u in ADDED if u < "/data/kb.json"])
        + "# data exports\n/data/kb.json\n" + _lines([u for u in ADDED if "/data/kb.json" < u < "/evidence/"])
        + "/evidence/\n" + _lines([u for u in ADDED if u > "/evidence/"]))


def test_urls_write_twice_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_site_project(tmp_path / "project")
    assert run(capsys, "urls", str(root), "--write")[0] == 0
    first = (root / "urls.txt").read_bytes()
    assert run(capsys, "urls", str(root), "--write") == (0, "urls.txt: 0 URLs added\n", "")
    assert (root / "urls.txt").read_bytes() == first


@pytest.mark.parametrize("src", ["index.md", "README.md", "a.md", "a/index.md", "a/README.md", "a/b.md",
                                 "a/b.markdown", "a/b.mdown", "a/b.MD", "a/README.txt", "img/x.png", "feed.xml",
                                 "a/b/c/index.mkd"])
def test_site_paths_follow_mkdocs(src: str, tmp_path: Path) -> None:
    from mkdocs.structure.files import File

    assert site_path(src) == File(src, str(tmp_path), str(tmp_path / "site"), use_directory_urls=True).dest_uri


def test_the_manifest_lists_what_mkdocs_really_serves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Before: content/pages/guide/README.md was listed as /guide/README/; MkDocs serves /guide/.
    root = make_site_project(tmp_path / "project")
    pages = root / "content" / "pages"
    (pages / "guide").mkdir()
    (pages / "guide" / "README.md").write_text("# Guide\n")
    (pages / "guide" / "more.markdown").write_text("# More\n")
    (pages / ".draft.md").write_text("# Not published\n")
    config = root / "mkdocs.yml"  # a strict build wants every page in the navigation
    config.write_text(config.read_text() + "  - Guide: guide/README.md\n  - More: guide/more.markdown\n")
    result = check_project(root)
    assert {"/guide/", "/guide/more/"} <= result.urls.urls and "/guide/README/" not in result.urls.urls
    assert run(capsys, "urls", str(root), "--write")[0] == 0
    site = tmp_path / "site"
    assert run(capsys, "build", str(root), "--site-dir", str(site))[0] == 0
    served = {"/" + p.relative_to(site).as_posix().removesuffix("index.html") for p in site.rglob("index.html")}
    served |= {p for p in result.urls.urls if (site / p.lstrip("/")).is_file()}
    assert served == set(result.urls.urls)


def test_a_hand_written_page_that_a_generated_one_replaces_is_an_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_site_project(tmp_path / "project")
    pages = root / "content" / "pages"
    for rel in ("codes.md", "interventions/index.md", "mechanisms.md", "references/smith2020example/README.md",
                "data/kb.json", "sitemap.xml", "notes.md", "notes/index.md"):
        (pages / rel).parent.mkdir(parents=True, exist_ok=True)
        (pages / rel).write_text("# Hand-written\n")
    _, lines = check_lines(root, capsys)
    assert [ln for ln in lines if "KB604" in ln] == [
        "content/pages/codes.md:1:1: error[KB604] $: this page is served at `/codes/`, where the generated page "
        "`codes.md` replaces it (move or rename the page; generated pages cannot be overridden from content/pages)",
        "content/pages/data/kb.json:1:1: error[KB604] $: this page is served at `/data/kb.json`, where the generated "
        "file `data/kb.json` replaces it (move or rename the page; generated pages cannot be overridden from "
        "content/pages)",
        "content/pages/interventions/index.md:1:1: error[KB604] $: this page is served at `/interventions/`, where "
        "the generated page `interventions/index.md` replaces it (move or rename the page; generated pages cannot "
        "be overridden from content/pages)",
        "content/pages/mechanisms.md:1:1: error[KB604] $: this page is served at `/mechanisms/`, where the "
        "generated page `mechanisms/index.md` replaces it (move or rename the page; generated pages cannot be "
        "overridden from content/pages)",
        "content/pages/notes/index.md:1:1: error[KB604] $: this page is served at `/notes/`, as is "
        "content/pages/notes.md (keep one of the two pages)",
        "content/pages/references/smith2020example/README.md:1:1: error[KB604] $: this page is served at "
        "`/references/smith2020example/`, where the page of `smith2020example` replaces it (move or rename the "
        "page; generated pages cannot be overridden from content/pages)",
        "content/pages/sitemap.xml:1:1: error[KB604] $: this page is served at `/sitemap.xml`, where MkDocs' own "
        "`sitemap.xml` replaces it (move or rename the page; generated pages cannot be overridden from "
        "content/pages)",
    ]


# --- 9. Exports ----------------------------------------------------------------------------------

FORMULAS = ["=HYPERLINK(\"https://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def test_csv_cells_never_start_a_formula() -> None:
    kb = check_project(VALID).kb
    item = kb.interventions["example-avoid"]
    rows = {}
    for i, name in enumerate(FORMULAS):
        ident = f"formula-{i}"
        rows[ident] = dataclasses.replace(item, id=ident, name=name)
    text = interventions_csv(dataclasses.replace(kb, interventions=rows), SITE.site_url, {})
    parsed = list(csv.reader(io.StringIO(text)))
    assert [row[1] for row in parsed[1:]] == [f"'{name}" for name in FORMULAS]
    for line in text.splitlines()[:2]:  # every cell is quoted
        assert re.fullmatch(r'"[^"]*(""[^"]*)*"(,"[^"]*(""[^"]*)*")*', line), line
    assert text.splitlines()[1].startswith('"formula-0","\'=HYPERLINK(""https://evil.example"",""x"")",')


def test_csv_of_the_fixture() -> None:
    result = check_project(VALID)
    text = interventions_csv(result.kb, SITE.site_url, {})
    assert text.splitlines()[1] == (
        '"example-avoid","Avoid example blocker","avoidance","preserves","lowers","prescription","men","step-one",'
        '"allo-level","men","","","0","","https://allo-atlas.github.io/atlas/interventions/example-avoid/"')


ALL_CHARACTERS = "".join(chr(c) for c in range(0x110000))  # lone surrogates included


def test_the_feed_is_xml_for_any_unicode() -> None:
    # Before: a NUL, ESC or U+FFFE in a name or a commit subject crashed the feed (lxml refused it).
    # Commit subjects no longer reach the feed (tests/test_perentry.py); an entry's `changes` do.
    import feedparser
    from lxml import etree

    kb = check_project(VALID).kb
    named = dataclasses.replace(kb.interventions["example-avoid"], name="Bad\x00name\x1b[31m\ufffe\uffff\ud800",
                                changes=())  # its commits, not its own log, make its feed entries here
    where = kb.mechanisms["step-one"].location
    logged = dataclasses.replace(kb.mechanisms["step-one"], changes=(ChangeNote("2026-11-25", ALL_CHARACTERS, where,
                                                                                where),))
    kb = dataclasses.replace(kb, interventions={**kb.interventions, "example-avoid": named},
                             mechanisms={**kb.mechanisms, "step-one": logged})
    changes = (Change("a" * 40, "2026-11-20T10:00:00+00:00", ALL_CHARACTERS,
                      ("content/interventions/example-avoid.yaml", "content/interventions/x\x01\ny.yaml")),
               Change("b" * 40, "not a date", "subject\x1e\x1fforged", ("content/interventions/example-hormone.yaml",
                                                                         "content/mechanisms/step-one.yaml")))
    site = dataclasses.replace(SITE, site_name="Atlas\x0c", changes=changes)
    feed = atom_feed(kb, site).encode("utf-8")
    parsed = feedparser.parse(feed)
    assert not parsed.bozo and parsed.version == "atom10" and len(parsed.entries) == 4
    assert b"forged" not in feed
    atom = "{http://www.w3.org/2005/Atom}"
    tree = etree.fromstring(feed)
    assert tree.findtext(f"{atom}title") == "Atlas\ufffd: changes"
    entries = {e.findtext(f"{atom}id"): e for e in tree.iter(f"{atom}entry")}
    assert sorted(entries) == [
        "tag:allo-atlas.github.io,2026-11-20:" + "a" * 40 + "/content/interventions/example-avoid.yaml",
        "tag:allo-atlas.github.io,2026-11-20:" + "a" * 40 + "/content/interventions/x%01%0Ay.yaml",
        "tag:allo-atlas.github.io,2026-11-25:mechanisms/step-one/changes/1",
        "tag:allo-atlas.github.io,2026-11-27:" + "b" * 40 + "/content/interventions/example-hormone.yaml"]
    avoid = entries["tag:allo-atlas.github.io,2026-11-20:" + "a" * 40 + "/content/interventions/example-avoid.yaml"]
    assert avoid.findtext(f"{atom}title") == "Bad\ufffdname\ufffd[31m\ufffd\ufffd\ufffd: updated"
    assert avoid.findtext(f"{atom}summary") == "Updated on 2026-11-20."
    # Every character XML allows survives in a change's summary; each one it forbids became U+FFFD.
    allowed = {ch for ch in ALL_CHARACTERS if ch in "\t\n\r" or "\x20" <= ch <= "\ud7ff"
               or "\ue000" <= ch <= "\ufffd" or ch >= "\U00010000"}
    summary = entries["tag:allo-atlas.github.io,2026-11-25:mechanisms/step-one/changes/1"].findtext(f"{atom}summary")
    assert len(summary) == 0x110000
    assert all(got == want if want in allowed else got == "\ufffd" for got, want in zip(summary, ALL_CHARACTERS))
    assert entries["tag:allo-atlas.github.io,2026-11-27:" + "b" * 40 + "/content/interventions/example-hormone.yaml"
                   ].findtext(f"{atom}updated") == "2026-11-27T00:00:00+00:00"  # git's date was not a date: the build date


# --- 10. Determinism -----------------------------------------------------------------------------



def cite_twice(root: Path, claims: int = 3) -> None:
    """A claim citing one source twice, once `supported` and once `partial` (several of them)."""
    path = root / "content" / "interventions" / "example-hormone.yaml"
    path.write_text(path.read_text().replace("claims:\n", "claims:\n" + "".join(TWICE.format(n=n)
                                                                             for n in range(claims)), 1))


def test_cited_by_is_in_a_total_order(project: Path) -> None:
    # Before: sorted by (record, anchor, label) only: the two sites of one claim tied, and their
    # order followed the set's, which follows the hash seed.
    cite_twice(project)
    result = check_project(project)
    assert not result.failed()
    sites = result.kb.cited_by["smith2020example"]
    assert [(s.anchor, s.support) for s in sites if s.anchor.startswith("claim-twice")] == [
        (f"claim-twice-{n}", support) for n in range(3) for support in ("partial", "supported")]
    assert list(sites) == sorted(sites, key=lambda s: s.sort_key())
    keys = [s.sort_key() for s in sites]
    assert len(set(keys)) == len(keys)
    names = [("interventions", p.name) for p in sorted((project / "content" / "interventions").iterdir())]
    names += [(k, p.name) for k in ("mechanisms", "citations") for p in sorted((project / "content" / k).iterdir())]
    outcomes = [process_file(project, k, n) for k, n in names]
    references = check_project(project).kb.references
    for seed in range(20):  # whatever order the records come in, and whatever the set order
        random.Random(seed).shuffle(outcomes)
        kb, _ = build_graph(outcomes, list(references.values()))
        assert kb.cited_by == result.kb.cited_by
    assert kb_json(kb, SITE.site_url, {}) == kb_json(result.kb, SITE.site_url, {})


# --- 11. Error paths stay fast -------------------------------------------------------------------

def test_ten_thousand_dangling_links_are_reported_in_under_five_seconds(tmp_path: Path) -> None:
    # Before: each dangling link sorted every id and compared it with all: 3,000 took minutes.
    root = make_project(tmp_path / "kb")
    ids, links, per_file = 1000, 10_000, 500
    mechs = root / "content" / "mechanisms"
    for i in range(ids):
        (mechs / f"pathway-step-{i}.yaml").write_text(
            f'id: pathway-step-{i}\nname: "Step {i}"\nkind: concept\nsummary: "Step {i}."\nupstream: []\nclaims: []\n')
    for f in range(links // per_file):
        targets = ", ".join(f"pathway-stp-{f * per_file + j}" for j in range(per_file))
        (root / "content" / "interventions" / f"dangling-{f}.yaml").write_text(
            f'id: dangling-{f}\nname: "Dangling {f}"\ncategory: supplement\nsummary: "x"\ndirection: unclear\n'
            "relation: raises-endogenous\nmain_outcome: {outcome: allo-level, population: any}\n"
            f'prescription_status: over-the-counter\npopulations: [general-adults]\nmechanisms: [{targets}]\n'
            "claims: []\n")
    wall, cpu = time.perf_counter(), time.process_time()
    result = check_project(root)  # one process below PARALLEL_THRESHOLD files: its CPU time is the check's
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"\n{links:,} dangling links against {ids:,} ids: {wall:.2f} s wall, {cpu:.2f} s CPU")
    dangling = [d for d in result.diagnostics if d.code == "KB301"]
    assert len(dangling) == links
    assert dangling[0].message == "no mechanism `pathway-stp-0`"
    assert dangling[0].hint == "did you mean `pathway-step-0`?"
    hints = {d.message.split("`")[1]: d.hint for d in dangling}
    assert hints["pathway-stp-4321"] == "did you mean `pathway-step-432`?"  # ids only go to 999
    assert hints["pathway-stp-123"] == "did you mean `pathway-step-123`?"
    assert cpu < 5.0  # the bound; CPU time, so that other jobs on the machine do not count


def test_duplicate_ids_and_keys_are_reported_in_near_linear_time(tmp_path: Path) -> None:
    root = make_project(tmp_path / "kb")
    mechs = root / "content" / "mechanisms"
    for i in range(1400):
        (mechs / f"m-{i}.yaml").write_text('id: same\nname: "S"\nkind: concept\nsummary: "S."\nupstream: []\n'
                                           "claims: []\n")
    bib = (root / "references.bib").read_text()
    entry = "@article{dup2020same,\n  author = {Dup, D.},\n  title = {T},\n  journal = {J},\n  year = {2020},\n}\n"
    (root / "references.bib").write_text(bib + "\n" + entry * 5000)
    cpu = time.process_time()
    result = check_project(root)
    cpu = time.process_time() - cpu
    print(f"\n1,400 files with one id and 5,000 copies of one bib entry: {cpu:.2f} s CPU")
    codes = [d.code for d in result.diagnostics]
    assert codes.count("KB304") == 1399 and codes.count("KB402") == 4999
    assert cpu < 5.0


def test_suggestions_match_difflib_on_small_sets() -> None:
    import difflib

    rng = random.Random(11)
    letters = "abcdefghij-"
    for _ in range(300):
        choices = {"".join(rng.choice(letters) for _ in range(rng.randint(2, 12))) for _ in range(rng.randint(1, 16))}
        word = "".join(rng.choice(letters) for _ in range(rng.randint(1, 12)))
        close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
        assert Suggester(choices).closest(word) == (close[0] if close else None), (word, choices)


def test_suggestions_on_large_sets_find_the_typo() -> None:
    ids = {f"{a}-{b}" for a in ("oral", "vaginal", "topical", "intravenous") for b in
           ("progesterone", "pregnenolone", "dhea", "finasteride", "dutasteride", "zuranolone", "ganaxolone")}
    ids |= {f"compound-{i}" for i in range(5000)}
    suggest = Suggester(ids)
    assert suggest.hint("oral-progesteron") == "did you mean `oral-progesterone`?"
    assert suggest.hint("vaginal-pregnenolon") == "did you mean `vaginal-pregnenolone`?"
    assert suggest.hint("oral-finasterid") == "did you mean `oral-finasteride`?"
    assert suggest.hint("compund-4711") == "did you mean `compound-4711`?"
    assert suggest.hint("zzzzzzzz") is None
    assert did_you_mean("step-nine", ["step-one", "step-two"]) == "did you mean `step-one`?"


def test_suggestions_do_not_depend_on_the_hash_seed(tmp_path: Path) -> None:
    script = ("from allokb.diagnostics import Suggester\n"
              "s = Suggester({f'id-{i}-{j}' for i in range(300) for j in ('ab', 'ba', 'abc')})\n"
              "print([s.closest(w) for w in ('id-12-a', 'id-1-ab', 'd-99-ba', 'id--abc', 'x-1-b')])\n")
    outs = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": str(seed), "PYTHONPATH": str(REPO / "src")}).stdout
            for seed in range(6)}
    assert len(outs) == 1, outs


def test_new_never_writes_through_a_linked_folder_or_temporary_file(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path / "kb")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.rmtree(root / "content" / "mechanisms")
    (root / "content" / "mechanisms").symlink_to(elsewhere)
    assert main(["new", "mechanism", "fresh-step", "--root", str(root)]) == 1
    assert capsys.readouterr().err == ("allokb: error: content/mechanisms: is a symbolic link; links are never "
                                       "followed; nothing was written\n")
    assert list(elsewhere.iterdir()) == []
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    (root / "content" / "interventions" / ".fresh-one.yaml.tmp").symlink_to(victim)
    assert main(["new", "intervention", "fresh-one", "--root", str(root)]) == 0
    assert victim.read_text() == "keep me\n"
    assert not (root / "content" / "interventions" / ".fresh-one.yaml.tmp").exists()
