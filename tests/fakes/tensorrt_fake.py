"""A strict fake ``tensorrt`` module generated from recorded API surfaces. Tests only: this is NOT TensorRT.

TensorRT cannot be installed on edgecolor's CI machines, so no test here ever runs TensorRT. What these
tests do check is the *contract*: every class, method, keyword argument, property and enum value that
edgecolor touches exists in the real Python bindings of TensorRT 10.3, 10.13 and 11.1, as recorded in
``tests/fakes/trt-api/tensorrt-*.json`` (extracted from the pybind11
sources, so a missing name is a strong signal, not proof).

Use it
------
    from fakes.tensorrt_fake import TRT_VERSIONS, make_fake_tensorrt
    fake = make_fake_tensorrt("10.3.0")      # FakeTensorRT(version, module, state)
    trt = fake.module                        # behaves like ``import tensorrt`` (strictly)

    # or the pytest fixture (parametrised over all three versions; puts the module in
    # sys.modules["tensorrt"] for the test and removes it afterwards):
    from fakes import fake_trt  # noqa: F401
    def test_something(fake_trt): fake_trt.module, fake_trt.version, fake_trt.state

Strictness (the point of the fake)
-----------------------------------
- A module attribute, class, method, property or enum value missing from the surface -> ``AttributeError``.
- A keyword argument not recorded for that method (or too many arguments) -> ``TypeError``.
- Writing a read-only property -> ``AttributeError``. Constructing a class that has no Python
  constructor in the surface (e.g. ``ICudaEngine()``) -> ``TypeError``.
- A method that exists in the surface but that the fake does not simulate -> ``NotSimulated``
  (so a test fails loudly instead of passing on a silent ``None``). Add behaviour below when needed.

Behaviour (small, deterministic)
--------------------------------
- ``OnnxParser.parse`` / ``parse_from_file`` read the ONNX with the ``onnx`` package and fill the network's
  inputs/outputs (names, dtypes, ``-1`` for symbolic dims). Ops in ``state.unsupported_ops`` fail with a
  ``ParserError`` that carries node index, node name and operator, like the real parser.
- ``Builder.build_serialized_network`` checks that every dynamic input has an optimisation profile and
  returns an ``IHostMemory`` (a bytes subclass: ``bytes(plan)`` works) holding a small JSON "plan"
  (I/O tensors, profiles, the fake's version). ``state.fail_build = True`` makes it return ``None``.
  Each build is recorded in ``state.builds`` (flags, profiles, pool limits, optimisation level, timing cache).
- Timing caches serialize to bytes; a build adds one entry per layer; a cache from another version is
  rejected by ``set_timing_cache(cache, ignore_mismatch=False)``.
- ``Runtime.deserialize_cuda_engine(plan)`` returns an ``ICudaEngine`` (``None`` and a logged error for a
  plan from another version or garbage) reporting I/O names, modes, dtypes, shapes and profile shapes.
- ``IExecutionContext``: ``set_input_shape`` (checked against the profile), ``get_tensor_shape`` (outputs:
  ``-1`` dims filled from the first input of the same rank), ``set_tensor_address``/``get_tensor_address``,
  ``execute_async_v3`` (True when all shapes and addresses are set; then calls ``state.on_execute(context,
  stream_handle)`` if a test set it, e.g. to copy bytes between addresses). Calls are recorded in
  ``state.executions``.
- Loggers: the fake reports errors through ``logger.log(severity, msg)``; ``severity`` has a ``.name``
  ("ERROR", "WARNING", ...). The surfaces do not record ``Logger.Severity``, so code should not rely on it.
"""

from __future__ import annotations

import json
import math
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from fakes._trt_behaviour import BEHAVIOUR, NotSimulated

SURFACES = Path(__file__).parent / "trt-api"
TRT_VERSIONS = ("10.3.0", "10.13.3", "11.1")
_ITEMSIZE = {"FLOAT": 4, "HALF": 2, "BF16": 2, "INT8": 1, "INT32": 4, "INT64": 8, "BOOL": 1, "UINT8": 1,
             "FP8": 1, "INT4": 0.5, "FP4": 0.5, "E8M0": 1}
NPTYPE = {"FLOAT": np.float32, "HALF": np.float16, "INT8": np.int8, "INT32": np.int32, "INT64": np.int64,
           "BOOL": np.bool_, "UINT8": np.uint8}


