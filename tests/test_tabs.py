"""The kept tabs of tests/browser.py (`Tabs`): a tab lent again is like a new one."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from browser import Tabs

pytestmark = pytest.mark.browser

HTML = "<!doctype html><title>t</title><link rel=stylesheet href=style.css><p>page</p>"


class _Cached(SimpleHTTPRequestHandler):
    """Files a browser may keep for ten minutes without asking again; the paths asked for are
    listed in `served` (Playwright reports a request answered from the browser's cache too)."""

    served: list[str] = []

    def do_GET(self) -> None:
        self.served.append(self.path)
        super().do_GET()

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "max-age=600")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


@contextmanager
def serve(www: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Cached, directory=str(www)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_a_tab_lent_again_keeps_nothing_of_the_test_before(browser: Any, tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text(HTML)
    (tmp_path / "style.css").write_text("p { color: red }")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "index.html").write_text(HTML)
    pool = Tabs(browser)
    try:
        with serve(tmp_path) as url, serve(tmp_path) as other:  # two origins (two ports)
            with pool(viewport={"width": 800, "height": 600}, permissions=("clipboard-read",)) as page:
                first = page
                for base in (url, other + "other/"):
                    page.goto(base)
                    page.evaluate("localStorage.setItem('k', 'v'); sessionStorage.setItem('k', 'v');"
                                  " document.cookie = 'c=1; max-age=600'")
                page.set_viewport_size({"width": 375, "height": 500})
                page.emulate_media(color_scheme="dark")
                page.context.grant_permissions(["geolocation"])
            with pool(viewport={"width": 800, "height": 600}, permissions=("clipboard-read",)) as page:
                assert page is first  # the same tab, lent again
                assert page.url == "about:blank"
                assert page.viewport_size == {"width": 800, "height": 600}
                _Cached.served.clear()
                for base in (url, other + "other/"):
                    page.goto(base)
                    assert page.evaluate("[localStorage.length, sessionStorage.length, document.cookie]") == [0, 0, ""]
                # the HTTP cache was emptied: the stylesheet (fresh for ten minutes) is fetched again
                assert sorted(p for p in _Cached.served if p.endswith(".css")) == ["/other/style.css", "/style.css"]
                assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") is False
                # the permission asked for is granted again; the other one granted is taken back (Chromium
                # then says "denied" where a new context says "prompt": a test that asks for a
                # permission by itself opens its own context)
                assert _permissions(page) == ["granted", "denied"]
            with pool(viewport={"width": 640, "height": 480}) as page:
                assert page is not first  # other options: another tab
            with pool(viewport={"width": 800, "height": 600}, permissions=("clipboard-read",)) as page, \
                    pool(viewport={"width": 800, "height": 600}, permissions=("clipboard-read",)) as second:
                assert page is first and second is not first  # two at once: another tab for the second
            with pool(viewport={"width": 800, "height": 600}, permissions=("clipboard-read",)) as page, \
                    pool(viewport={"width": 800, "height": 600}, permissions=("clipboard-read",)) as again:
                assert {page, again} == {first, second}  # both were kept
    finally:
        pool.close()


def _permissions(page: Any) -> list[str]:
    states: list[str] = page.evaluate("""Promise.all(['clipboard-read', 'geolocation'].map(
        n => navigator.permissions.query({name: n}).then(p => p.state)))""")
    return states


def test_a_tab_whose_test_failed_is_not_lent_again(browser: Any) -> None:
    pool = Tabs(browser)
    try:
        with pytest.raises(RuntimeError), pool() as page:
            failed = page
            raise RuntimeError("the test failed")
        assert failed.is_closed()
        with pool() as page:
            assert page is not failed
            page.context.new_page()  # a page left open beside the tab: the tab is not kept
            kept = page
        assert kept.is_closed()
    finally:
        pool.close()
