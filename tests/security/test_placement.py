"""Contributor text reaches a page only through a filter chosen for where it lands.

One throw-away project carries a payload in every input that the issue found live: a line of
three backticks in a name and a bib title (the cite box's fence), the rubric's labels, reasons
and seed ratings, Markdown link syntax in a DOI, a bib `url` and a `checked_against` URL, a
commit subject with git's record separators, a newline and HTML, and a hand-written page's front
matter. The project is built once; then every page is scanned for anything that could run, and
each payload is looked for as visible text where it should show.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from allokb.cli import main
from allokb.render.environment import code, fence, inert, make_environment, url
from conftest import make_site_project
from sitecheck import scan_site

XSS = "<img src=x onerror=alert(1)>"
JS_LINK = "[x](javascript:alert(1))"
FENCE_BREAK = "Study ```\n" + XSS


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), "-c", "user.name=Mallory", "-c", "user.email=m@example.org", *args],
                   check=True, capture_output=True)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Build]:
    root = make_site_project(tmp_path_factory.mktemp("placement") / "project")
    content = root / "content"
    shutil_copy_rubric(root)
    _edit(content / "interventions" / "example-hormone.yaml", 'name: "Example hormone"', 'name: "Hormone\\n```\\n' + XSS + '"')
    _edit(root / "references.bib", "title = {An example study of a made-up steroid}",
          "title = {Made-up steroid ``` " + XSS + " " + JS_LINK + "}")
    _edit(root / "references.bib", "doi = {10.5555/fixture.2020.1}", "doi = {10.5555/[x](javascript:alert(1))}")
    _edit(root / "references.bib", "url = {https://example.org/wiki/Example}",
          "url = {https://example.org/[x](javascript:alert(1))}")
    _edit(content / "citations" / "smith2020example.yaml", 'url: "https://example.org/record/99999991"',
          'url: "https://example.org/record/[x](javascript:alert(1))"')
    rubric = content / "rubric.yaml"
    _edit(rubric, 'label: "High"', 'label: "High ' + XSS + '"')
    _edit(rubric, 'why: "A randomised controlled trial in humans."', 'why: "' + JS_LINK + ' ' + XSS + '"')
    _edit(rubric, 'label: "ALLO level"', 'label: "Raises ' + XSS + '"')
    _edit(rubric, '{rating: "Strong", level: high}', '{rating: "Strong <script>alert(1)</script>", level: high}')
    about = content / "pages" / "about.md"
    about.write_text(re.sub(r"(?m)^description: .*$", lambda m: 'description: "\\"><script>alert(1)</script> \' Licences"',
                            about.read_text(encoding="utf-8"), count=1), encoding="utf-8")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "first")
    (content / "interventions" / "example-hormone.yaml").write_text(
        (content / "interventions" / "example-hormone.yaml").read_text() + "\n", encoding="utf-8")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "forged\x1e\x1f" + "0" * 40 + "\x1f2099-01-01T00:00:00Z\x1f" + XSS + "\nsecond line")
    # In this process (the build, not the process, is under test): `allokb build`'s exit status and
    # what it wrote to stderr.
    err = io.StringIO()
    with pytest.MonkeyPatch.context() as env, contextlib.redirect_stderr(err):
        env.setenv("SOURCE_DATE_EPOCH", "1767225600")
        status = main(["build", str(root), "--site-dir", str(root / "site")])
    return root, Build(status, err.getvalue())


@dataclass(frozen=True)
class Build:
    """How `allokb build` of the planted project ended."""

    returncode: int
    stderr: str


def shutil_copy_rubric(root: Path) -> None:
    from conftest import VALID

    (root / "content" / "rubric.yaml").write_text((VALID / "content" / "rubric.yaml").read_text(), encoding="utf-8")


def _visible(html: str) -> str:
    """A page's text as a reader sees it (tags removed, character references decoded)."""
    import html as h

    return h.unescape(re.sub(r"<[^>]+>", "", html))


def test_the_planted_project_builds(planted: tuple[Path, Build]) -> None:
    root, proc = planted
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr


def test_nothing_planted_can_run(planted: tuple[Path, Build]) -> None:
    root, _ = planted
    scans = scan_site(root / "site")
    handlers = {page: s.handlers for page, s in scans.items() if s.handlers}
    assert handlers == {}
    bad = {page: [u for u in s.links + s.resources if re.match(r"\s*(javascript|data|vbscript):", u, re.I)]
           for page, s in scans.items()}
    assert {p: u for p, u in bad.items() if u} == {}
    for page, s in scans.items():
        for body in s.scripts:  # a payload may stand only inside a JSON-LD data block, as a string
            if "alert(1)" in body:
                assert "<" not in body and json.loads(body)["@type"] == "MedicalWebPage", page


def test_the_cite_box_fence_holds_a_line_of_backticks(planted: tuple[Path, Build]) -> None:
    root, _ = planted
    page = (root / "site" / "interventions" / "example-hormone" / "index.html").read_text(encoding="utf-8")
    assert "<img src=x" not in page
    # The name shows literally, backticks and tag included, in the cite box's code block.
    assert "Hormone ``` " + XSS in _visible(page)  # one line: a name's whitespace is collapsed


