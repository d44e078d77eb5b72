"""Chapter 03, loss functions: MSE, MAE, cross-entropy from logits and from probabilities,
binary cross-entropy from probabilities and from logits, each with its gradient for the
predictions, and the MSE against BCE gradient on a saturated sigmoid output.

Every loss task grades two functions together, the loss and its gradient, on the same
inputs: ``run`` returns ``{"loss": f(...), "grad": f_grad(...)}``. The loss is a number (a
Python float, a NumPy scalar, a 0-d array or tensor all count), the gradient an array like
the predictions (their kind, dtype and shape), both with PyTorch's ``reduction="mean"``. The
references are ``course.losses``' forward and backward with ``dout = 1``. Visible cases use
fixed data; hidden ones are drawn in ``make_hidden`` from the generator the grader seeds
with the course's secret (see ``autograder/AUTHORING.md``).
"""

from __future__ import annotations

import numpy as np

from autograder.compare import Array, Number, Parts
from autograder.tasks import Case, Task

CHAPTER = "03"

_LOSS_NAMES = ("mse", "mae", "cross_entropy", "nll_loss", "cross_entropy_from_probs", "binary_cross_entropy",
               "binary_cross_entropy_with_logits")
_F = "torch.nn.functional."
#: the course's losses, PyTorch's losses (functional and modules), the softmax family (the
#: cross-entropy gradient is a softmax: write it, or use torch.logsumexp, which stays allowed)
#: and autograd (a gradient must be derived, not asked for)
_FORBIDDEN = (
    tuple(f"course.losses.{n}{s}" for n in _LOSS_NAMES for s in ("", "_forward", "_backward"))
    + ("course.losses.one_hot", "course.activations.softmax", "course.activations.softmax_forward",
       "course.activations.log_softmax", "course.activations.log_softmax_forward")
    + tuple(_F + n for n in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss",
                             "binary_cross_entropy", "binary_cross_entropy_with_logits", "log_softmax", "softmax"))
    + ("torch.nn.MSELoss", "torch.nn.L1Loss", "torch.nn.CrossEntropyLoss", "torch.nn.NLLLoss", "torch.nn.BCELoss",
       "torch.nn.BCEWithLogitsLoss", "torch.log_softmax", "torch.softmax", "torch.special.log_softmax",
       "torch.special.softmax", "torch.Tensor.log_softmax", "torch.Tensor.softmax", "torch.autograd.grad",
       "torch.Tensor.backward", "scipy.special.log_softmax", "scipy.special.softmax")
)

_PAIR = Parts({"loss": Number(), "grad": Array()}, container="dict")

_HINTS = {
    "dtype": "keep the input's dtype (float32 in, float32 out) for the gradient: no float64 arrays mixed in",
    "torch": "use operations that work on tensors too (or torch's own), and return the gradient as a tensor "
             "on the input's device",
}


def _pair_run(objs, *args):
    """The loss and its gradient on the same inputs, as the notebook's test cell grades them."""
    loss, grad = objs
    return {"loss": loss(*args), "grad": grad(*args)}


def _pair_reference(name):
    """``course.losses.<name>``: the loss and its gradient for the predictions (dout = 1)."""
    def reference(*args):
        from course import losses

        value, cache = getattr(losses, name + "_forward")(*args)
        return {"loss": value, "grad": getattr(losses, name + "_backward")(1.0, cache)}

    return reference


def _exact32(x, steps=256):
    """x rounded to a multiple of 1/steps: exact in float32 for |x| < 2**15, so a float32 case
    grades the student's float32 arithmetic, not the rounding of its inputs."""
    return np.round(np.asarray(x, dtype=float) * steps) / steps


def _labels(rng, shape):
    return (rng.random(shape) < 0.5).astype(float)


# ---------------------------------------------------------------------------------------------
# regression: MSE and MAE share their cases
# ---------------------------------------------------------------------------------------------

def _regression_cases():
    rng = np.random.default_rng(301)
    pred = np.array([2.5, 0.0, 2.0, 8.0, -1.0])
    target = np.array([3.0, -0.5, 2.0, 7.0, -1.0])
    return [Case("five predictions, two of them exact (5,)", (pred, target)),
            Case("a batch of 3 outputs of size 4 (3, 4)", (rng.normal(size=(3, 4)), rng.normal(size=(3, 4))),
                 tags=("batch",))]


