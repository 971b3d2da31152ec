"""``make test`` writes nothing inside the checkout: ``git status`` (ignored files included) is the same after the
suite as before it. ``conftest.py`` takes the first snapshot and runs this test last.

A test that writes into the working directory (a build without ``output``, a calibration cache, ``out/``) runs
from the checkout under ``make test``; give it ``monkeypatch.chdir(tmp_path)``. Another process editing this
checkout while the suite runs shows up here too.
"""

from __future__ import annotations

import pytest


def test_the_suite_left_the_checkout_as_it_found_it(checkout_before, checkout_now):
    after = checkout_now()
    if checkout_before is None or after is None:
        pytest.skip("not a git checkout, or git is not installed")
    appeared, vanished = sorted(after - checkout_before), sorted(checkout_before - after)
    assert not appeared and not vanished, (
        "the tests changed the checkout; run them in tmp_path (monkeypatch.chdir):\n"
        + "\n".join([f"  new: {line}" for line in appeared] + [f"  gone: {line}" for line in vanished]))
