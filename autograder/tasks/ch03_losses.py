"""Chapter 03, loss functions: MSE, MAE, cross-entropy from logits and from probabilities,
binary cross-entropy from probabilities and from logits, each with its gradient for the
predictions, and the MSE against BCE gradient on a saturated sigmoid output.

Every loss task grades two functions together: the loss (a number: a Python float, a NumPy
scalar, a 0-d array or tensor all count) and its gradient (an array like the predictions),
both with PyTorch's ``reduction="mean"``. Visible cases use fixed data; hidden ones are drawn
in ``make_hidden`` from the generator the grader seeds with the course's secret.
"""

from __future__ import annotations

import numpy as np

from autograder.compare import Array, Number, Parts
from autograder.tasks import Case, Task

CHAPTER = "03"

_F = "torch.nn.functional."
_LOSS_FORBIDDEN = tuple(f"course.losses.{n}{s}" for n in ("mse", "mae", "cross_entropy", "nll_loss",
                                                          "cross_entropy_from_probs", "binary_cross_entropy",
                                                          "binary_cross_entropy_with_logits")
                        for s in ("", "_forward", "_backward")) + tuple(
    _F + n for n in ("mse_loss", "l1_loss", "cross_entropy", "nll_loss", "binary_cross_entropy",
                     "binary_cross_entropy_with_logits", "log_softmax", "softmax")) + (
    "torch.nn.MSELoss", "torch.nn.L1Loss", "torch.nn.CrossEntropyLoss", "torch.nn.NLLLoss", "torch.nn.BCELoss",
    "torch.nn.BCEWithLogitsLoss", "torch.log_softmax", "torch.softmax", "torch.Tensor.log_softmax",
    "torch.Tensor.softmax", "torch.autograd.grad", "torch.Tensor.backward", "scipy.special.log_softmax",
    "scipy.special.softmax")

COMPARE = Parts({"loss": Number(), "grad": Array()}, container="dict")


def _pair_run(objs, *args):
    loss, grad = objs
    return {"loss": loss(*args), "grad": grad(*args)}


def _pair_reference(name):
    def reference(*args):
        from course import losses

        value, cache = getattr(losses, name + "_forward")(*args)
        return {"loss": value, "grad": getattr(losses, name + "_backward")(1.0, cache)}

    return reference


_HINTS = {
    "dtype": "keep the input's dtype (float32 in, float32 out) for the gradient: no float64 constants mixed in",
    "torch": "use operations that work on tensors too, and return the gradient as a tensor on the input's device",
}


# ---------------------------------------------------------------------------------------------
# regression: MSE and MAE
# ---------------------------------------------------------------------------------------------

def _regression_cases():
    rng = np.random.default_rng(301)
    pred = np.array([2.5, 0.0, 2.0, 8.0, -1.0])
    return [Case("five predictions (5,)", (pred, np.array([3.0, -0.5, 2.0, 7.0, -1.0]))),
            Case("a batch of 3 outputs of size 4 (3, 4)", (rng.normal(size=(3, 4)), rng.normal(size=(3, 4))),
                 tags=("batch",))]


def _regression_hidden(rng):
    target = rng.normal(size=(6, 3))
    pred = target.copy()
    pred[::2] += rng.normal(size=(3, 3))
    return [
        Case("a batch (40, 2)", (rng.normal(size=(40, 2)) * 3, rng.normal(size=(40, 2))), tags=("batch",)),
        Case("half the predictions exact (6, 3)", (pred, target), tags=("batch",)),
        Case("an outlier among 20 values", (np.append(rng.normal(size=19), 50.0), rng.normal(size=20))),
        Case("float32 (8, 4)", (rng.normal(size=(8, 4)), rng.normal(size=(8, 4))), dtype="float32",
             tags=("batch", "dtype")),
        Case("torch tensors (5, 3)", (rng.normal(size=(5, 3)), rng.normal(size=(5, 3))), backend="torch",
             tags=("batch", "torch")),
    ]


# ---------------------------------------------------------------------------------------------
# classification: cross-entropy from logits and from probabilities
# ---------------------------------------------------------------------------------------------

def _softmax_rows(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _ce_cases():
    rng = np.random.default_rng(302)
    large = np.array([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 999.0], [0.0, 0.0, 0.0]])
    return [Case("4 examples, 3 classes", (rng.normal(size=(4, 3)) * 2, np.array([0, 2, 1, 2])), tags=("batch",)),
            Case("logits of +/-1000", (large, np.array([2, 1, 0])), tags=("batch", "large"))]


