"""The pathway diagram (allokb.render.diagram): what it draws comes from the data, every node is a
link, no label the data disputes, a text alternative with the same content, and legible colours in
both schemes (measured in Debian's Chromium on the repository's own site)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from allokb.render.diagram import pathway_dot, pathway_text, render_svg


@pytest.fixture(scope="module")
def kb(repo_check: Any) -> Any:
    result = repo_check  # check_project(REPO), shared (tests/conftest.py)
    assert result.kb is not None
    return result.kb


def test_interventions_are_drawn_where_they_act(kb: Any) -> None:
    dot = pathway_dot(list(kb.mechanisms.values()), list(kb.interventions.values()))
    groups = dict(re.findall(r"  (grp_\w+) \[shape=plain.*?label=<(.*?)>\];", dot))
    ids_in = {g: set(re.findall(r'ID="intervention-([a-z0-9-]+)"', label)) for g, label in groups.items()}
    # The enzymatic steps are in pathway order: step_0 is 3β-HSD, step_1 5α-reductase, step_2 3α-HSD.
    assert re.search(r'step_0 \[.*label="3β-HSD"', dot) and re.search(r'step_1 \[.*label="5α-reductase"', dot)
    assert "avoid-5a-reductase-inhibitors" in ids_in["grp_step_1"]
    assert "low-dose-ssris" in ids_in["grp_step_2"]
    # What is or mimics allopregnanolone is drawn at the receptor, whatever else it lists.
    assert {"brexanolone", "zuranolone", "lyt-300"} <= ids_in["grp_receptor"]
    # The earliest step wins: pregnenolone lists all three steps.
    assert "pregnenolone" in ids_in["grp_step_0"]
    drawn = set().union(*ids_in.values())
    # Drawn: whatever records a mechanism, and what is or mimics allopregnanolone (at the receptor).
    expected = {i for i, item in kb.interventions.items()
                if item.mechanisms or item.relation in ("is-allopregnanolone", "mimics")}
    assert drawn == expected
    assert "unregulated-injectable-allopregnanolone" in ids_in["grp_receptor"]


def test_no_label_the_data_disputes(kb: Any) -> None:
    """5α-reductase is recorded with rate_limiting: true, and its page disputes it: the drawing
    does not print it."""
    assert kb.mechanisms["progesterone-to-5a-dhp"].step.rate_limiting
    svg = render_svg(pathway_dot(list(kb.mechanisms.values()), list(kb.interventions.values())))
    assert "rate-limiting" not in svg.lower()


def test_every_node_is_a_link(kb: Any) -> None:
    import xml.etree.ElementTree as ET

    svg = render_svg(pathway_dot(list(kb.mechanisms.values()), list(kb.interventions.values())))
    ns = {"s": "http://www.w3.org/2000/svg", "x": "http://www.w3.org/1999/xlink"}
    root = ET.fromstring(svg)
    nodes = [g for g in root.iter("{http://www.w3.org/2000/svg}g") if (g.get("class") or "").startswith("node")]
    assert len(nodes) > 10
    unlinked = [g.findtext("s:title", namespaces=ns) for g in nodes
                if not [a for a in g.iterfind(".//s:a", ns) if a.get(f"{{{ns['x']}}}href")]]
    assert unlinked == []


def test_text_alternative_names_everything(kb: Any) -> None:
    text = pathway_text(list(kb.mechanisms.values()), list(kb.interventions.values()))
    for item_id in kb.interventions:
        assert f'href="../interventions/{item_id}/"' in text
    for m in kb.mechanisms.values():
        if m.step:
            assert f'href="{m.id}/"' in text
    assert "Not drawn (no mechanism recorded)" in text


def test_names_are_escaped(tmp_path: Path, kb: Any) -> None:
    """A hostile name stays text in the drawing, its HTML-like labels and the text alternative."""
    import dataclasses

    item = next(iter(kb.interventions.values()))
    evil = dataclasses.replace(item, name='<img src=x onerror=alert(1)> & "q" > (x)')
    mechs = list(kb.mechanisms.values())
    svg = render_svg(pathway_dot(mechs, [evil]))
    text = pathway_text(mechs, [evil])
    for out in (svg, text):
        assert "<img" not in out
        assert "&lt;img" in out


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _rgb(css: str) -> tuple[float, float, float]:
    nums = [float(x) for x in re.findall(r"[\d.]+", css)[:3]]
    return (nums[0], nums[1], nums[2])


def _colours(page: Any, repo_url: str) -> tuple[list[Any], str, str, str]:
    """The drawing's label colours and fills, the scheme, and the page's and a warning box's backgrounds."""
    page.goto(repo_url + "mechanisms/")
    pairs = page.evaluate("""() => {
      const bg = getComputedStyle(document.querySelector('.md-main')).backgroundColor;
      const page = getComputedStyle(document.body).backgroundColor;
      return [...document.querySelectorAll('.allokb-diagram svg text')].map(t => {
        const node = t.closest('g.node');
        const shape = node && node.querySelector(':scope > polygon, :scope > path, :scope > ellipse');
        let fill = shape ? getComputedStyle(shape).fill : 'none';
        if (!fill || fill === 'none' || fill.startsWith('rgba(0, 0, 0, 0)')) fill = page;
        return [t.textContent, getComputedStyle(t).fill, fill, bg];
      });
    }""")
    scheme_attr = page.evaluate("document.body.getAttribute('data-md-color-scheme')")
    body_bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.goto(repo_url + "interventions/hcg-add-back-trt/")  # its matrix has a warning admonition
    box_bg = page.evaluate("getComputedStyle(document.querySelector('.md-typeset .admonition.warning')).backgroundColor")
    return pairs, scheme_attr, body_bg, box_bg


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_legible_in_both_schemes(repo_url: str, scheme: str, tabs: Any) -> None:
    """Every label of the drawing against the fill of its own node (or the page where it has
    none): at least 4.5:1 in the light and the dark scheme."""
    with tabs(viewport={"width": 1366, "height": 900}) as page:
        page.emulate_media(color_scheme=scheme)  # the tab is the worker's kept one: put back after the test
        pairs, scheme_attr, body_bg, box_bg = _colours(page, repo_url)
    assert scheme_attr == ("slate" if scheme == "dark" else "default")
    # The scheme's own background is painted (a stylesheet cut once left the dark page transparent).
    assert body_bg == ("rgb(30, 33, 41)" if scheme == "dark" else "rgb(255, 255, 255)")
    # The theme's dark variables, defined in its palette sheet and read in its main one, are kept
    # (each sheet cut alone once left every admonition white in the dark scheme).
    assert box_bg == body_bg
    assert len(pairs) > 20
    low = [(label, round(_contrast(_rgb(fg), _rgb(bg)), 2)) for label, fg, bg, _ in pairs
           if _contrast(_rgb(fg), _rgb(bg)) < 4.5]
    assert low == []


@pytest.mark.browser
def test_a_node_opens_its_page(repo_url: str, tabs: Any) -> None:
    with tabs(viewport={"width": 1366, "height": 900}) as page:
        page.goto(repo_url + "mechanisms/")
        with page.expect_navigation(wait_until="commit"):  # where the click leads, not that page's load
            page.locator('.allokb-diagram svg a[*|href="../interventions/zuranolone/"]').first.click()
        url = page.url
        page.goto(repo_url + "mechanisms/")
        with page.expect_navigation(wait_until="commit"):
            page.locator('.allokb-diagram svg a[*|href="progesterone-to-5a-dhp/"]').first.click()
        url2 = page.url
    assert url.endswith("/atlas/interventions/zuranolone/")
    assert url2.endswith("/atlas/mechanisms/progesterone-to-5a-dhp/")
