"""Quotes checked by the machine against the committed source texts (content/sources/<key>.md):
a quote changed by one word fails; the same quote written with other dashes, Greek letters or
white space passes; a source text is read strictly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from allokb.cli import main
from allokb.project import check_project
from allokb import sources
from allokb.sources import QuoteCount, closest_passage, find_quote, normalise, quote_parts
from conftest import VALID, make_project, make_site_project
from sitecheck import broken_links, scan_site

SOURCE = "content/sources/smith2020example.md"
CLAIM = "content/interventions/example-hormone.yaml"
QUOTE = 'quote: "serum levels rose three-fold"'


def check(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(["check", str(root)])
    return status, capsys.readouterr().out


def set_claim_quote(root: Path, quote: str) -> None:
    """Replace the quote of the first claim's citation (the first of three in the file)."""
    path = root / CLAIM
    text = path.read_text(encoding="utf-8")
    assert text.count(QUOTE) == 2
    path.write_text(text.replace(QUOTE, f"quote: {quote}", 1), encoding="utf-8")


def test_fixture_quotes_are_machine_checked(project: Path) -> None:
    result = check_project(project)
    assert not result.failed()
    assert result.quotes == QuoteCount(machine=3, hand=1, not_found=0)  # examplewiki2024page has no text
    assert list(result.kb.sources) == ["smith2020example"]
    source = result.kb.sources["smith2020example"]
    assert (source.url, source.retrieved, source.kind, source.path) == (
        "https://example.org/record/99999991", "2026-11-27", "abstract", SOURCE)
    assert source.text.startswith("Background: The made-up steroid") and source.text.endswith("exists.")


