"""Online metadata: a small HTTP client for Crossref and NCBI E-utilities, fetchers that turn their
records into `FetchedRecord` (defined in `allokb.remote_answers`, re-exported here), and the KB43x
codes. The work of `allokb add-reference` and `allokb verify --online` is in `allokb.remote_verify`;
their command-line glue is in `allokb.cli`, the only module that parses arguments or prints.

Only the standard library speaks HTTP (GET only). Base URLs come from ALLOKB_CROSSREF_URL and
ALLOKB_EUTILS_URL, the cache folder from ALLOKB_CACHE_DIR (default ~/.cache/allokb/http). Every
failure becomes a one-line `KbError` naming the service and what to do.

An answer is untrusted input: its size (`MAX_BODY`) and the time it takes to arrive are bounded
here, its parsing and the check of every record are in `allokb.remote_answers`.
"""

from __future__ import annotations

import hashlib
import html
import http.client
import json
import os
import re
import stat
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

from allokb import __version__
from allokb.bib import DOI, PMID
from allokb.diagnostics import CODES, CodeInfo, KbError
from allokb.remote_answers import (FetchedRecord, Refused, Unparsable, check_identifier, check_record, parse_json, parse_xml,
                                   shown)

CROSSREF_URL = "https://api.crossref.org"
EUTILS_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
USER_AGENT = f"allokb/{__version__} (Allopregnanolone Evidence Atlas; reference checker)"
MAX_BODY = 5 * 1024 * 1024  # bytes of one answer; a work with a long reference list is about 1 MiB
_CHUNK = 64 * 1024

REMOTE_CODES: dict[str, CodeInfo] = {code: CODES[code] for code in ("KB430", "KB431", "KB432", "KB433")}


class RemoteError(KbError):
    """A request to an online service failed."""


class RecordNotFound(RemoteError):
    """The service answered that it has no such record."""


