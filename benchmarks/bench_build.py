"""Benchmark the site build: the real site, and synthetic knowledge bases (default 1,000 and
10,000 entries, with twice as many references).

Prints, per knowledge base, in the same run:

- the full build (`allokb build`: check, render, MkDocs, audit, stylesheet cut, search index) in
  wall time (median of --repeat fresh processes; --repeat-large for sizes of 5,000 and more), pages
  and pages per second;
- the python-markdown floor: python-markdown alone converting the same rendered pages (the
  Markdown `render_site` produces, front matter removed as MkDocs removes it, with the
  abbreviations MkDocs appends to every page), with the Markdown extensions of mkdocs.yml plus
  the three MkDocs always adds (toc, tables, fenced_code), one `Markdown` instance reset between
  pages; median of the same number of runs, in a fresh process; and the ratio of the two rates;
- the CPU seconds of both and their ratio: the build shares its larger stages among the cores
  (allokb.parallel) while the floor is one process, so the wall-time ratio says what a reader
  of the build's log waits for, the CPU ratio how much work the build does beyond Markdown;
- the first load of the largest page of each kind (home, each index with all its pages,
  intervention, mechanism and reference pages, the evidence map with all its pages, and the
  largest other page): uncompressed bytes
  of its HTML, stylesheets, scripts, icon and images, counted from the built files as a browser
  fetches them from a plain static server (tests/test_pagination.py checks that this count
  equals Chromium's on the real site);
- with --search, the bytes one search query fetches, in Debian's Chromium (tests/browser.py),
  as tests/test_page_weight.py measures it on the real site: the first query (which pays for
  Pagefind itself) and a second one.

Not a test: it prints figures.

    .venv/bin/python benchmarks/bench_build.py [--sizes 1000 10000] [--repeat 3] [--repeat-large 1] [--search]
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_check import generate  # noqa: E402

from allokb.parallel import cores  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
LIMIT = 250_000  # bytes: a first load's budget (issue 16)


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


def build_seconds(root: Path, site: Path, repeat: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each of `repeat` builds, each in a fresh process (CPU: the build's
    process with every process it waited for: its workers, Pagefind)."""
    times, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "allokb", "build", str(root), "--site-dir", str(site)],
                       check=True, capture_output=True)
        times.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return times, cpus


_FLOOR = """
import sys, time, yaml
from pathlib import Path
import markdown
from mkdocs.utils.meta import get_data
from allokb.project import check_project
from allokb.render import render_site
from allokb.site import site_info
from allokb.sink import settings
from allokb.grade import matrix_data
from mkdocs.config import load_config

root = Path(sys.argv[1]); repeat = int(sys.argv[2])
r = check_project(root); c = load_config(str(root / "mkdocs.yml"))
rendered = render_site(root, r.kb, site_info(settings(c, root), root),
                       {k: matrix_data(r.rubric, g) for k, g in r.grades.items()}, r.rubric)
texts = [p.markdown for p in rendered.pages]
texts += [f.read_text() for f in sorted((root / "content" / "pages").rglob("*.md"))]
texts = [get_data(t)[0] + "\\n\\n" + rendered.abbreviations for t in texts]
names, configs = ["toc", "tables", "fenced_code"], {}
for item in yaml.safe_load((root / "mkdocs.yml").read_text().split("\\nhooks:")[0])["markdown_extensions"]:
    name, conf = next(iter(item.items())) if isinstance(item, dict) else (item, None)
    if name not in names:
        names.append(name)
    if conf:
        configs[name] = conf
md = markdown.Markdown(extensions=names, extension_configs=configs)
for _ in range(repeat):
    t, c = time.perf_counter(), time.process_time()
    for text in texts:
        md.reset().convert(text)
    print(len(texts), time.perf_counter() - t, time.process_time() - c, flush=True)
"""


def floor_seconds(root: Path, repeat: int) -> tuple[int, list[float], list[float]]:
    """(pages, wall seconds of each run, CPU seconds of each run) of python-markdown alone on the
    build's rendered pages, in one process."""
    out = subprocess.run([sys.executable, "-c", _FLOOR, str(root), str(repeat)], check=True, capture_output=True,
                         text=True)
    runs = [line.split() for line in out.stdout.strip().splitlines()]
    return int(runs[0][0]), [float(seconds) for _, seconds, _ in runs], [float(cpu) for _, _, cpu in runs]


