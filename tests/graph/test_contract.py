"""graph/contract.py is the one owner of the frame-model contract: its tensor names, scopes and metadata keys are
spelled nowhere else in the package, metadata is read and written only through FrameModelInfo, and
check_frame_model is the one check (tiny hand-made signatures, expected vs got)."""

import ast
import dataclasses
import re
from pathlib import Path

import onnx
import pytest

import edgecolor
from edgecolor.errors import ModelError
from edgecolor.graph.contract import FRAME, FRAME_OUT, FrameModelInfo, TensorSig, check_frame_model

PACKAGE = Path(edgecolor.__file__).parent
OWNER = PACKAGE / "graph" / "contract.py"
KEYS = re.compile(r"\bedgecolor\.(" + "|".join(f.name for f in dataclasses.fields(FrameModelInfo)) + r")\b")
SCOPES = re.compile(r"(?<![\w/.])(net|pre|post)/")


def _code_strings(path):
    """``(line, text)`` of every string constant in ``path``'s code, f-string pieces included, docstrings not."""
    tree = ast.parse(path.read_text())
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def _strays(match):
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == OWNER:
            continue
        found += [f"{path.relative_to(PACKAGE)}:{line} {text[:60]!r}" for line, text in _code_strings(path)
                  if match(text)]
    return found


def test_contract_names_live_only_in_graph_contract():
    found = _strays(lambda t: t in (FRAME, FRAME_OUT) or "not a frame model" in t)
    assert not found, "import the names / call check_frame_model from edgecolor.graph.contract: " + ", ".join(found)


def test_scopes_and_metadata_keys_are_spelled_only_in_graph_contract():
    found = _strays(lambda t: bool(KEYS.search(t) or SCOPES.search(t)))
    assert not found, ("use the scope constants and FrameModelInfo from edgecolor.graph.contract: "
                       + ", ".join(found))


def test_metadata_props_are_touched_only_by_the_contract():
    def touches(path):
        return any(isinstance(n, ast.Attribute) and n.attr in ("metadata_props", "set_model_props")
                   for n in ast.walk(ast.parse(path.read_text())))

    callers = sorted(p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py") if p != OWNER and touches(p))
    assert callers == [], f"read/write metadata through FrameModelInfo: {callers}"


def test_backends_and_builder_call_the_one_check():
    callers = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")
               if p != OWNER and "check_frame_model(" in p.read_text()}
    assert callers == {"backends/onnxruntime/engine.py", "backends/onnxruntime/split.py", "backends/tensorrt/engine.py",
                       "backends/openvino/engine.py", "builder/pipeline.py"}  # openvino.py: the style path


def test_frame_model_info_round_trips_and_keeps_foreign_keys():
    model = onnx.ModelProto()
    onnx.helper.set_model_props(model, {"edgecolor.task": "colorize", "edgecolor.net_size": "224",
                                        "author": "someone", "edgecolor.unknown_key": "kept"})
    info = FrameModelInfo.read(model)
    assert (info.task, info.net_size, info.own_colorizer, info.adapted) == ("colorize", "224", True, False)
    assert dict(info.foreign) == {"author": "someone", "edgecolor.unknown_key": "kept"}
    info.replace(name="x").write(model)
    assert {p.key: p.value for p in model.metadata_props} == {
        "edgecolor.task": "colorize", "edgecolor.net_size": "224", "edgecolor.name": "x", "author": "someone",
        "edgecolor.unknown_key": "kept"}
    assert FrameModelInfo().runs_as == "stylize" and info.checked_net_size("m") == 224
    with pytest.raises(ModelError, match=r"m's edgecolor.net_size metadata is '0x'"):
        info.replace(net_size="0x").checked_net_size("m")


FRAME_SIG = TensorSig(FRAME, "uint8", ("N", "H", "W", 3))
OUT_SIG = TensorSig(FRAME_OUT, "uint8", ("N", "H", "W", 3))


@pytest.mark.parametrize("inputs, outputs, defaults, said", [
    ([TensorSig("x", "float32", (1, 3))], [OUT_SIG], (), "has no uint8 input 'frame' (inputs: x)"),
    ([TensorSig(FRAME, "float32", ("N", "H", "W", 3))], [OUT_SIG], (),
     "'frame' is float32 [N, H, W, 3], must be uint8"),
    ([TensorSig(FRAME, "uint8", (1, 10))], [OUT_SIG], (), "'frame' is uint8 [1, 10]"),
    ([FRAME_SIG], [], (), "0 outputs, must be one uint8 frame"),
    ([FRAME_SIG], [TensorSig("y", "uint8", ("N", 4))], (), "its output y is uint8 [N, 4]"),
    ([FRAME_SIG, TensorSig("gain", "float32", ())], [OUT_SIG], (), "needs input(s) gain besides 'frame'"),
    ([FRAME_SIG, TensorSig("gain", "int64", ())], [OUT_SIG], ("gain",), "gain are not float32 scalars"),
])
def test_check_frame_model_says_expected_and_got(inputs, outputs, defaults, said):
    with pytest.raises(ModelError) as err:
        check_frame_model(inputs, outputs, "m.onnx", defaults)
    assert said in str(err.value) and str(err.value).startswith("m.onnx") and "\n" not in str(err.value)


def test_a_frame_model_with_a_defaulted_scalar_passes():
    check_frame_model([FRAME_SIG, TensorSig("gain", "float32", ())], [OUT_SIG], "m.onnx", {"gain"})
    check_frame_model([TensorSig(FRAME, "uint8", (1, None, None, None))], [OUT_SIG], "m.onnx")  # channels symbolic
