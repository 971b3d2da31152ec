"""Hostile values (issue 11): numeric options that are NaN, infinite or absurd, and JSON/metadata that is
deep, mistyped or cut short. Each is refused with one line (exit 2) or, for a damaged cache, rebuilt.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import typing
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from typer.testing import CliRunner

from edgecolor.cli import app
from edgecolor.errors import DataError, EdgecolorError, InputError, ModelError

from helpers import random_bgr, tiny_colorizer

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return tiny_colorizer(tmp_path_factory.mktemp("m") / "tiny.onnx")


def invoke(args: list) -> tuple[int, list[str], str]:
    res = CliRunner().invoke(app, [str(a) for a in args])
    return res.exit_code, [ln for ln in res.output.splitlines() if ln.startswith("error:")], res.output


# --- numeric options ---------------------------------------------------------------------------------------
NUMBER_CASES = [
    ["bench", "--duration", "nan"], ["bench", "--warmup", "inf"], ["bench", "--threads", "100000"],
    ["bench", "--iterations", "0"], ["bench", "--duration", "-1"], ["bench", "--duration", "nanms"],
    ["bench", "--warmup", "4000s"], ["bench", "--percentile", "101"],
    ["colorize", "x.png", "-o", "y.png", "--colour-strength", "nan"], ["colorize", "x.png", "-o", "y.png",
                                                                       "--threads", "-1"],
    ["stylize", "x.png", "--strength", "inf"], ["stylize", "x.png", "--max-side", "1000000000"],
    ["build", "colorizer", "--calib-frames", "1000000000"], ["build", "colorizer", "--workspace-mib", "0"],
    ["build", "colorizer", "--opt-level", "9"], ["build", "colorizer", "--threads", "100000"],
    ["run", "--max-frames", "0"], ["run", "--threads", "100000"],
    ["eval", "colorizer", "--data", ".", "--colour-strength", "-inf"],
    ["train", "colorizer", "--lr", "nan"], ["train", "colorizer", "--max-minutes", "inf"],
    ["train", "style", "--style-image", "x.jpg", "--name", "x", "--style-weight", "nan"],
]


@pytest.mark.parametrize("args", NUMBER_CASES, ids=[" ".join(a) for a in NUMBER_CASES])
def test_numeric_options_are_finite_and_bounded(args):
    code, errors, text = invoke(args)
    assert code == 2 and len(errors) == 1 and "out of range" in errors[0], text


def _callbacks(typer_app, prefix: str = "") -> list[tuple[str, object]]:
    found = [(f"{prefix} {c.name or c.callback.__name__}".strip(), c.callback) for c in typer_app.registered_commands]
    for group in typer_app.registered_groups:
        found += _callbacks(group.typer_instance, f"{prefix} {group.name}".strip())
    return found


def test_every_numeric_option_has_the_shared_validator():
    """One validator for all: a new numeric option without it fails here (click's ranges let NaN through)."""
    missing, seen = [], 0
    for name, callback in _callbacks(app):
        defaults = {k: p.default for k, p in inspect.signature(callback).parameters.items()}
        for param, hint in typing.get_type_hints(callback, include_extras=True).items():
            if typing.get_origin(hint) is not typing.Annotated:
                continue
            base, *info = typing.get_args(hint)
            kinds = set(typing.get_args(base)) or {base}
            # a text option whose default is a number with an optional unit (bench --warmup 2, 200ms) is numeric
            numeric_text = str in kinds and re.fullmatch(r"[0-9.]+(ms|s)?", str(defaults.get(param)))
            if (not kinds & {int, float} or bool in kinds) and not numeric_text:
                continue
            seen += 1
            check = getattr(info[0], "callback", None)
            if check is None or "bounded" not in check.__qualname__:
                missing.append(f"{name} {param}")
    assert seen >= 20 and missing == []


# --- JSON and metadata -------------------------------------------------------------------------------------
def _with_meta(src: Path, dst: Path, **changes: str | None) -> Path:
    m = onnx.load(str(src))
    meta = {p.key: p.value for p in m.metadata_props}
    for key, value in changes.items():
        key = f"edgecolor.{key}"
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    del m.metadata_props[:]
    helper.set_model_props(m, meta)
    onnx.save(m, dst)
    return dst


def _frame_graph(path: Path, nodes: list, inputs: list, out_shape: list) -> Path:
    graph = helper.make_graph(nodes, "g", inputs, [helper.make_tensor_value_info("y", TensorProto.UINT8, out_shape)])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, path)
    return path


FRAME_IN = helper.make_tensor_value_info("frame", TensorProto.UINT8, ["N", "H", "W", 3])


def _flat_output(path: Path) -> Path:
    return _frame_graph(path, [helper.make_node("Flatten", ["frame"], ["y"])], [FRAME_IN], ["N", "K"])


