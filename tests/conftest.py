"""What the checkout looked like when the suite started, for ``tests/test_checkout_untouched.py`` (run last).

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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.path.name == GUARD)  # stable: everything else keeps its order


@pytest.fixture
def checkout_before(request: pytest.FixtureRequest) -> frozenset[str] | None:
    return request.config.stash.get(BEFORE, None)


@pytest.fixture
def checkout_now() -> Callable[[], frozenset[str] | None]:
    return checkout_status
