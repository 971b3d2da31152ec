"""PyTorch colorizer vs its exported ONNX frame model, and the training loop's checkpoint/resume."""

import json

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite_pytorch")

from edgecolor.backends.onnxruntime import OrtEngine  # noqa: E402
from edgecolor.colour import BGR_FROM_CHROMA, LUMA_BGR  # noqa: E402
from edgecolor.graph.contract import FrameModelInfo  # noqa: E402
from edgecolor.models.colorizer import NET_SIZE, Colorizer, count_macs  # noqa: E402
from edgecolor.models.export import export_colorizer, export_core  # noqa: E402

from helpers import random_bgr  # noqa: E402


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    model = Colorizer(pretrained=False).eval()
    with torch.no_grad():  # make the random head produce visible chroma
        model.head.weight.mul_(20)
    return model


def test_macs_within_budget(net):
    assert count_macs(net) <= 2e9


def test_core_onnx_matches_torch(net):
    ort = pytest.importorskip("onnxruntime")
    core = export_core(net, torch.zeros(1, 1, NET_SIZE, NET_SIZE), "luma", "chroma")
    sess = ort.InferenceSession(core.SerializeToString(), providers=["CPUExecutionProvider"])
    x = torch.from_numpy(random_bgr(NET_SIZE, NET_SIZE)[..., 0].astype(np.float32))[None, None]
    x = torch.cat([x, 255 - x])
    with torch.no_grad():
        ref = net(x).numpy()
    got = sess.run(None, {"luma": x.numpy()})[0]
    # Tolerance: 0.05 on a 0..255 chroma scale (float32 reassociation differences only).
    assert got.shape == ref.shape and np.abs(got - ref).max() < 0.05


def test_frame_model_matches_torch_reference(net, tmp_path):
    """The whole frame model (graph colour math) vs numpy/torch colour math around the torch net: <= 2 LSB
    on a frame at the network size, where the graph's resizes are identities."""
    export_colorizer(net, tmp_path / "c.onnx", FrameModelInfo(name="t"), colour_strength=1.0)
    engine = OrtEngine(tmp_path / "c.onnx", threads=1)
    frame = cv2.GaussianBlur(random_bgr(NET_SIZE, NET_SIZE, 7), (5, 5), 2)
    luma = frame.astype(np.float32) @ LUMA_BGR
    with torch.no_grad():
        chroma_half = net(torch.from_numpy(luma)[None, None])
        chroma = torch.nn.functional.interpolate(chroma_half, size=(NET_SIZE, NET_SIZE), mode="bilinear",
                                                 align_corners=False)[0].permute(1, 2, 0).numpy()
    ref = np.clip(np.rint(luma[..., None] + chroma @ BGR_FROM_CHROMA.T), 0, 255)
    diff = np.abs(engine(frame).astype(int) - ref)
    assert diff.max() <= 2, diff.max()
    assert np.abs(chroma).max() > 5  # the check is not vacuous: the net produces real colour


def photo_corpus(tmp_path):
    """24 smooth colour photos as a corpus (a folder corpus: fold k validates photos k, k + 10, k + 20)."""
    from edgecolor.data.corpus import build_corpus

    src = tmp_path / "photos"
    src.mkdir()
    for i in range(24):
        small = np.random.default_rng(i).integers(0, 256, (6, 6, 3), dtype=np.uint8)
        img = cv2.resize(small, (260, 200), interpolation=cv2.INTER_CUBIC)
        img = np.clip(img.astype(int) + np.random.default_rng(i).integers(-5, 6, img.shape), 0, 255)
        cv2.imwrite(str(src / f"p{i}.png"), img.astype(np.uint8))
    build_corpus(tmp_path / "corpus", from_folder=src)
    return tmp_path / "corpus"


