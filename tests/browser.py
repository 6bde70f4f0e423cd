"""Serving a built site on 127.0.0.1 and driving Debian's Chromium with Playwright; axe-core; and
`Pages`, which loads each page of a site once and records what the tests of a file assert on it.

Where the time of a browser test goes (measured on the repository's site): a page load is
0.1-0.6 s; waiting for `networkidle` adds 500 ms to every load (its quiet window: every request
of these pages starts before the load event, but the favicon, which starts with it), `settle`
waits 100 ms; axe-core's colour-contrast rule is most of an axe run (3 s of Chromium CPU on the
evidence page at 375 px with axe-core 4.14.1, 7-8 s with 4.12.1)."""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# Debian's chromium; another Chromium-family browser can be named (GitHub's runners have Chrome).
CHROMIUM = os.environ.get("ALLOKB_CHROMIUM", "/usr/bin/chromium")
# As the machine's probe found: without these, Chromium tries to reach Google's hosts.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


def start_chromium(playwright: Any) -> Any:
    """Debian's Chromium (never Playwright's own browser download), from a running Playwright.
    One process can run one Playwright: tests get the session's (tests/conftest.py)."""
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed: ./tasks.sh installs it"
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@contextmanager
def launch() -> Iterator[Any]:
    """Debian's Chromium driven by its own Playwright, outside the test session (a script)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = start_chromium(p)
        yield browser
        browser.close()


@contextmanager
def serve(www: Path) -> Iterator[str]:
    """Serve `www` on 127.0.0.1 (a free port); yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(www))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# --- one kept tab per set of context options ----------------------------------------------------

class Tabs:
    """Tabs for tests that each want a page of their own but need nothing new of Chromium: one tab
    per set of context options (viewport, colour scheme, permissions...) is kept for the worker and
    lent to one test at a time. Chromium's CPU, measured on the repository's site (tests/cpu_profile.py
    and /proc): a new context is about 1 s, a new page in a kept context 0.7 s, a navigation 0.2 s.

    When a test gives the tab back, it is made like a new one: it goes to about:blank, and the
    storage of every origin it showed (local and session storage, IndexedDB, cache storage...),
    the HTTP cache and the cookies are cleared, permissions granted by the test are taken back (the
    ones the tab was asked for are granted again), and the viewport and the emulated media
    (`page.emulate_media`) are put back. A tab whose test failed, or that has another page open
    beside it, is closed instead. A test that adds a listener or a route to the page removes it
    before it gives the tab back. Not for a test that asks for a permission itself (a permission
    taken back reads "denied", not "prompt" as in a new context), or that needs a context of its own
    (JavaScript off, an init script): those open their own context."""

    def __init__(self, browser: Any) -> None:
        self.browser = browser
        self._kept: dict[str, list[_Kept]] = {}
        self._discarded: set[Any] = set()

    @contextmanager
    def __call__(self, *, permissions: tuple[str, ...] = (), **options: Any) -> Iterator[Any]:
        key = repr((sorted(options.items()), sorted(permissions)))
        free = self._kept.setdefault(key, [])
        kept = free.pop() if free else _Kept(self.browser, permissions, options)
        try:
            yield kept.page
        except BaseException:
            kept.close()
            raise
        if kept.page not in self._discarded and kept.reset():
            free.append(kept)  # two tests (two module fixtures) can hold tabs of one kind at once
        else:
            kept.close()
        self._discarded.discard(kept.page)

    def discard(self, page: Any) -> None:
        """Close `page` when it is given back instead of lending it again (its test failed: a
        fixture's teardown does not see the test's exception)."""
        self._discarded.add(page)

    def close(self) -> None:
        for free in self._kept.values():
            for kept in free:
                kept.close()
        self._kept.clear()


