"""The evidence matrix in a reader's words (issue 15 item 6): on every intervention page of the
repository's built site, no design id where its label belongs (`rct`), no claim linked by its id
(`[vaginal-dose-dependent-rise](#claim-…)`) nor written out in a trail step, no field name (`risk_of_bias`) and no rule id in code
beside a trail step (tools/reader_words.py `matrix_words`). The detector itself is tried on small
pages first, so that an empty list from the site means something."""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import REPO

sys.path.insert(0, str(REPO / "tools"))
from reader_words import matrix_words  # noqa: E402 - tools/ is not a package

OLD_WORDS = """<article><h2 id="summary">Summary</h2><p>An rct; see <a href="#claim-a-b">a-b</a>.</p>
<h2 id="evidence">Evidence by outcome and population</h2>
<ul><li><a href="../../references/x/">X 2020</a>: Randomised controlled trial; supported for
<a href="#claim-a-b">a-b</a> and <a href="#claim-c-d">The dose raised levels</a></li></ul>
<ol><li><em>High</em> (<code>start</code>): Best design present: rct (X 2020).</li></ol>
<ul><li>A risk-of-bias assessment of X 2020 (appraisal, risk&#95;of&#95;bias, in its citation record).</li>
<li>A meta-analysis, a cohort study, a case-report.</li>
<li>Inconsistency (c-d: increases; a-b: mixed).</li></ul>
<h3 id="claim-a-b">A</h3><h3 id="claim-c-d">C</h3>
<h2 id="at-a-glance">At a glance</h2><p>rct <a href="#claim-c-d">c-d</a> risk_of_bias</p></article>"""


def page(tmp_path: Path, html: str) -> Path:
    (tmp_path / "interventions" / "x").mkdir(parents=True)
    (tmp_path / "interventions" / "x" / "index.html").write_text(html, encoding="utf-8")
    return tmp_path


def test_the_detector_finds_each_maintainers_word_in_the_matrix_only(tmp_path: Path) -> None:
    assert matrix_words(page(tmp_path, OLD_WORDS)) == [
        "interventions/x/index.html: design id rct in \"…ls High ( start ): Best design present: rct (X 2020). A risk-of…\"",
        "interventions/x/index.html: design id case-report in \"…rd). A meta-analysis, a cohort study, a case-report. Inconsistency (c-d…\"",
        "interventions/x/index.html: claim linked by its id a-b",
        "interventions/x/index.html: claim id a-b in the text",  # the link's text
        "interventions/x/index.html: claim id c-d in the text",
        "interventions/x/index.html: claim id a-b in the text",
        "interventions/x/index.html: field name risk_of_bias",
        "interventions/x/index.html: 1 code element(s) in the matrix",
    ]


def test_the_detector_passes_a_matrix_in_a_readers_words(tmp_path: Path) -> None:
    html = ('<article><h2 id="evidence">Evidence</h2><p>Best design present: Randomised controlled trial; '
            'a meta-analysis; supported for <a href="#claim-a-b">The dose raised levels</a>.</p></article>')
    assert matrix_words(page(tmp_path, html)) == []


def test_the_matrix_of_every_intervention_page_is_in_a_readers_words(repo_site: Path) -> None:
    hits = matrix_words(repo_site)
    print(*hits, sep="\n")
    assert hits == []
    assert len(list((repo_site / "interventions").glob("*/index.html"))) > 10  # the pages were read
