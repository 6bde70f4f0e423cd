"""Where rules live (issue 14, build item 4): every code is either a stage diagnostic, documented
in `CODES`, or the code of exactly one rule function in `src/allokb/rules/`, documented by its
docstring alone; only that package reports a rule's code, and the library code the rules share
never imports it. Read from the source with `ast` where the question is where something is written."""

from __future__ import annotations

import ast
import inspect
from collections import Counter
from pathlib import Path

from allokb.diagnostics import CODES
from allokb.rules import RULES_BY_CODE, catalogue, rule_doc
from conftest import REPO

PACKAGE = REPO / "src" / "allokb"
RULES_DIR = PACKAGE / "rules"

#: The stage diagnostics: a stage reports them while it reads or builds, and their text is in CODES
#: (allokb.rules' docstring says why each is a stage's). Every other code is a rule's.
STAGE_CODES = frozenset({
    # loading files and parsing YAML
    "KB101", "KB102", "KB103", "KB104", "KB105", "KB106", "KB107", "KB108", "KB109", "KB110", "KB111", "KB112",
    "KB113", "KB114", "KB115", "KB116", "KB117",
    # the schema
    "KB201", "KB202", "KB203", "KB204", "KB205", "KB206", "KB208",
    # reading content/rubric.yaml and content/link-hosts.yaml
    "KB209", "KB470", "KB456",
    # parsing references.bib, and the form of each raw field (the bib file's schema)
    "KB401", "KB402", "KB404", "KB405", "KB406", "KB409", "KB411", "KB412", "KB413", "KB414",
    # reading a source text
    "KB441",
    # `allokb verify --online`: what the services answered
    "KB430", "KB431", "KB432", "KB433", "KB434",
    # the build: rendering and the post-build audit
    "KB501", "KB510", "KB511",
})


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


SOURCES = {_module(p): ast.parse(p.read_text(encoding="utf-8"), str(p)) for p in sorted(PACKAGE.rglob("*.py"))}


def _in_rules(module: str) -> bool:
    return module == "allokb.rules" or module.startswith("allokb.rules.")


def _reported(tree: ast.AST) -> set[str]:
    """The codes a module reports by name: `make("KBnnn", ...)` and `Diagnostic("KBnnn", ...)`."""
    found = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("make", "Diagnostic")
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.add(node.args[0].value)
    return found


def _registered(tree: ast.AST) -> list[str]:
    """The codes of the `@rule("KBnnn")` decorators in a module."""
    return [d.args[0].value for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            for d in node.decorator_list
            if isinstance(d, ast.Call) and isinstance(d.func, ast.Name) and d.func.id == "rule"
            and d.args and isinstance(d.args[0], ast.Constant)]


def test_every_code_is_a_stage_code_or_has_one_documented_rule() -> None:
    assert STAGE_CODES <= set(CODES)
    for code, info in CODES.items():
        if code in STAGE_CODES:
            assert code not in RULES_BY_CODE, f"{code} is a stage code with a rule function"
            assert len(info.doc) > 20, f"{code}: a stage code is documented in CODES"
        else:
            assert code in RULES_BY_CODE, f"{code} is neither a stage code nor the code of a rule function"
            assert info.doc == "", f"{code}: its rule's docstring is its only text, and CODES holds more"
            assert len(rule_doc(RULES_BY_CODE[code])) > 20, f"{code}: the rule function has no docstring"
            assert catalogue()[code].doc == rule_doc(RULES_BY_CODE[code])


def test_each_rule_is_registered_once_and_in_the_rules_package() -> None:
    where = [(module, code) for module, tree in SOURCES.items() for code in _registered(tree)]
    assert [(m, c) for m, c in where if not _in_rules(m)] == []
    assert [code for code, n in Counter(c for _, c in where).items() if n > 1] == []
    assert {c for _, c in where} == set(RULES_BY_CODE)
    for code, function in RULES_BY_CODE.items():
        assert Path(inspect.getfile(function)).parent == RULES_DIR, code


def test_only_the_rules_package_reports_a_rules_code() -> None:
    """A module outside allokb.rules reports stage codes only, and each rule's code is reported in
    the module of its rule function (so a rule cannot be half in the package and half outside)."""
    outside = {module: sorted(_reported(tree) - STAGE_CODES) for module, tree in SOURCES.items()
               if not _in_rules(module)}
    assert {module: codes for module, codes in outside.items() if codes} == {}
    for module, tree in SOURCES.items():
        if _in_rules(module):
            for code in _reported(tree):
                assert code not in STAGE_CODES and RULES_BY_CODE[code].__module__ == module, (module, code)


def _imports(tree: ast.AST) -> set[str]:
    """Every module a module imports, lazily too."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_the_library_does_not_import_the_rules() -> None:
    """Only the check pipeline runs the rules, and only the command line and the codes page read
    their catalogue: the modules the rules build on never import them."""
    importers = {module for module, tree in SOURCES.items() if not _in_rules(module)
                 and any(_in_rules(name) for name in _imports(tree))}
    assert importers == {"allokb.project", "allokb.cli", "allokb.render"}


def test_the_graph_resolves_and_judges_nothing() -> None:
    assert _reported(SOURCES["allokb.graph"]) == set()
