"""The pathway diagram: inline SVG drawn by Graphviz at build time (no client-side library).

What it shows is computed from the knowledge base, never drawn by hand:

- the molecules of the enzymatic steps, in order, with each step's enzyme as its own node between
  substrate and product (a link to the step's page);
- the GABA-A receptor as the target, after allopregnanolone, when a `receptor-action` mechanism
  is recorded (a link to its page);
- each intervention at the place it acts (`anchor`): an intervention that is or mimics
  allopregnanolone at the receptor; one that acts through enzymatic steps at the earliest of them;
  one that acts only through other mechanisms at those mechanisms, drawn beside the chain. An
  intervention that records no mechanism is not drawn; the text alternative names it;
- no label that the data disputes: the step's `rate_limiting` flag is not printed (the pages
  discuss whether the step limits the rate; the diagram does not assert it).

Colours come from CSS classes (allokb.css), so one drawing is legible in the light and the dark
scheme. The text alternative is the same content as a list, rendered under the drawing.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from dataclasses import dataclass

from allokb.diagnostics import KbError
from allokb.model import Intervention, Mechanism

# How an intervention's arrow is labelled, by its `relation` (the schema's enum).
RELATION_VERB = {
    "raises-endogenous": "may raise",
    "is-allopregnanolone": "is",
    "mimics": "acts like",
    "lowers": "avoids what lowers it",
    "preserves": "may protect",
}


def _dot_string(value: str, wrap: int = 0) -> str:
    """A DOT double-quoted string. Graphviz reads `&...;` in a label as an entity, so `&` is
    written `&amp;`: the diagram shows the text as the page does (Graphviz escapes it for SVG).
    With `wrap`, words are broken into lines of about that many characters (DOT's `\\n`)."""
    text = value.replace("&", "&amp;").replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    if wrap:
        lines: list[str] = []
        for word in text.split(" "):
            if lines and len(lines[-1]) + 1 + len(word) <= wrap:
                lines[-1] += " " + word
            else:
                lines.append(word)
        text = "\\n".join(lines)
    return '"' + text + '"'


def _html_label(value: str) -> str:
    """Text inside a Graphviz HTML-like label (or one of its attributes): XML-escaped."""
    return html.escape(value, quote=True)


def _short(name: str) -> str:
    """An intervention's name without its parenthesised gloss, to keep the drawing narrow (the
    full name is the link's title and is in the text version)."""
    short = re.sub(r"\s*\([^)]*\)\s*$", "", name)
    return short or name


def _anchor_order(placed: list[Placement]) -> list[str]:
    order: list[str] = []
    for p in placed:
        if p.node not in order:
            order.append(p.node)
    return order


@dataclass(frozen=True)
class Placement:
    """Where one intervention is drawn: the node it points at, and the words for the text version."""
    intervention: Intervention
    node: str
    where: str


def _chain(mechanisms: list[Mechanism]) -> list[Mechanism]:
    """The enzymatic steps in pathway order (a step whose product is another's substrate comes first);
    ties and unconnected steps by id, so the drawing is the same on every build."""
    steps = sorted((m for m in mechanisms if m.step), key=lambda m: m.id)
    by_substrate: dict[str, list[Mechanism]] = {}
    for m in steps:
        assert m.step is not None
        by_substrate.setdefault(m.step.substrate, []).append(m)
    products = {m.step.product for m in steps if m.step}
    ordered: list[Mechanism] = []
    seen: set[str] = set()

    def walk(m: Mechanism) -> None:
        if m.id in seen:
            return
        seen.add(m.id)
        ordered.append(m)
        assert m.step is not None
        for nxt in by_substrate.get(m.step.product, []):
            walk(nxt)

    for m in steps:
        assert m.step is not None
        if m.step.substrate not in products:
            walk(m)
    for m in steps:  # a cycle has no start: keep every step anyway
        walk(m)
    return ordered


def _placements(chain: list[Mechanism], receptor: Mechanism | None, others: dict[str, Mechanism],
                interventions: list[Intervention]) -> list[Placement]:
    order = {m.id: i for i, m in enumerate(chain)}
    placed = []
    for item in sorted(interventions, key=lambda i: i.id):
        ids = [link.target for link in item.mechanisms]
        steps = sorted((i for i in ids if i in order), key=order.__getitem__)
        if item.relation in ("is-allopregnanolone", "mimics") and receptor is not None:
            placed.append(Placement(item, "receptor", f"at the receptor ({receptor.name})"))
        elif steps:
            step = chain[order[steps[0]]]
            placed.append(Placement(item, f"step_{order[step.id]}", f"at the step {step.name}"))
        elif receptor is not None and receptor.id in ids:
            placed.append(Placement(item, "receptor", f"at the receptor ({receptor.name})"))
        else:
            for mid in ids:
                if mid in others:
                    placed.append(Placement(item, f"other_{sorted(others).index(mid)}",
                                            f"through {others[mid].name}"))
                    break
    return placed


def _layout(mechanisms: list[Mechanism], interventions: list[Intervention]
            ) -> tuple[list[Mechanism], Mechanism | None, dict[str, Mechanism], list[Placement]]:
    """What both the drawing and its text version show: the steps in order, the receptor, the
    mechanisms beside the chain, and where each intervention is placed."""
    chain = _chain(mechanisms)
    receptor = next((m for m in sorted(mechanisms, key=lambda m: m.id) if m.kind == "receptor-action"), None)
    others = {m.id: m for m in mechanisms if m.kind in ("regulation", "pharmacokinetics", "concept")}
    return chain, receptor, others, _placements(chain, receptor, others, interventions)


def pathway_dot(mechanisms: list[Mechanism], interventions: list[Intervention] | None = None,
                mechanism_href: str = "", intervention_href: str = "../interventions/") -> str:
    """The DOT source of the pathway. Every node carries a link (URL) to its page."""
    chain, receptor, others, placed = _layout(mechanisms, interventions or [])
    lines = ["digraph pathway {",
             '  graph [rankdir=TB, bgcolor="transparent", fontname="sans-serif", nodesep=0.3, ranksep=0.3];',
             '  node [fontname="sans-serif", fontsize=12, style="filled"];',
             '  edge [fontname="sans-serif", fontsize=10];']
    molecules: list[str] = []
    for m in chain:
        assert m.step is not None
        for name in (m.step.substrate, m.step.product):
            if name not in molecules:
                molecules.append(name)
    first_step = {}
    for m in chain:
        assert m.step is not None
        first_step.setdefault(m.step.substrate, m)
        first_step.setdefault(m.step.product, m)
    for i, name in enumerate(molecules):
        link = first_step[name]
        lines.append(f"  mol_{i} [shape=box, style=\"rounded,filled\", class=\"molecule\", label={_dot_string(name)}, "
                     f"URL={_dot_string(mechanism_href + link.id + '/')}, tooltip={_dot_string(link.name)}, "
                     f"id={_dot_string(f'molecule-{i}')}];")
    index = {name: i for i, name in enumerate(molecules)}
    for i, m in enumerate(chain):
        assert m.step is not None
        lines.append(f"  step_{i} [shape=ellipse, class=\"enzyme\", label={_dot_string(m.step.enzyme or m.name)}, "
                     f"URL={_dot_string(mechanism_href + m.id + '/')}, tooltip={_dot_string(m.name)}, "
                     f"id={_dot_string('step-' + m.id)}];")
        lines.append(f"  mol_{index[m.step.substrate]} -> step_{i} [class=\"chain\", arrowhead=none];")
        lines.append(f"  step_{i} -> mol_{index[m.step.product]} [class=\"chain\"];")
    if receptor is not None:
        lines.append(f"  receptor [shape=doubleoctagon, class=\"receptor\", label=\"GABA-A receptor\", "
                     f"URL={_dot_string(mechanism_href + receptor.id + '/')}, tooltip={_dot_string(receptor.name)}, "
                     f"id=\"target-{receptor.id}\"];")
        allo = next((i for name, i in index.items() if name.lower() == "allopregnanolone"), None)
        if allo is not None:
            lines.append(f"  mol_{allo} -> receptor [class=\"chain\", label=\"acts on\"];")
    used_others = sorted({p.node for p in placed if p.node.startswith("other_")})
    for key in used_others:
        m = others[sorted(others)[int(key.split("_")[1])]]
        lines.append(f"  {key} [shape=box, class=\"other\", label={_dot_string(m.name, 24)}, "
                     f"URL={_dot_string(mechanism_href + m.id + '/')}, tooltip={_dot_string(m.name)}, "
                     f"id={_dot_string('mechanism-' + m.id)}];")
    for anchor in _anchor_order(placed):
        here = [p.intervention for p in placed if p.node == anchor]
        rows = "".join(
            f'<TR><TD ALIGN="LEFT" HREF="{_html_label(intervention_href + i.id + "/")}" '
            f'TITLE="{_html_label(i.name)}" ID="intervention-{i.id}">{_html_label(_short(i.name))}'
            f' <FONT POINT-SIZE="10">({_html_label(RELATION_VERB.get(i.relation, i.relation))})</FONT></TD></TR>'
            for i in here)
        lines.append(f"  grp_{anchor} [shape=plain, class=\"interventions\", label=<<TABLE BORDER=\"1\" "
                     f"CELLBORDER=\"0\" CELLSPACING=\"0\" CELLPADDING=\"3\">{rows}</TABLE>>];")
        lines.append(f"  grp_{anchor} -> {anchor} [class=\"acts\", style=dashed];")
        if not anchor.startswith("other_"):
            lines.append(f"  {{rank=same; grp_{anchor}; {anchor}}}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def pathway_text(mechanisms: list[Mechanism], interventions: list[Intervention] | None = None,
                 mechanism_href: str = "", intervention_href: str = "../interventions/") -> str:
    """The diagram's text alternative: the same content as an HTML list, every name escaped."""
    interventions = interventions or []
    chain, receptor, others, placed = _layout(mechanisms, interventions)

    def link(href: str, text: str) -> str:
        return f'<a href="{html.escape(href, quote=True)}">{html.escape(text)}</a>'

    def acting(node: str) -> str:
        here = [p.intervention for p in placed if p.node == node]
        if not here:
            return ""
        return " Drawn here: " + ", ".join(
            f"{link(intervention_href + i.id + '/', i.name)} ({html.escape(RELATION_VERB.get(i.relation, i.relation))})"
            for i in here) + "."

    rows = []
    for i, m in enumerate(chain):
        assert m.step is not None
        enzyme = f" by {html.escape(m.step.enzyme)}" if m.step.enzyme else ""
        rows.append(f"<li>{html.escape(m.step.substrate)} to {html.escape(m.step.product)}{enzyme}: "
                    f"{link(mechanism_href + m.id + '/', m.name)}.{acting(f'step_{i}')}</li>")
    if receptor is not None:
        rows.append(f"<li>Allopregnanolone acts on the GABA-A receptor: {link(mechanism_href + receptor.id + '/', receptor.name)}."
                    f"{acting('receptor')}</li>")
    for key in sorted({p.node for p in placed if p.node.startswith("other_")}):
        m = others[sorted(others)[int(key.split("_")[1])]]
        rows.append(f"<li>Beside the pathway: {link(mechanism_href + m.id + '/', m.name)}.{acting(key)}</li>")
    drawn = {p.intervention.id for p in placed}
    missing = [i for i in sorted(interventions, key=lambda i: i.id) if i.id not in drawn]
    if missing:
        rows.append("<li>Not drawn (no mechanism recorded): "
                    + ", ".join(link(intervention_href + i.id + "/", i.name) for i in missing) + ".</li>")
    return ('<details class="allokb-diagram-text"><summary>The diagram as text</summary><ol>'
            + "".join(rows) + "</ol></details>")


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
    svg = re.sub(r"<title>pathway</title>", '<title id="pathway-title">Allopregnanolone pathway: steps, the receptor '
                 'it acts on, and where each intervention acts</title>', svg)
    # A blank line would end the raw HTML block in Markdown.
    return "\n".join(line for line in svg.splitlines() if line.strip())
