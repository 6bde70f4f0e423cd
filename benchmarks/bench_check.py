"""Benchmark `allokb check`: wall time and peak memory on synthetic knowledge bases.

Generates knowledge bases of 1,000 / 5,000 / 10,000 entries (interventions and mechanisms, half
each, with twice as many references, each with its citation record) and runs
`allokb check --strict` on each in a fresh process, several times, in three ways (`MODES`: with
`--no-cache`; the first check with an empty cache folder, which loads every file and keeps what it
loaded; the next one, which takes every file from there); prints medians of the whole
command's wall time and of the check's own time, the wall time per 1,000 entries (flat when growth is linear), peak memory
(main process and largest worker) and the ratio to the baseline measured in the same run (the
repository's real content). Not a test: it prints figures.

    .venv/bin/python benchmarks/bench_check.py [--sizes 1000 5000 10000] [--repeat 3] [--real]
        [--keep DIR] [--against OTHER_CHECKOUT/src]

`--real` replaces the synthetic entries by the repository's own, replicated with fresh ids until the
size is reached (`replicate`): real claims, quotes, appraisals, citation records and bibliography, so
every rule does the work it does on the real content. The synthetic entries are smaller than real ones.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

_RUNNER = """
import contextlib, io, json, os, resource, sys, time
import allokb.project
from allokb.cli import main
loaded = []
name = "_load_cached" if hasattr(allokb.project, "_load_cached") else "_load_all"  # (older code: --against)
load = getattr(allokb.project, name)
def timed_load(*args):  # when loading ends: what follows is this process's serial part
    out = load(*args)
    loaded.append((time.perf_counter(), time.process_time()))
    return out
setattr(allokb.project, name, timed_load)
t = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    status = main(["check", "--strict", *json.loads(sys.argv[2]), sys.argv[1]])
end, end_cpu = time.perf_counter(), time.process_time()
elapsed = end - t
own, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"status": status, "seconds": elapsed,
                  "serial": end - loaded[0][0] if loaded else 0.0,
                  "serial_cpu": end_cpu - loaded[0][1] if loaded else 0.0,
                  "main_cpu": own.ru_utime + own.ru_stime, "worker_cpu": workers.ru_utime + workers.ru_stime,
                  "peak_mib": own.ru_maxrss / 1024, "worker_mib": workers.ru_maxrss / 1024}), flush=True)
os._exit(0)  # as the `allokb` command ends (allokb.cli.run): nothing freed one by one
"""

#: the three ways a check is timed: without the store, the first one (loads everything and keeps
#: it, allokb.checkcache), and the next one (takes every file from the store)
MODES = ("no cache", "first", "kept")


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


def _suffix(k: int) -> str:
    """Copy k's suffix in letters (a bib key ends in a word of letters: see allokb.bibkeys)."""
    out = ""
    k += 1
    while k:
        k, r = divmod(k - 1, 26)
        out = chr(97 + r) + out
    return out