def _second_input(path: Path) -> Path:
    nodes = [helper.make_node("Cast", ["frame"], ["f"], to=TensorProto.FLOAT),
             helper.make_node("Mul", ["f", "gain"], ["g"]),
             helper.make_node("Cast", ["g"], ["y"], to=TensorProto.UINT8)]
    gain = helper.make_tensor_value_info("gain", TensorProto.FLOAT, [])
    return _frame_graph(path, nodes, [FRAME_IN, gain], ["N", "H", "W", 3])


MODEL_CASES = [
    ("deep-extra-inputs", lambda t, m: _with_meta(m, t / "d.onnx", extra_inputs=DEEP), "nests 100000 levels"),
    ("extra-default-a-string", lambda t, m: _with_meta(m, t / "s.onnx",
                                                       extra_inputs='{"colour_strength": {"default": "x"}}'),
     "malformed"),
    ("net-size-abc", lambda t, m: _with_meta(m, t / "a.onnx", net_size="abc"), "net_size metadata is 'abc'"),
    ("net-size-missing", lambda t, m: _with_meta(m, t / "n.onnx", net_size=None), "net_size metadata is missing"),
    ("net-size-huge", lambda t, m: _with_meta(m, t / "h.onnx", net_size="99999"), "not a size"),
    ("output-not-a-frame", lambda t, m: _flat_output(t / "f.onnx"), "not"),
    ("second-required-input", lambda t, m: _second_input(t / "g.onnx"), "gain"),
]


