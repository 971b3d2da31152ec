import cv2
import numpy as np
import pytest

from edgecolor.errors import InputError
from edgecolor.quality import colour_recall, colourfulness, contact_sheet, delta_e76, false_colour, psnr, ssim, to_lab

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


def lch(lightness: float, chroma: float, hue_deg: float, shape=(2, 2)) -> np.ndarray:
    """A uint8 BGR patch of one CIELAB colour given as L*, chroma C* and hue h (degrees); rounding to 8 bits moves
    C* by well under 1 and h by about 1 degree at C* = 40, so the tests keep that far from every limit."""
    h = np.radians(hue_deg)
    lab = np.array([[[lightness, chroma * np.cos(h), chroma * np.sin(h)]]], np.float32)
    px = np.clip(np.rint(cv2.cvtColor(lab, cv2.COLOR_Lab2BGR) * 255), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.broadcast_to(px, (*shape, 3)))


GRAY = np.full((2, 2, 3), 128, np.uint8)  # chroma 0: every pixel neutral


def test_a_neutral_truth_fully_tinted_is_all_false_colour_and_has_nothing_to_recall():
    tinted = lch(55, 30, 250)
    assert false_colour(tinted, GRAY) == 1.0
    assert false_colour(GRAY, GRAY) == 0.0
    assert false_colour(lch(55, 10, 250), GRAY) == 0.0  # chroma 10 is not above 12: not a tint
    assert np.isnan(colour_recall(tinted, GRAY))  # no colourful truth pixel: nothing to recall


def test_colour_recall_counts_hue_within_45_degrees_and_chroma_above_10():
    truth = lch(60, 40, 0)
    assert colour_recall(truth, truth) == 1.0  # the exact colour
    assert colour_recall(lch(60, 40, 90), truth) == 0.0  # 90 degrees off
    assert colour_recall(lch(60, 40, 40), truth) == 1.0 and colour_recall(lch(60, 40, -40), truth) == 1.0
    assert colour_recall(lch(60, 40, 50), truth) == 0.0 and colour_recall(lch(60, 40, 180), truth) == 0.0
    assert colour_recall(lch(60, 15, 0), truth) == 1.0  # faint but the right hue: recalled
    assert colour_recall(lch(60, 7, 0), truth) == 0.0  # chroma 7 is not above 10
    assert colour_recall(GRAY, truth) == 0.0  # the gray input recalls nothing
    assert colour_recall(lch(60, 40, 350), lch(60, 40, 20)) == 1.0  # 30 degrees apart across 0/360
    assert np.isnan(false_colour(truth, truth))  # no neutral truth pixel


def test_truth_pixels_below_the_colourful_limit_or_above_the_neutral_one_are_not_counted():
    faint = lch(60, 16, 0)  # chroma 16: neither colourful (> 20) nor neutral (< 8)
    assert np.isnan(colour_recall(GRAY, faint)) and np.isnan(false_colour(lch(60, 40, 90), faint))
    # one pixel of each kind: a red recalled, a red turned green, a gray left gray, a gray tinted blue
    truth = np.concatenate([lch(60, 40, 0, (1, 2)), lch(60, 16, 0, (1, 2)), np.full((1, 2, 3), 128, np.uint8)], 0)
    out = np.concatenate([np.concatenate([lch(60, 40, 0, (1, 1)), lch(60, 40, 135, (1, 1))], 1),
                          lch(60, 40, 180, (1, 2)),  # the faint row: any colour here counts nowhere
                          np.concatenate([np.full((1, 1, 3), 128, np.uint8), lch(60, 30, 250, (1, 1))], 1)], 0)
    assert colour_recall(out, truth) == 0.5 and false_colour(out, truth) == 0.5


