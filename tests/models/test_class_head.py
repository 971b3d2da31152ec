"""The colorizer's quantised-chroma head (``--head classes``): its annealed mean, its loss and weights, and its
export."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite_pytorch")

from edgecolor.models.colorizer import (  # noqa: E402
    CHROMA_BINS,
    CHROMA_CELLS,
    NET_SIZE,
    Colorizer,
    chroma_centres,
    count_macs,
)
from edgecolor.models.export import export_core, load_colorizer  # noqa: E402
from edgecolor.models.train_colorizer import class_loss, nearest_class, rebalance_weights  # noqa: E402

from helpers import random_bgr  # noqa: E402


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    model = Colorizer(pretrained=False, head="classes").eval()
    with torch.no_grad():  # spread the random logits so the annealed mean is not near gray everywhere
        model.head.logits.weight.mul_(200)
    return model


def test_confident_logits_give_the_cell_centre(net):
    centres = chroma_centres()
    k = 3 * CHROMA_CELLS + 9
    logits = torch.full((1, CHROMA_BINS, 2, 2), -20.0)
    logits[:, k] = 20.0
    out = net.head.chroma(logits)
    assert torch.allclose(out[0, :, 0, 0], centres[k], atol=1e-3)
    assert centres[k].tolist() == [(3 - 5) * 20.0, (9 - 5) * 20.0]


def test_a_lower_temperature_moves_the_output_toward_the_likeliest_cell():
    """--anneal-t: the export's temperature. Two cells, the likelier gray and the other vivid: the lower T, the
    nearer gray the output; at a high T it is nearer the plain mean."""
    from edgecolor.models.colorizer import ANNEAL_T, ClassHead

    head = ClassHead(4)
    gray, vivid = 5 * CHROMA_CELLS + 5, 9 * CHROMA_CELLS + 5  # (0, 0) and (80, 0)
    logits = torch.full((1, CHROMA_BINS, 1, 1), -30.0)
    logits[:, gray], logits[:, vivid] = 0.3, 0.0
    out = {}
    for t in (2.0, ANNEAL_T, 0.1):
        head.temperature = t
        out[t] = float(head.chroma(logits)[0, 0, 0, 0])
    assert out[2.0] > out[ANNEAL_T] > out[0.1] > 0 and out[0.1] < 4.0 and out[2.0] > 30.0
    assert "temperature" not in head.state_dict()  # not a weight: a checkpoint exports at any T


def test_loss_is_lowest_at_the_truths_cells():
    chroma = torch.zeros(1, 2, 4, 4)
    chroma[:, 0], chroma[:, 1] = 54.0, -26.0  # Cb 2.7 cells, Cr -1.3 cells from the centre cell (5, 5)
    weights = torch.ones(CHROMA_BINS)
    right = torch.full((1, CHROMA_BINS, 2, 2), -10.0)
    for i, j in [(7, 3), (7, 4), (8, 3), (8, 4)]:  # the four cells around (5 + 2.7, 5 - 1.3)
        right[:, i * CHROMA_CELLS + j] = 10.0
    gray = torch.full((1, CHROMA_BINS, 2, 2), -10.0)
    gray[:, 5 * CHROMA_CELLS + 5] = 10.0
    assert class_loss(right, chroma, weights) < 1.5 < class_loss(gray, chroma, weights)
    assert nearest_class(torch.nn.functional.avg_pool2d(chroma, 2))[0, 0, 0] == 8 * CHROMA_CELLS + 4


def test_neutral_weight_counts_the_cross_entropy_of_gray_truth_more():
    """--class-neutral-weight: a wrong colour on a gray half of the crop costs (1 + W) times as much as with W 0;
    on a vivid half nearly as much as before."""
    chroma = torch.zeros(1, 2, 4, 4)
    chroma[:, 1, :, 2:] = 90.0  # the left half gray, the right half strong red
    weights = torch.ones(CHROMA_BINS)
    wrong = torch.full((1, CHROMA_BINS, 2, 2), -10.0)
    wrong[:, 0] = 10.0  # the far corner cell everywhere: wrong on both halves
    gray_only, vivid_only = chroma[..., :2], chroma[..., 2:]
    for part, gain in ((gray_only, 6.0), (vivid_only, 1.0)):
        ratio = class_loss(wrong[..., :1], part, weights, 5.0) / class_loss(wrong[..., :1], part, weights)
        assert float(ratio) == pytest.approx(gain, rel=1e-3)


def test_rare_colours_weigh_more():
    chroma = np.zeros((8, 2, 8, 8), np.float32)
    chroma[0, 1] = 90.0  # one crop of strong red among gray ones
    w = rebalance_weights(chroma, 0.5)
    gray, red = 5 * CHROMA_CELLS + 5, nearest_class(torch.full((1, 2, 1, 1), 0.0).index_fill_(1, torch.tensor([1]),
                                                                                          90.0))[0, 0, 0]
    assert w[red] > 1.0 > w[gray]
    assert torch.allclose(rebalance_weights(chroma, 1.0), torch.ones(CHROMA_BINS))


def test_export_matches_torch_and_reloads(net, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    assert count_macs(net) <= 2e9
    core = export_core(net, torch.zeros(1, 1, NET_SIZE, NET_SIZE), "luma", "chroma")
    sess = ort.InferenceSession(core.SerializeToString(), providers=["CPUExecutionProvider"])
    x = torch.from_numpy(random_bgr(NET_SIZE, NET_SIZE)[..., 0].astype(np.float32))[None, None]
    with torch.no_grad():
        ref = net(x).numpy()
    got = sess.run(None, {"luma": x.numpy()})[0]
    assert got.shape == (1, 2, NET_SIZE // 2, NET_SIZE // 2) and np.abs(ref).max() > 10
    assert np.abs(got - ref).max() < 0.05
    torch.save(net.state_dict(), tmp_path / "w.pt")
    again = load_colorizer(tmp_path / "w.pt")
    assert again.head_kind == "classes"
    with torch.no_grad():
        assert torch.allclose(again(x), net(x), atol=1e-4)


def test_class_weights_come_from_the_training_crops_unless_rebalancing_is_off():
    from edgecolor.models.train_colorizer import CropSampler, TrainConfig, class_weights_of

    red = np.zeros((64, 64, 3), np.uint8)
    red[..., 2] = 200
    gray = np.full((64, 64, 3), 128, np.uint8)
    samplers = {"scene": CropSampler([gray, gray, gray, red], seed=0)}
    off = class_weights_of({}, samplers, TrainConfig(head="classes", rebalance=1.0), n=8)
    assert torch.equal(off, torch.ones(CHROMA_BINS))
    on = class_weights_of({}, samplers, TrainConfig(head="classes", rebalance=0.5), n=8)
    assert on[5 * CHROMA_CELLS + 5] < 1.0 < on.max()


def _exported(net, path):
    """``net`` exported as training exports it, its batch norms given distinct statistics first: freshly made ones
    fold to equal biases, which the exporter shares through Identity nodes where a trained model has one
    initializer per convolution."""
    import copy

    from edgecolor.graph.contract import FrameModelInfo
    from edgecolor.models.export import export_colorizer

    like_trained = copy.deepcopy(net)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in like_trained.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.rand(m.running_mean.shape, generator=gen) * 0.2 - 0.1)
                m.bias.copy_(torch.rand(m.bias.shape, generator=gen) * 0.2 - 0.1)
    export_colorizer(like_trained, path, FrameModelInfo(name="colorizer"), colour_strength=1.0, chroma_gamma=0.75)
    return path


def test_tunes_decoder_of_a_class_head_model_is_the_models_own(net, tmp_path):
    """find_decoder reads the quantised-chroma head (its 1x1 logits, cell centres and temperature); tune's Decoder
    fed the encoder's features gives the network chroma the whole model gives, and new head weights land in it."""
    import onnx
    import onnxruntime as ort

    from edgecolor.models.tune import Decoder
    from edgecolor.models.tune_graph import (
        colour_model,
        decoder_weights,
        encoder_model,
        find_decoder,
        head_centres,
        with_decoder,
    )

    model = onnx.load(str(_exported(net, tmp_path / "classes.onnx")))
    graph = find_decoder(model)
    assert graph.temperature == pytest.approx(net.head.temperature) and graph.scale == 1.0
    assert np.array_equal(head_centres(model, graph), chroma_centres().numpy())
    weights = decoder_weights(model, graph)
    assert weights[-1][0].shape == (CHROMA_BINS, 32, 1, 1)

    def session(m):
        return ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])

    frame = random_bgr(64, 80, seed=5)[None]
    *feats, _ = session(encoder_model(model, graph, from_frame=True)).run(None, {"frame": frame})
    decoder = Decoder(weights, graph.scale, head_centres(model, graph), graph.temperature)
    with torch.no_grad():
        chroma = decoder([torch.from_numpy(f) for f in feats]).numpy()
    assert np.abs(chroma).max() > 5
    parts = session(colour_model(model, graph)).run(
        None, {"frame": frame, graph.chroma: chroma, "colour_strength": np.array(1.0, np.float32)})[0]
    whole = session(model).run(None, {"frame": frame})[0]
    assert np.abs(parts.astype(int) - whole).max() <= 1
    decoder.zero_head()  # every cell alike: the mean of the symmetric grid, no colour
    with torch.no_grad():
        assert np.abs(decoder([torch.from_numpy(f) for f in feats]).numpy()).max() < 1e-3
    gray = session(with_decoder(model, graph, decoder.weights())).run(None, {"frame": frame})[0][0]
    assert np.abs(gray.astype(int) - gray.mean(axis=2, keepdims=True)).max() <= 2


