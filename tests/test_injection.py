"""Contributor text is data: every string field of every record kind and every bib field is
tried with a corpus of hostile payloads. Each is either rejected by `allokb check` with a
located error, or built into pages where it is inert and literal: checked by parsing the built
HTML against a clean build, and in Chromium (no dialog, no console error, table intact)."""

from __future__ import annotations

import copy
import functools
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from allokb.cli import main
from allokb.load import load_documents
from allokb.project import check_project
from conftest import VALID, make_site_project
from sitecheck import PageScan, scan_site

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
MARK = "QZX"  # prefix of the per-field marker appended to each payload

# Fields that are not free text (ids, bib keys, enums, dates, URLs, numbers): a payload there must
# be rejected by the check; that is asserted too.
BIB_FIELDS = ["author", "title", "journal", "year", "volume", "pages", "doi", "pmid", "url", "organization"]


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


@pytest.fixture(scope="module")
def targets() -> list[tuple[str, tuple[Any, ...]]]:
    """(file, path) of every string field of the fixture's YAML, plus every bib field."""
    documents, _ = load_documents(VALID)
    out = [(doc.path, p) for doc in documents for p in string_paths(doc.data)]
    out += [("references.bib", ("smith2020example", f)) for f in BIB_FIELDS if f != "organization"]
    out += [("references.bib", ("examplewiki2024page", "organization"))]
    return out


@functools.lru_cache(maxsize=64)
def _parsed(text: str) -> Any:
    """A YAML text parsed (once per text: the 2,214 tries change a field of the same few files)."""
    return yaml.safe_load(text)


def apply(root: Path, target: tuple[str, tuple[Any, ...]], text: str) -> None:
    file, path = target
    if file == "references.bib":
        key, field = path
        bib = (root / file).read_text()
        entry = re.search(r"@\w+\{" + key + r",.*?\n\}\n", bib, re.S)
        assert entry
        body = entry.group(0)
        replaced = re.sub(r"(\n  " + field + r" = \{).*?(\},\n)", lambda m: m.group(1) + text + m.group(2), body, count=1)
        if replaced == body:  # the fixture entry has no such field: add it
            replaced = body.replace("\n}\n", f"\n  {field} = {{{text}}},\n}}\n")
        (root / file).write_text(bib.replace(body, replaced))
        return
    doc = root / file
    data = copy.deepcopy(_parsed(doc.read_text()))
    set_path(data, path, text)
    doc.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def clean_yaml_roundtrip(root: Path) -> None:
    """Write every YAML file back through safe_dump, so that the clean build and the payload builds
    differ only by the payloads. The source texts are removed: every quote is then checked by hand,
    so that a hostile quote reaches the page (the machine check refuses any quote its source text
    lacks; tests/test_quotes.py)."""
    shutil.rmtree(root / "content" / "sources", ignore_errors=True)
    for doc in (root / "content").rglob("*.yaml"):
        data = yaml.safe_load(doc.read_text())
        doc.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


def dangerous(scan: PageScan) -> dict[str, Any]:
    """What in a page could run code or hide content: compared with a clean build."""
    urls = [u for u in scan.links + scan.resources if re.match(r"\s*(javascript|data|vbscript):", u, re.I)]
    return {"handlers": sorted(scan.handlers), "bad_urls": urls, "scripts": len(scan.scripts),
            "resources": sorted(scan.resources)}


@pytest.fixture(scope="module")
def classified(targets: list[tuple[str, tuple[Any, ...]]], tmp_path_factory: pytest.TempPathFactory) -> \
        dict[str, dict[str, list[tuple[str, tuple[Any, ...]]]]]:
    """For each payload: the fields where `check` rejects it and those where it is accepted."""
    root = make_site_project(tmp_path_factory.mktemp("classify") / "project")
    clean_yaml_roundtrip(root)
    originals = {f: (root / f).read_text() for f in {t[0] for t in targets}}
    out: dict[str, dict[str, list[Any]]] = {}
    for name, payload in PAYLOADS.items():
        out[name] = {"rejected": [], "accepted": []}
        for i, target in enumerate(targets):
            apply(root, target, payload + f" {MARK}{i}")
            result = check_project(root)
            (root / target[0]).write_text(originals[target[0]])
            errors = [d for d in result.diagnostics if d.severity.value == "error"]
            out[name]["rejected" if errors else "accepted"].append(target)
            if errors:  # every rejection is located in the file that carries the payload
                assert any(d.location.file == target[0] for d in errors), (name, target, errors)
    return out


