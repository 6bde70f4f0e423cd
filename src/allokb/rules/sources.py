"""Rules on source texts: every checked quote is in its reference's committed text (KB440), and
every committed text is named after a reference (KB442).

Reading the texts (content/sources/<bibkey>.md) and comparing a quote with one (`normalise`,
`quote_parts`, `find_quote`, `closest_passage`) is `allokb.sources`, library code that
`allokb verify --online` shares; a malformed text is the loader's KB441.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

from allokb.diagnostics import Diagnostic, Location, Suggester, make
from allokb.graph import KnowledgeBase
from allokb.rules.catalogue import rule
from allokb.sources import closest_passage, find_quote, normalise, quote_parts, quote_sites


@rule("KB440")
def check_source_quotes(kb: KnowledgeBase) -> Iterator[Diagnostic]:
    """A citation marked `supported` or `partial`, or a finding of a citation record, quotes words that the
    reference's committed source text (`content/sources/<bibkey>.md`) does not contain. Quote and text are
    compared after the same normalisation: Unicode NFKC, case, accents, Greek letters written out or not (`α` =
    `alpha`), and only letters, digits, a decimal point between digits and the signs `< > ≤ ≥ ± %` compared, so
    dashes, quotes, punctuation and white space never differ; an ellipsis (`...`) lets the parts around it stand
    apart, in order. The hint quotes the closest passage of the text. Copy the words exactly from the source, or
    correct the source text if it was retrieved wrongly."""
    if not kb.sources:
        return  # every quote is checked by hand
    haystacks: dict[str, str] = {}  # each text normalised once
    for site in quote_sites(kb):
        source = kb.sources.get(site.key)
        if source is None:
            continue  # checked by hand
        haystack = haystacks.get(site.key)
        if haystack is None:
            haystack = haystacks[site.key] = normalise(source.text)
        if find_quote(quote_parts(site.quote), haystack):
            continue
        shown = site.quote if len(site.quote) <= 80 else site.quote[:77] + "..."
        yield make("KB440", f"quote not found in the {source.kind_label} of `{site.key}` ({source.path}): "
                   f"\"{shown}\"", site.location, f"closest passage: \"{closest_passage(site.quote, source.text)}\"")


@rule("KB442")
def check_source_keys(unread: Collection[tuple[str, str]], bib_keys: Collection[str]) -> Iterator[Diagnostic]:
    """The name of a file in `content/sources/` must be the bib key of an entry of references.bib: its text is
    what that reference's quotes are checked against."""
    suggest = Suggester(bib_keys)
    for key, rel in unread:
        if key not in bib_keys:
            yield make("KB442", f"source text `{key}` has no entry in references.bib", Location(rel),
                       suggest.hint(key) or "rename the file after the bib key of its reference, or remove it")

