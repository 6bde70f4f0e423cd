"""Progress for long work: a one-line bar on a terminal, plain lines elsewhere (CI logs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

Progress = Callable[[int, int, str], None]


def make_progress(stream: TextIO, label: str = "verify", unit: str = "references checked",
                  every: int | None = 10) -> Progress:
    """A progress callback `(done, total, item)`: a one-line bar when `stream` is a terminal,
    else a plain line every `every` items (or every tenth of the total when `every` is None)
    and at the end."""
    tty = hasattr(stream, "isatty") and stream.isatty()
    shown = [0]  # the count of the last plain line: `done` may go up by more than one at a time

    def progress(done: int, total: int, key: str) -> None:
        step = every or max(1, total // 10)
        if done < shown[0]:  # counting again from the start
            shown[0] = 0
        if tty:
            bar = "#" * (30 * done // max(total, 1))
            stream.write(f"\r{label} [{bar:<30}] {done}/{total} {key[:40]:<40}" + ("\n" if done >= total else ""))
        elif done // step > shown[0] // step or done >= total:
            stream.write(f"{label}: {done}/{total} {unit} ({key})\n")
            shown[0] = done
        stream.flush()

    return progress
