"""The JSON sidecar every engine gets, and the check a loader runs before using an engine.

``<engine>.json`` records what built the engine (edgecolor, backend and version, GPU and compute
capability for TensorRT), from what (ONNX sha256, calibration hash), how (precision, profile, options) and
how well it matched FP32. :func:`check` refuses an engine whose manifest is missing or does not match this
machine / the current ONNX, naming the rebuild command; ``rebuild_if_stale`` rebuilds instead.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

from edgecolor.errors import InputError, ModelError
from edgecolor.imageio import atomic_output

log = logging.getLogger(__name__)
SCHEMA = 1


class StaleEngine(ModelError):
    """The engine does not match this machine or its source model any more."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def manifest_path(engine: Path) -> Path:
    return engine.with_name(engine.name + ".json")


def write(engine: Path, manifest: dict[str, Any]) -> Path:
    from edgecolor import jsonio

    path = manifest_path(engine)
    with atomic_output(path) as tmp:
        tmp.write_text(
            jsonio.dumps({"schema": SCHEMA, **manifest}, indent=1, sort_keys=True) + "\n"
        )
    return path


def read(engine: Path) -> dict[str, Any]:
    """The manifest of ``engine`` as a JSON object (bounded, see :mod:`edgecolor.jsonio`), or StaleEngine."""
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
    return found


def accuracy(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The manifest's accuracy-gate record (``gate``) with numeric fields, or None when absent or malformed (it
    is information for tables, not a reason to refuse an engine)."""
    acc = manifest.get("gate")
    if not isinstance(acc, dict):
        return None
    numbers = ("psnr_vs_fp32_db", "delta_e_vs_fp32")
    if not all(isinstance(acc.get(k), (int, float)) and not isinstance(acc.get(k), bool) for k in numbers):
        log.warning("manifest gate record has non-numeric fields: ignored")
        return None
    return acc


def current_environment(backend: str) -> dict[str, Any]:
    """Backend version (and GPU for TensorRT) of this machine, in the manifest's terms."""
    if backend == "tensorrt":
        from edgecolor.backends.tensorrt import gpu_identity, trt_version

        return {"backend_version": trt_version(), "gpu": gpu_identity()}
    if backend == "openvino":
        from edgecolor.errors import require

        return {"backend_version": require("openvino", "openvino").__version__}
    import onnxruntime

    return {"backend_version": onnxruntime.__version__}


_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "backend": str, "backend_version": (str, type(None)), "engine_sha256": str, "source_onnx": (str, type(None)),
    "source_sha256": (str, type(None)), "gpu": (dict, type(None)), "rebuild_command": str,
}


def mismatches(manifest: dict[str, Any], engine: Path) -> list[str]:
    """Why ``engine`` cannot be used here; empty when it can."""
    problems = []
    if manifest.get("schema") != SCHEMA:
        problems.append(f"manifest schema {str(manifest.get('schema'))[:40]} != {SCHEMA}")
    wrong = [k for k, kind in _FIELD_TYPES.items() if k in manifest and not isinstance(manifest[k], kind)]
    if wrong:  # a hand-edited or foreign file: say which fields, do not trip over them below
        return [*problems, f"manifest fields of the wrong type: {', '.join(wrong)}"]
    if not engine.is_file():
        return [*problems, f"engine file {engine} is missing"]
    if sha256_file(engine) != manifest.get("engine_sha256"):
        problems.append("the engine file was changed after it was built")
    env = current_environment(manifest.get("backend", "onnxruntime"))
    built, here = manifest.get("backend_version"), env["backend_version"]
    if manifest.get("backend") == "tensorrt":
        if built != here:
            problems.append(f"built with TensorRT {built}, this machine has {here}")
        gpu_built, gpu_here = manifest.get("gpu") or {}, env.get("gpu") or {}
        if gpu_built and gpu_here and gpu_built != gpu_here:
            problems.append(
                f"built for {gpu_built.get('name')} (sm {gpu_built.get('compute_capability')}), "
                f"this is {gpu_here.get('name')} (sm {gpu_here.get('compute_capability')})"
            )
    elif str(built).split(".")[:2] != str(here).split(".")[:2]:
        problems.append(f"built with {manifest.get('backend', 'onnxruntime')} {built}, this machine has {here}")
    source = Path(manifest.get("source_onnx") or "")
    if source.is_file() and sha256_file(source) != manifest.get("source_sha256"):
        problems.append(f"its source ONNX {source} changed since the build")
    return problems


def check(engine: Path, rebuild_if_stale: bool = False, backend: str | None = None) -> dict[str, Any]:
    """The manifest of a usable ``engine``; refuse (or rebuild, when asked) a stale one.

    With ``backend``, an engine built for another backend is refused first: that is the real reason it
    cannot run here, whatever else (versions, hashes) differs."""
    engine = Path(engine)
    manifest = read(engine)
    if backend is not None and manifest.get("backend") != backend:
        from edgecolor.choices import EngineBackend

        want = EngineBackend(backend).label
        built = manifest.get("backend")
        flag = EngineBackend(built).flag if built in EngineBackend.values() else "the backend it was built for"
        raise ModelError(
            f"{engine.name} was built for {str(built)[:40]}, not {want}",
            f"pass a {want} engine, or run it with {flag}",
        )
    problems = mismatches(manifest, engine)
    if not problems:
        return manifest
    command = manifest.get("rebuild_command", "edgecolor build MODEL ...")
    if not rebuild_if_stale:
        raise StaleEngine(
            f"engine {engine.name} is stale: {'; '.join(problems)}",
            f"rebuild it: {command} (or pass --rebuild-if-stale)",
        )
    log.warning("engine %s is stale (%s): rebuilding", engine, "; ".join(problems))
    from edgecolor.builder.pipeline import BuildConfig, build
    from edgecolor.choices import Overwrite

    build(BuildConfig.from_manifest(manifest), overwrite=Overwrite.YES)  # asked for: --rebuild-if-stale
    return read(engine)
