"""The biosynthesis pathway as inline SVG, drawn by Graphviz at build time from the `step` of
each enzymatic mechanism (no client-side library; each arrow links to its mechanism's page)."""

from __future__ import annotations

import re
import shutil
import subprocess

from allokb.diagnostics import KbError
from allokb.model import Mechanism


def _dot_string(value: str) -> str:
    """A DOT double-quoted string. Graphviz reads `&...;` in a label as an entity, so `&` is
    written `&amp;`: the diagram shows the text as the page does (Graphviz escapes it for SVG)."""
    return ('"' + value.replace("&", "&amp;").replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
            + '"')


def pathway_dot(mechanisms: list[Mechanism], href_prefix: str) -> str:
    """The DOT source of the pathway: molecules are nodes, steps are edges linking to their page."""
    lines = ["digraph pathway {", '  graph [rankdir=TB, bgcolor="transparent", fontname="sans-serif", nodesep=0.4];',
             '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", color="#5c6bc0", fontname="sans-serif",'
             " fontsize=12];",
             '  edge [color="#5c6bc0", fontname="sans-serif", fontsize=11];']
    molecules = sorted({m.step.substrate for m in mechanisms if m.step} | {m.step.product for m in mechanisms if m.step})
    for i, name in enumerate(molecules):
        lines.append(f"  n{i} [label={_dot_string(name)}, id={_dot_string(f'molecule-{i}')}];")
    index = {name: i for i, name in enumerate(molecules)}
    for mech in sorted((m for m in mechanisms if m.step), key=lambda m: m.id):
        assert mech.step is not None
        label = mech.step.enzyme or mech.name
        if mech.step.rate_limiting:
            label += " (rate-limiting)"
        lines.append(f"  n{index[mech.step.substrate]} -> n{index[mech.step.product]} [label={_dot_string(label)}, "
                     f"URL={_dot_string(href_prefix + mech.id + '/')}, tooltip={_dot_string(mech.name)}, "
                     f"id={_dot_string('step-' + mech.id)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_svg(dot_source: str) -> str:
    """Run Graphviz and return the SVG element, without the XML prolog and comments (which carry
    the Graphviz version and would make builds differ between machines)."""
    dot = shutil.which("dot")
    if dot is None:
        raise KbError("Graphviz is needed to draw the pathway diagram: install it (apt-get install graphviz)")
    try:
        proc = subprocess.run([dot, "-Tsvg"], input=dot_source, capture_output=True, text=True, check=True, timeout=60)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        raise KbError(f"Graphviz failed to draw the pathway diagram: {exc}") from None
    svg = proc.stdout
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<!--.*?-->\s*", "", svg, flags=re.S)
    svg = re.sub(r'\s(width|height)="[^"]*pt"', "", svg, count=2)  # scale with the page (CSS sets the width)
    svg = svg.replace("<svg ", '<svg role="img" aria-labelledby="pathway-title" ', 1)
    svg = re.sub(r"<title>pathway</title>", '<title id="pathway-title">Allopregnanolone biosynthesis pathway</title>', svg)
    # A blank line would end the raw HTML block in Markdown.
    return "\n".join(line for line in svg.splitlines() if line.strip())