class Client:
    """GET JSON or XML from Crossref and E-utilities, with an on-disk cache and clear errors.

    Arguments left as None come from ALLOKB_CROSSREF_URL, ALLOKB_EUTILS_URL and ALLOKB_CACHE_DIR,
    then from the public defaults. `retries` more attempts follow an HTTP 5xx or 429 answer; a 429
    is retried after its Retry-After (at most `max_wait` seconds). `refresh` ignores cached answers.
    Requests to E-utilities are spaced by `ncbi_interval` seconds (NCBI's limit is 3 a second).
    """

    def __init__(self, crossref_base: str | None = None, eutils_base: str | None = None,
                 cache_dir: Path | None = None, timeout: float = 10.0, retries: int = 2, *,
                 max_wait: float = 10.0, backoff: float = 1.0, refresh: bool = False, ncbi_interval: float = 0.34,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        env = os.environ
        self.crossref_base = (crossref_base or env.get("ALLOKB_CROSSREF_URL") or CROSSREF_URL).rstrip("/")
        self.eutils_base = (eutils_base or env.get("ALLOKB_EUTILS_URL") or EUTILS_URL).rstrip("/")
        default_cache = Path(env["ALLOKB_CACHE_DIR"]) if env.get("ALLOKB_CACHE_DIR") else \
            Path.home() / ".cache" / "allokb" / "http"
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache
        self.timeout, self.retries, self.max_wait, self.backoff = timeout, retries, max_wait, backoff
        self.refresh, self.sleep = refresh, sleep
        self.ncbi_interval, self._last_ncbi = ncbi_interval, -1e9  # NCBI allows 3 requests a second
        self.requests = 0  # HTTP requests actually sent (cache hits excluded)

    # --- transport ---------------------------------------------------------------------------
    def get_json(self, url: str, service: str, missing: str) -> Any:
        """The parsed JSON at `url`; `missing` is the message for an HTTP 404."""
        return self._get(url, service, missing, "JSON", parse_json)

    def get_xml(self, url: str, service: str, missing: str) -> ET.Element:
        """The parsed XML at `url`."""
        return self._get(url, service, missing, "XML", parse_xml)  # type: ignore[no-any-return]

    def _get(self, url: str, service: str, missing: str, kind: str, parse: Callable[[str], Any]) -> Any:
        cache = self.cache_dir / (hashlib.sha256(url.encode("utf-8")).hexdigest() + ".json")
        if not self.refresh:
            try:
                entry = parse_json(_read_cache(cache))
                if entry.get("url") == url:
                    return parse(entry["body"])
            except (OSError, ValueError, KeyError, TypeError, AttributeError, ET.ParseError):
                pass  # no cache entry, or a damaged one: ask the service
        body = self._fetch(url, service, missing)
        try:
            value = parse(body)
        except Unparsable as exc:
            raise RemoteError(f"{service} sent {exc} ({url}); not read") from None
        except (ValueError, ET.ParseError):
            raise RemoteError(f"{service} sent a response that is not valid {kind} ({url}); "
                              "try again later") from None
        self._store(cache, url, body)
        return value

    def _store(self, cache: Path, url: str, body: str) -> None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=".", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"url": url, "body": body}, out, ensure_ascii=False)
            os.replace(tmp, cache)
        except OSError:
            pass  # the cache only saves requests; a read-only cache folder is not an error

    def _fetch(self, url: str, service: str, missing: str) -> str:
        if not url.lower().startswith(("http://", "https://")):  # not file:, ftp: or data: from the environment
            raise RemoteError(f"cannot ask {service} at {shown(url)}: not an http(s) URL; {_ENV[service]}")
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            self.requests += 1
            if service != "Crossref":
                self.sleep(max(0.0, self._last_ncbi + self.ncbi_interval - time.monotonic()))
                self._last_ncbi = time.monotonic()
            try:
                data = self._open_and_read(request, service, url)
                try:
                    return data.decode("utf-8")
                except UnicodeDecodeError:
                    raise RemoteError(f"{service} sent a response that is not UTF-8 text ({url}); "
                                      "try again later") from None
            except urllib.error.HTTPError as exc:
                status, wait = exc.code, _retry_after(exc.headers.get("Retry-After"))
                exc.close()
                if status == 404:
                    raise RecordNotFound(missing) from None
                if status == 429:
                    if wait is not None and wait > self.max_wait:
                        raise RemoteError(f"{service} is rate-limiting requests (HTTP 429) and asks to wait "
                                          f"{wait:.0f} s; try again later") from None
                    if attempt < attempts:
                        self.sleep(wait if wait is not None else self.backoff * attempt)
                        continue
                    raise RemoteError(f"{service} is still rate-limiting requests (HTTP 429) after {attempts} "
                                      "attempts; wait a minute and try again") from None
                if status >= 500:
                    if attempt < attempts:
                        self.sleep(self.backoff * attempt)
                        continue
                    raise RemoteError(f"{service} failed with HTTP {status} after {attempts} attempts; "
                                      "try again later") from None
                raise RemoteError(f"{service} refused the request with HTTP {status} ({url})") from None
            except (TimeoutError, urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
                reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
                if isinstance(reason, TimeoutError):
                    raise RemoteError(f"{service} did not answer within {self.timeout:g} s ({url}); "
                                      "check the connection or try again later") from None
                if isinstance(reason, ConnectionRefusedError):
                    why = "connection refused"
                else:
                    why = str(getattr(reason, "strerror", None) or reason or type(reason).__name__)
                raise RemoteError(f"cannot reach {service} at {url} ({why}); check the network connection "
                                  f"or {_ENV[service]}") from None
        raise AssertionError("unreachable")

    def _open_and_read(self, request: urllib.request.Request, service: str, url: str) -> bytes:
        """Open `request` and read its body within 7 timeouts in all: `timeout` bounds each read of
        the socket, so a server that sends its status line and headers a byte at a time would
        otherwise hold the command for ever. The request runs in a daemon thread that is left
        behind (it ends at its next socket timeout, or with the process) if the deadline passes."""
        outcome: list[Any] = []

        def run() -> None:
            try:
                with _OPENER.open(request, timeout=self.timeout) as response:
                    outcome.append(self._read(response, service, url))
            except BaseException as exc:  # handed to the caller, which raises it
                outcome.append(exc)

        worker = threading.Thread(target=run, name="allokb-remote", daemon=True)
        worker.start()
        worker.join(7 * self.timeout)
        if not outcome:
            raise RemoteError(f"{service} did not finish its answer within {7 * self.timeout:g} s ({url}); "
                              "try again later")
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]

    def _read(self, response: http.client.HTTPResponse, service: str, url: str) -> bytes:
        """The body of `response`, read in chunks: at most `MAX_BODY` bytes, within 6 timeouts in all
        (`timeout` bounds each read, so a server that sends a byte now and then is cut off here)."""
        too_big = RemoteError(f"{service} sent more than {MAX_BODY // 2**20} MiB for {url}; not read")
        length = response.getheader("Content-Length") or ""
        if length.isdigit() and int(length) > MAX_BODY:
            raise too_big
        deadline = time.monotonic() + 6 * self.timeout
        chunks: list[bytes] = []
        size = 0
        while chunk := response.read1(_CHUNK):  # `read` would wait for the whole chunk
            size += len(chunk)
            if size > MAX_BODY:
                raise too_big
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise RemoteError(f"{service} did not finish its answer within {6 * self.timeout:g} s ({url}); "
                                  "check the connection or try again later")
        return b"".join(chunks)

    # --- fetchers ----------------------------------------------------------------------------
    def fetch_doi(self, doi: str) -> FetchedRecord:
        """The Crossref record of `doi`."""
        url = f"{self.crossref_base}/works/{urllib.parse.quote(doi, safe='/()')}"
        data = self.get_json(url, "Crossref", f"Crossref has no record of DOI {doi}")
        message = data.get("message") if isinstance(data, dict) else None
        if not isinstance(message, dict):
            raise RemoteError(f"Crossref sent an unexpected response for DOI {doi} ({url}); try again later")
        record = _parse(parse_crossref, message, "Crossref", url, doi)
        record.doi = record.doi or doi
        record.checked.append((url, record.fields_given()))
        return record

    def fetch_pmid(self, pmid: str) -> FetchedRecord:
        """The PubMed summary of `pmid`."""
        url = f"{self.eutils_base}/esummary.fcgi?db=pubmed&id={pmid}&retmode=json"
        doc = self._summary(url, "PubMed", f"PubMed has no record of PMID {pmid}", pmid)
        record = _parse(parse_esummary, doc, "PubMed", url, f"PMID {pmid}")
        record.pmid = record.pmid or pmid
        record.checked.append((url, record.fields_given()))
        return record

    def fetch_pmcid(self, pmcid: str) -> FetchedRecord:
        """The record of a PMC article: PubMed's when PMC names a PMID, else Crossref's, else PMC's."""
        number = pmcid.upper().removeprefix("PMC")
        url = f"{self.eutils_base}/esummary.fcgi?db=pmc&id={number}&retmode=json"
        doc = self._summary(url, "PMC", f"PubMed Central has no record of {pmcid}", number)
        pmc = _parse(parse_esummary, doc, "PMC", url, f"PMC{number}")
        pmc.pmcid = f"PMC{number}"
        pmc_fields = [f for f in ("pmid", "doi", "pmcid") if getattr(pmc, f)]
        if pmc.pmid:
            record = self.fetch_pmid(pmc.pmid)
        elif pmc.doi:
            record = self.fetch_doi(pmc.doi)
        else:
            pmc.checked.append((url, pmc.fields_given()))
            return pmc
        record.pmcid, record.doi = pmc.pmcid, record.doi or pmc.doi
        record.checked.insert(0, (url, pmc_fields))
        return record

    def fetch_abstract(self, pmid: str) -> str | None:
        """The abstract of `pmid` from PubMed (all AbstractText parts), or None when it has none. It is
        searched for quotes, and `add-reference` writes it as a source text only if `allokb check`
        would read it (no refused character, within the size limit): `check_record` does not apply."""
        url = f"{self.eutils_base}/efetch.fcgi?db=pubmed&id={pmid}&rettype=abstract&retmode=xml"
        root = self.get_xml(url, "PubMed", f"PubMed has no record of PMID {pmid}")
        parts = [" ".join("".join(e.itertext()).split()) for e in root.iter("AbstractText")]
        text = " ".join(p for p in parts if p)
        return text or None

    def _summary(self, url: str, service: str, missing: str, uid: str) -> dict[str, Any]:
        data = self.get_json(url, service, missing)
        result = data.get("result") if isinstance(data, dict) else None
        if not isinstance(result, dict):
            if isinstance(data, dict) and "error" in data:
                raise RecordNotFound(missing)
            raise RemoteError(f"{service} sent an unexpected response ({url}); try again later")
        doc = result.get(uid)
        if not isinstance(doc, dict) or "error" in doc:
            raise RecordNotFound(missing)
        return doc


