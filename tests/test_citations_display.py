"""Citations a reader can read: "[4] Andréen 2006 · RCT, n = 43 · Supported" without opening
anything, `[n]` linking to the page's reference list, the best supporting quote open, the post's
own numbering written "post ref 12", verdicts told apart without colour; and pages that fit a
phone (no word split mid-word at 375 px, wide tables scrolling with a sticky first column)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from browser import Pages, scroll_width
from conftest import REPO, VALID, make_project

from allokb.diagnostics import Location
from allokb.grade import matrix_data
from allokb.model import Appraisal, Reference
from allokb.project import check_project
from allokb.render import SiteInfo, render_site
from allokb.render.citations import (
    format_references,
    post_numbering,
    post_refs,
    short_source,
    study_summary,
)
from allokb.render.views import CiteView, mark_best_quote

SITE = SiteInfo(site_name="Allopregnanolone Evidence Atlas", site_url="https://allo-atlas.github.io/atlas/",
                repo_url=None, branch="main", updated={}, build_date="2026-12-01")


def _ref(authors: str | None, **fields: str) -> Reference:
    return Reference("k", "article", tuple(fields.items()), authors, None, Location("references.bib", 1, 1))


# --- the words of a citation -------------------------------------------------------------------

@pytest.mark.parametrize(("ref", "name"), [
    (_ref(r"Andr{\'e}en, Lotta and Nyberg, Sigrid", year="2006"), "Andréen 2006"),
    (_ref("de Wit, Harriet and others", year="2001"), "de Wit 2001"),
    (_ref("{Monash University}", year="2023"), "Monash University 2023"),
    (_ref(None, organization="U.S. Food and Drug Administration", year="2019"), "U.S. Food and Drug Administration 2019"),
    (_ref(None, title="Anxiolytic metabolites of progesterone: correlation with mood", year="1993"),
     "Anxiolytic metabolites of progesterone: correlation… 1993"),
    (_ref(None, title="Pregnenolone Capsules"), "Pregnenolone Capsules"),  # no year recorded: none printed
])
def test_short_source(ref: Reference, name: str) -> None:
    assert short_source(ref) == name


def _citation(design: str, sample_size: int | None = None, **appraisal: Any) -> SimpleNamespace:
    return SimpleNamespace(design=design, sample_size=sample_size, appraisal=Appraisal(**appraisal))


@pytest.mark.parametrize(("citation", "text"), [
    (_citation("rct", 43), "RCT, n = 43"),
    (_citation("rct", None, randomised=29), "RCT, n = 29"),
    (_citation("cohort", None, analysed=12), "cohort study, n = 12 analysed"),
    (_citation("rct", None, randomised="unchecked", analysed="not-reported"), "RCT"),  # never guessed
    (_citation("review"), "review"),
    (_citation("in-vitro"), "lab study (cells)"),
    (None, ""),
])
def test_study_summary(citation: Any, text: str) -> None:
    assert study_summary(citation) == text


@pytest.mark.parametrize(("text", "written"), [
    ("This explains why low doses can worsen mood. [3,14]", "This explains why low doses can worsen mood. [post refs 3, 14]"),
    ("Rate-limiting [16]", "Rate-limiting [post ref 16]"),
    ("Avoid | Strong | 17-21", "Avoid | Strong | 17-21"),
    ("see [17-21] and [x]", "see [post refs 17-21] and [x]"),
])
def test_post_numbering(text: str, written: str) -> None:
    assert post_numbering(text) == written


def test_post_refs() -> None:
    assert (post_refs([12]), post_refs([17, 21]), post_refs([])) == ("post ref 12", "post refs 17, 21", "")


def _cite(support: str, quote: str | None) -> CiteView:
    return CiteView(1, "k", support, support, None, quote, None, "x.md")


def test_best_quote_is_the_first_supported_else_the_first_partial_with_a_quote() -> None:
    cites = mark_best_quote([_cite("partial", "a"), _cite("supported", None), _cite("supported", "b"),
                             _cite("supported", "c")])
    assert [c.open for c in cites] == [False, False, True, False]
    cites = mark_best_quote([_cite("unchecked", "a"), _cite("partial", " "), _cite("partial", "b")])
    assert [c.open for c in cites] == [False, False, True]
    assert [c.open for c in mark_best_quote([_cite("not-supported", "a")])] == [False]


def test_a_work_without_author_prints_its_title_once() -> None:
    ref = _ref(None, title="A study of nothing", journal="Journal of Tests", year="2020", volume="3", pages="1--2")
    assert format_references([ref]) == {"k": "A study of nothing. <i>Journal of Tests</i>. 2020;3:1-2."}
    # With an author, the title stays where it is.
    ref = _ref("Smith, Jane", title="A study of nothing", journal="Journal of Tests", year="2020")
    assert format_references([ref]) == {"k": "Smith J. A study of nothing. <i>Journal of Tests</i>. "
                                              "Published online 2020."}


def test_formatting_kept_from_an_earlier_render_is_formatting_afresh(repo_check: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A reference this process formatted before is not formatted again (`_FORMATTED`): the text
    kept is the text citeproc gives now, alone or among all the others, and a changed reference is
    formatted again."""
    import allokb.render.citations as citations

    refs = sorted(repo_check.kb.references.values(), key=lambda r: r.key)
    monkeypatch.setattr(citations, "_FORMATTED", {})
    afresh = format_references(refs)
    assert len(citations._FORMATTED) == len(refs) > 50
    alone = {}
    for ref in refs[::7]:  # kept, one at a time: what formatting them all gave
        monkeypatch.setattr(citations, "_FORMATTED", {})
        alone |= format_references([ref])
    assert alone == {ref.key: afresh[ref.key] for ref in refs[::7]}
    monkeypatch.setattr(citations, "_FORMATTED", {})
    format_references(refs[::7])
    kept = format_references(refs)  # some kept, the rest formatted now
    assert kept == afresh and list(kept) == [r.key for r in refs]
    changed = dataclasses.replace(refs[0], fields=tuple((k, v + " (edited)" if k == "title" else v)
                                                        for k, v in refs[0].fields))
    assert "(edited)" in format_references([changed])[changed.key]