def test_train_resume_and_export(tmp_path):
    from edgecolor.models.train_colorizer import TrainConfig, train_colorizer

    photo_corpus(tmp_path)
    run = tmp_path / "run"
    cfg = TrainConfig(steps=2, batch=2, ckpt_every=1, val_every=1, val_crops=2, cache_crops=6)
    train_colorizer(tmp_path / "corpus", run, cfg)
    info = json.loads((run / "training.json").read_text())
    assert info["steps_done"] == 2 and info["val_rgb_mse_best"] <= info["val_rgb_mse_last"]
    more = TrainConfig(steps=3, batch=2, ckpt_every=1, val_every=1, val_crops=2, cache_crops=6)
    train_colorizer(tmp_path / "corpus", run, more, resume=True)
    log = [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3]

    from edgecolor.models.ship_colorizer import export_and_calibrate

    result = export_and_calibrate(run, tmp_path / "corpus")
    engine = OrtEngine(result["onnx"], threads=1)
    assert engine.defaults["colour_strength"] == result["colour_strength"]
    assert engine.info.task == "colorize"


def test_the_refit_ships_the_step_and_strength_the_folds_validate(tmp_path):
    from dataclasses import asdict, replace

    from edgecolor.errors import InputError
    from edgecolor.models.scoring import meets_strength_limits, pick_strength
    from edgecolor.models.ship_colorizer import export_and_calibrate
    from edgecolor.models.train_colorizer import TrainConfig, train_colorizer

    from helpers import tiny_colorizer

    corpus = photo_corpus(tmp_path)
    cfg = TrainConfig(steps=2, batch=2, ckpt_every=1, val_every=1, cache_crops=6, val_fold=None)
    refit = tmp_path / "refit"
    train_colorizer(corpus, refit, cfg)
    assert {p.name for p in refit.glob("step_*.pt")} == {"step_1.pt", "step_2.pt"}
    assert json.loads((refit / "training.json").read_text())["val_photos"] == 0

    def fold_run(name, fold, mse, **recipe):  # a finished fold run: stand-in model, validation at steps 1, 2
        folder = tmp_path / name
        folder.mkdir()
        tiny_colorizer(folder / "colorizer.onnx", cb=4.0 * (fold + 1), gain=0.3)
        config = asdict(replace(cfg, val_fold=fold, **recipe))
        (folder / "training.json").write_text(json.dumps({"config": config, "val_gray_rgb_mse": 100.0}))
        (folder / "train_log.jsonl").write_text("".join(
            json.dumps({"step": step, "val_rgb_mse": m}) + "\n" for step, m in zip((1, 2), mse, strict=True)))
        return folder

    # step 1 has the lower mean over the folds (fold 2 over-fits), though the refit's last step is 2
    folds = [fold_run("cv0", 0, (60, 55)), fold_run("cv1", 1, (70, 68)), fold_run("cv2", 2, (50, 80)),
             fold_run("cv3", 3, (65, 66))]
    before = [(f / "colorizer.onnx").read_bytes() for f in folds]
    result = export_and_calibrate(refit, corpus, tmp_path / "assets" / "colorizer.onnx", folds, chroma_gamma=0.75)
    assert [(f / "colorizer.onnx").read_bytes() for f in folds] == before  # curved copies, the runs untouched
    assert result["export_step"] == 1
    assert (refit / "colorizer.pt").read_bytes() == (refit / "step_1.pt").read_bytes()
    assert [(f["run"], f["val_fold"], f["photos"]) for f in result["folds"]] == [("cv0", 0, 3), ("cv1", 1, 3),
                                                                                 ("cv2", 2, 3), ("cv3", 3, 3)]
    assert result["colour_strength"] == pick_strength(result["validation"])
    engine = OrtEngine(tmp_path / "assets" / "colorizer.onnx", threads=1)
    record = json.loads(engine.info.colour_strength_validation)
    assert record["photos"] == 12 and record["export_step"] == 1 and engine.defaults["colour_strength"] == \
        result["colour_strength"]
    assert engine.info.training_data.startswith("24 photos")
    training = json.loads(engine.info.training)
    assert training["exported_step"] == 1 and training["folds"] == ["cv0", "cv1", "cv2", "cv3"]
    assert record["chroma_gamma"] == 0.75 and json.loads(engine.info.chroma_curve)["gamma"] == 0.75
    row = next(r for r in result["validation"] if r["strength"] == result["colour_strength"])
    assert record["meets_every_limit"] == meets_strength_limits(row)

    # the folds' engines carry the refit's curve: their pooled table differs from the one without it
    plain = export_and_calibrate(refit, corpus, None, folds)
    assert plain["chroma_gamma"] == 0.0 and plain["validation"] != result["validation"]
    assert OrtEngine(plain["onnx"], threads=1).info.chroma_curve is None

    with pytest.raises(InputError, match="another recipe .*neutral_weight"):
        export_and_calibrate(refit, corpus, None,
                             [*folds[:2], fold_run("cv2b", 2, (50, 80), neutral_weight=1.0), folds[3]])
    with pytest.raises(InputError, match="not each of"):
        export_and_calibrate(refit, corpus, None, [folds[0], folds[1], folds[1], folds[3]])
    with pytest.raises(InputError, match="not finished"):
        export_and_calibrate(refit, corpus, None, [folds[0], folds[1], tmp_path / "nothing", folds[3]])