_LOADED = re.compile(r'<(?:link[^>]+rel="(?:stylesheet|icon)"[^>]+href|script[^>]+src|img[^>]+src)="([^"]+)"')


def first_load_bytes(site: Path, page: Path) -> tuple[int, list[str]]:
    """A page's first load from the built files: its HTML, and every stylesheet, script, icon and
    image it names (each once; `data:` and other sites' URLs are not fetched from this site),
    with the `url(…)` files (fonts, images) of its stylesheets; and the files counted."""
    html = page.read_text()
    total = page.stat().st_size
    loaded: list[str] = []
    for ref in _LOADED.findall(html):
        if ref.startswith(("data:", "http:", "https:", "//")):
            continue
        target = (page.parent / ref.split("?")[0].split("#")[0]).resolve()
        name = str(target.relative_to(site.resolve())) if target.is_relative_to(site.resolve()) else str(target)
        if target.is_file() and name not in loaded:
            total += target.stat().st_size
            loaded.append(name)
            if target.suffix == ".css":
                for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", target.read_text()):
                    asset = (target.parent / url.split("?")[0].split("#")[0]).resolve()
                    if not url.startswith("data:") and asset.is_file() and str(asset) not in loaded:
                        total += asset.stat().st_size
                        loaded.append(str(asset))
    if (site / "search" / "search_index.json").exists():  # Material's search loads its index on first load
        total += (site / "search" / "search_index.json").stat().st_size
        loaded.append("search/search_index.json")
    # Pagefind (allokb.search) is fetched only when the reader searches: not part of a first load.
    return total, loaded


def search_index_bytes(site: Path) -> int:
    """The search index the build wrote: Pagefind's bundle (allokb.search), or Material's one file."""
    if (site / "pagefind").is_dir():
        return sum(p.stat().st_size for p in (site / "pagefind").rglob("*") if p.is_file())
    return (site / "search" / "search_index.json").stat().st_size


#: page kinds for the first-load table: a label and the built pages of that kind
def page_kinds(site: Path) -> list[tuple[str, list[Path]]]:
    def index(section: str) -> list[Path]:
        return [site / section / "index.html", *sorted((site / section / "page").glob("*/index.html"))]

    def entries(section: str) -> list[Path]:
        return [p for p in sorted((site / section).glob("*/index.html")) if p.parent.name != "page"]

    kinds = [("home", [site / "index.html"]), ("interventions index", index("interventions")),
             ("mechanisms index", index("mechanisms")), ("references index", index("references")),
             ("intervention page", entries("interventions")), ("mechanism page", entries("mechanisms")),
             ("reference page", entries("references")), ("evidence map", index("evidence-map"))]
    listed = {p for _, pages in kinds for p in pages}
    kinds.append(("any other page", [p for p in sorted(site.rglob("*.html")) if p not in listed
                                     and "/page/" not in p.as_posix() and p.parent.parent.name != "page"]))
    return kinds


def first_loads(site: Path) -> None:
    for label, pages in page_kinds(site):
        pages = [p for p in pages if p.exists()]
        if not pages:
            continue
        largest = max(pages, key=lambda p: p.stat().st_size)  # the rest of a first load is the same files
        total, loaded = first_load_bytes(site, largest)
        over = "" if total < LIMIT else "  OVER 250 KB"
        print(f"{'':>6}{label:<20} {len(pages):>6} pages; largest /{largest.parent.relative_to(site).as_posix()}/: "
              f"HTML {largest.stat().st_size / 1024:.1f} KB, first load {total / 1024:.0f} KB "
              f"({len(loaded)} files){over}", flush=True)


