"""Benchmark `allokb check`: wall time and peak memory on synthetic knowledge bases.

Generates knowledge bases of 1,000 / 5,000 / 10,000 entries (interventions and mechanisms, half
each, with twice as many references, each with its citation record) and runs
`allokb check --strict` on each in a fresh process, several times; prints medians of the whole
command's wall time and of the check's own time, the wall time per 1,000 entries (flat when growth is linear), peak memory
(main process and largest worker) and the ratio to the baseline measured in the same run (the
repository's real content). Not a test: it prints figures.

    .venv/bin/python benchmarks/bench_check.py [--sizes 1000 5000 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

_RUNNER = """
import contextlib, io, json, resource, sys, time
from allokb.cli import main
t = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    status = main(["check", "--strict", sys.argv[1]])
elapsed = time.perf_counter() - t
print(json.dumps({"status": status, "seconds": elapsed,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "worker_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def generate(root: Path, entries: int) -> None:
    """Write a synthetic, valid knowledge base of `entries` interventions + mechanisms: every
    reference is cited once (interventions cite three each, mechanisms one), so the check is
    clean, without warnings, as a maintained knowledge base would be: the numbers of each
    intervention's claims are in their quotes (KB460), a mechanism's unchecked claim states none."""
    n_mech = entries // 2
    n_int = entries - n_mech
    n_ref = 2 * entries
    for folder in ("interventions", "mechanisms", "citations"):
        (root / "content" / folder).mkdir(parents=True)
    bib = []
    for r in range(n_ref):
        key = f"author{r}2020study"
        bib.append(f"@article{{{key},\n  author = {{Author{r}, A. and Other, B.}},\n  title = {{Study {r}}},\n"
                   f"  journal = {{Journal of Benchmarks}},\n  year = {{2020}},\n  doi = {{10.5555/bench.{r}}},\n"
                   f"  pmid = {{{10_000_000 + r}}},\n}}\n")
        (root / "content" / "citations" / f"{key}.yaml").write_text(
            f"key: {key}\ndesign: rct\npeer_reviewed: true\nsample_size: {r % 90 + 10}\n"
            f"verification:\n  status: verified\n  checked_on: \"2026-11-27\"\n  checked_against:\n"
            f"    - url: \"https://example.org/{r}\"\n      fields: [author, title, journal, year, doi, pmid]\n")
    (root / "references.bib").write_text("\n".join(bib))
    for m in range(n_mech):
        upstream = f"[mech-{m - 1}]" if m else "[]"
        (root / "content" / "mechanisms" / f"mech-{m}.yaml").write_text(
            f'id: mech-{m}\nname: "Mechanism {m}"\nkind: enzymatic-step\nsummary: "Step {m}."\n'
            f'step:\n  substrate: "S{m}"\n  product: "S{m + 1}"\nupstream: {upstream}\nclaims:\n'
            f'  - id: c1\n    statement: "The step happens."\n    outcome: mechanism\n    direction: not-applicable\n'
            f'    population: any\n    citations:\n      - ref: author{(3 * n_int + m) % n_ref}2020study\n'
            f'        support: unchecked\n')
    for i in range(n_int):
        claims = "".join(
            f'  - id: c{c}\n    statement: "Claim {c} of {i}."\n    outcome: allo-level\n    direction: increases\n'
            f'    population: general-adults\n    citations:\n      - ref: author{(3 * i + c) % n_ref}2020study\n'
            f'        locator: abstract\n'
            f'        quote: "levels rose in claim {c} of {i}"\n        support: supported\n'
            for c in range(3))
        (root / "content" / "interventions" / f"int-{i}.yaml").write_text(
            f'id: int-{i}\nname: "Intervention {i}"\ncategory: supplement\nsummary: "Synthetic {i}."\n'
            f'direction: raises\nrelation: raises-endogenous\n'
            f'main_outcome: {{outcome: allo-level, population: general-adults}}\n'
            f'prescription_status: over-the-counter\npopulations: [general-adults]\n'
            f'mechanisms: [mech-{i % max(n_mech, 1)}]\nrelated: [int-{(i + 1) % n_int}]\nclaims:\n{claims}')


def measure(root: Path, repeat: int) -> dict[str, float]:
    """Medians over `repeat` fresh processes of `allokb check root`: the whole process's wall
    time (start-up, imports, check, exit, as a user waits for it), the check's own time, and
    the peak memory of the main process and of the largest pool worker."""
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", _RUNNER, str(root)], capture_output=True, text=True, check=True)
        run = json.loads(out.stdout)
        run["wall"] = time.perf_counter() - started
        runs.append(run)
        if run["status"] != 0:
            raise SystemExit(f"check --strict failed on {root}: it should be clean, without warnings")
    return {key: statistics.median(r[key] for r in runs) for key in ("wall", "seconds", "peak_mib", "worker_mib")}


def _row(label: str, files: int, m: dict[str, float], per_1k: str, base: float) -> str:
    worker = f"{m['worker_mib']:.1f}" if m["worker_mib"] else "-"
    return (f"{label:>22} {files:>7} {m['wall']:>7.3f} {m['seconds']:>10.3f} {per_1k:>12} "
            f"{m['peak_mib']:>9.1f} {worker:>10} {m['wall'] / base:>10.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    base = measure(REPO, args.repeat)
    files = sum(1 for _ in (REPO / "content").rglob("*.yaml"))
    print(f"allokb check, median of {args.repeat} fresh processes; wall = the whole command, "
          f"check = in-process time of the check")
    print(f"{'knowledge base':>22} {'files':>7} {'wall s':>7} {'check s':>10} {'wall s/1k':>12} "
          f"{'main MiB':>9} {'worker MiB':>10} {'x baseline':>10}")
    print(_row("real content (base)", files, base, "", base["wall"]))
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix=f"allokb-bench-{size}-") as tmp:
            root = Path(tmp)
            print(f"generating {size:,} entries…", file=sys.stderr, flush=True)
            generate(root, size)
            (root / "mkdocs.yml").write_text("site_name: bench\n")
            # A project with a mkdocs.yml keeps a URL manifest (KB603); write it once, untimed.
            subprocess.run([sys.executable, "-m", "allokb", "urls", str(root), "--write"], check=True,
                           capture_output=True)
            m = measure(root, args.repeat)
            nfiles = sum(1 for _ in (root / "content").rglob("*.yaml"))
            print(_row(f"{size:,} entries", nfiles, m, f"{m['wall'] / size * 1000:.3f}", base["wall"]), flush=True)


if __name__ == "__main__":
    main()