# --- on the page -------------------------------------------------------------------------------

def _pages(root: Path) -> dict[str, str]:
    result = check_project(root)
    assert not result.failed()
    site = render_site(REPO, result.kb, SITE, {k: matrix_data(result.rubric, g) for k, g in result.grades.items()},
                       result.rubric)
    return {p.src_uri: p.markdown for p in site.pages}


def test_a_citation_reads_without_opening_anything() -> None:
    page = _pages(VALID)["interventions/example-hormone.md"]
    assert ('<span class="allokb-cite-n">[[1]](#ref-1)</span> [Smith 2020](../references/smith2020example.md) · '
            'RCT, n = 40 · <span class="allokb-verdict allokb-v-supported">Supported</span> · machine-checked\n'
            '{: .allokb-cite }\n\n'
            '???+ quote "Quote (abstract)"\n'
            '    > serum levels rose three-fold\n') in page
    assert '<li id="ref-1" value="1">' in page  # where [1] leads
    assert ('<p class="allokb-seed">The source post said: “Example hormone triples levels”, citing post ref 1.</p>'
            in page)


def test_the_post_numbering_inside_its_words_and_two_refs(tmp_path: Path) -> None:
    root = make_project(tmp_path / "kb")
    hormone = root / "content/interventions/example-hormone.yaml"
    hormone.write_text(hormone.read_text(encoding="utf-8").replace(
        'text: "Example hormone triples levels"\n      refs: [1]',
        'text: "Example hormone triples levels [1,2]"\n      refs: [1, 2]'), encoding="utf-8")
    page = _pages(root)["interventions/example-hormone.md"]
    assert ("The source post said: “Example hormone triples levels &#91;post refs 1, 2&#93;”, citing post refs 1, 2."
            in page)


