"""The reference page shows the record: every quote the site takes from the source, where it is
used and how it was checked (with the link to the committed text), and, collapsed, the
maintainers' record of how the reference was checked. Asserted on a real build of the fixture."""

from __future__ import annotations

import posixpath
from pathlib import Path

import pytest
from selectolax.parser import HTMLParser, Node

from allokb.cli import main
from conftest import make_site_project

HOSTILE = ("</details><script>alert(1)</script><img src=x onerror=alert(1)> [x](javascript:alert(1)) "
           "{{ 7*7 }} ??? danger \"t\"")
NOTE = "CURATOR-NOTE: the issue number is printed on no record."
#: markup the post-build audit would let through: only the escaping keeps it text
MARKUP = "</details><b>not bold</b> [not a link](https://example.org/x) *not emphasised*"
SEARCHED = ["PubMed: exact title \u2192 PMID 99999991", MARKUP, HOSTILE]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture built, its smith2020example record saying what was searched and what is
    missing (one search hostile), and a quote on a citation the check does not look at."""
    root = make_site_project(tmp_path_factory.mktemp("refpage") / "project")
    record = root / "content" / "citations" / "smith2020example.yaml"
    text = record.read_text(encoding="utf-8")
    fields = "      fields: [author, title, journal, year, volume, pages, doi, pmid]\n"
    assert fields in text
    searched = "".join(f"    - {_yaml(s)}\n" for s in SEARCHED)
    record.write_text(text.replace(fields, fields + f"  searched:\n{searched}  missing: [number]\n"
                                   f"  notes: {_yaml(NOTE)}\n"), encoding="utf-8")
    mechanism = root / "content" / "mechanisms" / "step-two.yaml"
    text = mechanism.read_text(encoding="utf-8")
    assert text.count("        support: unchecked\n") == 1
    mechanism.write_text(text.replace("        support: unchecked\n", "        support: unchecked\n        quote: "
                                      "\"5\u03b1-reductase activity was unchanged\"\n"), encoding="utf-8")
    assert main(["build", str(root), "--site-dir", str(root / "site")]) == 0
    return root / "site"


def _yaml(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def page(site: Path, key: str) -> HTMLParser:
    return HTMLParser((site / "references" / key / "index.html").read_text(encoding="utf-8"))


def uses(tree: HTMLParser) -> list[Node]:
    """The items of the list of quotes: the first list after the heading `#quotes`."""
    heading = tree.css_first("h2#quotes")
    assert heading is not None
    node = heading.next
    while node is not None and node.tag != "ul":
        node = node.next
    assert node is not None
    return node.css("li")


def resolves(site: Path, page_dir: str, href: str) -> Path:
    """The built file a relative link of the page at `page_dir` points to."""
    return site / posixpath.normpath(posixpath.join(page_dir, href))


def test_every_quote_is_listed_with_where_it_is_used_and_its_check(site: Path) -> None:
    tree = page(site, "smith2020example")
    machine = "machine-checked against the committed abstract"
    assert [(li.text(), li.css_first("span.allokb-quote-check").attributes["data-check"]) for li in uses(tree)] == [
        ("\u201cserum levels rose three-fold\u201d \u2014 What it shows: The made-up steroid rose after the example "
         f"dose. \u00b7 {machine}", "machine"),
        ("\u201cserum levels rose three-fold\u201d \u2014 Example hormone: The example dose tripled serum levels. "
         f"(Supported) \u00b7 {machine}", "machine"),
        ("\u201cserum levels rose three-fold\u201d \u2014 Example hormone: Dose reported: the example dose (Partly supported) "
         f"\u00b7 {machine}", "machine"),
        ("\u201c5\u03b1-reductase activity was unchanged\u201d \u2014 Step two: Enzyme B makes the product. (Not yet "
         "checked) \u00b7 not checked against the source: the check looks only at supported and partly supported "
         "citations", "none"),
    ]
    assert [[a.attributes["href"] for a in li.css("a")] for li in uses(tree)] == [
        ["#findings", "../../sources/smith2020example.txt"],
        ["../../interventions/example-hormone/#claim-raises-level", "../../sources/smith2020example.txt"],
        ["../../interventions/example-hormone/#dosing", "../../sources/smith2020example.txt"],
        ["../../mechanisms/step-two/#claim-second-step"],
    ]
    # The link leads to the text the quotes were checked against.
    text = resolves(site, "references/smith2020example", "../../sources/smith2020example.txt")
    assert "serum levels rose three\u2011fold" in text.read_text(encoding="utf-8")
    intro = tree.css_first("h2#quotes").next.next
    assert intro.text() == ("The site checks these quotes by machine against the abstract committed with it "
                            "(retrieved 2026-11-27 from https://example.org/record/99999991): read the text.")
    assert [a.attributes["href"] for a in intro.css("a")] == ["https://example.org/record/99999991",
                                                              "../../sources/smith2020example.txt"]


def test_quotes_without_a_committed_text_say_they_were_checked_by_hand_and_why(site: Path) -> None:
    tree = page(site, "examplewiki2024page")
    assert [(li.text(), li.css_first("span.allokb-quote-check").attributes["data-check"]) for li in uses(tree)] == [
        ("\u201cfelt lousy\u201d \u2014 Example hormone: One reader reported feeling unwell. (Supported) \u00b7 "
         "checked by hand: no source text is committed", "hand")]
    assert tree.css_first("h2#quotes").next.next.text() == (
        "No source text is committed for this source: its quotes were checked by hand.")


def test_how_this_was_checked_is_collapsed_and_holds_the_record(site: Path) -> None:
    tree = page(site, "smith2020example")
    details = tree.css("article details")
    assert len(details) == 1
    section = details[0]
    assert "open" not in section.attributes
    assert section.attributes["class"] == "note"
    assert section.css_first("summary").text() == "How this was checked"
    assert [p.text() for p in section.css("p")] == [
        "Checked on 2026-11-27 against these records, with the fields seen on each:",
        "What was searched, and what it gave:",
        "Found on no record searched, though the publication has them: number.",
        f"Notes: {NOTE}"]
    lists = section.css("ul")
    assert [li.text() for li in lists[0].css("li")] == [
        "https://example.org/record/99999991: author, title, journal, year, volume, pages, doi, pmid"]
    assert [li.text() for li in lists[1].css("li")] == SEARCHED
    # It follows the status line of the Verification section.
    status = tree.css_first("h2#verification").next.next
    assert status.text() == "Status: Verified, checked on 2026-11-27."


def test_curator_words_appear_only_inside_the_section(site: Path) -> None:
    tree = page(site, "smith2020example")
    for node in tree.css("details"):
        node.decompose()
    rest = tree.html or ""
    for words in [NOTE, "CURATOR-NOTE", "exact title", "onerror", "7*7", "danger"]:
        assert words not in rest, words


def test_a_hostile_search_record_stays_inert(site: Path) -> None:
    tree = page(site, "smith2020example")
    assert [img for img in tree.css("img") if "onerror" in img.attributes] == []
    assert [a for a in tree.css("a") if (a.attributes.get("href") or "").lower().startswith("javascript")] == []
    assert [s for s in tree.css("script") if "alert" in s.text()] == []
    assert [b for b in tree.css("article b, article em") if "not" in b.text()] == []
    assert [a for a in tree.css("a") if a.attributes.get("href") == "https://example.org/x"] == []
    # `</details>` in the text did not end the section early: everything after it is still inside.
    section = tree.css_first("article details")
    assert [li.text() for li in section.css("li")[-2:]] == [MARKUP, HOSTILE]
    assert section.css("p")[-1].text() == f"Notes: {NOTE}"
    assert len(tree.css("details")) == 1
