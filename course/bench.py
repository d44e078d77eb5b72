"""Benchmark: our NumPy reference against PyTorch on the CPU, side by side.

Run with ``python -m course.bench`` (or ``make bench``). For each workload it
times the forward and backward pass of our NumPy code and of ``torch`` (with
autograd) on the same float32 data, and prints the median times and their
ratio against a target. It then trains a :mod:`course.nn` MLP with
:class:`course.optim.Adam` on the digits and reports test accuracy and time.

Timings vary between machines and runs; the ratios are what to compare.
``--quick`` runs fewer repetitions (used by the test suite to check that the
script runs, not how fast).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import data, layers, losses, nn, optim, train
from .regularization import EarlyStopping


def _median_time(fn, repeat: int, number: int) -> float:
    fn()  # warm up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return statistics.median(times)


def bench_linear(rng, repeat, number):
    x = rng.standard_normal((256, 784)).astype(np.float32)
    w = (rng.standard_normal((128, 784)) * 0.05).astype(np.float32)
    b = rng.standard_normal(128).astype(np.float32)
    dout = rng.standard_normal((256, 128)).astype(np.float32)

    def ours():
        out, cache = layers.linear_forward(x, w, b)
        return layers.linear_backward(dout, cache)

    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    td = torch.tensor(dout)

    def theirs():
        out = F.linear(tx, tw, tb)
        return torch.autograd.grad(out, (tx, tw, tb), td)

    return ours, theirs


def bench_conv2d(rng, repeat, number):
    x = rng.standard_normal((64, 1, 28, 28)).astype(np.float32)
    w = (rng.standard_normal((8, 1, 3, 3)) * 0.3).astype(np.float32)
    b = rng.standard_normal(8).astype(np.float32)
    dout = rng.standard_normal((64, 8, 28, 28)).astype(np.float32)

    def ours():
        out, cache = layers.conv2d_forward(x, w, b, padding=1)
        return layers.conv2d_backward(dout, cache)

    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    td = torch.tensor(dout)

    def theirs():
        out = F.conv2d(tx, tw, tb, padding=1)
        return torch.autograd.grad(out, (tx, tw, tb), td)

    return ours, theirs


def bench_softmax_ce(rng, repeat, number):
    z = (rng.standard_normal((1024, 10)) * 3).astype(np.float32)
    y = rng.integers(0, 10, 1024)

    def ours():
        loss, cache = losses.cross_entropy_forward(z, y)
        return losses.cross_entropy_backward(1.0, cache)

    tz = torch.tensor(z, requires_grad=True)
    ty = torch.tensor(y)

    def theirs():
        loss = F.cross_entropy(tz, ty)
        return torch.autograd.grad(loss, (tz,))

    return ours, theirs


def _digits(split_seed=0):
    X, y = data.load_digits()
    (Xtr, ytr), (Xva, yva), (Xte, yte) = data.train_val_test_split(X, y, val=0.1, test=0.2, rng=split_seed)
    sc = data.Standardizer().fit(Xtr)
    return (sc.transform(Xtr), ytr), (sc.transform(Xva), yva), (sc.transform(Xte), yte)


def bench_mlp_epoch(rng, repeat, number):
    (Xtr, ytr), _, _ = _digits()
    Xtr32 = Xtr.astype(np.float32)
    model = nn.mlp([64, 32, 10], rng=0).to("numpy", dtype=np.float32)
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    order_rng = np.random.default_rng(0)

    def ours():
        for Xb, yb in data.minibatches(Xtr32, ytr, 32, rng=order_rng):
            loss_fn(model(Xb), yb)
            opt.zero_grad()
            model.backward(loss_fn.backward())
            opt.step()

    tmodel = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    topt = torch.optim.Adam(tmodel.parameters(), lr=1e-3)
    tX, ty = torch.tensor(Xtr32), torch.tensor(ytr)
    gen = torch.Generator().manual_seed(0)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(tX, ty), batch_size=32,
                                         shuffle=True, generator=gen)

    def theirs():
        for xb, yb in loader:
            topt.zero_grad()
            F.cross_entropy(tmodel(xb), yb).backward()
            topt.step()

    return ours, theirs


WORKLOADS = [
    ("linear 256x784 -> 128, fwd+bwd", bench_linear, 1.5),
    ("conv2d 64x1x28x28, 8 3x3 filters, pad 1, fwd+bwd", bench_conv2d, 3.0),
    ("softmax + cross-entropy 1024x10, fwd+bwd", bench_softmax_ce, 2.0),
    ("one epoch 64-32-10 MLP on digits (Adam, batch 32)", bench_mlp_epoch, None),
]


def train_digits(split_seed: int = 0, sizes=(64, 256, 10)):
    """Train a course.nn MLP with Adam on digits; return (test accuracy, seconds, epochs)."""
    start = time.perf_counter()
    (Xtr, ytr), (Xva, yva), (Xte, yte) = _digits(split_seed)
    model = nn.mlp(list(sizes), rng=split_seed)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    hist = train.fit(model, loss_fn, opt, Xtr, ytr, Xva, yva, epochs=200, batch_size=32,
                     early_stopping=EarlyStopping(patience=15), progress=False, rng=split_seed)
    acc = train.accuracy(train.predict(model, Xte), yte)
    return acc, time.perf_counter() - start, len(hist.train_loss)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="few repetitions: checks the script, not speed")
    parser.add_argument("--seeds", type=int, default=5, help="data splits for the accuracy run (default 5)")
    args = parser.parse_args(argv)
    repeat, number = (2, 1) if args.quick else (7, 20)
    rng = np.random.default_rng(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; numpy {np.__version__}; float32")
    print(f"{'workload':52s} {'ours (ms)':>10s} {'torch (ms)':>11s} {'ratio':>7s} {'target':>8s}")
    all_ok = True
    for name, make, target in WORKLOADS:
        ours, theirs = make(rng, repeat, number)
        n = 1 if "epoch" in name else number
        t_ours = _median_time(ours, repeat, n)
        t_torch = _median_time(theirs, repeat, n)
        ratio = t_ours / t_torch
        if target is None:
            verdict = "  (info)"
        else:
            ok = ratio <= target
            all_ok &= ok
            verdict = f"<= {target:.1f}x " + ("ok" if ok else "MISSED")
        print(f"{name:52s} {t_ours * 1e3:10.3f} {t_torch * 1e3:11.3f} {ratio:6.2f}x {verdict}")
    seeds = 1 if args.quick else args.seeds
    print(f"\ncourse.nn MLP 64-256-10 + Adam on digits (70/10/20 split, label smoothing 0.1, early stopping), "
          f"{seeds} split(s):")
    accs, secs = [], []
    for s in range(seeds):
        acc, sec, epochs = train_digits(s)
        accs.append(acc)
        secs.append(sec)
        print(f"  split {s}: test accuracy {acc:.4f} in {sec:.2f} s ({epochs} epochs)")
    ok = min(accs) >= 0.97 and max(secs) < 10.0
    all_ok &= ok
    print(f"  min accuracy {min(accs):.4f} (target >= 0.97), max time {max(secs):.2f} s (target < 10 s): "
          + ("ok" if ok else "MISSED"))
    return 0 if all_ok or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