_ENV = {"Crossref": "set ALLOKB_CROSSREF_URL", "PubMed": "set ALLOKB_EUTILS_URL", "PMC": "set ALLOKB_EUTILS_URL"}


def _parse(parser: Callable[..., FetchedRecord], data: dict[str, Any], service: str, url: str,
           asked: str) -> FetchedRecord:
    try:
        return check_record(parser(data) if service == "Crossref" else parser(data, service))
    except Refused as exc:
        raise RemoteError(f"{service} answer for {asked}: {exc}; nothing was used") from None
    except (AttributeError, TypeError, ValueError, KeyError, IndexError):  # valid JSON, unexpected shape
        raise RemoteError(f"{service} sent an unexpected response ({url}); try again later") from None


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:  # an HTTP date: wait as after a 5xx
        return None


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to http(s) on the same host: an answer cannot send the client to
    another service, a local address or another scheme."""

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> urllib.request.Request | None:
        old, new = urllib.parse.urlsplit(req.full_url), urllib.parse.urlsplit(newurl)
        if new.scheme not in ("http", "https") or new.hostname != old.hostname:
            raise urllib.error.HTTPError(newurl, code, f"redirect to another host or scheme refused: {shown(newurl)}",
                                         headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_SameHostRedirects)


def _read_cache(path: Path) -> str:
    """A cache entry's text; `OSError` unless it is a regular file of a plausible size (the cache
    holds bodies of at most `MAX_BODY` bytes, JSON-escaped)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > 6 * MAX_BODY + 4096:
            raise OSError(f"{path}: not a cache entry")
        return f.read().decode("utf-8")


