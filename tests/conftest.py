"""Shared fixtures and helpers of the whole suite.

Projects (plain functions, import them: ``from conftest import make_project, make_site_project``):

- ``make_project(dest, case=None)``: a copy of the valid fixture knowledge base (tests/fixtures/valid),
  with the overlay of ``tests/cases/<case>`` laid over it.
- ``make_site_project(dest, content_from=VALID)``: a buildable project (the repository's mkdocs.yml,
  templates and pages with the content of ``content_from``).
- ``copy_site(site, dest)``: a private copy of a shared built site, for a test that changes it.
- ``tree_digest(folder)``: the sha256 of every file under ``folder`` (relative path -> hex).
- ``without_dac()``: a command prefix under which file permissions apply even as root.
- ``allokb_within(capsys, *args, timeout=60)``: ``allokb ARGS`` in this process, cut off after
  ``timeout`` seconds (a test of a hang fails instead of hanging the suite).

Fixtures:

- ``project`` (function): a fresh copy of the valid fixture, yours to change.
- ``fixture_build`` (session): the valid fixture built once, a ``Built(root, site)``; ``fixture_site``
  is its site folder and ``fixture_url`` serves it on 127.0.0.1 (``…/atlas/``).
- ``repo_site`` (session): the repository's own site, built once; ``repo_url`` serves it.
- ``browser`` (session): one Chromium per worker process (Playwright); open and close your own pages.
  ``playwright`` (session) is the one Playwright of the process, for a test that needs its own Chromium.
- ``repo_check`` (session): ``check_project(REPO)``, run once per process (also as the plain function
  ``repo_result()``, for module-level helpers). Read-only.

The session builds are shared by every test file and by every xdist worker (the first worker to
need one builds it under a lock in their common temporary folder): READ-ONLY. A test
that changes a built site copies it first (``copy_site``); one that needs another project builds
its own. At the end of the session each shared site is compared with the digest taken when it was
built, and a test that wrote into one fails the run (``_shared_sites_unchanged``).

The suite runs on three xdist workers, each test file on one of them (``addopts`` in pyproject.toml):
a module-scoped fixture is built once; tests must not depend on what another file ran before
them. ``pytest -n 0`` runs everything in one process (a debugger, a profile).

Keeping the suite fast (the target is the whole suite under 100 s on two cores; a quiet fresh clone
took 174-178 s early in December 2026, 104 s on 2 December. On a quiet machine a real build of the
fixture costs about 0.8 s of CPU in this process with nothing in the run's caches, 0.3 s once its
pages are in them (allokb.templatecache, allokb.mdcache), and 1.9 s in a process of its own; of
the repository 4 s, then 1.7 s; a Chromium launch 1-2 s, a new tab about 1 s, an axe run 1-3 s, a
full check 5-30 ms):

- Read a built site from ``fixture_site`` / ``repo_site`` instead of building an unchanged project
  again; change a copy (``copy_site``). Build your own project only when the test changes it.
- Many cases of one kind in one project or one build where they test the same thing (several
  payloads, several broken records), each still asserted with its own id in the failure message.
- Call ``allokb.cli.main([...])`` in-process; start a process (``sys.executable -m allokb``) only
  when the process is what is tested (signals, exit, environment, hash seeds).
- Use the session ``browser``; a file that needs a Chromium of its own launches it from the
  session's ``playwright`` (a second ``sync_playwright()`` in one process fails). Load a page once
  and read every observation from that load (``browser.Pages``); reuse one tab; wait for what is
  asserted (``Watch.settle``, ``expect``), never a fixed sleep or ``networkidle`` by habit.
- Kill or interrupt at chosen points (a stage's window) rather than at random times in loops.
- A file that takes more than about 10 s goes into ``LONGEST_FIRST`` at its place.

Speed, without changing what is built: every build of the run, in this process or in an `allokb`
process it starts, shares one compiled-template cache (`allokb.templatecache`, the same cache every
`allokb build` uses) in a folder of the run (`pytest_configure`), so that Material's and allokb's
templates are compiled once for the whole run instead of once per build and per copy of the
project. A changed template is compiled again; code from the cache names the file it was loaded
for, as a fresh compile does (tracebacks and template errors point into the right project). The
same folder keeps each page's converted Markdown (`allokb.mdcache`), so that a page one build
converted is not converted again by the next build of the same page, links and files: most of a
small build's time (tests/test_mdcache.py holds a build from it to one without it).
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from allokb.project import CheckResult

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


def make_site_project(dest: Path, content_from: Path = VALID) -> Path:
    """A buildable project: the repository's site configuration and templates with the content
    (and references.bib) of `content_from`."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "mkdocs.yml", dest / "mkdocs.yml")
    shutil.copy(REPO / "CONTRIBUTING.md", dest / "CONTRIBUTING.md")
    shutil.copytree(REPO / "site_templates", dest / "site_templates")
    shutil.copytree(REPO / "content" / "pages", dest / "content" / "pages")
    (dest / "src" / "allokb").mkdir(parents=True)
    shutil.copy(REPO / "src" / "allokb" / "mkdocs_hook.py", dest / "src" / "allokb" / "mkdocs_hook.py")
    for kind in ("interventions", "mechanisms", "citations", "sources"):
        if (content_from / "content" / kind).is_dir():
            shutil.copytree(content_from / "content" / kind, dest / "content" / kind)
    shutil.copy(content_from / "references.bib", dest / "references.bib")
    # A site must have its URL manifest (KB603); a new one lists nothing yet (KB602 warnings).
    (dest / "urls.txt").write_text("# Every URL the site has published, relative to site_url.\n")
    return dest


