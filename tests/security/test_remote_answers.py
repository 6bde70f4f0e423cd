"""Answers from Crossref and NCBI are untrusted input (issue 11, item 8): their size, the time they
take and their nesting are bounded, XML entities are never expanded, and every identifier and text
field is checked with `allokb check`'s patterns before add-reference writes or verify compares it.
The services are the local fake of tests/test_remote.py; nothing here touches the network."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from allokb import remote_answers
from allokb.cli import main
from allokb.diagnostics import KbError, UsageError
from allokb.project import check_project
from allokb.remote import Client
from allokb.remote_verify import add_reference, verify_online
from conftest import make_project
from test_remote import (ABSTRACT_SMITH, CROSSREF_NEW, CROSSREF_SMITH, PMC_NEW, PUBMED_NEW, PUBMED_SMITH, TODAY,
                         FakeServices, Reply, client, errors, snapshot)
from test_remote import kb, services  # noqa: F401 - the fixtures of tests/test_remote.py

DEEP = 100_000  # nesting levels of the hostile answers
NEW = "10.5555/fictional.2021.7"


def crossref(services: FakeServices, change: Callable[[dict], object], path: str = CROSSREF_NEW,
             name: str = "crossref_fictional.2021.7.json") -> None:
    """Serve the fictional Crossref record at `path` after `change(message)`."""
    record = services.json(path, name)
    change(record["message"])
    services.set(path, Reply(body=json.dumps(record).encode()))


def esummary(services: FakeServices, path: str, name: str, uid: str, change: Callable[[dict], object]) -> None:
    record = services.json(path, name)
    change(record["result"][uid])
    services.set(path, Reply(body=json.dumps(record).encode()))


def refused(kb: Path, before: dict[str, bytes], **kwargs: str) -> str:
    """The message of the `KbError` that add-reference raises; nothing may have been written."""
    with pytest.raises(KbError) as exc:
        add_reference(kb, client=client(), today=TODAY, **kwargs)
    assert snapshot(kb) == before
    return str(exc.value)


# --- nesting ---------------------------------------------------------------------------------

def test_a_deeply_nested_json_answer_is_refused_not_a_recursion_error(services: FakeServices, kb: Path) -> None:
    services.set(CROSSREF_NEW, Reply(body=b"[" * DEEP + b"]" * DEEP))
    before = snapshot(kb)
    assert refused(kb, before, doi=NEW) == (f"Crossref sent a response nested more than 64 levels deep "
                                            f"({services.base}{CROSSREF_NEW}); not read")


def test_deep_nesting_inside_a_field_is_refused(services: FakeServices, kb: Path) -> None:
    body = b'{"message": {"title": ' + b"[" * DEEP + b'"x"' + b"]" * DEEP + b"}}"
    services.set(CROSSREF_NEW, Reply(body=body))
    before = snapshot(kb)
    assert refused(kb, before, doi=NEW) == (f"Crossref sent a response nested more than 64 levels deep "
                                            f"({services.base}{CROSSREF_NEW}); not read")


def test_brackets_inside_strings_do_not_count_as_nesting(services: FakeServices, kb: Path) -> None:
    crossref(services, lambda m: m.update(subtitle=["[{" * 5000 + '\\"' + "]}" * 5000]))
    key, _, _ = add_reference(kb, doi=NEW, client=client(), today=TODAY)
    assert key == "amselnord2021fictional"


def test_counting_the_nesting_is_linear_for_a_body_of_escaped_quotes(services: FakeServices, kb: Path) -> None:
    services.set(CROSSREF_NEW, Reply(body=b'"' + b'\\"' * 40_000))  # quadratic: 30 s; linear: milliseconds
    before = snapshot(kb)
    started = time.monotonic()
    assert refused(kb, before, doi=NEW) == (f"Crossref sent a response that is not valid JSON "
                                            f"({services.base}{CROSSREF_NEW}); try again later")
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("depth, outcome", [(64, "parsed"), (65, "refused")])
def test_the_nesting_limit_is_64(depth: int, outcome: str) -> None:
    text = "[" * depth + "]" * depth
    if outcome == "parsed":
        assert remote_answers.parse_json(text) is not None
    else:
        with pytest.raises(remote_answers.Unparsable):
            remote_answers.parse_json(text)


def test_a_nested_field_value_is_an_unexpected_answer_not_its_repr(services: FakeServices, kb: Path) -> None:
    crossref(services, lambda m: m.update(title=[["A nested title"]]))
    before = snapshot(kb)
    assert refused(kb, before, doi=NEW) == (f"Crossref sent an unexpected response ({services.base}{CROSSREF_NEW}); "
                                            "try again later")


def test_a_deeply_nested_cache_entry_is_ignored(services: FakeServices, kb: Path, tmp_path: Path) -> None:
    url = services.base + CROSSREF_NEW
    cache = tmp_path / "cache" / (hashlib.sha256(url.encode()).hexdigest() + ".json")
    cache.parent.mkdir(parents=True)
    cache.write_text('{"url": ' + json.dumps(url) + ', "body": ' + "[" * DEEP + "]" * DEEP + "}", encoding="utf-8")
    key, _, _ = add_reference(kb, doi=NEW, client=client(), today=TODAY)
    assert (key, services.hits) == ("amselnord2021fictional", [CROSSREF_NEW])


def test_a_cache_entry_that_is_a_fifo_is_ignored(services: FakeServices, kb: Path, tmp_path: Path) -> None:
    url = services.base + CROSSREF_NEW
    cache = tmp_path / "cache" / (hashlib.sha256(url.encode()).hexdigest() + ".json")
    cache.parent.mkdir(parents=True)
    os.mkfifo(cache)
    ask = client()
    record = ask.fetch_doi(NEW)  # would hang reading the FIFO
    assert (record.doi, ask.requests) == (NEW, 1)


# --- size and time ---------------------------------------------------------------------------

def test_an_answer_over_5_mib_is_refused(services: FakeServices, kb: Path) -> None:
    services.set(CROSSREF_NEW, Reply(body=b" " * (5 * 2**20 + 1)))
    before = snapshot(kb)
    assert refused(kb, before, doi=NEW) == f"Crossref sent more than 5 MiB for {services.base}{CROSSREF_NEW}; not read"


@pytest.fixture
def raw_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Callable[[Callable[[socket.socket],
                                                                                                None]], str]]:
    """A bare TCP server on 127.0.0.1 that answers every connection with `answer(conn)`: for
    answers without Content-Length and answers that trickle in."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()
    threads = []

    def start(answer: Callable[[socket.socket], None]) -> str:
        def loop() -> None:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                with conn:
                    conn.recv(65536)
                    try:
                        answer(conn)
                    except OSError:
                        pass  # the client hung up

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        threads.append(thread)
        base = f"http://127.0.0.1:{listener.getsockname()[1]}"
        monkeypatch.setenv("ALLOKB_CROSSREF_URL", base + "/crossref")
        monkeypatch.setenv("ALLOKB_CACHE_DIR", str(tmp_path / "cache"))
        return base

    yield start
    stop.set()
    for thread in threads:
        thread.join(5)
    listener.close()


