"""Search (allokb.search: Pagefind over the built pages) and the site's one stylesheet
(allokb.stylesheet: the theme's CSS cut to what the pages use): what they write, what they refuse,
and, in a real browser, that a result's excerpt is text, never HTML."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import Built, copy_site, make_site_project

from allokb.cli import main
from allokb.diagnostics import KbError
from allokb.search import UNUSED, index_site
from allokb.stylesheet import (
    purge_sheets,
    Used,
    may_match,
    parse,
    purge,
    used_in_site,
    write_site_stylesheet,
)

USED = Used(frozenset({"md-a", "md-b", "no-js"}), frozenset({("data-md-color-primary", "indigo")}))


# --- the stylesheet --------------------------------------------------------------------------

@pytest.mark.parametrize(("selector", "kept"), [
    (".md-a", True),
    (".md-z", False),
    (".md-a .md-z", False),
    ("a:hover", True),
    ("#x > span", True),
    (".md-a:not(.md-z)", True),  # a class the site lacks inside :not() never removes a selector
    (".md-a:has(.md-z)", True),
    (":is(.md-a,.md-z) p", True),  # :is() keeps a selector when one alternative can match
    (":is(.md-y,.md-z) p", False),
    (":where(.md-b) .md-a", True),
    ("[data-md-color-primary=indigo] .md-a", True),
    ("[data-md-color-primary=red] .md-a", False),
    ('[data-md-color-primary="red"]', False),
    ("[data-other=red]", True),
    ('.md-a[title=".md-z"]', True),  # a class-like string in an attribute value is not a class
    (".md-\\31 z", True),  # an escaped name is not read: kept
])
def test_may_match(selector: str, kept: bool) -> None:
    assert may_match(selector, USED) is kept


def test_purge_keeps_what_the_pages_can_match_and_the_properties_it_reads() -> None:
    css = ('@charset "UTF-8";/* a comment { */\n'
           ':root{--md-icon:url("data:image/svg+xml,<svg>}</svg>");--md-used:red;--md-chain:var(--md-gone)}\n'
           '.md-a,.md-z{color:var(--md-used)}\n'
           '.md-z{background:var(--md-icon)}\n'
           '@media screen{.md-z{color:red}}\n'
           '@media print{.md-b{content:"}"}.md-z{x:y}}\n'
           '@keyframes spin{0%{opacity:0}to{opacity:1}}\n')
    assert purge(css, USED) == ('@charset "UTF-8";\n'
                                ':root{--md-used:red}\n'
                                '.md-a{color:var(--md-used)}\n'
                                '@media print{.md-b{content:"}"}}\n'
                                '@keyframes spin{0%{opacity:0}to{opacity:1}}\n')


def test_purge_keeps_a_property_that_our_own_css_or_a_page_reads() -> None:
    css = ":root{--md-warn:orange;--md-unread:red}\n"
    used = Used(USED.classes, USED.colors, frozenset({"--md-warn"}))
    assert purge(css, used) == ":root{--md-warn:orange}\n"


def test_a_property_defined_in_one_sheet_and_read_in_another_is_kept() -> None:
    """The theme's palette sheet defines the dark scheme's variables; its main sheet reads them. Each
    sheet purged alone lost them, and the dark scheme's admonitions stayed white."""
    palette = "[data-md-color-scheme=slate]{--md-admonition-bg-color:#111;--md-unread:red}\n"
    main = ".md-a{background-color:var(--md-admonition-bg-color)}\n"
    used = Used(USED.classes, USED.colors | {("data-md-color-scheme", "slate")})
    assert purge_sheets([main, palette], used) == [main, "[data-md-color-scheme=slate]{--md-admonition-bg-color:#111}\n"]
    assert purge(palette, used) == "\n"  # alone, nothing of it reads the variable, nothing of it reads the variable


@pytest.mark.parametrize("css", [".md-a{color:red", ".md-a{color:red}}", ".md-a{}.md-b"])
def test_a_stylesheet_that_does_not_parse_is_refused(css: str) -> None:
    with pytest.raises(ValueError):
        parse(css)


