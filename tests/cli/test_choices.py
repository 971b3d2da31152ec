"""Choices are str Enums: ``--help`` lists them, a bad value exits 2 in one line, and the lists are defined once."""

import pytest
from typer.testing import CliRunner

from edgecolor.choices import Backend, CalibMethod, CpuPath, On, Precision, Target
from edgecolor.cli import app


def _run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


CASES = [
    ("build", "--precision", Precision), ("build", "--target", Target), ("build", "--calib-method", CalibMethod),
    ("colorize", "--cpu-path", CpuPath), ("colorize", "--on", On), ("stylize", "--on", On),
    ("run", "--backend", Backend),
]


@pytest.mark.parametrize("command, option, choice", CASES)
def test_help_lists_the_choices(command, option, choice):
    res = _run(command, "--help")
    assert res.exit_code == 0
    assert f"{option} <{'|'.join(choice.values())}>" in " ".join(res.output.split()), res.output


@pytest.mark.parametrize("command, option, choice", CASES)
def test_a_bad_value_exits_2_in_one_line(command, option, choice, tmp_path):
    args = {"build": ["colorizer"], "colorize": [tmp_path / "a.png", "-o", tmp_path / "b.png"],
            "stylize": [tmp_path / "a.png", "-o", tmp_path / "b.png"], "run": []}[command]
    res = _run(command, *args, option, "nonsense")
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert res.exit_code == 2 and len(lines) == 1, res.output
    assert option in lines[0] and "nonsense" in lines[0] and choice.values()[0] in lines[0]


def test_a_bad_precision_names_the_valid_ones_without_the_validators_wording():
    res = _run("build", "colorizer", "--precision", "int4")
    assert res.exit_code == 2
    assert res.output.strip() == ("error: Invalid value for '--precision': 'int4' is not one of 'fp32', 'fp16', "
                                  "'int8', 'bf16', 'auto'. Run 'edgecolor build --help' for usage.")


def test_cpu_paths_are_one_list():
    from edgecolor.backends import CPU_PATHS

    assert CPU_PATHS == ("auto", "graph", "split", "openvino", "openvino-bf16") == CpuPath.values()