def test_a_citation_without_quote_or_note_has_nothing_to_open() -> None:
    page = _pages(VALID)["mechanisms/step-two.md"]
    assert ('<span class="allokb-cite-n">[[1]](#ref-1)</span> [Smith 2020](../references/smith2020example.md) · '
            'RCT, n = 40 · <span class="allokb-verdict allokb-v-unchecked">Not yet checked</span>\n'
            '{: .allokb-cite }\n\n\n') in page
    assert "???" not in page


def test_contributor_text_in_a_citation_is_inert(tmp_path: Path) -> None:
    root = make_project(tmp_path / "kb")
    bib = root / "references.bib"
    bib.write_text(bib.read_text(encoding="utf-8").replace("author = {Smith, Jane and",
                                                           "author = {{[x](javascript:alert(1))} and"),
                   encoding="utf-8")
    page = _pages(root)["interventions/example-hormone.md"]
    assert "[&#91;x&#93;(javascript:alert(1)) 2020](../references/smith2020example.md)" in page


# --- in a browser ------------------------------------------------------------------------------

PAGE = "interventions/oral-micronized-progesterone/"

CITE_LINES = """ps => ps.map(p => ({
        text: p.innerText, href: p.querySelector('a').getAttribute('href'),
        target: !!document.getElementById(p.querySelector('a').getAttribute('href').slice(1)),
        verdict: p.querySelector('.allokb-verdict').className,
        open: !!(p.nextElementSibling && p.nextElementSibling.matches('details[open]'))}))"""
#: one span of each verdict added to the article (so it changes the page: the last probe), its style
VERDICT_STYLES = """() => Object.fromEntries(['supported', 'partial', 'not-supported', 'unchecked'].map(v => {
        const el = document.createElement('span');
        el.className = 'allokb-verdict allokb-v-' + v;
        document.querySelector('article').appendChild(el);
        const s = getComputedStyle(el), b = getComputedStyle(el, '::before');
        return [v, {style: s.borderTopStyle, colour: s.borderLeftColor, icon: b.content}];
    }))"""


@pytest.fixture(scope="module")
def wide(tabs: Any, repo_url: str) -> Iterator[dict[str, Pages]]:
    """The repository's pages at 1366 px, in the light and the dark scheme, each loaded once."""
    schemes = {scheme: Pages(tabs, repo_url, {
        "lines": lambda pg: pg.eval_on_selector_all("p.allokb-cite", CITE_LINES),
        "seed": lambda pg: pg.eval_on_selector_all("p.allokb-seed", "ps => ps.map(p => p.innerText)"),
        "styles": lambda pg: pg.evaluate(VERDICT_STYLES)}, viewport={"width": 1366, "height": 900}, color_scheme=scheme)
        for scheme in ("light", "dark")}
    yield schemes
    for pages in schemes.values():
        pages.close()


@pytest.mark.browser
def test_citations_on_a_real_page(wide: dict[str, Pages]) -> None:
    lines = wide["light"](PAGE)["lines"]
    assert len(lines) >= 10
    for line in lines:
        assert re.fullmatch(r"\[\d+\] \S.* · \S.*", line["text"]), line
        assert re.fullmatch(r"#ref-\d+", line["href"]) and line["target"], line
    assert any(" · RCT, n = " in line["text"] for line in lines)
    opened = [line for line in lines if line["open"]]
    assert opened and all(re.search(r"allokb-v-(supported|partial)\b", line["verdict"]) for line in opened)
    # The post's numbering never looks like the page's: no bare [n] outside the page's own citations.
    seed = " ".join(wide["light"](PAGE)["seed"])
    assert "post ref" in seed and not re.search(r"(?<!post refs )(?<!post ref )\[\d+(, ?\d+)*\]", seed)


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_each_verdict_has_its_icon_word_and_border_not_only_a_colour(wide: dict[str, Pages], scheme: str) -> None:
    styles = wide[scheme](PAGE)["styles"]
    assert len({s["style"] for s in styles.values()}) == 4
    assert len({s["icon"] for s in styles.values()}) == 4
    grey = [int(x) for x in re.findall(r"\d+", styles["unchecked"]["colour"])[:3]]
    assert max(grey) - min(grey) <= 8  # "Not yet checked" is a neutral grey (it was lime)
    supported = [int(x) for x in re.findall(r"\d+", styles["supported"]["colour"])[:3]]
    assert max(supported) - min(supported) > 60  # and "Supported" is a colour, not grey


