"""Benchmark `allokb serve`'s rebuilds: a cold full build, then warm partial rebuilds after an edit
of one YAML file, at real size (the repository's own entries replicated with fresh ids:
bench_check.replicate) and default 1,000 and 10,000 entries.

Runs the preview in this process (`allokb.sink.Preview`, what `allokb serve` runs between edits),
as `serve` does (its site URL, no Content-Security-Policy). Prints, per knowledge base: the cold
full build (the baseline: what every edit cost before, when `serve` rebuilt the whole site), then
per edit the seconds of the partial rebuild with its steps (check, render, pages, audit,
stylesheet, search; wall/CPU seconds) and the pages it rewrote, and the median of the edits. CPU
seconds count this process and Pagefind's: on a shared machine the wall time also counts waiting
for other work. Not a test: it prints figures.

    .venv/bin/python benchmarks/bench_serve.py [--sizes 1000 10000] [--edits 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_build import REPO, project_from  # noqa: E402
from bench_check import replicate  # noqa: E402

from allokb.sink import Preview, Rebuild  # noqa: E402

SERVE_URL = "http://127.0.0.1:8000/atlas/"


def _first(folder: Path, pattern: str) -> Path:
    """The first file (by name) of `folder` holding a line matching `pattern`."""
    for path in sorted(folder.glob("*.yaml")):
        if re.search(pattern, path.read_text(), re.M):
            return path
    raise SystemExit(f"no file of {folder} matches {pattern!r}")


def _edit(path: Path, pattern: str, tag: str) -> Callable[[], str]:
    """An edit of `path`: the first line matching `pattern` gets `tag` at its end (inside the
    quotes of a quoted value)."""
    def run() -> str:
        text = path.read_text()
        match = re.search(pattern, text, re.M)
        assert match is not None
        line = match.group(0)
        edited = line[:-1] + f" {tag}" + line[-1] if line.endswith(("'", '"')) else f"{line} {tag}"
        path.write_text(text[:match.start()] + edited + text[match.end():])
        return f"{path.parent.name}/{path.name}: {pattern.split(':')[0].strip('^ ')}"
    return run


def edits(root: Path) -> list[Callable[[], str]]:
    """Three edits of one YAML file each: a claim's statement, a mechanism's name (shown in the
    backlinks and indexes), an intervention's summary (shown in the index and on the home page)."""
    content = root / "content"
    claim = _first(content / "interventions", r"^ *statement: .+$")
    mech = _first(content / "mechanisms", r"^name: .+$")
    summary = _first(content / "interventions", r"^summary: .+$")
    return [_edit(claim, r"^ *statement: .+$", "(edited)"), _edit(mech, r"^name: .+$", "(renamed)"),
            _edit(summary, r"^summary: .+$", "(edited)")]


def cpu() -> float:
    """CPU seconds of this process and its finished children (Pagefind) so far."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def timed(preview: Preview) -> tuple[Rebuild, float]:
    """A rebuild and the CPU seconds it took (on a shared machine, wall time waits for the others)."""
    before = cpu() + preview.search.cpu_seconds()  # and the search's running Pagefind process
    done = preview.rebuild()
    return done, cpu() + preview.search.cpu_seconds() - before


def show(label: str, done: Rebuild, cpu_seconds: float) -> None:
    pages = [w for w in done.written if w.endswith(".html")]
    steps = ", ".join(f"{name} {wall:.2f}/{cpu:.2f}" for name, wall, cpu in done.phases)
    print(f"  {label:<58} {done.kind:>8} {done.seconds:>8.2f} s wall {cpu_seconds:>8.2f} s CPU {len(pages):>6} pages"
          f"  [{steps}]", flush=True)
    if done.kind != "full":
        print(f"  {'':<58} rewrote: {' '.join(done.written)}", flush=True)


def run(label: str, root: Path, site: Path, n_edits: int) -> None:
    print(f"{label}:", flush=True)
    preview = Preview(root, site, serve_url=SERVE_URL)
    cold, cold_cpu = timed(preview)
    show("cold full build (baseline: every edit, before)", cold, cold_cpu)
    times, cpus = [], []
    todo = edits(root)
    for i in range(n_edits):
        what = todo[i % len(todo)]()
        done, cpu_seconds = timed(preview)
        show(f"edit {i + 1}: {what}", done, cpu_seconds)
        times.append(done.seconds)
        cpus.append(cpu_seconds)
    preview.close()  # the search's Pagefind process (allokb.livesearch.LiveIndex)
    print(f"  {'median of ' + str(n_edits) + ' partial rebuilds':<58} {'':>8} {statistics.median(times):>8.2f} s wall"
          f" {statistics.median(cpus):>8.2f} s CPU  (cold full build {cold.seconds:.2f} s wall, {cold_cpu:.2f} s CPU)",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--edits", type=int, default=3)
    parser.add_argument("--real", action="store_true", help="also the repository's own content")
    parser.add_argument("--keep", type=Path, help="keep the generated projects here (reused when present)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="allokb-serve-") as tmp:
        if args.real:
            root = project_from(REPO, Path(tmp) / "real")
            shutil.copytree(REPO / "content", root / "content", dirs_exist_ok=True)
            shutil.copy(REPO / "urls.txt", root / "urls.txt")
            _hook(root)
            run("real content", root, Path(tmp) / "real-site", args.edits)
        for size in args.sizes:
            base = args.keep or Path(tmp)
            root = base / f"project-{size}"
            if not (root / "mkdocs.yml").exists():
                print(f"generating {size:,} real-size entries…", file=sys.stderr, flush=True)
                started = time.perf_counter()
                replicate(base / f"content-{size}", size)
                project_from(base / f"content-{size}", root)
                _hook(root)
                print(f"generated in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
            run(f"{size:,} entries (real size)", root, Path(tmp) / f"site-{size}", args.edits)


def _hook(root: Path) -> None:
    """mkdocs.yml names the hook file: the project needs it."""
    (root / "src" / "allokb").mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "src" / "allokb" / "mkdocs_hook.py", root / "src" / "allokb" / "mkdocs_hook.py")


if __name__ == "__main__":
    main()