def test_used_in_site_reads_pages_and_our_scripts(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text('<html class="no-js"><body data-md-color-scheme="slate">'
                                         "<p class='md-a  md-b'>x</p><div class=md-c></div></body></html>")
    (tmp_path / "assets" / "theme.js").write_text('el.classList.add("md-top--on"); x = "allokb-x";')
    (tmp_path / "assets" / "allokb.css").write_text(".x{color:var(--md-warning-fg-color)}")
    (tmp_path / "assets" / "stylesheets").mkdir()
    (tmp_path / "assets" / "stylesheets" / "main.1.min.css").write_text(".y{color:var(--md-theme-only)}")
    (tmp_path / "d.html").write_text('<svg><text style="fill: var( --allokb-d-text)">x</text></svg>')
    used = used_in_site(tmp_path)
    assert used.classes == {"no-js", "md-a", "md-b", "md-c", "md-top--on", "allokb-x", "js"}
    assert used.colors == {("data-md-color-scheme", "slate")}
    # --md-hue is always kept: the palette reads it through hsla() (allokb.stylesheet.used_in_site).
    assert used.variables == {"--md-warning-fg-color", "--allokb-d-text", "--md-hue"}


def test_write_site_stylesheet_without_the_theme_sheets_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(KbError) as exc:
        write_site_stylesheet(tmp_path)
    assert str(exc.value) == ("the theme's stylesheets (assets/stylesheets/main.*.min.css, "
                              "assets/stylesheets/palette.*.min.css) are not in the built site: check the theme "
                              "version (allokb.stylesheet)")


# --- the search index ------------------------------------------------------------------------

def _tiny_site(root: Path) -> Path:
    for name, body in [("a", "<article data-pagefind-body><h1>Alpha</h1><p>zebrafinch</p></article>"),
                       ("b", "<article data-pagefind-body><h1>Beta</h1><p>otter</p></article>"),
                       ("c", "<article><h1>Gamma</h1><p>not indexed</p></article>")]:
        (root / name).mkdir(parents=True)
        (root / name / "index.html").write_text(f'<!doctype html><html lang="en"><head><title>{name}</title></head>'
                                                f"<body>{body}</body></html>")
    return root


def test_index_site_writes_the_bundle_without_pagefinds_own_interfaces(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    site = _tiny_site(tmp_path / "site")
    (site / "pagefind").mkdir()
    (site / "pagefind" / "planted.js").write_text("alert(1)")  # a hand-written file at the bundle's path
    # Neither a config file in the working folder nor PAGEFIND_* variables configure the index.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pagefind.yml").write_text('glob: "a/**/*.html"\n')
    monkeypatch.setenv("PAGEFIND_EXCLUDE_SELECTORS", "p")
    summary = index_site(site)
    assert summary.pages == 2
    bundle = site / "pagefind"
    assert (bundle / "pagefind.js").is_file() and (bundle / "pagefind-entry.json").is_file()
    assert not (bundle / "planted.js").exists()
    # the preview's delta (allokb.livesearch), empty: assets/search.js reads it, and a request of a
    # built site's search never fails
    assert (bundle / "delta" / "delta.json").read_text() == '{"pages":0,"replaced":[]}'
    assert [name for name in UNUSED if (bundle / name).exists()] == []
    assert summary.files == sum(1 for p in bundle.rglob("*") if p.is_file())
    assert summary.bytes == sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file())


def test_two_indexes_of_the_same_pages_are_byte_identical(tmp_path: Path) -> None:
    """Pagefind writes a filter's values in hash-map order (a new order each run); allokb.search
    sorts them and renames the files that name them."""
    import hashlib

    site = tmp_path / "one"
    for i, kind in enumerate(["intervention", "mechanism", "reference", "page", "other", "more"]):
        (site / kind).mkdir(parents=True)
        (site / kind / "index.html").write_text(
            f'<!doctype html><html lang="en"><head><title>{kind}</title></head><body>'
            f'<article data-pagefind-body data-pagefind-filter="kind:{kind}"><h1>{kind}</h1><p>word{i} shared</p>'
            "</article></body></html>")
    shutil.copytree(site, tmp_path / "two")
    digests = []
    for root in (site, tmp_path / "two"):
        index_site(root)
        digests.append({p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                        for p in sorted((root / "pagefind").rglob("*")) if p.is_file()})
    assert digests[0] == digests[1]


def test_a_failing_pagefind_is_a_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = _tiny_site(tmp_path / "site")
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", "/bin/false")
    with pytest.raises(KbError) as exc:
        index_site(site)
    assert str(exc.value) == ("cannot build the search index (Pagefind exit 1):\n(no output)\n"
                              "the previous site is unchanged")
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(tmp_path / "no-such-pagefind"))
    with pytest.raises(KbError) as exc:
        index_site(site)
    assert str(exc.value) == ("cannot build the search index: Pagefind is not installed (pip install "
                              "'pagefind[bin]'); the previous site is unchanged")


