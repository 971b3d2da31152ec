"""The TensorRT runtime path against the strict fake tensorrt (10.3, 10.13, 11.1 surfaces) and the fake
cudart. The fake engine's "kernel" runs the same frame model on ONNX Runtime, reading its input and extra
inputs from the fake device memory at the addresses the runtime set, so outputs are compared bit-exact."""

import json

import numpy as np
import onnx
import pytest
from typer.testing import CliRunner

from edgecolor.backends import manifest as manifest_mod
from edgecolor.backends.onnxruntime import OrtEngine
from edgecolor.backends.tensorrt.cuda_buffers import CudaRuntime
from edgecolor.backends.tensorrt.engine import TrtEngine
from edgecolor.cli import app
from edgecolor.errors import InputError, ModelError

from fakes import fake_trt  # noqa: F401 - fixture
from fakes.cudart_fake import FakeCudart, read, write
from helpers import random_bgr, tiny_colorizer

PROFILE = ((1, 8, 8, 3), (1, 32, 32, 3), (2, 64, 64, 3))


def runtime_input_onnx(onnx_path, out_path):
    """The frame model with ``colour_strength`` as a true input: without its initializer, which TensorRT's
    ONNX parser would otherwise fold into a constant."""
    model = onnx.load(onnx_path)
    keep = [i for i in model.graph.initializer if i.name != "colour_strength"]
    del model.graph.initializer[:]
    model.graph.initializer.extend(keep)
    onnx.save(model, out_path)
    return out_path


def build_engine(trt, onnx_path, engine_path, manifest=None):
    """Build a (fake) plan the way the builder does, and write it with a sidecar manifest."""
    logger = trt.Logger()
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    assert trt.OnnxParser(network, logger).parse_from_file(str(onnx_path))
    config = builder.create_builder_config()
    profile = builder.create_optimization_profile()
    profile.set_shape("frame", *PROFILE)
    config.add_optimization_profile(profile)
    engine_path.write_bytes(bytes(builder.build_serialized_network(network, config)))
    facts = {
        "backend": "tensorrt",
        "backend_version": trt.__version__,
        "engine_sha256": manifest_mod.sha256_file(engine_path),
        "extra_inputs": {"colour_strength": {"default": 1.0}},
    }
    manifest_mod.write_json(engine_path, facts if manifest is None else manifest(facts))
    return engine_path


@pytest.fixture
def setup(fake_trt, tmp_path):  # noqa: F811
    onnx_path = tiny_colorizer(tmp_path / "tiny.onnx", gain=0.5)
    ort = OrtEngine(onnx_path, threads=1)
    rt = FakeCudart()

    def kernel(ctx, stream):
        shape = tuple(ctx.get_tensor_shape("frame"))
        src, dst = ctx.get_tensor_address("frame"), ctx.get_tensor_address("frame_out")
        strength = ctx.get_tensor_address("colour_strength")
        rt.enqueue(
            stream,
            lambda: write(dst, ort(read(src, shape), colour_strength=float(read(strength, (), np.float32)))),
        )

    fake_trt.state.on_execute = kernel
    engine_path = build_engine(
        fake_trt.module, runtime_input_onnx(onnx_path, tmp_path / "rt.onnx"), tmp_path / "tiny.engine"
    )
    return fake_trt, rt, ort, engine_path


def test_frames_match_onnx_runtime_bit_exact_and_use_a_cuda_graph(setup):
    fake, rt, ort, engine_path = setup
    eng = TrtEngine(engine_path, cuda=CudaRuntime(rt), slots=2, cuda_graphs=True)
    assert eng.input_names == ["frame", "colour_strength"] and eng.defaults == {"colour_strength": 1.0}
    frames = [random_bgr(24, 40, seed=i) for i in range(6)]
    for frame in frames:
        np.testing.assert_array_equal(eng(frame), ort(frame))
    assert len(fake.state.executions) == 4  # 2 slots x (warm-up + capture); the rest are graph replays
    assert eng.buffers.graph_count() == 2
    eng.close()
    assert not rt.device and not rt.host


def test_extra_input_change_takes_effect_on_the_next_frame_even_in_a_graph(setup):
    _, rt, ort, engine_path = setup
    eng = TrtEngine(engine_path, cuda=CudaRuntime(rt), slots=1)
    frame = random_bgr(16, 16)
    for strength in (1.0, 1.0, 0.0, 2.0):  # from run 2 on, the graph replays: the copy is in the graph
        np.testing.assert_array_equal(eng(frame, colour_strength=strength), ort(frame, colour_strength=strength))


def test_two_slots_overlap_submissions(setup):
    _, rt, ort, engine_path = setup
    eng = TrtEngine(engine_path, cuda=CudaRuntime(rt), slots=2, cuda_graphs=False)
    a, b = random_bgr(16, 24, 1), random_bgr(16, 24, 2)
    wait_a, wait_b = eng.submit(a), eng.submit(b)
    np.testing.assert_array_equal(wait_b(), ort(b))
    np.testing.assert_array_equal(wait_a(), ort(a))
    batch = np.stack([a, b])
    np.testing.assert_array_equal(eng(batch), ort(batch))


def test_shape_outside_the_profile_is_a_user_error(setup):
    _, rt, _, engine_path = setup
    eng = TrtEngine(engine_path, cuda=CudaRuntime(rt))
    with pytest.raises(InputError, match="outside the engine's profile"):
        eng(random_bgr(128, 16))


