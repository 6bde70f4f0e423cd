"""Load stage: read content YAML files strictly, keeping the line and column of every value.

PyYAML composes the node tree (with marks); this module builds the Python values itself, so
that duplicate keys, aliases, tags and YAML-1.1 surprises (`no` -> False, dates, `1.10` -> 1.1)
become diagnostics instead of silent conversions. A file that cannot be loaded is one or more
diagnostics, never an exception.

Files are read through `allokb.files` (regular files only). Every value and key is checked for
control and invisible characters (KB115), and numbers out of range are reported (KB116).
"""

from __future__ import annotations

import math
import os
import re
import stat
from functools import lru_cache
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from allokb.diagnostics import Diagnostic, Location, make
from allokb.kinds import BY_FOLDER, folders
from allokb.files import (
    control_problem,
    find_control,
    folder_problem,
    listing_problem,
    not_regular,
    read_project_file,
    read_text,
    walk_files,
)

# read_text and read_project_file are re-exported: the loader was where files were read.
__all__ = ["KINDS", "MAX_DEPTH", "MAX_SAFE_INTEGER", "MAX_YAML_BYTES", "PathPart", "Position", "SourceDocument",
           "content_names", "json_path", "load_document", "load_documents", "parse_yaml", "read_project_file",
           "read_text", "scan_content"]

MAX_YAML_BYTES = 1024 * 1024
#: the content folders, from the registry of kinds
KINDS = folders()

PathPart = str | int
Position = tuple[int, int]

# YAML 1.2 core schema resolution: only true/false are booleans, no dates, no sexagesimal.
_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_NULL = {"", "~", "null", "Null", "NULL"}
# First characters of every plain scalar that is not simply a string: null, booleans (YAML 1.1 and
# 1.2), numbers, dates, sexagesimals, .inf/.nan.
_MAYBE_SPECIAL = frozenset("~nNtTfFyYoO0123456789+-.")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
# What YAML 1.1 readers would convert but the 1.2 core schema keeps as a string.
_YAML11_BOOL = re.compile(r"^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$")
_YAML11_TIMESTAMP = re.compile(
    r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"(([Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]*)?([ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?)?$"
)
_YAML11_SEXAGESIMAL = re.compile(r"^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$")
#: the largest whole number every JSON reader holds exactly (RFC 7493, I-JSON): kb.json is read by
#: JavaScript, whose numbers are doubles
MAX_SAFE_INTEGER = 2**53 - 1

#: the bytes no refused character's UTF-8 encoding holds: printable ASCII, tab and line ends
_PLAIN_BYTES = bytes(range(0x20, 0x7F)) + b"\t\n\r"


def _may_hold_control(text: str) -> bool:
    """False when no value of the YAML `text` can hold a refused character: the text has none
    (YAML itself refuses the C0 controls and DEL), and no backslash (only an escape in a
    double-quoted scalar makes one out of other characters)."""
    if "\\" in text:
        return True
    if text.isascii():
        return False
    # Searched among the characters left once the printable ASCII is deleted (in bytes, where
    # that is one C pass; ASCII bytes never stand inside a multi-byte character): the same
    # answer as searching the whole text, at a fifth of the cost.
    rest = text.encode("utf-8", "surrogatepass").translate(None, _PLAIN_BYTES).decode("utf-8", "surrogatepass")
    return find_control(rest, line_ends=True) is not None


@dataclass(frozen=True)
class SourceDocument:
    """One loaded YAML file: its kind, its plain Python data, and where each value stands.

    `positions` maps a path (tuple of keys and indices) to the parser's mark where its value
    starts (0-based `line` and `column`; turned into a 1-based `Location` only when a diagnostic
    needs one); `key_positions` maps a mapping entry's path to the mark of its key.
    """

    path: str
    kind: str
    stem: str
    data: Any
    positions: dict[tuple[PathPart, ...], Any] = field(default_factory=dict)
    key_positions: dict[tuple[PathPart, ...], Any] = field(default_factory=dict)
    raw_scalars: dict[tuple[PathPart, ...], str] = field(default_factory=dict)

    def location(self, path: tuple[PathPart, ...] = (), *, key: bool = False) -> Location:
        """The location of the value (or, with `key`, of the key) at `path`, falling back to the
        nearest enclosing value that has a position."""
        table = self.key_positions if key else self.positions
        probe = tuple(path)
        while probe not in table and probe:
            probe = probe[:-1]
            table = self.positions
        mark = table.get(probe)
        if mark is None:
            return Location(self.path, 1, 1, json_path(path))
        return Location(self.path, mark.line + 1, mark.column + 1, json_path(path))


