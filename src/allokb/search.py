"""Search stage: a Pagefind index of the final HTML of a built site, written to `pagefind/` in it.

Material's search plugin wrote one `search_index.json` that grew with the site and that every
reader's first page fetched (463 KB on the real content, 22 MB at 10,000 entries). Pagefind splits
the index into fragments fetched per query; `assets/search.js` loads it only when the reader
opens the search. `index_site` runs after the post-build audit, on the staged site, so what is
indexed is exactly what is published.

What is indexed is set in the theme override (site_templates/overrides/main.html): each page's
article (`data-pagefind-body`) with its kind as a filter (`data-pagefind-filter="kind:…"`); a
reference page only by its formatted citation (authors, title, journal); the trailing sections
marked `data-search-exclude` (references, history, cite this page) not at all. Pagefind's own
prebuilt interfaces are removed from the bundle: the site has its own, which never parses an
excerpt as HTML.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from allokb.diagnostics import KbError

#: Where the bundle goes, inside the site (assets/search.js imports pagefind/pagefind.js from it).
BUNDLE = "pagefind"
#: Pagefind's prebuilt interfaces: not used by the site (assets/search.js is its interface).
UNUSED = ("pagefind-ui.js", "pagefind-ui.css", "pagefind-modular-ui.js", "pagefind-modular-ui.css",
          "pagefind-component-ui.js", "pagefind-component-ui.css", "pagefind-highlight.js")
#: Left out of the index: the headings' permalink (a `¶` in every title and excerpt).
EXCLUDE = ".headerlink"
TIMEOUT = 3600  # seconds: 30,000 pages take minutes on two cores
_INDEXED = re.compile(r"Indexed (\d+) pages?")


@dataclass(frozen=True)
class SearchIndex:
    """What `index_site` wrote: pages indexed, and the files and bytes of the bundle."""

    pages: int
    files: int
    bytes: int


def pagefind_binary() -> Path:
    """The Pagefind executable of the installed `pagefind[bin]`. `KbError` when there is none."""
    try:
        from pagefind.service import get_executable
    except ImportError:
        binary = None
    else:
        binary = get_executable()
    if binary is None or not Path(binary).is_file():
        raise KbError("cannot build the search index: Pagefind is not installed (pip install 'pagefind[bin]'); "
                      "the previous site is unchanged")
    return Path(binary)


def index_site(staging: Path) -> SearchIndex:
    """Index the built site in `staging` into `staging/pagefind/`, replacing whatever was there
    (a hand-written file at that path must not survive as part of the search). `KbError` when
    Pagefind fails."""
    binary = pagefind_binary()
    bundle = staging / BUNDLE
    if bundle.is_symlink() or bundle.is_file():
        bundle.unlink()
    elif bundle.exists():
        shutil.rmtree(bundle)
    # Pagefind reads pagefind.yml/toml/json from its working folder and PAGEFIND_* variables:
    # run it in an empty folder with none, so that only the arguments below configure it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAGEFIND_")}
    with tempfile.TemporaryDirectory(prefix="allokb-pagefind-") as cwd:
        try:
            proc = subprocess.run([str(binary), "--site", str(staging.resolve()), "--output-subdir", BUNDLE,
                                   "--exclude-selectors", EXCLUDE],
                                  cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            raise KbError(f"cannot build the search index: {exc}; the previous site is unchanged") from None
    out = proc.stdout + proc.stderr
    if proc.returncode != 0 or not (bundle / "pagefind.js").is_file():
        last = "\n".join(line for line in out.splitlines() if line.strip())[-2000:] or "(no output)"
        raise KbError(f"cannot build the search index (Pagefind exit {proc.returncode}):\n{last}\n"
                      "the previous site is unchanged")
    for name in UNUSED:
        (bundle / name).unlink(missing_ok=True)
    files = [p for p in bundle.rglob("*") if p.is_file()]
    found = _INDEXED.search(out)
    return SearchIndex(int(found.group(1)) if found else 0, len(files), sum(p.stat().st_size for p in files))
