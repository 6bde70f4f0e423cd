"""The post-build audit's per-page cost (issue 16): an element's answer is found once per audit
when it follows from its tag and attributes alone (allokb.audit.check_page's `seen`), and never
for what depends on the page (a script, a fetched URL) or on the element's text. These tests
hold the cached answers to the uncached ones: every page still reports its own problems."""

from __future__ import annotations

from pathlib import Path

from allokb.audit import audit_site, content_security_policy
from allokb.report import format_text

from audit_text import ALERT, HINT, SCRIPT_HINT, SITE_URL


def site_of(tmp_path: Path, pages: dict[str, str]) -> Path:
    """A built site of `pages` (path inside the site -> body HTML), each with the site's policy."""
    site = tmp_path / "site"
    for path, body in pages.items():
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_text(f'<!doctype html><html><head><meta charset="utf-8">'
                                 f'<meta http-equiv="Content-Security-Policy" content="{content_security_policy()}">'
                                 f"<title>t</title></head><body>{body}</body></html>")
    return site


def audit_lines(site: Path) -> list[str]:
    return [format_text(d) for d in audit_site(site, SITE_URL)]


def test_a_repeated_unsafe_element_is_reported_on_every_page(tmp_path: Path) -> None:
    body = '<p><a href="javascript:go()">go</a><span onclick="go()">x</span></p>'
    site = site_of(tmp_path, {"a/index.html": body, "b/c/index.html": body, "index.html": "<p>clean</p>"})
    assert audit_lines(site) == [
        f'a/index.html:1:1: error[KB510] $: <a href="javascript:go()">: a `javascript:` URL {HINT}',
        f'a/index.html:1:1: error[KB510] $: <span onclick="go()">: an event-handler attribute {HINT}',
        f'b/c/index.html:1:1: error[KB510] $: <a href="javascript:go()">: a `javascript:` URL {HINT}',
        f'b/c/index.html:1:1: error[KB510] $: <span onclick="go()">: an event-handler attribute {HINT}',
    ]


def test_a_script_is_resolved_on_each_page(tmp_path: Path) -> None:
    """The same `<script src>` names a file of the site from one page and none from another."""
    tag = '<script src="../x.js"></script>'
    site = site_of(tmp_path, {"a/index.html": tag, "a/b/index.html": tag})
    (site / "x.js").write_text("")
    assert audit_lines(site) == [
        f'a/b/index.html:1:1: error[KB510] $: <script src="../x.js">: not a JavaScript file of this site {HINT}',
    ]


def test_an_inline_script_is_checked_on_every_page(tmp_path: Path) -> None:
    site = site_of(tmp_path, {"a/index.html": "<script>alert(1)</script>", "b/index.html": "<script>alert(1)</script>"})
    assert audit_lines(site) == [
        f"a/index.html:1:1: error[KB510] $: <script> `alert(1)`: an inline script not on the theme's allowlist ({ALERT}) "
        f"{SCRIPT_HINT}",
        f"b/index.html:1:1: error[KB510] $: <script> `alert(1)`: an inline script not on the theme's allowlist ({ALERT}) "
        f"{SCRIPT_HINT}",
    ]


def test_a_style_is_checked_on_every_page(tmp_path: Path) -> None:
    body = '<div style="background: url(https://evil.example/x.png)">x</div><style>p{background:url(//e.example/y)}</style>'
    site = site_of(tmp_path, {"a/index.html": body, "b/index.html": body})
    div = '<div style="background: url(https://evil.example/x.png)">: a resource from another host'
    style = "<style> `p{background:url(//e.example/y)}`: a resource from another host"
    assert audit_lines(site) == [f"a/index.html:1:1: error[KB510] $: {div} {HINT}", f"a/index.html:1:1: error[KB510] $: {style} {HINT}",
                                 f"b/index.html:1:1: error[KB510] $: {div} {HINT}", f"b/index.html:1:1: error[KB510] $: {style} {HINT}"]