def test_an_answer_without_length_is_cut_at_5_mib(raw_server: Callable[..., str]) -> None:
    def endless(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n")
        for _ in range(6 * 16):  # 6 MiB, never announced
            conn.sendall(b" " * 65536)

    base = raw_server(endless)
    with pytest.raises(KbError) as exc:
        client().fetch_doi(NEW)
    assert str(exc.value) == f"Crossref sent more than 5 MiB for {base}/crossref/works/{NEW}; not read"


def test_an_announced_length_over_5_mib_is_refused_before_reading(raw_server: Callable[..., str]) -> None:
    def announce(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5242881\r\nConnection: close\r\n\r\n{}")

    base = raw_server(announce)
    with pytest.raises(KbError) as exc:
        client().fetch_doi(NEW)
    assert str(exc.value) == f"Crossref sent more than 5 MiB for {base}/crossref/works/{NEW}; not read"


def test_an_answer_that_trickles_in_is_cut_off(raw_server: Callable[..., str]) -> None:
    def trickle(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n")
        for _ in range(200):  # a byte every 0.05 s: each read is in time, the whole is not
            conn.sendall(b" ")
            time.sleep(0.05)

    base = raw_server(trickle)
    started = time.monotonic()
    with pytest.raises(KbError) as exc:  # each read waits 0.4 s at most: eight times the gap, so
        # that a busy machine (the suite's other workers) does not make a gap look like a stall
        Client(timeout=0.4, backoff=0, ncbi_interval=0).fetch_doi(NEW)
    assert time.monotonic() - started < 4
    assert str(exc.value) == (f"Crossref did not finish its answer within 2.4 s ({base}/crossref/works/{NEW}); "
                              "check the connection or try again later")


# --- XML -------------------------------------------------------------------------------------

ENTITY = ('<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [<!ENTITY a "three-fold">]>\n'
          "<PubmedArticleSet><PubmedArticle><MedlineCitation><Article><Abstract>"
          "<AbstractText>&a;</AbstractText></Abstract></Article></MedlineCitation></PubmedArticle>"
          "</PubmedArticleSet>")
LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
          + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
          + "]>\n<l>&j;</l>")
EXTERNAL = ('<?xml version="1.0"?>\n<!DOCTYPE l [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
            "<PubmedArticleSet><AbstractText>&x;</AbstractText></PubmedArticleSet>")


@pytest.mark.parametrize("xml", [ENTITY, LAUGHS, EXTERNAL], ids=["entity", "billion-laughs", "external"])
def test_xml_that_declares_entities_is_not_parsed(services: FakeServices, xml: str) -> None:
    services.set(ABSTRACT_SMITH, Reply(body=xml.encode()))
    with pytest.raises(KbError) as exc:
        client().fetch_abstract("99999991")
    assert str(exc.value) == f"PubMed sent XML that declares entities ({services.base}{ABSTRACT_SMITH}); not read"


def test_the_real_doctype_of_efetch_is_read(services: FakeServices) -> None:
    assert client().fetch_abstract("99999991") == (
        "A fictional steroid was given to 40 pretend adults. After the example dose, serum levels rose "
        "three–fold in the imaginary group.")


def test_deeply_nested_xml_is_read_without_recursion(services: FakeServices) -> None:
    body = ("<PubmedArticleSet>" + "<x>" * DEEP + "<AbstractText>deep words</AbstractText>" + "</x>" * DEEP
            + "</PubmedArticleSet>")
    services.set(ABSTRACT_SMITH, Reply(body=body.encode()))
    assert client().fetch_abstract("99999991") == "deep words"


# --- identifiers and fields ------------------------------------------------------------------

def _author(m: dict, family: str) -> None:
    m["author"][0]["family"] = family


BAD_CROSSREF = [
    ("doi", lambda m: m.update(DOI="not-a-doi"), 'field DOI "not-a-doi" is not a DOI'),
    ("doi-escape", lambda m: m.update(DOI="10.5555/x\x1b[31m"), 'field DOI "10.5555/x\\x1b[31m" is not a DOI'),
    ("year-digits", lambda m: m.update(issued={"date-parts": [[20211]]}), 'field year "20211" is not a year of four '
     "digits"),
    ("year-bool", lambda m: m.update(issued={"date-parts": [[True]]}), 'field year "True" is not a year of four '
     "digits"),
    ("year-list", lambda m: m.update(issued={"date-parts": [[[2021]]]}), 'field year "[2021]" is not a year of four '
     "digits"),
    ("url", lambda m: m.update(URL="javascript:alert(1)"), 'field URL "javascript:alert(1)" is not an http(s) URL'),
    ("title-escape", lambda m: m.update(title=["A \x1b]0;owned\x07 title"]),
     'field title "A \\x1b]0;owned\\x07 title" holds the control character U+001B'),
    ("title-bidi", lambda m: m.update(title=["A \u202etitle"]),
     'field title "A \\u202etitle" holds the control character U+202E'),
    ("title-entity", lambda m: m.update(title=["A &#x202e;title"]),
     'field title "A \\u202etitle" holds the control character U+202E'),
    ("title-nonchar", lambda m: m.update(title=["A \ufffe title"]),
     'field title "A \\ufffe title" holds the control character U+FFFE'),
    ("title-long", lambda m: m.update(title=["x" * 2001]), "field title is 2001 characters long (at most 2000)"),
    ("author-nul", lambda m: _author(m, "Doe\x00"), 'field author "Doe\\x00" holds the control character U+0000'),
    ("journal", lambda m: m.update({"container-title": ["J\x9b31m"]}),
     'field journal "J\\x9b31m" holds the control character U+009B'),
    ("pages", lambda m: m.update(page="1\x082"), 'field pages "1\\x082" holds the control character U+0008'),
    ("update-doi", lambda m: m.update({"update-to": [{"type": "retraction", "DOI": "javascript:x"}]}),
     'field update DOI "javascript:x" is not a DOI'),
    ("relation-doi", lambda m: m.update(relation={"is-retracted-by": [{"id-type": "doi", "id": "10.5555/ok\x1b"}]}),
     'field relation DOI "10.5555/ok\\x1b" is not a DOI'),
    ("update-type", lambda m: m.update({"update-to": [{"type": "corr\u2066ection", "DOI": "10.5555/c"}]}),
     'field update "corr\\u2066ection: 10.5555/c" holds the control character U+2066'),
]


@pytest.mark.parametrize("change, reason", [c[1:] for c in BAD_CROSSREF], ids=[c[0] for c in BAD_CROSSREF])
def test_add_reference_refuses_a_bad_crossref_field(services: FakeServices, kb: Path, change: Callable[[dict], None],
                                                    reason: str) -> None:
    crossref(services, change)
    before = snapshot(kb)
    assert refused(kb, before, doi=NEW) == f"Crossref answer for {NEW}: {reason}; nothing was used"


BAD_PUBMED = [
    ("doi", lambda d: d["articleids"][1].update(value="10.5555/x y"), 'field DOI "10.5555/x y" is not a DOI'),
    ("pmcid", lambda d: d["articleids"][2].update(value="PMC1234567890"), 'field PMCID "PMC1234567890" is not a '
     "PMCID"),
    ("author", lambda d: d["authors"][0].update(name="Rivera\x1b QX"),
     'field author "Rivera\\x1b" holds the control character U+001B'),
    ("pubtype", lambda d: d.update(pubtype=["Journal\x07Article"]),
     'field publication type "Journal\\x07Article" holds the control character U+0007'),
    ("reference-pmid", lambda d: d.update(references=[{"reftype": "Retraction in", "pmid": "12&db=pmc"}]),
     'field reference PMID "12&db=pmc" is not a PMID'),
]


@pytest.mark.parametrize("change, reason", [c[1:] for c in BAD_PUBMED], ids=[c[0] for c in BAD_PUBMED])
def test_add_reference_refuses_a_bad_pubmed_field(services: FakeServices, kb: Path, change: Callable[[dict], None],
                                                  reason: str) -> None:
    esummary(services, PUBMED_NEW, "esummary_pubmed_99999901.json", "99999901", change)
    before = snapshot(kb)
    assert refused(kb, before, pmid="99999901") == f"PubMed answer for PMID 99999901: {reason}; nothing was used"


def test_a_bad_identifier_from_pmc_is_not_followed(services: FakeServices, kb: Path) -> None:
    def change(doc: dict) -> None:
        doc["articleids"] = [{"idtype": "doi", "value": "10.5555/x\x1b"}]

    esummary(services, PMC_NEW, "esummary_pmc_9999901.json", "9999901", change)
    before = snapshot(kb)
    assert refused(kb, before, pmcid="PMC9999901") == ('PMC answer for PMC9999901: field DOI "10.5555/x\\x1b" is '
                                                       "not a DOI; nothing was used")
    assert services.hits == [PMC_NEW]


# --- what is written -------------------------------------------------------------------------

@pytest.mark.parametrize("title, written", [
    ("}@misc{evil, title={x", "@miscevil, title=x"),
    ("x}, author={Evil, Eve", "x, author=Evil, Eve"),
    ("A \\input{/etc/passwd} study", "A input/etc/passwd study"),
    ("\\href{javascript:alert(1)}{click}", "hrefjavascript:alert(1)click"),
    ("Deep " + "{" * 300 + "braces" + "}" * 300, "Deep braces"),
    ("50% of #1 & $x_2$ ~ a--b", "50% of #1 & $x_2$ ~ a--b"),
])
def test_a_hostile_title_cannot_inject_an_entry(services: FakeServices, kb: Path, title: str, written: str) -> None:
    crossref(services, lambda m: m.update(title=[title]))
    key, bib, _ = add_reference(kb, doi=NEW, client=client(), today=TODAY)
    result = check_project(kb)
    assert [d for d in result.diagnostics if d.severity.value == "error"] == []
    assert sorted(result.kb.references) == sorted([key, "examplewiki2024page", "smith2020example"])
    assert result.kb.references[key].get("title") == written


def test_stripping_tags_is_linear(services: FakeServices, kb: Path) -> None:
    crossref(services, lambda m: m.update(title=["<" * 1_000_000]))  # quadratic: hours; linear: milliseconds
    before = snapshot(kb)
    started = time.monotonic()
    assert refused(kb, before, doi=NEW) == (f"Crossref answer for {NEW}: field title is 1000000 characters long "
                                            "(at most 2000); nothing was used")
    assert time.monotonic() - started < 2


def test_an_and_inside_an_author_name_is_refused(services: FakeServices, kb: Path) -> None:
    crossref(services, lambda m: _author(m, "Nord and Evil"))
    before = snapshot(kb)
    assert refused(kb, before, doi=NEW) == ("the record of `nordandevil2021fictional` cannot be written as BibTeX "
                                            "faithfully; add it to references.bib by hand")


def test_an_article_without_authors_is_refused(services: FakeServices, kb: Path) -> None:
    crossref(services, lambda m: m.update(author=[]))
    before = snapshot(kb)
    assert refused(kb, before, doi=NEW) == ("the Crossref record of `anonymous2021fictional` has no author, which "
                                            "references.bib needs for @article; add the entry by hand")


def test_a_key_made_too_long_by_the_record_is_refused(services: FakeServices, kb: Path) -> None:
    crossref(services, lambda m: _author(m, "a" * 90))
    before = snapshot(kb)
    assert refused(kb, before, doi=NEW) == ("the bib key `aaaaaaaaaaaaaaaaaaaa...` is 103 characters long (at most 80); "
                                            "choose a shorter one with --key")
    key, _, _ = add_reference(kb, doi=NEW, client=client(), today=TODAY, key="longname2021")
    assert key == "longname2021" and errors(kb) == []


@pytest.mark.parametrize("key, message", [
    ("x" * 81, "the bib key `xxxxxxxxxxxxxxxxxxxx...` is 81 characters long (at most 80); choose a shorter one "
     "with --key"),
    ("doe2021\n", "`doe2021\\n` is not a bib key (lower-case ASCII letters and digits)"),
    ("Doe2021", "`Doe2021` is not a bib key (lower-case ASCII letters and digits)"),
])
def test_a_given_key_is_checked_like_check_does_before_any_request(services: FakeServices, kb: Path, key: str,
                                                                   message: str) -> None:
    with pytest.raises(UsageError) as exc:
        add_reference(kb, doi=NEW, client=client(), key=key)
    assert str(exc.value) == message
    assert services.hits == []


def test_a_doi_too_long_for_the_citation_record_is_refused(services: FakeServices, kb: Path) -> None:
    doi = "10.5555/" + "x" * 2100
    crossref(services, lambda m: m.update(DOI=doi), path=f"/crossref/works/{doi}")
    before = snapshot(kb)
    url = f"{services.base}/crossref/works/{doi}"
    assert refused(kb, before, doi=doi) == (f"the record URL `{url[:80]}...` cannot be written to the citation "
                                            "record; check ALLOKB_CROSSREF_URL and ALLOKB_EUTILS_URL")


@pytest.mark.parametrize("kwargs, message", [
    ({"doi": "10.5555/x\x1b[31m"}, "`10.5555/x\\x1b[31m` is not a DOI; expected `10.NNNN/suffix`"),
    ({"doi": os.fsdecode(b"10.5555/\xff")}, "`10.5555/\\udcff` is not a DOI; expected `10.NNNN/suffix`"),
    ({"doi": "10.5555/x\u202e"}, "`10.5555/x\\u202e` is not a DOI; expected `10.NNNN/suffix`"),
    ({"pmid": "١٢٣"}, "`١٢٣` is not a PMID; expected digits only, e.g. `99999901`"),
])
def test_a_hostile_identifier_argument_is_a_usage_error(kb: Path, kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as exc:
        add_reference(kb, client=Client(cache_dir=kb / "unused"), **kwargs)  # type: ignore[arg-type]
    assert str(exc.value) == message


# --- verify ----------------------------------------------------------------------------------

def test_verify_refuses_a_control_character_before_it_reaches_a_diagnostic(services: FakeServices, kb: Path) -> None:
    crossref(services, lambda m: m.update(title=["A forged\x1b[2K\rreferences.bib:1:1: error[KB999] line"]),
             path=CROSSREF_SMITH, name="crossref_smith2020example.json")
    before = snapshot(kb)
    with pytest.raises(KbError) as exc:
        verify_online(kb, client())
    assert str(exc.value) == ('Crossref answer for 10.5555/fixture.2020.1: field title "A forged\\x1b[2K '
                              'references.bib:1:1: error[KB999] line" holds the control character U+001B; '
                              "nothing was used")
    assert snapshot(kb) == before


def test_verify_cli_gives_one_line_for_a_deep_answer(services: FakeServices, kb: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    services.set(PUBMED_SMITH, Reply(body=b'{"result": ' + b"{" * DEEP))
    assert main(["verify", "--online", str(kb)]) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.splitlines()[-1] == (f"allokb: error: PubMed sent a response nested more than 64 levels deep "
                                        f"({services.base}{PUBMED_SMITH}); not read")


def test_add_reference_cli_gives_one_line_for_a_bad_field(services: FakeServices, kb: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    crossref(services, lambda m: m.update(DOI="10.1/x"))
    assert main(["add-reference", "--doi", NEW, "--root", str(kb)]) == 1
    assert capsys.readouterr() == ("", f'allokb: error: Crossref answer for {NEW}: field DOI "10.1/x" is not a DOI; '
                                       "nothing was used\n")


def test_clean_answers_still_pass(services: FakeServices, tmp_path: Path) -> None:
    for ident in ({"doi": NEW}, {"pmid": "99999901"}):
        root = make_project(tmp_path / next(iter(ident)))
        add_reference(root, client=client(), today=TODAY, **ident)
        assert errors(root) == []
    assert verify_online(make_project(tmp_path / "verify"), client()) == []
    assert CROSSREF_SMITH in services.hits


def test_a_base_url_that_is_not_http_is_refused(monkeypatch: pytest.MonkeyPatch, kb: Path, tmp_path: Path) -> None:
    monkeypatch.setenv("ALLOKB_CROSSREF_URL", "file:///etc")
    monkeypatch.setenv("ALLOKB_CACHE_DIR", str(tmp_path / "cache"))
    before = snapshot(kb)
    assert refused(kb, before, doi=NEW) == (f"cannot ask Crossref at file:///etc/works/{NEW}: not an http(s) URL; "
                                            "set ALLOKB_CROSSREF_URL")


def test_a_citations_folder_that_is_a_file_is_one_line(services: FakeServices, kb: Path) -> None:
    folder = kb / "content" / "citations"
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
    folder.write_text("not a folder\n", encoding="utf-8")
    before = snapshot(kb)
    assert refused(kb, before, doi=NEW) == "cannot write content/citations (File exists); nothing was added"
