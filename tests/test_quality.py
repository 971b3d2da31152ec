import numpy as np
import pytest

from edgecolor.errors import InputError
from edgecolor.quality import colourfulness, contact_sheet, delta_e76, psnr, ssim

from helpers import random_bgr


def test_psnr_known_value():
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 16  # mse = 256 / 48
    assert psnr(a, b) == pytest.approx(10 * np.log10(255**2 / (256 / 48)))
    assert psnr(a, a) == float("inf")


def test_ssim_matches_scikit_image():
    metrics = pytest.importorskip("skimage.metrics")
    a = random_bgr(64, 64, 1)
    b = np.clip(a.astype(int) + np.random.default_rng(2).integers(-20, 20, a.shape), 0, 255).astype(np.uint8)
    ref = metrics.structural_similarity(a, b, channel_axis=2, gaussian_weights=True, sigma=1.5,
                                        use_sample_covariance=False, data_range=255)
    assert ssim(a, b) == pytest.approx(ref, abs=0.01)
    assert ssim(a, a) == pytest.approx(1.0)


def test_colourfulness_gray_is_zero_and_colour_is_not():
    gray = np.repeat(random_bgr(10, 10)[..., :1], 3, axis=2)
    assert colourfulness(gray) == pytest.approx(0.0)
    red = np.zeros((10, 10, 3), np.uint8)
    red[..., 2] = 255  # rg = 255, yb = 127.5 everywhere: M = 0.3 * hypot(255, 127.5)
    assert colourfulness(red) == pytest.approx(0.3 * np.hypot(255, 127.5))


def test_delta_e_zero_for_identical_and_matches_lab_distance():
    a = random_bgr(8, 8, 3)
    assert delta_e76(a, a) == 0.0
    black, white = np.zeros((2, 2, 3), np.uint8), np.full((2, 2, 3), 255, np.uint8)
    assert delta_e76(black, white) == pytest.approx(100.0, abs=0.1)


def test_mismatched_shapes_raise():
    with pytest.raises(InputError, match="same shape"):
        psnr(np.zeros((2, 2, 3), np.uint8), np.zeros((3, 2, 3), np.uint8))


def test_contact_sheet_layout():
    rows = [[random_bgr(10, 20), random_bgr(10, 10)], [random_bgr(20, 20), random_bgr(5, 10)]]
    sheet = contact_sheet(rows, ["a", "b"], cell=32)
    assert sheet.dtype == np.uint8 and sheet.shape[0] == 28 + 2 * 32 and sheet.shape[1] == 64 + 64


def test_strength_rule_refuses_strengths_that_hurt_many_photos():
    from edgecolor.jobs.eval_colorizer import pick_strength, strength_table

    rng = np.random.default_rng(0)
    truths = [np.clip(rng.normal(128, 40, (16, 16, 3)), 0, 255).astype(np.uint8) for _ in range(10)]
    truths += [np.full((16, 16, 3), (200, 201, 199), np.uint8) + np.uint8(i) for i in range(10)]  # near-neutral
    photos = [(str(i), t) for i, t in enumerate(truths)]
    true_of = {t.tobytes(): t for t in truths}
    from edgecolor.colour import to_gray_bgr

    gray_to_truth = {to_gray_bgr(t).tobytes(): t for t in true_of.values()}

    def colorize_at(gray, s):  # colour on the vivid photos, best at s >= 1; a pink cast above s = 0.5 on neutral ones
        truth = gray_to_truth[gray.tobytes()]
        if truth.std() < 2:
            return np.clip(gray.astype(int) + np.array([0, 0, 40]) * max(s - 0.5, 0), 0, 255).astype(np.uint8)
        return np.clip(gray + (truth.astype(float) - gray) * 0.9 * min(s, 1.0), 0, 255).astype(np.uint8)

    table = strength_table([(colorize_at, photos)], grid=(0.25, 0.5, 1.0, 1.5))
    strength = pick_strength(table)
    by = {r["strength"]: r for r in table}
    assert by[1.5]["bad_fraction"] > 0.1  # the most faithful on vivid photos hurts the neutral half
    assert by[1.0]["bad_fraction"] > 0.1 and by[1.0]["colourfulness_ratio"] > by[0.5]["colourfulness_ratio"]
    assert strength == 0.5 and by[0.5]["bad_fraction"] <= 0.1


def test_eval_lists_the_worst_photos_and_counts_those_below_gray():
    from edgecolor.colour import to_gray_bgr
    from edgecolor.jobs.eval_colorizer import evaluate_colorizer

    rng = np.random.default_rng(1)
    photos = [(f"p{i}", np.clip(rng.normal(128, 30, (16, 16, 3)), 0, 255).astype(np.uint8)) for i in range(6)]

    def colorize(gray):  # ruins one photo, leaves the others gray
        return np.zeros_like(gray) if gray.tobytes() == to_gray_bgr(photos[3][1]).tobytes() else gray

    result = evaluate_colorizer(colorize, photos)
    assert result["model"]["below_gray_2db"] == 1 and result["gray"]["below_gray_2db"] == 0
    assert result["worst"][0]["name"] == "p3" and result["worst"][0]["db_below_gray"] > 2
    assert len(result["worst"]) == 5


def test_a_pooled_strength_table_scores_each_group_with_its_own_colorizer():
    from edgecolor.colour import to_gray_bgr
    from edgecolor.jobs.eval_colorizer import strength_table

    rng = np.random.default_rng(1)
    truths = [np.clip(rng.normal(128, 40, (16, 16, 3)), 0, 255).astype(np.uint8) for _ in range(6)]
    photos = [(str(i), t) for i, t in enumerate(truths)]

    def tint(cb):  # a colorizer adding a fixed blue offset, scaled by the strength
        return lambda gray, s: np.clip(gray.astype(int) + np.array([cb, 0, 0]) * s, 0, 255).astype(np.uint8)

    pooled = strength_table([(tint(10), photos[:2]), (tint(40), photos[2:])], grid=(0.5, 1.0))
    # the same as one colorizer that applies each group's own tint to its own photos
    by_truth = {to_gray_bgr(t).tobytes(): (10 if i < 2 else 40) for i, t in enumerate(truths)}
    single = strength_table([(lambda g, s: tint(by_truth[g.tobytes()])(g, s), photos)], grid=(0.5, 1.0))
    assert pooled == single
    assert strength_table([(tint(10), photos)], grid=(1.0,))[0]["psnr_db"] != pooled[1]["psnr_db"]
    groups = [(tint(10), photos[:2]), (tint(40), photos[2:])]
    per = strength_table(groups, grid=(0.5, 1.0), per_group=True)
    assert [{k: v for k, v in r.items() if k != "groups"} for r in per] == pooled
    assert [r["groups"] for r in per] == [[strength_table([g], grid=(s,))[0] for g in groups] for s in (0.5, 1.0)]