def _ce_hidden(rng):
    return [
        Case("10 examples, 7 classes", (rng.normal(size=(10, 7)) * 3, rng.integers(0, 7, size=10)), tags=("batch",)),
        Case("one example (1, 4)", (rng.normal(size=(1, 4)), rng.integers(0, 4, size=1)), tags=("batch",)),
        Case("large shifted logits (6, 5)", (rng.normal(size=(6, 5)) * 30 + 800, rng.integers(0, 5, size=6)),
             tags=("batch", "large")),
        Case("confidently wrong, logits about -500 on the target", (
            np.column_stack([rng.normal(size=5) - 500, rng.normal(size=(5, 2)) * 5]), np.zeros(5, dtype=np.int64)),
             tags=("batch", "large")),
        Case("float32 (6, 3)", (rng.normal(size=(6, 3)), rng.integers(0, 3, size=6)), dtype="float32",
             tags=("batch", "dtype")),
        Case("torch tensors (5, 4)", (rng.normal(size=(5, 4)), rng.integers(0, 4, size=5)), backend="torch",
             tags=("batch", "torch")),
    ]


def _probs_cases():
    rng = np.random.default_rng(303)
    return [Case("4 examples, 3 classes", (_softmax_rows(rng.normal(size=(4, 3))), np.array([1, 0, 2, 2])),
                 tags=("batch",)),
            Case("a confident, right model", (np.array([[0.98, 0.01, 0.01], [0.005, 0.99, 0.005]]), np.array([0, 1])),
                 tags=("batch",))]


def _probs_hidden(rng):
    return [
        Case("12 examples, 5 classes", (_softmax_rows(rng.normal(size=(12, 5)) * 2), rng.integers(0, 5, size=12)),
             tags=("batch",)),
        Case("a model confidently wrong on every row", (_softmax_rows(np.column_stack([rng.normal(size=4) - 6,
                                                                           rng.normal(size=(4, 2))])),
                                           np.zeros(4, dtype=np.int64)), tags=("batch",)),
        Case("float32 (5, 4)", (_softmax_rows(rng.normal(size=(5, 4))), rng.integers(0, 4, size=5)), dtype="float32",
             tags=("batch", "dtype")),
        Case("torch tensors (6, 3)", (_softmax_rows(rng.normal(size=(6, 3))), rng.integers(0, 3, size=6)),
             backend="torch", tags=("batch", "torch")),
    ]


# ---------------------------------------------------------------------------------------------
# binary cross-entropy
# ---------------------------------------------------------------------------------------------

def _bce_cases():
    return [Case("five probabilities (5,)", (np.array([0.9, 0.2, 0.6, 0.05, 0.5]), np.array([1.0, 0.0, 0.0, 0.0, 1.0]))),
            Case("multi-label (2, 3)", (np.array([[0.7, 0.1, 0.8], [0.3, 0.6, 0.95]]),
                                        np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])), tags=("batch",))]


def _bce_hidden(rng):
    return [
        Case("a batch (30,)", (rng.uniform(0.02, 0.98, size=30), (rng.random(30) < 0.5).astype(float))),
        Case("multi-label (6, 4)", (rng.uniform(0.05, 0.95, size=(6, 4)), (rng.random((6, 4)) < 0.5).astype(float)),
             tags=("batch",)),
        Case("confident probabilities (0.001 and 0.999)", (np.where(rng.random(8) < 0.5, 0.001, 0.999),
                                                           (rng.random(8) < 0.5).astype(float))),
        Case("float32 (5, 2)", (rng.uniform(0.05, 0.95, size=(5, 2)), (rng.random((5, 2)) < 0.5).astype(float)),
             dtype="float32", tags=("batch", "dtype")),
        Case("torch tensors (7,)", (rng.uniform(0.05, 0.95, size=7), (rng.random(7) < 0.5).astype(float)),
             backend="torch", tags=("torch",)),
    ]


def _bce_logits_cases():
    return [Case("five logits (5,)", (np.array([2.0, -1.0, 0.5, -3.0, 0.0]), np.array([1.0, 0.0, 0.0, 0.0, 1.0]))),
            Case("logits of +/-1000", (np.array([1000.0, -1000.0, 1000.0, -1000.0]), np.array([1.0, 0.0, 0.0, 1.0])),
                 tags=("large",))]


def _bce_logits_hidden(rng):
    return [
        Case("multi-label (8, 3)", (rng.normal(size=(8, 3)) * 3, (rng.random((8, 3)) < 0.5).astype(float)),
             tags=("batch",)),
        Case("large logits (10,)", (rng.normal(size=10) * 400, (rng.random(10) < 0.5).astype(float)),
             tags=("large",)),
        Case("float32 (6, 2)", (rng.normal(size=(6, 2)) * 2, (rng.random((6, 2)) < 0.5).astype(float)),
             dtype="float32", tags=("batch", "dtype")),
        Case("torch tensors (9,)", (rng.normal(size=9) * 2, (rng.random(9) < 0.5).astype(float)), backend="torch",
             tags=("torch",)),
    ]


# ---------------------------------------------------------------------------------------------
# saturation: MSE against BCE on a sigmoid output
# ---------------------------------------------------------------------------------------------