class Hang(Exception):
    """A command ran longer than any should (it waits on a FIFO, follows a loop)."""


def _hang(signum: int, frame: object) -> None:
    raise Hang


def allokb_within(capsys: pytest.CaptureFixture[str], *args: str,
                  timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`allokb ARGS` in this process, as `cli` runs it in a process of its own (status, stdout,
    stderr), cut off by SIGALRM after `timeout` seconds (a blocking open of a FIFO is interrupted
    too), so that a regression fails instead of hanging the suite."""
    from allokb.cli import main

    capsys.readouterr()
    previous = signal.signal(signal.SIGALRM, _hang)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        status = main(list(args))
    except Hang:
        pytest.fail(f"allokb {' '.join(args)} was still running after {timeout} s")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    out = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), status, out.out, out.err)


def tree_digest(folder: Path) -> dict[str, str]:
    """The sha256 of every file under `folder`, by path relative to it."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def copy_site(site: Path, dest: Path) -> Path:
    """A private copy of a shared built site (the shared one stays read-only)."""
    shutil.copytree(site, dest, symlinks=True)
    return dest


# --- the longest files first, so that the xdist workers finish together ----------------------------

#: Test files by measured cost, longest first (`pytest --durations=0`, summed per file): xdist hands
#: out whole files in collection order (`--no-loadscope-reorder` in pyproject.toml), so a long file
#: must not be the last one a worker starts. Other files follow in their usual order.
LONGEST_FIRST = (
    "test_browser.py", "security/test_audit.py", "test_injection.py", "test_reproducible.py",
    "security/test_output_dir.py", "test_page_weight.py", "test_incremental.py", "test_pagination.py",
    "security/test_cli_property.py", "security/test_csp_browser.py", "security/test_swap_kill.py",
    "test_citations_display.py", "test_properdocs.py", "test_exports_tools.py", "test_hostile_entry_points.py",
    "test_map_weight.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}

    def place(item: pytest.Item) -> int:
        try:
            name = Path(str(item.path)).relative_to(TESTS).as_posix()
        except ValueError:
            return len(rank)
        return rank.get(name, len(rank))

    items.sort(key=place)  # stable: the order inside a file, and of the other files, is kept


# --- one compiled-template cache for the whole run -----------------------------------------------

def pytest_configure(config: pytest.Config) -> None:
    """Every build of the run, in-process or in a process of its own, in any worker, shares one
    cache folder of the run (compiled templates, allokb.templatecache; converted pages,
    allokb.mdcache), never the user's own:
    the controller makes it before the workers start (they inherit the variable) and removes it at
    the end. A test of the cache itself sets its own folder."""
    from allokb.templatecache import CACHE_ENV

    if os.environ.get("ALLOKB_BUILD_LOG"):  # counting the run's builds (tests/build_count.py)
        import build_count

        config.pluginmanager.register(build_count, "build_count")
        build_count.instrument()
    if os.environ.get("ALLOKB_CPU_LOG"):  # the CPU of each test and what it starts (tests/cpu_profile.py)
        import cpu_profile

        config.pluginmanager.register(cpu_profile, "cpu_profile")
    if CACHE_ENV not in os.environ:
        os.environ[CACHE_ENV] = tempfile.mkdtemp(prefix="allokb-test-cache-")
        config._allokb_cache_dir = os.environ[CACHE_ENV]  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    made = getattr(config, "_allokb_cache_dir", None)
    if made:
        shutil.rmtree(made, ignore_errors=True)


@functools.cache
def repo_result() -> CheckResult:
    """`check_project(REPO)`, run once per process (read-only: shared by every test)."""
    from allokb.project import check_project

    return check_project(REPO)


@pytest.fixture(scope="session")
def repo_check() -> CheckResult:
    """The check of the repository's own knowledge base (read-only)."""
    return repo_result()


# --- session builds shared by read-only tests -----------------------------------------------------

@dataclass(frozen=True)
class Built:
    """A project and the site built from it (under ``<tmp>/www/atlas``, ready to be served)."""

    root: Path
    site: Path


_SHARED: dict[Path, dict[str, str]] = {}


def _built_once(tmp_path_factory: pytest.TempPathFactory, name: str, root: Callable[[Path], Path]) -> Built:
    """`root(folder)` makes a project, built into `<folder>/www/atlas` once for the whole run: the
    xdist workers share one temporary folder, and the first to get here builds while the other
    waits on the lock, then both use the same site."""
    from allokb.cli import main

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # pytest-of-<user>/pytest-<n>/, above each worker's popen-gw<i>/
    folder, done = base / f"shared-{name}", base / f"shared-{name}.done"
    with open(base / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a build that failed in another worker
            folder.mkdir()
            project = root(folder)
            assert main(["build", str(project), "--site-dir", str(folder / "www" / "atlas")]) == 0
            done.write_text(str(project))
    built = Built(Path(done.read_text()), folder / "www" / "atlas")
    _SHARED.setdefault(built.site, tree_digest(built.site))
    return built


@pytest.fixture(scope="session")
def fixture_build(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The valid fixture as a site project, built once for the run (read-only)."""
    return _built_once(tmp_path_factory, "fixture", lambda folder: make_site_project(folder / "project"))


@pytest.fixture(scope="session")
def fixture_site(fixture_build: Built) -> Path:
    """The site of `fixture_build` (read-only: `copy_site` it to change it)."""
    return fixture_build.site


@pytest.fixture(scope="session")
def fixture_url(fixture_site: Path) -> Iterator[str]:
    """The fixture's site served on 127.0.0.1 under /atlas/."""
    from browser import serve

    with serve(fixture_site.parent) as url:
        yield url + "atlas/"


@pytest.fixture(scope="session")
def repo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's own site, built once for the run (read-only)."""
    return _built_once(tmp_path_factory, "repo", lambda folder: REPO).site


@pytest.fixture(scope="session")
def repo_url(repo_site: Path) -> Iterator[str]:
    """The repository's own site served on 127.0.0.1 under /atlas/ (read-only: the browser tests
    of every file share it)."""
    from browser import serve

    with serve(repo_site.parent) as url:
        yield url + "atlas/"


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    """Playwright, started once per worker process (a process can run only one): a test that needs
    a Chromium of its own launches it from here (`browser.start_chromium(playwright)`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    """Debian's Chromium, launched once per worker process and shared by every browser test: open
    your own page (`browser.new_page()`) or context, and close it."""
    from browser import start_chromium

    chromium = start_chromium(playwright)
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def tabs(browser: Any) -> Iterator[Any]:
    """Kept tabs of the worker's Chromium, lent one test at a time and reset between tests
    (`browser.Tabs`): `with tabs(viewport={...}) as page:`."""
    from browser import Tabs

    pool = Tabs(browser)
    yield pool
    pool.close()


@contextmanager
def lent_tab(tabs: Any, request: pytest.FixtureRequest, **options: Any) -> Iterator[Any]:
    """A kept tab for a fixture of one test: closed, not lent again, when that test failed."""
    failed = request.session.testsfailed
    with tabs(**options) as page:
        yield page
        if request.session.testsfailed != failed:
            tabs.discard(page)


@pytest.fixture(scope="session", autouse=True)
def _shared_sites_unchanged() -> Iterator[None]:
    """Fails the session if a test wrote into a shared site."""
    yield
    changed = [str(site) for site, digest in _SHARED.items() if tree_digest(site) != digest]
    assert changed == [], f"a test changed a shared site (copy it with copy_site): {changed}"


def without_dac() -> tuple[str, ...] | None:
    """A command prefix under which file permissions really apply: as root, setpriv drops the
    capabilities that bypass them (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH); as another user, none
    is needed. None when neither works here."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = (setpriv, "--bounding-set=-dac_override,-dac_read_search", "--")
    probe = subprocess.run([*prefix, "true"], capture_output=True, check=False)
    return prefix if probe.returncode == 0 else None