@pytest.mark.parametrize("command", ["colorize", "build"])
@pytest.mark.parametrize("case", MODEL_CASES, ids=[c[0] for c in MODEL_CASES])
def test_frame_models_with_absurd_metadata_are_refused(case, command, tmp_path, model, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bad = case[1](tmp_path, model)
    if command == "colorize":
        import cv2

        cv2.imwrite(str(tmp_path / "i.png"), random_bgr(12, 16))
        args = ["colorize", tmp_path / "i.png", "-o", tmp_path / "o.png", "--model", bad]
    else:
        args = ["build", bad, "--precision", "fp32", "-o", tmp_path / "e.onnx"]
    code, errors, text = invoke(args)
    assert code == 2 and len(errors) == 1 and case[2] in errors[0], text
    assert not (tmp_path / "o.png").exists() and not (tmp_path / "e.onnx").exists()


def test_deeply_nested_adapter_json_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    net = _frame_graph(tmp_path / "n.onnx", [helper.make_node("Identity", ["x"], ["y"])],
                       [helper.make_tensor_value_info("x", TensorProto.UINT8, ["N", "H", "W", 3])], ["N", "H", "W", 3])
    spec = tmp_path / "spec.json"
    spec.write_text('{"layout": "nchw", "extras": ' + DEEP + "}")
    code, errors, text = invoke(["build", net, "--precision", "fp32", "--adapter", spec, "-o", tmp_path / "e.onnx"])
    assert code == 2 and len(errors) == 1 and "nests" in errors[0], text


CORPUS_CASES = [
    ("deep", DEEP, "nests"),
    ("entries-not-a-list", '{"entries": {"file": "a.jpg"}}', "must be a list"),
    ("entry-not-an-object", '{"entries": [3]}', "not a JSON object"),
    ("file-a-number", '{"entries": [{"file": 7, "colourfulness": 20}]}', "'file' must be a string"),
    ("file-outside", '{"entries": [{"file": "../../etc/passwd", "colourfulness": 20}]}', "inside the corpus"),
    ("colourfulness-text", '{"entries": [{"file": "a.jpg", "colourfulness": "high"}]}', "'colourfulness'"),
    ("nan", '{"entries": [{"file": "a.jpg", "colourfulness": NaN}]}', "not valid JSON"),
]


@pytest.mark.parametrize("case", CORPUS_CASES, ids=[c[0] for c in CORPUS_CASES])
def test_corpus_manifests_are_bounded_and_typed(case, tmp_path):
    from edgecolor.data.corpus import load_manifest

    (tmp_path / "manifest.json").write_text(case[1])
    with pytest.raises(DataError, match=case[2]):
        load_manifest(tmp_path)


def test_a_well_formed_corpus_manifest_still_loads(tmp_path):
    from edgecolor.data.corpus import load_manifest

    entries = [{"file": "images/a.jpg", "colourfulness": 20.5, "source": "user"}]
    (tmp_path / "manifest.json").write_text(json.dumps({"entries": entries}))
    assert load_manifest(tmp_path) == entries


def test_non_numeric_accuracy_in_a_manifest_does_not_break_bench(tmp_path, model):
    from edgecolor.backends import manifest as mf

    engine = tmp_path / "acc.onnx"
    engine.write_bytes(model.read_bytes())
    import onnxruntime

    fresh = {"backend": "onnxruntime", "backend_version": onnxruntime.__version__,  # bench checks the manifest
             "engine_sha256": mf.sha256_file(engine)}
    mf.write_json(engine, {**fresh, "precision": "int8", "gate": {"psnr_vs_fp32_db": "abc", "delta_e_vs_fp32": []}})
    code, errors, text = invoke(["bench", engine, "--iterations", "2", "--warmup", "0", "--resolutions", "32x24"])
    assert code == 0 and not errors, text
    assert mf.read(engine).accuracy() is None


@pytest.mark.parametrize("damage", ["cut-short", "empty", "a-list"])
def test_a_damaged_calibration_cache_is_rebuilt_with_a_warning(tmp_path, caplog, damage):
    from edgecolor.graph.calibration import cache_paths

    meta = {"model_sha256": "x", "frames": ["a#1"]}
    scales, hit = cache_paths("k" * 64, meta, tmp_path)
    assert not hit
    whole = json.dumps({"tensors": {"t": [0.0, 1.0]}, "calibration_method": "Entropy"})
    scales.write_text({"cut-short": whole[: len(whole) // 2], "empty": "", "a-list": "[1, 2]"}[damage])
    with caplog.at_level(logging.WARNING):
        again, hit = cache_paths("k" * 64, meta, tmp_path)
    assert again == scales and not hit and not scales.exists()
    assert "damaged" in caplog.text
    scales.write_text(whole)
    assert cache_paths("k" * 64, meta, tmp_path) == (scales, True)


# --- the loader itself -------------------------------------------------------------------------------------
LOADS_CASES = [
    (DEEP, "nests 100000"), ('{"a": ' * 33 + "1" + "}" * 33, "nests 33"), ("[NaN]", "not a JSON number"),
    ("[Infinity]", "not a JSON number"), ('{"a": 1', "not valid JSON"), (b"\xff\xfe", "not valid JSON"),
    ("1" * (17 << 20), "larger than"),
]


@pytest.mark.parametrize("text,expect", LOADS_CASES, ids=[e for _, e in LOADS_CASES])
def test_bounded_loads(text, expect):
    from edgecolor import jsonio

    with pytest.raises(ModelError, match=expect):
        jsonio.loads(text, "x", ModelError)


def test_brackets_inside_strings_do_not_count_as_depth():
    from edgecolor import jsonio

    assert jsonio.depth('{"a": "[[[[{{{{", "b": ["\\"[["]}') == 2
    assert jsonio.loads('{"a": "' + "[" * 1000 + '"}', "x") == {"a": "[" * 1000}


FIELD_CASES = [
    ("text", {"k": 1}, "must be a string"), ("number", {"k": "1"}, "must be a number"),
    ("number", {"k": True}, "must be a number"), ("integer", {"k": 1.5}, "must be an integer"),
    ("mapping", {"k": []}, "not a JSON object"), ("items", {"k": {}}, "must be a list"),
    ("strings", {"k": ["a", 1]}, "list of strings"), ("text", {}, "is missing"),
]


@pytest.mark.parametrize("method,obj,expect", FIELD_CASES, ids=[f"{m}-{e}" for m, _, e in FIELD_CASES])
def test_typed_fields(method, obj, expect):
    from edgecolor.jsonio import Fields

    with pytest.raises(InputError, match=expect):
        getattr(Fields(obj, "f.json"), method)("k")


def test_typed_fields_pass_good_values_and_defaults():
    from edgecolor.jsonio import Fields

    f = Fields({"s": "a", "n": 2, "i": 3, "m": {"x": 1}, "l": ["a"]}, "f.json")
    assert (f.text("s"), f.number("n"), f.integer("i"), f.strings("l")) == ("a", 2.0, 3, ["a"])
    assert f.mapping("m").integer("x") == 1 and f.text("missing", "dflt") == "dflt"
    assert isinstance(np.float64(f.number("n")), np.floating)
    with pytest.raises(EdgecolorError):
        Fields([1], "f.json")


def test_json_output_writes_numpy_values_as_json_values(capsys):
    """One JSON writer: a count that is a numpy integer (a sum of numpy booleans) is a number in --json, not the
    string "1" (eval's per-source counts were), and arrays are lists."""
    from edgecolor.cli._common import emit_json
    from edgecolor.evaluation.colorizer import per_source

    rows = [{"name": "src/a.png", "psnr_model": np.float64(18.0), "psnr_gray": np.float64(21.0)},
            {"name": "src/b.png", "psnr_model": np.float64(22.0), "psnr_gray": np.float64(21.0)}]
    emit_json({"per_source": per_source(rows), "flag": np.bool_(True), "v": np.arange(2, dtype=np.int32),
               "f": np.float32(0.5), "path": Path("x/y")})
    out = json.loads(capsys.readouterr().out)
    assert out == {"per_source": {"src": {"photos": 2, "psnr_model": 20.0, "psnr_gray": 21.0, "below_gray_2db": 1}},
                   "flag": True, "v": [0, 1], "f": 0.5, "path": "x/y"}