class _Kept:
    def __init__(self, browser: Any, permissions: tuple[str, ...], options: dict[str, Any]) -> None:
        self.context = browser.new_context(**options)
        self.options = options
        self.permissions = list(permissions)
        if self.permissions:
            self.context.grant_permissions(self.permissions)
        self.page = self.context.new_page()
        self.viewport = self.page.viewport_size
        self.origins: set[str] = set()
        self.page.on("framenavigated", self._navigated)  # the pool's own listener, kept with the tab
        self.cdp = self.context.new_cdp_session(self.page)

    def _navigated(self, frame: Any) -> None:
        scheme, _, rest = frame.url.partition("://")
        if scheme in ("http", "https"):
            self.origins.add(f"{scheme}://{rest.split('/', 1)[0]}")

    def reset(self) -> bool:
        """Make the tab like a new one (False: it cannot be, close it)."""
        if self.page.is_closed() or len(self.context.pages) != 1:
            return False
        try:
            self._reset()
        except Exception:  # noqa: BLE001 - a tab that cannot be reset (its renderer crashed) is closed
            return False
        return True

    def _reset(self) -> None:
        self.page.goto("about:blank")
        for origin in sorted(self.origins):
            self.cdp.send("Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"})
        self.origins.clear()
        self.cdp.send("Network.clearBrowserCache")
        self.context.clear_cookies()
        self.context.clear_permissions()
        if self.permissions:
            self.context.grant_permissions(self.permissions)
        if self.viewport is not None and self.page.viewport_size != self.viewport:
            self.page.set_viewport_size(self.viewport)
        # what `page.emulate_media` changed, back to the context's own settings
        self.page.emulate_media(media="null", color_scheme=self.options.get("color_scheme", "light"),
                                reduced_motion=self.options.get("reduced_motion", "no-preference"),
                                forced_colors=self.options.get("forced_colors", "none"))

    def close(self) -> None:
        try:
            self.context.close()
        except Exception:  # noqa: BLE001 - a context whose browser has gone is closed already
            pass


# --- axe-core --------------------------------------------------------------------------------

#: axe-core as tools/package-lock.json pins it (4.14.1, installed with tools/: `./tasks.sh test`),
#: not the older copy inside axe-playwright-python (4.12.1): on the evidence page at 375 px the same
#: run found the same violations in 3.0-3.4 s of Chromium CPU instead of 7.0-8.1 s.
AXE = Path(__file__).resolve().parent.parent / "tools" / "node_modules" / "axe-core" / "axe.min.js"


@functools.cache
def _axe_source() -> str:
    if not AXE.is_file():
        raise AssertionError(f"axe-core is not installed ({AXE}): (cd tools && npm ci --ignore-scripts)")
    return AXE.read_text(encoding="utf-8")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on `page` as it is now (every rule axe runs by default)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    result: list[dict[str, Any]] = page.evaluate("axe.run({resultTypes: ['violations']}).then(r => r.violations)")
    return result


# --- watching a page -------------------------------------------------------------------------

class Watch:
    """What a page does from now on: the URL of every request, the console's errors and the
    page's uncaught errors; `settle()` waits until its network is quiet."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.requests: list[str] = []
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self._open: set[Any] = set()
        self._last = time.monotonic()
        self._listeners: list[tuple[str, Callable[[Any], None]]] = [
            ("request", self._started), ("requestfinished", self._ended), ("requestfailed", self._ended),
            ("console", self._console), ("pageerror", self._page_error)]
        for event, listener in self._listeners:
            page.on(event, listener)

    def stop(self) -> None:
        """Stop watching (the page goes on to another watch)."""
        for event, listener in self._listeners:
            self.page.remove_listener(event, listener)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def _page_error(self, error: Any) -> None:
        self.page_errors.append(str(error))

    def _started(self, request: Any) -> None:
        self.requests.append(request.url)
        self._open.add(request)
        self._last = time.monotonic()

    def _ended(self, request: Any) -> None:
        self._open.discard(request)
        self._last = time.monotonic()

    def settle(self, quiet: float = 0.1, timeout: float = 15.0) -> None:
        """Wait for the load event, then until no request has been open, started or ended for
        `quiet` seconds (counted from this call at the earliest, so that what an action just
        done starts is waited for): `networkidle` with 100 ms for its 500 ms window (a request
        that starts later is not waited for, as none was by `networkidle` after its window)."""
        start = time.monotonic()
        self.page.wait_for_load_state("load")
        deadline = start + timeout
        while self._open or time.monotonic() - max(self._last, start) < quiet:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.page.url}: requests still open after {timeout} s: "
                                     f"{sorted(r.url for r in self._open)}")
            self.page.wait_for_timeout(20)


# --- each page once --------------------------------------------------------------------------

@dataclass
class Seen:
    """One page as a test file saw it: the requests its load made, its console and uncaught
    errors, and the value of each of the file's probes, in their order."""

    path: str
    url: str
    requests: list[str]
    console_errors: list[str]
    page_errors: list[str]
    values: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, probe: str) -> Any:
        value = self.values[probe]
        if isinstance(value, _Failed):
            raise AssertionError(f"{self.path!r}: the probe {probe!r} failed: {value.error}") from value.error
        return value


