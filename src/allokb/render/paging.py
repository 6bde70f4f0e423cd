"""Index pages that do not grow with the knowledge base: the interventions' summary table, the
mechanisms' index and the bibliography, split into pages of a fixed number of entries.

Page 1 of a section is its index page at its old URL (`/interventions/`); page N >= 2 is at
`/<section>/page/N/`. A knowledge base smaller than one page (the real site) has one page, with
no page links and no new URL, and its index pages are unchanged byte for byte; a larger one gets
new URLs for its extra pages only. Every page links to every other page (plain links: without
JavaScript a reader reaches every entry), and `urls.plan_urls` lists them, so that the URL
manifest keeps them once published.

Filtering the summary table across pages (the URL parameters `?population=…&outcome=…&q=…`,
which the home page's "Start here" links use) is done by `allokb.js` with the pre-rendered pages
themselves as the data: each option of a filter names the pages holding a row that matches it
(`data-pages`), so a filtered view fetches only those pages, takes their rows and filters the
whole knowledge base's rows as it filters one page's (a text filter, which no option narrows,
fetches every page). Chosen over JSON chunks because nothing is rendered twice (a row is the same
`<tr>` however it reaches the reader, escaped once by the same template), no new file type has to
pass the post-build audit, and a page fetched for a filter is a page a reader could open; the
cost, a page's chrome (about 22 KB) per page fetched, is paid only by a filtered view, never by
a first load. Unfiltered, each page sorts its own rows only (sorting is by column, in the reader's
browser); filtered, the matching rows of every page are in one table and sort together.

The evidence map (`allokb.render.evidence_map`) is paged the same way, by interventions in name
order (`urls.MAP_PER_PAGE` a page): page 1 at `/evidence-map/`, page N at `/evidence-map/page/N/`,
each page its own drawing and table of the same columns, with the same page links.

The two other pages that listed every entry stay bounded as well: the home page names at most
`overview.HOME_PER_CATEGORY` interventions per category (then links the table filtered by it), and
the pathway diagram is drawn on the mechanisms index while it has at most `DIAGRAM_MAX_NODES`
nodes (below).
"""

from __future__ import annotations

from typing import Any

from allokb.kinds import Kind
from allokb import urls
from allokb.urls import MAP_SRC, PER_PAGE, index_page_count, index_page_src, map_page_count, map_page_src, url_prefix


def chunks(items: list[Any], kind: Kind) -> list[list[Any]]:
    """`items` (in page order) cut into the index pages of `kind` (one empty page when none)."""
    per = PER_PAGE[kind.name]
    return [items[i:i + per] for i in range(0, len(items), per)] or [[]]


def page_of_item(position: int, kind: Kind) -> int:
    """The index page (1-based) of the item at `position` (0-based) in page order."""
    return position // PER_PAGE[kind.name] + 1


def paging_view(kind: Kind, number: int, total: int) -> dict[str, Any] | None:
    """The page links of index page `number` of the section of `kind` holding `total` entries,
    as the templates show them (hrefs relative to that page), or None when one page holds all."""
    return _links(number, index_page_count(kind, total), PER_PAGE[kind.name], total,
                  url_prefix(index_page_src(kind, number)) + f"{kind.section}/")


def map_paging_view(number: int, total: int) -> dict[str, Any] | None:
    """The page links of page `number` of the evidence map of `total` interventions (the same
    shape as `paging_view`: the same partial shows them), or None when one page holds all."""
    return _links(number, map_page_count(total), urls.MAP_PER_PAGE, total,
                  url_prefix(map_page_src(number)) + MAP_SRC.removesuffix(".md") + "/")


def _links(number: int, count: int, per: int, total: int, base: str) -> dict[str, Any] | None:
    """Page `number` of `count` (`per` entries each, `total` in all) whose page 1 is at `base`
    and page N at `base` + `page/N/`."""
    if count == 1:
        return None

    def href(n: int) -> str:
        return base + ("" if n == 1 else f"page/{n}/")

    return {"number": number, "count": count, "total": total, "first": (number - 1) * per + 1,
            "last": min(number * per, total),
            "links": [{"number": n, "href": href(n), "current": n == number} for n in range(1, count + 1)],
            "previous": href(number - 1) if number > 1 else None, "next": href(number + 1) if number < count else None}


def section_prefix(number: int) -> str:
    """From index page `number` to its section's folder, where the entries' pages are: `` from
    /interventions/, `../../` from /interventions/page/N/."""
    return "" if number == 1 else "../../"


def option_pages(kind: Kind, codes: list[dict[str, list[str]]]) -> dict[str, dict[str, str]]:
    """For each filter and each of its values, the index pages holding an entry with that value
    (`1 3 7`), from each entry's codes (in page order: filter name -> its codes): what a filter's
    option tells `allokb.js`, so that a filtered view fetches only the pages that can match."""
    out: dict[str, dict[str, set[int]]] = {}
    for position, entry in enumerate(codes):
        for name, values in entry.items():
            for value in values:
                out.setdefault(name, {}).setdefault(value, set()).add(page_of_item(position, kind))
    return {name: {value: " ".join(map(str, sorted(numbers))) for value, numbers in sorted(values.items())}
            for name, values in sorted(out.items())}


#: the most nodes (mechanisms and interventions) the pathway diagram is drawn with on the
#: mechanisms index: about 650 bytes of SVG each (the real site's 31 nodes take 20 KB), so a
#: larger drawing would take the page past its budget, and a pathway of hundreds of steps is no
#: longer legible as one drawing. Above it, the index says so and lists the mechanisms, whose
#: pages link their upstream and downstream steps.
DIAGRAM_MAX_NODES = 120


def diagram_fits(mechanisms: int, interventions: int) -> bool:
    """Whether the pathway diagram is drawn on the mechanisms index (`DIAGRAM_MAX_NODES`)."""
    return mechanisms + interventions <= DIAGRAM_MAX_NODES
