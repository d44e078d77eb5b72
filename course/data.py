"""Data sets and data handling: toy problems, digits, MNIST, batching, splits.

Everything here works offline. The toy sets are generated; the 8x8 digits
ship with scikit-learn; MNIST is read from IDX files, downloaded once (with a
checksum) into a cache folder when the network allows it.

Conventions: ``X`` is (N, D) float64, ``y`` is (N,) int64 class labels;
images are (N, C, H, W). Every random function takes ``rng`` (a seed or a
``numpy.random.Generator``) so results are reproducible.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import struct
import tempfile
import urllib.request
from pathlib import Path

import numpy as np

__all__ = [
    "make_xor", "make_moons", "make_circles", "make_spirals", "load_digits",
    "minibatches", "train_val_test_split", "Standardizer",
    "read_idx", "write_idx", "download", "load_mnist", "MNIST_FILES", "MNIST_MIRRORS",
]


def _rng(rng) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def _check_n(n, name="n"):
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"Invalid {name}: {n} (must be a positive integer)")


# ---------------------------------------------------------------------------
# toy problems
# ---------------------------------------------------------------------------

def make_xor(n: int = 200, noise: float = 0.1, rng=None, corners_only: bool = False):
    """The XOR problem: class 1 when exactly one coordinate is "on".

    With ``corners_only=True`` returns the four points (0,0), (0,1), (1,0),
    (1,1) and labels 0, 1, 1, 0. Otherwise ``n`` points around the four corners
    with Gaussian ``noise``. No straight line separates the classes.
    """
    if corners_only:
        X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        return X, np.array([0, 1, 1, 0], dtype=np.int64)
    _check_n(n)
    g = _rng(rng)
    corners = g.integers(0, 2, size=(n, 2))
    X = corners + noise * g.standard_normal((n, 2))
    y = (corners[:, 0] ^ corners[:, 1]).astype(np.int64)
    return X.astype(np.float64), y


def make_moons(n: int = 200, noise: float = 0.1, rng=None):
    """Two interleaving half circles (class 0 on top, class 1 below, shifted)."""
    _check_n(n)
    g = _rng(rng)
    n0 = n // 2
    n1 = n - n0
    t0 = np.linspace(0, np.pi, n0)
    t1 = np.linspace(0, np.pi, n1)
    X = np.concatenate([np.stack([np.cos(t0), np.sin(t0)], 1),
                        np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)], 1)])
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n1, np.int64)])
    X = X + noise * g.standard_normal(X.shape)
    order = g.permutation(n)
    return X[order], y[order]


def make_circles(n: int = 200, noise: float = 0.05, factor: float = 0.5, rng=None):
    """A small circle (class 1) inside a large one (class 0); ``factor`` = radius ratio."""
    _check_n(n)
    if not 0 < factor < 1:
        raise ValueError(f"factor must be in (0, 1), got {factor}")
    g = _rng(rng)
    n0 = n // 2
    n1 = n - n0
    t0 = np.linspace(0, 2 * np.pi, n0, endpoint=False)
    t1 = np.linspace(0, 2 * np.pi, n1, endpoint=False)
    X = np.concatenate([np.stack([np.cos(t0), np.sin(t0)], 1),
                        factor * np.stack([np.cos(t1), np.sin(t1)], 1)])
    y = np.concatenate([np.zeros(n0, np.int64), np.ones(n1, np.int64)])
    X = X + noise * g.standard_normal(X.shape)
    order = g.permutation(n)
    return X[order], y[order]


def make_spirals(n: int = 300, classes: int = 3, noise: float = 0.2, turns: float = 1.0, rng=None):
    """``classes`` interleaved spiral arms in the plane, ``n`` points in all."""
    _check_n(n)
    _check_n(classes, "classes")
    g = _rng(rng)
    per = [n // classes + (1 if k < n % classes else 0) for k in range(classes)]
    Xs, ys = [], []
    for k, m in enumerate(per):
        r = np.linspace(0.05, 1.0, m)
        theta = 2 * np.pi * turns * r + 2 * np.pi * k / classes + noise * g.standard_normal(m)
        Xs.append(np.stack([r * np.sin(theta), r * np.cos(theta)], 1))
        ys.append(np.full(m, k, dtype=np.int64))
    X, y = np.concatenate(Xs), np.concatenate(ys)
    order = g.permutation(n)
    return X[order], y[order]


def load_digits(images: bool = False):
    """scikit-learn's 8x8 handwritten digits (1797 images, 10 classes), offline.

    Returns ``X`` (1797, 64) with pixel values in [0, 16] as float64 (or
    (1797, 1, 8, 8) with ``images=True``) and ``y`` (1797,) int64.
    """
    from sklearn.datasets import load_digits as _sk_load

    bunch = _sk_load()
    X = bunch.data.astype(np.float64)
    y = bunch.target.astype(np.int64)
    if images:
        X = X.reshape(-1, 1, 8, 8)
    return X, y


# ---------------------------------------------------------------------------
# batching, splitting, scaling
# ---------------------------------------------------------------------------

def minibatches(X, y=None, batch_size: int = 32, shuffle: bool = True, rng=None, drop_last: bool = False):
    """Yield ``(X_batch, y_batch)`` mini-batches covering the data once (one epoch).

    ``batch_size = len(X)`` gives batch gradient descent, ``1`` stochastic
    (single-example) gradient descent, anything between mini-batch descent.
    Works on NumPy arrays and torch tensors.
    """
    _check_n(batch_size, "batch_size")
    n = X.shape[0]
    if y is not None and y.shape[0] != n:
        raise ValueError(f"X and y must have the same number of rows, got {n} and {y.shape[0]}")
    order = _rng(rng).permutation(n) if shuffle else np.arange(n)
    stop = n - (n % batch_size) if drop_last else n
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        if not isinstance(X, np.ndarray):
            import torch

            idx = torch.as_tensor(idx, device=X.device)
        yield (X[idx], y[idx]) if y is not None else X[idx]


def train_val_test_split(X, y, val: float = 0.15, test: float = 0.15, rng=None, stratify: bool = True):
    """Split into train / validation / test parts (fractions of the whole).

    The test part is touched once, at the very end; the validation part
    chooses hyperparameters and the early-stopping epoch. With ``stratify``,
    each class is split in the same proportions.
    Returns ``(X_train, y_train), (X_val, y_val), (X_test, y_test)``.
    """
    if val < 0 or test < 0 or val + test >= 1:
        raise ValueError(f"val and test fractions must be >= 0 and sum to < 1, got val={val}, test={test}")
    n = X.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"X and y must have the same number of rows, got {n} and {y.shape[0]}")
    g = _rng(rng)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if stratify else [np.arange(n)]
    parts = ([], [], [])
    for idx in groups:
        idx = g.permutation(idx)
        n_test = int(round(test * len(idx)))
        n_val = int(round(val * len(idx)))
        parts[2].append(idx[:n_test])
        parts[1].append(idx[n_test:n_test + n_val])
        parts[0].append(idx[n_test + n_val:])
    out = []
    for chunks in parts:
        idx = g.permutation(np.concatenate(chunks)) if chunks else np.array([], dtype=np.int64)
        out.append((X[idx], y[idx]))
    return tuple(out)


class Standardizer:
    """Scale each feature to mean 0 and standard deviation 1, using the
    statistics of the training data only (fit on train, transform all parts).

    Features that are constant in the training data (std 0, e.g. blank
    border pixels) are centred but not scaled.
    """

    def __init__(self, eps: float = 1e-12):
        self.eps = eps
        self.mean = None
        self.std = None

    def fit(self, X) -> "Standardizer":
        X = np.asarray(X, dtype=np.float64)
        if X.ndim < 2 or X.shape[0] < 2:
            raise ValueError(f"Standardizer.fit needs at least 2 rows of features, got shape {X.shape}")
        self.mean = X.mean(axis=0)
        std = X.std(axis=0)
        self.std = np.where(std > self.eps, std, 1.0)
        return self

    def transform(self, X):
        if self.mean is None:
            raise RuntimeError("Standardizer.transform called before fit")
        X = np.asarray(X, dtype=np.float64)
        if X.shape[1:] != self.mean.shape:
            raise ValueError(f"X has feature shape {X.shape[1:]}, but the Standardizer was fit on {self.mean.shape}")
        return (X - self.mean) / self.std

    def fit_transform(self, X):
        return self.fit(X).transform(X)

    def inverse_transform(self, Z):
        return np.asarray(Z) * self.std + self.mean


# ---------------------------------------------------------------------------
# MNIST: IDX files, download with checksum and cache
# ---------------------------------------------------------------------------

#: MNIST file names and their MD5 checksums (the values torchvision uses).
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path) -> np.ndarray:
    """Read an IDX file (the MNIST format), plain or gzip-compressed.

    Header: two zero bytes, a type code (0x08 = uint8, ...), the number of
    dimensions, then each dimension as a big-endian uint32; the data follow.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'empty'})")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX data type code 0x{code:02x}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{path}: IDX header says shape {shape} ({expected} bytes of data) "
                         f"but the file holds {len(raw) - header}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path, array) -> Path:
    """Write ``array`` as an IDX file (gzip-compressed when ``path`` ends in .gz)."""
    array = np.asarray(array)
    code = next((k for k, v in _IDX_DTYPES.items()
                 if np.dtype(v).newbyteorder("=") == array.dtype.newbyteorder("=")), None)
    if code is None:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    big = array.astype(array.dtype.newbyteorder(">"))
    path = Path(path)
    payload = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + big.tobytes()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as fh:
        fh.write(payload)
    return path


