"""``make test`` writes nothing inside the checkout: ``git status`` (ignored files included) is the same after the
suite as before it. ``conftest.py`` takes the first snapshot and runs this test last; under pytest-xdist, where
workers run side by side, the controller makes the same comparison after every worker has finished instead.

A test that writes into the working directory (a build without ``output``, a calibration cache, ``out/``) runs
from the checkout under ``make test``; give it ``monkeypatch.chdir(tmp_path)``. Another process editing this
checkout while the suite runs shows up here too.
"""

from __future__ import annotations

import os

import pytest


def test_the_suite_left_the_checkout_as_it_found_it(checkout_diff):
    if os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.skip("under pytest-xdist the controller compares the checkout after every worker has finished")
    changes = checkout_diff()
    if changes is None:
        pytest.skip("not a git checkout, or git is not installed")
    assert not changes, ("the tests changed the checkout; run them in tmp_path (monkeypatch.chdir):\n"
                         + "\n".join(changes))