def test_cached_features_give_the_same_chroma_as_the_encoder(net, tmp_path):
    from edgecolor.models.feature_cache import FeatureCache
    from edgecolor.models.train_colorizer import CropSampler

    imgs = [random_bgr(240, 300, seed=i) for i in range(3)]
    sampler = CropSampler(imgs, seed=0)
    lumas = []

    def sample(k):
        y, c = sampler.batch(k)
        lumas.append(y)
        return y, c

    cache = FeatureCache(tmp_path / "f", ["a", "b"], n=5)
    cache.build(net, sample, batch=2)
    feats, chroma = cache.batch(np.arange(5), torch.device("cpu"))
    with torch.no_grad():
        direct = net(torch.from_numpy(np.concatenate(lumas)))
        cached = net.decode(feats)
    assert chroma.shape == (5, 2, NET_SIZE, NET_SIZE)
    assert direct.abs().max() > 5 and (direct - cached).abs().max() < 0.5  # FP16 storage, chroma in 0..255 units
    again = FeatureCache(tmp_path / "f", ["a", "b"], n=5)  # a complete cache with the same key is reused
    again.build(net, lambda k: (_ for _ in ()).throw(AssertionError("rebuilt")), batch=2)
    other = FeatureCache(tmp_path / "f", ["other photos"], n=5)._state()
    assert other == {}  # a cache of other photos is never reused
    assert FeatureCache(tmp_path / "f", ["a", "b"], n=5, keep_luma=True)._state() == {}  # no luma kept: rebuilt
    kept = FeatureCache(tmp_path / "g", ["a", "b"], n=5, keep_luma=True)
    lumas.clear()
    kept.build(net, sample, batch=2)
    order = np.array([4, 0, 2])
    levels = kept.luma_levels(order, torch.device("cpu"))
    assert levels.dtype == torch.int64 and levels.shape == (3, 1, NET_SIZE, NET_SIZE)
    expected = np.rint(np.concatenate(lumas)[np.sort(order)])
    assert np.array_equal(levels.numpy(), expected)  # the crops batch() returns for the same indices


def test_a_resumed_or_grown_cache_holds_the_crops_one_uninterrupted_build_draws(net, tmp_path):
    from edgecolor.models.feature_cache import FeatureCache
    from edgecolor.models.train_colorizer import CropSampler

    imgs = [random_bgr(240, 300, seed=i) for i in range(3)]
    cpu = torch.device("cpu")

    def built(folder, n, stop_after=None):
        """A cache of ``n`` crops in ``folder`` built by a fresh run; ``stop_after`` batches, then interrupted."""
        sampler, calls = CropSampler(imgs, seed=0), []

        def sample(k):
            if stop_after is not None and len(calls) == stop_after:
                raise KeyboardInterrupt
            calls.append(k)
            return sampler.batch(k)

        cache = FeatureCache(folder, ["a", "b"], n=n, keep_luma=True)
        try:
            cache.build(net, sample, batch=2)
        except KeyboardInterrupt:
            return None
        return cache

    whole = built(tmp_path / "whole", 8)
    _, truth = whole.batch(np.arange(8), cpu)
    assert len({t.numpy().tobytes() for t in truth}) == 8  # eight distinct crops

    assert built(tmp_path / "resumed", 8, stop_after=2) is None  # 4 crops stored, then Ctrl+C
    resumed = built(tmp_path / "resumed", 8)
    assert torch.equal(resumed.batch(np.arange(8), cpu)[1], truth)  # not the first crops again

    small = built(tmp_path / "grown", 4)
    small_feats, _ = small.batch(np.arange(4), cpu)
    grown = built(tmp_path / "grown", 8)
    feats, chroma = grown.batch(np.arange(8), cpu)
    assert torch.equal(chroma, truth)
    assert all(torch.equal(a[:4], b) for a, b in zip(feats, small_feats, strict=True))  # kept, not encoded again
    assert torch.equal(grown.luma_levels(np.arange(8), cpu), whole.luma_levels(np.arange(8), cpu))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grown", "resumed", "whole"]  # no folder left beside it