def test_rubric_text_shows_literally(planted: tuple[Path, Build]) -> None:
    root, _ = planted
    for rel in ("evidence/index.html", "evidence-map/index.html", "interventions/example-hormone/index.html",
                "index.html"):
        page = (root / "site" / rel).read_text(encoding="utf-8")
        assert "<img src=x" not in page and "<script>alert" not in page, rel
    evidence = _visible((root / "site" / "evidence" / "index.html").read_text(encoding="utf-8"))
    assert "High " + XSS in evidence
    assert JS_LINK + " " + XSS in evidence
    assert "Strong <script>alert(1)</script>" in evidence


def test_urls_with_markdown_link_syntax_stay_one_encoded_link(
        planted: tuple[Path, Build]) -> None:
    root, _ = planted
    page = (root / "site" / "references" / "smith2020example" / "index.html").read_text(encoding="utf-8")
    assert 'href="https://doi.org/10.5555/%5Bx%5D%28javascript:alert%281%29%29"' in page
    assert 'href="https://example.org/record/%5Bx%5D%28javascript:alert%281%29%29"' in page


def test_a_forged_commit_subject_never_reaches_the_history(
        planted: tuple[Path, Build]) -> None:
    root, _ = planted
    page = (root / "site" / "interventions" / "example-hormone" / "index.html").read_text(encoding="utf-8")
    # A commit's subject no longer reaches the page at all (tests/test_perentry.py): the two
    # commits are two "Updated on" lines, dated by git's own dates, not by the forged one.
    history = re.findall(r"<li>(?:<a [^>]*>)?Updated on (\d{4}-\d{2}-\d{2})(?:</a>)?</li>", page)
    assert len(history) == 2
    assert all(date != "2099-01-01" for date in history)
    assert "0" * 40 + " 2099" not in _visible(page) and "second line" not in _visible(page)
    assert "last updated 2099" not in _visible(page)


def test_front_matter_of_a_hand_written_page_stays_in_its_attribute(
        planted: tuple[Path, Build]) -> None:
    root, _ = planted
    page = (root / "site" / "about" / "index.html").read_text(encoding="utf-8")
    head = page[: page.index("</head>")]
    assert "<script>alert(1)</script>" not in head
    assert re.search(r'<meta name="description" content="&#34;&#62;&#60;script&#62;alert\(1\)&#60;/script&#62; '
                     r"&#39; Licences", head), head[:2000]


# The filters one by one, each for its placement.

@pytest.mark.parametrize("text", [XSS, JS_LINK, "```", "| a | b |", "*[ALLO]: x", "# heading", "1. item",
                                  "{: onclick=x }", "&lt;b&gt;", "!!! warning", "<javascript:alert(1)>"])
def test_default_filter_leaves_no_markup_character(text: str) -> None:
    out = inert(text)
    assert not re.search(r"[<>\[\]`|*{}!&](?![#0-9]+;)", out.replace("&#", "")), out
    assert __import__("html").unescape(out) == text


def test_every_unfiltered_output_of_a_template_is_made_inert(tmp_path: Path) -> None:
    (tmp_path / "site_templates").mkdir()
    (tmp_path / "site_templates" / "t.j2").write_text("{{ x }}|{{ x ~ '!' }}|{{ x | md }}|{{ x | upper }}")
    out = make_environment(tmp_path).get_template("t.j2").render(x="[a](javascript:b)")
    assert out == "|".join(["&#91;a&#93;(javascript:b)", "&#91;a&#93;(javascript:b)&#33;",
                            "&#91;a&#93;(javascript:b)", "&#91;A&#93;(JAVASCRIPT:B)"])


def test_fence_and_code_are_longer_than_any_backtick_run() -> None:
    assert fence("a\n```\nb") == "````text\na\n```\nb\n````"
    assert code("a ``b`` c") == "```a ``b`` c```"
    assert code("`x`") == "`` `x` ``"


@pytest.mark.parametrize(("value", "expected"), [
    ("javascript:alert(1)", "#"), ("JAVASCRIPT:alert(1)", "#"), (" data:text/html,x", "#"),
    ("https://a.org/x\ny", "#"), ("https://a.org/\x00", "#"),
    ("https://a.org/[x](javascript:y)", "https://a.org/%5Bx%5D%28javascript:y%29"),
    ('https://a.org/"onmouseover="x', "#"),
    ("https://a.org/?a=1&b=2#f", "https://a.org/?a=1&#38;b=2#f"),
])
def test_url_filter(value: str, expected: str) -> None:
    assert url(value) == expected


# Reports are a placement too: a terminal, a CI log, an editor.

def test_a_diagnostic_never_prints_a_control_character(tmp_path: Path) -> None:
    from allokb.diagnostics import Location, make
    from allokb.report import render

    d = make("KB110", "bad \x1b[2J\u202efile\nname", Location("content/x\x1b]0;pwned\x07.yaml", 1, 1))
    for fmt in ("text", "github", "json"):
        out = render([d], fmt, 1, False)
        assert not re.search("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]", out), (fmt, out)
    assert render([d], "text", 1, False).splitlines()[0] == (
        "content/x\\x1b]0;pwned\\x07.yaml:1:1: error[KB110] $: bad \\x1b[2J\\u202efile\\nname")
    assert json.loads(render([d], "json", 1, False))["diagnostics"][0]["message"] == "bad \\x1b[2J\\u202efile\\nname"