@dataclass
class FakeState:
    """Knobs and records shared by one fake module (tests read and set these)."""

    version: str
    unsupported_ops: set[str] = field(default_factory=set)
    fail_build: bool = False
    builds: list[dict[str, Any]] = field(default_factory=list)
    executions: list[dict[str, Any]] = field(default_factory=list)
    log: list[tuple[str, str]] = field(default_factory=list)
    on_execute: Callable[[Any, int], None] | None = None


@dataclass
class FakeTensorRT:
    version: str
    module: types.ModuleType
    state: FakeState


# --- strict machinery ---------------------------------------------------------------------------------
class _EnumValue:
    def __init__(self, enum_name: str, name: str, value: int) -> None:
        self._enum, self.name, self.value = enum_name, name, value

    def __int__(self) -> int:
        return self.value

    __index__ = __int__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _EnumValue) and (other._enum, other.value) == (self._enum, self.value)

    def __hash__(self) -> int:
        return hash((self._enum, self.value))

    def __repr__(self) -> str:
        return f"<{self._enum}.{self.name}: {self.value}>"


class _DataTypeValue(_EnumValue):
    @property
    def itemsize(self) -> float:  # python_level: DataType.itemsize
        return _ITEMSIZE[self.name]


def _check_call(version: str, qual: str, names: list[str], args: tuple, kwargs: dict) -> None:
    unknown = [k for k in kwargs if k not in names]
    if unknown:
        raise TypeError(f"tensorrt {version}: {qual}() got unexpected keyword(s) {unknown}; known: {names}")
    if names and len(args) + len(kwargs) > len(names):
        raise TypeError(f"tensorrt {version}: {qual}() takes at most {len(names)} arguments")
    for k in kwargs:
        if names.index(k) < len(args):
            raise TypeError(f"tensorrt {version}: {qual}() got multiple values for '{k}'")


class _Strict:
    """Base of every generated class. Attribute access is limited to the recorded surface."""

    _surface: dict[str, Any] = {}
    _version = ""
    _cls_name = ""
    _mod: types.ModuleType
    _st: FakeState
    _fake = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        inits = type(self)._surface_of()["init"]
        if not inits:
            raise TypeError(f"tensorrt {self._version}: {self._cls_name} cannot be constructed from Python")
        errors = []
        for names in inits:
            try:
                _check_call(self._version, f"{self._cls_name}.__init__", names, args, kwargs)
                break
            except TypeError as exc:
                errors.append(str(exc))
        else:
            raise TypeError(" / ".join(errors))
        object.__setattr__(self, "_props", {})
        self._construct(*args, **kwargs)

    def _construct(self, *args: Any, **kwargs: Any) -> None:
        """Behaviour hook for Python-constructible classes."""

    @classmethod
    def _surface_of(cls) -> dict[str, Any]:
        for klass in cls.__mro__:
            if klass.__dict__.get("_fake") and "_surface" in klass.__dict__:
                return klass.__dict__["_surface"]
        return {"methods": {}, "properties": {}, "init": []}

    @classmethod
    def _new(cls, **props: Any) -> Any:
        obj = object.__new__(cls)
        object.__setattr__(obj, "_props", dict(props))
        return obj

    @staticmethod
    def _user_defined(obj: Any, name: str) -> bool:
        """True when a user's subclass (e.g. a custom ILogger) defines ``name`` itself."""
        for klass in type(obj).__mro__:
            if klass.__dict__.get("_fake") is True:
                return False
            if name in klass.__dict__:
                return True
        return False

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("_"):
            return object.__getattribute__(self, name)
        cls = type(self)
        if _Strict._user_defined(self, name):
            return object.__getattribute__(self, name)
        if name in object.__getattribute__(self, "__dict__"):
            return object.__getattribute__(self, name)
        surface = cls._surface_of()
        qual = f"{cls._cls_name}.{name}"
        if name in surface["methods"]:
            names = surface["methods"][name]
            impl = getattr(cls, f"_m_{name}", None)

            def method(*args: Any, **kwargs: Any) -> Any:
                _check_call(cls._version, qual, names, args, kwargs)
                if impl is None:
                    raise NotSimulated(f"fake tensorrt {cls._version}: {qual}() is not simulated")
                return impl(self, *args, **kwargs)

            return method
        if name in surface["properties"]:
            props = object.__getattribute__(self, "_props")
            getter = getattr(cls, f"_p_{name}", None)
            if getter is not None:
                return getter(self)
            if name in props:
                return props[name]
            raise NotSimulated(f"fake tensorrt {cls._version}: property {qual} is not simulated")
        raise AttributeError(f"tensorrt {cls._version}: {qual} does not exist in this version")

    def __setattr__(self, name: str, value: Any) -> None:
        cls = type(self)
        if name.startswith("_") or _Strict._user_defined(self, name) or not cls.__dict__.get("_fake", False):
            object.__setattr__(self, name, value)
            return
        mode = cls._surface_of()["properties"].get(name)
        if mode is None:
            raise AttributeError(f"tensorrt {cls._version}: {cls._cls_name}.{name} does not exist")
        if mode != "rw":
            raise AttributeError(f"tensorrt {cls._version}: {cls._cls_name}.{name} is read-only")
        self._props[name] = value