def test_one_word_changed_fails(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    set_claim_quote(project, '"serum levels rose four-fold"')
    assert check(project, capsys) == (1, (
        f"{CLAIM}:22:9: error[KB440] $.claims[0].citations[0]: quote not found in the abstract of "
        f"`smith2020example` ({SOURCE}): \"serum levels rose four-fold\" (closest passage: \"serum levels rose "
        "three\u2011fold\")\ncheck failed: 1 error, 0 warnings in 8 files\n"))


@pytest.mark.parametrize("quote", [
    '"serum levels rose three\u2014fold"',  # em dash for the source's non-breaking hyphen
    '"serum levels rose three\u2212fold"',  # minus sign
    '"serum levels rose threefold"',  # no dash at all
    '"Serum   levels\\trose\\nthree-fold"',  # case, runs of white space, tab and newline
    '"5-alpha reductase activity was unchanged"',  # the source writes 5α-reductase
    '"5alpha-reductase"',
    '"serum levels rose three-fold (p<0.05)"',  # spacing around a sign
    "\"rose \u201cthree-fold\u201d\"",  # typographic quotes
    '"took a single 10 mg \u2026 at bedtime"',  # an ellipsis: parts in order
    '"took a single 10 mg ... at bedtime"',
    '"ｓｅｒｕｍ levels rose three-fold"',  # full-width letters (NFKC)
])
def test_same_quote_written_otherwise_passes(quote: str, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    set_claim_quote(project, quote)
    assert check(project, capsys) == (0, "check passed: 0 errors, 0 warnings in 8 files\n")


@pytest.mark.parametrize("quote", [
    '"serum levels fell three-fold"',  # a word
    '"serum levels rose four-fold"',
    '"serum levels rose three-fold (p > 0.05)"',  # a sign
    '"serum levels rose three-fold (p < 0.5)"',  # a digit
    '"serum levels rose three-fold (p < 005)"',  # a decimal point
    '"5-beta reductase activity was unchanged"',  # another Greek letter
    '"at bedtime ... took a single 10 mg"',  # ellipsis parts out of order
])
def test_other_words_fail(quote: str, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    set_claim_quote(project, quote)
    status, out = check(project, capsys)
    assert status == 1
    assert out.count("error[KB440]") == 1 and out.endswith("check failed: 1 error, 0 warnings in 8 files\n")


def test_reference_without_source_text_is_checked_by_hand(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.remove(project / SOURCE)
    set_claim_quote(project, '"words that appear nowhere"')
    assert check(project, capsys) == (0, "check passed: 0 errors, 0 warnings in 8 files\n")
    assert check_project(project).quotes == QuoteCount(machine=0, hand=4, not_found=0)


def test_unchecked_citation_is_not_looked_for(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = project / "content/mechanisms/step-two.yaml"
    text = path.read_text(encoding="utf-8")
    assert "support: unchecked" in text
    path.write_text(text.replace("support: unchecked", "support: unchecked\n        quote: \"not there\""),
                    encoding="utf-8")
    assert check(project, capsys) == (0, "check passed: 0 errors, 0 warnings in 8 files\n")


def write_source(root: Path, text: str, name: str = "smith2020example.md") -> None:
    (root / "content/sources" / name).write_text(text, encoding="utf-8")


@pytest.mark.parametrize(("text", "expected"), [
    ("serum levels rose three-fold\n", "1:1: error[KB441] $: source text has no header (start the file with `---`, "
     "then `url:`, `retrieved:` and `kind:` lines, then `---`)"),
    ("---\nurl: \"https://example.org/r\"\nretrieved: \"2026-11-27\"\nkind: abstract\n---\n\n",
     "6:1: error[KB441] $: the source text is empty (paste the text as retrieved below the header)"),
    ("---\nurl: \"https://example.org/r\"\nkind: abstract\n---\nserum levels rose three-fold\n",
     "2:1: error[KB441] $: the header has no `retrieved` (give the date it was retrieved as YYYY-MM-DD)"),
    ("---\nurl: \"https://example.org/r\"\nretrieved: \"2026-11-27\"\nkind: abstract\nkind: label\n---\ntext\n",
     "5:1: error[KB104] $.kind: duplicate key `kind` (first defined at line 4, column 1) (remove one of the two "
     "entries; YAML would silently keep the last)"),
    ("---\nurl: \"https://example.org/r\"\nretrieved: 2026-11-27\nkind: abstract\n---\ntext\n",
     "3:12: error[KB109] $.retrieved: unquoted `2026-11-27` is read as a date by YAML 1.1 tools (quote it "
     "(\"2026-11-27\") to keep it text)"),
    ("---\nurl: [1]\nretrieved: \"2026-11-27\"\nkind: abstract\n---\ntext\n",
     "2:6: error[KB441] $.url: `url` must be text, not list (give the http(s) URL the text was retrieved from)"),
])
def test_malformed_source_text(text: str, expected: str, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_source(project, text)
    status, out = check(project, capsys)
    assert (status, out.splitlines()[0]) == (1, f"{SOURCE}:{expected}")


def test_control_character_in_source_text(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_source(project, "---\nurl: \"https://example.org/r\"\nretrieved: \"2026-11-27\"\nkind: abstract\n---\n"
                 "serum levels rose three-fold\u202e\n")
    assert check(project, capsys) == (1, (
        f"{SOURCE}:6:29: error[KB115] $: bidirectional control U+202E (RIGHT-TO-LEFT OVERRIDE) in text (remove it: "
        "control and invisible characters are not allowed)\ncheck failed: 1 error, 0 warnings in 8 files\n"))


def test_linked_source_text_is_refused(project: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    outside = tmp_path / "secret.md"
    outside.write_text((project / SOURCE).read_text(encoding="utf-8"), encoding="utf-8")
    os.remove(project / SOURCE)
    os.symlink(outside, project / SOURCE)
    assert check(project, capsys) == (1, (
        f"{SOURCE}:1:1: error[KB112] $: is a symbolic link; links are never followed (replace the link by a copy "
        "of what it points to, or remove it)\ncheck failed: 1 error, 0 warnings in 8 files\n"))


def test_too_large_source_text_is_refused(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_source(project, "---\nurl: \"https://example.org/r\"\nretrieved: \"2026-11-27\"\nkind: abstract\n---\n"
                 + "word " * 120_000)
    status, out = check(project, capsys)
    assert status == 1
    assert out.startswith(f"{SOURCE}:1:1: error[KB106] $: file is 600,0")


def test_normalisation() -> None:
    assert normalise("5α-Reductase  (p ≤ 0.05) – “done”.") == "5alphareductasep≤0.05done"
    assert normalise("5-alpha reductase") == normalise("5alpha-reductase") == normalise("5α‐reductase")
    assert normalise("p <= 0.05") == normalise("p≤0.05")
    assert normalise("ΑΒΓ ά") == "alphabetagammaalpha"
    assert normalise("Müller") == normalise("Muller")
    assert normalise("1.5 mg. Then") == "1.5mgthen"
    assert quote_parts("a … b [...] c") == ["a", "b", "c"]
    # ASCII text takes a faster path (bytes) than other text: both give the same form.
    for text in ["p<0.05, n=12.", "1.5-2 mg/kg (i.e. 3.)", "x_y z", "A.B 3. 4 .5", "+/- 2%", "<= >="]:
        folded = sources._fold(text)
        assert folded.isascii() or "≤" in folded or "±" in folded, text
        assert normalise(text) == sources._DROP.sub("", sources._NOT_DECIMAL.sub("", folded)), text
        assert normalise(text + "é") == normalise(text) + "e", text  # the other path
    assert not find_quote([], "anything")


def test_closest_passage_is_the_passage_with_most_shared_words() -> None:
    text = "One two three. The dose raised serum levels three-fold in women. Nothing else happened here at all."
    assert closest_passage("raised serum levels four-fold in women", text) == "raised serum levels three-fold in women."
    long = " ".join(f"w{i}" for i in range(200))
    assert closest_passage(long, long) == long[:157] + "..."
    assert closest_passage("zzz", "") == ""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_site_project(tmp_path_factory.mktemp("quotes") / "project")
    assert main(["build", str(root), "--site-dir", str(root / "site")]) == 0
    return root / "site"


def test_site_publishes_the_source_text(built: Path) -> None:
    assert (built / "sources/smith2020example.txt").read_text(encoding="utf-8") == (
        "The abstract of smith2020example, retrieved 2026-11-27 from https://example.org/record/99999991\n"
        "Every quote the Allopregnanolone Evidence Atlas cites from this reference is checked against this text: "
        "https://allo-atlas.github.io/atlas/references/smith2020example/\n\n"
        + (VALID / SOURCE).read_text(encoding="utf-8").split("---\n", 2)[2].strip() + "\n")
    assert sorted(p.name for p in (built / "sources").iterdir()) == ["smith2020example.txt"]
    assert broken_links(built, scan_site(built)) == []


def test_reference_pages_say_how_quotes_were_checked(built: Path) -> None:
    page = (built / "references/smith2020example/index.html").read_text(encoding="utf-8")
    # Each quote, where it is used and how it was checked: tests/test_reference_page.py.
    assert ("<p>The site checks these quotes by machine against the abstract committed with it (retrieved "
            '2026-11-27 from <a href="https://example.org/record/99999991">https://example.org/record/99999991</a>): '
            '<a href="../../sources/smith2020example.txt">read the text</a>.</p>') in page
    other = (built / "references/examplewiki2024page/index.html").read_text(encoding="utf-8")
    assert "<p>No source text is committed for this source: its quotes were checked by hand.</p>" in other
    assert "checks these quotes by machine" not in other
    hormone = (built / "interventions/example-hormone/index.html").read_text(encoding="utf-8")
    assert ('<span class="allokb-verdict allokb-v-supported">Supported</span> · machine-checked</p>\n'
            '<details class="quote" open="open">\n<summary>Quote (abstract)</summary>') in hormone
    evidence = (built / "evidence/index.html").read_text(encoding="utf-8")
    assert "Quotes\nmachine-checked against a committed source text: 3 of 4; checked\nby hand" in evidence


def test_source_text_urls_are_planned(project: Path) -> None:
    result = check_project(project)
    assert result.urls is not None
    assert "/sources/smith2020example.txt" in result.urls.urls
    assert result.urls.generated["sources/smith2020example.txt"] == "the generated file `sources/smith2020example.txt`"


# --- add-reference stores the abstract it fetched ----------------------------------------------

from test_remote import ABSTRACT_NEW, PUBMED_NEW, RECORDS, FakeServices, Reply, client, services  # noqa: E402,F401

from allokb.remote_verify import add_reference  # noqa: E402


def test_add_reference_stores_the_abstract(services: FakeServices, project: Path,  # noqa: F811
                                           capsys: pytest.CaptureFixture[str]) -> None:
    xml = (RECORDS / "efetch_99999991.xml").read_text(encoding="utf-8").replace("99999991", "99999901")
    services.set(ABSTRACT_NEW, Reply(body=xml.encode()))
    status = main(["add-reference", "--pmid", "99999901", "--root", str(project)])
    assert (status, capsys.readouterr().out) == (0, (
        "added `rivera2022fictional` to references.bib and wrote content/citations/rivera2022fictional.yaml and "
        "content/sources/rivera2022fictional.md (its PubMed abstract); set its design and findings, then run "
        "`allokb check`\n"))
    assert services.hits == [PUBMED_NEW, ABSTRACT_NEW]
    today = __import__("datetime").date.today().isoformat()
    assert (project / "content/sources/rivera2022fictional.md").read_text(encoding="utf-8") == (
        f"---\nurl: \"https://pubmed.ncbi.nlm.nih.gov/99999901/\"\nretrieved: \"{today}\"\nkind: abstract\n---\n"
        "A fictional steroid was given to 40 pretend adults. After the example dose, serum levels rose "
        "three\u2013fold in the imaginary group.\n")
    result = check_project(project)
    # the new reference is cited nowhere yet; KB453: the fake NCBI the stub was checked against is on 127.0.0.1
    assert [d.code for d in result.diagnostics] == ["KB453", "KB408"]
    assert result.kb.sources["rivera2022fictional"].kind == "abstract"


@pytest.mark.parametrize("body", [
    None,  # no abstract: PubMed answers 404 here
    "<PubmedArticleSet><PubmedArticle><Abstract><AbstractText>rose \u202e three-fold</AbstractText></Abstract>"
    "</PubmedArticle></PubmedArticleSet>",  # a character the check refuses
    "<PubmedArticleSet><PubmedArticle></PubmedArticle></PubmedArticleSet>",  # a record without an abstract
    "<PubmedArticleSet",  # not XML
])
def test_add_reference_without_a_usable_abstract_writes_no_source_text(
        body: str | None, services: FakeServices, project: Path) -> None:  # noqa: F811
    if body is not None:
        services.set(ABSTRACT_NEW, Reply(body=body.encode()))
    key, _, cite = add_reference(project, pmid="99999901", client=client())
    assert cite.exists()
    assert not (project / f"content/sources/{key}.md").exists()
    assert [d.code for d in check_project(project).diagnostics] == ["KB453", "KB408"]  # as above


def test_add_reference_never_overwrites_a_source_text(services: FakeServices, project: Path) -> None:  # noqa: F811
    xml = (RECORDS / "efetch_99999991.xml").read_text(encoding="utf-8")
    services.set(ABSTRACT_NEW, Reply(body=xml.encode()))
    planted = project / "content/sources/rivera2022fictional.md"
    planted.write_text("mine\n", encoding="utf-8")
    add_reference(project, pmid="99999901", client=client())
    assert planted.read_text(encoding="utf-8") == "mine\n"
    assert ABSTRACT_NEW not in services.hits
