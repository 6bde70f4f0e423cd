"""Measured quality of the built pages (issue 15, item 11) and bib keys off the reader's pages.

- The W3C Nu HTML Checker (vnu, npm package `vnu-jar` in tools/, run with Debian's Java) finds no
  error on one page of each kind of the repository's site: one Java start for all of them. A
  missing Java or vnu FAILS the test: `./tasks.sh test` installs both.
- No bibliography key in the text a reader reads (tools/reader_words.py: the article text, not
  attributes or URLs, outside "How this was checked" and the History section): the study lists,
  grade trails and "what would raise it" of the evidence matrix name a source `Irwig 2012`
  (render/trail.py), linked to its page.

Lighthouse is a benchmark, not a test: benchmarks/bench_lighthouse.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from allokb.render.trail import NamedSource, linked_text
from conftest import REPO

sys.path.insert(0, str(REPO / "tools"))
from reader_words import bib_keys_in_reader_text  # noqa: E402 - tools/ is not a package

VNU = REPO / "tools" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
#: Java for one short run: only the quick JIT compiler (C1: the optimising C2 compiler spends more CPU,
#: on other threads, than it saves in a run of a few seconds), one garbage-collector thread, and the
#: thread stack vnu asks for under C1 (its schema recursion overflows the default one). vnu's
#: messages are byte-for-byte those of Java's defaults (checked on the repository's site: CPU
#: 4.3-4.9 s against 1.9-2.7 s, December 2026).
JAVA_FLAGS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xss8m")
#: one page of each kind, as built
VNU_PAGES = (
    "index.html",  # home
    "interventions/index.html",  # the summary table
    "interventions/oral-micronized-progesterone/index.html",  # an intervention
    "mechanisms/index.html",  # the pathway diagram
    "mechanisms/gaba-a-positive-modulation/index.html",  # a mechanism
    "references/irwig2012depressive/index.html",  # a reference
    "evidence-map/index.html",  # the evidence map
    "corrections/index.html",  # corrections to the post
    "codes/index.html",  # a docs page
    "404.html",
)


def vnu_messages(site: Path, pages: tuple[str, ...], extra: tuple[Path, ...] = ()) -> list[dict[str, object]]:
    """vnu's messages (its JSON format) on `pages` of `site` and the `extra` files, in one run."""
    java = shutil.which("java")
    if java is None:
        pytest.fail("`java` is not installed: `./tasks.sh test` installs it (Debian: default-jre-headless)")
    if not VNU.exists():
        pytest.fail("vnu is not installed: (cd tools && npm ci --ignore-scripts)")
    # --no-langdetect: guessing each page's language costs a third of the run and only ever
    # gives a warning
    # JAVA_FLAGS: the same messages for about half the CPU of Java's defaults.
    done = subprocess.run([java, *JAVA_FLAGS, "-jar", str(VNU), "--format", "json", "--exit-zero-always",
                           "--no-langdetect",
                           *(str(site / p) for p in pages), *map(str, extra)],
                          capture_output=True, text=True, encoding="utf-8", timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stderr or done.stdout)["messages"]  # type: ignore[no-any-return]


def located(site: Path, message: dict[str, object]) -> str:
    """`page:line:col: type: message` for one vnu message, the page relative to the site."""
    url = str(message.get("url", ""))
    page = url.removeprefix("file:").removeprefix(str(site.resolve()) + "/").removeprefix(str(site) + "/")
    kind = f"{message['type']}" + (f" ({message['subType']})" if message.get("subType") else "")
    return f"{page}:{message.get('lastLine', '?')}:{message.get('firstColumn', '?')}: {kind}: {message['message']}"


def redirect_stub(site: Path) -> str:
    """A page left where a renamed entry used to be (urls.redirect_html), the first one found."""
    for page in sorted((site / "references").glob("*/index.html")):
        if '<meta http-equiv="refresh"' in page.read_text(encoding="utf-8"):
            return page.relative_to(site).as_posix()
    pytest.fail("the repository site has no redirect page any more: drop it from this test")


INVALID = ('<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>t</title></head>\n'
           '<body><input type="checkbox" id="x" autocomplete="off"></body></html>\n')


