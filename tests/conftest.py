"""What the checkout looked like when the suite started, for ``tests/test_checkout_untouched.py`` (run last).

Under pytest-xdist (``make test`` runs ``-n auto``) the workers run at once, so no test runs last: the controller
compares the checkout when every worker has finished (:func:`pytest_sessionfinish`) and fails the run if it changed.

``make test`` must write nothing inside the checkout: builds write ``engines/`` and ``calibration/cache/``
relative to the working directory, and those folders are ignored by git, so the comparison includes ignored
files. The test runner's own caches (``__pycache__``, ``.pytest_cache``, ...) and the venv are left out.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNNER_CACHES = ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis")
GUARD = "test_checkout_untouched.py"
BEFORE = pytest.StashKey[frozenset[str] | None]()


def checkout_status() -> frozenset[str] | None:
    """``git status --porcelain --ignored`` of the checkout as a set of lines, or None outside a git checkout."""
    try:
        res = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain=v1", "--ignored"],
                             capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    if res.returncode != 0:
        return None
    lines = set()
    for line in res.stdout.splitlines():
        parts = Path(line[3:].strip('"').rstrip("/")).parts
        if parts and (parts[0].startswith(".venv") or any(p in RUNNER_CACHES for p in parts)):
            continue
        lines.add(line)
    return frozenset(lines)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[BEFORE] = checkout_status()


def checkout_changes(before: frozenset[str] | None, after: frozenset[str] | None) -> list[str] | None:
    """What the suite changed in the checkout, one line per path (None outside a git checkout)."""
    if before is None or after is None:
        return None
    return ([f"  new: {line}" for line in sorted(after - before)]
            + [f"  gone: {line}" for line in sorted(before - after)])


def distributed(config: pytest.Config) -> bool:
    """Whether this process is the controller of pytest-xdist workers."""
    return not hasattr(config, "workerinput") and bool(getattr(config.option, "numprocesses", None))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not distributed(session.config):
        return
    changes = checkout_changes(session.config.stash.get(BEFORE, None), checkout_status())
    if changes:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("the tests changed the checkout; run them in tmp_path (monkeypatch.chdir):\n"
                                + "\n".join(changes), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.path.name == GUARD)  # stable: everything else keeps its order


@pytest.fixture
def checkout_diff(request: pytest.FixtureRequest) -> Callable[[], list[str] | None]:
    """What the suite has changed in the checkout so far (:func:`checkout_changes`)."""
    before = request.config.stash.get(BEFORE, None)
    return lambda: checkout_changes(before, checkout_status())