def test_tune_adapts_a_class_head_model_and_colorize_takes_the_result(net, tmp_path, monkeypatch):
    """The user's path for a model trained with --head classes: tune it on a few colour photos, then colour a
    gray photo with the tuned model."""
    import json

    import cv2
    from typer.testing import CliRunner

    from edgecolor.cli import app

    model = _exported(net, tmp_path / "classes.onnx")
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(6):
        cv2.imwrite(str(photos / f"p{i}.png"), random_bgr(64, 80, seed=i))
    res = CliRunner().invoke(app, ["tune", "colorizer", str(photos), "-o", str(tmp_path / "site.onnx"),
                                   "--model", str(model), "--steps", "2", "--minutes", "3", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["steps"]["done"] == 2
    monkeypatch.chdir(tmp_path)
    cv2.imwrite("old.png", cv2.cvtColor(cv2.cvtColor(random_bgr(48, 64, seed=9), cv2.COLOR_BGR2GRAY),
                                        cv2.COLOR_GRAY2BGR))
    res = CliRunner().invoke(app, ["colorize", "old.png", "-o", "coloured.png", "--model", "site.onnx"])
    assert res.exit_code == 0, res.output
    assert cv2.imread("coloured.png").shape == (48, 64, 3)


def test_a_luma_prior_adds_to_the_class_heads_chroma_before_the_curve(net, tmp_path):
    """with_site_prior on a quantised-chroma model: a zero table leaves the output as it was, a table of one chroma
    everywhere moves every pixel's chroma that way (the prior adds to the annealed mean, under the same curve)."""
    import onnx
    import onnxruntime as ort

    from edgecolor.colour import bgr_to_ycc
    from edgecolor.graph.contract import FrameModelInfo
    from edgecolor.models.export import export_colorizer
    from edgecolor.models.tune_graph import network_chroma, prior_table, with_site_prior

    path = tmp_path / "classes.onnx"
    export_colorizer(net, path, FrameModelInfo(name="colorizer"), colour_strength=1.0, chroma_gamma=0.75)
    base = onnx.load(str(path))
    assert network_chroma(base) == ("net/raw_chroma", False) and prior_table(base) is None
    frame = random_bgr(64, 80, seed=3)[None]

    def run(model: onnx.ModelProto) -> np.ndarray:
        return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(
            None, {"frame": frame})[0][0]

    table = np.zeros((256, 2), np.float32)
    assert np.abs(run(with_site_prior(base, table)).astype(int) - run(base)).max() <= 1
    table[:, 1] = 40.0  # every luma level: Cr + 40
    tinted = with_site_prior(base, table)
    assert network_chroma(tinted) == ("net/raw_chroma", True) and np.array_equal(prior_table(tinted), table)
    cr_shift = bgr_to_ycc(run(tinted))[1][..., 1] - bgr_to_ycc(run(base))[1][..., 1]
    assert np.median(cr_shift) > 10 and (cr_shift > 0).mean() > 0.9