@pytest.fixture(scope="module")
def vnu(repo_site: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[tuple[str, ...], Path, list[dict[str, object]]]:
    """One vnu run (one Java start) on a page of each kind of the repository's site and on a page
    known to be invalid (in a folder of its own): (the site's pages, that folder, every message)."""
    pages = (*VNU_PAGES, redirect_stub(repo_site))
    for page in pages:
        assert (repo_site / page).is_file(), page
    invalid = tmp_path_factory.mktemp("vnu-invalid")
    (invalid / "index.html").write_text(INVALID, encoding="utf-8")
    java = shutil.which("java")
    if java is None:
        pytest.fail("`java` is not installed: `./tasks.sh test` installs it (Debian: default-jre-headless)")
    return pages, invalid, vnu_messages(repo_site, pages, extra=(invalid / "index.html",))


def _in(folder: Path, message: dict[str, object]) -> bool:
    url = str(message.get("url", "")).removeprefix("file:")
    return url.startswith((str(folder.resolve()) + "/", str(folder) + "/"))


def test_vnu_finds_no_error_on_a_page_of_each_kind(repo_site: Path,
                                                   vnu: tuple[tuple[str, ...], Path, list[dict[str, object]]]) -> None:
    pages, _, every = vnu
    messages = [m for m in every if _in(repo_site, m)]
    errors = [located(repo_site, m) for m in messages if m["type"] != "info"]
    # the warnings by kind (the resource each names left out): on file: pages, vnu reads every
    # stylesheet and script of the site as blocked by the policy's 'self', and the JSON-LD block
    # as an inline script; a browser runs neither check so
    kinds = Counter(re.sub(r"“[^”]*”", "“…”", str(m["message"])) for m in messages if m["type"] == "info")
    print(f"vnu: {len(errors)} errors, {sum(kinds.values())} warnings on {len(pages)} pages",
          *errors, *(f"{n} × {kind}" for kind, n in sorted(kinds.items())), sep="\n  ")
    assert [m for m in every if not _in(repo_site, m) and not _in(vnu[1], m)] == []  # every message is of a page
    assert errors == []


def test_vnu_reports_an_invalid_page_located(vnu: tuple[tuple[str, ...], Path, list[dict[str, object]]]) -> None:
    """The test above can fail: vnu reports the markup the theme overrides removed (the same run)."""
    _, invalid, every = vnu
    errors = [located(invalid, m) for m in every if _in(invalid, m) and m["type"] != "info"]
    assert errors == ["index.html:3:7: error: Attribute “autocomplete” is only allowed when the input type is "
                      "“color”, “date”, “datetime-local”, “email”, “hidden”, “month”, “number”, “password”, "
                      "“range”, “search”, “tel”, “text”, “time”, “url”, or “week”."]


def test_no_bib_key_in_the_text_a_reader_reads(repo_site: Path) -> None:
    hits = bib_keys_in_reader_text(repo_site)
    print(*hits, sep="\n")
    assert hits == []


def test_the_matrix_names_its_sources_for_a_reader(repo_site: Path) -> None:
    page = (repo_site / "interventions" / "oral-micronized-progesterone" / "index.html").read_text(encoding="utf-8")
    assert ('<li><em>High</em>: Best design present: Randomised controlled trial (<a '
            'href="../../references/andreen2005relationship/">Andréen 2005</a>). A randomised controlled trial '
            'in humans.</li>') in page


IRWIG = {"irwig2012depressive": NamedSource("irwig2012depressive", "Irwig [2012]", "../references/irwig2012depressive.md")}


@pytest.mark.parametrize(("text", "expected"), [
    ("Risk of bias: some concerns (irwig2012depressive).",
     "Risk of bias: some concerns ([Irwig &#91;2012&#93;](../references/irwig2012depressive.md))."),
    ("irwig2012depressive,  irwig2012depressive and *more*",
     "[Irwig &#91;2012&#93;](../references/irwig2012depressive.md), "
     "[Irwig &#91;2012&#93;](../references/irwig2012depressive.md) and &#42;more&#42;"),
    # only whole keys: not inside a longer key, a claim id or an underscored name
    ("irwig2012depressive-x, xirwig2012depressive, irwig2012depressive_2 [n]",
     "irwig2012depressive-x, xirwig2012depressive, irwig2012depressive&#95;2 &#91;n&#93;"),
    ("# no key here", "&#35; no key here"),
])
def test_linked_text_links_whole_keys_and_keeps_the_rest_inert(text: str, expected: str) -> None:
    assert linked_text(text, IRWIG) == expected
