"""Dependencies are pinned, and every installed package is hash-locked."""

from __future__ import annotations

import re
import tomllib

from conftest import REPO


def locked() -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) from requirements.lock."""
    text = (REPO / "requirements.lock").read_text()
    out = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = re.match(r"([A-Za-z0-9._-]+)==([^\s\\]+)", block)
        if match:
            out[match.group(1).lower().replace("_", "-")] = (match.group(2), block.count("--hash=sha256:"))
    return out


def declared() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + project["optional-dependencies"]["test"]
    out = {}
    for spec in specs:
        name, _, version = spec.partition("==")
        assert version, f"{spec} is not pinned with =="
        name = name.split("[")[0]  # an extra (pagefind[bin]) installs the same distribution
        out[name.strip().lower().replace("_", "-")] = version.strip()
    return out


def test_every_declared_dependency_is_pinned_and_locked_at_that_version() -> None:
    lock = locked()
    for name, version in declared().items():
        assert name in lock, f"{name} is not in requirements.lock"
        assert lock[name][0] == version, (name, version, lock[name][0])


def test_every_locked_package_has_hashes() -> None:
    lock = locked()
    assert len(lock) > 30
    assert [name for name, (_, hashes) in lock.items() if hashes == 0] == []


def test_the_lock_names_no_machine_specific_index() -> None:
    lines = [line for line in (REPO / "requirements.lock").read_text().splitlines() if not line.startswith("#")]
    text = "\n".join(lines)
    assert "--extra-index-url" not in text and "--find-links" not in text and "file://" not in text


def test_npm_tools_are_locked_with_integrity() -> None:
    import json

    lock = json.loads((REPO / "tools" / "package-lock.json").read_text())
    packages = {k: v for k, v in lock["packages"].items() if k}
    assert packages and all(v.get("integrity", "").startswith("sha512-") for v in packages.values())
