"""Reader text of an evidence row: its study list, the trail of rating steps and what would raise
its level, with every source named as a reader names it (`Irwig 2012`, citations.short_source)
and linked to its reference page.

The grading stage writes its trail in the rubric's words with the sources' bib keys in them
(`Risk of bias: ... (irwig2012depressive)`): the data exports keep them so, a reader's page does
not. Keys stay in links and ids only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from allokb.graph import KnowledgeBase
from allokb.kinds import CITATION
from allokb.render.citations import short_source
from allokb.render.environment import Inert, inert
from allokb.urls import entry_link


@dataclass(frozen=True)
class NamedSource:
    """A source as a reader's page shows it: its short name and the Markdown link to its page."""

    key: str
    name: str
    link: str


def named_sources(kb: KnowledgeBase, src: str, keys: Iterable[str]) -> dict[str, NamedSource]:
    """The sources `keys`, named and linked from the page `src` (a key with no bib entry keeps
    its key as its name: the check reports it, KB303)."""
    out = {}
    for key in keys:
        ref = kb.references.get(key)
        out[key] = NamedSource(key, short_source(ref) if ref else key, entry_link(src, CITATION, key))
    return out


def linked_text(text: str, sources: dict[str, NamedSource]) -> Inert:
    """`text` (the rubric's words, filled in by the grading stage) as inert Markdown in which each
    bib key of `sources`, as a whole word, is a link named for a reader:
    `(irwig2012depressive)` → `([Irwig 2012](…))`. The words around the links are made inert
    piece by piece (environment.inert), with the spaces between them kept."""
    text = " ".join(text.split())
    if not sources:
        return inert(text)
    keys = sorted(sources, key=lambda k: (-len(k), k))
    pattern = re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, keys)) + r")(?![\w-])")
    out, pos = [], 0
    for match in pattern.finditer(text):
        source = sources[match.group(0)]
        out += [_words(text[pos:match.start()]), f"[{inert(source.name)}]({inert(source.link)})"]
        pos = match.end()
    out.append(_words(text[pos:]))
    return Inert("".join(out))


def _words(piece: str) -> str:
    """A piece of text between links, inert, with its leading and trailing space kept."""
    if not piece.strip():
        return piece
    return (" " if piece[0] == " " else "") + inert(piece) + (" " if piece[-1] == " " else "")
