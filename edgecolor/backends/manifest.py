"""The JSON sidecar every engine gets (:class:`EngineManifest`), and the check a loader runs before using an engine.

``<engine>.json`` records what built the engine (edgecolor, backend and version, GPU and compute
capability for TensorRT), from what (ONNX sha256, calibration hash), how (precision, profile, options) and
how well it matched FP32. :func:`check` refuses an engine whose manifest is missing or does not match this
machine / the current ONNX with :class:`StaleEngine`, naming the rebuild command; the caller decides whether to
rebuild (``edgecolor build --rebuild-if-stale``, :func:`edgecolor.builder.pipeline.rebuild`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgecolor.backends.runtimes import environment
from edgecolor.choices import Runtime
from edgecolor.errors import InputError, ModelError
from edgecolor.imageio import atomic_output

log = logging.getLogger(__name__)
SCHEMA = 1
_ANY_DICT = (dict, type(None))


class StaleEngine(ModelError):
    """The engine does not match this machine or its source model any more; ``manifest`` (when it could be read)
    records how to rebuild it."""

    def __init__(self, problem: str, remedy: str, manifest: EngineManifest | None = None) -> None:
        super().__init__(problem, remedy)
        self.manifest = manifest


@dataclass(frozen=True)
class EngineManifest:
    """An engine's sidecar. The fields every engine has are typed; a runtime's or precision's own facts (I/O,
    profile, OpenVINO hint, calibration, ...) are in ``facts``. A field of the wrong type in a hand-edited or
    foreign file is not trusted: it is left out and named in ``wrong_types`` (:meth:`mismatches` reports it)."""

    schema: int | None = None
    backend: str = str(Runtime.ONNXRUNTIME)  # manifests from before OpenVINO have none
    backend_version: str | None = None
    engine: str | None = None
    engine_sha256: str | None = None
    source_onnx: str | None = None
    source_sha256: str | None = None
    frame_model_sha256: str | None = None
    edgecolor_version: str | None = None
    precision: str | None = None
    target: str | None = None
    task: str | None = None
    gate: dict | None = None
    kept_fp32: list = field(default_factory=list)
    build_seconds: float | None = None
    rebuild_command: str = "edgecolor build MODEL ..."
    build_config: dict | None = None
    auto: dict | None = None
    gpu: dict | None = None
    extra_inputs: dict | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    wrong_types: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EngineManifest:
        kinds: dict[str, type | tuple[type, ...]] = {
            "schema": int, "backend": str, "backend_version": (str, type(None)), "engine": str,
            "engine_sha256": str, "source_onnx": (str, type(None)), "source_sha256": (str, type(None)),
            "frame_model_sha256": str, "edgecolor_version": str, "precision": str, "target": str, "task": str,
            "gate": _ANY_DICT, "kept_fp32": list, "build_seconds": (int, float), "rebuild_command": str,
            "build_config": _ANY_DICT, "auto": _ANY_DICT, "gpu": _ANY_DICT, "extra_inputs": _ANY_DICT,
        }
        known: dict[str, Any] = {}
        facts: dict[str, Any] = {}
        wrong: list[str] = []
        for key, value in data.items():
            if key not in kinds:
                facts[key] = value
            elif isinstance(value, kinds[key]) and not (isinstance(value, bool) and key in ("schema", "build_seconds")):
                known[key] = value
            else:
                wrong.append(key)
        return cls(**known, facts=facts, wrong_types=tuple(wrong))

    def to_json(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
               if f.name not in ("facts", "wrong_types") and getattr(self, f.name) is not None}
        return {"schema": SCHEMA, **out, **self.facts}

    @property
    def openvino_hint(self) -> str:
        """The inference precision hint an OpenVINO engine was gated with (``f32`` when not recorded)."""
        facts = self.facts.get("openvino")
        return str(facts.get("inference_precision_hint", "f32")) if isinstance(facts, dict) else "f32"

    def accuracy(self) -> dict[str, Any] | None:
        """The accuracy-gate record with numeric fields, or None when absent or malformed (it is information for
        tables, not a reason to refuse an engine)."""
        acc = self.gate
        if acc is None:
            return None
        numbers = ("psnr_vs_fp32_db", "delta_e_vs_fp32")
        if not all(isinstance(acc.get(k), (int, float)) and not isinstance(acc.get(k), bool) for k in numbers):
            log.warning("manifest gate record has non-numeric fields: ignored")
            return None
        return acc

    def mismatches(self, engine: Path) -> list[str]:
        """Why ``engine`` cannot be used here; empty when it can."""
        problems = []
        if self.schema != SCHEMA:
            problems.append(f"manifest schema {str(self.schema)[:40]} != {SCHEMA}")
        if self.wrong_types:  # a hand-edited or foreign file: say which fields, do not trip over them below
            return [*problems, f"manifest fields of the wrong type: {', '.join(self.wrong_types)}"]
        if not engine.is_file():
            return [*problems, f"engine file {engine} is missing"]
        if sha256_file(engine) != self.engine_sha256:
            problems.append("the engine file was changed after it was built")
        if self.backend not in Runtime.values():
            return [*problems, f"built for an unknown backend {self.backend[:40]}"]
        env = environment(self.backend)
        built, here = self.backend_version, env["backend_version"]
        if self.backend == Runtime.TENSORRT:
            if built != here:
                problems.append(f"built with TensorRT {built}, this machine has {here}")
            gpu_built, gpu_here = self.gpu or {}, env.get("gpu") or {}
            if gpu_built and gpu_here and gpu_built != gpu_here:
                problems.append(
                    f"built for {gpu_built.get('name')} (sm {gpu_built.get('compute_capability')}), "
                    f"this is {gpu_here.get('name')} (sm {gpu_here.get('compute_capability')})"
                )
        elif str(built).split(".")[:2] != str(here).split(".")[:2]:
            problems.append(f"built with {self.backend} {built}, this machine has {here}")
        source = Path(self.source_onnx or "")
        if source.is_file() and sha256_file(source) != self.source_sha256:
            problems.append(f"its source ONNX {source} changed since the build")
        return problems


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def manifest_path(engine: Path) -> Path:
    return engine.with_name(engine.name + ".json")


def write(engine: Path, manifest: EngineManifest) -> Path:
    from edgecolor import jsonio

    path = manifest_path(engine)
    with atomic_output(path) as tmp:
        tmp.write_text(jsonio.dumps(manifest.to_json(), indent=1, sort_keys=True) + "\n")
    return path


def write_json(engine: Path, data: dict[str, Any]) -> Path:
    """:func:`write` for a manifest given as JSON (a hand-made or foreign sidecar: tests, other tools)."""
    return write(engine, EngineManifest.from_json(data))


def read(engine: Path) -> EngineManifest:
    """The manifest of ``engine`` (bounded, see :mod:`edgecolor.jsonio`), or StaleEngine."""
    from edgecolor import inputs, jsonio

    path = manifest_path(engine)
    remedy = "rebuild the engine with edgecolor build"
    try:
        missing = inputs.kind(path, "manifest") == "missing"
    except InputError as err:
        raise StaleEngine(err.problem, remedy) from err
    if missing:
        raise StaleEngine(
            f"engine {engine} has no manifest {path.name} (interrupted or foreign build)",
            "rebuild it with edgecolor build",
        )
    found = jsonio.load(path, f"manifest {path}", StaleEngine, remedy, max_bytes=4 << 20)
    if not isinstance(found, dict):
        raise StaleEngine(f"manifest {path} is not a JSON object", remedy)
    return EngineManifest.from_json(found)


def check(engine: Path, backend: str | None = None) -> EngineManifest:
    """The manifest of a usable ``engine``; :class:`StaleEngine` (carrying the manifest, so the caller can rebuild)
    for a stale one.

    With ``backend``, an engine built for another backend is refused first: that is the real reason it
    cannot run here, whatever else (versions, hashes) differs."""
    engine = Path(engine)
    manifest = read(engine)
    if backend is not None and manifest.backend != backend:
        want = Runtime(backend).label
        built = manifest.backend
        flag = Runtime(built).flag if built in Runtime.values() else "the backend it was built for"
        raise ModelError(
            f"{engine.name} was built for {str(built)[:40]}, not {want}",
            f"pass a {want} engine, or run it with {flag}",
        )
    problems = manifest.mismatches(engine)
    if problems:
        raise StaleEngine(f"engine {engine.name} is stale: {'; '.join(problems)}",
                          f"rebuild it: {manifest.rebuild_command} (or edgecolor build --rebuild-if-stale)", manifest)
    return manifest
