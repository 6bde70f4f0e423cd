"""Incremental rebuilds: which output files an edit touches, found by comparing two renders.

`allokb serve` keeps the last good render (`RenderedSite`) in its process. After an edit it checks
the knowledge base again and renders it from the kept render (`allokb.render.deps`: only the
pages of the edited records and of their neighbours in the graph, and the index and overview
pages whose context changed, are rendered again; the rest is taken from the kept render, and the
result is the full render's, byte for byte). `diff_sites` then compares the new render with the
kept one, page by page and file by file: only the pages whose Markdown changed (the entry's own
page, the pages that cite or link it, the index pages, the home summary) go through MkDocs' theme
again, only the export files whose text changed are written, and only what was written is
audited (`allokb.sink.Preview`).

Why two steps, a render that reuses and a comparison of whole renders, rather than the set of
pages derived from the graph alone: the comparison cannot miss a dependency (a title shown in a
backlink, a grade shown in an index, a count on the home page, a date from git), and it finds
which of the pages rendered again really changed. The partial render is held to the full one by
construction where it can be (an index or overview page is rendered again whenever its whole
template context differs; what every page reads, compared as a whole, forces a full render) and
by test where the graph decides (tests/test_render_deps.py: after edits of every kind of field of
every record kind, in the fixture and in the repository's content, the partial render equals a
full one). Rendering in memory this way costs about 0.4 s of CPU at 1,000 entries (measured in
benchmarks/bench_serve.py), where the whole render took 25 s; a page whose Markdown did not
change cannot have changed HTML, because MkDocs' output of a page depends only on its Markdown,
the navigation and the theme.

What the comparison cannot see is what MkDocs reads by itself: mkdocs.yml, the hand-written
pages and assets of the docs folder, and the theme override. `InputSnapshot` notes those files'
sizes and times; when any of them changed, `needs_full` says so and the preview rebuilds
everything, as it does when the abbreviations (appended to every page) or the site metadata
(dates from git, read by every hand-written page) changed, or when a page in the navigation
changed its title (shown in every page's navigation): `SiteDelta.full` holds the reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from allokb.files import file_stat
from allokb.render import RenderedSite

#: how a hand-written page embeds a block of the render (allokb.sink.SitePlugin.on_page_markdown)
BLOCK_MARK = "<!-- allokb:{name} -->"


@dataclass(frozen=True)
class SiteDelta:
    """What changed between two renders of a site: page source paths (`changed`, `added`,
    `removed`, as MkDocs' docs paths, e.g. `interventions/x.md`), export files by site path
    (`written` for changed or new, `deleted`), and `full`, the reason a partial rebuild would be
    wrong (None when it is right)."""

    changed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    written: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    full: str | None = None

    @property
    def pages(self) -> tuple[str, ...]:
        """Every page to render again, sorted."""
        return tuple(sorted({*self.changed, *self.added}))

    @property
    def empty(self) -> bool:
        return not (self.changed or self.added or self.removed or self.written or self.deleted or self.full)


def embedded_blocks(hand_pages: Mapping[str, str], names: Iterable[str]) -> dict[str, frozenset[str]]:
    """For each hand-written page (docs path -> its Markdown source), the blocks of `names` it
    embeds; pages that embed none are left out."""
    marks = {name: BLOCK_MARK.format(name=name) for name in names}
    out = {}
    for src, text in hand_pages.items():
        found = frozenset(name for name, mark in marks.items() if mark in text)
        if found:
            out[src] = found
    return out


def diff_sites(old: RenderedSite, new: RenderedSite, embeds: Mapping[str, frozenset[str]]) -> SiteDelta:
    """The pages and files that differ between the render `old` (the one the site on disk was
    built from) and `new`. `embeds`: the hand-written pages and the blocks each embeds
    (`embedded_blocks`): a page whose block changed is rendered again, as if its text had."""
    if old.abbreviations != new.abbreviations:
        return SiteDelta(full="the abbreviations, appended to every page, changed")
    before = {p.src_uri: p.markdown for p in old.pages}
    after = {p.src_uri: p.markdown for p in new.pages}
    changed = {src for src, text in after.items() if src in before and before[src] != text}
    blocks = {name for name in {*old.blocks, *new.blocks} if old.blocks.get(name) != new.blocks.get(name)}
    changed |= {src for src, names in embeds.items() if names & blocks and src not in after}
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    written = sorted(path for path, text in new.files.items() if old.files.get(path) != text)
    deleted = sorted(set(old.files) - set(new.files))
    return SiteDelta(tuple(sorted(changed)), tuple(added), tuple(removed), tuple(written), tuple(deleted))


@dataclass(frozen=True)
class InputSnapshot:
    """Size and modification time of every file MkDocs reads by itself (not through the render):
    the configuration, the docs folder, the theme override."""

    stats: tuple[tuple[str, int, int], ...]

    @classmethod
    def take(cls, paths: Iterable[Path]) -> InputSnapshot:
        """The snapshot of the files `paths` name (folders: every file under them)."""
        found: list[tuple[str, int, int]] = []
        for path in paths:
            if path.is_dir():
                for dirpath, _dirs, names in os.walk(path, followlinks=False):
                    for name in names:
                        found.append(file_stat(Path(dirpath) / name))
            else:
                found.append(file_stat(path))
        return cls(tuple(sorted(found)))

    def needs_full(self, now: InputSnapshot) -> bool:
        """Whether any of these files changed, appeared or went."""
        return self.stats != now.stats


__all__ = ["BLOCK_MARK", "InputSnapshot", "SiteDelta", "diff_sites", "embedded_blocks"]
