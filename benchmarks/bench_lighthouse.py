"""Lighthouse (mobile preset, performance only) on the home page and an intervention page of the
real site, and, in the same run, on a default Material page (a one-page `mkdocs new` site with
`theme: material`) for comparison. Each page is served from 127.0.0.1 by a plain static server
and measured --repeat times (median); Chromium is Debian's, with the flags of tests/browser.py.
Not a test: it prints figures.

    (cd tools && npm ci)   # Lighthouse, pinned in tools/package.json and its lock
    .venv/bin/python benchmarks/bench_lighthouse.py [--site SITE_DIR] [--repeat 3]

--site: an already built site (its folder is served under /atlas/); by default the repository's
site is built into a temporary folder first.
"""

from __future__ import annotations

import argparse
import functools
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
from browser import CHROMIUM, CHROMIUM_ARGS

LIGHTHOUSE = REPO / "tools" / "node_modules" / ".bin" / "lighthouse"
PAGES = {"home": "atlas/", "intervention": "atlas/interventions/oral-micronized-progesterone/"}
METRICS = ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time", "cumulative-layout-shift",
           "speed-index")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(www: Path) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(www)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def lighthouse(url: str, out: Path) -> dict[str, Any]:
    """One Lighthouse run (mobile preset: Moto G power emulation, simulated slow 4G)."""
    flags = " ".join(["--headless=new", *CHROMIUM_ARGS])
    subprocess.run([str(LIGHTHOUSE), url, f"--chrome-path={CHROMIUM}", f"--chrome-flags={flags}",
                    "--only-categories=performance", "--output=json", f"--output-path={out}", "--quiet"],
                   check=True, timeout=600)
    report = json.loads(out.read_text())
    audits = report["audits"]
    return {"score": round(100 * report["categories"]["performance"]["score"]),
            **{m: audits[m]["numericValue"] for m in METRICS},
            "bytes": audits["total-byte-weight"]["numericValue"], "form": report["configSettings"]["formFactor"]}


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
        targets = [(label, www, path) for label, path in PAGES.items()]
        targets.append(("default Material page", material_site(tmp), "atlas/"))
        print(f"Lighthouse {subprocess.run([str(LIGHTHOUSE), '--version'], capture_output=True, text=True, check=True).stdout.strip()}"
              f", mobile preset, performance, median of {args.repeat}")
        print(f"{'page':<24} {'score':>5} {'runs':<14} {'FCP ms':>7} {'LCP ms':>7} {'TBT ms':>7} {'CLS':>6} "
              f"{'SI ms':>7} {'bytes':>8}")
        for label, root, path in targets:
            server, base = serve(root)
            try:
                runs = [lighthouse(base + path, tmp / f"report-{i}.json") for i in range(args.repeat)]
            finally:
                server.shutdown()
                server.server_close()
            med = {k: statistics.median(r[k] for r in runs) for k in ("score", *METRICS, "bytes")}
            scores = ",".join(str(r["score"]) for r in runs)
            print(f"{label:<24} {med['score']:>5.0f} {scores:<14} {med['first-contentful-paint']:>7.0f} "
                  f"{med['largest-contentful-paint']:>7.0f} {med['total-blocking-time']:>7.0f} "
                  f"{med['cumulative-layout-shift']:>6.3f} {med['speed-index']:>7.0f} {med['bytes']:>8.0f}")
        shutil.rmtree(tmp / "material", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
