"""Issue 10 item 6: every --help has an example that parses; long work shows progress; refusals come first.

- every command's and group's ``--help`` holds ``Example: edgecolor ...``, and that example parses with the
  command's real options (so an example cannot rot when an option is renamed);
- ``build`` reports calibration and gate frames, ``bench`` its rows, through a progress callback / bar;
- ``bench --plot`` without matplotlib is refused before any timing; ``eval colorizer`` on gray photos is
  refused with one line (it printed nan); an FP16 build does not warn about INT8 ranges.
"""

from __future__ import annotations

import logging
import shlex
import sys
from pathlib import Path

import cv2
import pytest
import typer
from typer.testing import CliRunner

from edgecolor.cli import app
from edgecolor.errors import install_command

from helpers import random_bgr, tiny_colorizer


def invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def _commands() -> list[tuple[str, ...]]:
    root = typer.main.get_command(app)
    found: list[tuple[str, ...]] = [()]

    def walk(cmd, path: tuple[str, ...]) -> None:
        for name, sub in getattr(cmd, "commands", {}).items():
            found.append((*path, name))
            walk(sub, (*path, name))

    walk(root, ())
    return found


COMMANDS = _commands()


def test_the_walk_finds_every_command():
    assert {("run",), ("data", "fetch"), ("eval", "colorizer"), ("train", "style"), ("models",)} <= set(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "edgecolor")
def test_every_help_has_an_example_that_parses(path):
    res = invoke(*path, "--help")
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "Example: edgecolor" in text, f"edgecolor {' '.join(path)} --help has no example"
    for example in text.split("Example: ")[1:]:  # every example, each up to the next one or section
        for section in (" Options:", " Arguments:", " Kiosk demo:", " Keys (window)", " jetson-utils'"):
            example = example.split(section)[0]
        tokens = shlex.split(example)[1:]
        root = typer.main.get_command(app)
        cmd, ctx_name = root, "edgecolor"
        while tokens and tokens[0] in getattr(cmd, "commands", {}):
            ctx_name = tokens[0]
            cmd = cmd.commands[tokens.pop(0)]
        assert getattr(cmd, "commands", None) is None, f"example '{example}' names a group, not a command"
        cmd.make_context(ctx_name, tokens)  # raises a usage error when the example uses a wrong option


# --- progress ------------------------------------------------------------------------------------------------
def _frames(folder: Path, n: int, seed: int = 0) -> Path:
    folder.mkdir()
    for i in range(n):
        cv2.imwrite(str(folder / f"f{i:02d}.png"), random_bgr(24, 32, seed + i))
    return folder


