"""Render stage: Jinja templates -> Markdown pages, in memory.

One environment factory with `StrictUndefined`; templates hold no logic beyond loops and
conditionals over what the caller hands them. Each template's header comment lists its context.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2

from allokb.diagnostics import CODES

TEMPLATES_DIR = "site_templates"


@dataclass(frozen=True)
class Page:
    """A generated page: its source path in the docs tree (e.g. `codes.md`) and its Markdown."""

    src_uri: str
    markdown: str


def make_environment(root: Path) -> jinja2.Environment:
    """The one Jinja environment: templates from `<root>/site_templates`, undefined names fail."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root / TEMPLATES_DIR)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # output is Markdown; contributor text is escaped by filters where it lands
        keep_trailing_newline=True,
        trim_blocks=False,
    )


def render_codes_page(root: Path) -> Page:
    """The page documenting every diagnostic code, generated from `CODES`."""
    template = make_environment(root).get_template("codes.md.j2")
    return Page("codes.md", template.render(codes=list(CODES.values())))


def render_pages(root: Path) -> list[Page]:
    """Every generated page, sorted by path."""
    return sorted([render_codes_page(root)], key=lambda p: p.src_uri)
