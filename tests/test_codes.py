"""Diagnostic codes are stable, documented and all in use."""

from __future__ import annotations

import re

from allokb.diagnostics import CODES
from allokb.rules import RULES_BY_CODE, catalogue, rule_doc
from conftest import REPO

# Codes are a public contract (CI scripts and editors match on them): never renumber one.
PINNED = {
    "KB101", "KB102", "KB103", "KB104", "KB105", "KB106", "KB107", "KB108", "KB109", "KB110", "KB111",
    "KB201", "KB202", "KB203", "KB204", "KB205", "KB206", "KB207", "KB208", "KB209",
    "KB301", "KB302", "KB303", "KB304", "KB305", "KB306", "KB307", "KB308",
    "KB401", "KB402", "KB403", "KB404", "KB405", "KB406", "KB407", "KB408", "KB409", "KB410", "KB411", "KB412",
    "KB420", "KB430", "KB431", "KB432", "KB433", "KB501", "KB601", "KB602",
}


def test_no_pinned_code_disappears() -> None:
    assert PINNED <= set(CODES)


def test_every_code_has_a_title_and_documentation() -> None:
    for code, info in catalogue().items():
        assert re.fullmatch(r"KB[1-6][0-9]{2}", code)
        assert info.title and len(info.doc) > 20, code


def test_every_code_is_used_and_every_used_code_exists() -> None:
    source = "\n".join(p.read_text() for p in (REPO / "src" / "allokb").rglob("*.py"))
    used = set(re.findall(r'"(KB[0-9]{3})"', source.replace("_code(", "")))
    made = set(re.findall(r'make\(\s*"(KB[0-9]{3})"', source)) | set(re.findall(r'"(KB[0-9]{3})": ', source))
    assert made <= set(CODES)
    unused = {c for c in CODES if source.count(f'"{c}"') < 2}
    assert unused == set()
    assert used >= set(CODES)


def test_every_code_is_on_the_codes_page() -> None:
    from allokb.render import render_codes_page
    from allokb.render.environment import doc

    page = render_codes_page(REPO).markdown
    for code, info in catalogue().items():  # as the `doc` filter writes the project's own texts (`&` as `&#38;`)
        assert f"## {code}: {doc(info.title)} {{ #{code.lower()} }}\n\n{doc(info.doc)}\n" in page


def test_a_rule_is_documented_by_its_docstring_alone() -> None:
    """A code reported by a rule function has one text, the function's docstring: its `CODES`
    entry holds the title and severity only, and the catalogue (codes page, `allokb codes`)
    shows the docstring."""
    assert len(RULES_BY_CODE) >= 16
    for code, function in RULES_BY_CODE.items():
        assert CODES[code].doc == "", code
        assert catalogue()[code].doc == rule_doc(function) and len(rule_doc(function)) > 20, code
