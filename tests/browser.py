"""Serving a built site on 127.0.0.1 and driving Debian's Chromium with Playwright."""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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
