"""Link hosts: what a URL given for a publication points at (content/link-hosts.yaml).

Which hosts are records of a publication, and which only copy, index or discuss one, is data:
content/link-hosts.yaml (schema link-hosts.schema.json) holds four lists, each item a `host` and
`why` it is on that list:

- `records`: PubMed, PMC, the DOI resolver, publishers, regulators, trial registries;
- `aggregators`: indexes, catalogues, repositories and news pages that describe a publication;
  they may confirm a record in `verification.checked_against`, after it, never replace it;
- `forums_and_wikis`: pages written by their users; a record only of what was posted there (the
  source post, a Wikipedia article), never of a publication;
- `mirrors_and_proxies`: copies, proxies and development servers; never a link of their own.

A `host` is a host name, matched exactly, or `*.suffix`, which matches every host that ends in
`.suffix` but not `suffix` itself: `www.` is never implied, so list both forms where both are
used. Matching is case-insensitive (the file is lower-case; a URL's host is lower-cased, with its
port and a final dot dropped). An exact host wins over a pattern and a longer pattern over a
shorter one, so that one host can be an exception to its domain's pattern. A host listed twice
is KB456. Without the file the lists are empty, and only IP addresses and search pages are found.

`LinkHosts.classify` says what a URL is; the rules in `allokb.rules.bibliography` (KB453, KB454)
say what that means for the field where it is written. Nothing here touches the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from allokb.diagnostics import Diagnostic, make
from allokb.files import read_project_file
from allokb.load import MAX_YAML_BYTES, parse_yaml
from allokb.schema import check_document

LINK_HOSTS_FILE = "content/link-hosts.yaml"
#: list in the file -> the kind of link its hosts give
LISTS = {"records": "record", "aggregators": "aggregator", "forums_and_wikis": "forum",
         "mirrors_and_proxies": "mirror"}
#: what each kind is called in a message
KIND_NAMES = {"record": "a record", "aggregator": "an aggregator", "forum": "a forum or wiki",
              "mirror": "a mirror or proxy", "ip-address": "an IP address", "search-page": "a search page"}

_NCBI = frozenset({"pubmed.ncbi.nlm.nih.gov", "www.ncbi.nlm.nih.gov", "pmc.ncbi.nlm.nih.gov", "pubmed.gov",
                   "www.pubmed.gov"})
_NCBI_ID = re.compile(r"[0-9]+|pmc[0-9]+")
_GOOGLE = re.compile(r"(?:www\.|scholar\.)?google(?:\.[a-z]{2,3}){1,2}")
_DUCKDUCKGO = frozenset({"duckduckgo.com", "html.duckduckgo.com", "lite.duckduckgo.com"})
#: the WHATWG URL standard reads a host whose last label is a number as an IPv4 address
#: (`http://2130706433/`, `http://0x7f.1/`): so does this check
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+")


@dataclass(frozen=True, slots=True)
class LinkClass:
    """What a URL points at: `kind` is `ip-address`, `search-page` or the kind of the list its host
    is on (`record`, `aggregator`, `forum`, `mirror`); `why` is the list's reason, if any."""

    kind: str
    host: str
    why: str = ""


@dataclass(frozen=True)
class LinkHosts:
    """The lists of content/link-hosts.yaml: host (or pattern suffix) -> (kind, why)."""

    exact: dict[str, tuple[str, str]] = field(default_factory=dict)
    patterns: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: URL -> its class: a URL is often given twice (`url` and `checked_against`, or two rules)
    _seen: dict[str, LinkClass | None] = field(default_factory=dict, compare=False, repr=False)

    def host_kind(self, host: str) -> tuple[str, str] | None:
        """(kind, why) of the list `host` (lower-case, no final dot) is on, or None."""
        found = self.exact.get(host)
        if found is not None:
            return found
        labels = host.split(".")
        for i in range(1, len(labels)):  # longest suffix first
            found = self.patterns.get(".".join(labels[i:]))
            if found is not None:
                return found
        return None

    def classify(self, url: str) -> LinkClass | None:
        """What `url` points at, or None: a host on no list, or not an http(s) URL one can read."""
        if url not in self._seen:
            self._seen[url] = self._classify(url)
        return self._seen[url]

    def _classify(self, url: str) -> LinkClass | None:
        host = _host(url)
        if not host:
            return None
        if _is_ip_address(host):
            return LinkClass("ip-address", host)
        if "?" in url:
            parts = urlsplit(url)
            if _is_search_page(host, parts.path, parts.query):
                return LinkClass("search-page", host)
        found = self.host_kind(host)
        return LinkClass(found[0], host, found[1]) if found is not None else None