@cache
def surface(version: str) -> dict[str, Any]:
    """The recorded API surface of one TensorRT version (see tests/fakes/trt-api/README.md)."""
    return json.loads((SURFACES / f"tensorrt-{version}.json").read_text())


def _host_memory_class(version: str, spec: dict[str, Any], mod: types.ModuleType) -> type:
    allowed = set(spec["methods"]) | set(spec["properties"])

    class IHostMemory(bytes):
        """bytes subclass so ``bytes(plan)`` / ``memoryview(plan)`` work (python_level: buffer protocol)."""

        _fake = True

        @classmethod
        def _from_bytes(cls, data: bytes) -> IHostMemory:
            return cls(data)

        def __getattribute__(self, name: str) -> Any:
            if name.startswith("_"):
                return bytes.__getattribute__(self, name)
            if name not in allowed:
                raise AttributeError(f"tensorrt {version}: IHostMemory.{name} does not exist in this version")
            if name == "nbytes":
                return len(self)
            if name == "dtype":
                return mod.DataType.UINT8
            raise NotSimulated(f"fake tensorrt {version}: IHostMemory.{name} is not simulated")

    return IHostMemory


def make_fake_tensorrt(version: str) -> FakeTensorRT:
    """Build a fresh strict fake ``tensorrt`` module for ``version`` (one of :data:`TRT_VERSIONS`)."""
    if version not in TRT_VERSIONS:
        raise ValueError(f"no recorded surface for TensorRT {version}; known: {TRT_VERSIONS}")
    spec = surface(version)
    mod = types.ModuleType("tensorrt", f"FAKE tensorrt {version} from a recorded API surface (tests only)")
    state = FakeState(version)
    for enum_name, values in spec["enums"].items():
        value_cls = _DataTypeValue if enum_name == "DataType" else _EnumValue
        members = {v: value_cls(enum_name, v, i) for i, v in enumerate(values)}
        enum_cls = type(enum_name, (), {**members, "__members__": dict(members)})
        setattr(mod, enum_name, enum_cls)
    for cls_name, cls_spec in spec["classes"].items():
        if cls_name == "IHostMemory":
            setattr(mod, cls_name, _host_memory_class(version, cls_spec, mod))
            continue
        bases = (BEHAVIOUR[cls_name], _Strict) if cls_name in BEHAVIOUR else (_Strict,)
        if cls_name.startswith("Dims") and cls_name != "Dims":
            bases = (mod.Dims,)
        init = cls_spec["init"] or ([["shape"]] if cls_name == "Dims" else [])
        attrs = {"_surface": {**cls_spec, "init": init},
                 "_version": version, "_cls_name": cls_name, "_fake": True, "_mod": mod, "_st": state}
        setattr(mod, cls_name, type(cls_name, bases, attrs))
    for fn in spec["functions"]:
        if fn == "get_nv_onnx_parser_version":
            setattr(mod, fn, lambda: int(version.split(".")[0]) * 1000 + int(version.split(".")[1]) * 100)
    mod.__version__ = version
    mod.volume = lambda shape: math.prod(int(d) for d in shape)
    mod.nptype = lambda dtype: np.dtype(NPTYPE[dtype.name]).type
    return FakeTensorRT(version, mod, state)
