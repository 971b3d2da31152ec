"""edgecolor.overwrite's policy: -y / -n parsed once, and refuse_existing for outputs that cannot be complete."""

import pytest

from edgecolor.choices import Overwrite
from edgecolor.errors import InputError, OutputError
from edgecolor.overwrite import overwrite_policy, refuse_existing


@pytest.mark.parametrize(("yes", "no", "policy"), [
    (False, False, Overwrite.SKIP), (True, False, Overwrite.YES), (False, True, Overwrite.NO)])
def test_overwrite_policy(yes, no, policy):
    assert overwrite_policy(yes, no) is policy


def test_y_and_n_together_are_refused():
    with pytest.raises(InputError, match="contradict"):
        overwrite_policy(True, True)


@pytest.mark.parametrize(("policy", "exists", "error"), [
    (Overwrite.SKIP, False, None), (Overwrite.NO, False, None), (Overwrite.YES, True, None),
    (Overwrite.SKIP, True, "e.onnx already exists; pass -y to overwrite it"),
    (Overwrite.NO, True, "e.onnx already exists and -n never overwrites it; choose another path"),
])
def test_refuse_existing(tmp_path, policy, exists, error):
    out = tmp_path / "e.onnx"
    if exists:
        out.write_bytes(b"engine")
    if error is None:
        refuse_existing(out, policy, "engine")
        return
    with pytest.raises(OutputError) as exc:
        refuse_existing(out, policy, "engine")
    problem, _, remedy = error.partition("; ")
    assert exc.value.problem.endswith(problem) and exc.value.remedy.lower().startswith(remedy)
    assert out.read_bytes() == b"engine"