# --- parsing service records ------------------------------------------------------------------

_TAG = re.compile(r"<[^<>]*>")  # `[^>]` would rescan the rest of `<<<<...` from every `<`: quadratic


def clean(value: Any) -> str | None:
    """Plain text of a service's value: HTML tags and entities removed, white space collapsed.
    A list gives its first item; anything but a string or a number is `TypeError` (an unexpected
    answer), so that a nested or odd value is never written as its Python repr."""
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"expected text, found {type(value).__name__}")
    text = " ".join(html.unescape(_TAG.sub("", str(value))).split())
    return text or None


_UPDATE_RETRACT = ("retraction", "withdrawal", "removal", "retracted")


def parse_crossref(m: dict[str, Any]) -> FetchedRecord:
    """A Crossref `message` (one work) as a `FetchedRecord`."""
    r = FetchedRecord("Crossref")
    for a in m.get("author") or []:
        if isinstance(a, dict) and (a.get("family") or a.get("name")):
            r.authors.append((clean(a.get("family") or a.get("name")) or "", clean(a.get("given")) or ""))
    r.title, r.doi, r.url = clean(m.get("title")), clean(m.get("DOI")), clean(m.get("URL"))
    r.volume, r.issue, r.pages = clean(m.get("volume")), clean(m.get("issue")), clean(m.get("page"))
    r.publisher = clean(m.get("publisher"))
    kind = clean(m.get("type")) or ""
    container = clean(m.get("container-title"))
    r.kind = {"journal-article": "article", "book-chapter": "incollection", "book": "book",
              "monograph": "book"}.get(kind, "article" if container else "misc")
    if r.kind in ("article", "incollection"):
        r.journal = container
    for name in ("issued", "published-print", "published-online", "published"):
        parts = (m.get(name) or {}).get("date-parts") or [[None]]
        if parts and parts[0] and parts[0][0]:
            r.year = str(parts[0][0])
            break
    r.publication_types = [kind] if kind else []
    for name in ("update-to", "updated-by"):
        for u in m.get(name) or []:
            if isinstance(u, dict):
                utype = (clean(u.get("type")) or clean(u.get("label")) or "update").lower()
                doi = clean(u.get("DOI"))
                r.updates.append(f"{utype}: {check_identifier('update DOI', doi, DOI, 'a DOI') if doi else '?'}")
                r.retracted |= any(w in utype for w in _UPDATE_RETRACT)
    for rel, items in (m.get("relation") or {}).items():
        if any(w in rel for w in ("retract", "correct", "errat")):
            for item in items if isinstance(items, list) else [items]:
                related = clean((item or {}).get("id"))
                if related and str((item or {}).get("id-type", "")).lower() == "doi":
                    check_identifier("relation DOI", related, DOI, "a DOI")
                r.updates.append(f"{rel}: {related or '?'}")
            r.retracted |= "retract" in rel
    r.retracted |= (r.title or "").upper().startswith("RETRACTED")
    return r