@dataclass(frozen=True)
class _Failed:
    """A probe that raised: the test that reads it fails, not the others of the page."""

    error: Exception


class Pages:
    """The pages of one site in one browser context (a viewport, a colour scheme...), each loaded
    once, on first use, and probed (`init_script` runs before each page's own scripts): `probes` maps
    a name to a function of the loaded page, run in order (one that changes the page comes last).
    A test asserts on the `Seen` record, so each page's test fails on its own, named by its path.

    One tab goes from page to page (a new tab for each page costs twice the time: a new renderer
    process each); a page that does not load or whose probe fails fails only the tests that read it.
    Given the worker's `Tabs` instead of a browser, it borrows a kept tab (none with `init_script`,
    which needs a context of its own) and gives it back on `close()`."""

    def __init__(self, browser: Any, base_url: str, probes: dict[str, Callable[[Any], Any]],
                 init_script: str | None = None, **context: Any) -> None:
        self._browser, self._base, self._probes, self._options = browser, base_url, probes, context
        self._init_script = init_script
        self._context: Any = None
        self._lease: Any = None
        self._page: Any = None
        self._seen: dict[str, Seen | BaseException] = {}

    def __call__(self, path: str) -> Seen:
        if path not in self._seen:
            try:
                self._seen[path] = self._load(path)
            except Exception as exc:  # a page that fails fails its own test, every time it is asked for
                self._seen[path] = exc
        seen = self._seen[path]
        if isinstance(seen, BaseException):
            raise AssertionError(f"{path!r} could not be loaded and probed: {seen}") from seen
        return seen

    def _load(self, path: str) -> Seen:
        if self._page is None or self._page.is_closed():
            if isinstance(self._browser, Tabs) and self._init_script is None:
                self._close_lease()
                self._lease = self._browser(**self._options)  # a kept tab, given back by close()
                self._page = self._lease.__enter__()
            else:
                if self._context is None:
                    browser = self._browser.browser if isinstance(self._browser, Tabs) else self._browser
                    self._context = browser.new_context(**self._options)
                    if self._init_script is not None:
                        self._context.add_init_script(self._init_script)
                self._page = self._context.new_page()
        page = self._page
        watch = Watch(page)
        try:
            page.goto(self._base + path)
            watch.settle()
            values = {name: _probe(probe, page) for name, probe in self._probes.items()}
        finally:
            watch.stop()
        return Seen(path, page.url, watch.requests, watch.console_errors, watch.page_errors, values)

    def close(self) -> None:
        self._close_lease()
        if self._context is not None:
            self._context.close()
            self._context = self._page = None

    def _close_lease(self) -> None:
        if self._lease is not None:
            lease, self._lease, self._page = self._lease, None, None
            lease.__exit__(None, None, None)


def _probe(probe: Callable[[Any], Any], page: Any) -> Any:
    try:
        return probe(page)
    except Exception as exc:  # noqa: BLE001 - kept for the test that reads this probe
        return _Failed(exc)


def scroll_width(page: Any) -> int:
    """How wide the document is (wider than the viewport: it scrolls sideways)."""
    width: int = page.evaluate("document.documentElement.scrollWidth")
    return width
