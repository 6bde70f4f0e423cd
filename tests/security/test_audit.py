"""The post-build audit (allokb.audit): every page of a built site parsed as a browser would;
a script, handler, dangerous URL, frame, refresh or foreign resource fails the build (KB510),
and every page carries the site's Content-Security-Policy right after <meta charset> (KB511).

Payloads are planted by a test-only path: editing the HTML of a copy of a built site, or a
hand-written page of a throw-away project (Markdown passes raw HTML). The real filters of the
render stage are not weakened for it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from allokb.audit import THEME_INLINE_SCRIPTS, audit_site, content_security_policy, inline_scripts, show
from allokb.cli import main
from allokb.report import format_text
from audit_text import ALERT, HINT, SCRIPT_HINT, SITE_URL
from conftest import copy_site, make_site_project, tree_digest

PAGE = "interventions/example-hormone/index.html"


# fixture_site and repo_site: the session's shared builds (tests/conftest.py); copied before a change.


def audit_lines(site: Path) -> list[str]:
    return [format_text(d) for d in audit_site(site, SITE_URL)]


@pytest.fixture(scope="module")
def _scratch_site(fixture_site: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    site = copy_site(fixture_site, tmp_path_factory.mktemp("audit") / "site")
    return site, tree_digest(site)


@pytest.fixture
def scratch_site(_scratch_site: tuple[Path, dict[str, str]]) -> Iterator[Path]:
    """One copy of the fixture's site for the planting tests of this module: each plants into
    PAGE only, which is put back after the test (and checked: nothing else changed)."""
    site, digest = _scratch_site
    original = (site / PAGE).read_bytes()
    yield site
    (site / PAGE).write_bytes(original)
    assert tree_digest(site) == digest


def planted(site: Path, html: str) -> Path:
    """`site` (the `scratch_site`) with `html` written into the article of PAGE, as if a source let
    it through."""
    path = site / PAGE
    text = path.read_text()
    assert text.count("</article>") == 1
    path.write_text(text.replace("</article>", html + "</article>"))
    return site


def test_the_repository_site_passes_the_audit(repo_site: Path) -> None:
    assert audit_lines(repo_site) == []
    # The diagrams of the mechanisms index are inline SVG with links: audited, and clean.
    assert "<svg" in (repo_site / "mechanisms" / "index.html").read_text()


def test_the_allowlist_is_exactly_the_inline_scripts_of_the_theme(repo_site: Path) -> None:
    """Every theme page carries each allowed inline script once; the redirect pages of renamed
    entries (allokb.urls.redirect_html) are not theme pages and carry none."""
    html = [p.read_text() for p in repo_site.rglob("*.html")]
    redirects = [t for t in html if 'http-equiv="refresh"' in t]
    assert redirects and all("<script" not in t for t in redirects)
    pages = len(html) - len(redirects)
    found = inline_scripts(repo_site)
    assert sorted(found) == sorted(THEME_INLINE_SCRIPTS)  # nothing stale, nothing missing
    assert {digest: count for digest, (count, _) in found.items()} == dict.fromkeys(THEME_INLINE_SCRIPTS, pages)


def test_every_page_opens_its_head_with_charset_then_the_policy(repo_site: Path) -> None:
    policy = content_security_policy().replace("'", "&#39;")
    redirects = 0
    for path in repo_site.rglob("*.html"):
        head = path.read_text().split("<head>", 1)[1].lstrip()
        if 'http-equiv="refresh"' in head:  # the redirect page of a renamed entry (urls.redirect_html)
            redirects += 1
            assert head.startswith(f'<meta charset="utf-8"><meta http-equiv="Content-Security-Policy" '
                                   f'content="{content_security_policy()}">'), path
            continue
        assert head.startswith(f'<meta charset="utf-8">\n      <meta http-equiv="Content-Security-Policy" '
                               f'content="{policy}">\n'), path
    assert redirects > 0
    assert content_security_policy() == (
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'sha256-/8wPdzX9q0NNJXyA5lzsLojXFpkeaXVxhbfkUOQaWy8=' "
        "'sha256-DrEMJJ29sL7vIloQzly+VUGMxKcBTMII+OfW7Y8AkG4=' 'sha256-vYoLT0oFWz0ZEuCBjovQfxleAEzlOUF+cmXk0C5RN3Q='; "
        "style-src 'self'; img-src 'self' data:; connect-src 'self'; worker-src 'self'; object-src 'none'; "
        "base-uri 'self'; form-action 'self'")


PAYLOADS = {
    "inline script": ("<script>alert(1)</script>",
                      f"<script> `alert(1)`: an inline script not on the theme's allowlist ({ALERT}) {SCRIPT_HINT}"),
    "module script": ('<script type="module">alert(1)</script>',
                      f"<script> `alert(1)`: an inline script not on the theme's allowlist ({ALERT}) {SCRIPT_HINT}"),
    "svg script": ("<svg><script>alert(1)</script></svg>",
                   f"<script> `alert(1)`: an inline script not on the theme's allowlist ({ALERT}) {SCRIPT_HINT}"),
    "foreignObject script": ("<svg><foreignObject><script>alert(1)</script></foreignObject></svg>",
                             f"<script> `alert(1)`: an inline script not on the theme's allowlist ({ALERT}) "
                             f"{SCRIPT_HINT}"),
    "onerror": ("<img src=x onerror=alert(1)>", f'<img onerror="alert(1)">: an event-handler attribute {HINT}'),
    "onerror in noscript": ("<noscript><img src=x onerror=alert(1)></noscript>",
                            f'<img onerror="alert(1)">: an event-handler attribute {HINT}'),
    "javascript href": ('<a href="javascript:alert(1)">x</a>', f'<a href="javascript:alert(1)">: a `javascript:` URL {HINT}'),
    "disguised javascript href": ('<a href=" &#x09;JaVa&#x0A;Script&colon;alert(1)">x</a>',
                                  f'<a href=" \\u0009JaVa\\u000aScript:alert(1)">: a `javascript:` URL {HINT}'),
    "vbscript href": ('<a href="vbscript:x">x</a>', f'<a href="vbscript:x">: a `vbscript:` URL {HINT}'),
    "data href": ('<a href="data:text/html,x">x</a>', f'<a href="data:text/html,x">: a `data:` URL {HINT}'),
    "formaction": ('<button formaction="javascript:alert(1)">b</button>',
                   f'<button formaction="javascript:alert(1)">: a `javascript:` URL {HINT}'),
    "svg xlink:href": ('<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
                       f'<a href="javascript:alert(1)">: a `javascript:` URL {HINT}'),
    # Lexbor keeps one of the two where Chromium keeps both and follows href:
    "svg href after xlink:href": ('<svg><a xlink:href="#" href="javascript:alert(1)"><text>x</text></a></svg>',
                                  f"<a xlink:href href>: both `href` and a prefixed href, which parsers resolve "
                                  f"differently {HINT}"),
    "svg animate href": ('<svg><animate attributeName="href" to="javascript:alert(1)"/></svg>',
                         f'<animate attributeName="href">: an SVG animation of a link {HINT}'),
    "mathml href": ('<math><mi href="javascript:alert(1)">x</mi></math>',
                    f'<mi href="javascript:alert(1)">: a `javascript:` URL {HINT}'),
    "iframe": ('<iframe src="https://evil.example/"></iframe>', f"<iframe>: this element is not allowed in a page {HINT}"),
    "object": ('<object data="x.swf"></object>', f"<object>: this element is not allowed in a page {HINT}"),
    "embed": ('<embed src="x">', f"<embed>: this element is not allowed in a page {HINT}"),
    "base": ('<base href="https://evil.example/">', f"<base>: this element is not allowed in a page {HINT}"),
    "declarative shadow root": ('<template shadowrootmode="open"><img src=x onerror=alert(1)></template>',
                                f"<template>: this element is not allowed in a page {HINT}"),
    "refresh to another host": ('<meta http-equiv="refresh" content="0; url=https://evil.example/">',
                                f'<meta http-equiv="refresh" content="0; url=https://evil.example/">: a refresh to '
                                f'another site {HINT}'),
    "refresh to javascript": ("<meta http-equiv=refresh content=\"0;URL='javascript:alert(1)'\">",
                              f"<meta http-equiv=\"refresh\" content=\"0;URL='javascript:alert(1)'\">: a refresh to a "
                              f"`javascript:` URL {HINT}"),
    "remote script": ('<script src="https://evil.example/x.js"></script>',
                      f'<script src="https://evil.example/x.js">: a script from another host {HINT}'),
    "protocol-relative script": ('<script src="//evil.example/x.js"></script>',
                                 f'<script src="//evil.example/x.js">: a script from another host {HINT}'),
    "svg remote script": ('<svg><script href="https://evil.example/x.js"></script></svg>',
                          f'<script href="https://evil.example/x.js">: a script from another host {HINT}'),
    "script that is a data file": ('<script src="../../data/interventions.csv"></script>',
                                   f'<script src="../../data/interventions.csv">: not a JavaScript file of this site '
                                   f'{HINT}'),
    "script that does not exist": ('<script src="../../assets/nope.js"></script>',
                                   f'<script src="../../assets/nope.js">: not a JavaScript file of this site {HINT}'),
    "broken data block": ('<script type="application/ld+json">{bad</script>',
                          f'<script type="application/ld+json">: a data block that is not valid JSON {HINT}'),
    "remote stylesheet": ('<link rel="stylesheet" href="https://evil.example/x.css">',
                          f'<link href="https://evil.example/x.css">: a resource from another host {HINT}'),
    "remote image": ('<img src="https://evil.example/p.png">',
                     f'<img src="https://evil.example/p.png">: a resource from another host {HINT}'),
    "remote srcset": ('<img srcset="a.png 1x, https://evil.example/p.png 2x">',
                      f'<img srcset="a.png 1x, https://evil.example/p.png 2x">: a resource from another host {HINT}'),
    "remote poster": ('<video poster="https://evil.example/p.png"></video>',
                      f'<video poster="https://evil.example/p.png">: a resource from another host {HINT}'),
    "remote input image": ('<input type=image src="https://evil.example/i.png">',
                           f'<input src="https://evil.example/i.png">: a resource from another host {HINT}'),
    "remote svg use": ('<svg><use href="https://evil.example/s.svg#a"/></svg>',
                       f'<use href="https://evil.example/s.svg#a">: a resource from another host {HINT}'),
    "remote css": ('<div style="background:url(https://evil.example/t.png)">x</div>',
                   f'<div style="background:url(https://evil.example/t.png)">: a resource from another host {HINT}'),
    "ping": ('<a ping="https://evil.example/" href="#">x</a>',
             f'<a ping="https://evil.example/">: a resource from another host {HINT}'),
    "form to another host": ('<form action="https://evil.example/"><input></form>',
                             f'<form action="https://evil.example/">: a form that sends to another host {HINT}'),
    "control characters": ('<img src=x onerror="\x1b[31m\u202e">',
                           f'<img onerror="\\u001b[31m\\u202e">: an event-handler attribute {HINT}'),
}


@pytest.mark.parametrize("name", PAYLOADS)
def test_a_planted_payload_is_one_located_diagnostic(name: str, scratch_site: Path) -> None:
    html, message = PAYLOADS[name]
    assert audit_lines(planted(scratch_site, html)) == [f"{PAGE}:1:1: error[KB510] $: {message}"]


def test_href_before_xlink_href_is_seen_whichever_value_is_hidden(scratch_site: Path) -> None:
    site = planted(scratch_site,
                   '<svg><a href="javascript:alert(1)" xlink:href="#"><text>x</text></a></svg>')
    assert audit_lines(site) == [
        f"{PAGE}:1:1: error[KB510] $: <a href xlink:href>: both `href` and a prefixed href, which parsers resolve "
        f"differently {HINT}",
        f"{PAGE}:1:1: error[KB510] $: <a href=\"javascript:alert(1)\">: a `javascript:` URL {HINT}"]


@pytest.mark.parametrize("html", [
    '<a href="https://example.org/elsewhere">an ordinary link to another site</a>',
    '<a href="mailto:editors@example.org">mail</a>',
    '<img src="../../assets/images/favicon.png" alt="">',
    f'<img src="{SITE_URL}assets/images/favicon.png" alt="">',
    f'<script src="{SITE_URL}assets/allokb.js"></script>',
    '<script src="/atlas/assets/allokb.js"></script>',
    '<script type="application/json">{"ok": true}</script>',
    '<meta http-equiv="refresh" content="0; url=../../">',
    '<a href="java\x00script:alert(1)">not a scheme: the parser makes the NUL U+FFFD</a>',
])
def test_what_the_site_may_hold_passes(html: str, scratch_site: Path) -> None:
    assert audit_lines(planted(scratch_site, html)) == []


def test_svg_files_of_the_site_are_audited_too(fixture_site: Path, tmp_path: Path) -> None:
    site = shutil.copytree(fixture_site, tmp_path / "site")
    (site / "assets" / "diagram.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    assert audit_lines(site) == [f"assets/diagram.svg:1:1: error[KB510] $: <script> `alert(1)`: an inline script not "
                                 f"on the theme's allowlist ({ALERT}) {SCRIPT_HINT}"]


def test_a_page_without_the_policy_is_kb511(fixture_site: Path, tmp_path: Path) -> None:
    site = shutil.copytree(fixture_site, tmp_path / "site")
    page = site / PAGE
    text = page.read_text()
    start = text.index('<meta http-equiv="Content-Security-Policy"')
    page.write_text(text[:start] + text[text.index(">", start) + 1:])
    assert audit_lines(site) == [
        f"{PAGE}:1:1: error[KB511] $: the page does not open its <head> with <meta charset> and the "
        "Content-Security-Policy <meta> (site_templates/overrides/main.html writes it in the `site_meta` block, "
        "after the theme's <meta charset=\"utf-8\">; check that the theme still writes that)"]


def test_a_weakened_policy_is_kb511(fixture_site: Path, tmp_path: Path) -> None:
    site = shutil.copytree(fixture_site, tmp_path / "site")
    page = site / "index.html"
    page.write_text(page.read_text().replace("script-src &#39;self&#39;", "script-src &#39;unsafe-inline&#39;", 1))
    assert audit_lines(site) == [
        "index.html:1:1: error[KB511] $: the Content-Security-Policy differs from the site's, at `script-src "
        "'unsafe-inline' 'wasm-unsafe-eval' 'sha256-/8wPdzX9q0NNJXyA5lzsLojXFpkeaXVxhbfkUOQaWy8=' "
        "'sha256-DrEMJJ29sL7vIloQzly+VUGMxKcBTMII+OfW7Y8AkG4=' 'sha256-vYoLT0oFWz0ZEuCBjovQfxleAEzlOUF+cmXk0C5RN3Q='` "
        "(the policy comes from allokb.audit.content_security_policy() through the sink (allokb.sink))"]


def test_a_theme_upgrade_that_changes_an_inline_script_fails_loudly(fixture_site: Path, tmp_path: Path) -> None:
    site = shutil.copytree(fixture_site, tmp_path / "site")
    old = 'var palette=__md_get("__palette");'
    pages = sorted(site.rglob("*.html"))
    for path in pages:
        path.write_text(path.read_text().replace(old, old + "void 0;"))
    lines = audit_lines(site)
    assert len(lines) == len(pages)  # one per page: each names its page and the new hash
    assert lines[0] == ("404.html:1:1: error[KB510] $: <script> `var palette=__md_get(\\\"__palette\\\");void "
                        "0;if(palette&&palette.color){if(\\\"(prefers…`: an inline script not on the theme's "
                        f"allowlist (sha256-8v+3DBE7w+twG39D3egktl5Gxg7+D37nEIfLlyxgh30=) {SCRIPT_HINT}")
    assert lines[-1].startswith("references/smith2020example/index.html:1:1: error[KB510] $: <script> `var palette")


def test_redirect_pages_carry_the_policy_and_pass(tmp_path: Path) -> None:
    from test_urls import rename_avoid  # the rename a former id redirects

    root = make_site_project(tmp_path / "project")
    rename_avoid(root, former=True)
    assert main(["urls", str(root), "--write"]) == 0
    assert main(["build", str(root), "--site-dir", str(tmp_path / "site")]) == 0
    redirect = tmp_path / "site" / "interventions" / "example-avoid" / "index.html"
    text = redirect.read_text()
    assert ('<meta charset="utf-8"><meta http-equiv="Content-Security-Policy" '
            f'content="{content_security_policy()}">') in text and 'http-equiv="refresh"' in text
    assert audit_lines(tmp_path / "site") == []
    redirect.write_text(text.replace("Content-Security-Policy", "X-Nothing"))
    assert [line.split(" $: ")[0] for line in audit_lines(tmp_path / "site")] == [
        "interventions/example-avoid/index.html:1:1: error[KB511]"]


def _tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def planted_project(dest: Path) -> Path:
    """A throw-away project with a hand-written page holding raw HTML that runs script."""
    root = make_site_project(dest)
    (root / "content" / "pages" / "planted.md").write_text(
        "---\ntitle: Planted\n---\n\n# Planted\n\n<img src=x onerror=alert(1)>\n")
    config = root / "mkdocs.yml"
    config.write_text(config.read_text().replace("\nnav:\n", "\nnav:\n  - Planted: planted.md\n", 1))
    return root


def test_a_payload_planted_through_the_build_fails_it_and_keeps_the_old_site(
        fixture_site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    site = copy_site(fixture_site, tmp_path / "www" / "site")  # the clean fixture's build
    before = _tree(site)
    bad = planted_project(tmp_path / "bad")
    monkeypatch.setenv("ALLOKB_TEST_SKIP_AUDIT", "0")  # only exactly "1" switches the audit off
    capsys.readouterr()
    assert main(["build", str(bad), "--site-dir", str(site)]) == 1
    out = capsys.readouterr()
    # The audit's findings are diagnostics, reported as the check reports its own (allokb.build).
    assert out.out.startswith(
        f'planted/index.html:1:1: error[KB510] $: <img onerror="alert(1)">: an event-handler attribute {HINT}\n'
        "build failed: 1 error, 0 warnings in ")
    assert out.err.endswith("allokb: build failed: the post-build audit found unsafe HTML (above); "
                            "the previous site is unchanged\n")
    assert _tree(site) == before
    assert sorted(p.name for p in site.parent.iterdir()) == ["site"]  # the staging folder is gone


def test_the_audit_switch_is_for_tests_only_and_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = planted_project(tmp_path / "bad")
    monkeypatch.setenv("ALLOKB_TEST_SKIP_AUDIT", "1")
    assert main(["build", str(bad), "--site-dir", str(tmp_path / "site")]) == 0
    assert "<img src=x onerror=alert(1)>" in (tmp_path / "site" / "planted" / "index.html").read_text()
    # "0" does not switch it off: the build above with ALLOKB_TEST_SKIP_AUDIT=0 fails at the audit.


def test_print_hashes_lists_the_inline_scripts(fixture_site: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-m", "allokb.audit", "--print-hashes", str(fixture_site)],
                          capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split()[0] for line in lines] == sorted(THEME_INLINE_SCRIPTS)
    assert all("listed" in line and "NOT LISTED" not in line for line in lines)


def test_messages_carry_no_raw_control_character() -> None:
    assert show("a\x00b\x1b\x85\u2028\u202e\ufffe\"\\") == 'a\\u0000b\\u001b\\u0085\\u2028\\u202e\\ufffe\\"\\\\'
    assert show("x" * 100) == "x" * 80 + "…"


def test_a_plain_mkdocs_build_is_audited_too(tmp_path: Path) -> None:
    """`mkdocs build` of the project, in-process: MkDocs' own build function, which loads the
    project's hook from mkdocs.yml and logs a build error before it aborts, as its command does."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import Abort

    bad = planted_project(tmp_path / "bad")
    logged: list[str] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = lambda record: logged.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("mkdocs")
    logger.addHandler(handler)
    try:
        with pytest.raises(Abort):
            build(load_config(config_file=str(bad / "mkdocs.yml"), site_dir=str(tmp_path / "out")))
    finally:
        logger.removeHandler(handler)
    assert (f'planted/index.html:1:1: error[KB510] $: <img onerror="alert(1)">: an event-handler attribute {HINT}'
            in "\n".join(logged).splitlines()), logged
    assert not (tmp_path / "out" / ".allokb-site").exists()  # never marked as a site a build may replace