def parse_esummary(doc: dict[str, Any], source: str) -> FetchedRecord:
    """One document of an E-utilities esummary (db=pubmed or db=pmc) as a `FetchedRecord`."""
    r = FetchedRecord(source)
    for a in doc.get("authors") or []:
        name = clean((a or {}).get("name"))
        if not name:
            continue
        if (a.get("authtype") or "Author") != "Author" or " " not in name:
            r.authors.append((name, ""))
        else:
            family, given = name.rsplit(" ", 1)
            r.authors.append((family, given))
    title = clean(doc.get("title"))
    if title:
        title = title.rstrip(".")
        title = title[1:-1] if title.startswith("[") and title.endswith("]") else title
    r.title = title
    r.journal = clean(doc.get("fulljournalname") or doc.get("source"))
    found = re.search(r"\b(1[5-9]|20)[0-9]{2}\b", str(doc.get("pubdate") or doc.get("epubdate") or ""))
    r.year = found.group(0) if found else None
    r.volume, r.issue, r.pages = clean(doc.get("volume")), clean(doc.get("issue")), clean(doc.get("pages"))
    for item in doc.get("articleids") or []:
        idtype, value = (item or {}).get("idtype"), clean((item or {}).get("value"))
        if not value:
            continue
        if idtype == "doi":
            r.doi = value
        elif idtype in ("pubmed", "pmid") and PMID.match(value):
            r.pmid = value
        elif idtype in ("pmc", "pmcid"):
            found = re.search(r"PMC[0-9]+", value)
            r.pmcid = r.pmcid or (found.group(0) if found else None)
    r.publication_types = [t for t in map(clean, doc.get("pubtype") or []) if t]
    r.retracted = "Retracted Publication" in r.publication_types
    for ref in doc.get("references") or []:
        reftype = clean((ref or {}).get("reftype")) or ""
        if reftype.startswith(("Retraction in", "Erratum in", "Corrected and republished in",
                               "Expression of concern in")):
            pmid = clean(ref.get("pmid"))
            pmid = check_identifier("reference PMID", pmid, PMID, "a PMID") if pmid else "?"
            r.updates.append(f"{reftype}: PMID {pmid}")
            r.retracted |= reftype.startswith("Retraction in")
    return r
