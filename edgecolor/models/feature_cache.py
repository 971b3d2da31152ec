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
interrupted build stopped, and a larger ``n`` of the same photos and seed grows a complete smaller cache: its crops
are kept and only the new ones are encoded. Either way the crops already stored are drawn again (not encoded), so
the crops after them are those one uninterrupted build draws, never repeats of the first ones.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from numpy.lib.format import open_memmap

from edgecolor.models.colorizer import NET_SIZE, Colorizer


class FeatureCache:
    def __init__(self, folder: Path, key_parts: list[str], n: int, keep_luma: bool = False) -> None:
        self.folder, self.n = Path(folder), n
        self.key_parts = list(key_parts)
        self.key = self._key(n, keep_luma)
        self.arrays: list[np.ndarray] = []
        self.chroma: np.ndarray | None = None
        self.keep_luma = keep_luma
        self.luma: np.ndarray | None = None

    def _key(self, n: int, keep_luma: bool) -> str:
        parts = [*self.key_parts, str(n), str(NET_SIZE), *(["luma"] if keep_luma else [])]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]

    def _read_state(self) -> dict:
        path = self.folder / "state.json"
        try:
            state = json.loads(path.read_text()) if path.is_file() else {}
        except ValueError:
            state = {}
        return state if isinstance(state, dict) else {}

    def _state(self) -> dict:
        state = self._read_state()
        return state if state.get("key") == self.key else {}

    def _smaller(self) -> int:
        """Crops in the folder's cache when it is a complete cache of the same photos, seed and luma with fewer
        crops than ``n`` (one this cache can grow from), else 0."""
        try:
            m = int(np.load(self.folder / "chroma.npy", mmap_mode="r").shape[0])
        except (OSError, ValueError):
            return 0
        state = self._read_state()
        ok = 0 < m < self.n and state.get("key") == self._key(m, self.keep_luma) and state.get("done") == m
        return m if ok else 0

    def _grow(self, m: int) -> None:
        """Copy the folder's complete ``m``-crop cache into larger files beside it, then put them in its place."""
        grown = self.folder.with_name(self.folder.name + ".grow")
        shutil.rmtree(grown, ignore_errors=True)
        grown.mkdir(parents=True)
        kept = ["chroma.npy", *(["luma.npy"] if self.keep_luma else [])]
        for old in [*sorted(self.folder.glob("feat_*.npy")), *(self.folder / name for name in kept)]:
            src = np.load(old, mmap_mode="r")
            dst = open_memmap(grown / old.name, mode="w+", dtype=src.dtype, shape=(self.n, *src.shape[1:]))
            for at in range(0, m, 256):
                end = min(at + 256, m)
                dst[at:end] = src[at:end]
            dst.flush()
            del dst, src
        (grown / "state.json").write_text(json.dumps({"key": self.key, "done": m}))
        old_folder = self.folder.with_name(self.folder.name + ".old")
        shutil.rmtree(old_folder, ignore_errors=True)
        self.folder.rename(old_folder)
        grown.rename(self.folder)
        shutil.rmtree(old_folder)

    def build(self, model: Colorizer, sample: Callable[[int], tuple[np.ndarray, np.ndarray]],
              batch: int = 32, progress: Callable[[int, int], None] | None = None) -> None:
        """Fill the cache with ``sample(k) -> (luma [k,1,S,S], chroma [k,2,S,S])`` crops (resumable)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self._state() and (m := self._smaller()):
            self._grow(m)
        done = int(self._state().get("done", 0))
        for at in range(0, done if done < self.n else 0, batch):
            sample(min(batch, done - at))  # the stored crops, drawn again so the next ones follow them
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
