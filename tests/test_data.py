"""course.data: toy sets, digits, batching, splits, scaling, IDX and MNIST download."""

import gzip
import hashlib

import numpy as np
import pytest
import torch

from course import data as D

pytestmark = pytest.mark.data


@pytest.mark.parametrize("maker", [D.make_xor, D.make_moons, D.make_circles, D.make_spirals])
def test_toy_sets_are_seeded_and_shaped(maker):
    X1, y1 = maker(n=150, rng=3)
    X2, y2 = maker(n=150, rng=3)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert X1.shape == (150, 2) and y1.shape == (150,) and X1.dtype == np.float64 and y1.dtype == np.int64
    counts = np.bincount(y1)
    assert counts.min() >= 0.2 * counts.max()
    assert not np.array_equal(maker(n=150, rng=4)[0], X1)


def test_xor_corners_and_spiral_classes():
    X, y = D.make_xor(corners_only=True)
    assert y.tolist() == [0, 1, 1, 0]
    np.testing.assert_array_equal(y, np.logical_xor(X[:, 0], X[:, 1]))
    _, ys = D.make_spirals(n=301, classes=5, rng=0)
    assert sorted(set(ys.tolist())) == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="Invalid n: 0"):
        D.make_moons(n=0)


def test_digits_ship_offline():
    X, y = D.load_digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.min() == 0 and X.max() == 16 and set(y.tolist()) == set(range(10))
    assert D.load_digits(images=True)[0].shape == (1797, 1, 8, 8)


@pytest.mark.parametrize("drop_last", [False, True])
def test_minibatches_cover_each_example_once(drop_last):
    X = np.arange(50.0).reshape(25, 2)
    y = np.arange(25)
    batches = list(D.minibatches(X, y, batch_size=8, rng=0, drop_last=drop_last))
    sizes = [len(b[1]) for b in batches]
    assert sizes == ([8, 8, 8] if drop_last else [8, 8, 8, 1])
    seen = np.concatenate([b[1] for b in batches])
    assert len(set(seen.tolist())) == len(seen)
    for Xb, yb in batches:
        np.testing.assert_array_equal(Xb[:, 0], 2 * yb)  # rows stay paired with labels
    assert [b[1].tolist() for b in D.minibatches(X, y, 10, shuffle=False)][0] == list(range(10))
    tb = list(D.minibatches(torch.tensor(X), torch.tensor(y), 8, rng=0))
    assert torch.is_tensor(tb[0][0]) and len(tb) == 4
    with pytest.raises(ValueError, match="same number of rows"):
        list(D.minibatches(X, y[:3]))


def test_split_is_disjoint_stratified_and_complete():
    X, y = D.load_digits()
    (a, ya), (b, yb), (c, yc) = D.train_val_test_split(X, y, val=0.1, test=0.2, rng=0)
    assert len(ya) + len(yb) + len(yc) == len(y)
    assert abs(len(yc) - 0.2 * len(y)) < 12 and abs(len(yb) - 0.1 * len(y)) < 12
    ids = np.arange(len(y))[:, None]  # split row numbers to see where each example went
    (ia, _), (ib, _), (ic, _) = D.train_val_test_split(ids, y, val=0.1, test=0.2, rng=0)
    together = np.concatenate([ia, ib, ic]).ravel()
    assert sorted(together.tolist()) == list(range(len(y)))  # disjoint and complete
    np.testing.assert_array_equal(X[ia.ravel()], a)  # same rng, same split
    for part in (ya, yb, yc):
        frac = np.bincount(part, minlength=10) / len(part)
        np.testing.assert_allclose(frac, np.bincount(y) / len(y), atol=0.02)
    with pytest.raises(ValueError, match="sum to < 1"):
        D.train_val_test_split(X, y, val=0.5, test=0.5)


