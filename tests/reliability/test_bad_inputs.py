"""Bad input everywhere (issue 7, item 1): every case through the real CLI, table-driven.

Each refused case must exit 2 with exactly one ``error:`` line that names what to do, and leave no output
(no file, no ``.partial`` temporary). Each accepted case must exit 0 and write a complete output.
``python tests/reliability/test_bad_inputs.py`` prints the table in ``docs/bad_inputs.md`` from a real run.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from typer.testing import CliRunner

from edgecolor.cli import app
from edgecolor.jobs.record import RECORD

from helpers import random_bgr, tiny_colorizer, tmpfs, write_clip

ROOT = Path(__file__).resolve().parents[2]


# --- generated inputs --------------------------------------------------------------------------------------
def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bytes(w: int, h: int, colour_type: int, depth: int, rows: bytes, extra: bytes = b"") -> bytes:
    """A PNG written by hand (OpenCV cannot write palette PNGs or lie about sizes)."""
    ihdr = struct.pack(">IIBBBBB", w, h, depth, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + extra + _chunk(b"IDAT", zlib.compress(rows))
            + _chunk(b"IEND", b""))


def palette_png(path: Path) -> Path:
    plte = _chunk(b"PLTE", bytes([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255]))
    path.write_bytes(png_bytes(4, 4, 3, 8, b"".join(b"\x00" + bytes([0, 1, 2, 3]) for _ in range(4)), plte))
    return path


def huge_png(path: Path, side: int = 16384) -> Path:
    """A 16k x 16k RGB PNG header with a little pixel data: decoding it would allocate 768 MB."""
    path.write_bytes(png_bytes(side, side, 2, 8, b"\x00" * 4096))
    return path


def huge_jpeg(path: Path, side: int = 16384) -> Path:
    ok, buf = cv2.imencode(".jpg", random_bgr(16, 16))
    data = bytearray(buf.tobytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", side, side)
    path.write_bytes(bytes(data))
    return path


def image(path: Path, array: np.ndarray) -> Path:
    cv2.imwrite(str(path), array)
    return path


def broken_frame_video(path: Path, frames: int = 8, broken: int = 3) -> Path:
    """An MJPEG AVI whose frame ``broken`` lost its JPEG header."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (32, 24))
    for k in range(frames):
        writer.write(random_bgr(24, 32, seed=k))
    writer.release()
    data = bytearray(path.read_bytes())
    soi = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xD8]
    data[soi[broken] : soi[broken] + 300] = bytes(300)
    path.write_bytes(bytes(data))
    return path


