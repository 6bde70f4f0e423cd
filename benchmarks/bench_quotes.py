"""Benchmark the quote check: what committed source texts add to `allokb check`.

Generates bench_check's knowledge base of 1,000 entries (2,000 references), then commits a source
text of about 2 KB for 1,000 of the references, each with four quotes to find (the claim's quote
and three findings of its citation record; one of the four quotes in every tenth text is
missing, so the hint is computed too). Prints the median time of the whole check with and without
the texts, and of loading and matching alone. Not a test: it prints figures.

    .venv/bin/python benchmarks/bench_quotes.py [--texts 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_check import generate  # noqa: E402

from allokb.project import check_project  # noqa: E402
from allokb.rules.sources import check_source_quotes  # noqa: E402
from allokb.sources import load_sources  # noqa: E402

WORDS = ("allopregnanolone serum plasma levels rose fell after the dose of progesterone in women men with "
         "anxiety depression sleep 5α-reductase activity was measured at baseline and week four").split()


def source_text(r: int) -> str:
    """About 2 KB of text for reference `r`, holding its four quotes."""
    body = []
    for sentence in range(24):
        words = [WORDS[(r * 7 + sentence * 5 + i * 3) % len(WORDS)] for i in range(12)]
        body.append(" ".join(words).capitalize() + f" (n = {r + sentence}).")
    body.insert(3, f"The levels rose in claim {r % 3} of {r // 3}.")  # the quote of the claim citing it
    return "\n".join(body)


def add_sources(root: Path, texts: int) -> None:
    (root / "content" / "sources").mkdir()
    for r in range(texts):
        key = f"author{r}2020study"
        text = source_text(r)
        sentences = text.split("\n")
        quotes = [sentences[5][:60], sentences[11][10:80], "nowhere in this text at all" if r % 10 == 0
                  else sentences[20][:50]]
        findings = "".join(f'  - text: "Finding {i}."\n    quote: "{q}"\n' for i, q in enumerate(quotes))
        (root / "content" / "sources" / f"{key}.md").write_text(
            f'---\nurl: "https://example.org/{r}"\nretrieved: "2026-11-27"\nkind: abstract\n---\n{text}\n')
        path = root / "content" / "citations" / f"{key}.yaml"
        path.write_text(path.read_text() + f"findings:\n{findings}")


def median_time(run, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "kb"
        generate(root, max(args.texts, 1000))
        add_sources(root, args.texts)
        result = check_project(root)
        errors = sum(1 for d in result.diagnostics if d.code == "KB440")
        with_texts = median_time(lambda: check_project(root), args.repeat)
        kb = result.kb
        alone = median_time(lambda: (load_sources(root, set(kb.references)), list(check_source_quotes(kb))), args.repeat)
        shutil.rmtree(root / "content" / "sources")
        without = median_time(lambda: check_project(root), args.repeat)
    print(f"{args.texts} source texts, quotes: {result.quotes} ({errors} KB440 with hints)")
    print(f"check with texts {with_texts:.2f} s, without {without:.2f} s; loading and matching alone {alone:.3f} s")


if __name__ == "__main__":
    main()
