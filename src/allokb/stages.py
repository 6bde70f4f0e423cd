"""The stages a build is made of, besides the check (`allokb.project.check_project`) and the
swap (`allokb.output`): rendering the checked knowledge base in memory, and the post-build
audit of the written HTML. `allokb.build.build` runs them in order; the MkDocs hook
(`allokb.sink.on_config`) runs the same functions when MkDocs is started by itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from allokb.audit import audit_site
from allokb.diagnostics import Diagnostic
from allokb.grade import matrix_data
from allokb.project import CheckResult
from allokb.render import RenderedSite, render_site
from allokb.site import Settings, site_info
from allokb.render.views import SiteInfo


def render(root: Path, result: CheckResult, settings: Settings,
           previous: RenderedSite | None = None) -> tuple[RenderedSite, SiteInfo]:
    """Every page, export and block of a checked project, in memory, with the site metadata they
    were rendered for. A template or included file at fault gives a `RenderedSite` holding only
    its `diagnostics`. `previous`: the last render of the same project (`allokb serve` after an
    edit), from which what the edit cannot change is taken (allokb.render.deps)."""
    site = site_info(settings, root)
    rubric = result.rubric
    # A matrix the check took from its memo (allokb.grade.grade_all: the same object, graded from
    # the same rubric and records) keeps the data made from it last time.
    state = previous.state if previous is not None else None
    before, made = (state.matrices, state.grades) if state is not None else ({}, {})
    matrices = {k: made[k] if before.get(k) is g and k in made else matrix_data(rubric, g)
                for k, g in result.grades.items()} if rubric is not None else {}
    rendered = render_site(root, result.kb, site, matrices, result.rubric,
                           result.urls.redirects if result.urls else {}, previous)
    if rendered.state is not None:
        rendered = replace(rendered, state=replace(rendered.state, matrices=dict(result.grades)))
    return rendered, site


def audit(site_dir: Path, site_url: str, *, serving: bool = False, only: Iterable[str] | None = None) -> list[Diagnostic]:
    """The post-build audit (allokb.audit) of a written site: every KB510 and KB511, paths inside
    the site (`only`: of the pages with these paths inside the site, those a rebuild rewrote). `ALLOKB_TEST_SKIP_AUDIT=1` switches it off FOR TESTS ONLY (the browser test plants a
    script past it to see the CSP block it); a site built that way must never be published."""
    if os.environ.get("ALLOKB_TEST_SKIP_AUDIT") == "1":
        return []
    # The preview carries no policy on purpose (live reload is an inline script): KB511 there
    # says nothing about the published build.
    return [d for d in audit_site(site_dir, site_url, only) if not (serving and d.code == "KB511")]
