"""Test doubles. ``fake_trt``: a pytest fixture that installs the strict fake ``tensorrt`` module
(see ``tensorrt_fake.py``; NOT TensorRT) in ``sys.modules`` for one test, parametrised over every recorded
TensorRT version. Import it into a test module to use it: ``from fakes import fake_trt  # noqa: F401``."""

from __future__ import annotations

import sys

import pytest

from fakes.tensorrt_fake import TRT_VERSIONS, FakeTensorRT, make_fake_tensorrt


@pytest.fixture(params=TRT_VERSIONS)
def fake_trt(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> FakeTensorRT:
    fake = make_fake_tensorrt(request.param)
    monkeypatch.setitem(sys.modules, "tensorrt", fake.module)
    return fake


__all__ = ["fake_trt", "FakeTensorRT", "make_fake_tensorrt", "TRT_VERSIONS"]
