"""A data set from a folder of images, ``root/<class>/<image>.png``: index, split, transforms, Dataset.

The references of chapter 06's exercises, which its lessons use: class indices from the sorted
folder names, a CSV index written once and reused, a seeded disjoint 60/20/20 split, random
training and deterministic evaluation transforms, ``denormalize`` for display, and
``FolderDataset`` that puts them together.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch.utils.data import Dataset

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "IMAGE_SUFFIXES",
    "class_index",
    "load_index",
    "split_indices",
    "folder_transforms",
    "denormalize",
    "FolderDataset",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def class_index(root: str | Path) -> dict[str, int]:
    """Map each sub-folder name of ``root`` to an index, 0, 1, ... in sorted order (files are skipped)."""
    names = sorted(p.name for p in Path(root).iterdir() if p.is_dir())
    return {name: i for i, name in enumerate(names)}


def load_index(
    root: str | Path, class_to_idx: dict[str, int], filename: str = "images.csv"
) -> list[tuple[str, int]]:
    """Return ``(path relative to root, label)`` for every image, from ``root/filename``.

    The first call scans the class folders (sorted paths) and writes the CSV; later calls only read
    it, so the order, and any split made from it, stays the same even if files are added later.
    """
    root = Path(root)
    index = root / filename
    if not index.is_file():
        rows = []
        for name, label in class_to_idx.items():
            for path in sorted((root / name).iterdir()):
                if path.suffix.lower() in IMAGE_SUFFIXES:
                    rows.append((path.relative_to(root).as_posix(), label))
        with index.open("w", newline="") as f:
            csv.writer(f).writerows(rows)
    with index.open(newline="") as f:
        return [(path, int(label)) for path, label in csv.reader(f)]


def split_indices(
    n: int, seed: int = 0, fractions: Sequence[float] = (0.6, 0.2, 0.2)
) -> dict[str, list[int]]:
    """Shuffle ``0..n-1`` with ``seed`` and cut it into disjoint ``train``/``val``/``test`` lists.

    The first ``int(0.6 n)`` shuffled indices are train, up to ``int(0.8 n)`` val, the rest test.
    """
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    a = int(fractions[0] * n)
    b = int((fractions[0] + fractions[1]) * n)
    return {"train": order[:a], "val": order[a:b], "test": order[b:]}


def folder_transforms(
    size: int, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD
) -> tuple[Callable, Callable]:
    """PIL image -> normalised ``(3, size, size)`` tensor: (random train, deterministic eval) pipelines.

    Both resize to 1.25 ``size`` and cut the central ``size`` x ``size``; training rotates at
    random by up to 15 degrees in between (the crop removes the corners the rotation leaves empty).
    """
    from torchvision import transforms

    big = int(size * 1.25)
    finish = [transforms.CenterCrop(size), transforms.ToTensor(), transforms.Normalize(mean, std)]
    train = transforms.Compose(
        [transforms.Resize((big, big)), transforms.RandomRotation(15)] + finish
    )
    evaluate = transforms.Compose([transforms.Resize((big, big))] + finish)
    return train, evaluate


def denormalize(
    x: torch.Tensor, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD
) -> torch.Tensor:
    """Undo ``Normalize(mean, std)``: ``x * std + mean`` per channel, for (C, H, W) or (B, C, H, W)."""
    shape = (-1, 1, 1)
    m = torch.as_tensor(mean, dtype=x.dtype, device=x.device).view(shape)
    s = torch.as_tensor(std, dtype=x.dtype, device=x.device).view(shape)
    return x * s + m


class FolderDataset(Dataset):
    """One split of ``root/<class>/<image>``: items ``(transform(RGB PIL image), int label)``.

    ``classes`` lists the folder names in label order; the index is ``root/images.csv``.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        transform: Callable | None = None,
        seed: int = 0,
    ) -> None:
        self.root = Path(root)
        self.class_to_idx = class_index(self.root)
        self.classes = list(self.class_to_idx)
        rows = load_index(self.root, self.class_to_idx)
        self.samples = [rows[i] for i in split_indices(len(rows), seed)[split]]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[object, int]:
        from PIL import Image

        path, label = self.samples[index]
        with Image.open(self.root / path) as img:
            image = img.convert("RGB")
        if self.transform is not None:
            image = self.transform(image)
        return image, label
