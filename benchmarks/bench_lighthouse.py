"""Lighthouse (mobile preset; performance, accessibility, best practices and SEO) on the home page,
the summary table, an intervention page and a reference page of the real site, and, in the same
run, on a default Material page (a one-page `mkdocs new` site with `theme: material`) for
comparison. Each page is served from 127.0.0.1 by a static server that compresses text as GitHub
Pages does (--no-gzip: uncompressed) and measured --repeat times (median of each category);
Chromium is Debian's, with the flags of tests/browser.py.
Targets (issue 15, item 11): performance >= 95, accessibility 100, best practices >= 95, SEO 100
on the four pages of the site. Not a test: it prints figures, then the audits that cost points
(of any run) and the performance metrics (median), and exits 1 when a page misses a target.

    (cd tools && npm ci --ignore-scripts)   # Lighthouse, pinned in tools/package.json and its lock
    .venv/bin/python benchmarks/bench_lighthouse.py [--site SITE_DIR] [--repeat 3] [--no-gzip]

--site: an already built site (its folder is served under /atlas/); by default the repository's
site is built into a temporary folder first.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402 - tests/ is put on the path first

LIGHTHOUSE = REPO / "tools" / "node_modules" / ".bin" / "lighthouse"
PAGES = {"home": "atlas/", "summary table": "atlas/interventions/",
         "intervention": "atlas/interventions/oral-micronized-progesterone/",
         "reference": "atlas/references/irwig2012depressive/"}
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
TARGETS = {"performance": 95, "accessibility": 100, "best-practices": 95, "seo": 100}
METRICS = ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time", "cumulative-layout-shift",
           "speed-index")


#: what GitHub Pages sends compressed (gzip) to a browser that accepts it
COMPRESSED = frozenset({".html", ".css", ".js", ".json", ".svg", ".xml", ".txt"})


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Pages(_Quiet):
    """Serves as GitHub Pages does: text gzip-compressed when the browser accepts it (a plain
    static server sends it uncompressed, and the simulated slow 4G then times bytes no reader gets)."""

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        if path.is_dir() and self.path.split("?")[0].endswith("/"):
            path = path / "index.html"
        if path.is_file() and path.suffix in COMPRESSED and "gzip" in self.headers.get("Accept-Encoding", ""):
            body = gzip.compress(path.read_bytes(), 6)
            self.send_response(200)
            self.send_header("Content-Type", self.guess_type(str(path)))
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Vary", "Accept-Encoding")
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()


def serve(www: Path, compress: bool = True) -> tuple[ThreadingHTTPServer, str]:
    handler = _Pages if compress else _Quiet
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(www)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def lighthouse(url: str, out: Path) -> dict[str, Any]:
    """One Lighthouse run (mobile preset: Moto G power emulation, simulated slow 4G)."""
    flags = " ".join(["--headless=new", *CHROMIUM_ARGS])
    subprocess.run([str(LIGHTHOUSE), url, f"--chrome-path={CHROMIUM}", f"--chrome-flags={flags}",
                    f"--only-categories={','.join(CATEGORIES)}", "--output=json", f"--output-path={out}", "--quiet"],
                   check=True, timeout=600)
    report = json.loads(out.read_text())
    audits = report["audits"]
    lost = sorted({f"{category}: {ref['id']}" for category in CATEGORIES
                   for ref in report["categories"][category]["auditRefs"]
                   if ref["weight"] and audits[ref["id"]]["score"] is not None and audits[ref["id"]]["score"] < 1})
    return {**{c: round(100 * report["categories"][c]["score"]) for c in CATEGORIES},
            **{m: audits[m]["numericValue"] for m in METRICS},
            "bytes": audits["total-byte-weight"]["numericValue"], "lost": lost}


def material_site(tmp: Path) -> Path:
    """A default Material page: `mkdocs new`, `theme: material`, built."""
    project = tmp / "material"
    subprocess.run([sys.executable, "-m", "mkdocs", "new", str(project)], check=True, capture_output=True)
    config = project / "mkdocs.yml"
    config.write_text(config.read_text() + "theme:\n  name: material\n")
    www = tmp / "material-www"
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", "-f", str(config), "-d", str(www / "atlas")],
                   check=True, capture_output=True)
    return www


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, help="a built site (served under /atlas/)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-gzip", action="store_true", help="serve text uncompressed (GitHub Pages gzips it)")
    parser.add_argument("--page", action="append", choices=sorted(PAGES),
                        help="measure only this page (repeatable; the default Material page is then left out)")
    args = parser.parse_args()
    if not LIGHTHOUSE.exists():
        print("Lighthouse is not installed: (cd tools && npm ci)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="allokb-lighthouse-") as name:
        tmp = Path(name)
        if args.site:
            www = tmp / "www"
            www.mkdir()
            (www / "atlas").symlink_to(args.site.resolve())
        else:
            www = tmp / "www"
            subprocess.run([sys.executable, "-m", "allokb", "build", str(REPO), "--site-dir", str(www / "atlas")],
                           check=True, capture_output=True)
        targets = [(label, www, path) for label, path in PAGES.items() if not args.page or label in args.page]
        if not args.page:
            targets.append(("default Material page", material_site(tmp), "atlas/"))
        version = subprocess.run([str(LIGHTHOUSE), "--version"], capture_output=True, text=True, check=True)
        print(f"Lighthouse {version.stdout.strip()}, mobile preset, text {'un' if args.no_gzip else 'gzip-'}compressed, "
              f"median of {args.repeat} "
              f"(runs in brackets); targets: {', '.join(f'{c} {t}' for c, t in TARGETS.items())}")
        print(f"{'page':<24} " + " ".join(f"{c:>20}" for c in CATEGORIES))
        results: dict[str, list[dict[str, Any]]] = {}
        missed = False
        for label, root, path in targets:
            server, base = serve(root, compress=not args.no_gzip)
            try:
                runs = [lighthouse(base + path, tmp / f"report-{i}.json") for i in range(args.repeat)]
            finally:
                server.shutdown()
                server.server_close()
            results[label] = runs
            cells = []
            for c in CATEGORIES:
                median = statistics.median(r[c] for r in runs)
                missed |= label in PAGES and median < TARGETS[c]
                cells.append(f"{median:>3.0f} [{','.join(str(r[c]) for r in runs)}]")
            print(f"{label:<24} " + " ".join(f"{cell:>20}" for cell in cells), flush=True)
        print("\naudits that cost points (in any run):")
        for label, runs in results.items():
            lost = sorted({a for r in runs for a in r["lost"]})
            print(f"  {label}: {'; '.join(lost) if lost else 'none'}")
        print(f"\n{'performance, median':<24} {'FCP ms':>7} {'LCP ms':>7} {'TBT ms':>7} {'CLS':>6} {'SI ms':>7} {'bytes':>8}")
        for label, runs in results.items():
            med = {k: statistics.median(r[k] for r in runs) for k in (*METRICS, "bytes")}
            print(f"{label:<24} {med['first-contentful-paint']:>7.0f} {med['largest-contentful-paint']:>7.0f} "
                  f"{med['total-blocking-time']:>7.0f} {med['cumulative-layout-shift']:>6.3f} "
                  f"{med['speed-index']:>7.0f} {med['bytes']:>8.0f}")
        shutil.rmtree(tmp / "material", ignore_errors=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
