"""The strict fake itself must refuse what a TensorRT version lacks, else the contract tests prove nothing."""

from __future__ import annotations

import pytest

from fakes.tensorrt_fake import TRT_VERSIONS, NotSimulated, make_fake_tensorrt


@pytest.mark.parametrize("version", TRT_VERSIONS)
def test_missing_names_raise(version):
    trt = make_fake_tensorrt(version).module
    with pytest.raises(AttributeError):
        trt.NoSuchClass  # noqa: B018
    with pytest.raises(AttributeError):
        trt.NetworkDefinitionCreationFlag.NO_SUCH_FLAG  # noqa: B018
    builder = trt.Builder(trt.Logger())
    with pytest.raises(AttributeError):
        builder.no_such_method()
    config = builder.create_builder_config()
    with pytest.raises(TypeError):
        config.set_memory_pool_limit(pool=trt.MemoryPoolType.WORKSPACE, size=1)  # the real kwarg is pool_size
    with pytest.raises(TypeError):
        trt.ICudaEngine()


def test_version_differences_are_enforced():
    old, new = make_fake_tensorrt("10.3.0").module, make_fake_tensorrt("11.1").module
    assert old.BuilderFlag.FP16 is not None and old.NetworkDefinitionCreationFlag.EXPLICIT_BATCH is not None
    with pytest.raises(AttributeError):
        new.BuilderFlag.FP16  # noqa: B018 - weak typing was removed in TensorRT 11
    with pytest.raises(AttributeError):
        new.NetworkDefinitionCreationFlag.EXPLICIT_BATCH  # noqa: B018
    cfg_old = old.Builder(old.Logger()).create_builder_config()
    cfg_new = new.Builder(new.Logger()).create_builder_config()
    cfg_old.int8_calibrator = None
    with pytest.raises(AttributeError):
        cfg_new.int8_calibrator = None


def test_read_only_property_and_unsimulated_method():
    trt = make_fake_tensorrt("10.13.3").module
    builder = trt.Builder(trt.Logger())
    with pytest.raises(AttributeError):
        builder.platform_has_fast_fp16 = False
    with pytest.raises(NotSimulated):
        builder.get_plugin_registry()


def test_user_logger_subclass_and_plan_round_trip(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    fake = make_fake_tensorrt("11.1")
    trt = fake.module
    seen = []

    class Logger(trt.ILogger):
        def __init__(self):
            trt.ILogger.__init__(self)

        def log(self, severity, msg):
            seen.append((severity.name, msg))

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"], name="id0")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.UINT8, ["N", 4, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.UINT8, ["N", 4, 3])])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph), path)
    logger = Logger()
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    parser = trt.OnnxParser(network, logger)
    assert parser.parse_from_file(str(path))
    config = builder.create_builder_config()
    assert builder.build_serialized_network(network, config) is None  # dynamic N without a profile
    assert seen and seen[-1][0] == "ERROR"
    profile = builder.create_optimization_profile()
    profile.set_shape("x", (1, 4, 3), (2, 4, 3), (4, 4, 3))
    config.add_optimization_profile(profile)
    plan = builder.build_serialized_network(network, config)
    engine = trt.Runtime(logger).deserialize_cuda_engine(bytes(plan))
    names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
    assert names == ["x", "y"] and engine.get_tensor_mode("y") == trt.TensorIOMode.OUTPUT
    ctx = engine.create_execution_context()
    assert not ctx.set_input_shape("x", (9, 4, 3))  # outside the profile
    assert ctx.set_input_shape("x", (3, 4, 3))
    assert tuple(ctx.get_tensor_shape("y")) == (3, 4, 3)
    assert not ctx.execute_async_v3(0)  # addresses not set
    ctx.set_tensor_address("x", 1000)
    ctx.set_tensor_address("y", 2000)
    assert ctx.execute_async_v3(stream_handle=0) and len(fake.state.executions) == 1
    other = make_fake_tensorrt("10.3.0").module
    assert other.Runtime(other.Logger()).deserialize_cuda_engine(bytes(plan)) is None  # version mismatch
