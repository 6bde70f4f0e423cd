"""`allokb.stylesheet.SiteUsage`: what `allokb serve` keeps of every page's stylesheet usage says
an edit changed the site's usage exactly when the union over every page changed."""

from __future__ import annotations

import random

from allokb.stylesheet import PageUsage, SiteUsage, page_usage


def _union(pages: dict[str, PageUsage]) -> tuple[frozenset[object], ...]:
    return tuple(frozenset().union(*(u[k] for u in pages.values())) for k in range(3))


def _usage(rng: random.Random) -> PageUsage:
    classes = frozenset(f"c{rng.randrange(8)}".encode() for _ in range(rng.randrange(4)))
    colors = frozenset((b"data-md-color-scheme", f"s{rng.randrange(3)}".encode()) for _ in range(rng.randrange(2)))
    variables = frozenset(f"--v{rng.randrange(5)}".encode() for _ in range(rng.randrange(3)))
    return classes, colors, variables


def test_an_edit_changes_the_usage_exactly_when_the_union_does() -> None:
    rng = random.Random(16)
    pages = {f"p{i}.html": _usage(rng) for i in range(12)}
    usage = SiteUsage(dict(pages))
    outcomes = set()
    for _ in range(3000):
        edit = {f"p{rng.randrange(16)}.html": (None if rng.random() < 0.2 else _usage(rng))
                for _ in range(rng.randrange(1, 4))}
        before = _union(pages)
        for path, new in edit.items():
            if new is None:
                pages.pop(path, None)
            else:
                pages[path] = new
        changed = usage.update(edit)
        assert changed == (_union(pages) != before), edit
        assert usage.pages == pages
        outcomes.add(changed)
    assert outcomes == {True, False}  # both answers were put to the test


def test_a_page_that_swaps_one_class_for_another_and_back() -> None:
    one, other = page_usage(b'<p class="a b">'), page_usage(b'<p class="a c">')
    usage = SiteUsage({"x.html": one, "y.html": one})
    assert usage.update({"x.html": other}) is True  # `c` is new to the site
    assert usage.update({"x.html": one}) is True  # and gone again
    assert usage.update({"y.html": other, "x.html": other}) is True  # `b` gone, `c` back
    assert usage.update({"y.html": one, "x.html": None}) is True  # `b` back, `c` gone: same as the start but for x
    assert usage.update({"z.html": one}) is False  # a new page with what the site has