def _regression_hidden(rng):
    exact_rows = rng.normal(size=(6, 3))
    guess = exact_rows.copy()
    guess[::2] += rng.normal(size=(3, 3))
    spread = rng.normal(size=20)
    return [
        Case("forty rows of two outputs each", (rng.normal(size=(40, 2)) * 3, rng.normal(size=(40, 2))),
             tags=("batch",)),
        Case("every other row right on target", (guess, exact_rows), tags=("batch",)),
        Case("nineteen small misses and one wild one", (spread + np.append(rng.normal(size=19) * 0.3,
                                                                           60 + rng.random()), spread)),
        Case("a lone prediction", (rng.normal(size=1) * 2, rng.normal(size=1))),
        Case("three axes, two by three by four", (rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4))),
             tags=("batch",)),
        Case("single precision, eight rows of four", (rng.normal(size=(8, 4)), rng.normal(size=(8, 4))),
             dtype="float32", tags=("batch", "dtype")),
        Case("tensors, five rows of three", (rng.normal(size=(5, 3)), rng.normal(size=(5, 3))), backend="torch",
             tags=("batch", "torch")),
        Case("single-precision tensors, a flat vector of 12", (rng.normal(size=12), rng.normal(size=12)),
             backend="torch", dtype="float32", tags=("torch", "dtype")),
    ]


# ---------------------------------------------------------------------------------------------
# classification: cross-entropy from logits and from probabilities
# ---------------------------------------------------------------------------------------------

def _softmax_rows(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _ce_cases():
    rng = np.random.default_rng(302)
    huge = np.array([[1000.0, 0.0, -1000.0], [-1000.0, 1000.0, 999.0], [0.0, 0.0, 0.0]])
    return [Case("4 examples, 3 classes", (rng.normal(size=(4, 3)) * 2, np.array([0, 2, 1, 2])), tags=("batch",)),
            Case("logits of +/-1000", (huge, np.array([2, 1, 0])), tags=("batch", "large"))]


def _ce_hidden(rng):
    wrong = np.column_stack([rng.normal(size=5) - 500, rng.normal(size=(5, 2)) * 5])
    return [
        Case("ten rows over seven classes", (rng.normal(size=(10, 7)) * 3, rng.integers(0, 7, size=10)),
             tags=("batch",)),
        Case("a batch of one row, four classes", (rng.normal(size=(1, 4)), rng.integers(0, 4, size=1)),
             tags=("batch",)),
        Case("sixteen rows, two classes", (rng.normal(size=(16, 2)) * 2, rng.integers(0, 2, size=16)),
             tags=("batch",)),
        Case("every logit near +800", (rng.normal(size=(6, 5)) * 30 + 800, rng.integers(0, 5, size=6)),
             tags=("batch", "large")),
        Case("every logit near -1000", (rng.normal(size=(4, 3)) * 5 - 1000, rng.integers(0, 3, size=4)),
             tags=("batch", "large")),
        Case("the right class 500 below the others", (wrong, np.zeros(5, dtype=np.int64)), tags=("batch", "large")),
        Case("single precision, six rows of three", (rng.normal(size=(6, 3)), rng.integers(0, 3, size=6)),
             dtype="float32", tags=("batch", "dtype")),
        Case("tensors, five rows of four", (rng.normal(size=(5, 4)), rng.integers(0, 4, size=5)), backend="torch",
             tags=("batch", "torch")),
        Case("single-precision tensors with logits in the hundreds",
             (_exact32(rng.normal(size=(4, 6)) * 200), rng.integers(0, 6, size=4)), backend="torch",
             dtype="float32", tags=("batch", "large", "dtype", "torch")),
    ]


def _probs_cases():
    rng = np.random.default_rng(303)
    return [Case("4 examples, 3 classes", (_softmax_rows(rng.normal(size=(4, 3))), np.array([1, 0, 2, 2])),
                 tags=("batch",)),
            Case("a confident, right model", (np.array([[0.98, 0.01, 0.01], [0.005, 0.99, 0.005]]), np.array([0, 1])),
                 tags=("batch",))]


def _probs_hidden(rng):
    wrong = _softmax_rows(np.column_stack([rng.normal(size=4) - 6, rng.normal(size=(4, 2))]))
    return [
        Case("twelve rows over five classes", (_softmax_rows(rng.normal(size=(12, 5)) * 2),
                                                rng.integers(0, 5, size=12)), tags=("batch",)),
        Case("a model sure of the wrong class in every row", (wrong, np.zeros(4, dtype=np.int64)), tags=("batch",)),
        Case("a batch of one row, six classes", (_softmax_rows(rng.normal(size=(1, 6))), rng.integers(0, 6, size=1)),
             tags=("batch",)),
        Case("single precision, five rows of four", (_softmax_rows(rng.normal(size=(5, 4))),
                                                     rng.integers(0, 4, size=5)), dtype="float32",
             tags=("batch", "dtype")),
        Case("tensors, six rows of three", (_softmax_rows(rng.normal(size=(6, 3))), rng.integers(0, 3, size=6)),
             backend="torch", tags=("batch", "torch")),
        Case("single-precision tensors, seven rows of two", (_softmax_rows(rng.normal(size=(7, 2)) * 2),
                                                             rng.integers(0, 2, size=7)),
             backend="torch", dtype="float32", tags=("batch", "dtype", "torch")),
    ]


# ---------------------------------------------------------------------------------------------
# binary cross-entropy, from probabilities and from logits
# ---------------------------------------------------------------------------------------------

def _bce_cases():
    return [Case("five probabilities (5,)", (np.array([0.9, 0.2, 0.6, 0.05, 0.5]), np.array([1.0, 0.0, 0.0, 0.0, 1.0]))),
            Case("multi-label (2, 3)", (np.array([[0.7, 0.1, 0.8], [0.3, 0.6, 0.95]]),
                                        np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])), tags=("batch",))]