def test_a_failing_index_fails_the_build_and_keeps_the_previous_site(fixture_build: Built, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    # the previous site: copies of the shared fixture build's project and site
    root = shutil.copytree(fixture_build.root, tmp_path / "project", symlinks=True)
    site = copy_site(fixture_build.site, tmp_path / "www")
    before = (site / "index.html").read_bytes()
    capsys.readouterr()
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", "/bin/false")
    assert main(["build", str(root), "--site-dir", str(site)]) == 1
    err = capsys.readouterr().err
    assert "cannot build the search index (Pagefind exit 1):\n(no output)\nthe previous site is unchanged" in err
    assert (site / "index.html").read_bytes() == before and (site / "pagefind" / "pagefind.js").is_file()


# --- the built site --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture built, with a hand-written page whose text holds HTML (shown as code) and two
    hand-written files at the paths the build writes after MkDocs."""
    tmp = tmp_path_factory.mktemp("search")
    root = make_site_project(tmp / "project")
    pages = root / "content" / "pages"
    (pages / "hostile.md").write_text("# Hostile\n\nThe zebrafinch says `<img src=x onerror=alert(1)>` and "
                                      "`<mark>`, AT&T, `&amp;` and p<0.05.\n")
    (pages / "assets" / "stylesheets").mkdir(parents=True)
    (pages / "assets" / "stylesheets" / "site.css").write_text("body{background:url(//evil.example/x)}\n")
    (pages / "pagefind").mkdir()
    (pages / "pagefind" / "pagefind.js").write_text("alert(document.domain)\n")
    config = root / "mkdocs.yml"
    config.write_text(config.read_text().replace("\nnav:\n", "\nnav:\n  - Hostile: hostile.md\n", 1))
    assert main(["build", str(root), "--site-dir", str(tmp / "www" / "atlas")]) == 0
    return tmp / "www" / "atlas"


def test_the_pages_load_our_stylesheet_and_scripts_not_the_themes(built: Path) -> None:
    page = (built / "interventions" / "example-hormone" / "index.html").read_text()
    assert 'href="../../assets/stylesheets/site.css"' in page
    assert "stylesheets/main." not in page and "stylesheets/palette." not in page
    assert "javascripts/bundle." not in page and "__config" not in page
    assert 'src="../../assets/theme.js"' in page and 'src="../../assets/search.js"' in page
    assert "pagefind" not in page.split("<article", 1)[0].replace('data-pagefind', '')  # nothing of it in the head
    css = (built / "assets" / "stylesheets" / "site.css").read_text()
    assert "evil.example" not in css and ".md-search-result__item" in css and ".md-typeset__scrollwrap" in css
    assert ".md-tabs" not in css and "--md-admonition-icon--bug" not in css
    theme = sum(p.stat().st_size for p in (built / "assets" / "stylesheets").glob("*.min.css"))
    assert len(css.encode()) < theme / 2


def test_what_each_kind_of_page_gives_the_index(built: Path) -> None:
    page = (built / "interventions" / "example-hormone" / "index.html").read_text()
    assert '<article class="md-content__inner md-typeset" data-pagefind-body data-pagefind-filter="kind:intervention">' \
        in page
    # From the first excluded heading (references, history, cite this page) to the end: not indexed.
    tail = page.split('<div data-pagefind-ignore="all"><h2 data-search-exclude', 1)
    assert len(tail) == 2 and 'id="cite-this-page"' in tail[1] and "</article>" in tail[1]
    assert 'data-pagefind-filter="kind:mechanism"' in (built / "mechanisms" / "step-one" / "index.html").read_text()
    assert 'data-pagefind-filter="kind:page"' in (built / "interventions" / "index.html").read_text()
    ref = (built / "references" / "smith2020example" / "index.html").read_text()
    assert '<article class="md-content__inner md-typeset" data-pagefind-filter="kind:reference">' in ref
    assert ref.count("data-pagefind-body") == 1 and '<div data-pagefind-body><p class="allokb-formatted">' in ref
    assert (built / "pagefind" / "pagefind.js").read_text() != "alert(document.domain)\n"


# --- in a browser ----------------------------------------------------------------------------

@pytest.mark.browser
def test_an_excerpt_is_text_and_the_search_loads_only_when_used(browser: object, built: Path) -> None:
    from browser import Watch, serve

    with serve(built.parent) as url:
        context = browser.new_context()  # type: ignore[attr-defined]
        page = context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        watch = Watch(page)
        page.goto(url + "atlas/")
        watch.settle()
        page.mouse.move(900, 20)
        assert [u for u in requests if "/pagefind/" in u] == []
        page.keyboard.press("s")  # a shortcut, as with Material: / s f
        assert page.evaluate("document.activeElement.classList.contains('md-search__input')")
        page.keyboard.type("zebrafinch")
        page.wait_for_function("q => document.querySelector('.md-search-result__list').dataset.query === q",
                               arg="zebrafinch|")
        item = page.locator(".md-search-result__item").first
        assert item.locator("a").get_attribute("href") == url + "atlas/hostile/"
        text = item.locator("p").inner_text()
        marks = item.locator("mark").all_inner_texts()
        images = page.locator(".md-search-result img").count()
        # an emptied box empties the list, and the list says so: a hook still naming the last query
        # over an empty list let a test read "nothing found" before the next query had run
        page.locator("input.md-search__input").fill("")
        page.wait_for_function("() => document.querySelector('.md-search-result__list').dataset.query === '|'")
        emptied = page.locator(".md-search-result__item").count()
        page.wait_for_timeout(300)
        context.close()
    assert [u for u in requests if "/pagefind/" in u]  # loaded once used
    assert text == "Hostile. The zebrafinch says <img src=x onerror=alert(1)> and <mark>, AT&T, &amp; and p<0.05."
    assert marks == ["zebrafinch"] and images == 0 and dialogs == [] and emptied == 0
    assert [u for u in requests if not u.startswith(url)] == []
