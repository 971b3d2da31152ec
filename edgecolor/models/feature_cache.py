"""Encoder features of fixed training crops, computed once and kept on disk.

The colorizer's encoder is frozen, so its output for a given crop never changes during training.
Computing it once per crop instead of once per step leaves a step only the decoder's cost: on one
core of the project's CPU (shared) the encoder's forward pass took 1.13 s of a 1.80 s training step at
batch 16 (measured 2026-12-01). The price is a fixed set of crops (``n``, drawn and flipped once) instead of fresh ones
every step, so ``n`` is set well above the number of photos.

Files in ``folder``: ``feat_K.npy`` (float16 ``[n, C_K, H_K, W_K]`` per encoder tap), ``chroma.npy``
(float16 ``[n, 2, S, S]``, the true centred chroma), with ``keep_luma`` ``luma.npy`` (uint8 ``[n, 1, S, S]``, the
crops' luma rounded to levels: what a luma lookup reads) and ``state.json`` (crops done, and a key of the
photos and seed: a cache built from other photos is rebuilt, never reused). Building resumes where an
interrupted build stopped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from numpy.lib.format import open_memmap

from edgecolor.models.colorizer import NET_SIZE, Colorizer


class FeatureCache:
    def __init__(self, folder: Path, key_parts: list[str], n: int, keep_luma: bool = False) -> None:
        self.folder, self.n = Path(folder), n
        parts = [*key_parts, str(n), str(NET_SIZE), *(["luma"] if keep_luma else [])]
        self.key = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
        self.arrays: list[np.ndarray] = []
        self.chroma: np.ndarray | None = None
        self.keep_luma = keep_luma
        self.luma: np.ndarray | None = None

    def _state(self) -> dict:
        path = self.folder / "state.json"
        try:
            state = json.loads(path.read_text()) if path.is_file() else {}
        except ValueError:
            state = {}
        return state if isinstance(state, dict) and state.get("key") == self.key else {}

    def build(self, model: Colorizer, sample: Callable[[int], tuple[np.ndarray, np.ndarray]],
              batch: int = 32, progress: Callable[[int, int], None] | None = None) -> None:
        """Fill the cache with ``sample(k) -> (luma [k,1,S,S], chroma [k,2,S,S])`` crops (resumable)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        done = int(self._state().get("done", 0))
        model.eval()
        with torch.no_grad():
            shapes = [tuple(f.shape[1:]) for f in model.encode(torch.zeros(1, 1, NET_SIZE, NET_SIZE))]
        mode = "r+" if done else "w+"
        self.arrays = [open_memmap(self.folder / f"feat_{k}.npy", mode=mode, dtype=np.float16, shape=(self.n, *s))
                       for k, s in enumerate(shapes)]
        self.chroma = open_memmap(self.folder / "chroma.npy", mode=mode, dtype=np.float16,
                                  shape=(self.n, 2, NET_SIZE, NET_SIZE))
        if self.keep_luma:
            self.luma = open_memmap(self.folder / "luma.npy", mode=mode, dtype=np.uint8,
                                    shape=(self.n, 1, NET_SIZE, NET_SIZE))
        while done < self.n:
            k = min(batch, self.n - done)
            luma, chroma = sample(k)
            with torch.no_grad():
                feats = model.encode(torch.from_numpy(luma))
            for arr, f in zip(self.arrays, feats, strict=True):
                arr[done:done + k] = f.numpy().astype(np.float16)
            self.chroma[done:done + k] = chroma.astype(np.float16)
            if self.luma is not None:
                self.luma[done:done + k] = np.clip(np.rint(luma), 0, 255).astype(np.uint8)
            done += k
            for arr in [*self.arrays, self.chroma, *([] if self.luma is None else [self.luma])]:
                arr.flush()
            (self.folder / "state.json").write_text(json.dumps({"key": self.key, "done": done}))
            if progress:
                progress(done, self.n)

    def batch(self, idx: np.ndarray, device: torch.device) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Features (float32) and true chroma of the cached crops ``idx``."""
        if self.chroma is None:
            raise RuntimeError("FeatureCache.build must run first")
        idx = np.sort(idx)  # sorted reads are sequential on disk
        feats = [torch.from_numpy(a[idx].astype(np.float32)).to(device) for a in self.arrays]
        return feats, torch.from_numpy(self.chroma[idx].astype(np.float32)).to(device)

    def luma_levels(self, idx: np.ndarray, device: torch.device) -> torch.Tensor:
        """The kept luma levels (int64 ``[k, 1, S, S]``) of the crops ``idx``, in :meth:`batch`'s order."""
        if self.luma is None:
            raise RuntimeError("FeatureCache(keep_luma=True).build must run first")
        return torch.from_numpy(self.luma[np.sort(idx)].astype(np.int64)).to(device)