def edit_manifest(engine_path, **changes):
    side = manifest_mod.manifest_path(engine_path)
    data = json.loads(side.read_text())
    data.update(changes)
    side.write_text(json.dumps({k: v for k, v in data.items() if v is not None}))


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"backend_version": "9.0.0"}, "built with TensorRT 9.0.0"),
        ({"engine_sha256": "0" * 64}, "changed after it was built"),
        ({"schema": None}, "manifest schema"),
        ({"backend": "onnxruntime", "backend_version": "0.0.1"}, "not TensorRT"),  # backend checked before versions
        ("delete", "has no manifest"),
    ],
)
def test_manifest_mismatch_is_refused_with_the_rebuild_command(setup, changes, match):
    fake, rt, _, engine_path = setup
    if changes == "delete":
        manifest_mod.manifest_path(engine_path).unlink()
    else:
        edit_manifest(engine_path, **changes)
    with pytest.raises(ModelError, match=match) as err:
        TrtEngine(engine_path, cuda=CudaRuntime(rt))
    assert "\n" not in str(err.value) and ("edgecolor build" in str(err.value) or "--backend ort" in str(err.value))


def test_engine_extra_inputs_need_manifest_defaults(setup):
    fake, rt, _, engine_path = setup
    edit_manifest(engine_path, extra_inputs=None)
    with pytest.raises(ModelError, match=r"needs input\(s\) colour_strength besides 'frame', without a default"):
        TrtEngine(engine_path, cuda=CudaRuntime(rt))


def test_extras_folded_into_constants_are_not_inputs(setup, tmp_path):
    fake, rt, ort, _ = setup
    onnx_path = tiny_colorizer(tmp_path / "baked.onnx", gain=0.5)  # initializer kept: parsed as a constant
    engine_path = build_engine(fake.module, onnx_path, tmp_path / "baked.engine")
    eng = TrtEngine(engine_path, cuda=CudaRuntime(rt), cuda_graphs=False)
    assert eng.input_names == ["frame"]
    with pytest.raises(InputError, match="unknown model input"):
        eng(random_bgr(16, 16), colour_strength=0.5)


def test_plan_from_another_version_is_refused(setup, tmp_path):
    fake, rt, _, engine_path = setup
    other = "10.3.0" if fake.version != "10.3.0" else "11.1"
    engine_path.write_bytes(engine_path.read_bytes().replace(fake.version.encode(), other.encode()))
    edit_manifest(engine_path, engine_sha256=manifest_mod.sha256_file(engine_path))
    with pytest.raises(ModelError, match="cannot deserialize"):
        TrtEngine(engine_path, cuda=CudaRuntime(rt))


def test_cli_engine_manifest_mismatch_exits_2_with_one_line(setup, tmp_path):
    _, _, _, engine_path = setup
    edit_manifest(engine_path, backend_version="8.6.1")
    img = tmp_path / "in.png"
    import cv2

    cv2.imwrite(str(img), random_bgr(16, 16))
    res = CliRunner().invoke(app, ["run", "--engine", str(engine_path), "--source", str(img), "--sink", "null"])
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "built with TensorRT 8.6.1" in lines[0] and "edgecolor build" in lines[0]


def test_extra_defaults_come_from_the_source_model_when_the_manifest_has_none(setup, tmp_path):
    _, rt, _, engine_path = setup
    source = tmp_path / "rt.onnx"  # the frame model the engine was built from (see the fixture)
    edit_manifest(
        engine_path, extra_inputs=None, source_onnx=str(source), source_sha256=manifest_mod.sha256_file(source)
    )
    assert TrtEngine(engine_path, cuda=CudaRuntime(rt)).defaults == {"colour_strength": 1.0}


def test_the_pipeline_keeps_both_slots_busy_and_outputs_match(setup):
    """Overlap on TensorRT: when the pipeline collects frame k (a stream sync), frame k+1 is already
    enqueued on the other slot's stream (the fake runs a stream's work at its sync)."""
    import time

    from edgecolor.stream.controls import Controls, Style
    from edgecolor.stream.pipeline import Pipeline
    from edgecolor.stream.sinks import Sink
    from edgecolor.stream.sources import Frame, Source

    _, rt, ort, engine_path = setup
    eng = TrtEngine(engine_path, cuda=CudaRuntime(rt), slots=2, cuda_graphs=False)
    busy = []
    sync = rt.cudaStreamSynchronize

    def counting_sync(stream):
        busy.append(sum(1 for ops in rt.queues.values() if ops))
        return sync(stream)

    object.__setattr__(rt, "cudaStreamSynchronize", counting_sync)
    frames = [random_bgr(16, 24, seed) for seed in range(12)]

    class Frames(Source):
        def frames(self):
            for i, image in enumerate(frames):
                yield Frame(i, time.perf_counter(), image)

    class Keep(Sink):
        outs = []

        def write(self, out):
            self.outs.append(out.image)

    sink = Keep()
    stats = Pipeline(Frames("frames"), {"t": eng}, Controls([Style("t", "t")]), [sink]).run()
    assert stats.frames == 12 and max(busy) == 2
    for image, out in zip(frames, sink.outs, strict=True):
        np.testing.assert_array_equal(out, ort(image))