def _file_hash(path, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _parse_checksum(checksum: str) -> tuple[str, str]:
    """``"md5:abc..."``/``"sha256:..."``, or a bare hex digest (md5 if 32 characters)."""
    if ":" in checksum:
        algorithm, value = checksum.split(":", 1)
    else:
        algorithm, value = ("md5" if len(checksum) == 32 else "sha256"), checksum
    if algorithm not in hashlib.algorithms_available:
        raise ValueError(f"unknown checksum algorithm {algorithm!r}")
    return algorithm, value.lower()


def download(url: str, path, checksum: str, timeout: float = 30.0) -> Path:
    """Download ``url`` to ``path`` unless a file with the right checksum is there.

    The file is written to a temporary name and moved into place only after its
    checksum matches, so a broken download never poisons the cache. A cached
    file with a wrong checksum is downloaded again. Raises ``ValueError`` when
    the downloaded data do not match ``checksum``.
    """
    path = Path(path)
    algorithm, expected = _parse_checksum(checksum)
    if path.exists() and _file_hash(path, algorithm) == expected:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as src:
            shutil.copyfileobj(src, out)
        got = _file_hash(tmp, algorithm)
        if got != expected:
            raise ValueError(f"checksum mismatch for {url}: expected {algorithm} {expected}, got {got}")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def load_mnist(root="~/.cache/nn-course/mnist", train: bool = True, download_missing: bool = False,
               mirrors=MNIST_MIRRORS, files=None):
    """MNIST as ``(X, y)``: X (N, 1, 28, 28) float64 in [0, 1], y (N,) int64.

    Looks in ``root`` for the four IDX ``.gz`` files. With
    ``download_missing=True`` a missing or corrupt file is fetched from the
    first mirror that answers and checked against its MD5 before it is cached.
    ``files`` (name -> checksum) overrides :data:`MNIST_FILES`, for tests.
    """
    root = Path(root).expanduser()
    files = dict(MNIST_FILES if files is None else files)
    prefix = "train" if train else "t10k"
    names = [f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz"]
    paths = []
    for name in names:
        path = root / name
        if name not in files:
            raise KeyError(f"no checksum known for {name}")
        algorithm, expected = _parse_checksum(files[name])
        ok = path.exists() and _file_hash(path, algorithm) == expected
        if not ok:
            if not download_missing:
                state = "has the wrong checksum" if path.exists() else "is missing"
                raise FileNotFoundError(
                    f"{path} {state} - help: call load_mnist(download_missing=True) or copy the "
                    f"MNIST IDX files into {root}"
                )
            errors = []
            for mirror in mirrors:
                try:
                    download(mirror.rstrip("/") + "/" + name, path, files[name])
                    break
                except (OSError, ValueError) as exc:
                    errors.append(f"{mirror}: {exc}")
            else:
                raise RuntimeError(f"could not download {name}:\n  " + "\n  ".join(errors))
        paths.append(path)
    images = read_idx(paths[0])
    labels = read_idx(paths[1])
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"MNIST files do not fit together: images {images.shape}, labels {labels.shape}")
    X = images.astype(np.float64)[:, None] / 255.0
    return X, labels.astype(np.int64)
