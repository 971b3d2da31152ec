"""Outputs that would destroy inputs, sinks and sources that say no, --loop, one name per model.

Issue 11 (a): every command that writes refuses an output that is one of its inputs (also through a
symbolic or hard link), with one line, exit 2, and the input left byte for byte as it was.
Issue 10 item 4: a mistyped sink is refused with the list of valid sinks instead of becoming a folder;
jetson-utils' URIs are aliases; file sources can loop; a style has one name in every command.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import cv2
import pytest
from typer.testing import CliRunner

from edgecolor.cli import app
from edgecolor.errors import InputError

from helpers import random_bgr, tiny_colorizer, write_clip
from style_helpers import tiny_style


def invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {"colorizer": tiny_colorizer(root / "tiny.onnx"), "style": tiny_style(root / "style-tiny.onnx")}


def _png(path: Path, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), random_bgr(24, 32, seed))
    return path


def _clip(path: Path, frames: int = 6) -> Path:
    return write_clip(path, frames)


# --- (a) an output is never an input -----------------------------------------------------------------------
def _symlink(link: Path, target: Path) -> Path:
    link.symlink_to(target)
    return link


def _hardlink(link: Path, target: Path) -> Path:
    os.link(target, link)
    return link


Make = Callable[[Path, dict], tuple[list, list[Path]]]  # (tmp, models) -> (CLI args, inputs that must survive)

OVERWRITE_CASES: dict[str, Make] = {
    "run: video sink = video source": lambda t, m: (
        ["run", "--model", m["colorizer"], "--source", v := _clip(t / "v.avi"), "--sink", v], [v]),
    "run: video sink is a link to the source": lambda t, m: (
        ["run", "--model", m["colorizer"], "--source", v := _clip(t / "v.avi"), "--sink",
         _symlink(t / "l.avi", v)], [v]),
    "run: folder sink = folder source": lambda t, m: (
        ["run", "--model", m["colorizer"], "--source", t / "in", "--sink", t / "in",
         "--no-stabilize"], [_png(t / "in" / "frame_000000.png"), _png(t / "in" / "frame_000001.png", 1)]),
    "run: folder sink = the folder of the source image": lambda t, m: (
        ["run", "--model", m["colorizer"], "--source", p := _png(t / "in" / "frame_000000.png"), "--sink",
         str(t / "in") + "/"], [p]),
    "colorize: -o is a hard link to the input": lambda t, m: (
        ["colorize", p := _png(t / "a.png"), "-o", _hardlink(t / "h.png", p), "--model", m["colorizer"]], [p]),
    "colorize: -o is a symlink to the input": lambda t, m: (
        ["colorize", p := _png(t / "a.png"), "-o", _symlink(t / "s.png", p), "--model", m["colorizer"]], [p]),
    "colorize: a folder output holding another input": lambda t, m: (
        ["colorize", a := _png(t / "x" / "a.png"), b := _png(t / "y" / "a.png", 1), "-o", t / "x"], [a, b]),
    "stylize: --sheet = the photo": lambda t, m: (
        ["stylize", p := _png(t / "a.png"), "--style", m["style"], "--sheet", p], [p]),
    "stylize: --sheet is a link to the photo": lambda t, m: (
        ["stylize", p := _png(t / "a.png"), "--style", m["style"], "--sheet", _symlink(t / "s.png", p)], [p]),
    "stylize: -o = the photo": lambda t, m: (
        ["stylize", p := _png(t / "a.png"), "--style", m["style"], "-o", p], [p]),
    "eval colorizer: --sheet = a photo of --data": lambda t, m: (
        ["eval", "colorizer", "--data", t / "d", "--model", m["colorizer"], "--no-classifier", "--sheet",
         t / "d" / "p0.png"], [_png(t / "d" / "p0.png"), _png(t / "d" / "p1.png", 1)]),
    "build: -o = the model": lambda t, m: (
        ["build", c := _copy(m["colorizer"], t / "m.onnx"), "--precision", "fp32", "-o", c], [c]),
    "bench: --plot = a model": lambda t, m: (
        ["bench", c := _copy(m["colorizer"], t / "m.onnx"), "--plot", c, "--iterations", 1], [c]),
}


def _copy(src: Path, dst: Path) -> Path:
    dst.write_bytes(src.read_bytes())
    return dst


@pytest.mark.parametrize("case", list(OVERWRITE_CASES))
def test_an_output_that_is_an_input_is_refused_and_the_input_survives(case, tmp_path, models, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args, keep = OVERWRITE_CASES[case](tmp_path, models)
    before = {p: p.read_bytes() for p in keep}
    listing = sorted(p.name for p in tmp_path.rglob("*"))
    res = invoke(*args)
    errors = [ln for ln in res.output.splitlines() if ln.startswith("error:")]
    assert res.exit_code == 2 and len(errors) == 1, res.output
    assert "input" in errors[0] and ("another output" in errors[0] or "another output folder" in errors[0])
    assert {p: p.read_bytes() for p in keep} == before
    assert sorted(p.name for p in tmp_path.rglob("*")) == listing  # nothing written, no partial files


# --- sinks that say no, and aliases ------------------------------------------------------------------------
@pytest.mark.parametrize("sink", ["windw", "-", "frames", "rtmp://host/live", "display://x", "out.txt"])
def test_a_mistyped_sink_is_refused_with_the_valid_sinks_and_creates_nothing(sink, tmp_path, models, monkeypatch):
    monkeypatch.chdir(tmp_path)
    src = _clip(tmp_path / "v.avi")
    res = invoke("run", "--model", models["colorizer"], "--source", src, "--sink", sink)
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert res.exit_code == 2 and len(lines) == 1, res.output
    assert all(word in lines[0] for word in ("window", "null", "out.mp4", "frames/")), lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.avi"]


@pytest.mark.parametrize("output", ["-", "http://host/x.png"])
def test_one_shot_outputs_are_not_stdout_or_urls(output, tmp_path, models, monkeypatch):
    monkeypatch.chdir(tmp_path)
    src = _png(tmp_path / "a.png")
    res = invoke("colorize", src, "-o", output, "--model", models["colorizer"])
    assert res.exit_code == 2 and "never written to stdout or a URL" in res.output, res.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


@pytest.mark.parametrize("spec, kind, path", [
    ("window", "window", None), ("display://0", "window", None), ("display", "window", None),
    ("null", "null", None), ("out.mp4", "video", "out.mp4"), ("file://out.mp4", "video", "out.mp4"),
    ("file:///tmp/x/out.avi", "video", "/tmp/x/out.avi"), ("frames/", "folder", "frames"),
    ("out/frames", "folder", "out/frames"), ("file://frames/", "folder", "frames"),
])
def test_sink_spellings(spec, kind, path):
    from edgecolor.stream.sinks import sink_target

    target = sink_target(spec)
    assert target.kind == kind and (path is None or target.path == Path(path))


@pytest.mark.parametrize("spec, kind, target", [
    ("v4l2:///dev/video0", "camera", "/dev/video0"), ("v4l2://2", "camera", 2),
    ("/dev/video3", "camera", "/dev/video3"),
    ("csi://0", "csi", 0), ("csi:1", "csi", 1), ("file://clip.mp4", "path", "clip.mp4"),
    ("file:///data/clip.mp4", "path", "/data/clip.mp4"), ("camera:0", "camera", 0),
])
def test_jetson_utils_source_uris_are_aliases(spec, kind, target):
    from edgecolor.stream.sources import parse_source

    parsed = parse_source(spec)
    assert (parsed.kind, parsed.target) == (kind, target)


@pytest.mark.parametrize("spec, match", [("foo://x", "cannot read"), ("v4l2:/dev/video0", "v4l2:///dev/videoN")])
def test_unknown_source_schemes_are_refused(spec, match):
    from edgecolor.errors import InputError
    from edgecolor.stream.sources import parse_source

    with pytest.raises(InputError, match=match):
        parse_source(spec)


# --- --loop ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("source_kind", ["video", "folder"])
def test_loop_replays_a_file_source_with_increasing_indices(source_kind, tmp_path, models):
    if source_kind == "video":
        src = _clip(tmp_path / "v.avi", frames=5)
    else:
        src = tmp_path / "imgs"
        for k in range(3):
            _png(src / f"{k}.png", k)
    out = tmp_path / "frames"
    res = invoke("run", "--model", models["colorizer"], "--source", f"file://{src}", "--loop", "--max-frames", 12,
                 "--sink", str(out) + "/", "--no-stabilize", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout[res.stdout.index("{"):])["frames"] == 12
    assert sorted(p.name for p in out.iterdir()) == [f"frame_{i:06d}.png" for i in range(12)]


def test_without_loop_a_file_source_ends(tmp_path, models):
    res = invoke("run", "--model", models["colorizer"], "--source", _clip(tmp_path / "v.avi", frames=5),
                 "--max-frames", 12, "--sink", "null", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout[res.stdout.index("{"):])["frames"] == 5


def test_loop_is_refused_for_a_live_source(models):
    res = invoke("run", "--model", models["colorizer"], "--source", "camera:63", "--loop", "--sink", "null")
    assert res.exit_code == 2 and "--loop replays a file" in res.output


# --- one name per model --------------------------------------------------------------------------------------
@pytest.fixture
def shipped(tmp_path, models, monkeypatch) -> Path:
    """A package whose assets are the tiny colorizer and the style 'tiny' (style-tiny.onnx)."""
    import edgecolor.registry as registry

    assets = tmp_path / "assets"
    assets.mkdir()
    _copy(models["colorizer"], assets / "colorizer.onnx")
    _copy(models["style"], assets / "style-tiny.onnx")
    monkeypatch.setattr(registry, "ASSETS", assets)
    return assets


def test_a_style_has_one_name_in_every_resolver(shipped):
    from edgecolor.jobs.styles import resolve_style
    from edgecolor.registry import resolve_model

    want = shipped / "style-tiny.onnx"
    assert resolve_model("tiny") == resolve_model("style-tiny") == resolve_style("tiny") == resolve_style(
        "style-tiny") == want


@pytest.mark.parametrize("name", ["tiny", "style-tiny"])
def test_run_and_build_accept_the_short_style_name(name, shipped, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    src = _png(tmp_path / "in.png")
    res = invoke("run", "--model", name, "--source", src, "--sink", "null", "--json")
    assert res.exit_code == 0, res.output
    res = invoke("build", name, "--precision", "fp32", "-o", tmp_path / "e.onnx", "--json")
    assert res.exit_code == 0, res.output
    res = invoke("stylize", src, "--style", name, "-o", tmp_path / "o.png")
    assert res.exit_code == 0, res.output


def test_an_unknown_model_lists_the_short_names(shipped):
    res = invoke("run", "--model", "nope", "--sink", "null")
    assert res.exit_code == 2 and "use one of: colorizer, tiny" in res.output.lower(), res.output


@pytest.mark.parametrize("dest, source", [("photos", "photos"), ("photos/corpus", "photos"),
                                          ("corpus", "corpus/images")])
def test_data_fetch_refuses_a_dest_overlapping_its_from_folder(dest, source, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    photo = _png(tmp_path / source / "a.png")
    before = photo.read_bytes()
    res = invoke("data", "fetch", "--dest", dest, "--from-folder", source)
    assert res.exit_code == 2 and "overlaps the input folder" in res.output, res.output
    assert photo.read_bytes() == before and not (tmp_path / dest / "manifest.json").exists()


def test_eval_styles_names_a_style_file_by_its_metadata_and_finds_its_painting_by_exact_name(tmp_path, models):
    from edgecolor.evaluation.styles import painting_for

    renamed = _copy(models["style"], tmp_path / "snapshot [7175].onnx")  # a path with glob characters
    data = tmp_path / "photos"
    _png(data / "a.png"), _png(data / "b.png", 1)
    res = invoke("eval", "styles", "--data", data, "--style", renamed, "--size", 32, "--no-peer", "--json")
    assert res.exit_code == 0, res.output
    assert [s["name"] for s in json.loads(res.stdout)["styles"]] == ["tiny"]
    res = invoke("eval", "styles", "--data", data, "--style", renamed, "--style", models["style"], "--size", 32)
    assert res.exit_code == 2 and "both style 'tiny'" in res.output
    paintings = tmp_path / "paintings"
    _png(paintings / "tiny.png"), _png(paintings / "tinyx.png")
    assert painting_for("tiny", paintings).name == "tiny.png"
    for name in (str(renamed), "t*", "[t]iny"):  # user text is never a glob pattern
        with pytest.raises(InputError, match="no painting"):
            painting_for(name, paintings)


def test_run_in_throughput_mode_writes_every_frame_in_order(models, tmp_path):
    """``--streams 2``: two sessions compute alternate frames; the output video still has every frame, in order,
    the same as one stream writes."""
    src = write_clip(tmp_path / "in.avi", 9)
    outs = {}
    for n in (1, 2):
        outs[n] = tmp_path / f"out{n}.avi"
        res = invoke("run", "--model", models["colorizer"], "--source", src, "--sink", outs[n], "--streams", n,
                     "--threads", 2, "--json")
        assert res.exit_code == 0, res.output
        assert json.loads(res.stdout)["frames"] == 9
    frames = {n: _read_all(p) for n, p in outs.items()}
    assert len(frames[2]) == 9 and all((a == b).all() for a, b in zip(frames[1], frames[2], strict=True))
    res = invoke("run", "--model", models["colorizer"], "--source", src, "--sink", "null", "--streams", 0)
    assert res.exit_code == 2 and "--streams 0 is out of range" in res.output, res.output


def _read_all(path: Path) -> list:
    cap, frames = cv2.VideoCapture(str(path)), []
    ok, img = cap.read()
    while ok:
        frames.append(img)
        ok, img = cap.read()
    cap.release()
    return frames


# --- an existing recording: -y replaces it, nothing else touches it (edgecolor.overwrite.refuse_existing) ---------
@pytest.mark.parametrize(("flags", "code", "says"), [
    ([], 2, "error: sink {sink} already exists. Pass -y to overwrite it, or choose another path."),
    (["-n"], 2, "error: sink {sink} already exists and -n never overwrites it. Choose another path, or pass -y"),
    (["--no-overwrite"], 2, "already exists and -n never overwrites it"),
    (["-y"], 0, ""),
    (["--overwrite"], 0, ""),
])
def test_an_existing_sink_file_is_replaced_only_with_y(tmp_path, models, flags, code, says):
    src, sink = _clip(tmp_path / "v.avi"), tmp_path / "old.mp4"
    sink.write_bytes(b"a 75-frame recording")
    res = invoke("run", "--model", models["colorizer"], "--source", src, "--sink", sink, "--max-frames", 2, *flags)
    assert res.exit_code == code, res.output
    assert says.format(sink=sink) in " ".join(res.output.split())
    if code:
        assert sink.read_bytes() == b"a 75-frame recording"
    else:
        assert int(cv2.VideoCapture(str(sink)).get(cv2.CAP_PROP_FRAME_COUNT)) == 2
