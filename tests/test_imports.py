"""The shape of the package, read from its source with `ast` (no module is imported): the import
graph has no cycle, only the sink imports MkDocs, and the command line is the only face.

Every `import` counts wherever it stands: at the top or inside a function (a lazy import is still
a dependency). Two blocks are left out, as they never run when the module is imported: `if
TYPE_CHECKING:` (names for annotations only, which `from __future__ import annotations` never
evaluates), and `if __name__ == "__main__":`, which runs only when the file is a script
(`python -m allokb.audit`), as the module `__main__`, which nothing imports. Importing a submodule is not counted as importing its package
(`allokb.render.pages` needs `allokb.render` loaded, and that `__init__` importing its own
submodules is how a package is made, not a cycle).
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "allokb"
#: the one module that may import the site engine (MkDocs, its theme, or ProperDocs)
SINK = "allokb.sink"
ENGINES = ("mkdocs", "material", "properdocs")
#: the one module that may parse arguments or print
FACE = "allokb.cli"
#: Cycles being broken, as (module, module) edges to leave out, each with why; none is left
#: (`bib` <-> `model` went with allokb.bibtext, `sources` -> `graph` with model.record_cites).
KNOWN_EDGES: dict[tuple[str, str], str] = {}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _never_imported(node: ast.AST) -> bool:
    """An `if __name__ == "__main__":` or `if TYPE_CHECKING:` block."""
    if not isinstance(node, ast.If):
        return False
    test = node.test
    if isinstance(test, ast.Name | ast.Attribute):
        return (test.id if isinstance(test, ast.Name) else test.attr) == "TYPE_CHECKING"
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__"
            and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators))


def _nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of `tree` except those under a block that never runs on import."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(child for child in ast.iter_child_nodes(node) if not _never_imported(child))


def imported(name: str, path: Path) -> set[str]:
    """Every module name `name` (at `path`) imports, as written (resolved when relative), with
    `from X import y` giving `X.y` when that is a module of the package, else `X`."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in _nodes(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                full = f"{target}.{alias.name}"
                found.add(full if full in MODULES else target)
    return found


@functools.cache
def graph() -> dict[str, set[str]]:
    """Module name -> what it imports, parsed on first use (not while both workers collect)."""
    return {name: imported(name, path) for name, path in MODULES.items()}


def internal_graph() -> dict[str, set[str]]:
    return {name: {t for t in targets if t in MODULES and t != name and (name, t) not in KNOWN_EDGES}
            for name, targets in graph().items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_graph_reads_every_module_and_lazy_imports() -> None:
    # The reader itself: the package is all there, and an import inside a function counts.
    assert {"allokb", "allokb.cli", "allokb.build", "allokb.sink", "allokb.render", "allokb.render.pages"} <= set(MODULES)
    assert "mkdocs.commands.build" in graph()[SINK]  # imported inside `write` only
    assert "allokb.build" in graph()["allokb.cli"]  # likewise, inside `_cmd_build`


def test_cycles_are_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_has_no_cycle() -> None:
    assert cycles(internal_graph()) == []


def test_known_exceptions_are_still_needed() -> None:
    for (source, target), why in KNOWN_EDGES.items():
        assert target in graph()[source], f"{source} no longer imports {target}: drop the exception ({why})"


@pytest.mark.parametrize("engine", ENGINES)
def test_only_the_sink_imports_the_site_engine(engine: str) -> None:
    importers = sorted(name for name, targets in graph().items()
                       if any(t == engine or t.startswith(engine + ".") for t in targets))
    assert importers == ([SINK] if engine != "material" else [])


def _calls(path: Path) -> Iterator[str]:
    for node in _nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("print", "input"):
            yield node.func.id
        if isinstance(node, ast.Attribute) and node.attr in ("stdout", "stderr", "stdin") and \
                isinstance(node.value, ast.Name) and node.value.id == "sys":
            yield f"sys.{node.attr}"


def test_only_the_command_line_parses_arguments_or_prints() -> None:
    parsers = sorted(name for name, targets in graph().items() if "argparse" in targets)
    assert parsers == [FACE]
    printing = {name: sorted(set(_calls(path))) for name, path in MODULES.items() if name != FACE}
    assert {name: calls for name, calls in printing.items() if calls} == {}