def _bce_hidden(rng):
    return [
        Case("thirty yes/no questions", (rng.uniform(0.02, 0.98, size=30), _labels(rng, 30))),
        Case("six rows of four labels each", (rng.uniform(0.05, 0.95, size=(6, 4)), _labels(rng, (6, 4))),
             tags=("batch",)),
        Case("probabilities a thousandth from 0 or 1", (np.where(rng.random(8) < 0.5, 0.001, 0.999),
                                                        _labels(rng, 8))),
        Case("every target a one, three axes", (rng.uniform(0.05, 0.95, size=(2, 2, 3)), np.ones((2, 2, 3))),
             tags=("batch",)),
        Case("single precision, five rows of two", (rng.uniform(0.05, 0.95, size=(5, 2)), _labels(rng, (5, 2))),
             dtype="float32", tags=("batch", "dtype")),
        Case("tensors, seven questions", (rng.uniform(0.05, 0.95, size=7), _labels(rng, 7)), backend="torch",
             tags=("torch",)),
        Case("single-precision tensors, three rows of three", (rng.uniform(0.05, 0.95, size=(3, 3)),
                                                               _labels(rng, (3, 3))),
             backend="torch", dtype="float32", tags=("batch", "dtype", "torch")),
    ]


def _bce_logits_cases():
    return [Case("five logits (5,)", (np.array([2.0, -1.0, 0.5, -3.0, 0.0]), np.array([1.0, 0.0, 0.0, 0.0, 1.0]))),
            Case("logits of +/-1000", (np.array([1000.0, -1000.0, 1000.0, -1000.0]), np.array([1.0, 0.0, 0.0, 1.0])),
                 tags=("large",))]


def _bce_logits_hidden(rng):
    return [
        Case("eight rows of three labels", (rng.normal(size=(8, 3)) * 3, _labels(rng, (8, 3))), tags=("batch",)),
        Case("ten logits hundreds away from zero", (np.sign(rng.normal(size=10)) * (100 + rng.random(10) * 800),
                                                    _labels(rng, 10)), tags=("large",)),
        Case("logits exactly zero", (np.zeros(6), _labels(rng, 6))),
        Case("single precision, six rows of two", (rng.normal(size=(6, 2)) * 2, _labels(rng, (6, 2))),
             dtype="float32", tags=("batch", "dtype")),
        Case("tensors, nine logits", (rng.normal(size=9) * 2, _labels(rng, 9)), backend="torch", tags=("torch",)),
        Case("single-precision tensors with logits up to a thousand",
             (_exact32(rng.uniform(-1000, 1000, size=(3, 4))), _labels(rng, (3, 4))), backend="torch",
             dtype="float32", tags=("batch", "large", "dtype", "torch")),
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
        Case("four rows of five pre-activations", (rng.normal(size=(4, 5)) * 6, _labels(rng, (4, 5))),
             tags=("batch",)),
        Case("pre-activations about thirty from zero", (np.sign(rng.normal(size=6)) * (30 + rng.random(6)),
                                                        _labels(rng, 6))),
        Case("pre-activations hundreds from zero", (np.sign(rng.normal(size=5)) * (200 + rng.random(5) * 800),
                                                    _labels(rng, 5)), tags=("large",)),
        Case("single precision, six pre-activations", (rng.normal(size=6) * 4, _labels(rng, 6)), dtype="float32",
             tags=("dtype",)),
        Case("tensors, five pre-activations", (rng.normal(size=5) * 4, _labels(rng, 5)), backend="torch",
             tags=("torch",)),
        Case("single-precision tensors, two rows of three", (rng.normal(size=(2, 3)) * 3, _labels(rng, (2, 3))),
             backend="torch", dtype="float32", tags=("batch", "dtype", "torch")),
    ]