def test_neutral_truth_makes_false_colour_cost_more():
    from edgecolor.models.train_colorizer import colour_loss

    truth = torch.zeros(1, 2, 8, 8)  # a white wall
    pink = torch.zeros(1, 2, 4, 4)
    pink[:, 1] = 20.0
    plain, weighted = colour_loss(pink, truth, 0.0), colour_loss(pink, truth, 2.0)
    assert float(weighted) == pytest.approx(3 * float(plain), rel=1e-5)
    vivid = torch.full((1, 2, 8, 8), 60.0)  # on vivid truth the same error costs the same as plain MSE
    pred = torch.full((1, 2, 4, 4), 80.0)
    assert float(colour_loss(pred, vivid, 2.0)) == pytest.approx(float(colour_loss(pred, vivid, 0.0)), rel=1e-3)


def test_the_top_stage_refined_from_cached_features_is_the_encoders_own_and_only_it_trains(net):
    """Training with --unfreeze-top recomputes the stride-32 feature from the cached stride-16 one: it must
    equal the encoder's, and only the last stage's parameters (besides the decoder) may get gradients."""
    x = torch.from_numpy(random_bgr(NET_SIZE, NET_SIZE)[..., 0].astype(np.float32))[None, None]
    with torch.no_grad():
        feats = net.encode(x)
        refined = net.refine_top([f.clone() for f in feats[:-1]] + [torch.zeros_like(feats[-1])])
    assert torch.allclose(refined[-1], feats[-1], atol=1e-4) and refined[-1].abs().max() > 0
    model = Colorizer(pretrained=False)
    top = model.freeze_encoder(except_top=True)
    trainable = {n for n, p in model.encoder.named_parameters() if p.requires_grad}
    assert top and len(trainable) == len(top)
    assert all(n.split(".")[1] in {str(i) for i in model.top_blocks()} for n in trainable)  # "blocks.<i>...."
    assert model.freeze_encoder() == [] and not any(p.requires_grad for p in model.encoder.parameters())
    model.train()
    assert not model.encoder.training and model.ups.training  # batch-norm statistics of the encoder stay


def test_log_crop_loss_weighs_each_crop_by_its_own_error():
    """--loss log-crop: the mean over crops of log(crop MSE + eps). Halving a near-neutral crop's small false
    tint must then pay at least half as much as halving a vivid crop's large error; the pixel mean barely notices
    the neutral crop."""
    from edgecolor.models.train_colorizer import LOG_CROP_EPS, colour_loss

    truth = torch.zeros(2, 2, 8, 8)
    truth[1] = 60.0  # crop 0: a white wall; crop 1: vivid
    pred = truth[:, :, ::2, ::2].clone()
    pred[0, 1] += 12.0  # a pink tint on the wall
    pred[1] += 40.0  # a large error on the vivid crop
    per_crop = [float(colour_loss(pred[i : i + 1], truth[i : i + 1])) for i in range(2)]
    got = float(colour_loss(pred, truth, loss="log-crop"))
    assert got == pytest.approx(float(np.mean(np.log(np.array(per_crop) + LOG_CROP_EPS))), rel=1e-5)

    def gain(loss: str, crop: int) -> float:  # how much the loss drops when that crop's error halves
        better = pred.clone()
        better[crop] = (better[crop] + truth[crop, :, ::2, ::2]) / 2
        return float(colour_loss(pred, truth, loss=loss) - colour_loss(better, truth, loss=loss))

    assert gain("pixel", 0) < 0.05 * gain("pixel", 1)  # the pixel mean: the wall hardly counts
    assert gain("log-crop", 0) > 0.5 * gain("log-crop", 1)  # per crop: the wall counts about as much