def replicate(root: Path, entries: int, source: Path = REPO) -> int:
    """Write the repository's own knowledge base, copied with fresh ids until it holds at least
    `entries` interventions + mechanisms; returns the number of copies. Ids, bib keys and every
    field equal to one of them are renamed per copy; identifiers and titles are made unique per copy
    (they would otherwise be duplicates, KB407); former ids and keys are dropped. Never committed:
    the copies are a benchmark's temporary files."""
    import re

    import yaml

    content = source / "content"
    ints = sorted((content / "interventions").glob("*.yaml"))
    mechs = sorted((content / "mechanisms").glob("*.yaml"))
    cites = sorted((content / "citations").glob("*.yaml"))
    per_copy = len(ints) + len(mechs)
    copies = -(-entries // per_copy)
    # Each source file is parsed once (libyaml when PyYAML has it), not once per copy: the copies
    # of a 10,000-entry knowledge base are otherwise minutes of pure-Python YAML.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    parsed = {f: yaml.load(f.read_text(), Loader=loader) for f in ints + mechs + cites}
    ids = {parsed[f]["id"] for f in ints + mechs}
    keys = {parsed[f]["key"] for f in cites}
    bib = (source / "references.bib").read_text()
    entries_text = re.split(r"(?m)^(?=@)", bib)
    for folder in ("interventions", "mechanisms", "citations"):
        (root / "content" / folder).mkdir(parents=True, exist_ok=True)
    shutil_copy = (content / "rubric.yaml")
    (root / "content" / "rubric.yaml").write_text(shutil_copy.read_text())
    if (content / "link-hosts.yaml").exists():
        (root / "content" / "link-hosts.yaml").write_text((content / "link-hosts.yaml").read_text())

    # The fields whose values are ids or keys (found by scanning the content: `outcome: sleep` is
    # an outcome, not the intervention `sleep`, so renaming goes by field, not by value alone).
    ref_fields = {"id", "key", "ref", "related", "mechanisms", "intervention", "upstream", "reported_by",
                  "citation", "label"}

    def rename(node: object, mapping: dict[str, str], field: str | None = None) -> object:
        if isinstance(node, str):
            return mapping.get(node, node) if field in ref_fields else node
        if isinstance(node, list):
            return [rename(x, mapping, field) for x in node]
        if isinstance(node, dict):
            return {k: rename(v, mapping, k) for k, v in node.items() if k not in ("former_ids", "former_keys")}
        return node

    out_bib = []
    for k in range(copies):
        suf = _suffix(k)
        mapping = {i: f"{i}-{suf}" for i in ids} | {key: f"{key}{suf}" for key in keys}
        for folder, files in (("interventions", ints), ("mechanisms", mechs), ("citations", cites)):
            for f in files:
                data = rename(parsed[f], mapping)
                assert isinstance(data, dict)
                name = data.get("id") or data.get("key")
                (root / "content" / folder / f"{name}.yaml").write_text(
                    yaml.dump(data, Dumper=dumper, allow_unicode=True, sort_keys=False, width=100))
        for entry in entries_text:
            head = re.match(r"@(\w+)\{([^,\s]+),", entry)
            if not head or head.group(2) not in keys:
                out_bib.append(entry if k == 0 and not head else "")
                continue
            text = entry.replace(f"{{{head.group(2)},", f"{{{mapping[head.group(2)]},", 1)
            text = re.sub(r"(?im)^(\s*doi\s*=\s*\{)", rf"\g<1>10.99999/copy{k}.", text)
            serial = 40_000_000 + len(out_bib)  # unique per entry and copy, of a PMID's length
            text = re.sub(r"(?im)^(\s*pmid\s*=\s*\{)(\d+)", lambda m, serial=serial: f"{m.group(1)}{serial}", text)
            text = re.sub(r"(?im)^(\s*pmcid\s*=\s*\{PMC)(\d+)", lambda m, serial=serial: f"{m.group(1)}{serial}", text)
            text = re.sub(r"(?im)^(\s*title\s*=\s*\{)", rf"\g<1>Copy {suf}: ", text)
            out_bib.append(text)
    (root / "references.bib").write_text("".join(out_bib))
    return copies


def measure(root: Path, repeat: int, against: Path | None = None) -> tuple[dict[str, dict[str, float]],
                                                                          dict[str, float] | None]:
    """Medians over `repeat` fresh processes of `allokb check root`, in each of `MODES` (each
    repeat with an empty cache folder of its own): the whole process's wall time (start-up,
    imports, check, exit, as a user waits for it), the check's own time, the serial part (after
    the last file is loaded: wall and CPU of the main process), the CPU time of the main process
    and of its pool workers, and the peak memory of the main process and of the largest pool
    worker; beside them, the CPU time of the whole command (user + system, pool workers included)
    and the one-minute load average when it started (the machine may be shared: wall time alone
    would mislead). With `against` (another checkout's src/), a plain check with that code too,
    its runs alternating with these, returned second."""
    runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
    other: list[dict[str, float]] = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="allokb-bench-cache-") as cache:
            runs["no cache"].append(_run(root, None, ["--no-cache"], cache))
            runs["first"].append(_run(root, None, [], cache))
            runs["kept"].append(_run(root, None, [], cache))
        if against is not None:
            with tempfile.TemporaryDirectory(prefix="allokb-bench-cache-") as cache:
                other.append(_run(root, against, [], cache))
    return {mode: _medians(r) for mode, r in runs.items()}, _medians(other) if other else None


