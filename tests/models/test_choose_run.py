"""Choosing which training run ships: validation numbers only (RUN_RULE), every candidate recorded."""

import json

import onnx
import pytest

from edgecolor.errors import InputError
from edgecolor.models.ship_colorizer import RUN_RULE, choose_run

from helpers import tiny_colorizer


def run(tmp_path, name, psnr, ratio, bad, nw, false=0.02, chosen=0.75):
    folder = tmp_path / name
    folder.mkdir()
    path = tiny_colorizer(folder / "colorizer.onnx")
    model = onnx.load(str(path))
    measured = {} if false is None else {"false_colour": false}  # None: recorded before false colour was measured
    strengths = (0.5, round(chosen, 3), 1.0)  # an export records its table rounded to 3 decimals
    table = [{"strength": s, "psnr_db": psnr - abs(s - 0.75), "gray_psnr_db": 19.4, "colourfulness_ratio": ratio,
              "delta_e76": 21.0, "gray_delta_e76": 25.0, "bad_fraction": bad} | measured for s in strengths]
    for key, value in {"edgecolor.colour_strength_validation": json.dumps({"chosen": chosen, "table": table}),
                       "edgecolor.training": json.dumps({"config": {"neutral_weight": nw, "steps": 1500,
                                                                    "seed": 0, "lr": 1e-3}})}.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))
    return folder


def test_the_best_validation_psnr_among_runs_that_meet_every_limit_ships(tmp_path):
    runs = [run(tmp_path, "a", 21.0, 0.57, 0.08, 2.0),
            run(tmp_path, "b", 21.3, 0.45, 0.05, 5.0),  # best PSNR, but too little colour: does not qualify
            run(tmp_path, "c", 21.1, 0.51, 0.06, 5.0)]
    shipped = tmp_path / "assets" / "colorizer.onnx"
    selection = choose_run(runs, shipped)
    assert selection["chosen"] == "c" and selection["rule"] == RUN_RULE
    assert [(c["run"], c["qualifies"]) for c in selection["candidates"]] == [("a", True), ("b", False), ("c", True)]
    meta = {p.key: p.value for p in onnx.load(str(shipped)).metadata_props}
    assert json.loads(meta["edgecolor.model_selection"]) == selection
    assert json.loads(meta["edgecolor.training"])["config"]["neutral_weight"] == 5.0  # run c's own record
    with pytest.raises(InputError, match="has no exported colorizer.onnx"):
        choose_run([tmp_path])  # a folder without an export


def test_a_run_that_tints_neutral_pixels_does_not_qualify_and_an_unmeasured_one_is_refused(tmp_path):
    runs = [run(tmp_path, "a", 21.0, 0.57, 0.08, 2.0),
            run(tmp_path, "b", 21.3, 0.55, 0.05, 5.0, false=0.05)]  # best PSNR, but 5% of neutral pixels tinted
    selection = choose_run(runs)
    assert selection["chosen"] == "a" and [c["qualifies"] for c in selection["candidates"]] == [True, False]
    assert selection["candidates"][1]["val_false_colour"] == 0.05
    with pytest.raises(InputError, match="has no false colour"):
        choose_run([*runs, run(tmp_path, "old", 22.0, 0.6, 0.0, 5.0, false=None)])


def test_a_run_whose_recorded_table_rounds_its_strength_is_judged_on_that_row(tmp_path):
    """An export records its table rounded to 3 decimals: a run chosen at 0.3125 has a row 0.312."""
    runs = [run(tmp_path, "a", 21.0, 0.57, 0.08, 2.0, chosen=0.3125), run(tmp_path, "b", 21.3, 0.45, 0.05, 5.0)]
    selection = choose_run(runs)
    assert selection["chosen"] == "a"
    assert selection["candidates"][0]["strength"] == 0.3125 and selection["candidates"][0]["qualifies"]