def test_an_unknown_loss_is_a_one_line_input_error():
    from edgecolor.errors import InputError
    from edgecolor.models.train_colorizer import colour_loss

    with pytest.raises(InputError, match="unknown loss 'l1'"):
        colour_loss(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 8, 8), loss="l1")


def test_a_texture_mix_trains_from_two_caches_shared_between_runs_and_a_wide_decoder_exports(tmp_path):
    """--texture-share draws each batch from the scene and texture pools, each with its own cached features
    (built once for runs that share --features-dir); --decoder wide trains, exports and reloads at its width."""
    from edgecolor.models.colorizer import WIDE_DECODER_CHANNELS
    from edgecolor.models.export import load_colorizer
    from edgecolor.models.train_colorizer import TrainConfig, train_colorizer

    corpus = photo_corpus(tmp_path)
    manifest = json.loads((corpus / "manifest.json").read_text())
    for i, e in enumerate(manifest["entries"]):
        e["kind"] = "texture" if i % 3 == 0 else "scene"
    (corpus / "manifest.json").write_text(json.dumps(manifest))
    shared = tmp_path / "features"
    base = dict(steps=2, batch=4, ckpt_every=1, val_every=1, val_crops=2, cache_crops=9, features_dir=str(shared))
    train_colorizer(corpus, tmp_path / "a", TrainConfig(**base, texture_share=0.5))
    states = {k: json.loads((shared / k / "state.json").read_text()) for k in ("scene", "texture")}
    assert states["scene"]["done"] == 6 and states["texture"]["done"] == 3  # two thirds scenes, a third textures
    stamp = (shared / "scene" / "feat_0.npy").stat().st_mtime_ns
    train_colorizer(corpus, tmp_path / "b", TrainConfig(**base, texture_share=0.25, decoder="wide"))
    assert (shared / "scene" / "feat_0.npy").stat().st_mtime_ns == stamp  # reused, not rebuilt
    info = json.loads((tmp_path / "b" / "training.json").read_text())
    assert info["config"]["texture_share"] == 0.25 and sum(info["train_photos_by_kind"].values()) == 21
    wide = load_colorizer(tmp_path / "b" / "colorizer.pt")
    assert wide.decoder_channels == WIDE_DECODER_CHANNELS and count_macs(wide) <= 2e9


def test_a_lite2_encoder_gets_its_own_features_and_exports_and_reloads_as_lite2(tmp_path):
    """--encoder lite2: the features cached for lite0 are not reused (other shapes), the model reloads with the
    encoder it trained with, and the export names it."""
    from edgecolor.models.export import load_colorizer
    from edgecolor.models.ship_colorizer import export_and_calibrate
    from edgecolor.models.train_colorizer import TrainConfig, train_colorizer

    corpus = photo_corpus(tmp_path)
    shared = tmp_path / "features"
    base = dict(steps=1, batch=2, ckpt_every=1, val_every=1, val_crops=2, cache_crops=4, features_dir=str(shared))
    train_colorizer(corpus, tmp_path / "l0", TrainConfig(**base))
    lite0_key = json.loads((shared / "state.json").read_text())["key"]
    train_colorizer(corpus, tmp_path / "l2", TrainConfig(**base, encoder="lite2", head="classes"))
    assert json.loads((shared / "state.json").read_text())["key"] != lite0_key
    assert np.load(shared / "feat_2.npy", mmap_mode="r").shape[1] == 48  # lite2's stride-8 channels (lite0: 40)
    model = load_colorizer(tmp_path / "l2" / "colorizer.pt")
    assert model.encoder.name == "lite2" and model.head_kind == "classes" and count_macs(model) <= 2e9
    result = export_and_calibrate(tmp_path / "l2", corpus, anneal_t=0.1)
    architecture = FrameModelInfo.read_file(result["onnx"]).architecture
    assert architecture.startswith("EfficientNet-Lite2 encoder") and "annealed mean (T 0.1)" in architecture
    assert load_colorizer(tmp_path / "l0" / "colorizer.pt").encoder.name == "lite0"


