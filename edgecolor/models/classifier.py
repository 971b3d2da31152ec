"""ImageNet top-1 class with the pretrained EfficientNet-Lite0, for the semantic-interpretability test
(Zhang et al. 2016): does a classifier see the same class in the colorized photo as in the true one?"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import torch


def imagenet_top1() -> Callable[[np.ndarray], int]:
    from edgecolor.models.colorizer import imagenet_weights, quiet_load

    net = quiet_load(imagenet_weights("lite0"))
    net.eval()

    def top1(bgr: np.ndarray) -> int:
        h, w = bgr.shape[:2]
        s = 256 / min(h, w)
        img = cv2.resize(bgr, (max(224, round(w * s)), max(224, round(h * s))), interpolation=cv2.INTER_AREA)
        y0, x0 = (img.shape[0] - 224) // 2, (img.shape[1] - 224) // 2
        rgb = img[y0 : y0 + 224, x0 : x0 + 224, ::-1].astype(np.float32)
        x = torch.from_numpy((rgb - 127.0) / 128.0).permute(2, 0, 1)[None]
        with torch.no_grad():
            return int(net(x).argmax())

    return top1
