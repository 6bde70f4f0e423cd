"""Reporter: the only place diagnostics are formatted, as text, GitHub annotations or JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from allokb.diagnostics import Diagnostic, Severity

FORMATS = ("text", "github", "json")


#: what a report never prints raw, wherever it comes from (a file name, a quoted value): C0 and C1
#: controls (an ESC would drive the terminal), line and paragraph separators, bidi controls
#: (which reorder what a reviewer reads) and noncharacters
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                          "\ufdd0-\ufdef\ufffe\uffff\ud800-\udfff]")

_UNPRINTABLE_IN_JSON = re.compile(_UNPRINTABLE.pattern.replace("\x00-\x1f", ""))  # json.dumps escapes C0


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}.get(code) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def printable(text: str, *, lines: bool = False) -> str:
    """`text` with every character that could drive a terminal or reorder a line written as an
    escape (`\\n`, `\\x1b`, `\\u202e`): one diagnostic is one honest line. With `lines`, line
    breaks are kept (a message of several lines)."""
    if lines:
        return "\n".join(_UNPRINTABLE.sub(_escape_char, part) for part in text.split("\n"))
    return _UNPRINTABLE.sub(_escape_char, text)


def format_text(d: Diagnostic) -> str:
    """`path:line:col: error[KB301] $.json.path: message (hint)`."""
    loc = d.location
    hint = f" ({d.hint})" if d.hint else ""
    return printable(f"{loc.file}:{loc.line}:{loc.col}: {d.severity.value}[{d.code}] {loc.yaml_path}: "
                     f"{d.message}{hint}")


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


def summary_line(diagnostics: Iterable[Diagnostic], files: int, strict: bool) -> str:
    """One closing line: counts of errors and warnings, and the verdict."""
    items = list(diagnostics)
    errors = sum(1 for d in items if d.severity is Severity.ERROR)
    warnings = len(items) - errors
    failed = errors > 0 or (strict and warnings > 0)
    verdict = "failed" if failed else "passed"
    mode = " (strict)" if strict else ""
    return (f"check {verdict}{mode}: {errors} error{'s' * (errors != 1)}, "
            f"{warnings} warning{'s' * (warnings != 1)} in {files} file{'s' * (files != 1)}")


def render(diagnostics: Iterable[Diagnostic], fmt: str, files: int, strict: bool) -> str:
    """The whole report in format `fmt`, ending with a newline."""
    items = list(diagnostics)
    if fmt == "json":
        payload = {
            "diagnostics": [
                {"code": d.code, "severity": d.severity.value, "message": d.message, "hint": d.hint,
                 "file": d.location.file, "line": d.location.line, "col": d.location.col,
                 "path": d.location.yaml_path}
                for d in items
            ],
            "summary": {"errors": sum(1 for d in items if d.severity is Severity.ERROR),
                        "warnings": sum(1 for d in items if d.severity is Severity.WARNING),
                        "files": files, "strict": strict,
                        "text": summary_line(items, files, strict)},
        }
        # JSON escapes C0 controls itself; C1, bidi controls and separators are escaped too, so
        # that the report is safe to print (the escapes are valid JSON and decode to the text).
        text = json.dumps(payload, indent=2, ensure_ascii=False)
        return _UNPRINTABLE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"
    line = format_github if fmt == "github" else format_text
    return "".join(line(d) + "\n" for d in items) + summary_line(items, files, strict) + "\n"
