"""Site stage: the single adapter between the knowledge base and MkDocs.

`mkdocs.yml` names this file under `hooks:`, so a plain `mkdocs build` or `mkdocs serve` runs
the knowledge-base check first and refuses to build content with errors. `build_site` and
`serve_site` are what `allokb build` and `allokb serve` call. A build is written to a temporary
folder beside the target and swapped in only when it succeeded, so a failed build leaves the
previous site exactly as it was.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from allokb.diagnostics import KbError
from allokb.project import check_project
from allokb.render import render_pages
from allokb.report import render

#: what `serve` watches besides the docs folder and mkdocs.yml
WATCHED = ("content", "references.bib", "site_templates", "src/allokb/schemas")


def _root_of(config: Any) -> Path:
    return Path(config.config_file_path).resolve().parent


def on_config(config: Any) -> Any:
    """MkDocs hook: check the knowledge base before anything is built."""
    from mkdocs.exceptions import PluginError

    root = _root_of(config)
    result = check_project(root)
    if result.failed():
        raise PluginError("the knowledge base has errors:\n" + render(result.diagnostics, "text", result.files, False))
    return config


def on_files(files: Any, config: Any) -> Any:
    """MkDocs hook: add the pages generated from the knowledge base."""
    from mkdocs.structure.files import File

    for page in render_pages(_root_of(config)):
        files.append(File.generated(config, page.src_uri, content=page.markdown))
    return files


def _log_to_stderr() -> None:
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # Material's banner is not actionable per build
    logger = logging.getLogger("mkdocs")
    if not any(getattr(h, "_allokb", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)-7s -  %(message)s"))
        handler._allokb = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def build_site(root: Path, site_dir: Path) -> None:
    """Run a strict MkDocs build of the project into `site_dir`, atomically."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException

    _log_to_stderr()
    site_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{site_dir.name}.building-", dir=site_dir.parent))
    try:
        config = load_config(str(root / "mkdocs.yml"), strict=True, site_dir=str(staging))
        build(config)
    except MkDocsException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise KbError(f"build failed: {exc}; the previous site is unchanged") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _swap_in(staging, site_dir)


def _swap_in(staging: Path, site_dir: Path) -> None:
    """Replace `site_dir` by `staging` with two renames, so readers never see a half site."""
    old = None
    if site_dir.exists():
        old = site_dir.with_name(f".{site_dir.name}.old-{staging.name.rsplit('-', 1)[-1]}")
        site_dir.rename(old)
    staging.rename(site_dir)
    staging.parent.joinpath(site_dir.name).chmod(0o755)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def serve_site(root: Path, dev_addr: str) -> None:
    """Serve a live preview that rebuilds when content, references or templates change."""
    from mkdocs.commands.serve import serve

    _log_to_stderr()
    watch = [str(root / p) for p in WATCHED if (root / p).exists()]
    serve(config_file=str(root / "mkdocs.yml"), dev_addr=dev_addr, livereload=True, watch=watch)
