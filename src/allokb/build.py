"""The build: one function from a project to a published site folder.

    build(root, out)
      1. check    allokb.project.check_project  every problem of the knowledge base, as diagnostics
      2. render   allokb.stages.render          every page, export and block, in memory
      3. sink     allokb.sink.write             MkDocs writes them, with the theme, into a staging
                                                folder beside `out`
      4. audit    allokb.stages.audit           the written HTML, as a browser reads it (the search
                                                index, allokb.search, is made from it meanwhile)
      5. (further steps on the staged HTML)
      6. swap     allokb.output.swap_in         the staged site replaces `out` in one step

A stage that finds located problems stops the build and returns them (`BuildResult`): the caller
reports them as `allokb check` reports its own. A failure without a location (MkDocs refusing a
dead link in a hand-written page, a folder that cannot be written) is a one-line `KbError`. In
every case the previous site at `out` stays exactly as it was: the lock, the staging folder, the
check that `out` did not change meanwhile and the atomic swap are `allokb.output`'s.

A plain `mkdocs build` or `mkdocs serve` runs stages 1, 2 and 4 through the hook
(`allokb.sink.on_config`), writing in place as MkDocs does. `allokb serve` runs the same stages
through `allokb.sink.Preview`, which rewrites after an edit only what changed (allokb.incremental);
tests/test_incremental.py holds its result to a fresh `build`, file by file.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from allokb import sink, stages
from allokb.audit import pages_of
from allokb.diagnostics import Diagnostic, KbError
from allokb.output import (check_site_dir, check_unchanged, identity, recover, resolve_site_dir, seal, site_lock,
                           staging_folder, swap_in)
from allokb.progress import Progress
from allokb.project import CheckResult, check_project
from allokb.search import Indexing, clear_bundle
from allokb.site import source_date_epoch
from allokb.stylesheet import write_site_stylesheet


@dataclass(frozen=True)
class BuildResult:
    """What a build did: `stage` is where it stopped ("check", "render" or "audit", with the
    `diagnostics` that stopped it) or "done"; `files` is how many files the check read."""

    stage: str
    diagnostics: tuple[Diagnostic, ...]
    files: int
    site_dir: Path

    @property
    def failed(self) -> bool:
        return self.stage != "done"


def build(root: Path, out: Path, *, checked: CheckResult | None = None,
          progress: Progress | None = None, stored: bool = False) -> BuildResult:
    """Check, render, write, audit and publish the project at `root` into the folder `out`.
    `checked`: a check of `root` just made, not repeated; `stored`: the check takes the files that
    did not change from the last one's (`allokb.checkcache`). `progress(done, total, page)` is told
    about long builds. Raises `UsageError` for a folder the build may not replace
    (`allokb.output.check_site_dir`), `KbError` for a failure that has no location."""
    out = resolve_site_dir(out)
    check_site_dir(out, root)
    result = checked or check_project(root, stored=stored)  # 1. check
    if result.failed():
        return BuildResult("check", tuple(result.diagnostics), result.files, out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with site_lock(out), _reproducible(root):
            recover(out)
            check_site_dir(out, root)  # again, with the lock: another build may have changed it
            seen = identity(out)
            with staging_folder(out) as staging:
                config = sink.load(root, staging)
                settings = sink.settings(config, root)
                rendered, site = stages.render(root, result, settings)  # 2. render
                if rendered.diagnostics:
                    return BuildResult("render", rendered.diagnostics, result.files, out)
                with _long_lived():
                    sink.write(config, rendered, site, settings, progress)  # 3. sink
                    clear_bundle(staging)  # an old or hand-written search bundle is neither audited nor published
                    pages = [p.relative_to(staging).as_posix() for p in pages_of(staging)]
                    # The search index (allokb.search) is made from the final HTML while the audit
                    # reads it (Pagefind, a process of its own, leaves a core idle much of its
                    # time); a failed audit stops it, and the staged site is not published.
                    with Indexing(staging) as indexing:
                        problems = stages.audit(staging, site.site_url, only=pages)  # 4. audit
                        if problems:
                            return BuildResult("audit", tuple(problems), result.files, out)
                        indexing.finish()
                    # 5. Further steps on the staged HTML go here, after the audit and before the
                    # swap, so that what they write is published with the site or not at all.
                    write_site_stylesheet(staging)  # the theme's CSS cut to what the pages use (allokb.stylesheet)
                seal(staging)  # 6. swap
                check_unchanged(out, root, seen)
                swap_in(staging, out)
    except OSError as exc:
        raise KbError(f"cannot build the site into {out}: {exc.strerror or exc}; "
                      "the previous site is unchanged") from None
    return BuildResult("done", (), result.files, out)


@contextlib.contextmanager
def _long_lived() -> Iterator[None]:
    """What the check and the render made (the knowledge base, every page's Markdown) lives until
    the build ends: it is kept out of the cyclic collector's way (`gc.freeze`) while MkDocs and the
    audit run, which would otherwise walk all of it at every full collection, more often the more
    pages there are (at 1,000 entries a tenth of MkDocs' part). Forked workers (allokb.parallel)
    inherit that. Garbage cycles made meanwhile are collected as before."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def _reproducible(root: Path) -> Iterator[None]:
    """SOURCE_DATE_EPOCH set for the build (`allokb.site.source_date_epoch`): the build date of
    the pages, the sitemap's dates and the gzip header follow it, so two builds of one commit are
    byte-identical."""
    saved = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = source_date_epoch(root)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = saved