def _run(root: Path, src: Path | None, extra: list[str], cache: str) -> dict[str, float]:
    env = dict(os.environ, ALLOKB_CACHE_DIR=cache)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _RUNNER, str(root), json.dumps(extra)], capture_output=True,
                         text=True, check=True, env=env)
    run = json.loads(out.stdout)
    run["wall"] = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    run["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    run["load"] = load
    if run["status"] != 0:
        raise SystemExit(f"check --strict failed on {root}: it should be clean, without warnings")
    return run


def _medians(runs: list[dict[str, float]]) -> dict[str, float]:
    keys = ("wall", "seconds", "serial", "serial_cpu", "main_cpu", "worker_cpu", "cpu", "load", "peak_mib",
            "worker_mib")
    return {key: statistics.median(r[key] for r in runs) for key in keys}


def _row(label: str, files: int, m: dict[str, float], per_1k: str, base: float) -> str:
    worker = f"{m['worker_mib']:.1f}" if m["worker_mib"] else "-"
    return (f"{label:>22} {files:>7} {m['wall']:>7.3f} {m['seconds']:>10.3f} {m['serial']:>8.2f} "
            f"{m['serial_cpu']:>8.2f} {m['main_cpu']:>8.2f} {m['worker_cpu']:>8.2f} {m['cpu']:>7.2f} {m['load']:>5.1f} "
            f"{per_1k:>12} {m['peak_mib']:>9.1f} {worker:>10} {m['wall'] / base:>10.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--real", action="store_true",
                        help="the repository's own entries replicated with fresh ids (real size) instead of synthetic ones")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="generate each knowledge base once into DIR/<size> and reuse it in later runs "
                             "(generating 10,000 real-size entries takes minutes; the check is timed cold either way)")
    parser.add_argument("--against", type=Path, metavar="SRC",
                        help="also time the check with the package in SRC (another checkout's src/, such as the "
                             "code before a change), its runs alternating with these: a before/after in one run")
    parser.add_argument("--no-strict-status", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    base, _ = measure(REPO, args.repeat)
    files = sum(1 for _ in (REPO / "content").rglob("*.yaml"))
    print(f"allokb check, median of {args.repeat} fresh processes; no cache / first / kept: --no-cache, the first "
          f"check with an empty cache folder, the next one (allokb.checkcache); wall = the whole command, "
          f"check = in-process time of the check, serial = its part after loading (wall, main CPU), "
          f"main/workers = CPU of the main process and of its pool; "
          f"entries: {'real, replicated' if args.real else 'synthetic'}")
    print(f"{'knowledge base':>22} {'files':>7} {'wall s':>7} {'check s':>10} {'serial s':>8} {'ser cpu':>8} "
          f"{'main cpu':>8} {'wrk cpu':>8} {'cpu s':>7} {'load':>5} {'wall s/1k':>12} "
          f"{'main MiB':>9} {'worker MiB':>10} {'x baseline':>10}")
    print(_row("real content (base)", files, base["no cache"], "", base["no cache"]["wall"]))
    for mode in MODES[1:]:
        print(_row(f"real content ({mode})", files, base[mode], "", base["no cache"]["wall"]))
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix=f"allokb-bench-{size}-") as tmp:
            root = Path(tmp)
            if args.keep is not None:
                root = args.keep / f"{'real' if args.real else 'synthetic'}-{size}"
            if not (root / "urls.txt").exists():  # written last: a half-generated folder is redone
                shutil.rmtree(root, ignore_errors=True)
                root.mkdir(parents=True)
                _generate(root, size, args.real)
            m, against = measure(root, args.repeat, args.against)
            nfiles = sum(1 for _ in (root / "content").rglob("*.yaml"))
            reference = base["no cache"]["wall"]
            if against is not None:
                print(_row(f"{size:,} (against)", nfiles, against, f"{against['wall'] / size * 1000:.3f}",
                           reference), flush=True)
            for mode in MODES:
                print(_row(f"{size:,} ({mode})", nfiles, m[mode], f"{m[mode]['wall'] / size * 1000:.3f}", reference),
                      flush=True)


def _generate(root: Path, size: int, real: bool) -> None:
    print(f"generating {size:,} entries{' (real size)' if real else ''}…", file=sys.stderr, flush=True)
    if real:
        replicate(root, size)
    else:
        generate(root, size)
    (root / "mkdocs.yml").write_text("site_name: bench\n")
    # A project with a mkdocs.yml keeps a URL manifest (KB603); write it once, untimed.
    subprocess.run([sys.executable, "-m", "allokb", "urls", str(root), "--write"], check=True, capture_output=True)


if __name__ == "__main__":
    main()
