"""The registry of kinds: adding a record kind touches four files (CONTRIBUTING.md, "Record kinds
and URLs", walks through the same example).

In a copy of the package and of the fixture project, a toy kind `population` is added by editing
exactly: its registry entry (src/allokb/kinds.py), its schema (src/allokb/schemas/), its template
(site_templates/) and its content (content/populations/). The copy then checks, scaffolds and
renders the new kind: a page per entry at the URL the URL map derives, a redirect for its former
id, a dangling-free check, and the field documentation of its schema on the evidence page.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, make_site_project

from allokb.kinds import BY_FOLDER, BY_NAME, KINDS
from allokb.load import KINDS as LOAD_FOLDERS
from allokb.schema import SCHEMA_NAMES, SCHEMA_OF_KIND
from allokb.urls import (
    SECTION_OF_KIND,
    entry_href,
    entry_link,
    entry_src,
    entry_url,
    section_url,
)

ENTRY = '''
POPULATION = Kind("population", "populations", "population", "id", "former_ids", GENERIC, "populations",
                  "population.md.j2", "Populations", "population", None)
KINDS = (*KINDS, POPULATION)
BY_NAME = {k.name: k for k in KINDS}
BY_FOLDER = {k.folder: k for k in KINDS}
'''

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema", "title": "Population",
    "description": "A group of people the evidence is about. One file per population: content/populations/<id>.yaml.",
    "type": "object", "additionalProperties": False, "required": ["id", "name", "summary"],
    "properties": {
        "id": {"$ref": "common.schema.json#/$defs/id"},
        "former_ids": {"type": "array", "items": {"$ref": "common.schema.json#/$defs/id"},
                       "description": "Ids this entry had before a rename."},
        "name": {"type": "string", "description": "The page title."},
        "summary": {"type": "string", "description": "Who they are."},
    },
}

TEMPLATE = '''{#- One population page. Context: meta, entry (model.Entry), kind (kinds.Kind), cite, edit_url, source,
    root_url, prefix, history. -#}
{% include "partials/front_matter.md.j2" %}

# {{ entry.name | md }} { #title }

{{ entry.summary | md }}

{% include "partials/cite_box.md.j2" %}
'''

CONTENT = 'id: men-on-trt\nname: "Men on TRT"\nformer_ids: [trt-men]\nsummary: "Men taking testosterone {{ 7*7 }}."\n'

RENDER = '''
import json, sys
from pathlib import Path
from allokb.project import check_project
from allokb.render import render_site
from allokb.render.views import SiteInfo
root = Path(sys.argv[1])
result = check_project(root)
site = SiteInfo("Atlas", "https://example.org/", None, "main", {}, "2026-01-01")
rendered = render_site(root, result.kb, site, {}, result.rubric, result.urls.redirects)
print(json.dumps({"diagnostics": [f"{d.code} {d.message}" for d in result.diagnostics],
                  "pages": {p.src_uri: p.markdown for p in rendered.pages},
                  "files": sorted(rendered.files), "urls": sorted(result.urls.urls)}))
'''


@pytest.fixture(scope="module")
def toy_src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the package with the `population` kind added by editing two files, its registry
    entry and its schema; the copy's `src`, shared by the file's tests (read-only): the first
    process that runs it compiles its modules, the others reuse them."""
    src = tmp_path_factory.mktemp("toy") / "src"
    shutil.copytree(REPO / "src" / "allokb", src / "allokb", ignore=shutil.ignore_patterns("__pycache__"))
    # 1. the registry entry
    kinds = src / "allokb" / "kinds.py"
    kinds.write_text(kinds.read_text(encoding="utf-8") + ENTRY, encoding="utf-8")
    # 2. the schema
    (src / "allokb" / "schemas" / "population.schema.json").write_text(json.dumps(SCHEMA, indent=2), encoding="utf-8")
    return src


def _toy_project(tmp_path: Path) -> Path:
    """A copy of the fixture site with the `population` kind's other two files: its template and
    its content; the project root."""
    root = make_site_project(tmp_path / "kb")
    # 3. the template
    (root / "site_templates" / "population.md.j2").write_text(TEMPLATE, encoding="utf-8")
    # 4. the content
    (root / "content" / "populations").mkdir()
    (root / "content" / "populations" / "men-on-trt.yaml").write_text(CONTENT, encoding="utf-8")
    return root


def _run(src: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300, check=False,
                          env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin", "HOME": str(src.parent)})


def test_a_toy_kind_is_four_files_and_works(toy_src: Path, tmp_path: Path) -> None:
    root, src = _toy_project(tmp_path), toy_src
    done = _run(src, "-c", RENDER, str(root))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    # the fixture has no manifest yet: every URL is "not yet in the manifest" (KB602), and nothing else
    assert {d.split()[0] for d in out["diagnostics"]} == {"KB602"}
    for url in ("/populations/men-on-trt/", "/schema/population.schema.json"):
        assert f"KB602 new URL `{url}` is not in urls.txt" in out["diagnostics"]
    assert "/populations/men-on-trt/" in out["urls"] and "/schema/population.schema.json" in out["urls"]
    page = out["pages"]["populations/men-on-trt.md"]
    assert "# Men on TRT { #title }" in page
    assert "49" not in page  # contributor text is data here too: never evaluated as a template
    assert "populations/trt-men/index.html" in out["files"]  # the former id redirects
    assert "schema/population.schema.json" in out["files"]
    assert "content/populations/men-on-trt.yaml" not in json.dumps(out["diagnostics"])

    scaffolded = _run(src, "-m", "allokb", "new", "population", "older-men", "--root", str(root))
    assert scaffolded.returncode == 0, scaffolded.stderr
    assert (root / "content" / "populations" / "older-men.yaml").exists()


def test_a_toy_kind_entry_is_checked_by_its_schema(toy_src: Path, tmp_path: Path) -> None:
    root, src = _toy_project(tmp_path), toy_src
    (root / "content" / "populations" / "men-on-trt.yaml").write_text("id: men-on-trt\nname: Men\n", encoding="utf-8")
    done = _run(src, "-m", "allokb", "check", str(root))
    assert done.returncode == 1
    assert ("content/populations/men-on-trt.yaml:1:1: error[KB202] $: missing required field `summary` "
            "(`summary`: Who they are.)") in done.stdout.splitlines(), done.stdout


def test_every_stage_reads_the_registry() -> None:
    """The folders, schemas, sections and scaffold kinds are the registry's, not copies of it."""
    assert LOAD_FOLDERS == tuple(k.folder for k in KINDS)
    assert {k.folder: k.schema for k in KINDS}.items() <= SCHEMA_OF_KIND.items()
    assert all(k.schema in SCHEMA_NAMES for k in KINDS)
    assert SECTION_OF_KIND == {k.folder: k.section for k in KINDS}
    assert set(BY_NAME) == {"intervention", "mechanism", "citation"} and set(BY_FOLDER) == set(LOAD_FOLDERS)


def test_the_url_map() -> None:
    mech, ref = BY_NAME["mechanism"], BY_NAME["citation"]
    assert entry_src(mech, "step-one") == "mechanisms/step-one.md"
    assert entry_url(ref, "smith2020example") == "/references/smith2020example/"
    assert section_url(ref) == "/references/"
    assert entry_link("references/smith2020example.md", mech, "step-one", "claim-a") == \
        "../mechanisms/step-one.md#claim-a"
    assert entry_href("interventions/index.md", mech, "step-one") == "../mechanisms/step-one/"
    assert entry_href("corrections.md", ref, "k") == "../references/k/"
    assert entry_link("index.md", BY_NAME["intervention"], "x") == "interventions/x.md"
