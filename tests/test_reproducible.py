"""Two builds of the same input, in different folders at different times, are byte-identical."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import mkdocs.utils
import pytest

from allokb.cli import main
from conftest import REPO, make_site_project


def tree_digest(site: Path) -> dict[str, str]:
    return {p.relative_to(site).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(site.rglob("*")) if p.is_file()}


def _clock_at(monkeypatch: pytest.MonkeyPatch, when: dt.datetime) -> None:
    """Make MkDocs believe the build runs at `when` (it dates the sitemap and gzip by its clock)."""

    class Clock(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> dt.datetime:  # type: ignore[override]
            return when

    monkeypatch.setattr(mkdocs.utils, "datetime", Clock)


def _tree_is_the_commit() -> bool:
    """The working tree is its last commit (a fresh clone, CI): nothing changed, nothing untracked
    (ignored files aside), no SOURCE_DATE_EPOCH of the caller's that the session build took."""
    status = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=all"],
                            capture_output=True, text=True, check=False)
    return status.returncode == 0 and status.stdout == "" and "SOURCE_DATE_EPOCH" not in os.environ


def test_two_builds_of_one_commit_are_identical(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                request: pytest.FixtureRequest) -> None:
    # Two builds of the repository's committed state, "months apart" in different folders: a
    # clone built in March 2027, and the session's shared build of the repository itself (today)
    # when its working tree is that commit, else a second clone built in January 2027.
    reference = _tree_is_the_commit()
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    sites = [tree_digest(Path(request.getfixturevalue("repo_site")))] if reference else []
    for name, month in (("a", 1), ("b", 3))[len(sites):]:
        clone = tmp_path / f"clone-{name}"
        subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
        _clock_at(monkeypatch, dt.datetime(2027, month, 1, 12, 0, tzinfo=dt.timezone.utc))
        assert main(["build", str(clone), "--site-dir", str(tmp_path / f"site-{name}")]) == 0
        sites.append(tree_digest(tmp_path / f"site-{name}"))
    assert sites[0] == sites[1], sorted(k for k in sites[0].keys() | sites[1].keys()
                                        if sites[0].get(k) != sites[1].get(k))
    assert "sitemap.xml.gz" in sites[0]


def test_source_date_epoch_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_site_project(tmp_path / "project")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01
    assert main(["build", str(root), "--site-dir", str(tmp_path / "one")]) == 0
    copy = tmp_path / "copy"
    shutil.copytree(root, copy)
    time.sleep(1.1)
    assert main(["build", str(copy), "--site-dir", str(tmp_path / "two")]) == 0
    assert tree_digest(tmp_path / "one") == tree_digest(tmp_path / "two")
    assert "<lastmod>2026-01-01</lastmod>" in (tmp_path / "one" / "sitemap.xml").read_text()


TWICE = """  - id: twice-{n}
    statement: "A claim that cites one source twice (claim twice-{n})."
    outcome: depressive-symptoms
    direction: decreases
    population: any
    citations:
      - ref: smith2020example
        locator: abstract
        quote: "serum levels rose three-fold"
        support: supported
      - ref: smith2020example
        locator: "p. {n}"
        quote: "serum levels rose"
        support: partial
"""


def test_builds_with_six_hash_seeds_are_identical(tmp_path: Path) -> None:
    """Six builds, each in a fresh process with its own PYTHONHASHSEED, of a knowledge base where
    claims cite one source twice (once `supported`, once `partial`): every byte of every file is
    the same. Sets of strings iterate in a different order under each seed, so a list that
    reaches a page from a set without a total sort shows here (it did: "cited by", in one build
    out of about six)."""
    root = make_site_project(tmp_path / "project")
    path = root / "content" / "interventions" / "example-hormone.yaml"
    claims = "".join(TWICE.format(n=n) for n in range(4))
    path.write_text(path.read_text().replace("claims:\n", "claims:\n" + claims, 1))
    assert main(["urls", str(root), "--write"]) == 0
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "SOURCE_DATE_EPOCH": "1767225600"}
    digests = []
    for seed in range(6):
        site = tmp_path / f"site-{seed}"
        proc = subprocess.run([sys.executable, "-m", "allokb", "build", str(root), "--site-dir", str(site)],
                              env={**env, "PYTHONHASHSEED": str(seed)}, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        digests.append(tree_digest(site))
    assert "references/smith2020example/index.html" in digests[0] and "data/kb.json" in digests[0]
    assert all(d == digests[0] for d in digests[1:]), [sorted(k for k in d if d[k] != digests[0].get(k))
                                                       for d in digests[1:]]
