"""The frame-model contract where frames come out (:func:`edgecolor.backends.base.check_output`) and the probe
frame :func:`edgecolor.backends.open_engine` runs through every engine it opens; the task check of the one loader."""

import numpy as np
import pytest

import edgecolor.backends.tensorrt.engine as trt_runtime
from edgecolor.backends import PROBE_SHAPE, open_engine, probe
from edgecolor.backends import manifest as mf
from edgecolor.backends.base import Engine, check_output
from edgecolor.errors import ModelError

from helpers import BAD_OUTPUTS, bad_output_model, random_bgr, tiny_colorizer
from style_helpers import tiny_style

# kind -> what the error says the model returned for the 37x53 probe frame
RETURNED = {
    "half": "returned uint8 [1, 19, 27, 3]",
    "one-px-less": "returned uint8 [1, 37, 52, 3]",
    "transposed": "returned uint8 [1, 53, 37, 3]",
    "padded": "returned uint8 [1, 39, 55, 3]",
    "nchw": "returned uint8 [1, 3, 37, 53]",
    "float32": "is float32 [N, H, W, 3]",  # declared in the graph: refused before it runs
}
MUST = {kind: "must return uint8 [1, 37, 53, 3]" for kind in RETURNED} | {"float32": "must be uint8 [N, H, W, 3]"}


def one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


@pytest.mark.parametrize("kind", BAD_OUTPUTS)
@pytest.mark.parametrize("cpu_path, streams", [("auto", 1), ("graph", 1), ("graph", 2)])
def test_a_bad_output_is_refused_when_the_engine_opens(kind, cpu_path, streams, tmp_path):
    model = bad_output_model(tmp_path / f"{kind}.onnx", kind)
    with pytest.raises(ModelError) as err:
        open_engine(model, cpu_path=cpu_path, threads=1, streams=streams)
    text = one_line(err)
    assert text.startswith(f"{kind}.onnx ") and RETURNED[kind] in text and MUST[kind] in text


@pytest.mark.parametrize("kind", ["half", "odd-only"])
def test_the_probe_frame_is_odd_and_not_square(kind, tmp_path):
    """A model right on even sizes (odd-only) passes a frame of 36x52 and is caught by the probe all the same."""
    from edgecolor.backends.onnxruntime import OrtEngine

    h, w, _ = PROBE_SHAPE
    assert h % 2 and w % 2 and h != w
    engine = OrtEngine(bad_output_model(tmp_path / "m.onnx", kind), threads=1)
    if kind == "odd-only":
        assert engine(random_bgr(36, 52)).shape == (36, 52, 3)
    with pytest.raises(ModelError, match=r"m\.onnx returned uint8 \[1, (19, 27|38, 54), 3\] for a uint8 "
                                         r"\[1, 37, 53, 3\] frame"):
        probe(engine)
    with pytest.raises(RuntimeError, match="after close"):  # a refused engine is closed
        engine(random_bgr(4, 4))


def test_a_model_that_cannot_run_an_odd_size_is_one_line(tmp_path):
    model = bad_output_model(tmp_path / "even.onnx", "even-only")
    with pytest.raises(ModelError) as err:
        open_engine(model, cpu_path="graph", threads=1)
    text = one_line(err)
    assert text.startswith("even.onnx cannot run a 37x53 frame (") and "must run frames of any size" in text
    assert err.value.__cause__ is not None and type(err.value.__cause__).__module__.startswith("onnxruntime")


def test_good_models_pass_the_probe_on_every_cpu_path(tmp_path):
    for model, paths in ((tiny_colorizer(tmp_path / "c.onnx"), ("auto", "graph", "split")),
                         (tiny_style(tmp_path / "s.onnx", net_size=16), ("auto", "graph"))):
        for cpu_path in paths:
            engine = open_engine(model, cpu_path=cpu_path, threads=1)
            assert engine(random_bgr(37, 53)).shape == (37, 53, 3)
            engine.close()


class Shrinking(Engine):
    backend = "shrinking"

    def __init__(self):
        super().__init__()
        self.name = "shrink.onnx"

    def _infer_impl(self, batch, extra):
        return batch[:, :-1]


@pytest.mark.parametrize("call", ["infer", "submit"])
def test_every_frame_is_checked_after_the_probe_too(call):
    engine = Shrinking()
    frame = random_bgr(6, 8)
    with pytest.raises(ModelError, match=r"^shrink\.onnx returned uint8 \[1, 5, 8, 3\] for a uint8 \[1, 6, 8, 3\] "
                                         r"frame, must return uint8 \[1, 6, 8, 3\]"):
        engine(frame) if call == "infer" else engine.submit(frame)()
    engine.close()


@pytest.mark.parametrize("out, said", [
    (np.zeros((1, 4, 6, 3), np.float32), "returned float32 [1, 4, 6, 3]"),
    (np.zeros((1, 3, 4, 6), np.uint8), "returned uint8 [1, 3, 4, 6]"),
    (np.zeros((4, 6, 3), np.uint8), "returned uint8 [4, 6, 3]"),
    ([1, 2], "returned list for"),
])
def test_check_output_says_what_came_and_what_must(out, said):
    with pytest.raises(ModelError) as err:
        check_output(out, (1, 4, 6, 3), "m.onnx")
    assert said in str(err.value) and "must return" in str(err.value) and "[1, 4, 6, 3]" in str(err.value)
    check_output(np.zeros((1, 4, 6, 3), np.uint8), (1, 4, 6, 3), "m.onnx")  # the contract kept: no error


# --- the task ------------------------------------------------------------------------------------------------
@pytest.fixture
def models(tmp_path):
    return {"colorize": tiny_colorizer(tmp_path / "c.onnx"), "stylize": tiny_style(tmp_path / "s.onnx", net_size=16)}


@pytest.mark.parametrize("task, other, said", [
    ("colorize", "stylize", "s.onnx is a style, not a colorizer (its edgecolor.task metadata is stylize)"),
    ("stylize", "colorize", "c.onnx is a colorizer, not a style (its edgecolor.task metadata is colorize)"),
])
def test_open_engine_refuses_a_model_of_another_task(task, other, said, models):
    with pytest.raises(ModelError) as err:
        open_engine(models[other], task=task, threads=1)
    assert one_line(err).startswith(said)
    open_engine(models[task], task=task, threads=1).close()


def test_a_model_recording_no_task_is_not_known_to_be_either(tmp_path):
    model = bad_output_model(tmp_path / "m.onnx", "half", task="")
    with pytest.raises(ModelError, match=r"m\.onnx records no task \(its edgecolor.task metadata is missing\)"):
        open_engine(model, task="colorize")


def test_a_tensorrt_engine_is_refused_by_its_manifests_task_before_tensorrt_loads(tmp_path, monkeypatch):
    engine = tmp_path / "colorizer.engine"
    engine.write_bytes(b"plan")
    mf.write_json(engine, {"backend": "tensorrt", "backend_version": "10.3.0", "engine_sha256": mf.sha256_file(engine),
                      "gpu": {}, "rebuild_command": "edgecolor build s --target trt", "task": "stylize"})
    monkeypatch.setattr(mf, "environment", lambda backend: {"backend_version": "10.3.0", "gpu": {}})
    monkeypatch.setattr(trt_runtime, "TrtEngine", lambda *a, **k: pytest.fail("TensorRT loaded"))
    with pytest.raises(ModelError, match=r"^colorizer\.engine is a style, not a colorizer \(the task in its manifest "
                                         r"colorizer\.engine\.json is stylize\)"):
        open_engine(engine, task="colorize")