def search_bytes(site: Path, queries: list[str]) -> list[tuple[str, int, int]]:
    """(query, bytes, requests) that each query fetched, in Chromium, one after the other from the
    home page (the first pays for Pagefind's script, worker and WebAssembly)."""
    sys.path.insert(0, str(REPO / "tests"))
    from browser import launch, serve

    out = []
    www = site.parent
    with serve(www) as url, launch() as browser:
        page = browser.new_page()
        sizes: dict[str, int] = {}

        def finished(request: Any) -> None:
            try:
                response = request.response()
                sizes[request.url] = len(response.body()) if response is not None else 0
            except Exception:  # noqa: BLE001 - a response that ends after the browser closed: not counted
                pass

        page.on("requestfinished", finished)
        page.goto(url + site.name + "/")
        page.wait_for_load_state("networkidle")
        seen = set(sizes)
        page.keyboard.press("/")
        box = page.locator("input.md-search__input")
        for query in queries:
            box.fill("")
            box.press_sequentially(query, delay=20)
            page.wait_for_function("q => (document.querySelector('.md-search-result__list').dataset.query || '')"
                                   ".startsWith(q)", arg=query, timeout=120_000)
            page.wait_for_load_state("networkidle")
            new = {u: s for u, s in sizes.items() if u not in seen}
            seen |= set(new)
            out.append((query, sum(new.values()), len(new)))
        page.close()
    return out


def report(label: str, root: Path, repeat: int, search: list[str] | None) -> None:
    with tempfile.TemporaryDirectory(prefix="allokb-build-") as tmp:
        site = Path(tmp) / "www" / "atlas"
        times, cpus = build_seconds(root, site, repeat)
        seconds, cpu = statistics.median(times), statistics.median(cpus)
        pages = sum(1 for _ in site.rglob("index.html"))
        floor_pages, floor_times, floor_cpus = floor_seconds(root, repeat)
        floor, floor_cpu = statistics.median(floor_times), statistics.median(floor_cpus)
        build_rate, floor_rate = pages / seconds, floor_pages / floor
        print(f"{label:>16} {pages:>7} {seconds:>9.1f} {build_rate:>8.1f} {floor_pages:>7} {floor:>8.1f} "
              f"{floor_rate:>8.1f} {floor_rate / build_rate:>7.2f}x {cpu:>8.1f} {floor_cpu:>8.1f} "
              f"{cpu / floor_cpu * floor_pages / pages:>7.2f}x {search_index_bytes(site) / 1024:>10.0f}  "
              f"runs: build {', '.join(f'{t:.1f}' for t in times)}; floor {', '.join(f'{t:.1f}' for t in floor_times)}",
              flush=True)
        first_loads(site)
        if search:
            for query, size, requests in search_bytes(site, search):
                print(f"{'':>6}search {query!r}: {size / 1024:.0f} KB in {requests} requests", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measure (median)")
    parser.add_argument("--repeat-large", type=int, default=1, help="runs for sizes of 5,000 entries and more")
    parser.add_argument("--no-real", action="store_true", help="skip the real site")
    parser.add_argument("--search", action="store_true", help="measure the bytes of search queries (Chromium)")
    args = parser.parse_args()
    print(f"allokb build (strict MkDocs build) and the python-markdown floor on the same pages, in the same run; "
          f"median of {args.repeat} runs ({args.repeat_large} at 5,000 entries and more); the build shares its "
          f"work among {cores()} cores (allokb.parallel), the floor runs in one process. ratio: the floor's rate over "
          "the build's, by wall time; cpu ratio: the same by CPU seconds (all the build's processes)")
    print(f"{'knowledge base':>16} {'pages':>7} {'build s':>9} {'pages/s':>8} {'md pages':>7} {'md s':>8} "
          f"{'md p/s':>8} {'ratio':>8} {'cpu s':>8} {'md cpu':>8} {'cpu ratio':>8} {'search KB':>10}")
    if not args.no_real:
        report("real content", REPO, args.repeat, ["micronized progesterone", "Andréen"] if args.search else None)
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix=f"allokb-synth-{size}-") as tmp:
            content = Path(tmp) / "content-src"
            print(f"generating {size:,} entries…", file=sys.stderr, flush=True)
            generate(content, size)
            root = project_from(content, Path(tmp) / "project")
            report(f"{size:,} entries", root, args.repeat if size < 5000 else args.repeat_large,
                   ["Intervention 7", "Mechanism 3"] if args.search else None)


if __name__ == "__main__":
    main()