@lru_cache(maxsize=65536)
def json_path(path: tuple[PathPart, ...]) -> str:
    """Render a path as JSONPath: ``$.claims[0].quote`` (cached: the same paths recur in every file)."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", part):
            out += f".{part}"
        else:
            out += "[" + repr(part) + "]"
    return out


# libyaml's parser when PyYAML was built with it (about ten times faster); same events either way.
_Parser: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_DEPTH = 64
_PLAIN_TAGS = frozenset({"!", "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


class _Abort(Exception):
    """Stops building a document after a diagnostic that makes the rest meaningless."""


_ScalarEvent = yaml.ScalarEvent
_AliasEvent = yaml.AliasEvent
_MappingStartEvent = yaml.MappingStartEvent
_MappingEndEvent = yaml.MappingEndEvent
_SequenceEndEvent = yaml.SequenceEndEvent
#: the style of a plain (unquoted, not block) scalar: '' from libyaml, None from the pure parser
_PLAIN_STYLES = ("", None)


def _plain(event: Any) -> bool:
    return event.style in _PLAIN_STYLES


@dataclass
class _Builder:
    """Builds Python values from parser events, recording positions and problems.

    Working from events rather than composed nodes means an anchor or alias is refused where it
    stands, before anything is expanded: a 'billion laughs' document costs one event. This runs
    for every event of every file, so `_node` handles the common case (an untagged scalar that
    is a plain word or quoted text) first, in line.
    """

    rel: str
    parser: Any
    positions: dict[tuple[PathPart, ...], Any] = field(default_factory=dict)
    key_positions: dict[tuple[PathPart, ...], Any] = field(default_factory=dict)
    raw_scalars: dict[tuple[PathPart, ...], str] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: whether a value may hold a refused character (`_may_hold_control`)
    controls: bool = False

    def _loc(self, event: Any, path: tuple[PathPart, ...]) -> Location:
        return Location(self.rel, event.start_mark.line + 1, event.start_mark.column + 1, json_path(path))

    def _fail(self, code: str, message: str, event: Any, path: tuple[PathPart, ...], hint: str | None) -> None:
        self.diagnostics.append(make(code, message, self._loc(event, path), hint))
        raise _Abort

    def build(self, path: tuple[PathPart, ...] = ()) -> Any:
        return self._node(self.parser.get_event(), path)

    def _node(self, event: Any, path: tuple[PathPart, ...]) -> Any:
        cls = type(event)
        if cls is _ScalarEvent and event.tag is None and not event.anchor:  # the common case, first
            self.positions[path] = event.start_mark
            text = event.value
            if self.controls and find_control(text) is not None:
                self._control(text, event, path)
            if event.style not in _PLAIN_STYLES or (text and text[0] not in _MAYBE_SPECIAL):
                return text  # quoted or block text, or a plain word such as `rct`
            return self._scalar(event, None, path)
        if cls is _AliasEvent or event.anchor:
            self._fail("KB105", "anchors and aliases are not allowed", event, path, "write the value out in full")
        self.positions[path] = event.start_mark
        tag = event.tag
        if tag is not None and tag not in _PLAIN_TAGS:
            self.diagnostics.append(make("KB111", f"tag `{tag}` is not allowed", self._loc(event, path),
                                         "remove the tag and write a plain value"))
            tag = "tag:yaml.org,2002:str"  # reported once; build the value without a follow-on error
        if cls is _ScalarEvent:
            if self.controls and find_control(event.value) is not None:
                self._control(event.value, event, path)
            return self._scalar(event, tag, path)
        if len(path) >= MAX_DEPTH:
            self._fail("KB102", f"invalid YAML: nesting deeper than {MAX_DEPTH} levels", event, path, None)
        if cls is _MappingStartEvent:
            return self._mapping(path)
        items: list[Any] = []
        get = self.parser.get_event  # one call per event: no check/peek round trips
        positions = self.positions
        controls = self.controls
        while True:
            item = get()
            cls = type(item)
            if cls is _SequenceEndEvent:
                return items
            child = (*path, len(items))
            # The common case of `_node`, in line (a call per item costs more than the test).
            if cls is _ScalarEvent and item.tag is None and not item.anchor and not controls:
                positions[child] = item.start_mark
                text = item.value
                if item.style not in _PLAIN_STYLES or (text and text[0] not in _MAYBE_SPECIAL):
                    items.append(text)
                    continue
            items.append(self._node(item, child))

    def _mapping(self, path: tuple[PathPart, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        get = self.parser.get_event
        key_positions = self.key_positions
        positions = self.positions
        controls = self.controls
        while True:
            key_event = get()
            if type(key_event) is _MappingEndEvent:
                return out
            if type(key_event) is not _ScalarEvent or key_event.anchor or \
                    (key_event.tag is not None and key_event.tag not in _PLAIN_TAGS):
                self._node(key_event, (*path, "?"))  # reports anchors and tags; complex keys below
                self._fail("KB201", "a mapping key must be plain text", key_event, path, None)
            key = key_event.value
            if controls and find_control(key) is not None:
                self._control(key, key_event, (*path, key))
            if key == "<<" and key_event.style in _PLAIN_STYLES:
                self._fail("KB105", "merge keys (`<<`) are not allowed", key_event, path, "write the fields out")
            child = (*path, key)
            mark = key_event.start_mark
            first = key_positions.setdefault(child, mark)  # one look-up of the path, not two
            if first is mark:
                value = get()
                # The common case of `_node`, in line (a call per value costs more than the test).
                if type(value) is _ScalarEvent and value.tag is None and not value.anchor and not controls:
                    positions[child] = value.start_mark
                    text = value.value
                    if value.style not in _PLAIN_STYLES or (text and text[0] not in _MAYBE_SPECIAL):
                        out[key] = text
                        continue
                out[key] = self._node(value, child)
                continue
            self.diagnostics.append(make(  # a duplicate key
                "KB104", f"duplicate key `{key}` (first defined at line {first.line + 1}, column "
                f"{first.column + 1})", self._loc(key_event, child),
                "remove one of the two entries; YAML would silently keep the last"))
            self._node(get(), (*path, f"{key} (duplicate)"))

    def _control(self, text: str, event: Any, path: tuple[PathPart, ...]) -> None:
        index = find_control(text)
        assert index is not None
        self.diagnostics.append(control_problem(text[index], self._loc(event, path)))

    def _scalar(self, event: Any, tag: str | None, path: tuple[PathPart, ...]) -> Any:
        text = event.value
        # Quoted and block scalars are strings, and so is anything tagged !!str. Plain scalars are
        # resolved by the YAML 1.2 core schema, and those YAML 1.1 would read otherwise are reported.
        if not _plain(event) or tag == "tag:yaml.org,2002:str":
            return text
        if text and text[0] not in _MAYBE_SPECIAL:  # a plain word such as `rct`: no resolution needed
            return text
        self.raw_scalars[path] = text
        if text in _NULL:
            return None
        if text in _BOOL:
            return _BOOL[text]
        if _YAML11_BOOL.match(text) or _YAML11_TIMESTAMP.match(text) or _YAML11_SEXAGESIMAL.match(text):
            reading = "a boolean" if _YAML11_BOOL.match(text) else (
                "a date" if _YAML11_TIMESTAMP.match(text) else "a number")
            self.diagnostics.append(make(
                "KB109", f"unquoted `{text}` is read as {reading} by YAML 1.1 tools",
                self._loc(event, path), f'quote it ("{text}") to keep it text'
                + ("" if reading != "a boolean" else ", or write true/false for a boolean")))
            return text
        if _INT.match(text):
            return self._integer(text, event, path)
        if _FLOAT.match(text):
            return self._float(text, event, path)
        if text.lower() in (".inf", "-.inf", "+.inf", ".nan"):
            self.diagnostics.append(make("KB201", f"`{text}` is not a usable number", self._loc(event, path)))
            return None
        return text


    def _integer(self, text: str, event: Any, path: tuple[PathPart, ...]) -> int | str:
        digits = len(text.lstrip("+-"))
        if digits < 16:  # below 10**15 < MAX_SAFE_INTEGER: the common case, without a comparison
            return int(text)
        # int() refuses more than 4,300 digits (ValueError): a long number is never converted
        if digits <= 16 and abs(int(text)) <= MAX_SAFE_INTEGER:
            return int(text)
        shown = f"`{text}`" if digits <= 24 else f"`{text[:20]}…` ({digits:,} digits)"
        self.diagnostics.append(make(
            "KB116", f"the number {shown} is too large: whole numbers lie between -{MAX_SAFE_INTEGER:,} and "
            f"{MAX_SAFE_INTEGER:,}", self._loc(event, path), "quote it if it is text"))
        return text

    def _float(self, text: str, event: Any, path: tuple[PathPart, ...]) -> float | str:
        value = float(text)
        if (value != 0 and math.isfinite(value)) or not re.search("[1-9]", text.lower().split("e")[0]):
            return value
        shown = f"`{text}`" if len(text) <= 24 else f"`{text[:20]}…` ({len(text):,} characters)"
        what = "too large" if value else "too small: it would be read as 0"
        self.diagnostics.append(make("KB116", f"the number {shown} is {what}", self._loc(event, path),
                                     "quote it if it is text"))
        return text


def _tab_indent(text: str) -> Position | None:
    """Position of the first tab used in indentation (outside block scalars it breaks YAML)."""
    if "\t" not in text:
        return None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip(" ")
        if stripped.startswith("\t"):
            return number, len(line) - len(stripped) + 1
    return None


def parse_yaml(text: str, rel: str, kind: str, stem: str) -> tuple[SourceDocument | None, list[Diagnostic]]:
    """Parse one YAML document strictly into a `SourceDocument`, or return diagnostics."""
    tab = _tab_indent(text)
    if tab is not None:
        return None, [make("KB103", "tab character used for indentation", Location(rel, *tab),
                           "indent with spaces")]
    try:
        parser = _Parser(text)
        builder = _Builder(rel, parser, controls=_may_hold_control(text))
        parser.get_event()  # stream start
        if parser.check_event(yaml.StreamEndEvent):
            return None, [make("KB107", "the file holds no YAML document", Location(rel),
                               f"run `allokb new {BY_FOLDER[kind].name} {stem}` for a template"
                               if kind in BY_FOLDER else "write the document, or remove the file")]
        parser.get_event()  # document start
        try:
            data = builder.build()
        except _Abort:
            return None, builder.diagnostics
        parser.get_event()  # document end
        if not parser.check_event(yaml.StreamEndEvent):
            extra = parser.peek_event()
            return None, [make("KB108", "a second YAML document starts here",
                               Location(rel, extra.start_mark.line + 1, extra.start_mark.column + 1),
                               "keep one document per file; remove the extra `---`")]
    except yaml.reader.ReaderError as exc:
        return None, [_reader_error(exc, text, rel)]
    except yaml.YAMLError as exc:
        return None, [_syntax(exc, rel)]
    doc = SourceDocument(rel, kind, stem, data, builder.positions, builder.key_positions, builder.raw_scalars)
    return doc, builder.diagnostics


def _mark_location(rel: str, mark: Any) -> Location:
    if mark is None:
        return Location(rel)
    return Location(rel, mark.line + 1, mark.column + 1)


def _reader_error(exc: yaml.reader.ReaderError, text: str, rel: str) -> Diagnostic:
    """A character YAML does not allow (control characters and the like)."""
    before = text[: exc.position]
    line = before.count("\n") + 1
    col = exc.position - (before.rfind("\n") + 1) + 1
    return make("KB102", f"invalid YAML: character U+{exc.character:04X} is not allowed in YAML",
                Location(rel, line, col), "remove the control character")


def _syntax(exc: yaml.YAMLError, rel: str) -> Diagnostic:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"{context}: {problem}" if context else problem
    start = getattr(exc, "context_mark", None)
    if start is not None and mark is not None and (start.line, start.column) != (mark.line, mark.column):
        message += f" (it started at line {start.line + 1}, column {start.column + 1})"
    return make("KB102", f"invalid YAML: {message}", _mark_location(rel, mark))


def scan_content(root: Path | str) -> tuple[list[tuple[str, str]], list[Diagnostic]]:
    """(kind, file name) for every entry directly in content/<kind>/ that is not a folder,
    sorted (plain strings: a large knowledge base has tens of thousands of files), and the
    diagnostics of the folders themselves: a content folder that is a link or cannot be listed,
    and every file in a subfolder (ignored, KB114). Hidden entries (editor swap files, a scaffold
    being written) are skipped. A link or FIFO among the names is refused when it is loaded."""
    names: list[tuple[str, str]] = []
    problems: list[Diagnostic] = []
    for kind in KINDS:
        rel = f"content/{kind}"
        problem = folder_problem(root, rel)
        if problem is not None:
            problems.append(problem)
            continue
        try:
            with os.scandir(os.path.join(root, rel)) as entries:
                found = [(e.name, e.is_dir(follow_symlinks=False)) for e in entries if not e.name.startswith(".")]
        except FileNotFoundError:
            continue
        except OSError as exc:
            problems.append(listing_problem(exc, rel))
            continue
        names.extend((kind, name) for name, is_dir in sorted(found) if not is_dir)
        for name, is_dir in sorted(found):
            if is_dir:
                problems.extend(_nested(root, f"{rel}/{name}", rel))
    return names, problems


def content_names(root: Path | str) -> list[tuple[str, str]]:
    """(kind, file name) for every file under content/<kind>/, as `scan_content` lists them."""
    return scan_content(root)[0]


def _nested(root: Path | str, rel: str, kind_folder: str) -> list[Diagnostic]:
    """KB114 for every file under the subfolder `rel` of a content folder, which the loader
    ignores; KB112/KB113 for what it cannot look into."""
    files, problems = walk_files(root, rel, hidden=False)
    return problems + [make("KB114", f"file in a subfolder of {kind_folder}/ is ignored", Location(path),
                            f"move it to {kind_folder}/{path.rsplit('/', 1)[-1]}, or out of content/")
                       for path in files]


def load_document(root: Path | str, kind: str, path: Path | str) -> tuple[SourceDocument | None, list[Diagnostic]]:
    """Load one content file (content/<kind>/<name>); None (with diagnostics) when it is not a
    loadable YAML file. Plain strings, not Path objects, on this path: it runs once per file."""
    name = os.path.basename(path)
    rel = f"content/{kind}/{name}"
    if not name.endswith(".yaml"):
        try:
            mode = os.lstat(os.path.join(root, rel)).st_mode
        except OSError:
            mode = stat.S_IFREG
        if not stat.S_ISREG(mode):
            return None, [not_regular(rel, mode)]
        return None, [make("KB110", f"`{name}` is not a `.yaml` file", Location(rel),
                           "rename it to end in `.yaml`, or move it out of content/")]
    text, problems = read_text(os.path.join(root, rel), rel, MAX_YAML_BYTES)
    if text is None:
        return None, problems
    return parse_yaml(text, rel, kind, name[: -len(".yaml")])


def load_documents(root: Path) -> tuple[list[SourceDocument], list[Diagnostic]]:
    """Load every content file under `root`; returns the documents that loaded and the
    diagnostics of those that did not (or that loaded with problems), and of the folders."""
    documents: list[SourceDocument] = []
    names, diagnostics = scan_content(root)
    for kind, name in names:
        doc, problems = load_document(root, kind, name)
        diagnostics.extend(problems)
        if doc is not None:
            documents.append(doc)
    return documents, diagnostics
