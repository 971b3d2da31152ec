"""Fuzz every loader and parser that takes outside input (issue 7, item 2): generated inputs may be refused
only with edgecolor's own errors (:class:`EdgecolorError` subclasses), never with anything else.

Budget: the example counts below add up to 1,770 generated cases per run (hypothesis; no database, so each
run draws fresh cases), each cheap enough that the file runs in well under 30 s on 2 cores.
"""

from __future__ import annotations

import json
import string
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgecolor.errors import EdgecolorError

from helpers import random_bgr, tiny_colorizer

FUZZ = {"deadline": None, "database": None, "suppress_health_check": list(HealthCheck)}


def _encoded(ext: str) -> bytes:
    img = random_bgr(12, 17, seed=len(ext))
    return cv2.imencode(ext, img)[1].tobytes()


SEEDS = [_encoded(e) for e in (".png", ".jpg", ".webp", ".bmp", ".tif")] + [
    cv2.imencode(".png", np.zeros((5, 6), np.uint16) + 999)[1].tobytes(),
    cv2.imencode(".png", np.zeros((5, 6, 4), np.uint8))[1].tobytes(),
]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A valid file with a few bytes overwritten, a cut, or junk appended: the inputs decoders get wrong."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 6))):
        pos = draw(st.integers(0, len(data) - 1))
        data[pos] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data) + draw(st.binary(max_size=16))


# --- images ------------------------------------------------------------------------------------------------
@settings(max_examples=300, **FUZZ)
@given(st.one_of(mutated(SEEDS), st.binary(max_size=256)))
def test_decode_image(data):
    from edgecolor.imageheader import image_size
    from edgecolor.imageio import MAX_PIXELS, decode_image

    size = image_size(data)
    assert size is None or (len(size) == 2 and all(isinstance(v, int) and v >= 0 for v in size))
    try:
        img = decode_image(data, "fuzz")
    except EdgecolorError:
        return
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3 and img.flags.c_contiguous
    assert img.shape[0] * img.shape[1] <= MAX_PIXELS


@settings(max_examples=150, **FUZZ)
@given(st.sampled_from([b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"\xff\xd8", b"RIFF\x00\x00\x00\x00WEBPVP8X",
                        b"BM", b"II*\x00", b"MM\x00*", b"P6\n"]), st.binary(max_size=64))
def test_image_header_parsers(prefix, rest):
    """Each header parser on its own signature followed by junk: a size or None, never an exception."""
    from edgecolor.imageheader import image_size

    size = image_size(prefix + rest)
    assert size is None or all(v >= 0 for v in size)


# --- text parsers ------------------------------------------------------------------------------------------
SPEC_KEYS = ["layout", "order", "range", "size", "multiple", "task", "extras", "extra.s", "extra.w", "x"]
SPEC_VALUES = st.one_of(
    st.sampled_from(["nchw", "nhwc", "rgb", "bgr", "0:1", "-1:1", "1:0", "0:255", "nan:1", "inf:1", "dynamic",
                     "256", "256x256", "0x0", "1x2x3", "4", "0", "-3", "99999999999", "1@4", "3@2", "-1@2",
                     "1;2;3", "1e400", "", "x", "1@99999999"]),
    st.text(alphabet=string.printable, max_size=12),
)


@st.composite
def adapter_specs(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.tuples(st.sampled_from(SPEC_KEYS), SPEC_VALUES), max_size=5))
    sep = draw(st.sampled_from(["=", "=", "=", ":", ""]))
    return ",".join(f"{k}{sep}{v}" for k, v in parts)


@settings(max_examples=250, **FUZZ)
@given(st.one_of(adapter_specs(), st.text(max_size=40)))
def test_adapter_spec(text):
    from edgecolor.graph.adapters import AdapterSpec

    try:
        spec = AdapterSpec.parse(text)
    except EdgecolorError:
        return
    assert spec.layout in ("nchw", "nhwc") and spec.range[0] < spec.range[1] and spec.multiple >= 1
    json.loads(spec.describe())


@settings(max_examples=80, **FUZZ)
@given(st.dictionaries(st.sampled_from(SPEC_KEYS), st.one_of(
    st.integers(-5, 10**12), st.floats(allow_nan=True), st.text(max_size=8), st.lists(st.integers(-2, 300),
                                                                                        max_size=4),
    st.dictionaries(st.text(max_size=3), st.one_of(st.floats(), st.lists(st.floats(), max_size=3)), max_size=2),
    st.none()), max_size=5))
def test_adapter_spec_json_file(raw):
    from edgecolor.graph.adapters import AdapterSpec

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spec.json"
        path.write_text(json.dumps(raw))
        try:
            AdapterSpec.parse(str(path))
        except EdgecolorError:
            pass


RES_TOKENS = st.sampled_from(["480p", "720P", "4k", "512x512", "0x5", "8193x10", "x", "1x", "", " ", "١٢x٣",
                              "99999x1", "640x480x3", ",", "1080p "])


@settings(max_examples=150, **FUZZ)
@given(st.one_of(st.lists(RES_TOKENS, max_size=4).map(",".join), st.text(max_size=20)))
def test_parse_resolutions(text):
    from edgecolor.bench.runner import parse_resolutions

    try:
        out = parse_resolutions(text)
    except EdgecolorError:
        return
    assert out and all(0 < h <= 8192 and 0 < w <= 8192 for _, h, w in out)