def test_build_reports_calibration_and_gate_progress(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the calibration cache lands in ./calibration: start without one
    from edgecolor.builder.pipeline import BuildConfig, build

    model = tiny_colorizer(tmp_path / "tiny.onnx")
    seen: dict[str, list[tuple[int, int]]] = {}
    cfg = BuildConfig(model=str(model), precision="int8", output=tmp_path / "e.onnx",
                      calib=_frames(tmp_path / "c", 12), calib_frames=8, holdout_frames=3, threads=1,
                      gate_data=str(_frames(tmp_path / "g", 3, seed=100)))
    build(cfg, on_progress=lambda what, done, total: seen.setdefault(what, []).append((done, total)))
    assert seen["calibrating"][-1] == (8, 8)
    assert seen["accuracy gate"] == [(1, 3), (2, 3), (3, 3)]


def test_bench_shows_one_progress_step_per_row(tmp_path, monkeypatch):
    import edgecolor.cli.bench as bench_cli

    steps = []
    real = bench_cli.progress

    def spy(enabled: bool = True):
        ctx = real(enabled)

        class Spy:
            def __enter__(self):
                bar = ctx.__enter__()
                orig = bar.advance
                bar.advance = lambda task, advance=1: (steps.append(task), orig(task, advance))
                return bar

            def __exit__(self, *exc):
                return ctx.__exit__(*exc)

        return Spy()

    monkeypatch.setattr(bench_cli, "progress", spy)
    model = tiny_colorizer(tmp_path / "tiny.onnx")
    res = invoke("bench", model, "--resolutions", "32x24,64x48", "--iterations", 2, "--warmup", 0, "--threads", 1)
    assert res.exit_code == 0, res.output
    assert len(steps) == 2


# --- refusals before slow work --------------------------------------------------------------------------------
def test_bench_plot_without_matplotlib_is_refused_before_timing(tmp_path, monkeypatch):
    import edgecolor.bench.runner as runner

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    monkeypatch.setattr(runner, "time_calls", lambda *a, **k: pytest.fail("timed before checking matplotlib"))
    res = invoke("bench", tiny_colorizer(tmp_path / "t.onnx"), "--plot", tmp_path / "p.png", "--iterations", 1)
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert res.exit_code == 2 and len(lines) == 1 and install_command("eval") in lines[0], res.output


@pytest.mark.parametrize("gray, colour", [(3, 0), (1, 2)])
def test_eval_colorizer_on_gray_photos_is_refused(gray, colour, tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    for i in range(gray):
        cv2.imwrite(str(data / f"g{i}.png"), cv2.cvtColor(cv2.cvtColor(random_bgr(32, 32, i), cv2.COLOR_BGR2GRAY),
                                                          cv2.COLOR_GRAY2BGR))
    for i in range(colour):
        cv2.imwrite(str(data / f"c{i}.png"), random_bgr(32, 32, 10 + i))
    res = invoke("eval", "colorizer", "--data", data, "--model", tiny_colorizer(tmp_path / "t.onnx"),
                 "--no-classifier")
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert res.exit_code == 2 and len(lines) == 1, res.output
    assert f"{gray} of {gray + colour} evaluation photos are grayscale" in lines[0] and "nan" not in res.output


def test_eval_colorizer_on_colour_photos_still_scores(tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    for i in range(2):
        cv2.imwrite(str(data / f"c{i}.png"), random_bgr(32, 32, i))
    res = invoke("eval", "colorizer", "--data", data, "--model", tiny_colorizer(tmp_path / "t.onnx"),
                 "--no-classifier", "--json")
    assert res.exit_code == 0 and '"photos": 2' in res.stdout, res.output


@pytest.mark.parametrize("trained_fold, asked, refused", [(None, 0, "every source"), (1, 0, "fold 1's split"),
                                                          (1, 1, None), ("old", 0, None),
                                                          # a refit that names its sources: the fold's own
                                                          (["user"], 0, "user"), (["older-package"], 0, None)])
def test_validation_scores_only_a_model_that_held_the_fold_out(trained_fold, asked, refused, tmp_path):
    import json

    import onnx

    from edgecolor.data.corpus import build_corpus

    src = tmp_path / "photos"
    src.mkdir()
    for i in range(20):
        cv2.imwrite(str(src / f"p{i}.png"), cv2.resize(random_bgr(8, 8, i), (200, 160)))
    build_corpus(tmp_path / "corpus", from_folder=src)
    model = onnx.load(str(tiny_colorizer(tmp_path / "t.onnx")))
    config = {} if trained_fold == "old" else {"val_fold": trained_fold}  # "old": recorded before folds existed
    record: dict = {"config": config}
    if isinstance(trained_fold, list):
        record = {"config": {"val_fold": None}, "train_sources": trained_fold}
    model.metadata_props.add(key="edgecolor.training", value=json.dumps(record))
    onnx.save(model, str(tmp_path / "t.onnx"))
    res = invoke("eval", "colorizer", "--data", tmp_path / "corpus", "--validation", "--val-fold", asked,
                 "--model", tmp_path / "t.onnx", "--no-classifier", "--json")
    if refused:
        lines = [ln for ln in res.output.splitlines() if ln.strip()]
        assert res.exit_code == 2 and len(lines) == 1 and f"trained on {refused}" in lines[0], res.output
    else:
        assert res.exit_code == 0 and '"photos": 2' in res.stdout, res.output


@pytest.mark.parametrize("args, says", [
    (["--val-fold", "4"], "'4' is not one of '0', '1', '2', '3', 'all'"),
    (["--val-fold", "all"], "--val-fold all needs the 4 fold runs"),
    (["--val-fold", "all", "--folds", "runs/a,runs/b"], "--val-fold all needs the 4 fold runs"),
    (["--val-fold", "1", "--folds", "runs/a,runs/b,runs/c"], "only with --val-fold all"),
    (["--loss", "l1"], "'l1' is not one of 'pixel', 'log-crop'"),
    (["--chroma-gamma", "5"], "--chroma-gamma 5.0 is out of range"),
    (["--decoder", "huge"], "'huge' is not one of 'base', 'wide'"),
    (["--head", "bins"], "'bins' is not one of 'regression', 'classes'"),
    (["--encoder", "lite4"], "'lite4' is not one of 'lite0', 'lite2'"),
    (["--anneal-t", "0"], "--anneal-t 0.0 is out of range"),
    (["--rebalance", "0.5"], "Invalid value for --rebalance: only with --head classes"),
    (["--class-neutral-weight", "5"], "Invalid value for --class-neutral-weight: only with --head classes"),
])
def test_train_colorizer_refuses_bad_folds_before_any_work(args, says, tmp_path):
    res = invoke("train", "colorizer", "--corpus", tmp_path / "none", "--out", tmp_path / "run", *args)
    assert res.exit_code == 2 and says in " ".join(res.output.split()), res.output
    assert not (tmp_path / "run").exists()


def test_the_class_heads_options_pass_with_the_class_head(tmp_path):
    res = invoke("train", "colorizer", "--corpus", tmp_path / "none", "--out", tmp_path / "run", "--head", "classes",
                 "--rebalance", "0.5", "--class-neutral-weight", "5")
    assert "only with --head classes" not in res.output and "no corpus at" in res.output, res.output


@pytest.mark.parametrize("precision, warns", [("fp16", False), ("int8", True)])
def test_only_int8_builds_warn_about_int8_ranges(precision, warns, tmp_path, caplog, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from edgecolor.builder.pipeline import BuildConfig, build

    cfg = BuildConfig(model=str(tiny_colorizer(tmp_path / "tiny.onnx")), precision=precision,
                      output=tmp_path / "e.onnx", calib=_frames(tmp_path / "c", 12), calib_frames=8,
                      holdout_frames=3, threads=1, gate_data=str(_frames(tmp_path / "g", 3, seed=100)))
    with caplog.at_level(logging.WARNING):
        build(cfg)
    assert any("INT8 ranges" in r.getMessage() for r in caplog.records) == warns
