"""Online commands (`allokb add-reference`, `allokb verify --online`) against a local fake of Crossref
and NCBI E-utilities: a threaded http.server on 127.0.0.1 serving the fictional records in
tests/fixtures/remote/, configurable per test to fail in each way the real services can."""

from __future__ import annotations

import argparse
import datetime
import io
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from allokb import remote_verify
from allokb.cli import _Parser
from allokb.diagnostics import Diagnostic, KbError, Location, Severity, UsageError
from allokb.project import check_project
from allokb.cli import register_remote as register
from allokb.cli import run_add_reference, run_verify
from allokb.remote import REMOTE_CODES, Client
from allokb.remote_verify import add_reference, make_progress, verify_online
from conftest import TESTS, make_project

RECORDS = TESTS / "fixtures" / "remote"
TODAY = datetime.date(2026, 11, 27)

CROSSREF_NEW = "/crossref/works/10.5555/fictional.2021.7"
CROSSREF_SMITH = "/crossref/works/10.5555/fixture.2020.1"
PUBMED_NEW = "/eutils/esummary.fcgi?db=pubmed&id=99999901&retmode=json"
PMC_NEW = "/eutils/esummary.fcgi?db=pmc&id=9999901&retmode=json"
PUBMED_SMITH = "/eutils/esummary.fcgi?db=pubmed&id=99999991&retmode=json"
ABSTRACT_SMITH = "/eutils/efetch.fcgi?db=pubmed&id=99999991&rettype=abstract&retmode=xml"
ABSTRACT_NEW = "/eutils/efetch.fcgi?db=pubmed&id=99999901&rettype=abstract&retmode=xml"  # not served: 404


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class FakeServices:
    """Routes `path?query` to a list of replies (the last one repeats) and records every hit."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.hits: list[str] = []
        self.lock = threading.Lock()
        self.base = ""

    def set(self, path: str, *replies: Reply) -> None:
        self.routes[path] = list(replies)

    def serve(self, path: str, name: str) -> None:
        self.set(path, Reply(body=(RECORDS / name).read_bytes()))

    def json(self, path: str, name: str) -> dict:  # type: ignore[type-arg]
        return json.loads((RECORDS / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]

    def reply(self, path: str) -> Reply:
        with self.lock:
            self.hits.append(path)
            queue = self.routes.get(path)
            if not queue:
                return Reply(404, b'{"status": "error", "message": "Resource not found."}')
            return queue.pop(0) if len(queue) > 1 else queue[0]


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeServices]:
    fake = FakeServices()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            reply = fake.reply(self.path)
            time.sleep(reply.delay)
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except OSError:
                pass  # the client gave up (timeout tests)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    # `shutdown()` waits for the loop's next poll: every test's teardown pays up to one interval
    thread = threading.Thread(target=server.serve_forever, args=(0.005,), daemon=True)
    thread.start()
    fake.base = f"http://127.0.0.1:{server.server_address[1]}"
    # The commands make their own Client, which spaces requests to NCBI by 0.34 s (its limit of 3 a
    # second): not needed by this fake. The spacing itself: test_requests_to_ncbi_are_spaced.
    monkeypatch.setitem(Client.__init__.__kwdefaults__, "ncbi_interval", 0.0)
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ALLOKB_CROSSREF_URL", fake.base + "/crossref")
    monkeypatch.setenv("ALLOKB_EUTILS_URL", fake.base + "/eutils")
    monkeypatch.setenv("ALLOKB_CACHE_DIR", str(tmp_path / "cache"))
    fake.serve(CROSSREF_NEW, "crossref_fictional.2021.7.json")
    fake.serve(CROSSREF_SMITH, "crossref_smith2020example.json")
    fake.serve(PUBMED_NEW, "esummary_pubmed_99999901.json")
    fake.serve(PMC_NEW, "esummary_pmc_9999901.json")
    fake.serve(PUBMED_SMITH, "esummary_pubmed_99999991.json")
    fake.serve(ABSTRACT_SMITH, "efetch_99999991.xml")
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    return make_project(tmp_path / "kb")


def client() -> Client:
    """A client for answers that come (the fake services on 127.0.0.1): 5 s, since a loaded machine
    once took longer than 0.5 s to answer; the timeouts have tests of their own, with their own client."""
    return Client(timeout=5, backoff=0, ncbi_interval=0)


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def errors(root: Path) -> list[Diagnostic]:
    return [d for d in check_project(root).diagnostics if d.severity is Severity.ERROR]


# --- add-reference ----------------------------------------------------------------------------

def test_add_by_doi_writes_entry_and_valid_stub(services: FakeServices, kb: Path) -> None:
    old_bib = (kb / "references.bib").read_text(encoding="utf-8")
    key, bib, cite = add_reference(kb, doi="https://doi.org/10.5555/fictional.2021.7", client=client(),
                                   today=TODAY)
    assert (key, bib, cite) == ("amselnord2021fictional", kb / "references.bib",
                                kb / "content" / "citations" / "amselnord2021fictional.yaml")
    assert bib.read_text(encoding="utf-8") == old_bib + (
        "\n"
        "@article{amselnord2021fictional,\n"
        "  author = {Ämsel-Nord, Greta and Doe, John Q. and {Pretend Trials Consortium}},\n"
        "  title = {A fictional study of made-up neurosteroid levels in imaginary adults},\n"
        "  journal = {Journal of Imaginary Endocrinology},\n"
        "  year = {2021},\n"
        "  volume = {12},\n"
        "  number = {3},\n"
        "  pages = {101--110},\n"
        "  doi = {10.5555/fictional.2021.7},\n"
        "}\n")
    url = services.base + CROSSREF_NEW
    assert cite.read_text(encoding="utf-8") == (
        "# yaml-language-server: $schema=../../src/allokb/schemas/citation.schema.json\n"
        "# Written by `allokb add-reference --doi 10.5555/fictional.2021.7` from the Crossref record. "
        "Bibliographic facts stay in references.bib.\n"
        "# TODO: read the publication, then set the design, population, sample size and findings.\n"
        "key: amselnord2021fictional\n"
        f"design: review               # PLACEHOLDER: set the real study design: {remote_verify._DESIGNS}\n"
        "peer_reviewed: true          # check: false for preprints, letters and web pages\n"
        "# population: \"who or what was studied\"\n"
        "# sample_size: 40\n"
        "findings: []                 # - text: \"what it shows\"  quote: \"its exact words\"  locator: abstract\n"
        "retraction: none-found\n"
        "verification:\n"
        "  status: partly-verified\n"
        "  checked_on: \"2026-11-27\"\n"
        "  checked_against:\n"
        f"    - url: \"{url}\"\n"
        "      fields: [author, title, journal, year, volume, number, pages, doi, retraction]\n"
        "  notes: \"Metadata copied from the Crossref record by allokb add-reference; the publication itself "
        "has not been read yet.\"\n")
    assert services.hits == [CROSSREF_NEW]
    assert errors(kb) == []
    ref = check_project(kb).kb.references[key]
    assert [p.family or p.literal for p in ref.authors] == ["Ämsel-Nord", "Doe", "Pretend Trials Consortium"]


def test_add_by_pmid_writes_entry_with_pmcid(services: FakeServices, kb: Path) -> None:
    key, bib, cite = add_reference(kb, pmid="99999901", client=client(), today=TODAY)
    assert key == "rivera2022fictional"
    assert bib.read_text(encoding="utf-8").endswith(
        "\n\n@article{rivera2022fictional,\n"
        "  author = {Rivera, Q. X. and Okafor, B.},\n"
        "  title = {A fictional trial of an invented precursor in pretend patients},\n"
        "  journal = {Fictional Journal of Test Medicine},\n"
        "  year = {2022},\n"
        "  volume = {7},\n"
        "  number = {2},\n"
        "  pages = {55--63},\n"
        "  doi = {10.5555/fictional.2022.55},\n"
        "  pmid = {99999901},\n"
        "  pmcid = {PMC9999901},\n"
        "}\n")
    text = cite.read_text(encoding="utf-8")
    assert (f"    - url: \"{services.base + PUBMED_NEW}\"\n"
            "      fields: [author, title, journal, year, volume, number, pages, doi, pmid, pmcid, retraction]\n"
            ) in text
    assert "from the PubMed record" in text
    assert services.hits == [PUBMED_NEW, ABSTRACT_NEW]  # no abstract, so no source text (tests/test_quotes.py)
    assert errors(kb) == []


def test_add_by_pmcid_goes_through_pmc_to_pubmed(services: FakeServices, kb: Path) -> None:
    key, _, cite = add_reference(kb, pmcid="pmc9999901", client=client(), today=TODAY)
    assert key == "rivera2022fictional"
    assert services.hits == [PMC_NEW, PUBMED_NEW, ABSTRACT_NEW]
    text = cite.read_text(encoding="utf-8")
    assert (f"    - url: \"{services.base + PMC_NEW}\"\n      fields: [pmid, doi, pmcid]\n"
            f"    - url: \"{services.base + PUBMED_NEW}\"\n") in text
    assert "from the PMC and PubMed record" in text
    assert "  pmcid = {PMC9999901},\n" in (kb / "references.bib").read_text(encoding="utf-8")
    assert errors(kb) == []


def test_second_identical_request_is_served_from_the_cache(services: FakeServices, tmp_path: Path) -> None:
    first, second = make_project(tmp_path / "a"), make_project(tmp_path / "b")
    add_reference(first, doi="10.5555/fictional.2021.7", client=client(), today=TODAY)
    assert services.hits == [CROSSREF_NEW]
    again = client()
    add_reference(second, doi="10.5555/fictional.2021.7", client=again, today=TODAY)
    assert services.hits == [CROSSREF_NEW]  # no new request
    assert again.requests == 0
    assert (first / "references.bib").read_bytes() == (second / "references.bib").read_bytes()
    cached = list((tmp_path / "cache").glob("*.json"))
    assert len(cached) == 1
    assert json.loads(cached[0].read_text(encoding="utf-8"))["url"] == services.base + CROSSREF_NEW


def test_duplicate_doi_is_refused_naming_the_key(services: FakeServices, kb: Path) -> None:
    before = snapshot(kb)
    with pytest.raises(KbError) as exc:
        add_reference(kb, doi="10.5555/FIXTURE.2020.1", client=client())
    assert str(exc.value) == ("DOI 10.5555/FIXTURE.2020.1 is already in references.bib as `smith2020example`; "
                              "cite that key")
    assert services.hits == []
    assert snapshot(kb) == before


def test_duplicate_found_in_the_fetched_record_is_refused(services: FakeServices, kb: Path) -> None:
    record = services.json(PMC_NEW, "esummary_pmc_9999901.json")
    record["result"]["9999901"]["articleids"][0]["value"] = "99999991"
    services.set(PMC_NEW, Reply(body=json.dumps(record).encode()))
    before = snapshot(kb)
    with pytest.raises(KbError) as exc:
        add_reference(kb, pmcid="PMC9999901", client=client())
    assert str(exc.value) == ("DOI 10.5555/fixture.2020.1 is already in references.bib as `smith2020example`; "
                              "cite that key")
    assert services.hits == [PMC_NEW, PUBMED_SMITH]
    assert snapshot(kb) == before


def test_taken_key_is_refused_with_a_suggestion(services: FakeServices, kb: Path) -> None:
    record = services.json(CROSSREF_SMITH, "crossref_smith2020example.json")
    record["message"]["DOI"] = "10.5555/fixture.2020.2"
    record["message"]["title"] = ["Example data from a second made-up steroid study"]
    path = "/crossref/works/10.5555/fixture.2020.2"
    services.set(path, Reply(body=json.dumps(record).encode()))
    before = snapshot(kb)
    with pytest.raises(KbError) as exc:
        add_reference(kb, doi="10.5555/fixture.2020.2", client=client())
    assert str(exc.value) == ("the key `smith2020example` exists already; if this is another publication, "
                              "rerun with --key smith2020exampleb")
    assert snapshot(kb) == before
    key, _, _ = add_reference(kb, doi="10.5555/fixture.2020.2", client=client(), key="smith2020exampleb")
    assert key == "smith2020exampleb"
    assert errors(kb) == []


@pytest.mark.parametrize("interrupt", [OSError("disk full"), KeyboardInterrupt()])
def test_failed_second_write_restores_references_bib(services: FakeServices, kb: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     interrupt: BaseException) -> None:
    before = snapshot(kb)
    real = remote_verify._write_atomic

    def write(path: Path, text: str) -> None:
        if path.suffix == ".yaml":
            raise interrupt
        real(path, text)

    monkeypatch.setattr(remote_verify, "_write_atomic", write)
    with pytest.raises(KbError if isinstance(interrupt, OSError) else type(interrupt)) as exc:
        add_reference(kb, doi="10.5555/fictional.2021.7", client=client())
    if isinstance(interrupt, OSError):  # one line, not a traceback
        assert str(exc.value) == "cannot write content/citations/amselnord2021fictional.yaml (disk full); nothing was added"
    assert snapshot(kb) == before


def test_nonexistent_doi_is_a_clear_error(services: FakeServices, kb: Path) -> None:
    before = snapshot(kb)
    with pytest.raises(KbError) as exc:
        add_reference(kb, doi="10.5555/nonexistent", client=client())
    assert str(exc.value) == "Crossref has no record of DOI 10.5555/nonexistent"
    assert snapshot(kb) == before


def test_unknown_pmid_is_a_clear_error(services: FakeServices, kb: Path) -> None:
    path = "/eutils/esummary.fcgi?db=pubmed&id=99999909&retmode=json"
    body = {"header": {}, "result": {"uids": ["99999909"],
                                     "99999909": {"uid": "99999909", "error": "cannot get document summary"}}}
    services.set(path, Reply(body=json.dumps(body).encode()))
    with pytest.raises(KbError) as exc:
        add_reference(kb, pmid="99999909", client=client())
    assert str(exc.value) == "PubMed has no record of PMID 99999909"


def test_rate_limit_is_retried_then_reported(services: FakeServices, kb: Path) -> None:
    services.set(CROSSREF_NEW, Reply(429, b"slow down", {"Retry-After": "0"}))
    before = snapshot(kb)
    with pytest.raises(KbError) as exc:
        add_reference(kb, doi="10.5555/fictional.2021.7", client=client())
    assert str(exc.value) == ("Crossref is still rate-limiting requests (HTTP 429) after 3 attempts; "
                              "wait a minute and try again")
    assert services.hits == [CROSSREF_NEW] * 3
    assert snapshot(kb) == before


def test_rate_limit_with_a_long_wait_fails_at_once(services: FakeServices) -> None:
    services.set(CROSSREF_NEW, Reply(429, b"", {"Retry-After": "3600"}))
    with pytest.raises(KbError) as exc:
        client().fetch_doi("10.5555/fictional.2021.7")
    assert str(exc.value) == ("Crossref is rate-limiting requests (HTTP 429) and asks to wait 3600 s; "
                              "try again later")
    assert services.hits == [CROSSREF_NEW]


def test_rate_limit_then_success(services: FakeServices) -> None:
    ok = Reply(body=(RECORDS / "crossref_fictional.2021.7.json").read_bytes())
    services.set(CROSSREF_NEW, Reply(429, b"", {"Retry-After": "0"}), ok)
    assert client().fetch_doi("10.5555/fictional.2021.7").title == (
        "A fictional study of made-up neurosteroid levels in imaginary adults")
    assert services.hits == [CROSSREF_NEW] * 2


def test_server_error_then_success(services: FakeServices, kb: Path) -> None:
    ok = Reply(body=(RECORDS / "crossref_fictional.2021.7.json").read_bytes())
    services.set(CROSSREF_NEW, Reply(500, b"oops"), ok)
    key, _, _ = add_reference(kb, doi="10.5555/fictional.2021.7", client=client(), today=TODAY)
    assert key == "amselnord2021fictional"
    assert services.hits == [CROSSREF_NEW] * 2
    assert errors(kb) == []


def test_persistent_server_error(services: FakeServices) -> None:
    services.set(CROSSREF_NEW, Reply(503, b"down"))
    with pytest.raises(KbError) as exc:
        client().fetch_doi("10.5555/fictional.2021.7")
    assert str(exc.value) == "Crossref failed with HTTP 503 after 3 attempts; try again later"
    assert len(services.hits) == 3


def test_requests_to_ncbi_are_spaced(services: FakeServices) -> None:
    waits: list[float] = []
    spaced = Client(timeout=0.5, ncbi_interval=0.34, sleep=waits.append)
    spaced.fetch_pmid("99999991")
    spaced.fetch_abstract("99999991")
    spaced.fetch_doi("10.5555/fixture.2020.1")
    assert len(waits) == 2 and waits[0] == 0 and 0 < waits[1] <= 0.34  # Crossref is not spaced


def test_malformed_json_is_reported_and_not_cached(services: FakeServices, kb: Path) -> None:
    services.set(CROSSREF_NEW, Reply(body=b'{"status": "ok", "message": {'))
    before = snapshot(kb)
    for _ in range(2):
        with pytest.raises(KbError) as exc:
            add_reference(kb, doi="10.5555/fictional.2021.7", client=client())
        assert str(exc.value) == (f"Crossref sent a response that is not valid JSON ({services.base}{CROSSREF_NEW}); "
                                  "try again later")
    assert services.hits == [CROSSREF_NEW] * 2
    assert snapshot(kb) == before


def test_malformed_xml_is_reported(services: FakeServices) -> None:
    services.set(ABSTRACT_SMITH, Reply(body=b"<PubmedArticleSet><PubmedArticle>"))
    with pytest.raises(KbError) as exc:
        client().fetch_abstract("99999991")
    assert str(exc.value) == (f"PubMed sent a response that is not valid XML ({services.base}{ABSTRACT_SMITH}); "
                              "try again later")


def test_timeout(services: FakeServices, kb: Path) -> None:
    body = (RECORDS / "crossref_fictional.2021.7.json").read_bytes()
    services.set(CROSSREF_NEW, Reply(body=body, delay=1.5))
    before = snapshot(kb)
    started = time.monotonic()
    with pytest.raises(KbError) as exc:
        add_reference(kb, doi="10.5555/fictional.2021.7", client=Client(timeout=0.1, backoff=0, ncbi_interval=0))
    assert time.monotonic() - started < 1.4
    assert str(exc.value) == (f"Crossref did not answer within 0.1 s ({services.base}{CROSSREF_NEW}); "
                              "check the connection or try again later")
    assert snapshot(kb) == before


def test_connection_refused(monkeypatch: pytest.MonkeyPatch, kb: Path, tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("ALLOKB_CROSSREF_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("ALLOKB_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(KbError) as exc:
        add_reference(kb, doi="10.5555/fictional.2021.7", client=client())
    assert str(exc.value) == (f"cannot reach Crossref at http://127.0.0.1:{port}/works/10.5555/fictional.2021.7 "
                              "(connection refused); check the network connection or set ALLOKB_CROSSREF_URL")


@pytest.mark.parametrize("kwargs, message", [
    ({"doi": "doi.org/10.5555/x"}, "`doi.org/10.5555/x` is not a DOI; expected `10.NNNN/suffix`"),
    ({"pmid": "PMID12"}, "`PMID12` is not a PMID; expected digits only, e.g. `99999901`"),
    ({"doi": "10.5555/x", "pmid": "1"}, "give exactly one of --doi, --pmid and --pmcid"),
])
def test_malformed_identifiers_are_usage_errors(kb: Path, kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as exc:
        add_reference(kb, client=Client(cache_dir=kb / "unused"), **kwargs)  # type: ignore[arg-type]
    assert str(exc.value) == message


# --- verify --online --------------------------------------------------------------------------

def test_verify_clean_run_has_no_diagnostics(services: FakeServices, kb: Path) -> None:
    before = snapshot(kb)
    assert verify_online(kb, client()) == []
    assert sorted(services.hits) == sorted([CROSSREF_SMITH, PUBMED_SMITH, ABSTRACT_SMITH])
    assert snapshot(kb) == before


def test_verify_reports_drift(services: FakeServices, kb: Path) -> None:
    bib = kb / "references.bib"
    bib.write_text(bib.read_text(encoding="utf-8").replace("volume = {1}", "volume = {2}")
                   .replace("made-up steroid", "made-up hormone"), encoding="utf-8")
    crossref_url = services.base + CROSSREF_SMITH
    assert verify_online(kb, client()) == [
        Diagnostic("KB430", Severity.WARNING,
                   "title differs from Crossref: references.bib has `An example study of a made-up hormone`, "
                   "Crossref has `An example study of a made-up steroid`",
                   Location("references.bib", 2, 1, "$.smith2020example.title"),
                   f"check the publication and correct references.bib (record: {crossref_url})"),
        Diagnostic("KB430", Severity.WARNING,
                   "volume differs from Crossref: references.bib has `2`, Crossref has `1`",
                   Location("references.bib", 2, 1, "$.smith2020example.volume"),
                   f"check the publication and correct references.bib (record: {crossref_url})"),
    ]


def test_verify_reports_a_missing_pmcid_and_an_unknown_doi(services: FakeServices, kb: Path) -> None:
    record = services.json(PUBMED_SMITH, "esummary_pubmed_99999991.json")
    record["result"]["99999991"]["articleids"].append({"idtype": "pmc", "value": "PMC9999991"})
    services.set(PUBMED_SMITH, Reply(body=json.dumps(record).encode()))
    services.set(CROSSREF_SMITH, Reply(404, b"Resource not found."))
    found = verify_online(kb, client())
    assert [(d.code, d.message, d.location.yaml_path) for d in found] == [
        ("KB430", "Crossref has no record of DOI 10.5555/fixture.2020.1", "$.smith2020example.doi"),
        ("KB430", "pmcid differs from PubMed: references.bib has nothing, PubMed has `PMC9999991`",
         "$.smith2020example.pmcid"),
    ]


def test_verify_reports_a_retraction(services: FakeServices, kb: Path) -> None:
    record = services.json(PUBMED_SMITH, "esummary_pubmed_99999991.json")
    record["result"]["99999991"]["pubtype"].append("Retracted Publication")
    services.set(PUBMED_SMITH, Reply(body=json.dumps(record).encode()))
    assert verify_online(kb, client()) == [Diagnostic(
        "KB431", Severity.WARNING,
        "`smith2020example` is retracted (PubMed: publication type Retracted Publication)",
        Location("references.bib", 2, 1, "$.smith2020example"),
        "review every claim citing it and set `retraction: retracted` in content/citations/smith2020example.yaml")]
    # once the citation record says so, it is no longer reported
    cite = kb / "content" / "citations" / "smith2020example.yaml"
    cite.write_text(cite.read_text(encoding="utf-8").replace("retraction: none-found", "retraction: retracted"),
                    encoding="utf-8")
    assert verify_online(kb, client()) == []


def test_verify_reports_a_correction(services: FakeServices, kb: Path) -> None:
    record = services.json(CROSSREF_SMITH, "crossref_smith2020example.json")
    record["message"]["update-to"] = [{"type": "correction", "label": "Correction",
                                       "DOI": "10.5555/fixture.2020.1.corr", "updated": {"date-parts": [[2021]]}}]
    services.set(CROSSREF_SMITH, Reply(body=json.dumps(record).encode()))
    assert verify_online(kb, client()) == [Diagnostic(
        "KB432", Severity.WARNING,
        "`smith2020example` has a linked correction (Crossref: correction: 10.5555/fixture.2020.1.corr)",
        Location("references.bib", 2, 1, "$.smith2020example"),
        "read it, check the claims citing `smith2020example`, and set `retraction: corrected` in "
        "content/citations/smith2020example.yaml")]


def test_verify_reports_a_quote_missing_from_the_abstract(services: FakeServices, kb: Path) -> None:
    xml = (RECORDS / "efetch_99999991.xml").read_text(encoding="utf-8").replace("rose three", "fell two")
    services.set(ABSTRACT_SMITH, Reply(body=xml.encode()))
    hint = "copy the words exactly from the abstract, or give the `locator` of the passage they come from"
    message = 'quote not found in the PubMed abstract of PMID 99999991: "serum levels rose three-fold"'
    where = "content/interventions/example-hormone.yaml"
    assert verify_online(kb, client()) == [
        Diagnostic("KB433", Severity.WARNING, message, Location(where, 22, 9, "$.claims[0].citations[0]"), hint),
        Diagnostic("KB433", Severity.WARNING, message, Location(where, 37, 7, "$.dosing[0].reported_by"), hint),
    ]


def test_verify_interrupted_writes_nothing(services: FakeServices, kb: Path) -> None:
    before = snapshot(kb)

    def stop(done: int, total: int, key: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        verify_online(kb, client(), stop)
    assert snapshot(kb) == before


def test_progress_plain_and_bar() -> None:
    plain = io.StringIO()
    report = make_progress(plain)
    for i in range(1, 26):
        report(i, 25, f"key{i}")
    assert plain.getvalue() == ("verify: 10/25 references checked (key10)\n"
                                "verify: 20/25 references checked (key20)\n"
                                "verify: 25/25 references checked (key25)\n")

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Terminal()
    bar = make_progress(tty)
    bar(1, 2, "alpha")
    bar(2, 2, "beta")
    assert tty.getvalue() == (f"\rverify [{'#' * 15:<30}] 1/2 {'alpha':<40}"
                              f"\rverify [{'#' * 30}] 2/2 {'beta':<40}\n")


# --- command line -----------------------------------------------------------------------------

def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """What `allokb.cli.main` will do once `register` and the `run_*` functions are wired in."""
    parser = _Parser(prog="allokb")
    register(parser.add_subparsers(dest="command", parser_class=_Parser))
    try:
        args = parser.parse_args(list(argv))
        status = {"add-reference": run_add_reference, "verify": run_verify}[args.command](args)
    except UsageError as exc:
        print(f"allokb: usage error: {exc}", file=sys.stderr)
        status = 2
    except KbError as exc:
        print(f"allokb: error: {exc}", file=sys.stderr)
        status = 1
    out = capsys.readouterr()
    return status, out.out, out.err


def test_cli_add_reference(services: FakeServices, kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = cli(capsys, "add-reference", "--pmid", "99999901", "--root", str(kb))
    assert (status, err) == (0, "")
    assert out == ("added `rivera2022fictional` to references.bib and wrote "
                   "content/citations/rivera2022fictional.yaml; set its design and findings, then run "
                   "`allokb check`\n")
    status, out, err = cli(capsys, "add-reference", "--pmid", "99999901", "--root", str(kb))
    assert (status, out) == (1, "")
    assert err == ("allokb: error: PMID 99999901 is already in references.bib as `rivera2022fictional`; "
                   "cite that key\n")


def test_cli_add_reference_needs_one_identifier(kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = cli(capsys, "add-reference", "--doi", "10.5555/x", "--pmid", "1", "--root", str(kb))
    assert status == 2
    assert err.startswith("allokb: usage error: argument --pmid: not allowed with argument --doi\n")
    status, _, err = cli(capsys, "add-reference", "--root", str(kb))
    assert status == 2
    assert err.startswith("allokb: usage error: one of the arguments --doi --pmid --pmcid is required\n")


def test_cli_verify_without_online_is_a_usage_error(kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = cli(capsys, "verify", str(kb))
    assert (status, out) == (2, "")
    assert err == ("allokb: usage error: verify needs --online (the only mode): `allokb verify --online ROOT` "
                   "fetches every DOI and PMID of references.bib from Crossref and PubMed\n")


def test_cli_verify_clean(services: FakeServices, kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = cli(capsys, "verify", "--online", str(kb))
    # The fixture's source text is an abstract, but not PubMed's: hand-kept, and left alone.
    assert (status, out, err) == (0, "kept content/sources/smith2020example.md (hand-kept abstract, not retrieved "
                                  "from PubMed's record of PMID 99999991)\nsource texts: 1 kept\n"
                                  "check passed (strict): 0 errors, 0 warnings in 8 files\n",
                                  "verify: 1/1 references checked (smith2020example)\n")


def test_cli_verify_json_and_github(services: FakeServices, kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bib = kb / "references.bib"
    bib.write_text(bib.read_text(encoding="utf-8").replace("year = {2020}", "year = {2019}"), encoding="utf-8")
    status, out, _ = cli(capsys, "verify", "--online", str(kb), "--format", "json")
    assert status == 1
    payload = json.loads(out)
    assert payload["diagnostics"] == [{
        "code": "KB430", "severity": "warning",
        "message": "year differs from Crossref: references.bib has `2019`, Crossref has `2020`",
        "hint": f"check the publication and correct references.bib (record: {services.base}{CROSSREF_SMITH})",
        "file": "references.bib", "line": 2, "col": 1, "path": "$.smith2020example.year"}]
    assert payload["summary"]["text"] == "check failed (strict): 0 errors, 1 warning in 8 files"
    status, out, _ = cli(capsys, "verify", "--online", str(kb), "--format", "github")
    assert status == 1
    assert out.splitlines()[0].startswith("::warning file=references.bib,line=2,col=1,title=KB430::")


def test_remote_codes_have_the_shape_of_codes() -> None:
    assert list(REMOTE_CODES) == ["KB430", "KB431", "KB432", "KB433"]
    for code, info in REMOTE_CODES.items():
        assert info.code == code and info.severity is Severity.WARNING and info.title and len(info.doc) > 20


def test_parser_registration_keeps_argparse_namespace(kb: Path) -> None:
    parser = _Parser(prog="allokb")
    register(parser.add_subparsers(dest="command", parser_class=_Parser))
    args = parser.parse_args(["verify", "--online", str(kb), "--refresh"])
    assert isinstance(args, argparse.Namespace)
    assert (args.command, args.online, args.format, args.refresh) == ("verify", True, "text", True)


def test_unexpected_json_shape_is_a_clear_error(services: FakeServices) -> None:
    body = b'{"message": {"title": ["A fictional title"], "issued": {"date-parts": 5}}}'
    services.set(CROSSREF_NEW, Reply(body=body))
    with pytest.raises(KbError) as exc:
        client().fetch_doi("10.5555/fictional.2021.7")
    assert str(exc.value) == (f"Crossref sent an unexpected response ({services.base}{CROSSREF_NEW}); "
                              "try again later")