def test_a_texture_share_needs_textures(tmp_path):
    from edgecolor.errors import DataError
    from edgecolor.models.train_colorizer import TrainConfig, train_colorizer

    with pytest.raises(DataError, match="scenes and textures"):
        train_colorizer(photo_corpus(tmp_path), tmp_path / "run", TrainConfig(steps=1, texture_share=0.5))


def test_tiled_texture_crops_repeat_the_tile():
    from edgecolor.models.train_colorizer import CropSampler

    tile = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    sampler = CropSampler([tile], seed=0, tiled=True)
    luma, chroma = sampler.batch(3)
    assert luma.shape == (3, 1, NET_SIZE, NET_SIZE) and chroma.shape == (3, 2, NET_SIZE, NET_SIZE)


def test_the_compact_checkpoint_alone_resumes_a_run(tmp_path):
    """decoder.ckpt (decoder and optimizer moments in FP16, no encoder) is what a run keeps in git: --resume
    continues from it where the full checkpoint is gone."""
    from edgecolor.models.train_colorizer import COMPACT_CHECKPOINT, TrainConfig, train_colorizer

    corpus = photo_corpus(tmp_path)
    run = tmp_path / "run"
    cfg = dict(batch=2, ckpt_every=1, val_every=1, val_crops=2, cache_crops=6)
    train_colorizer(corpus, run, TrainConfig(steps=2, **cfg))
    compact, full = run / COMPACT_CHECKPOINT, run / "colorizer.ckpt"
    assert compact.stat().st_size < full.stat().st_size / 4
    state = torch.load(compact, weights_only=False)
    assert state["compact"] and state["step"] == 2 and not any(k.startswith("encoder.") for k in state["model"])
    full.unlink()
    train_colorizer(corpus, run, TrainConfig(steps=3, **cfg), resume=True)
    log = [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3]


def test_the_compact_checkpoint_of_a_run_with_the_top_stage_unfrozen_keeps_that_stage(tmp_path):
    """--unfreeze-top trains the encoder's last stage: its compact checkpoint holds those blocks (and no other
    encoder weights), as trained, so --resume from it alone goes on from the trained stage, not the pretrained."""
    from edgecolor.models.colorizer import Colorizer
    from edgecolor.models.train_colorizer import COMPACT_CHECKPOINT, TrainConfig, train_colorizer

    corpus = photo_corpus(tmp_path)
    run = tmp_path / "run"
    cfg = dict(batch=2, ckpt_every=1, val_every=1, val_crops=2, cache_crops=6, unfreeze_top=True, encoder_lr=1.0)
    train_colorizer(corpus, run, TrainConfig(steps=2, **cfg))
    compact, full = run / COMPACT_CHECKPOINT, run / "colorizer.ckpt"
    kept = torch.load(compact, weights_only=False)["model"]
    trained = torch.load(full, weights_only=False)["model"]
    pretrained = Colorizer(pretrained=True).state_dict()
    top = tuple(f"encoder.blocks.{i}." for i in Colorizer(pretrained=False).top_blocks())
    encoder_keys = {k for k in kept if k.startswith("encoder.")}
    assert encoder_keys and all(k.startswith(top) for k in encoder_keys)
    assert encoder_keys == {k for k in trained if k.startswith(top)}
    key = next(k for k in encoder_keys if k.endswith("_project_conv.weight"))
    assert torch.allclose(kept[key].float(), trained[key], atol=1e-2)
    assert not torch.allclose(trained[key], pretrained[key], atol=1e-3)  # the stage did train
    assert compact.stat().st_size < full.stat().st_size / 2
    full.unlink()
    train_colorizer(corpus, run, TrainConfig(steps=3, **cfg), resume=True)
    log = [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3]
