"""Benchmark `allokb check`: wall time and peak memory on synthetic knowledge bases.

Generates knowledge bases of 1,000 / 5,000 / 10,000 entries (interventions and mechanisms, half
each, with twice as many references, each with its citation record) and runs `allokb check` on
each in a fresh process, several times; prints medians, the time per 1,000 entries (flat when
growth is linear) and the ratio to the baseline measured in the same run (the repository's real
content). Not a test: it prints figures.

    .venv/bin/python benchmarks/bench_check.py [--sizes 1000 5000 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

_RUNNER = """
import contextlib, io, json, resource, sys, time
from allokb.cli import main
t = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    status = main(["check", sys.argv[1]])
elapsed = time.perf_counter() - t
print(json.dumps({"status": status, "seconds": elapsed,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def generate(root: Path, entries: int) -> None:
    """Write a synthetic, valid knowledge base of `entries` interventions + mechanisms: every
    reference is cited once (interventions cite three each, mechanisms one), so the check is
    clean, without warnings, as a maintained knowledge base would be."""
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
            f'  - id: c1\n    statement: "Step {m} happens."\n    outcome: mechanism\n    direction: not-applicable\n'
            f'    citations:\n      - ref: author{(3 * n_int + m) % n_ref}2020study\n        support: unchecked\n')
    for i in range(n_int):
        claims = "".join(
            f'  - id: c{c}\n    statement: "Claim {c} of {i}."\n    outcome: allo-level\n    direction: increases\n'
            f'    citations:\n      - ref: author{(3 * i + c) % n_ref}2020study\n        locator: abstract\n'
            f'        quote: "levels rose"\n        support: supported\n'
            for c in range(3))
        (root / "content" / "interventions" / f"int-{i}.yaml").write_text(
            f'id: int-{i}\nname: "Intervention {i}"\ncategory: supplement\nsummary: "Synthetic {i}."\n'
            f'direction: raises\nprescription_status: over-the-counter\npopulations: [general-adults]\n'
            f'mechanisms: [mech-{i % max(n_mech, 1)}]\nrelated: [int-{(i + 1) % n_int}]\nclaims:\n{claims}')


def measure(root: Path, repeat: int) -> tuple[float, float]:
    """Median seconds and median peak MiB of `allokb check root` over `repeat` fresh processes."""
    runs = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", _RUNNER, str(root)], capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout))
        if runs[-1]["status"] != 0:
            raise SystemExit(f"check failed on {root}: the generated knowledge base should be clean")
    return statistics.median(r["seconds"] for r in runs), statistics.median(r["peak_mib"] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    base_s, base_mib = measure(REPO, args.repeat)
    files = sum(1 for _ in (REPO / "content").rglob("*.yaml"))
    print(f"allokb check, median of {args.repeat} fresh processes (in-process time, peak RSS)")
    print(f"{'knowledge base':>22} {'files':>7} {'seconds':>8} {'s/1k entries':>13} {'peak MiB':>9} {'x baseline':>11}")
    print(f"{'real content (base)':>22} {files:>7} {base_s:>8.3f} {'':>13} {base_mib:>9.1f} {1.0:>11.1f}")
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix=f"allokb-bench-{size}-") as tmp:
            root = Path(tmp)
            print(f"generating {size:,} entries…", file=sys.stderr, flush=True)
            generate(root, size)
            (root / "mkdocs.yml").write_text("site_name: bench\n")
            seconds, mib = measure(root, args.repeat)
            nfiles = sum(1 for _ in (root / "content").rglob("*.yaml"))
            print(f"{f'{size:,} entries':>22} {nfiles:>7} {seconds:>8.3f} {seconds / size * 1000:>13.3f} "
                  f"{mib:>9.1f} {seconds / base_s:>11.1f}", flush=True)


if __name__ == "__main__":
    main()
