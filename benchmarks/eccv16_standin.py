"""ECCV16 (Zhang, Isola, Efros, "Colorful Image Colorization") written from the paper's layer table, with
random weights: the real network's shapes and cost (~42 GMAC at 256x256), not its colours. Needs torch.

    PYTHONPATH=. .venv/bin/python benchmarks/eccv16_standin.py OUT.onnx

I/O as the PyTorch port and its ONNX exports: ``data_l`` [N,1,256,256] CIE L 0..100 -> ab [N,2,256,256]
(L normalised to (L-50)/100 inside, 313-bin softmax, 1x1 conv to ab, x110, bilinear x4 upsampling).
"""

from __future__ import annotations

import sys
from pathlib import Path


def build_model():  # type: ignore[no-untyped-def]
    import torch
    from torch import nn

    def block(cin: int, cout: int, n: int, stride_last: int = 1, dilation: int = 1) -> list:
        layers: list = []
        for i in range(n):
            stride = stride_last if i == n - 1 else 1
            layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, stride, dilation, dilation), nn.ReLU(True)]
        return [*layers, nn.BatchNorm2d(cout)]

    class ECCV16(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(
                *block(1, 64, 2, 2), *block(64, 128, 2, 2), *block(128, 256, 3, 2), *block(256, 512, 3),
                *block(512, 512, 3, dilation=2), *block(512, 512, 3, dilation=2), *block(512, 512, 3),
                nn.ConvTranspose2d(512, 256, 4, 2, 1), nn.ReLU(True),
                nn.Conv2d(256, 256, 3, 1, 1), nn.ReLU(True), nn.Conv2d(256, 256, 3, 1, 1), nn.ReLU(True),
                nn.Conv2d(256, 313, 1),
            )
            self.to_ab = nn.Conv2d(313, 2, 1, bias=False)

        def forward(self, data_l):  # type: ignore[no-untyped-def]
            q = torch.softmax(self.body((data_l - 50) / 100), dim=1)
            ab = self.to_ab(q) * 110
            return nn.functional.interpolate(ab, scale_factor=4, mode="bilinear", align_corners=False)

    torch.manual_seed(0)
    model = ECCV16()
    # Random weights that still behave like a colorizer's: batch-norm statistics from smooth random
    # "images" keep every block at unit scale, sharper logits make the 313-bin softmax depend on the input,
    # and bin centres spread over +-66 ab units give ab of a plausible size. Otherwise the output is a
    # constant ~0 and precision errors (the build gate's subject) would not show.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.momentum = None  # cumulative average over the passes below
        model.train()
        smooth = nn.functional.interpolate(torch.rand(4, 1, 16, 16) * 100, size=256, mode="bilinear")
        for _ in range(2):
            model.body((smooth - 50) / 100)
        model.eval()
        model.body[-1].weight.mul_(8.0)
        model.to_ab.weight.uniform_(-0.6, 0.6)
    return model


def export(path: Path) -> Path:
    import torch

    model = build_model()
    torch.onnx.export(model, torch.full((1, 1, 256, 256), 50.0), str(path), input_names=["data_l"],
                      output_names=["ab"], dynamic_axes={"data_l": {0: "N"}, "ab": {0: "N"}}, opset_version=17,
                      dynamo=False)
    return path


if __name__ == "__main__":
    print(export(Path(sys.argv[1] if len(sys.argv) > 1 else "eccv16-standin.onnx")))
