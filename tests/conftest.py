"""Shared helpers: backends, dtypes, tolerances and PyTorch as the oracle.

Every comparison runs on three backends: NumPy arrays, torch tensors on the
CPU and torch tensors on CUDA. The CUDA cases run the very same code path as
the CPU torch cases; they skip, saying why, on machines without a GPU.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

CUDA = torch.cuda.is_available()
NO_CUDA = "no CUDA device here: the cuda cases run the torch CPU code path on a GPU and only run where one exists"

BACKENDS = [
    pytest.param("numpy", id="numpy"),
    pytest.param("torch", id="torch"),
    pytest.param("cuda", id="cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(not CUDA, reason=NO_CUDA)]),
]
DTYPES = ["float64", "float32"]
TOL = {"float64": dict(rtol=1e-9, atol=1e-11), "float32": dict(rtol=2e-4, atol=2e-5)}


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture(params=DTYPES)
def dtype(request):
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def device_of(backend):
    return "cuda" if backend == "cuda" else "cpu"


def to_backend(a, backend, dtype="float64"):
    """A NumPy array on ``backend``; floating arrays take ``dtype``, others keep theirs."""
    if a is None:
        return None
    a = np.asarray(a)
    if a.dtype.kind == "f":
        a = a.astype(dtype)
    if backend == "numpy":
        return a
    return torch.as_tensor(a, device=device_of(backend))


def to_np(a):
    if a is None:
        return None
    if torch.is_tensor(a):
        return a.detach().cpu().numpy()
    return np.asarray(a)


def assert_same_kind(out, backend, dtype=None):
    """The output is the input's kind of array, on its device (and dtype)."""
    if backend == "numpy":
        assert isinstance(out, np.ndarray), f"expected a NumPy array, got {type(out).__name__}"
        if dtype is not None:
            assert out.dtype == np.dtype(dtype), f"dtype {out.dtype} != {dtype}"
    else:
        assert torch.is_tensor(out), f"expected a torch tensor, got {type(out).__name__}"
        assert out.device.type == device_of(backend), f"tensor on {out.device}, expected {device_of(backend)}"
        if dtype is not None:
            assert out.dtype == getattr(torch, dtype), f"dtype {out.dtype} != {dtype}"


def assert_close(actual, expected, dtype="float64", what="", scale=1.0):
    tol = TOL[dtype]
    np.testing.assert_allclose(to_np(actual).astype(np.float64), to_np(expected).astype(np.float64),
                               rtol=tol["rtol"] * scale, atol=tol["atol"] * scale, err_msg=what)


def torch_forward_backward(fn, inputs, dout, dtype, differentiable, **options):
    """Run ``fn`` in torch (CPU, ``dtype``) and return (out, grads of the differentiable inputs)."""
    tensors = []
    for i, a in enumerate(inputs):
        if a is None:
            tensors.append(None)
            continue
        a = np.asarray(a)
        t = torch.tensor(a.astype(dtype) if a.dtype.kind == "f" else a)
        if i in differentiable:
            t.requires_grad_(True)
        tensors.append(t)
    out = fn(*tensors, **options)
    wrt = [tensors[i] for i in differentiable]
    grads = torch.autograd.grad(out, wrt, torch.tensor(np.asarray(dout).astype(dtype)), allow_unused=True)
    return out.detach().numpy(), [None if g is None else g.numpy() for g in grads]