def _loss(name, course_name, describe, hints):
    """What a loss task shares: the loss and its gradient graded together against course.losses.
    (make_cases and make_hidden are given in each Task(...) by name, for the student bundle.)"""
    return dict(name=name, uses=(name, name + "_grad"), describe=describe, run=_pair_run,
                reference=_pair_reference(course_name), compare=_PAIR, from_scratch=True, forbidden=_FORBIDDEN,
                hints={**_HINTS, **hints})


TASKS = [
    Task(make_cases=_regression_cases, make_hidden=_regression_hidden, **_loss(
        "mse", "mse", "mse(pred, target) and mse_grad: the mean of squared errors and 2(pred - y)/N per entry",
        {"batch": "the mean runs over every entry (N = the number of entries of pred, not its rows); the "
                  "gradient has one entry per prediction, 2 (pred - target) / N, the shape of pred"})),
    Task(make_cases=_regression_cases, make_hidden=_regression_hidden, **_loss(
        "mae", "mae", "mae(pred, target) and mae_grad: the mean absolute error and sign(pred - y)/N",
        {"batch": "the mean runs over every entry (N = the number of entries of pred); the gradient is "
                  "sign(pred - target) / N per entry, 0 where a prediction equals its target"})),
    Task(make_cases=_ce_cases, make_hidden=_ce_hidden, **_loss(
        "cross_entropy", "cross_entropy",
        "cross_entropy(logits, target) and its gradient (softmax - one_hot)/N, stable for +/-1000",
        {"batch": "log-sum-exp along each row (axis 1), then average over the N examples, not the classes; "
                  "the gradient is (softmax(z) - one_hot) / N, shape (N, C)",
         "large": "subtract each row's maximum before exp: log softmax = z - m - log(sum(exp(z - m))), "
                  "never exp of the raw logits and never log of a probability"})),
    Task(make_cases=_probs_cases, make_hidden=_probs_hidden, **_loss(
        "cross_entropy_from_probs", "cross_entropy_from_probs",
        "cross_entropy_from_probs(probs, target) and its gradient -one_hot/(N p)",
        {"batch": "take each row's probability of its own class: -mean over rows of log p[n, y_n]; the "
                  "gradient is -1 / (N p) at those entries and 0 everywhere else"})),
    Task(make_cases=_bce_cases, make_hidden=_bce_hidden, **_loss(
        "bce", "binary_cross_entropy",
        "bce(probs, target) and bce_grad: binary cross-entropy of probabilities, (p - y)/(p(1 - p)N)",
        {"batch": "every entry is its own yes/no question: average over all entries; the gradient is "
                  "(p - y) / (p (1 - p)) / N, the shape of probs"})),
    Task(make_cases=_bce_logits_cases, make_hidden=_bce_logits_hidden, **_loss(
        "bce_with_logits", "binary_cross_entropy_with_logits",
        "bce_with_logits(logits, target) and its gradient (sigmoid(z) - y)/N, stable for +/-1000",
        {"large": "write each term as max(z, 0) - z y + log(1 + exp(-|z|)): no exponent is ever positive, "
                  "and use a stable sigmoid in the gradient",
         "batch": "average over every entry; the gradient is (sigmoid(z) - y) / N, the shape of the logits"})),
    Task(
        name="saturation", uses=("saturation_gradients",),
        describe="saturation_gradients(z, y): dL/dz of (sigmoid(z) - y)**2 and of BCE, elementwise",
        make_cases=_saturation_cases, make_hidden=_saturation_hidden, reference=_saturation_reference,
        compare=Parts(("mse", "bce"), container="dict"), from_scratch=True, forbidden=_FORBIDDEN,
        hints={**_HINTS,
               "batch": "elementwise, no averaging: MSE gives 2 (p - y) p (1 - p), BCE gives p - y, both the "
                        "shape of z",
               "large": "compute the sigmoid stably (exp(-|z|) only): exp(-z) overflows for z = -1000"},
    ),
]
