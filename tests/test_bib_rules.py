"""The bibliography's rules (KB450-KB456, and KB407 by title and year), read like their rules.

Each rule also has a case folder (tests/cases/bib-*); these tests pin the parts a case folder
cannot show: how a URL is classified, how a key is read, the link-hosts file's own errors, and
the repository's list of hosts.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from allokb import remote_verify
from allokb.bib import load_references
from allokb.bibkeys import STOP_WORDS, ascii_fold, first_author, key_problem, title_word, words
from allokb.rules.bibliography import check_article_fields, check_bibliography, check_others, check_publication_type
from allokb.cli import main
from allokb.diagnostics import Location
from allokb.graph import KnowledgeBase
from allokb.linkhosts import LINK_HOSTS_FILE, LinkClass, LinkHosts, _host, load_link_hosts
from allokb.model import CheckedPage, Citation, Reference, Verification
from allokb.remote import FetchedRecord
from allokb.rules import check_duplicate_publications


def ref(key: str, entry_type: str = "article", author: str | None = None, **fields: str) -> Reference:
    """A reference as the .bib reader makes it (fields decoded, the author list as written)."""
    if author is not None:
        fields["author"] = author
    return Reference(key, entry_type, tuple(sorted(fields.items())), author, None, Location("references.bib", 7, 1,
                                                                                            f"$.{key}"))


def citation(key: str, *, searched: tuple[str, ...] = (), missing: tuple[str, ...] = (),
             pages: tuple[str, ...] = ()) -> Citation:
    verification = Verification("unchecked", None, tuple(CheckedPage(url, ("title",)) for url in pages), None,
                                searched, missing)
    path = f"content/citations/{key}.yaml"
    return Citation(key, "rct", True, None, None, None, (), None, verification, None, (), (), path, Location(path))


def lines(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    status = main(["check", str(root), *args])
    return status, capsys.readouterr().out.splitlines()


# --- what a URL points at (allokb.linkhosts) --------------------------------------------------

HOSTS = LinkHosts(
    exact={"pubmed.ncbi.nlm.nih.gov": ("record", "PubMed"), "www.semanticscholar.org": ("aggregator", "an index"),
           "forum.example.net": ("forum", "a forum"), "www.mirror.example.com": ("aggregator", "an exception")},
    patterns={"example.com": ("record", "a publisher"), "mirror.example.com": ("mirror", "copies")})


@pytest.mark.parametrize(("url", "expected"), [
    # IP addresses, as a browser reads them
    ("http://47.251.13.51:8081/9807641", ("ip-address", "47.251.13.51")),
    ("http://[2001:db8::1]/x", ("ip-address", "2001:db8::1")),
    ("http://2130706433/x", ("ip-address", "2130706433")),
    ("http://0x7f.0.0.1/x", ("ip-address", "0x7f.0.0.1")),
    ("http://10.0.0.1./x", ("ip-address", "10.0.0.1")),
    # pages of search results
    ("https://pubmed.ncbi.nlm.nih.gov/?term=allopregnanolone", ("search-page", "pubmed.ncbi.nlm.nih.gov")),
    ("https://www.ncbi.nlm.nih.gov/pmc/?term=x", ("search-page", "www.ncbi.nlm.nih.gov")),
    ("https://www.google.com/search?q=allopregnanolone", ("search-page", "www.google.com")),
    ("https://scholar.google.co.uk/scholar?q=allopregnanolone", ("search-page", "scholar.google.co.uk")),
    ("https://duckduckgo.com/?q=allopregnanolone", ("search-page", "duckduckgo.com")),
    ("https://www.bing.com/search?q=allopregnanolone", ("search-page", "www.bing.com")),
    ("https://example.org/search?q=allopregnanolone", ("search-page", "example.org")),
    ("https://example.org/Search.php?q=allopregnanolone", ("search-page", "example.org")),
    # not search pages: an article's page that highlights words, a record page under /search/, an
    # API asked for one application, a search path without a query
    ("https://pmc.ncbi.nlm.nih.gov/articles/PMC6935417/?term=%22Psychoneuroendocrinology%22%5Bjour%5D", None),
    ("https://pubmed.ncbi.nlm.nih.gov/16724185/?term=x", ("record", "pubmed.ncbi.nlm.nih.gov")),
    ("https://explore.openaire.eu/search/publication?pid=10.1111/j.1473-2165.2010.00533.x", None),
    ("https://api.fda.gov/drug/label.json?search=openfda.generic_name%3A%22ZURANOLONE%22", None),
    ("https://example.org/search", None),
    # hosts on the lists: exact, by pattern, case-insensitive, final dot and port dropped
    ("https://pubmed.ncbi.nlm.nih.gov/12345678/", ("record", "pubmed.ncbi.nlm.nih.gov")),
    ("https://WWW.SemanticScholar.org/paper/x", ("aggregator", "www.semanticscholar.org")),
    ("https://a.b.mirror.example.com.:8443/x", ("mirror", "a.b.mirror.example.com")),
    ("https://www.mirror.example.com/x", ("aggregator", "www.mirror.example.com")),  # exact wins
    ("https://mirror.example.com/x", ("record", "mirror.example.com")),  # `*.mirror.example.com` is not itself
    ("https://journal.example.com/x", ("record", "journal.example.com")),
    ("https://example.com/x", None),  # `*.example.com` is not `example.com`
    ("https://semanticscholar.org/paper/x", None),  # `www.` is not implied
    ("https://forum.example.net/t/1", ("forum", "forum.example.net")),
    # not classified
    ("https://elsewhere.example/x", None),
    ("http://[::1/x", None),
    ("mailto:someone@example.org", None),
])
def test_what_a_url_points_at(url: str, expected: tuple[str, str] | None) -> None:
    found = HOSTS.classify(url)
    assert (None if found is None else (found.kind, found.host)) == expected


@pytest.mark.parametrize("url", [
    "https://Example.ORG/x", "http://user:pw@example.org:8080/x?y#z", "https://a@b@example.org/", "http://[2001:db8::1]:80/",
    "https://example.org.", "https://example.org?q=1", "https://example.org#frag", "HTTPS://example.org/",
    "https://xn--bcher-kva.example/", "http://:80/", "https://example.org:/x", "https://[::1]x/",
])
def test_the_host_is_split_as_urllib_splits_it(url: str) -> None:
    assert _host(url) == (urlsplit(url).hostname or "").rstrip(".")


def test_a_listed_host_carries_its_reason() -> None:
    assert HOSTS.classify("https://x.mirror.example.com/") == LinkClass("mirror", "x.mirror.example.com", "copies")


def test_without_the_file_the_lists_are_empty(project: Path) -> None:
    assert load_link_hosts(project) == (LinkHosts(), [])


def _write_hosts(root: Path, text: str) -> None:
    (root / LINK_HOSTS_FILE).write_text(text)


EMPTY_LISTS = "aggregators: []\nforums_and_wikis: []\nmirrors_and_proxies: []\n"


def test_a_host_not_in_lower_case_is_refused_where_it_is_written(project: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _write_hosts(project, "records:\n  - {host: PubMed.ncbi.nlm.nih.gov, why: PubMed}\n" + EMPTY_LISTS)
    assert lines(project, capsys) == (1, [
        "content/link-hosts.yaml:2:12: error[KB205] $.records[0].host: the text `PubMed.ncbi.nlm.nih.gov` is not a lower-case "
        "host name such as `pubmed.ncbi.nlm.nih.gov`, or `*.` and a domain such as `*.frontiersin.org`",
        "check failed: 1 error, 0 warnings in 9 files"])


@pytest.mark.parametrize("host", ["*.", "*example.org", "example", "https://example.org", "example.org/x",
                                  "-example.org", "example.org\n", "*.*.example.org"])
def test_only_host_names_and_domain_patterns_are_hosts(project: Path, host: str) -> None:
    _write_hosts(project, f"records:\n  - host: {host!r}\n    why: x\n" + EMPTY_LISTS)
    hosts, problems = load_link_hosts(project)
    assert hosts == LinkHosts() and [d.code for d in problems] == ["KB205"]


def test_an_unknown_list_and_a_missing_one_are_reported(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_hosts(project, "record: []\naggregators: []\nforums_and_wikis: []\nmirrors_and_proxies: []\n")
    assert lines(project, capsys) == (1, [
        "content/link-hosts.yaml:1:1: error[KB202] $: missing required field `records` (`records`: Hosts that are a "
        "record of a publication: PubMed, PMC, the DOI resolver, publishers, regulators, trial registries. In "
        "`checked_against`, one of them comes before any aggregator.)",
        "content/link-hosts.yaml:1:1: error[KB203] $.record: unknown field `record` (did you mean `records`?)",
        "check failed: 2 errors, 0 warnings in 9 files"])


def test_a_list_that_is_not_a_list(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_hosts(project, "records:\n  host: doi.org\n" + EMPTY_LISTS)
    assert lines(project, capsys) == (1, [
        "content/link-hosts.yaml:2:3: error[KB201] $.records: expected a list, found a mapping",
        "check failed: 1 error, 0 warnings in 9 files"])


def test_an_empty_file_says_to_restore_it(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_hosts(project, "# nothing\n")
    assert lines(project, capsys) == (1, [
        "content/link-hosts.yaml:1:1: error[KB107] $: the file holds no YAML document (restore it from git: it lists "
        "the hosts links may point at)",
        "check failed: 1 error, 0 warnings in 9 files"])


def test_an_invalid_file_leaves_the_lists_empty_and_the_other_checks_running(project: Path) -> None:
    _write_hosts(project, "records: [\n")
    hosts, problems = load_link_hosts(project)
    assert hosts == LinkHosts() and [d.code for d in problems] == ["KB102"]


def test_a_host_on_two_lists_is_kept_on_the_first(project: Path) -> None:
    _write_hosts(project, "records:\n  - {host: doi.org, why: DOI}\naggregators:\n  - {host: doi.org, why: again}\n"
                 "forums_and_wikis: []\nmirrors_and_proxies: []\n")
    hosts, problems = load_link_hosts(project)
    assert hosts.exact == {"doi.org": ("record", "DOI")}
    assert [(d.code, d.location.line, d.message) for d in problems] == [
        ("KB456", 4, "host `doi.org` is listed twice: in records[0] and here")]


def test_the_link_hosts_file_is_read_strictly(project: Path) -> None:
    _write_hosts(project, "records: []\nrecords: []\naggregators: []\nforums_and_wikis: []\nmirrors_and_proxies: []\n")
    assert [d.code for d in load_link_hosts(project)[1]] == ["KB104"]
    (project / LINK_HOSTS_FILE).unlink()
    (project / LINK_HOSTS_FILE).symlink_to(project / "references.bib")
    assert [d.code for d in load_link_hosts(project)[1]] == ["KB112"]


# The repository's own list of link hosts: tests/test_content.py.


# --- KB450, KB451, KB452 --------------------------------------------------------------------

def test_an_identifier_makes_a_publication_of_a_web_page() -> None:
    for name in ("doi", "pmid", "pmcid"):
        found = list(check_publication_type(ref("x2020y", "online", title="T", **{name: "1"})))
        assert [d.message for d in found] == [f"@online `x2020y` has a {name.upper()}: it is a publication, not a web "
                                              "page"]
    assert list(check_publication_type(ref("x2020y", "online", title="T", url="https://example.org/"))) == []
    assert list(check_publication_type(ref("x2020y", "article", title="T", doi="10.5555/x"))) == []


def test_a_missing_article_field_is_excused_only_by_a_search_that_found_it_missing() -> None:
    article = ref("doe2021steroid", title="T", year="2021")
    assert [d.message for d in check_article_fields(article, None)] == [
        "@article `doe2021steroid` has no `author` or `journal`"]
    # `missing` without `searched` (the schema refuses it; the rule does not rely on that)
    assert [d.message for d in check_article_fields(article, citation("doe2021steroid", missing=("author",)))] == [
        "@article `doe2021steroid` has no `author` or `journal`"]
    excused = citation("doe2021steroid", searched=("PubMed: exact title -> no record",), missing=("author",))
    assert [d.message for d in check_article_fields(article, excused)] == ["@article `doe2021steroid` has no `journal`"]
    assert list(check_article_fields(ref("doe2021steroid", "book", title="T"), None)) == []


@pytest.mark.parametrize(("author", "warned"), [
    ("Doe, Jane and others", True),
    ("Doe and others", True),
    ("{Example Study Group} and others", True),
    ("Doe, Jane and Roe, R. and others", False),  # several named authors: not this rule
    ("Doe, Jane and Others, Otto", False),  # a person called Others
    ("Brothers, Jim and Others", False),  # BibTeX's keyword is lower-case: this is a Mr Others
    ("Doe, Jane", False),
])
def test_others_as_the_only_co_author(author: str, warned: bool) -> None:
    assert bool(list(check_others(ref("doe2021steroid", author=author, title="T")))) is warned


# --- KB455 ----------------------------------------------------------------------------------

def org(key: str, name: str, **fields: str) -> Reference:
    return ref(key, "online", organization=name, title=fields.pop("title", "Label of a steroid"), **fields)


@pytest.mark.parametrize("entry", [
    ref("backstrom2015gabaa", author="Bäckström, Torbjörn and Bixo, Marie", title="GABAA steroids", year="2015"),
    ref("stonge2020steroid", author="St Onge, Marie", title="A steroid", year="2020"),
    ref("gunduzbruce2019trial", author="Gunduz-Bruce, Handan and Silber, C.", title="Trial of SAGE-217", year="2019"),
    ref("dewit2004steroid", author="de Wit, Harriet", title="A steroid", year="2004"),
    ref("dagostino2010steroid", author="D'Agostino, Giuseppe", title="A steroid", year="2010"),
    ref("soderpalm2004administration", author="Söderpalm, Anna H. V.", title="Administration of progesterone",
        year="2004"),
    ref("marx2009proofofconcept", author="Marx, C. E.", title="Proof-of-Concept Trial", year="2009"),
    ref("martinez2015reductase", author="Martinez, P. E.", title="5α-Reductase Inhibition", year="2015"),
    ref("puretech2022puretechs", author="{PureTech}", title="PureTech's LYT-300", year="2022"),
    ref("clayton2023mountain", author="Clayton, A. H.", title="Zuranolone: Results From MOUNTAIN—A Phase 3 Trial",
        year="2023"),
    org("fda2019label", "U.S. Food and Drug Administration", year="2019"),
    org("usfda2019label", "U.S. Food and Drug Administration", year="2019"),
    org("food2019label", "U.S. Food and Drug Administration", year="2019"),
    org("fooddrug2019label", "U.S. Food and Drug Administration", year="2019"),
    org("foodanddrug2019label", "U.S. Food and Drug Administration", year="2019"),
    org("clinicaltrialsgov2021phase", "ClinicalTrials.gov", title="A Phase 1 Study", year="2021"),
    org("excelmale2026men", "Excel Male Health Forum", title="Why Some Men", year="2026"),
    org("wikipediaallopregnanolone", "Wikipedia", title="Allopregnanolone"),
    org("apha2019fda", "American Pharmacists Association (APhA)", title="FDA approves", year="2019"),
    ref("who2020steroid", "report", author="{World Health Organization}", title="A steroid", year="2020"),
    ref("maturitas2006pharmacokinetics", "misc", title="Pharmacokinetics of progesterone", year="2006"),  # no author
    ref("lovickssris", "misc", title="SSRIs and the female brain"),  # no author, no year
    ref("doe2020study", author="Doe, J.", title="A study", year="20"),  # a malformed year is KB411's
    ref("Bad_Key", author="Doe, J.", title="A study", year="2020"),  # a malformed key is KB409's
    ref("griffin1999selectve", author="Griffin, L. D.", title="Selective serotonin", year="1999"),  # word not compared
    ref("doe2020study", "book", title="A study", year="2020", editor="Doe, J."),
])
def test_a_key_in_the_house_form(entry: Reference) -> None:
    assert key_problem(entry) is None


@pytest.mark.parametrize(("entry", "clauses", "suggestion"), [
    (ref("smithe2021steroid", author="Smith, J.", title="A steroid", year="2021"),
     ["does not begin with the first author's surname `smith`"], "smith2021steroid"),
    (ref("doe2026steroid", author="Doe, J.", title="A steroid", year="2021"),
     ["carries the year `2026`, but the entry's year is `2021`"], "doe2021steroid"),
    (ref("doesteroid", author="Doe, J.", title="A steroid", year="2021"),
     ["does not carry the entry's year `2021` after the surname"], "doe2021steroid"),
    (ref("sripada2026neurosteroids", "online", author="Sripada, R. K. and Welsh, R. C.",
         title="The neurosteroids allopregnanolone and dehydroepiandrosterone"),
     ["carries the year `2026`, but the entry has no year"], "sripadaneurosteroids"),
    (ref("griffin1999", author="Griffin, L. D.", title="Selective serotonin reuptake inhibitors", year="1999"),
     ["has no word of the title after the year"], "griffin1999selective"),
    (ref("pnas2003socially", author="Pinna, G. and Dong, E.", title="In socially isolated mice", year="2003"),
     ["does not begin with the first author's surname `pinna`"], "pinna2003socially"),
    (ref("jones2019cohort", author="Poe, E.", title="A steroid", year="2018"),
     ["does not begin with the first author's surname `poe`", "carries the year `2019`, but the entry's year is "
      "`2018`"], "poe2018cohort"),
    (org("apha2019fda", "American Pharmacists Association", title="FDA approves", year="2019"),
     ["does not begin with a name made from the organisation `American Pharmacists Association` (one of its words, "
      "words joined, or its initials)"], "apa2019fda"),
    (org("fdas2019label", "U.S. Food and Drug Administration", year="2019"),
     ["does not begin with a name made from the organisation `U.S. Food and Drug Administration` (one of its words, "
      "words joined, or its initials)"], "usfda2019label"),
    (org("wikipedia2026allopregnanolone", "Wikipedia", title="Allopregnanolone"),
     ["carries the year `2026`, but the entry has no year"], "wikipediaallopregnanolone"),
    (ref("transfemininescience2018oral", "online", author="Aly", organization="Transfeminine Science",
         title="Oral Progesterone", year="2018"),
     ["does not begin with the first author's surname `aly`"], "aly2018oral"),
    (ref("wikipedia2026allopregnanolone", "misc", title="Allopregnanolone"),  # no author: year only
     ["carries the year `2026`, but the entry has no year"], "wikipediaallopregnanolone"),
    (ref("maturitaspharmacokinetics", "misc", title="Pharmacokinetics", year="2006"),  # no author, no year in key
     ["does not carry the entry's year `2006`"], "maturitaspharmacokinetics"),
    (org("examplewiki2024", "Example Wiki", title="Example page", year="2024"),
     ["has no word of the title after the year"], "examplewiki2024example"),
])
def test_a_key_that_does_not_match_its_entry(entry: Reference, clauses: list[str], suggestion: str) -> None:
    assert key_problem(entry) == (clauses, suggestion)


@pytest.mark.parametrize("authors", [
    "Smith, Jane", "de Wit, Harriet and Roe, R.", "Gunduz-Bruce, Handan AND Silber, C.", "St Onge, Marie\nand Doe, J.",
    "Jane Smith and Roe, R.", "Ludwig van Beethoven", "Smith, Jr., John", "M{\\\"u}ller, J{\\\"o}rg",
    "{Example Study Group} and Doe, J.", "Doe~Roe, J.", "Andersand, Anna and Doe, J.", "Doe, J. and others",
])
def test_the_first_author_is_read_as_the_pages_read_it(authors: str) -> None:
    """`first_author` parses only the first name, and some not at all: it must agree with the
    full parse the pages use."""
    entry = ref("x2020y", author=authors, title="T")
    first = entry.authors[0]
    expected = ("organisation", first.literal) if first.literal else ("person", first.family)
    found = first_author(entry)
    assert found is not None and (found[0], ascii_fold(found[1])) == (expected[0], ascii_fold(expected[1] or ""))


def test_the_message_and_hint_of_a_key() -> None:
    kb = KnowledgeBase({}, {}, {}, {"doe2026steroid": ref("doe2026steroid", author="Doe, J.", title="A steroid",
                                                          year="2021", journal="J")})
    [found] = check_bibliography(kb, LinkHosts())
    assert (found.code, found.message, found.hint) == (
        "KB455", "key `doe2026steroid` carries the year `2026`, but the entry's year is `2021`",
        "the house rule makes `doe2021steroid`: `allokb rename-key doe2026steroid doe2021steroid`")


def test_keys_fold_like_add_reference() -> None:
    """`allokb add-reference` makes keys with its own copy of the folding (allokb.remote_verify):
    the two must agree, or the check would warn about the keys the tool writes."""
    assert STOP_WORDS == remote_verify.STOP_WORDS
    for text in ["Bäckström", "St Onge", "Gunduz-Bruce", "de Wit", "D'Agostino", "Søren Ærø", "Łukasz", "Straße",
                 "5α-Reductase", "Ünal-Öztürk", "O’Brien"]:
        assert ascii_fold(text) == remote_verify.ascii_fold(text), text
    assert words("MOUNTAIN—A Phase 3") == ["mountain", "a", "phase", "3"]
    assert title_word("The role of GABAergic steroids") == "role"


@pytest.mark.parametrize("record", [
    FetchedRecord("PubMed", authors=[("Bäckström", "T"), ("Bixo", "M")], title="GABAA Receptor-Modulating Steroids",
                  journal="Curr Psychiatry Rep", year="2015", pmid="26483181"),
    FetchedRecord("Crossref", authors=[("de Wit", "Harriet")], title="The Effects of Ethanol", journal="J",
                  year="2006", doi="10.5555/dewit"),
    FetchedRecord("Crossref", authors=[("World Health Organization", "")], title="A Report on Steroids",
                  journal="J", year="2020", doi="10.5555/who"),
    FetchedRecord("Crossref", kind="book", authors=[("Gunduz-Bruce", "Handan")], title="5α-Reduction in Practice",
                  publisher="P", year="2019", doi="10.5555/book"),
])
def test_keys_written_by_add_reference_follow_the_rule(tmp_path: Path, record: FetchedRecord) -> None:
    key = remote_verify.make_key(record)
    (tmp_path / "references.bib").write_text(remote_verify.bib_entry(key, record))
    [written], problems = load_references(tmp_path)  # type: ignore[misc]
    assert problems == [] and key_problem(written) is None, key


# --- KB407 by title and year ------------------------------------------------------------------

def test_one_title_in_one_year_is_one_publication() -> None:
    refs = {r.key: r for r in [
        ref("a2020x", title="5α-Reduction of a made-up steroid: a cohort", year="2020"),
        ref("b2020x", title="5alpha-reduction of a Made-Up Steroid -- A Cohort", year="2020"),
        ref("c2021x", title="5α-Reduction of a made-up steroid: a cohort", year="2021"),  # another year
        ref("d2020x", title="5β-Reduction of a made-up steroid: a cohort", year="2020"),  # another letter
        ref("e2020x", title="5α-Reduction of a made-up steroid: a cohort"),  # no year: not compared
    ]}
    kb = KnowledgeBase({}, {}, {}, refs)
    assert [(d.code, d.message) for d in check_duplicate_publications(kb)] == [
        ("KB407", "`b2020x` has the same title and year as `a2020x`: `5alpha-reduction of a Made-Up Steroid -- A "
                  "Cohort`, 2020")]


# --- where the rules read their input ---------------------------------------------------------

def test_the_rules_need_no_link_hosts_file_for_ip_addresses_and_search_pages() -> None:
    entry = ref("doe2021steroid", author="Doe, J.", title="A steroid", year="2021", journal="J",
                url="https://pubmed.ncbi.nlm.nih.gov/?term=steroid")
    cited = citation("doe2021steroid", pages=("http://192.0.2.1/x", "https://www.semanticscholar.org/x"))
    kb = KnowledgeBase({}, {}, {"doe2021steroid": cited}, {"doe2021steroid": entry})
    assert [(d.code, d.message) for d in check_bibliography(kb, LinkHosts())] == [
        ("KB453", "`url` is a page of search results on `pubmed.ncbi.nlm.nih.gov`, not a record of the publication"),
        ("KB453", "`checked_against[0].url` is on the IP address `192.0.2.1`, not a record of the publication")]