def reference_scores(output: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Colour recall and false colour from scikit-image's CIELAB (an independent sRGB -> Lab)."""
    color = pytest.importorskip("skimage.color")
    lab_o, lab_t = (color.rgb2lab(img[..., ::-1] / 255.0) for img in (output, truth))
    c_o, c_t = np.hypot(lab_o[..., 1], lab_o[..., 2]), np.hypot(lab_t[..., 1], lab_t[..., 2])
    off = np.degrees(np.angle(np.exp(1j * (np.arctan2(lab_o[..., 2], lab_o[..., 1])
                                           - np.arctan2(lab_t[..., 2], lab_t[..., 1])))))
    colourful, neutral = c_t > 20, c_t < 8
    recall = ((c_o > 10) & (np.abs(off) <= 45))[colourful].mean()
    return float(recall), float((c_o > 12)[neutral].mean())


def mixed_pair(shape: tuple[int, int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A truth with vivid, near-neutral and faint pixels (a third each), and a noisy copy as the output."""
    rng = np.random.default_rng(seed)
    n = shape[0] * shape[1]
    spread = np.array([60, 3, 12])[np.arange(n) % 3][:, None]
    truth = np.clip(rng.integers(0, 256, (n, 1)) + rng.integers(-1, 2, (n, 3)) * spread, 0, 255)
    out = np.clip(truth + rng.integers(-50, 51, (n, 3)), 0, 255)
    return (out.astype(np.uint8).reshape(*shape, 3), truth.astype(np.uint8).reshape(*shape, 3))


@pytest.mark.parametrize("shape", [(40, 30), (48, 64)])
def test_recall_and_false_colour_match_scikit_image_lab(shape):
    out, truth = mixed_pair(shape, shape[0])
    got = colour_recall(out, truth), false_colour(out, truth)
    # OpenCV's float Lab agrees with scikit-image's to ~0.3 (its a*, b* come in steps of 1/64): a pixel or two of
    # a thousand may sit on a limit
    assert np.abs(to_lab(truth) - color_lab(truth)).max() < 0.5
    assert got == pytest.approx(reference_scores(out, truth), abs=0.01)
    assert 0.05 < got[0] < 0.95 and 0.05 < got[1] < 0.95  # both are tested away from 0 and 1


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (5, 3)])
def test_recall_and_false_colour_are_shares_or_nan_at_any_size(shape):
    out, truth = mixed_pair(shape, 3)
    for v in (colour_recall(out, truth), false_colour(out, truth)):
        assert np.isnan(v) or 0.0 <= v <= 1.0


def color_lab(img: np.ndarray) -> np.ndarray:
    color = pytest.importorskip("skimage.color")
    return color.rgb2lab(img[..., ::-1] / 255.0)


@pytest.mark.parametrize("fn", [colour_recall, false_colour])
def test_recall_and_false_colour_refuse_bad_input(fn):
    with pytest.raises(InputError, match="same shape"):
        fn(np.zeros((2, 2, 3), np.uint8), np.zeros((2, 3, 3), np.uint8))
    with pytest.raises(InputError, match="uint8"):
        fn(np.zeros((2, 2, 3), np.float32), np.zeros((2, 2, 3), np.float32))
    with pytest.raises(InputError, match=r"shape \(H, W, 3\)"):
        fn(np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8))


def test_mismatched_shapes_raise():
    with pytest.raises(InputError, match="same shape"):
        psnr(np.zeros((2, 2, 3), np.uint8), np.zeros((3, 2, 3), np.uint8))


def test_contact_sheet_layout():
    rows = [[random_bgr(10, 20), random_bgr(10, 10)], [random_bgr(20, 20), random_bgr(5, 10)]]
    sheet = contact_sheet(rows, ["a", "b"], cell=32)
    assert sheet.dtype == np.uint8 and sheet.shape[0] == 28 + 2 * 32 and sheet.shape[1] == 64 + 64


def test_strength_rule_refuses_strengths_that_hurt_many_photos():
    from edgecolor.models.scoring import pick_strength, strength_table

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
    from edgecolor.evaluation.colorizer import evaluate_colorizer

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
    from edgecolor.models.scoring import strength_table

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


def test_strength_rule_refuses_strengths_that_tint_neutral_pixels():
    """Issue 32: the default strength also keeps false colour at most 0.04 on validation. A colorizer that is
    faithful on vivid photos (best PSNR at strength 1) but casts blue on neutral ones above strength 0.6 ships at
    0.6, though at strength 1 it meets every other limit."""
    from edgecolor.colour import to_gray_bgr
    from edgecolor.models.scoring import MAX_FALSE_COLOUR, meets_strength_limits, pick_strength, strength_table

    rng = np.random.default_rng(4)
    vivid = [np.clip(rng.normal(128, 50, (16, 16, 3)), 0, 255).astype(np.uint8) for _ in range(12)]
    neutral = np.full((16, 16, 3), (121, 120, 119), np.uint8)  # one of 13: below gray at s = 1 but under 10%
    photos = [(str(i), t) for i, t in enumerate([*vivid, neutral])]
    truth_of = {to_gray_bgr(t).tobytes(): t for _, t in photos}

    def colorize_at(gray, s):
        truth = truth_of[gray.tobytes()]
        if truth is neutral:  # a blue cast from s = 0.6 (chroma ~15 at s = 1)
            cast = np.array([24, 0, -6]) * max((s - 0.6) / 0.4, 0)
            return np.clip(gray.astype(float) + cast, 0, 255).astype(np.uint8)
        return np.clip(gray + (truth.astype(float) - gray) * 0.9 * min(s, 1.0), 0, 255).astype(np.uint8)

    table = strength_table([(colorize_at, photos)], grid=(0.6, 1.0))
    by = {r["strength"]: r for r in table}
    assert by[1.0]["false_colour"] > MAX_FALSE_COLOUR >= by[0.6]["false_colour"]
    assert by[1.0]["psnr_db"] > by[0.6]["psnr_db"]
    assert meets_strength_limits(by[1.0], max_false=1.0)  # every other limit holds at 1.0
    assert not meets_strength_limits(by[1.0]) and meets_strength_limits(by[0.6])
    assert pick_strength(table) == 0.6 and pick_strength(table, max_false=1.0) == 1.0
    assert 0 < by[0.6]["colour_recall"] <= by[1.0]["colour_recall"] <= 1
    assert not meets_strength_limits({k: v for k, v in by[0.6].items() if k != "false_colour"})  # unmeasured
