"""Behaviour of the strict fake ``tensorrt`` (see ``tensorrt_fake.py``): one mixin per TensorRT class.

Methods are ``_m_<name>``, property getters ``_p_<name>``; the strict base class in ``tensorrt_fake.py``
only dispatches to them when the recorded surface of the version under test has that name. NOT TensorRT.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PLAN_MAGIC = b"FAKE-TRT-PLAN\n"
CACHE_MAGIC = b"FAKE-TRT-TIMING-CACHE\n"
_ONNX_TO_TRT = {1: "FLOAT", 2: "UINT8", 3: "INT8", 6: "INT32", 7: "INT64", 9: "BOOL", 10: "HALF", 16: "BF16"}


class NotSimulated(NotImplementedError):
    """The method exists in this TensorRT version, but the fake has no behaviour for it."""


class _Severity:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Severity.{self.name}"


def _log(state: Any, logger: Any, level: str, msg: str) -> None:
    state.log.append((level, msg))
    if logger is not None:
        logger.log(_Severity(level), msg)


# --- behaviour per class ------------------------------------------------------------------------------

def _dims_tuple(shape: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in shape)


class _Dims:
    def _construct(self, shape: Any = ()) -> None:
        self._props["_shape"] = _dims_tuple(shape)

    def __len__(self) -> int:
        return len(self._props["_shape"])

    def __getitem__(self, i: int) -> int:
        return self._props["_shape"][i]

    def __eq__(self, other: object) -> bool:
        try:
            return tuple(other) == self._props["_shape"]  # type: ignore[call-overload]
        except TypeError:
            return False

    def __repr__(self) -> str:
        return f"Dims{self._props['_shape']}"


class _ILogger:
    def _m_log(self, severity: Any, msg: str) -> None:  # the base class's log is pure virtual in TensorRT
        raise NotSimulated("ILogger.log must be overridden by a subclass")


class _Logger:
    def _construct(self, min_severity: Any = None) -> None:
        self._props["min_severity"] = min_severity

    def _m_log(self, severity: Any, msg: str) -> None:
        pass



class _Builder:
    def _construct(self, logger: Any) -> None:
        mod = self._mod
        if not isinstance(logger, (mod.ILogger, mod.Logger)):
            raise TypeError(f"Builder(logger) needs an ILogger, got {type(logger).__name__}")
        self._props.update(logger=logger, max_threads=1, platform_has_fast_fp16=True,
                           platform_has_fast_int8=True, platform_has_tf32=True)

    def _m_create_network(self, flags: int = 0) -> Any:
        return self._mod.INetworkDefinition._new(_flags=int(flags), _inputs=[], _outputs=[], _layers=0,
                                                             name="network", _builder=self)

    def _m_create_builder_config(self) -> Any:
        return self._mod.IBuilderConfig._new(
            _flags=set(), _profiles=[], _pools={}, _cache=None, builder_optimization_level=3,
            profiling_verbosity=None, avg_timing_iterations=1)

    def _m_create_optimization_profile(self) -> Any:
        return self._mod.IOptimizationProfile._new(_shapes={})

    def _m_build_serialized_network(self, network: Any, config: Any, *rest: Any) -> Any:
        state, mod = self._st, self._mod
        logger = self._props["logger"]
        profiles = [p._props["_shapes"] for p in config._props["_profiles"]]
        record = {"flags": network._props["_flags"], "builder_flags": set(config._props["_flags"]),
                  "profiles": profiles, "pools": dict(config._props["_pools"]),
                  "optimization_level": config._props["builder_optimization_level"],
                  "timing_cache_entries": None, "plugins": None}
        cache = config._props["_cache"]
        if cache is not None:
            record["timing_cache_entries"] = cache._props["_entries"]
        state.builds.append(record)
        if state.fail_build:
            _log(state, logger, "ERROR", "fake build failure requested by the test")
            return None
        for t in network._props["_inputs"]:
            if -1 in t._props["_shape"] and not any(t.name in p for p in profiles):
                _log(state, logger, "ERROR", f"input {t.name} has dynamic dimensions but no profile")
                return None
            for p in profiles:
                if t.name in p and any(len(s) != len(t._props["_shape"]) for s in p[t.name]):
                    _log(state, logger, "ERROR", f"profile rank does not match input {t.name}")
                    return None
        if cache is not None:
            cache._props["_entries"] += max(1, network._props["_layers"])
        io = [{"name": t.name, "mode": mode, "dtype": t._props["dtype"].name,
               "shape": list(t._props["_shape"])}
              for mode, key in (("INPUT", "_inputs"), ("OUTPUT", "_outputs")) for t in network._props[key]]
        plan = {"version": self._version, "io": io, "layers": network._props["_layers"],
                "profiles": [{k: [list(s) for s in v] for k, v in p.items()} for p in profiles]}
        return mod.IHostMemory._from_bytes(PLAN_MAGIC + json.dumps(plan).encode())


class _INetworkDefinition:
    def _p_num_inputs(self) -> int:
        return len(self._props["_inputs"])

    def _p_num_outputs(self) -> int:
        return len(self._props["_outputs"])

    def _p_num_layers(self) -> int:
        return self._props["_layers"]

    def _p_flags(self) -> int:
        return self._props["_flags"]

    def _m_get_flag(self, flag: Any) -> bool:
        return bool(self._props["_flags"] & (1 << int(flag)))

    def _m_get_input(self, index: int) -> Any:
        return self._props["_inputs"][index]

    def _m_get_output(self, index: int) -> Any:
        return self._props["_outputs"][index]


class _ITensor:
    def _p_shape(self) -> Any:
        return self._mod.Dims(self._props["_shape"])

    def _p_is_network_input(self) -> bool:
        return self._props["_is_input"]

    def _p_is_network_output(self) -> bool:
        return not self._props["_is_input"]


class _OnnxParser:
    def _construct(self, network: Any, logger: Any) -> None:
        self._props.update(_network=network, _logger=logger, _errors=[], num_subgraphs=0)

    def _p_num_errors(self) -> int:
        return len(self._props["_errors"])

    def _m_get_error(self, index: int) -> Any:
        return self._props["_errors"][index]

    def _m_clear_errors(self) -> None:
        self._props["_errors"].clear()

    def _m_parse_from_file(self, model: str) -> bool:
        try:
            data = Path(model).read_bytes()
        except OSError as exc:
            return self._fail(0, "", "", f"cannot read {model}: {exc}", "INVALID_GRAPH")
        return self._m_parse(data, str(Path(model).parent))

    def _fail(self, node: int, name: str, op: str, desc: str, code: str) -> bool:
        mod = self._mod
        err = mod.ParserError._new(_code=getattr(mod.ErrorCode, code), _desc=desc, _node=node, _name=name,
                                   _op=op)
        self._props["_errors"].append(err)
        _log(self._st, self._props["_logger"], "ERROR", f"ONNX parser: {desc}")
        return False

    def _m_parse(self, model: Any, path: str | None = None) -> bool:
        import onnx

        mod, state = self._mod, self._st
        try:
            proto = onnx.load_from_string(bytes(model))
        except Exception as exc:  # noqa: BLE001 - onnx raises DecodeError and friends
            return self._fail(-1, "", "", f"failed to parse the ONNX protobuf: {exc}", "INVALID_GRAPH")
        for i, node in enumerate(proto.graph.node):
            if node.op_type in state.unsupported_ops:
                return self._fail(i, node.name, node.op_type,
                                  f"No importer registered for op: {node.op_type}", "UNSUPPORTED_NODE")
        inits = {t.name for t in proto.graph.initializer}
        net = self._props["_network"]

        def tensor(vi: Any, is_input: bool) -> Any:
            tt = vi.type.tensor_type
            shape = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in tt.shape.dim)
            dtype = getattr(mod.DataType, _ONNX_TO_TRT.get(tt.elem_type, "FLOAT"))
            return mod.ITensor._new(name=vi.name, dtype=dtype, _shape=shape, _is_input=is_input)

        net._props["_inputs"] = [tensor(vi, True) for vi in proto.graph.input if vi.name not in inits]
        net._props["_outputs"] = [tensor(vi, False) for vi in proto.graph.output]
        net._props["_layers"] = len(proto.graph.node)
        return True


class _ParserError:
    def _m_code(self) -> Any:
        return self._props["_code"]

    def _m_desc(self) -> str:
        return self._props["_desc"]

    def _m_node(self) -> int:
        return self._props["_node"]

    def _m_node_name(self) -> str:
        return self._props["_name"]

    def _m_node_operator(self) -> str:
        return self._props["_op"]

    def _m_file(self) -> str:
        return "ModelImporter.cpp"

    def _m_line(self) -> int:
        return 0

    def _m_func(self) -> str:
        return "parseGraph"

    def __str__(self) -> str:
        return f"In node {self._props['_node']} with name: {self._props['_name']}: {self._props['_desc']}"


class _IOptimizationProfile:
    def _m_set_shape(self, input: str, min: Any, opt: Any, max: Any) -> None:  # noqa: A002 - TensorRT's names
        lo, mid, hi = _dims_tuple(min), _dims_tuple(opt), _dims_tuple(max)
        ranks_ok = len(lo) == len(mid) == len(hi)
        if not ranks_ok or any(a > b or b > c for a, b, c in zip(lo, mid, hi, strict=True)):
            raise ValueError(f"profile {input}: need min <= opt <= max, equal ranks; got {lo} {mid} {hi}")
        self._props["_shapes"][input] = (lo, mid, hi)

    def _m_get_shape(self, input: str) -> list:  # noqa: A002
        dims = self._mod.Dims
        return [dims(s) for s in self._props["_shapes"].get(input, ((), (), ()))]

    def __bool__(self) -> bool:
        return True


class _IBuilderConfig:
    def _m_set_flag(self, flag: Any) -> None:
        self._props["_flags"].add(flag.name)

    def _m_clear_flag(self, flag: Any) -> None:
        self._props["_flags"].discard(flag.name)

    def _m_get_flag(self, flag: Any) -> bool:
        return flag.name in self._props["_flags"]

    def _m_add_optimization_profile(self, profile: Any) -> int:
        self._props["_profiles"].append(profile)
        return len(self._props["_profiles"]) - 1

    def _p_num_optimization_profiles(self) -> int:
        return len(self._props["_profiles"])

    def _m_set_memory_pool_limit(self, pool: Any, pool_size: int) -> None:
        self._props["_pools"][pool.name] = int(pool_size)

    def _m_get_memory_pool_limit(self, pool: Any) -> int:
        return self._props["_pools"].get(pool.name, 1 << 40)

    def _m_create_timing_cache(self, serialized_timing_cache: Any) -> Any:
        data = bytes(serialized_timing_cache)
        entries, version = 0, self._version
        if data.startswith(CACHE_MAGIC):
            info = json.loads(data[len(CACHE_MAGIC):])
            entries, version = info["entries"], info["version"]
        elif data:
            version = "garbage"
        return self._mod.ITimingCache._new(_entries=entries, _origin=version)

    def _m_set_timing_cache(self, cache: Any, ignore_mismatch: bool = False) -> bool:
        if cache._props["_origin"] != self._version and not ignore_mismatch:
            return False
        self._props["_cache"] = cache
        return True

    def _m_get_timing_cache(self) -> Any:
        return self._props["_cache"]


class _ITimingCache:
    def _m_serialize(self) -> Any:
        info = {"version": self._version, "entries": self._props["_entries"]}
        return self._mod.IHostMemory._from_bytes(CACHE_MAGIC + json.dumps(info).encode())


class _Runtime:
    def _construct(self, logger: Any) -> None:
        self._props.update(logger=logger, max_threads=1)

    def _m_deserialize_cuda_engine(self, *args: Any, **kwargs: Any) -> Any:
        (data,) = list(args) + list(kwargs.values())
        mod, state = self._mod, self._st
        raw = bytes(data)
        if not raw.startswith(PLAN_MAGIC):
            _log(state, self._props["logger"], "ERROR", "the engine plan file is not compatible / is corrupt")
            return None
        plan = json.loads(raw[len(PLAN_MAGIC):])
        if plan["version"] != self._version:
            _log(state, self._props["logger"], "ERROR",
                 f"the engine plan was built with TensorRT {plan['version']}, this is {self._version}")
            return None
        return mod.ICudaEngine._new(_plan=plan, _raw=raw, name="engine", num_layers=plan["layers"],
                                    num_optimization_profiles=max(1, len(plan["profiles"])),
                                    device_memory_size_v2=1 << 20, device_memory_size=1 << 20)


class _ICudaEngine:
    def _io(self, name: str) -> dict:
        for t in self._props["_plan"]["io"]:
            if t["name"] == name:
                return t
        raise KeyError(f"no tensor named {name}")

    def _p_num_io_tensors(self) -> int:
        return len(self._props["_plan"]["io"])

    def _m_get_tensor_name(self, index: int) -> str:
        return self._props["_plan"]["io"][index]["name"]

    def _m_get_tensor_mode(self, name: str) -> Any:
        mod = self._mod
        return getattr(mod.TensorIOMode, self._io(name)["mode"]) if self._has(name) else mod.TensorIOMode.NONE

    def _has(self, name: str) -> bool:
        return any(t["name"] == name for t in self._props["_plan"]["io"])

    def _m_get_tensor_dtype(self, name: str) -> Any:
        return getattr(self._mod.DataType, self._io(name)["dtype"])

    def _m_get_tensor_shape(self, name: str) -> Any:
        return self._mod.Dims(self._io(name)["shape"])

    def _m_get_tensor_profile_shape(self, name: str, profile_index: int) -> list:
        profiles = self._props["_plan"]["profiles"]
        dims = self._mod.Dims
        return [dims(s) for s in profiles[profile_index][name]]

    def _m_create_execution_context(self) -> Any:
        return self._mod.IExecutionContext._new(engine=self, _shapes={}, _addr={}, name="context")

    def _m_serialize(self) -> Any:
        return self._mod.IHostMemory._from_bytes(self._props["_raw"])


class _IExecutionContext:
    def _engine(self) -> Any:
        return self._props["engine"]

    def _m_set_input_shape(self, name: str, shape: Any) -> bool:
        eng, dims = self._engine(), _dims_tuple(shape)
        if not eng._has(name) or eng._io(name)["mode"] != "INPUT":
            return False
        declared = eng._io(name)["shape"]
        if len(dims) != len(declared) or any(d != -1 and d != s for d, s in zip(declared, dims, strict=True)):
            return False
        for prof in eng._props["_plan"]["profiles"][:1]:
            if name in prof:
                lo, _, hi = prof[name]
                if any(s < a or s > b for s, a, b in zip(dims, lo, hi, strict=False)):
                    _log(self._st, None, "ERROR", f"{name} shape {dims} is outside the profile")
                    return False
        self._props["_shapes"][name] = dims
        return True

    def _m_get_tensor_shape(self, name: str) -> Any:
        eng, dims = self._engine(), self._mod.Dims
        io = eng._io(name)
        if io["mode"] == "INPUT":
            return dims(self._props["_shapes"].get(name, io["shape"]))
        shape = list(io["shape"])
        for t in eng._props["_plan"]["io"]:
            if t["mode"] == "INPUT" and len(t["shape"]) == len(shape) and t["name"] in self._props["_shapes"]:
                src = self._props["_shapes"][t["name"]]
                shape = [src[i] if d == -1 else d for i, d in enumerate(shape)]
                break
        return dims(shape)

    def _p_all_binding_shapes_specified(self) -> bool:
        eng = self._engine()
        return all(t["name"] in self._props["_shapes"] or -1 not in t["shape"]
                   for t in eng._props["_plan"]["io"] if t["mode"] == "INPUT")

    def _m_set_tensor_address(self, name: str, memory: int) -> bool:
        if not self._engine()._has(name):
            return False
        self._props["_addr"][name] = int(memory)
        return True

    def _m_get_tensor_address(self, name: str) -> int:
        return self._props["_addr"].get(name, 0)

    def _m_set_optimization_profile_async(self, profile_index: int, stream_handle: int) -> bool:
        return profile_index < self._engine()._props["num_optimization_profiles"]

    def _m_execute_async_v3(self, stream_handle: int) -> bool:
        state, eng = self._st, self._engine()
        missing = [t["name"] for t in eng._props["_plan"]["io"] if t["name"] not in self._props["_addr"]]
        if missing or not self._p_all_binding_shapes_specified():
            _log(state, None, "ERROR", f"execute_async_v3: unset addresses {missing} or input shapes")
            return False
        state.executions.append({"stream": int(stream_handle), "shapes": dict(self._props["_shapes"]),
                                 "addresses": dict(self._props["_addr"])})
        if state.on_execute is not None:
            state.on_execute(self, int(stream_handle))
        return True


BEHAVIOUR: dict[str, type] = {
    "Dims": _Dims, "ILogger": _ILogger, "Logger": _Logger, "Builder": _Builder,
    "INetworkDefinition": _INetworkDefinition, "ITensor": _ITensor, "OnnxParser": _OnnxParser,
    "ParserError": _ParserError, "IOptimizationProfile": _IOptimizationProfile,
    "IBuilderConfig": _IBuilderConfig,
    "ITimingCache": _ITimingCache, "Runtime": _Runtime, "ICudaEngine": _ICudaEngine,
    "IExecutionContext": _IExecutionContext,
}


