"""`allokb rename-key OLD NEW`: give a reference a new bib key without breaking a link.

A key is part of a permanent URL (`/references/<key>/`), so a rename must leave the old URL
answering. The command does, in one step, what a contributor would otherwise do by hand in five
files and could get wrong in any of them:

- the entry's header in references.bib (`@article{OLD,` becomes `@article{NEW,`);
- the citation file content/citations/OLD.yaml becomes NEW.yaml, with `key: NEW` and OLD added
  to `former_keys` (so the build serves a redirect from the old URL);
- every other mention of the key in the knowledge base's YAML (`ref: OLD`, lists of keys, and
  the key written in a text), as a whole word only: `fda2019` never matches inside `fda2019x`;
- the committed source text content/sources/OLD.md becomes NEW.md;
- the new URL is added to urls.txt (the old one stays: it is now a redirect).

Edits are made to the files' text, not by re-serialising YAML, so comments, quoting and order
stay as the contributor wrote them. Nothing is written unless the project checks without
errors before, every file can be read, and the new key is free (not a key, not anyone's former
key, not a reserved name). Every file is written whole to a temporary file and renamed over the
old one; if any step fails, the files already changed are put back as they were.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from allokb.bib import BIB_FILE, BIBKEY
from allokb.diagnostics import KbError, UsageError
from allokb.files import write_atomic
from allokb.project import check_project
from allokb.urls import RESERVED_IDS

#: folders of content/ whose YAML may name a bib key
_KEY_FOLDERS = ("interventions", "mechanisms", "citations")


@dataclass
class _Plan:
    writes: dict[Path, str] = field(default_factory=dict)  # path -> new text
    moves: list[tuple[Path, Path]] = field(default_factory=list)  # (old path, new path), after writes
    done: list[str] = field(default_factory=list)  # one line per change, for the report


def _word(key: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(key)}(?![\w-])")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KbError(f"{path}: cannot be read ({exc}); nothing was changed") from exc


def _citation_text(text: str, old: str, new: str, rel: str) -> str:
    """The citation file's text with `key: NEW` and OLD listed under `former_keys`."""
    key_line = re.compile(rf"^key:[ \t]*(['\"]?){re.escape(old)}\1[ \t]*(#.*)?$", re.M)
    if len(key_line.findall(text)) != 1:
        raise KbError(f"{rel}: no single `key: {old}` line to rename; nothing was changed")
    text = _word(old).sub(new, text)  # the key line and any mention in its own texts
    block = re.search(r"^former_keys:[ \t]*(#.*)?\n((?:[ \t]+-[^\n]*\n|[ \t]*#[^\n]*\n)*)", text, re.M)
    if block:
        items = re.findall(r"^([ \t]+)-", block.group(2), re.M)
        indent = items[0] if items else "  "
        return text[: block.end()] + f"{indent}- {old}\n" + text[block.end():]
    if re.search(r"^former_keys:", text, re.M):
        raise KbError(f"{rel}: write `former_keys` as a block list (one `- key` a line) so that it can "
                      f"be extended; nothing was changed")
    line = re.search(rf"^key:[ \t]*(['\"]?){re.escape(new)}\1[ \t]*(#.*)?$\n?", text, re.M)
    assert line is not None
    end = line.end() if line.group(0).endswith("\n") else len(text)
    insert = ("" if line.group(0).endswith("\n") else "\n") + f"former_keys:\n  - {old}\n"
    return text[:end] + insert + text[end:]


def plan_rename(root: Path, old: str, new: str) -> _Plan:
    """Every change a rename makes, computed before anything is written."""
    if not BIBKEY.match(new):
        raise UsageError(f"`{new}` is not a bib key: lowercase letters and digits, starting with a letter")
    if new in RESERVED_IDS:
        raise UsageError(f"`{new}` is reserved: /references/{new}/ is a page the site makes itself")
    if old == new:
        raise UsageError(f"`{old}` already has that key")
    result = check_project(root)
    if result.failed():
        raise KbError("the project has errors (run `allokb check`); fix them first, nothing was changed")
    kb = result.kb
    keys = set(kb.references)
    if old not in keys:
        raise UsageError(f"`{old}` is not a key of {BIB_FILE}")
    if new in keys:
        raise UsageError(f"`{new}` is already a key of {BIB_FILE}")
    for citation in kb.citations.values():
        if new in citation.former_keys:
            raise UsageError(f"`{new}` is a former key of `{citation.key}`: its old URL redirects there")

    plan = _Plan()
    bib_path = root / BIB_FILE
    bib = _read(bib_path)
    header = re.compile(rf"^(@[A-Za-z]+[ \t]*\{{[ \t]*){re.escape(old)}([ \t]*,)", re.M)
    if len(header.findall(bib)) != 1:
        raise KbError(f"{BIB_FILE}: no single `@type{{{old},` entry header to rename; nothing was changed")
    plan.writes[bib_path] = header.sub(lambda m: m.group(1) + new + m.group(2), bib)
    plan.done.append(f"{BIB_FILE}: entry {old} -> {new}")

    word = _word(old)
    for folder in _KEY_FOLDERS:
        base = root / "content" / folder
        for path in sorted(base.glob("*.yaml")) if base.is_dir() else []:
            rel = path.relative_to(root).as_posix()
            if folder == "citations" and path.name == f"{old}.yaml":
                target = path.with_name(f"{new}.yaml")
                if target.exists():
                    raise UsageError(f"{target.relative_to(root).as_posix()} exists already; nothing was changed")
                plan.writes[path] = _citation_text(_read(path), old, new, rel)
                plan.moves.append((path, target))
                plan.done.append(f"{rel} -> {target.relative_to(root).as_posix()} (former_keys: {old})")
                continue
            text = _read(path)
            count = len(word.findall(text))
            if count:
                plan.writes[path] = word.sub(new, text)
                plan.done.append(f"{rel}: {count} mention{'s' * (count != 1)}")
    source = root / "content" / "sources" / f"{old}.md"
    if source.is_file():
        target = source.with_name(f"{new}.md")
        if target.exists():
            raise UsageError(f"{target.relative_to(root).as_posix()} exists already; nothing was changed")
        plan.moves.append((source, target))
        plan.done.append(f"content/sources/{old}.md -> content/sources/{new}.md")
    return plan


def apply_plan(plan: _Plan) -> None:
    """Write every change; on any failure, put back what was already changed and re-raise."""
    originals: dict[Path, str] = {}
    moved: list[tuple[Path, Path]] = []
    try:
        for path, text in plan.writes.items():
            originals[path] = path.read_text(encoding="utf-8")
            write_atomic(path, text)
        for src, dst in plan.moves:
            os.rename(src, dst)
            moved.append((src, dst))
    except BaseException:
        for src, dst in reversed(moved):
            os.rename(dst, src)
        for path, text in originals.items():
            write_atomic(path, text)
        raise


def rename_key(root: Path, old: str, new: str) -> list[str]:
    """Rename the reference `old` to `new` everywhere; return one line per change."""
    from allokb.urls import write_manifest

    plan = plan_rename(root, old, new)
    apply_plan(plan)
    after = check_project(root)
    if after.urls is not None and (root / "urls.txt").is_file():
        added = write_manifest(root, after.urls)
        if added:
            plan.done.append(f"urls.txt: {added} URL{'s' * (added != 1)} added (/references/{old}/ now redirects)")
    if after.failed():
        plan.done.append("the project now has errors: run `allokb check` (the rename itself is complete)")
    return plan.done
