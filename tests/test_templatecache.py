"""The compiled-template cache on disk (allokb.templatecache): a build loads what an earlier process
compiled, never a stale or foreign template, and never from a folder another user could write."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import traceback
from pathlib import Path

import jinja2
import pytest

from allokb import templatecache
from allokb.templatecache import CACHE_ENV, DiskBytecodeCache, shared_cache
from conftest import REPO


class Counting(jinja2.Environment):
    """An environment that records each template it compiles."""

    compiled: list[str]

    def _compile(self, source: str, filename: str) -> object:
        self.compiled.append(filename)
        return super()._compile(source, filename)  # type: ignore[no-untyped-call]


def _env(folder: Path, cache: jinja2.BytecodeCache | None, **options: bool) -> Counting:
    env = Counting(loader=jinja2.FileSystemLoader(str(folder)), auto_reload=False, bytecode_cache=cache, **options)
    env.compiled = []
    return env


def test_a_changed_template_is_compiled_again(tmp_path: Path) -> None:
    cache = DiskBytecodeCache(tmp_path / "cache")
    (tmp_path / "cache").mkdir()
    (tmp_path / "page.html").write_text("one {{ name }}")
    first = _env(tmp_path, cache)
    assert first.get_template("page.html").render(name="x") == "one x"
    again = _env(tmp_path, DiskBytecodeCache(tmp_path / "cache"))  # a new process: nothing in memory
    assert again.get_template("page.html").render(name="x") == "one x" and again.compiled == []
    (tmp_path / "page.html").write_text("two {{ name }}")
    changed = _env(tmp_path, DiskBytecodeCache(tmp_path / "cache"))
    assert changed.get_template("page.html").render(name="x") == "two x"
    assert changed.compiled == [str(tmp_path / "page.html")]


def test_copies_of_a_template_are_compiled_once_and_name_their_own_file(tmp_path: Path) -> None:
    (tmp_path / "cache").mkdir()
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "page.html").write_text("{% macro m() %}{{ caller() }}{% endmacro %}{{ 1 // 0 }}")
    first = _env(tmp_path / "a", DiskBytecodeCache(tmp_path / "cache"))
    first.get_template("page.html")
    env = _env(tmp_path / "b", DiskBytecodeCache(tmp_path / "cache"))
    second = env.get_template("page.html")
    assert first.compiled == [str(tmp_path / "a" / "page.html")] and env.compiled == []
    assert second.filename == str(tmp_path / "b" / "page.html")
    with pytest.raises(ZeroDivisionError) as caught:
        second.render()
    frames = [f.filename for f in traceback.extract_tb(caught.value.__traceback__)]
    assert str(tmp_path / "b" / "page.html") in frames and str(tmp_path / "a" / "page.html") not in frames


def test_environments_that_compile_differently_do_not_share_code(tmp_path: Path) -> None:
    (tmp_path / "cache").mkdir()
    (tmp_path / "page.html").write_text("{% if 1 %}\n  x\n{% endif %}\n")

    def render(**options: bool) -> str:
        return _env(tmp_path, DiskBytecodeCache(tmp_path / "cache"), **options).get_template("page.html").render()

    assert render() == "\n  x\n"
    assert render(trim_blocks=True, lstrip_blocks=True) == "  x\n"
    assert render() == "\n  x\n"


def test_a_damaged_entry_is_compiled_again(tmp_path: Path) -> None:
    (tmp_path / "cache").mkdir()
    (tmp_path / "page.html").write_text("ok {{ 1 + 1 }}")
    _env(tmp_path, DiskBytecodeCache(tmp_path / "cache")).get_template("page.html")
    [entry] = (tmp_path / "cache").iterdir()
    for damage in (entry.read_bytes()[:40], b"", b"\x00" * 200):
        entry.write_bytes(damage)
        env = _env(tmp_path, DiskBytecodeCache(tmp_path / "cache"))
        assert env.get_template("page.html").render() == "ok 2" and len(env.compiled) == 1


def test_a_second_process_compiles_nothing(tmp_path: Path) -> None:
    """What one process compiled, the next one loads: the point of the cache."""
    (tmp_path / "page.html").write_text("{% for i in range(3) %}{{ i }}{% endfor %}")
    script = textwrap.dedent(f"""
        import jinja2
        from allokb.templatecache import install
        class Counting(jinja2.Environment):
            def _compile(self, source, filename):
                print("compiled", filename)
                return super()._compile(source, filename)
        env = install(Counting(loader=jinja2.FileSystemLoader({str(tmp_path)!r})))
        print(env.get_template("page.html").render())
    """)
    env = {**os.environ, CACHE_ENV: str(tmp_path / "cache"), "PYTHONPATH": str(REPO / "src")}
    runs = [subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True).stdout
            for _ in range(2)]
    assert runs == [f"compiled {tmp_path / 'page.html'}\n012\n", "012\n"]
    assert oct((tmp_path / "cache").stat().st_mode & 0o777) == "0o700"


@pytest.mark.parametrize("how", ["group-writable", "world-writable", "symlink", "another owner", "a file"])
def test_a_folder_others_could_write_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    folder = tmp_path / "cache"
    if how == "symlink":
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        folder.symlink_to(tmp_path / "elsewhere")
    elif how == "a file":
        folder.write_text("not a folder")
    else:
        folder.mkdir(mode=0o700)
        if how == "group-writable":
            folder.chmod(0o770)
        elif how == "world-writable":
            folder.chmod(0o707)
        else:
            if os.getuid() != 0:
                pytest.skip("changing a folder's owner needs root (CI runs as root)")
            os.chown(folder, 65534, 65534)
    monkeypatch.setenv(CACHE_ENV, str(folder))
    assert shared_cache() is None
    (tmp_path / "page.html").write_text("still builds")
    env = templatecache.install(jinja2.Environment(loader=jinja2.FileSystemLoader(str(tmp_path))))
    assert env.bytecode_cache is None and env.get_template("page.html").render() == "still builds"


def test_the_cache_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, "")
    assert templatecache.cache_dir() is None and shared_cache() is None


def test_the_default_folder_is_the_users_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert templatecache.cache_dir() == tmp_path / "xdg" / "allokb"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert templatecache.cache_dir() == tmp_path / "home" / ".cache" / "allokb"


def test_theme_and_allokb_environments_use_the_cache(fixture_build: object, tmp_path: Path) -> None:
    """Both kinds of environment a build uses: allokb's own, and MkDocs' theme environment (given
    the cache in the sink's `on_env`). The run's builds filled the run's cache folder."""
    from allokb.render.environment import make_environment
    from allokb.sink import SitePlugin

    cache = shared_cache()
    assert cache is not None and cache.folder == Path(os.environ[CACHE_ENV]) / "templates"
    assert make_environment(tmp_path).bytecode_cache is cache
    theme_env = jinja2.Environment()
    SitePlugin.on_env(object.__new__(SitePlugin), theme_env, None, None)
    assert theme_env.bytecode_cache is cache
    names = {p.name for p in cache.folder.iterdir()}
    assert len(names) >= 20  # Material's templates and allokb's, compiled by the fixture's build