def _saturation_reference(z, y):
    from course.activations import sigmoid

    p = sigmoid(z)
    return {"mse": 2 * (p - y) * p * (1 - p), "bce": p - y}


def _saturation_cases():
    return [Case("z from -10 to 10, target 1", (np.linspace(-10, 10, 9), np.ones(9))),
            Case("confidently wrong both ways", (np.array([-8.0, 8.0, -3.0, 3.0]), np.array([1.0, 0.0, 1.0, 0.0])))]


def _saturation_hidden(rng):
    return [
        Case("a batch (4, 5)", (rng.normal(size=(4, 5)) * 6, (rng.random((4, 5)) < 0.5).astype(float)),
             tags=("batch",)),
        Case("saturated inputs |z| about 30", (np.sign(rng.normal(size=6)) * (30 + rng.random(6)),
                                                (rng.random(6) < 0.5).astype(float))),
        Case("huge inputs |z| about 1000", (rng.normal(size=5) * 1000, (rng.random(5) < 0.5).astype(float)),
             tags=("large",)),
        Case("float32 (6,)", (rng.normal(size=6) * 4, (rng.random(6) < 0.5).astype(float)), dtype="float32",
             tags=("dtype",)),
        Case("torch tensors (5,)", (rng.normal(size=5) * 4, (rng.random(5) < 0.5).astype(float)), backend="torch",
             tags=("torch",)),
    ]


def _loss(name, course_name, hints):
    """What every loss task shares: the two functions it grades, how it runs and compares them."""
    return dict(name=name, uses=(name, name + "_grad"), run=_pair_run, reference=_pair_reference(course_name),
                compare=COMPARE, from_scratch=True, forbidden=_LOSS_FORBIDDEN, hints={**_HINTS, **hints})


TASKS = [
    Task(describe="mse(pred, target) and mse_grad: the mean of squared errors and -2(y - pred)/N",
         make_cases=_regression_cases, make_hidden=_regression_hidden, **_loss("mse", "mse",
               {"batch": "the mean runs over every entry (N = pred.size), and the gradient has one entry per "
                         "prediction: 2 (pred - target) / N"})),
    Task(describe="mae(pred, target) and mae_grad: the mean absolute error and sign(pred - y)/N",
         make_cases=_regression_cases, make_hidden=_regression_hidden, **_loss("mae", "mae",
               {"batch": "the mean runs over every entry; the gradient is sign(pred - target) / N, 0 where they are "
                         "equal"})),
    Task(describe="cross_entropy(logits, target) and its gradient (softmax - one_hot)/N, stable for +/-1000",
         make_cases=_ce_cases, make_hidden=_ce_hidden, **_loss("cross_entropy", "cross_entropy",
               {"batch": "average over the N examples (not the classes); the gradient is (softmax(z) - one_hot)/N",
                "large": "use the log-sum-exp with the row's maximum subtracted: log softmax = z - max - "
                         "log(sum(exp(z - max)))"})),
    Task(describe="cross_entropy_from_probs(probs, target) and its gradient -one_hot/(N p)",
         make_cases=_probs_cases, make_hidden=_probs_hidden, **_loss("cross_entropy_from_probs",
                                                                     "cross_entropy_from_probs",
               {"batch": "pick each row's probability of its target class: -mean(log p[n, y_n]); the gradient is "
                         "-1/(N p) at those entries and 0 elsewhere"})),
    Task(describe="bce(probs, target) and bce_grad: binary cross-entropy of probabilities and (p - y)/(p(1 - p)N)",
         make_cases=_bce_cases, make_hidden=_bce_hidden, **_loss("bce", "binary_cross_entropy",
               {"batch": "average over every entry (each label is its own yes/no question); the gradient is "
                         "(p - y) / (p (1 - p)) / N"})),
    Task(describe="bce_with_logits(logits, target) and its gradient (sigmoid(z) - y)/N, stable for +/-1000",
         make_cases=_bce_logits_cases, make_hidden=_bce_logits_hidden, **_loss("bce_with_logits",
                                                                               "binary_cross_entropy_with_logits",
               {"large": "write the loss as max(z, 0) - z y + log(1 + exp(-|z|)): no exponent is ever positive",
                "batch": "average over every entry; the gradient is (sigmoid(z) - y) / N"})),
    Task(
        name="saturation", uses=("saturation_gradients",),
        describe="saturation_gradients(z, y): dL/dz of MSE and of BCE on p = sigmoid(z), elementwise",
        make_cases=_saturation_cases, make_hidden=_saturation_hidden, reference=_saturation_reference,
        compare=Parts(("mse", "bce"), container="dict"), from_scratch=True, forbidden=_LOSS_FORBIDDEN,
        hints={**_HINTS,
               "batch": "elementwise, no averaging: MSE gives 2 (p - y) p (1 - p), BCE gives p - y",
               "large": "compute the sigmoid stably: exp(-z) overflows for z = -1000"},
    ),
]