def compare_op(forward, backward, torch_fn, inputs, differentiable, backend, dtype, options=None,
               torch_options=None, dout=None, seed=0, scale=1.0):
    """Forward and backward of our op against torch on the same inputs.

    ``differentiable`` lists the input positions whose gradients our backward
    returns, in order (the contract: one per differentiable array argument).
    """
    options = options or {}
    ours_in = [to_backend(a, backend, dtype) for a in inputs]
    out, cache = forward(*ours_in, **options)
    assert_same_kind(out, backend, dtype)
    if dout is None:
        dout = np.random.default_rng(seed).standard_normal(tuple(out.shape))
    ref_out, ref_grads = torch_forward_backward(torch_fn, inputs, dout, dtype, differentiable,
                                                **(torch_options if torch_options is not None else options))
    assert_close(out, ref_out, dtype, "forward output", scale)
    grads = backward(to_backend(dout, backend, dtype), cache)
    if not isinstance(grads, tuple):
        grads = (grads,)
    if len(grads) > len(differentiable):  # gradients of absent (None) arguments come last
        assert all(g is None for g in grads[len(differentiable):]), "absent arguments must get None"
        grads = grads[:len(differentiable)]
    assert len(grads) == len(differentiable), f"backward returned {len(grads)} gradients, expected {len(differentiable)}"
    for k, (g, ref) in enumerate(zip(grads, ref_grads)):
        if ref is None:
            assert g is None
            continue
        assert_same_kind(g, backend, dtype)
        assert_close(g, ref, dtype, f"gradient {k} (input {differentiable[k]})", scale)
    return out, grads


# The test assignment tests/kinds/99-kinds grades tasks from tests/kinds/tasks.py; every
# process the tests start (kernels, nbgrader, the grading CLI) finds them through this variable.
import os as _os
from pathlib import Path as _Path

KINDS_TASKS = str(_Path(__file__).resolve().parent / "kinds" / "tasks.py")
_os.environ["AUTOGRADER_TASKS"] = _os.pathsep.join(
    [KINDS_TASKS] + [p for p in _os.environ.get("AUTOGRADER_TASKS", "").split(_os.pathsep) if p and p != KINDS_TASKS])

# Hidden cases are drawn from the course's secret (autograder/secret.py). The tests fix it, so that
# every expected score is exact: in this process (set_secret), in the processes the tests start
# (AUTOGRADER_SECRET_FILE, a file under tmp) and in the course folders the end-to-end tests build
# (they write it there with autograder.secret.write_secret before `generate`).
import atexit as _atexit
import hashlib as _hashlib
import shutil as _shutil
import tempfile as _tempfile

from autograder.secret import write_secret as _write_secret
from autograder.tasks import set_secret as _set_secret

TEST_SECRET = _hashlib.sha256(b"nn-course autograder tests").digest()
_set_secret(TEST_SECRET)
_SECRET_HOME = _tempfile.mkdtemp(prefix="autograder-test-secret-")
_atexit.register(_shutil.rmtree, _SECRET_HOME, True)
_os.environ["AUTOGRADER_SECRET_FILE"] = str(_write_secret(_SECRET_HOME, TEST_SECRET))


def execute_notebook(nb, folder, timeout=120, allow_errors=False):
    """Run every cell of ``nb`` in a fresh python3 kernel working in ``folder``, as Run All does.

    The kernel talks over ZMQ ``ipc`` sockets in a short private folder, not TCP: the test
    workers start kernels at the same moment, and two of them may pick the same free port."""
    from nbclient import NotebookClient

    from autograder.fastkernel import ipc_kernel_manager

    sockets = _tempfile.mkdtemp(prefix="k")  # short: the sockets' paths must stay under ~100 characters
    try:
        NotebookClient(nb, kernel_manager_class=ipc_kernel_manager(sockets), kernel_name="python3",
                       timeout=timeout, allow_errors=allow_errors,
                       resources={"metadata": {"path": str(folder)}}).execute()
    finally:
        _shutil.rmtree(sockets, ignore_errors=True)
    return nb


# The longest test files first. `make test` runs `pytest -n 3 --dist loadfile`, which hands whole
# files to the workers in collection order, so a long file collected last would run alone at
# the end while the other workers idle. Measured longest first (end-to-end grading, the browser);
# the order inside each file is kept.
_LONGEST_FIRST = ["test_jail_e2e.py", "test_book.py", "test_grading_e2e.py", "test_grading_kinds_e2e.py",
                  "test_task_kinds.py", "test_browser.py", "test_chapters_e2e.py", "test_chapters_student_day.py", "test_bundle.py",
                  "test_assignments.py", "test_student_day.py", "test_chapters.py", "test_repair.py"]


def pytest_collection_modifyitems(session, config, items):
    rank = {name: k for k, name in enumerate(_LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