def test_standardizer_uses_train_statistics():
    rng = np.random.default_rng(0)
    X = rng.normal(5, 3, (200, 4))
    X[:, 2] = 7.0  # constant feature
    sc = D.Standardizer().fit(X)
    Z = sc.transform(X)
    np.testing.assert_allclose(Z.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(Z[:, [0, 1, 3]].std(0), 1)
    assert np.all(Z[:, 2] == 0)
    np.testing.assert_allclose(sc.inverse_transform(Z), X)
    with pytest.raises(ValueError, match=r"feature shape \(3,\).*fit on \(4,\)"):
        sc.transform(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="before fit"):
        D.Standardizer().transform(X)


def test_idx_round_trip_and_bad_files(tmp_path):
    imgs = np.random.default_rng(0).integers(0, 256, (7, 28, 28)).astype(np.uint8)
    for name in ("a.idx", "a.gz"):
        np.testing.assert_array_equal(D.read_idx(D.write_idx(tmp_path / name, imgs)), imgs)
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01\x00")
    with pytest.raises(ValueError, match="not an IDX file"):
        D.read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big") + b"\x00" * 3)
    with pytest.raises(ValueError, match=r"says shape \(10,\).*holds 3"):
        D.read_idx(tmp_path / "short")


def _fake_mnist(folder, n=12):
    rng = np.random.default_rng(1)
    files = {}
    for prefix, count in (("train", n), ("t10k", n // 2)):
        imgs = rng.integers(0, 256, (count, 28, 28)).astype(np.uint8)
        labels = rng.integers(0, 10, count).astype(np.uint8)
        for kind, arr in (("images-idx3", imgs), ("labels-idx1", labels)):
            name = f"{prefix}-{kind}-ubyte.gz"
            path = D.write_idx(folder / name, arr)
            files[name] = "md5:" + hashlib.md5(path.read_bytes()).hexdigest()
    return files


def test_load_mnist_downloads_checks_and_caches(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    files = _fake_mnist(mirror)
    cache = tmp_path / "cache"
    with pytest.raises(FileNotFoundError, match="is missing - help"):
        D.load_mnist(cache, files=files)
    X, y = D.load_mnist(cache, download_missing=True, mirrors=[mirror.as_uri()], files=files)
    assert X.shape == (12, 1, 28, 28) and y.shape == (12,) and 0 <= X.min() and X.max() <= 1
    Xt, _ = D.load_mnist(cache, train=False, download_missing=True, mirrors=[mirror.as_uri()], files=files)
    assert Xt.shape == (6, 1, 28, 28)
    # cached: no mirror needed any more
    X2, _ = D.load_mnist(cache, files=files)
    np.testing.assert_array_equal(X, X2)
    # a corrupted cache file is detected and fetched again
    (cache / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"junk"))
    with pytest.raises(FileNotFoundError, match="wrong checksum"):
        D.load_mnist(cache, files=files)
    D.load_mnist(cache, download_missing=True, mirrors=[mirror.as_uri()], files=files)


def test_download_rejects_a_checksum_mismatch_and_leaves_no_file(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"hello")
    dest = tmp_path / "out" / "file.bin"
    with pytest.raises(ValueError, match="checksum mismatch"):
        D.download(src.as_uri(), dest, "sha256:" + "0" * 64)
    assert not dest.exists() and not list(dest.parent.glob("*.part"))
    good = "sha256:" + hashlib.sha256(b"hello").hexdigest()
    assert D.download(src.as_uri(), dest, good).read_bytes() == b"hello"
    src.unlink()
    assert D.download(src.as_uri(), dest, good) == dest  # cache hit: the source is not read again


def test_all_mirrors_failing_is_reported(tmp_path):
    files = {"train-images-idx3-ubyte.gz": "md5:" + "0" * 32, "train-labels-idx1-ubyte.gz": "md5:" + "0" * 32}
    with pytest.raises(RuntimeError, match="could not download train-images"):
        D.load_mnist(tmp_path, download_missing=True, mirrors=[(tmp_path / "nowhere").as_uri()], files=files)


def test_mnist_checksums_are_the_published_ones():
    assert D.MNIST_FILES["train-images-idx3-ubyte.gz"] == "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    assert len(D.MNIST_FILES) == 4 and all(len(v) == 32 for v in D.MNIST_FILES.values())