SOURCE_PREFIXES = st.sampled_from(["camera:", "csi:", "/dev/video", "rtsp://", "rtsps://", "http://", "https://",
                                   "rtsp://127.0.0.1:", "http://[::1", "http://h:99999/", "", "camera:-", "file:"])


@settings(max_examples=200, **FUZZ)
@given(SOURCE_PREFIXES, st.text(max_size=24))
def test_parse_source(prefix, rest):
    """The spec parser alone (no device, no network): a SourceSpec or an InputError."""
    from edgecolor.stream.sources import parse_source

    try:
        spec = parse_source(prefix + rest)
    except EdgecolorError:
        return
    assert spec.kind in ("camera", "csi", "rtsp", "http", "path")


@settings(max_examples=120, **FUZZ)
@given(st.one_of(
    st.tuples(st.sampled_from(["127.0.0.1", "[::1]", "", "host", "a b", "0.0.0.0", "::1"]),
              st.sampled_from([":", "", "::"]),
              st.one_of(st.integers(-5, 70000).map(str), st.text(max_size=6))).map("".join),
    st.text(max_size=24)))
def test_parse_serve_address(text):
    from edgecolor.stream.http_view import parse_address

    try:
        host, port = parse_address(text)
    except EdgecolorError:
        return
    assert host and 0 <= port <= 65535


@settings(max_examples=120, **FUZZ)
@given(st.one_of(
    st.lists(st.lists(st.integers(-2, 5000).map(str), min_size=0, max_size=4).map("x".join), max_size=4).map(
        ",".join),
    st.text(alphabet="0123456789x,X -+_", max_size=30), st.text(max_size=20)))
def test_parse_shapes(text):
    from edgecolor.backends.tensorrt.build import Shapes

    try:
        shapes = Shapes.parse(text)
    except EdgecolorError:
        return
    assert all(a <= b <= c for a, b, c in zip(shapes.min, shapes.opt, shapes.max, strict=True))


# --- manifests ---------------------------------------------------------------------------------------------
JSON_VALUES = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                                     st.text(max_size=10)),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                       max_size=3), max_leaves=8)
MANIFEST_KEYS = ["schema", "backend", "backend_version", "engine_sha256", "source_onnx", "source_sha256", "gpu",
                 "rebuild_command", "extra_inputs"]


@pytest.fixture(scope="module")
def engine_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("eng") / "e.onnx"
    path.write_bytes(b"engine bytes")
    return path


@settings(max_examples=150, **FUZZ)
@given(st.one_of(
    st.dictionaries(st.sampled_from(MANIFEST_KEYS), JSON_VALUES, max_size=6).map(json.dumps),
    JSON_VALUES.map(json.dumps), st.text(max_size=40), st.binary(max_size=40).map(lambda b: b.decode("latin-1"))))
def test_manifest_check(engine_file, text):
    from edgecolor.backends import manifest

    manifest.manifest_path(engine_file).write_text(text, encoding="utf-8", errors="surrogateescape")
    try:
        manifest.check(engine_file)
    except EdgecolorError:
        pass


# --- ONNX bytes --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory) -> bytes:
    return tiny_colorizer(tmp_path_factory.mktemp("m") / "t.onnx").read_bytes()


@settings(max_examples=100, **FUZZ)
@given(data=st.data())
def test_onnx_bytes(model_bytes, data):
    """Corrupt and truncated models through both loaders: ONNX Runtime (run) and onnx (build)."""
    from edgecolor.backends.onnxruntime import OrtEngine
    from edgecolor.builder.pipeline import BuildConfig, load_frame_model

    blob = data.draw(st.one_of(mutated([model_bytes]), st.binary(max_size=128)))
    try:
        engine = OrtEngine(blob, threads=1)
        out = engine(random_bgr(8, 8))
        assert out.shape == (8, 8, 3)
    except EdgecolorError:
        pass
    except Exception as exc:  # ONNX Runtime's own run-time errors for a graph it accepted at load time
        assert type(exc).__module__.startswith("onnxruntime"), repr(exc)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.onnx"
        path.write_bytes(blob)
        try:
            load_frame_model(BuildConfig(str(path), precision="fp32"))
        except EdgecolorError:
            pass


# --- rcc extraction ----------------------------------------------------------------------------------------
@settings(max_examples=150, **FUZZ)
@given(st.lists(st.one_of(st.binary(max_size=24), st.just(b"RIFF"), st.just(b"WEBP"),
                          st.builds(lambda n: b"RIFF" + n.to_bytes(4, "little") + b"WEBP", st.integers(0, 64))),
                max_size=8).map(b"".join))
def test_rcc_extraction(blob):
    from edgecolor.data.rcc import iter_webp

    for chunk in iter_webp(blob):
        assert chunk.startswith(b"RIFF") and chunk[8:12] == b"WEBP" and chunk in blob
        assert len(chunk) == int.from_bytes(chunk[4:8], "little") + 8


def test_budget_is_at_least_1000_cases():
    total = sum(obj._hypothesis_internal_use_settings.max_examples
                for name, obj in globals().items() if name.startswith("test_") and hasattr(obj, "hypothesis"))
    assert total >= 1000, total
