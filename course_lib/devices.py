"""The one place that chooses devices and seeds random number generators."""

from __future__ import annotations

import os
import random
import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch.nn.utils.rnn import PackedSequence

__all__ = ["get_device", "available", "seed_everything", "synchronize", "to_device", "time_call"]


def _mps_usable() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def get_device() -> torch.device:
    """Return the best device: ``COURSE_DEVICE`` if set, else cuda, then mps, then cpu."""
    wanted = os.environ.get("COURSE_DEVICE", "").strip()
    if wanted:
        device = torch.device(wanted)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"COURSE_DEVICE={wanted!r} but CUDA is not available here")
        if device.type == "mps" and not _mps_usable():
            raise RuntimeError(f"COURSE_DEVICE={wanted!r} but MPS is not available here")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_usable():
        return torch.device("mps")
    return torch.device("cpu")


def available() -> list[torch.device]:
    """Return every usable device, cpu first (tests run their checks on each).

    ``COURSE_DEVICE=cpu`` restricts the list to the CPU, for grading on a machine whose GPU is busy.
    """
    devices = [torch.device("cpu")]
    if os.environ.get("COURSE_DEVICE", "").strip() == "cpu":
        return devices
    if torch.cuda.is_available():
        devices.append(torch.device("cuda"))
    if _mps_usable():
        devices.append(torch.device("mps"))
    return devices


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch (all devices); return a CPU generator seeded the same way."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return torch.Generator().manual_seed(seed)


def synchronize(device: torch.device | str) -> None:
    """Wait until queued work on ``device`` has finished (no-op on the CPU); use before timing."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def to_device(batch: Any, device: torch.device | str, non_blocking: bool = False) -> Any:
    """Move every tensor in a (nested) tuple/list/dict batch to ``device``; keep everything else.

    Containers keep their type (named tuples included); non-tensor leaves are returned as they are.
    A ``PackedSequence`` moves with its own ``.to()``, which keeps ``batch_sizes`` on the CPU.
    """
    if isinstance(batch, torch.Tensor | PackedSequence):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, Mapping):
        return type(batch)({k: to_device(v, device, non_blocking) for k, v in batch.items()})
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # named tuple
        return type(batch)(*(to_device(v, device, non_blocking) for v in batch))
    if isinstance(batch, list | tuple):
        return type(batch)(to_device(v, device, non_blocking) for v in batch)
    return batch


def time_call(
    fn: Callable[[], Any], device: torch.device | str, warmup: int = 2, repeats: int = 5
) -> float:
    """Return the median wall time of ``fn()`` in seconds, after warm-up, synchronising ``device``.

    Warm-up runs absorb one-off costs (CUDA context, kernel selection, caches); synchronising before
    reading the clock makes asynchronous GPU work count.
    """
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    for _ in range(warmup):
        fn()
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)
