"""Chapter 00, setup: the environment and device, a neuron, a stable softmax.

Visible cases use fixed data; the hidden ones are drawn in ``make_hidden`` from
the generator the grader seeds with the course's secret (see
``autograder/AUTHORING.md``). The device task's hidden cases hold no data to
compute (a preference that must raise), so they stay in its ``make_cases``.
"""

from __future__ import annotations

import numpy as np

from autograder.compare import Exact
from autograder.tasks import Case, Task

CHAPTER = "00"


def _device_reference(preference="auto"):
    import torch

    if not isinstance(preference, str):
        raise TypeError("preference must be a string")
    if preference == "cpu":
        return "cpu"
    if preference == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("CUDA was asked for but is not available")
        return "cuda"
    if preference == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    raise ValueError(f"unknown device preference {preference!r}")


def _device_cases():
    import torch

    cuda = torch.cuda.is_available()
    return [
        Case("preference 'cpu'", ("cpu",), tags=("cpu",)),
        Case("preference 'auto'", ("auto",), tags=("auto",)),
        Case("default argument", (), tags=("auto",)),
        Case("preference 'cuda'", ("cuda",), raises=None if cuda else RuntimeError, suite="hidden",
             tags=("cuda",)),
        Case("unknown preference 'gpu'", ("gpu",), raises=ValueError, suite="hidden", tags=("unknown",)),
    ]


def _neuron_reference(x, w, b):
    from course.activations import sigmoid
    from course.neurons import neuron

    return neuron(x, w, b, activation=sigmoid)


def _neuron_cases():
    rng = np.random.default_rng(20261122)
    return [
        Case("one input vector x (3,), w (3,)", (np.array([1.0, -2.0, 0.5]), np.array([0.3, 0.2, -1.0]), 0.1)),
        Case("a batch X (4, 3)", (rng.normal(size=(4, 3)), rng.normal(size=3), -0.5), tags=("batch",)),
    ]


def _neuron_hidden(rng):
    # large sums of both signs, alternating: were they all negative, a ReLU (0 there) would pass for a sigmoid
    big_x, big_w = rng.normal(size=(6, 3)) * 300, rng.normal(size=3) * 3
    big_x *= (np.sign(big_x @ big_w) * np.array([1.0, -1.0] * 3))[:, None]
    return [
        Case("a batch X (50, 8)", (rng.normal(size=(50, 8)), rng.normal(size=8), 0.7), tags=("batch",)),
        Case("float32 batch", (rng.normal(size=(10, 5)), rng.normal(size=5), 0.2), dtype="float32",
             tags=("batch", "dtype")),
        Case("torch tensors on the grading device", (rng.normal(size=(6, 4)), rng.normal(size=4), -1.0),
             backend="torch", tags=("batch", "torch")),
        Case("large weighted sums of both signs", (big_x, big_w, 0.0), tags=("large",)),
        Case("zero bias, zero weights", (rng.normal(size=(3, 2)), np.zeros(2), 0.0)),
    ]


def _softmax_reference(x, axis=-1):
    from course.activations import softmax

    return softmax(x, axis=axis)


def _softmax_cases():
    rng = np.random.default_rng(1122)
    return [
        Case("a vector (5,)", (rng.normal(size=5),)),
        Case("rows of a matrix (3, 4), axis=-1", (rng.normal(size=(3, 4)),), tags=("axis",)),
        Case("columns of a matrix (3, 4), axis=0", (rng.normal(size=(3, 4)),), {"axis": 0}, tags=("axis",)),
        Case("large values (+/-1000)", (np.array([[1000.0, 999.0, -1000.0], [-1000.0, -1000.0, -999.0]]),),
             tags=("large",)),
    ]


def _softmax_hidden(rng):
    return [
        Case("a batch (2, 3, 5), axis=-1", (rng.normal(size=(2, 3, 5)) * 3,), tags=("axis",)),
        Case("a batch (2, 3, 5), axis=1", (rng.normal(size=(2, 3, 5)) * 3,), {"axis": 1}, tags=("axis",)),
        Case("large values, shifted rows (8, 10)", (rng.normal(size=(8, 10)) * 50 + 800,), tags=("large",)),
        Case("very negative values (-1e4)", (rng.normal(size=(4, 6)) - 1e4,), tags=("large",)),
        Case("float32 input", (rng.normal(size=(6, 7)) * 4,), dtype="float32", tags=("dtype",)),
        Case("torch tensor on the grading device", (rng.normal(size=(5, 3)),), backend="torch", tags=("torch",)),
        Case("torch float32, large values", (rng.normal(size=(4, 5)) * 100,), backend="torch", dtype="float32",
             tags=("large", "dtype", "torch")),
    ]


TASKS = [
    Task(
        name="device", uses=("choose_device",),
        describe="choose_device(preference) returns 'cpu' or 'cuda' and rejects bad preferences",
        make_cases=_device_cases, reference=_device_reference, compare=Exact(),
        hints={
            "cpu": "'cpu' always means the CPU: return the string 'cpu'",
            "auto": "'auto' means CUDA when torch.cuda.is_available(), otherwise the CPU",
            "cuda": "asking for 'cuda' on a machine without CUDA must raise RuntimeError",
            "unknown": "an unknown preference must raise ValueError that names it",
        },
    ),
    Task(
        name="neuron", uses=("neuron",),
        describe="neuron(x, w, b) = sigmoid(x . w + b) for one input or a batch",
        make_cases=_neuron_cases, make_hidden=_neuron_hidden, reference=_neuron_reference, from_scratch=True,
        forbidden=("course.neurons.neuron", "course.neurons.dense", "course.activations.sigmoid",
                   "course.layers.linear", "torch.nn.functional.linear"),
        hints={
            "batch": "for a batch X of shape (N, D) compute X @ w (one weighted sum per row)",
            "large": "exp(-z) overflows for very negative z: use the stable form of the sigmoid",
            "torch": "use operations that work on tensors too (the @ operator, not np.dot)",
            "dtype": "keep the input's dtype (float32 in, float32 out): no float64 constants or arrays mixed in",
        },
    ),
    Task(
        name="softmax", uses=("softmax",),
        describe="softmax(x, axis=-1): probabilities along one axis, stable for large inputs",
        make_cases=_softmax_cases, make_hidden=_softmax_hidden, reference=_softmax_reference, from_scratch=True,
        forbidden=("torch.softmax", "torch.nn.functional.softmax", "torch.special.softmax", "torch.Tensor.softmax",
                   "scipy.special.softmax", "course.activations.softmax", "course.activations.softmax_forward",
                   "course.activations.log_softmax", "torch.log_softmax", "torch.nn.functional.log_softmax",
                   "scipy.special.log_softmax"),
        hints={
            "large": "values overflow for large inputs: subtract the maximum along the axis first",
            "axis": "normalize along the given axis only (sum with keepdims=True so shapes broadcast)",
            "dtype": "keep the input's dtype (float32 in, float32 out)",
            "torch": "use operations that work on tensors too (x.max/x.sum or the array API), "
                     "and return a tensor on the input's device",
        },
    ),
]
