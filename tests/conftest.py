"""Shared fixtures: a tiny valid knowledge base and a way to apply a failing case to it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
REPO = TESTS.parent
VALID = TESTS / "fixtures" / "valid"
CASES = TESTS / "cases"


def make_project(dest: Path, case: str | None = None) -> Path:
    """Copy the valid fixture to `dest` and lay the overlay of `case` over it."""
    shutil.copytree(VALID, dest, dirs_exist_ok=True)
    if case is not None:
        shutil.copytree(CASES / case / "overlay", dest, dirs_exist_ok=True)
    return dest


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A fresh copy of the valid fixture knowledge base."""
    return make_project(tmp_path / "kb")