def test_free_text_fields_accept_hostile_text(classified: dict[str, Any], targets: list[Any]) -> None:
    # Summary, statement, quote, note, name… accept any text; ids, enums, dates, URLs reject it.
    accepted = {t for t in classified["script"]["accepted"]}
    assert ("content/interventions/example-hormone.yaml", ("summary",)) in accepted
    assert ("content/interventions/example-hormone.yaml", ("claims", 0, "citations", 0, "quote")) in accepted
    assert ("content/interventions/example-hormone.yaml", ("id",)) not in accepted
    assert ("content/citations/smith2020example.yaml", ("verification", "checked_on")) not in accepted
    assert ("references.bib", ("smith2020example", "doi")) not in accepted


@pytest.fixture(scope="module")
def clean_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_site_project(tmp_path_factory.mktemp("clean") / "project")
    clean_yaml_roundtrip(root)
    assert main(["build", str(root), "--site-dir", str(root / "site")]) == 0
    return root / "site"


@pytest.fixture(scope="module")
def clean_scans(clean_site: Path) -> dict[str, PageScan]:
    """The pages of the clean build, scanned once for every payload's comparison."""
    return scan_site(clean_site)


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_payload_is_inert_in_the_built_html(name: str, classified: dict[str, Any], clean_scans: dict[str, PageScan],
                                            targets: list[Any], tmp_path: Path) -> None:
    root = make_site_project(tmp_path / "project")
    clean_yaml_roundtrip(root)
    accepted = classified[name]["accepted"]
    for target in accepted:
        apply(root, target, PAYLOADS[name] + f" {MARK}{targets.index(target)}")
    assert main(["build", str(root), "--site-dir", str(root / "site")]) == 0
    site = root / "site"
    clean, built = clean_scans, scan_site(site)
    assert set(built) == set(clean)
    for page in clean:
        assert dangerous(built[page]) == dangerous(clean[page]), page
    text = "\n".join(p.read_text() for p in site.rglob("*.html"))
    assert "<style>body{display:none}" not in text and "hijacked</abbr" not in text
    for page in site.rglob("*.html"):  # JSON-LD still parses: the payload did not close the element
        for block in re.findall(r'<script type="application/ld\+json">(.*?)</script>', page.read_text(), re.S):
            json.loads(block)
    if name == "jinja-expression":
        assert "{{ 7*7 }}" in text.replace("&#123;", "{")
    shown = {int(m) for m in re.findall(MARK + r"(\d+)", text)}
    assert len(shown) >= len(accepted) // 2  # most accepted fields are displayed, literally


def test_every_try_is_rejected_or_accepted(classified: dict[str, Any], targets: list[Any],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    rejected = sum(len(v["rejected"]) for v in classified.values())
    accepted = sum(len(v["accepted"]) for v in classified.values())
    assert rejected + accepted == len(PAYLOADS) * len(targets)
    with capsys.disabled():
        print(f"\ninjection: {len(PAYLOADS)} payloads x {len(targets)} fields = {rejected + accepted} tries: "
              f"{rejected} rejected by check with a located error, {accepted} built and checked inert")


def test_payloads_in_the_browser(classified: dict[str, Any], targets: list[Any], tmp_path: Path, browser: Any) -> None:
    """Every payload at once (spread over the fields that accept them), every page opened in
    Chromium: no dialog opens, no console error, the summary table keeps its columns."""
    from browser import serve

    root = make_site_project(tmp_path / "project")
    clean_yaml_roundtrip(root)
    names = list(PAYLOADS)
    used: set[Any] = set()
    for i, target in enumerate(targets):
        for name in names[i % len(names):] + names[: i % len(names)]:
            if target in classified[name]["accepted"] and target not in used:
                apply(root, target, PAYLOADS[name] + f" {MARK}{i}")
                used.add(target)
                break
    assert len(used) > 40
    assert main(["check", str(root)]) == 0
    www = tmp_path / "www"
    assert main(["build", str(root), "--site-dir", str(www / "atlas")]) == 0
    pages = sorted(p.relative_to(www / "atlas").parent.as_posix() for p in (www / "atlas").rglob("index.html"))
    dialogs: list[str] = []
    errors: list[str] = []
    with serve(www) as url:
        page = browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
        for path in pages:
            page.goto(f"{url}atlas/{'' if path == '.' else path + '/'}")
            page.wait_for_load_state("networkidle")
        page.goto(f"{url}atlas/interventions/")
        cells = page.eval_on_selector_all("table.allokb-summary tbody tr", "rows => rows.map(r => r.cells.length)")
        headers = page.eval_on_selector_all("table.allokb-summary thead th", "cells => cells.length")
        page.close()
    assert dialogs == [] and errors == []
    assert headers == 9 and cells == [9, 9]