def onnx_model(path: Path, dtype: int, dims: list, ir_version: int = 8) -> Path:
    graph = helper.make_graph([helper.make_node("Identity", ["frame"], ["y"])], "g",
                              [helper.make_tensor_value_info("frame", dtype, dims)],
                              [helper.make_tensor_value_info("y", dtype, dims)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = ir_version
    onnx.save(model, path)
    return path


# --- the table ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    id: str
    what: str  # the bad input, for the docs table
    make: Callable[[Path, Path], list]  # (tmp, model) -> CLI args; outputs go under tmp / "out"
    expect: str  # a piece of the one-line error ("" for accepted inputs; code 1: of the summary line)
    code: int = 2


def _colorize(src: Path, tmp: Path, model: Path, out: str = "o.png") -> list:
    return ["colorize", src, "-o", tmp / "out" / out, "--model", model]


def _build(onnx_path: Path, tmp: Path, *extra: object) -> list:
    return ["build", onnx_path, "--precision", "fp32", "-o", tmp / "out" / "e.onnx", *extra]


def _calib(folder: Path, images: int) -> Path:
    folder.mkdir()
    for i in range(images):
        image(folder / f"f{i}.png", random_bgr(24, 32, i))
    return folder


def _nchw(tmp: Path) -> Path:
    return onnx_model(tmp / "net.onnx", TensorProto.FLOAT, [1, 3, "H", "W"])


CASES = [
    Case("zero-byte", "zero-byte .png", lambda t, m: _colorize(_touch(t / "z.png"), t, m), "is empty (0 bytes)"),
    Case("truncated", "PNG cut after 60 bytes",
         lambda t, m: _colorize(_write(t / "t.png", _png_of(random_bgr(32, 40))[:60]), t, m), "not a readable image"),
    Case("truncated-body", "PNG with half its pixel data",
         lambda t, m: _colorize(_write(t / "h.png", _png_of(random_bgr(64, 64))[:-200]), t, m),
         "not a readable image"),
    Case("corrupt-jpeg", "JPEG marker then random bytes",
         lambda t, m: _colorize(_write(t / "c.jpg", b"\xff\xd8\xff" + junk(500)), t, m), "not a readable image"),
    Case("text-as-png", "a text file named .png",
         lambda t, m: _colorize(_write(t / "x.png", b"hello, not an image\n"), t, m), "not a readable image"),
    Case("pdf-as-jpg", "a PDF named .jpg",
         lambda t, m: _colorize(_write(t / "d.jpg", b"%PDF-1.4\n%\xe2\xe3\n1 0 obj"), t, m), "not a readable image"),
    Case("huge-png", "16384x16384 PNG (header)", lambda t, m: _colorize(huge_png(t / "big.png"), t, m),
         "16384x16384, larger than"),
    Case("huge-jpeg", "16384x16384 JPEG (header)", lambda t, m: _colorize(huge_jpeg(t / "big.jpg"), t, m),
         "16384x16384, larger than"),
    Case("folder-with-bad-file", "folder: one good image, one corrupt",
         lambda t, m: _colorize(_folder_with_bad(t), t, m, out=""), "1 written, 1 failed: b.png (not a readable image)",
         1),
    Case("folder-with-bad-file-fail-fast", "folder: one good image, one corrupt, with --fail-fast",
         lambda t, m: [*_colorize(_folder_with_bad(t), t, m, out=""), "--fail-fast"], "not a readable image"),
    Case("folder-past-max-pixels", "folder: one good image, one 120x100 PNG, with --max-pixels 5000",
         lambda t, m: [*_colorize(_folder_with_big(t), t, m, out=""), "--max-pixels", "5000"],
         "1 written, 1 failed: big.png (0.012 MP > the 0.005 MP limit: --max-pixels 10M)", 1),
    Case("image-past-max-pixels", "one 120x100 PNG, with --max-pixels 5K",
         lambda t, m: [*_colorize(image(t / "big.png", random_bgr(100, 120)), t, m), "--max-pixels", "5K"],
         "Pass --max-pixels 10M"),
    Case("max-pixels-not-a-count", "--max-pixels 12MB",
         lambda t, m: [*_colorize(image(t / "p.png", random_bgr(8, 8)), t, m), "--max-pixels", "12MB"],
         "is not a pixel count"),
    Case("one-pixel", "1x1 image", lambda t, m: _colorize(image(t / "p.png", random_bgr(1, 1)), t, m), "", 0),
    Case("gray", "8-bit grayscale PNG", lambda t, m: _colorize(image(t / "g.png", random_bgr(20, 30)[..., 0]), t, m),
         "", 0),
    Case("rgba", "RGBA PNG",
         lambda t, m: _colorize(image(t / "a.png", np.dstack([random_bgr(20, 30), random_bgr(20, 30)[..., 0]])), t, m),
         "", 0),
    Case("16-bit", "16-bit RGB PNG",
         lambda t, m: _colorize(image(t / "s.png", random_bgr(20, 30).astype(np.uint16) * 257), t, m), "", 0),
    Case("16-bit-gray", "16-bit grayscale PNG",
         lambda t, m: _colorize(image(t / "s.png", random_bgr(20, 30)[..., 0].astype(np.uint16) * 257), t, m), "", 0),
    Case("palette", "palette (indexed) PNG", lambda t, m: _colorize(palette_png(t / "i.png"), t, m), "", 0),
    Case("broken-video-frame", "video with an undecodable frame (8 frames, #3 broken)",
         lambda t, m: _colorize(broken_frame_video(t / "b.avi"), t, m, out="o.avi"), "skipped 1 undecodable", 0),
    Case("not-a-video", "text file named .mp4",
         lambda t, m: _colorize(_write(t / "v.mp4", b"not a video"), t, m, out="o.mp4"), "not a readable video"),
    Case("corrupt-onnx", "random bytes as .onnx", lambda t, m: _colorize(
        image(t / "ok.png", random_bgr(8, 8)), t, _write(t / "r.onnx", junk(400))), "cannot load"),
    Case("empty-onnx", "zero-byte .onnx",
         lambda t, m: _colorize(image(t / "ok.png", random_bgr(8, 8)), t, _touch(t / "e.onnx")), "cannot load"),
    Case("onnx-not-image", "ONNX uint8 'frame' of shape [1, 10]", lambda t, m: _colorize(
        image(t / "ok.png", random_bgr(8, 8)), t, onnx_model(t / "v.onnx", TensorProto.UINT8, [1, 10])),
        "not a frame model"),
    Case("onnx-float-frame", "ONNX float 'frame' (wrong dtype)", lambda t, m: _colorize(
        image(t / "ok.png", random_bgr(8, 8)), t, onnx_model(t / "f.onnx", TensorProto.FLOAT, ["N", "H", "W", 3])),
        "not a frame model"),
    Case("build-not-image", "build: ONNX uint8 [1, 10]",
         lambda t, m: _build(onnx_model(t / "v.onnx", TensorProto.UINT8, [1, 10]), t), "not a frame model"),
    Case("build-corrupt", "build: random bytes as .onnx",
         lambda t, m: _build(_write(t / "r.onnx", junk(400)), t), "not a readable ONNX model"),
    Case("build-wrong-dtype", "build: float frame without --adapter",
         lambda t, m: _build(onnx_model(t / "f.onnx", TensorProto.FLOAT, ["N", "H", "W", 3]), t),
         "must be uint8 NHWC BGR"),
    Case("build-future-ir", "build --adapter: ONNX with an IR version ONNX Runtime cannot read",
         lambda t, m: _build(onnx_model(t / "n.onnx", TensorProto.FLOAT, [1, 3, "H", "W"], ir_version=99), t,
                             "--adapter", "layout=nchw"), "cannot"),
    Case("adapter-not-kv", "--adapter nchw", lambda t, m: _build(_nchw(t), t, "--adapter", "nchw"),
         "is not key=value"),
    Case("adapter-layout", "--adapter layout=xyz", lambda t, m: _build(_nchw(t), t, "--adapter", "layout=xyz"),
         "bad layout/order/range"),
    Case("adapter-range", "--adapter range=1:0", lambda t, m: _build(_nchw(t), t, "--adapter", "range=1:0"),
         "bad layout/order/range"),
    Case("adapter-nan", "--adapter range=nan:1", lambda t, m: _build(_nchw(t), t, "--adapter", "range=nan:1"),
         "bad layout/order/range"),
    Case("adapter-size", "--adapter size=0x0", lambda t, m: _build(_nchw(t), t, "--adapter", "size=0x0"),
         "bad size/multiple"),
    Case("adapter-multiple", "--adapter multiple=99999999999",
         lambda t, m: _build(_nchw(t), t, "--adapter", "multiple=99999999999"), "bad size/multiple"),
    Case("adapter-one-hot", "--adapter extra.s=3@2", lambda t, m: _build(_nchw(t), t, "--adapter", "extra.s=3@2"),
         "one-hot extra"),
    Case("adapter-number", "--adapter extra.s=abc", lambda t, m: _build(_nchw(t), t, "--adapter", "extra.s=abc"),
         "cannot read adapter spec"),
    Case("adapter-unknown-extra", "--adapter extra.nope=1 (not a network input)",
         lambda t, m: _build(_nchw(t), t, "--adapter", "extra.nope=1"), "is not an input of the network"),
    Case("adapter-json-list", "--adapter spec.json holding a list",
         lambda t, m: _build(_nchw(t), t, "--adapter", _write(t / "s.json", b"[1, 2]")), "must hold a JSON object"),
    Case("adapter-json-bad", "--adapter spec.json that is not JSON",
         lambda t, m: _build(_nchw(t), t, "--adapter", _write(t / "s.json", b"{bad")), "is not valid JSON"),
    Case("calib-empty", "--calib empty folder",
         lambda t, m: ["build", m, "--precision", "int8", "-o", t / "out" / "e.onnx", "--calib", _calib(t / "c", 0),
                      "--no-gate"],
         "has no images"),
    Case("calib-tiny", "--calib folder with 3 images",
         lambda t, m: ["build", m, "--precision", "int8", "-o", t / "out" / "e.onnx", "--calib", _calib(t / "c", 3),
                      "--no-gate"],
         "at least 8 are needed"),
    Case("calib-missing", "--calib folder that does not exist",
         lambda t, m: ["build", m, "--precision", "int8", "-o", t / "out" / "e.onnx", "--calib", t / "nope",
                      "--no-gate"],
         "does not exist"),
    Case("out-under-file", "output folder is a file",
         lambda t, m: ["colorize", image(t / "ok.png", random_bgr(8, 8)), "-o", _touch(t / "out") / "o.png",
                       "--model", m], "cannot write"),
    Case("camera-absent", "--source camera:63 (no such camera)",
         lambda t, m: ["run", "--model", m, "--source", "camera:63", "--sink", "null"], "cannot be opened"),
    Case("video-device-absent", "--source /dev/video63",
         lambda t, m: ["run", "--model", m, "--source", "/dev/video63", "--sink", "null"], "does not exist"),
    Case("rtsp-refused", "--source rtsp://127.0.0.1:1/x (nothing listening)",
         lambda t, m: ["run", "--model", m, "--source", "rtsp://127.0.0.1:1/x", "--sink", "null"], "refused"),
]


def junk(n: int) -> bytes:
    """Fixed random bytes (os.urandom once formed a valid JPEG frame header: flaky)."""
    return np.random.default_rng(n).bytes(n)


def _touch(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _png_of(array: np.ndarray) -> bytes:
    return cv2.imencode(".png", array)[1].tobytes()


def _folder_with_big(tmp: Path) -> Path:
    folder = tmp / "in"
    folder.mkdir()
    image(folder / "a.png", random_bgr(8, 8))
    image(folder / "big.png", random_bgr(100, 120))
    return folder


def _folder_with_bad(tmp: Path) -> Path:
    folder = tmp / "in"
    folder.mkdir()
    image(folder / "a.png", random_bgr(8, 8))
    _write(folder / "b.png", b"\x89PNG\r\n\x1a\n broken")
    return folder


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return tiny_colorizer(tmp_path_factory.mktemp("m") / "tiny.onnx")


def invoke(args: list) -> tuple[int, str]:
    res = CliRunner().invoke(app, [str(a) for a in args])
    return res.exit_code, res.output


def outputs(tmp: Path) -> list[str]:
    out = tmp / "out"
    return sorted(p.name for p in out.rglob("*")) if out.is_dir() else []


def check(case: Case, tmp: Path, model: Path) -> str:
    """Run one case; return its message (the error line, or the summary line of an accepted input)."""
    code, text = invoke(case.make(tmp, model))
    lines = [ln for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    if case.code == 2:
        assert code == 2, text
        assert len(errors) == 1 and case.expect in errors[0], text
        assert errors[0].rstrip().endswith(".") and ". " in errors[0], "problem. Remedy. expected: " + errors[0]
        assert outputs(tmp) == [], f"{case.id} left {outputs(tmp)}"
        return errors[0][len("error: "):]
    if case.code == 1:  # a folder's bad file: skipped and named, the rest written
        summary = [ln for ln in lines if " failed: " in ln]
        assert code == 1 and not errors and len(summary) == 1 and case.expect in summary[0], text
        assert sorted(p.name for p in (tmp / "out").iterdir()) == [RECORD, "a.png"]  # RECORD: a.png is complete
        return summary[0].strip()
    assert code == 0 and not errors, text
    assert case.expect in text
    written = [p for p in (tmp / "out").iterdir() if "partial" not in p.name and p.name != RECORD]
    assert len(written) == 1 and written[0].stat().st_size > 0
    if written[0].suffix == ".png":
        out = cv2.imread(str(written[0]))
        assert out.ndim == 3
        return f"accepted (8-bit BGR inside); wrote a {out.shape[1]}x{out.shape[0]} colour PNG"
    frames = int(cv2.VideoCapture(str(written[0])).get(cv2.CAP_PROP_FRAME_COUNT))
    note = next((ln.strip() for ln in lines if case.expect and case.expect in ln), "")
    return f"accepted; wrote a {frames}-frame video; {note}"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, tmp_path, model, monkeypatch):
    monkeypatch.chdir(tmp_path)  # builds write engines/ and calibration/ relative to the working directory
    check(case, tmp_path, model)


def test_huge_images_are_refused_from_the_header_without_decoding(tmp_path, model, monkeypatch):
    decoded = []
    real = cv2.imdecode
    monkeypatch.setattr(cv2, "imdecode", lambda *a: decoded.append(1) or real(*a))
    for path in (huge_png(tmp_path / "a.png"), huge_jpeg(tmp_path / "b.jpg")):
        code, text = invoke(_colorize(path, tmp_path, model))
        assert code == 2 and "16384x16384" in text
    assert decoded == []


def test_accepted_formats_give_the_expected_pixels(tmp_path, model):
    """Palette and 16-bit inputs decode to what they hold (not just 'no error')."""
    from edgecolor.imageio import read_image

    pal = read_image(palette_png(tmp_path / "p.png"))
    assert pal.shape == (4, 4, 3) and pal[0, 1].tolist() == [0, 0, 255] and pal[0, 3].tolist() == [255, 0, 0]
    deep = random_bgr(5, 6).astype(np.uint16) * 257
    assert np.array_equal(read_image(image(tmp_path / "d.png", deep)), (deep >> 8).astype(np.uint8))


# --- full disk ---------------------------------------------------------------------------------------------
def _clip(path: Path, frames: int = 30) -> Path:
    return write_clip(path, frames, size=(320, 240), fourcc="mp4v")


@pytest.mark.parametrize("kind", ["image", "video"])
def test_full_disk_simulated_with_enospc(tmp_path, model, monkeypatch, kind):
    """Writes that fail with ENOSPC (image: the write; video: the PyAV encoder's)."""
    from edgecolor.video_encode import AvEncoder

    src = image(tmp_path / "in.png", random_bgr(40, 40)) if kind == "image" else _clip(tmp_path / "in.mp4", 5)

    def no_space(self, *args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(*(Path, "write_bytes") if kind == "image" else (AvEncoder, "write"), no_space)
    code, text = invoke(_colorize(src, tmp_path, model, out="o.png" if kind == "image" else "o.mp4"))
    assert code == 2 and "cannot write" in text, text
    assert outputs(tmp_path) == []


def test_full_disk_on_a_real_tiny_tmpfs(tmp_path, model):
    with tmpfs(tmp_path / "out", "size=64k") as mount:  # skipped without root: the ENOSPC test above covers it
        src = _clip(tmp_path / "in.mp4")
        for args in (_colorize(src, tmp_path, model, out="o.mp4"),
                     _colorize(image(tmp_path / "in.png", random_bgr(400, 400)), tmp_path, model),
                     ["run", "--model", model, "--source", src, "--sink", mount / "r.mp4"]):
            code, text = invoke(args)
            errors = [ln for ln in text.splitlines() if ln.startswith("error:")]
            assert code == 2 and len(errors) == 1 and "cannot write" in errors[0], text
            assert outputs(tmp_path) == []


# --- engines and manifests (the strict fake TensorRT: NOT TensorRT) ----------------------------------------
from fakes import fake_trt  # noqa: E402,F401 - fixture


def _engine(fake, tmp: Path) -> Path:
    from edgecolor.backends import manifest

    model = tiny_colorizer(tmp / "t.onnx")
    trt = fake.module
    logger = trt.Logger()
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    trt.OnnxParser(network, logger).parse_from_file(str(model))
    config = builder.create_builder_config()
    profile = builder.create_optimization_profile()
    profile.set_shape("frame", (1, 8, 8, 3), (1, 32, 32, 3), (1, 64, 64, 3))
    config.add_optimization_profile(profile)
    path = tmp / "e.engine"
    path.write_bytes(bytes(builder.build_serialized_network(network, config)))
    manifest.write_json(path, {"backend": "tensorrt", "backend_version": trt.__version__,
                          "engine_sha256": manifest.sha256_file(path), "extra_inputs": {}})
    return path


def _edit(path: Path, **changes: object) -> None:
    mpath = path.with_name(path.name + ".json")
    mpath.write_text(json.dumps(json.loads(mpath.read_text()) | changes))


ENGINE_CASES = {
    "other-trt-version": (lambda e, f: _edit(e, backend_version="8.6.1"), "built with TensorRT 8.6.1"),
    "other-gpu": (lambda e, f: _edit(e, gpu={"name": "Orin", "compute_capability": "8.7"}), "built for Orin"),
    "corrupt-engine": (lambda e, f: (e.write_bytes(junk(256)),
                                     _edit(e, engine_sha256=__import__("edgecolor.backends.manifest", fromlist=["x"])
                                           .sha256_file(e))), "cannot deserialize"),
    "engine-edited": (lambda e, f: e.write_bytes(e.read_bytes() + b"x"), "changed after it was built"),
    "manifest-not-json": (lambda e, f: e.with_name(e.name + ".json").write_text("{nope"), "not valid JSON"),
    "manifest-a-list": (lambda e, f: e.with_name(e.name + ".json").write_text("[1]"), "not a JSON object"),
    "manifest-wrong-types": (lambda e, f: _edit(e, gpu="A100", backend_version=11), "wrong type"),
    "manifest-missing": (lambda e, f: e.with_name(e.name + ".json").unlink(), "has no manifest"),
    "extra-inputs-malformed": (lambda e, f: _edit(e, extra_inputs={"s": {"nodefault": 1}}), "malformed"),
}


@pytest.mark.parametrize("case", list(ENGINE_CASES))
def test_bad_engines_and_manifests(case, fake_trt, tmp_path, monkeypatch):  # noqa: F811
    import edgecolor.backends.tensorrt.build as trt_backend

    monkeypatch.setattr(trt_backend, "gpu_identity", lambda: {"name": "RTX 4090", "compute_capability": "8.9"})
    engine = _engine(fake_trt, tmp_path)
    _edit(engine, gpu={"name": "RTX 4090", "compute_capability": "8.9"})
    change, expect = ENGINE_CASES[case]
    change(engine, fake_trt)
    src = image(tmp_path / "in.png", random_bgr(16, 16))
    code, text = invoke(["run", "--engine", engine, "--source", src, "--sink", tmp_path / "out" / "f"])
    errors = [ln for ln in text.splitlines() if ln.startswith("error:")]
    assert code == 2 and len(errors) == 1 and expect in errors[0], text
    assert "edgecolor build" in errors[0] or "rebuild" in errors[0]
    assert outputs(tmp_path) == []


# --- the docs table ----------------------------------------------------------------------------------------
def table(tmp_root: Path) -> str:
    model = tiny_colorizer(tmp_root / "tiny.onnx")
    rows = ["| bad input | what edgecolor does | exit |", "|---|---|---|"]
    cwd = os.getcwd()
    for i, case in enumerate(CASES):
        tmp = tmp_root / f"c{i}"
        tmp.mkdir()
        os.chdir(tmp)
        try:
            msg = check(case, tmp, model).replace("|", "\\|").replace(str(tmp) + "/", "")
        finally:
            os.chdir(cwd)
        rows.append(f"| {case.what} | {msg} | {case.code} |")
    return "\n".join(rows)


if __name__ == "__main__":
    import tempfile

    sys.path.insert(0, str(ROOT / "tests"))
    with tempfile.TemporaryDirectory() as root:
        print(table(Path(root)))
