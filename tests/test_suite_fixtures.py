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


def test_copies_of_a_template_are_compiled_once_and_name_their_own_file(tmp_path: Path) -> None:
    cache = _MemoryBytecodeCache()
    compiled: list[str] = []

    class Counting(jinja2.Environment):
        def _compile(self, source: str, filename: str) -> object:
            compiled.append(filename)
            return super()._compile(source, filename)

    def load(folder: Path) -> jinja2.Template:
        env = Counting(loader=jinja2.FileSystemLoader(str(folder)), auto_reload=False, bytecode_cache=cache)
        return env.get_template("page.html")

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "page.html").write_text("{% macro m() %}{{ caller() }}{% endmacro %}{{ 1 // 0 }}")
    load(tmp_path / "a")
    second = load(tmp_path / "b")
    assert compiled == [str(tmp_path / "a" / "page.html")]
    assert second.filename == str(tmp_path / "b" / "page.html")
    try:
        second.render()
    except ZeroDivisionError as exc:  # the traceback points into the copy that was rendered
        frames = [f.filename for f in __import__("traceback").extract_tb(exc.__traceback__)]
        assert str(tmp_path / "b" / "page.html") in frames and str(tmp_path / "a" / "page.html") not in frames
    else:
        raise AssertionError("no error")


def test_environments_that_compile_differently_do_not_share_code(tmp_path: Path) -> None:
    cache = _MemoryBytecodeCache()
    (tmp_path / "page.html").write_text("{% if 1 %}\n  x\n{% endif %}\n")

    def render(**options: bool) -> str:
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(tmp_path)), bytecode_cache=cache, **options)
        return env.get_template("page.html").render()

    assert render() == "\n  x\n"
    assert render(trim_blocks=True, lstrip_blocks=True) == "  x\n"
    assert render() == "\n  x\n"


def test_allokb_environments_share_the_cache(tmp_path: Path) -> None:
    import allokb.render
    from allokb.render.environment import make_environment

    assert make_environment(tmp_path).bytecode_cache is _THEME_BYTECODE
    assert allokb.render.make_environment(tmp_path).bytecode_cache is _THEME_BYTECODE
