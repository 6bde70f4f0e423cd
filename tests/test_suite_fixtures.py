"""The suite's own machinery (tests/conftest.py): the shared Jinja bytecode cache never serves a
stale template, and MkDocs' theme environments use it."""

from __future__ import annotations

from pathlib import Path

import jinja2

from conftest import _THEME_BYTECODE, _MemoryBytecodeCache


def _render(folder: Path, cache: jinja2.BytecodeCache) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), auto_reload=False, bytecode_cache=cache)
    return env.get_template("page.html").render(name="x")


def test_a_changed_template_is_compiled_again(tmp_path: Path) -> None:
    cache = _MemoryBytecodeCache()
    (tmp_path / "page.html").write_text("one {{ name }}")
    assert _render(tmp_path, cache) == "one x"
    assert _render(tmp_path, cache) == "one x"  # from the cache
    (tmp_path / "page.html").write_text("two {{ name }}")
    assert _render(tmp_path, cache) == "two x"


def test_theme_environments_share_the_cache() -> None:
    import mkdocs.theme

    theme = mkdocs.theme.Theme(name="mkdocs")
    assert theme.get_env().bytecode_cache is _THEME_BYTECODE
