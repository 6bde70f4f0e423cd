"""Benchmark the error path: `allokb check` on knowledge bases full of dangling links.

Each dangling link gets a "did you mean" hint, so this measures the suggestions (issue 11 sets
10,000 dangling links in under 5 s). Writes a knowledge base of IDS mechanisms and interventions
holding LINKS links to mechanisms that do not exist (each a near miss of a real id), checks it in
this process, and prints wall and CPU time per size. Not a test: it prints figures.

    .venv/bin/python benchmarks/bench_dangling.py [--ids 100 1000 10000] [--links 10000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def generate(root: Path, ids: int, links: int, per_file: int = 500) -> None:
    """A knowledge base with `ids` mechanisms and `links` dangling links (near misses) to them."""
    for folder in ("interventions", "mechanisms", "citations"):
        (root / "content" / folder).mkdir(parents=True)
    (root / "references.bib").write_text("")
    for i in range(ids):
        (root / "content" / "mechanisms" / f"pathway-step-{i}.yaml").write_text(
            f'id: pathway-step-{i}\nname: "Step {i}"\nkind: concept\nsummary: "Step {i}."\nupstream: []\nclaims: []\n')
    for f in range(-(-links // per_file)):
        targets = ", ".join(f"pathway-stp-{j}" for j in range(f * per_file, min(links, (f + 1) * per_file)))
        (root / "content" / "interventions" / f"dangling-{f}.yaml").write_text(
            f'id: dangling-{f}\nname: "Dangling {f}"\ncategory: supplement\nsummary: "x"\ndirection: unclear\n'
            "relation: raises-endogenous\nmain_outcome: {outcome: allo-level, population: any}\n"
            f'prescription_status: over-the-counter\npopulations: [general-adults]\nmechanisms: [{targets}]\n'
            "claims: []\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--links", type=int, default=10_000)
    args = parser.parse_args()
    from allokb.project import check_project

    print(f"{'ids':>7} {'dangling':>9} {'wall s':>7} {'CPU s':>6}")
    for ids in args.ids:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            generate(root, ids, args.links)
            wall, cpu = time.perf_counter(), time.process_time()
            result = check_project(root)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            found = sum(1 for d in result.diagnostics if d.code == "KB301")
            assert found == args.links, found
            # CPU time of this process only: above 1,500 files the loading is shared with workers.
            print(f"{ids:>7,} {found:>9,} {wall:>7.2f} {cpu:>6.2f}")


if __name__ == "__main__":
    main()