#: pages with tables and long words, at 375 px
PHONE_PAGES = ["corrections/", PAGE, "interventions/", "interventions/avoid-5a-reductase-inhibitors/",
               "references/irwig2012depressive/", "evidence/"]

#: the words of the article that a line break splits (a word with a hyphen or other punctuation
#: inside may break there: only a break between two letters or digits counts; a web address, which
#: has no word boundary to break at, may break anywhere)
SPLIT_WORDS = """() => {
  const out = [], range = document.createRange();
  const walker = document.createTreeWalker(document.querySelector('article'), NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    if (node.parentElement.closest('pre, code, svg')) continue;
    const chunks = /\\S+/g;
    let chunk;
    while ((chunk = chunks.exec(node.data))) {
      if (/:\\/\\/|^www\\./.test(chunk[0])) continue;
      const re = /[\\p{L}\\p{N}]+/gu;
      let m;
      while ((m = re.exec(chunk[0]))) {
        range.setStart(node, chunk.index + m.index);
        range.setEnd(node, chunk.index + m.index + m[0].length);
        const rects = Array.from(range.getClientRects()).filter(r => r.width > 0);
        if (new Set(rects.map(r => Math.round(r.top))).size > 1) out.push(m[0]);
      }
    }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def phone(tabs: Any, repo_url: str) -> Iterator[Pages]:
    """The repository's pages at 375 px, each loaded once: its split words, how its text wraps,
    its width, then its wide tables scrolled sideways (the probe that changes the page, last)."""
    pages = Pages(tabs, repo_url, {
        "split": lambda pg: pg.evaluate(SPLIT_WORDS),
        "wrap": lambda pg: pg.evaluate("getComputedStyle(document.querySelector('article td, article p')).overflowWrap"),
        "width": scroll_width,
        "tables": lambda pg: pg.evaluate(SCROLL_TABLES)}, viewport={"width": 375, "height": 800})
    yield pages
    pages.close()


@pytest.mark.browser
@pytest.mark.parametrize("path", PHONE_PAGES)
def test_no_word_is_split_at_375px(phone: Pages, path: str) -> None:
    seen = phone(path)
    assert seen["split"] == []
    assert seen["wrap"] != "anywhere"
    assert seen["width"] <= 375


#: every table wider than its container on the page, scrolled sideways by 150 px: how far its
#: first column is from where a sticky column would be (its place, or the container's left edge once
#: it reaches it), and how far its second column is from where the scroll took it
SCROLL_TABLES = """() => Array.from(document.querySelectorAll('.md-typeset__scrollwrap, .allokb-table-wrap'))
    .filter(wrap => wrap.scrollWidth > wrap.clientWidth + 1).map(wrap => {
      const first = wrap.querySelector('tbody tr td:first-child'), second = first.nextElementSibling;
      const edge = wrap.getBoundingClientRect().left + wrap.clientLeft;
      const before = [first.getBoundingClientRect().left, second.getBoundingClientRect().left];
      wrap.scrollLeft = 150;
      const after = [first.getBoundingClientRect().left, second.getBoundingClientRect().left];
      return [wrap.querySelector('th').textContent, Math.round(after[0] - Math.max(edge, before[0] - wrap.scrollLeft)),
              Math.round(after[1] - before[1] + wrap.scrollLeft)];
    })"""


@pytest.mark.browser
@pytest.mark.parametrize("path", ["interventions/", "interventions/zuranolone/", "evidence/"])
def test_a_wide_table_scrolls_with_its_first_column_in_view(phone: Pages, path: str) -> None:
    tables = phone(path)["tables"]
    assert tables  # at 375 px these pages have tables wider than the screen
    for header, first, second in tables:
        assert first == 0, header  # the first column stays in view
        assert second == 0, header  # the others scroll under it