def _host(url: str) -> str:
    """The host of an http(s) URL as `urlsplit(url).hostname` gives it (lower case, without user,
    port or brackets), without its final dot; "" when there is none or the URL is not http(s).
    Split by hand: this runs for every link of every check."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        return ""
    for end in "/?#":
        rest = rest.split(end, 1)[0]
    hostinfo = rest.rpartition("@")[2]
    if hostinfo.startswith("["):
        host, bracket, _ = hostinfo[1:].partition("]")
        if not bracket:  # `http://[::1`: KB412 is for the form of a URL
            return ""
    else:
        host = hostinfo.partition(":")[0]
    return host.lower().rstrip(".")


def _is_ip_address(host: str) -> bool:
    """An IPv6 literal (the only hosts with a colon) or a host read as IPv4: its last label a number."""
    return ":" in host or _NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]) is not None


def _is_search_page(host: str, path: str, query: str) -> bool:
    """A page of search results: a `/search` path (or `search.php` and the like) with a query, a
    PubMed or PMC `?term=` search (not an article's page), any Google or Google Scholar page with a query, DuckDuckGo's
    `?q=`. Search results change; they are never the record of a publication."""
    if not query:
        return False
    last = path.rstrip("/").rsplit("/", 1)[-1].lower()
    if last.split(".", 1)[0] == "search":
        return True
    params = {name.lower() for name in parse_qs(query, keep_blank_values=True)}
    if host in _NCBI:  # `?term=` on an article's own page only highlights words: still the record
        return "term" in params and not any(_NCBI_ID.fullmatch(part) for part in path.lower().split("/"))
    if host in _DUCKDUCKGO:
        return "q" in params
    return _GOOGLE.fullmatch(host) is not None


def load_link_hosts(root: Path) -> tuple[LinkHosts, list[Diagnostic]]:
    """Read and check content/link-hosts.yaml; empty lists (with diagnostics, if it is there but
    invalid) when it cannot be used."""
    text, problems = read_project_file(root, LINK_HOSTS_FILE, MAX_YAML_BYTES)
    if text is None:
        return LinkHosts(), problems
    doc, problems = parse_yaml(text, LINK_HOSTS_FILE, "link-hosts", "link-hosts")
    if doc is None or problems:
        # The loader's hint for an empty file names `allokb new`, which has no template for this one.
        return LinkHosts(), [replace(d, hint="restore it from git: it lists the hosts links may point at")
                             if d.code == "KB107" else d for d in problems]
    problems = check_document(doc)
    if problems:
        return LinkHosts(), problems
    exact: dict[str, tuple[str, str]] = {}
    patterns: dict[str, tuple[str, str]] = {}
    first: dict[str, str] = {}
    for name, kind in LISTS.items():
        for i, item in enumerate(doc.data[name]):
            host = item["host"]
            table, key = (patterns, host[2:]) if host.startswith("*.") else (exact, host)
            if host in first:
                problems.append(make("KB456", f"host `{host}` is listed twice: in {first[host]} and here",
                                     doc.location((name, i, "host")), "keep it on one list"))
                continue
            first[host] = f"{name}[{i}]"
            table[key] = (kind, item["why"])
    return LinkHosts(exact, patterns), problems

