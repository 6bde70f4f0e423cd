"""The evidence map: every intervention's matrix, as an inline SVG drawn at build time (no client
library, no script) and the same data as a table.

This module lays the map out (positions, shapes, links); the template
site_templates/evidence_map.md.j2 writes the SVG, so every string in it goes through the
environment's filters like any other page text.

The map is paged as the indexes are (`allokb.render.paging`), so that its first load does not grow
with the knowledge base: `urls.MAP_PER_PAGE` interventions a page, in name order, page 1 at
`/evidence-map/` and page N at `/evidence-map/page/N/`, each page a drawing and a table of its
own interventions with the same columns and legend, and page links (plain links: without
JavaScript a reader reaches every intervention). A knowledge base of one page (the real site) has
no page links, and its map is unchanged byte for byte. An intervention's lines stay on one page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from allokb import urls
from allokb.model import Intervention
from allokb.render.pages import PageContext
from allokb.render.paging import map_paging_view
from allokb.urls import MAP_SRC, map_page_src, md_prefix, url_prefix

SRC = MAP_SRC  # page 1; page N: urls.map_page_src
#: layout, in SVG user units (pixels at 100 %)
LABEL_WIDTH = 230
CELL_WIDTH = 64
ROW_HEIGHT = 30
NAME_HEIGHT = 22
HEAD_HEIGHT = 100
LEGEND_HEIGHT = 40
#: a level's short text label and its shape (colour comes from the stylesheet, by level id)
MARKS = {"high": ("High", "circle"), "moderate": ("Mod", "diamond"), "low": ("Low", "triangle"),
         "very-low": ("VLow", "square"), "none": ("—", "dash")}


@dataclass(frozen=True)
class Cell:
    """One drawn cell: one row of one intervention's matrix."""

    x: int
    y: int
    level: str
    label: str  # the level's short label
    studies: int
    shape: str
    points: str  # polygon points, for the shapes drawn as polygons
    href: str
    title: str  # what the cell says, in words (tooltip and accessible name)


def _points(shape: str, cx: int, cy: int) -> str:
    r = 7
    if shape == "diamond":
        pts = [(cx, cy - r - 1), (cx + r + 1, cy), (cx, cy + r + 1), (cx - r - 1, cy)]
    elif shape == "triangle":
        pts = [(cx, cy - r), (cx + r, cy + r - 1), (cx - r, cy + r - 1)]
    else:
        return ""
    return " ".join(f"{x},{y}" for x, y in pts)


def map_order(ctx: PageContext) -> list[Intervention]:
    """Every intervention, in the map's order (by name): the order its pages cut."""
    return sorted(ctx.kb.interventions.values(), key=lambda i: (i.name.lower(), i.id))


def map_view(ctx: PageContext, items: list[Intervention] | None = None, src: str = SRC) -> dict[str, Any]:
    """The geometry and the table of the map of `items` (every intervention by default) on the
    page `src`: one line per intervention and population, one column per graded outcome, each
    cell a link to the row on the intervention's page."""
    rubric = ctx.rubric
    outcomes = [o for o in rubric.outcomes.values() if o.matrix] if rubric else []
    column = {o.id: i for i, o in enumerate(outcomes)}
    root, md_root = url_prefix(src), md_prefix(src)
    lines: list[dict[str, Any]] = []
    for item in map_order(ctx) if items is None else items:
        matrix = ctx.grades.get(item.id)
        if not matrix:
            continue
        rows = matrix["rows"]
        populations = list(dict.fromkeys(r["population"] for r in rows))
        for p in populations:
            lines.append({"item": item, "population": p,
                          "population_label": next(r["population_label"] for r in rows if r["population"] == p),
                          "rows": {r["outcome"]: r for r in rows if r["population"] == p}})
    cells, labels, names, table = [], [], [], []
    y = HEAD_HEIGHT
    for n, line in enumerate(lines):
        first = n == 0 or lines[n - 1]["item"].id != line["item"].id
        if first:  # the intervention's name on a line of its own, above its populations
            names.append({"y": y + NAME_HEIGHT - 6, "rule": y + 1, "name": line["item"].name,
                          "href": f"{root}interventions/{line['item'].id}/"})
            y += NAME_HEIGHT
        labels.append({"y": y + ROW_HEIGHT // 2 + 4, "population": line["population_label"]})
        table_cells = []
        for o in outcomes:
            row = line["rows"].get(o.id)
            if row is None:
                table_cells.append(None)
                continue
            label, shape = MARKS.get(row["level"], MARKS["none"])
            x = LABEL_WIDTH + column[o.id] * CELL_WIDTH
            href = f"{root}interventions/{line['item'].id}/#{row['anchor']}"
            studies = int(row["studies"])
            title = (f"{line['item'].name}: {row['title']}: {row['level_label']}, {studies} "
                     f"source{'s' if studies != 1 else ''}")
            cells.append(Cell(x, y, row["level"], label, studies, shape,
                              _points(shape, x + 14, y + ROW_HEIGHT // 2), href, title))
            table_cells.append({"label": row["level_label"], "studies": studies,
                                "href": f"{md_root}interventions/{line['item'].id}.md#{row['anchor']}"})
        table.append({"name": line["item"].name if first else "", "population": line["population_label"],
                      "link": f"{md_root}interventions/{line['item'].id}.md", "cells": table_cells})
        y += ROW_HEIGHT
    width = LABEL_WIDTH + len(outcomes) * CELL_WIDTH + 70  # room for the last, slanted heading
    height = y + LEGEND_HEIGHT
    legend = [{"x": 8 + i * 130, "level": level, "label": ctx.rubric.level(level).label if rubric and level != "none"
               else "No checked evidence", "shape": shape, "short": short,
               "points": _points(shape, 8 + i * 130 + 8, height - LEGEND_HEIGHT // 2)}
              for i, (level, (short, shape)) in enumerate(MARKS.items())]
    heads = [{"x": LABEL_WIDTH + i * CELL_WIDTH + CELL_WIDTH // 2, "label": o.label, "short": o.short}
             for i, o in enumerate(outcomes)]
    return {"width": width, "height": height, "cells": cells, "labels": labels, "names": names, "heads": heads,
            "legend": legend,
            "head_height": HEAD_HEIGHT, "row_height": ROW_HEIGHT, "label_width": LABEL_WIDTH,
            "cell_width": CELL_WIDTH, "legend_y": height - LEGEND_HEIGHT // 2, "outcomes": outcomes,
            "table": table, "lines": len(lines)}


def evidence_map_pages(ctx: PageContext) -> list[tuple[str, str]]:
    """The evidence map: (docs path, Markdown) of each of its pages."""
    items = map_order(ctx)
    per = urls.MAP_PER_PAGE
    chunks = [items[i:i + per] for i in range(0, len(items), per)] or [[]]
    out = []
    for number, chunk in enumerate(chunks, start=1):
        src = map_page_src(number)
        paging = map_paging_view(number, len(items))
        title = "Evidence map" if number == 1 else f"Evidence map (page {number} of {paging['count'] if paging else 1})"
        common = ctx.common(src, title, "Every intervention against every outcome: the evidence level of "
                            "each, graded per outcome and population by an open rubric, each cell linked to its trail.",
                            "content/rubric.yaml", [])
        common["meta"]["hide"] = ["navigation", "toc"]  # the map needs the page's whole width
        common["meta"]["search_exclude"] = number > 1  # its interventions are searchable on their own pages
        out.append((src, ctx.render("evidence_map.md.j2", src, map=map_view(ctx, chunk, src), paging=paging,
                                     **common)))
    return out
