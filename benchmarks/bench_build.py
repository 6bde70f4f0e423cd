"""Benchmark the site build: the real site, and synthetic knowledge bases (default 1,000 and
10,000 entries, with twice as many references).

Prints, per knowledge base: build wall time (median of --repeat fresh processes), pages and
pages per second, our own stages (load to rendered Markdown, timed in-process) and their share
of the build, the median size of an intervention page's HTML, and (real site) the first-load
weight of an intervention page: its HTML with every stylesheet, script and worker it loads.
Not a test: it prints figures.

    .venv/bin/python benchmarks/bench_build.py [--sizes 1000 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_check import generate  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def project_from(content_root: Path, dest: Path) -> Path:
    """The repository's site configuration with the content of `content_root`."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("mkdocs.yml", "CONTRIBUTING.md"):
        shutil.copy(REPO / name, dest / name)
    for name in ("site_templates", "content/pages"):
        shutil.copytree(REPO / name, dest / name)
    (dest / "src" / "allokb").mkdir(parents=True)
    for name in ("site.py", "mkdocs_hook.py"):  # the hook mkdocs.yml names
        shutil.copy(REPO / "src" / "allokb" / name, dest / "src" / "allokb" / name)
    shutil.copy(REPO / "content" / "rubric.yaml", dest / "content" / "rubric.yaml")
    if content_root != dest:
        for kind in ("interventions", "mechanisms", "citations"):
            shutil.copytree(content_root / "content" / kind, dest / "content" / kind)
        shutil.copy(content_root / "references.bib", dest / "references.bib")
    # A site keeps its URL manifest (KB603); a synthetic one has published nothing yet.
    if not (dest / "urls.txt").exists():
        (dest / "urls.txt").write_text("# Every URL the site has published, relative to site_url.\n")
    return dest


def build_seconds(root: Path, site: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "allokb", "build", str(root), "--site-dir", str(site)],
                       check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def our_stages(root: Path) -> float:
    """Seconds for check + render (what the hook does before MkDocs takes over), in a fresh process."""
    code = ("import sys,time; from pathlib import Path; from allokb.project import check_project;"
            "from allokb.render import render_site; from allokb.site import site_info; from allokb.sink import settings; from allokb.grade import matrix_data;"
            "from mkdocs.config import load_config; root=Path(sys.argv[1]); t=time.perf_counter();"
            "r=check_project(root); c=load_config(str(root/'mkdocs.yml'));"
            "render_site(root, r.kb, site_info(settings(c, root), root), {k: matrix_data(r.rubric, g) for k,g in r.grades.items()}, r.rubric);"
            "print(time.perf_counter()-t)")
    out = subprocess.run([sys.executable, "-c", code, str(root)], check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def first_load_bytes(site: Path, page: Path) -> tuple[int, list[str]]:
    html = page.read_text()
    total = page.stat().st_size
    loaded = []
    for ref in re.findall(r'<(?:link[^>]+rel="stylesheet"[^>]+href|script[^>]+src)="([^"]+)"', html):
        target = (page.parent / ref.split("?")[0]).resolve()
        if target.exists():
            total += target.stat().st_size
            loaded.append(str(target.relative_to(site.resolve())))
    if (site / "search" / "search_index.json").exists():  # Material's search loads its worker and index on first load
        for extra in ("search/search_index.json", *[str(p.relative_to(site)) for p in site.glob("assets/javascripts/workers/*.js")]):
            total += (site / extra).stat().st_size
            loaded.append(extra)
    # Pagefind (allokb.search) is fetched only when the reader searches: not part of a first load.
    return total, loaded


def search_index_bytes(site: Path) -> int:
    """The search index the build wrote: Pagefind's bundle (allokb.search), or Material's one file."""
    if (site / "pagefind").is_dir():
        return sum(p.stat().st_size for p in (site / "pagefind").rglob("*") if p.is_file())
    return (site / "search" / "search_index.json").stat().st_size


def report(label: str, root: Path, repeat: int, real: bool = False) -> None:
    with tempfile.TemporaryDirectory(prefix="allokb-build-") as tmp:
        site = Path(tmp) / "site"
        seconds = build_seconds(root, site, repeat)
        ours = statistics.median(our_stages(root) for _ in range(max(1, repeat)))
        pages = sum(1 for _ in site.rglob("index.html"))
        sizes = sorted(p.stat().st_size for p in (site / "interventions").glob("*/index.html"))
        median_kb = statistics.median(sizes) / 1024 if sizes else 0
        index_kb = search_index_bytes(site) / 1024
        print(f"{label:>24} {pages:>7} {seconds:>9.1f} {pages / seconds:>8.0f} {ours:>9.1f} {ours / seconds:>7.0%} "
              f"{median_kb:>10.1f} {index_kb:>11.0f}", flush=True)
        entry = site / "interventions" / "oral-micronized-progesterone" / "index.html"
        if not entry.exists():
            entry = next(iter(sorted((site / "interventions").glob("*/index.html"))))
        for page in (entry, site / "interventions" / "index.html", site / "references" / "index.html", site / "index.html"):
            total, loaded = first_load_bytes(site, page)
            print(f"{'':>24} first load of {page.parent.relative_to(site).as_posix()}/: HTML "
                  f"{page.stat().st_size / 1024:.1f} KB; with CSS, JS (and Material's search index if any) "
                  f"{total / 1024:.0f} KB ({len(loaded)} files)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"allokb build (strict MkDocs build), median of {args.repeat} runs for the real site, 1 run for synthetic")
    print(f"{'knowledge base':>24} {'pages':>7} {'build s':>9} {'pages/s':>8} {'ours s':>9} {'share':>7} "
          f"{'page KB':>10} {'search KB':>11}")
    report("real content", REPO, args.repeat, real=True)
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix=f"allokb-synth-{size}-") as tmp:
            content = Path(tmp) / "content-src"
            print(f"generating {size:,} entries…", file=sys.stderr, flush=True)
            generate(content, size)
            root = project_from(content, Path(tmp) / "project")
            report(f"{size:,} entries", root, 1)


if __name__ == "__main__":
    main()
