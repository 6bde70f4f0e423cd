"""Reporter: the only place diagnostics are formatted, as text, GitHub annotations or JSON.

Every part of a diagnostic (path, message, hint) is printed through `printable`: a file name or
a quoted value with a newline, an ESC or a bidirectional override shows as an escape.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from allokb.diagnostics import Diagnostic, Severity, printable

FORMATS = ("text", "github", "json")


def format_text(d: Diagnostic) -> str:
    """`path:line:col: error[KB301] $.json.path: message (hint)`."""
    loc = d.location
    hint = f" ({d.hint})" if d.hint else ""
    line = f"{loc.file}:{loc.line}:{loc.col}: {d.severity.value}[{d.code}] {loc.yaml_path}: {d.message}{hint}"
    return printable(line)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(d: Diagnostic) -> str:
    """A GitHub Actions workflow command, shown as an annotation on the pull request."""
    loc = d.location
    hint = f" ({d.hint})" if d.hint else ""
    props = f"file={_escape_property(printable(loc.file))},line={loc.line},col={loc.col},title={d.code}"
    return f"::{d.severity.value} {props}::{_escape_data(printable(f'{loc.yaml_path}: {d.message}{hint}'))}"


def summary_line(diagnostics: Iterable[Diagnostic], files: int, strict: bool, verb: str = "check") -> str:
    """One closing line: counts of errors and warnings, and the verdict of the `verb` ("check",
    or "build" for the problems a build's render or audit found)."""
    items = list(diagnostics)
    errors = sum(1 for d in items if d.severity is Severity.ERROR)
    warnings = len(items) - errors
    failed = errors > 0 or (strict and warnings > 0)
    verdict = "failed" if failed else "passed"
    mode = " (strict)" if strict else ""
    return (f"{verb} {verdict}{mode}: {errors} error{'s' * (errors != 1)}, "
            f"{warnings} warning{'s' * (warnings != 1)} in {files} file{'s' * (files != 1)}")


def render(diagnostics: Iterable[Diagnostic], fmt: str, files: int, strict: bool, *, verb: str = "check") -> str:
    """The whole report in format `fmt`, ending with a newline; `verb` names what found the
    problems in the closing line ("check", or "build")."""
    items = list(diagnostics)
    if fmt == "json":
        payload = {
            "diagnostics": [
                {"code": d.code, "severity": d.severity.value, "message": printable(d.message),
                 "hint": None if d.hint is None else printable(d.hint), "file": printable(d.location.file),
                 "line": d.location.line, "col": d.location.col, "path": printable(d.location.yaml_path)}
                for d in items
            ],
            "summary": {"errors": sum(1 for d in items if d.severity is Severity.ERROR),
                        "warnings": sum(1 for d in items if d.severity is Severity.WARNING),
                        "files": files, "strict": strict,
                        "text": summary_line(items, files, strict, verb)},
        }
        return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    line = format_github if fmt == "github" else format_text
    return "".join(line(d) + "\n" for d in items) + summary_line(items, files, strict, verb) + "\n"
