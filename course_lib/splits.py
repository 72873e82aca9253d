"""Deterministic, stratified train/val/test splits of labelled data (tensors or lists)."""

from __future__ import annotations

import math
from typing import Any

import torch

from course_lib import config

__all__ = [
    "SPLITS",
    "VAL_FRACTION",
    "FAST_SIZES",
    "stratified_split",
    "take",
    "split_three",
    "add_val",
]

SPLITS = ("train", "val", "test")
VAL_FRACTION = 1 / 12
"""Part of a real training set held out as ``"val"`` (5,000 of MNIST's 60,000)."""
FAST_SIZES = {"train": 10_000, "val": 2_000, "test": 2_000}
"""Upper bounds on real split sizes in fast mode."""

Part = tuple[Any, torch.Tensor]  # (images tensor or list of texts, int64 targets)


def stratified_split(
    targets: torch.Tensor, sizes: dict[str, int | float], seed: int = 0
) -> dict[str, torch.Tensor]:
    """Split indices ``0..N-1`` into disjoint parts with the same class mix, deterministically.

    targets: (N,) int labels. sizes: part name -> fraction of N (float) or count (int); they may
    leave a remainder unused. Returns part name -> shuffled (K,) int64 index tensors.
    """
    targets = torch.as_tensor(targets).long()
    n = len(targets)
    counts = {k: (round(v * n) if isinstance(v, float) else int(v)) for k, v in sizes.items()}
    if sum(counts.values()) > n:
        raise ValueError(f"sizes {counts} add up to more than the {n} samples")
    g = torch.Generator().manual_seed(seed)
    classes = torch.unique(targets)
    per_class = {int(c): (targets == c).nonzero().flatten() for c in classes}
    per_class = {c: idx[torch.randperm(len(idx), generator=g)] for c, idx in per_class.items()}
    parts: dict[str, list[torch.Tensor]] = {k: [] for k in counts}
    start = dict.fromkeys(per_class, 0)
    for name, count in counts.items():
        # largest-remainder allocation of `count` over the classes, proportional to class size
        exact = {c: count * len(idx) / n for c, idx in per_class.items()}
        take_ = {c: math.floor(e) for c, e in exact.items()}
        leftover = count - sum(take_.values())
        for c in sorted(exact, key=lambda c: (take_[c] - exact[c], c))[:leftover]:
            take_[c] += 1
        for c, idx in per_class.items():
            parts[name].append(idx[start[c] : start[c] + take_[c]])
            start[c] += take_[c]
    out = {}
    for name, chunks in parts.items():
        idx = torch.cat(chunks)
        out[name] = idx[torch.randperm(len(idx), generator=g)]
    return out


def take(part: Part, index: torch.Tensor) -> Part:
    """Select samples ``index`` of a part whose data is a tensor or a list."""
    data, targets = part
    if isinstance(data, torch.Tensor):
        return data[index], targets[index]
    return [data[i] for i in index.tolist()], targets[index]


def split_three(part: Part, sizes: dict[str, int | float], seed: int = 0) -> dict[str, Part]:
    """Cut one labelled collection into stratified ``train``/``val``/``test`` parts."""
    return {k: take(part, idx) for k, idx in stratified_split(part[1], sizes, seed).items()}


def _fast(part: Part, split: str) -> Part:
    limit = FAST_SIZES[split]
    if not config.FAST or len(part[1]) <= limit:
        return part
    return take(part, stratified_split(part[1], {"keep": limit}, seed=1)["keep"])


def add_val(parts: dict[str, Part]) -> dict[str, Part]:
    """Real train/test parts -> train/val/test: ``val`` is a stratified 1/12 of ``train``.

    In fast mode (``COURSE_FAST=1``) each part is then cut to a stratified subset of at most
    ``FAST_SIZES`` samples.
    """
    train = parts["train"]
    n_val = round(VAL_FRACTION * len(train[1]))
    idx = stratified_split(train[1], {"val": n_val, "train": len(train[1]) - n_val}, seed=0)
    out = {
        "train": take(train, idx["train"]),
        "val": take(train, idx["val"]),
        "test": parts["test"],
    }
    return {k: _fast(v, k) for k, v in out.items()}
