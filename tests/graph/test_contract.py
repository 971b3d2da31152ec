"""graph/frame.py is the one owner of the frame-model contract: its names are spelled nowhere else in the
package, and check_frame_model is the one check (tiny hand-made signatures, expected vs got)."""

import ast
import tokenize
from pathlib import Path

import pytest

import edgecolor
from edgecolor.errors import ModelError
from edgecolor.graph.frame import FRAME, FRAME_OUT, TensorSig, check_frame_model

PACKAGE = Path(edgecolor.__file__).parent
OWNER = PACKAGE / "graph" / "frame.py"


def _string_literals(path):
    with open(path, "rb") as f:
        for tok in tokenize.tokenize(f.readline):
            if tok.type == tokenize.STRING:
                try:
                    yield tok.start[0], ast.literal_eval(tok.string)
                except (ValueError, SyntaxError):  # f-strings
                    continue


def test_contract_names_and_check_live_only_in_graph_frame():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == OWNER:
            continue
        for line, value in _string_literals(path):
            if value in (FRAME, FRAME_OUT) or (isinstance(value, str) and "not a frame model" in value):
                found.append(f"{path.relative_to(PACKAGE)}:{line} {value!r}")
    assert not found, "import the names / call check_frame_model from edgecolor.graph.frame: " + ", ".join(found)


def test_backends_and_builder_call_the_one_check():
    callers = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")
               if p != OWNER and "check_frame_model(" in p.read_text()}
    assert callers == {"backends/onnxruntime.py", "backends/cpu_split.py", "backends/tensorrt_runtime.py",
                       "backends/openvino.py", "build/builder.py"}  # openvino.py: the style path


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
