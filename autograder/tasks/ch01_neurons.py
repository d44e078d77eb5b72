"""Chapter 01, neurons and layers: a dense layer, layer shapes and parameter counts,
the perceptron learning rule, collapsing stacked linear layers, a hand-built XOR network.

Visible cases use fixed data; hidden ones are drawn in ``make_hidden`` from the
generator the grader seeds with the course's secret (see ``autograder/AUTHORING.md``).
The perceptron and the XOR network are judged by what they do on data (properties),
not by their weights: many weights are right.
"""

from __future__ import annotations

import numpy as np

from autograder.compare import Array, Check, Exact, Parts
from autograder.tasks import Case, Task

CHAPTER = "01"


# ---------------------------------------------------------------------------------------------
# dense layer
# ---------------------------------------------------------------------------------------------

def _dense_reference(a, W, b):
    from course.neurons import dense

    return dense(a, W, b)


def _dense_cases():
    rng = np.random.default_rng(101)
    return [
        Case("one input a (3,), W (4, 3), b (4,)", (np.array([1.0, -2.0, 0.5]), rng.normal(size=(4, 3)),
                                                    rng.normal(size=4))),
        Case("a batch of 5 rows (5, 3), W (4, 3)", (rng.normal(size=(5, 3)), rng.normal(size=(4, 3)),
                                                    rng.normal(size=4)), tags=("batch",)),
    ]


def _dense_hidden(rng):
    return [
        Case("one input, more outputs than inputs: W (6, 2)", (rng.normal(size=2), rng.normal(size=(6, 2)),
                                                               rng.normal(size=6))),
        Case("a batch (20, 6), W (5, 6)", (rng.normal(size=(20, 6)), rng.normal(size=(5, 6)),
                                           rng.normal(size=5) + 3), tags=("batch",)),
        Case("a square layer, batch (4, 4), W (4, 4)", (rng.normal(size=(4, 4)), rng.normal(size=(4, 4)),
                                                        rng.normal(size=4)), tags=("batch",)),
        Case("one output unit: W (1, 7)", (rng.normal(size=(3, 7)), rng.normal(size=(1, 7)), rng.normal(size=1)),
             tags=("batch",)),
        Case("float32 batch", (rng.normal(size=(8, 5)), rng.normal(size=(3, 5)), rng.normal(size=3)),
             dtype="float32", tags=("batch", "dtype")),
        Case("torch tensors, a batch", (rng.normal(size=(6, 4)), rng.normal(size=(2, 4)), rng.normal(size=2)),
             backend="torch", tags=("batch", "torch")),
        Case("torch tensors, one input", (rng.normal(size=3), rng.normal(size=(5, 3)), rng.normal(size=5)),
             backend="torch", tags=("torch",)),
    ]


# ---------------------------------------------------------------------------------------------
# layer shapes and parameter counts
# ---------------------------------------------------------------------------------------------

def _shapes_reference(sizes):
    from course.neurons import layer_shapes

    return layer_shapes(sizes)


def _count_reference(sizes):
    from course.neurons import count_parameters

    return count_parameters(sizes)


def _sizes_cases():
    return [
        Case("sizes [3, 4, 1]", ([3, 4, 1],)),
        Case("sizes [2, 2]: one layer", ([2, 2],)),
        Case("sizes [64, 32, 10]: a digit classifier", ([64, 32, 10],)),
        Case("sizes [5]: no layer at all", ([5],), raises=ValueError, suite="hidden"),
    ]


def _sizes_hidden(rng):
    deep = [int(s) for s in rng.integers(1, 40, size=6)]
    return [
        Case("a deep network, 6 widths", (deep,)),
        Case("a wide first layer (784 inputs)", ([784, int(rng.integers(50, 300)), int(rng.integers(2, 20))],)),
        Case("widths of 1", ([1, int(rng.integers(2, 9)), 1],)),
    ]


# ---------------------------------------------------------------------------------------------
# the perceptron
# ---------------------------------------------------------------------------------------------

CORNERS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


def _perceptron_run(objs, X, y, X_test, lr, max_epochs):
    perceptron = objs[0](X.shape[1], lr=lr)
    converged = perceptron.fit(X, y, max_epochs=max_epochs)
    return {"converged": converged, "train": perceptron.predict(X), "test": perceptron.predict(X_test)}


def _labels(pred, n):
    pred = np.asarray(pred, dtype=np.float64)
    if pred.shape != (n,):
        raise ValueError(f"predict gave shape {pred.shape}, expected ({n},)")
    return pred


def _perceptron_properties(case, got):
    X, y, X_test = case.args[0], case.args[1], case.args[2]
    separable, y_test = case.secret["separable"], case.secret["y_test"]
    train = _labels(got["train"], len(y))
    converged = got["converged"]
    if not isinstance(converged, (bool, np.bool_)):
        return [(False, f"fit() must return True or False (whether it converged), got {type(converged).__name__}")]
    if separable:
        test = _labels(got["test"], len(y_test))
        return [
            (bool(converged), "fit() returned False, but the data are linearly separable: the rule converges"),
            (bool(np.all(train == y)), "predict() does not reproduce every training label after fit()"),
            (bool(np.mean(test == y_test) >= 0.75), "on new points drawn like the training data, fewer than 75% are right"),
        ]
    return [
        (not bool(converged), "fit() returned True on data no line separates: it cannot have converged"),
        (bool(np.isin(train, (0, 1)).all()), "predict() must give labels 0 or 1"),
    ]


def _separable(rng, n, d, lr, name):
    """Points on both sides of a random hyperplane, kept 0.1 away from it (a margin)."""
    w, b = rng.normal(size=d), rng.normal() * 0.5
    w /= np.linalg.norm(w)
    X = rng.uniform(-2, 2, size=(4 * n, d))
    margin = X @ w + b
    X = X[np.abs(margin) > 0.1]
    y = (X @ w + b > 0).astype(np.float64)
    return Case(name, (X[:n], y[:n], X[n:n + 30], lr, 200), tags=("batch",),
                secret={"separable": True, "y_test": y[n:n + 30]})


def _gate(name, y, lr=1.0, epochs=100, separable=True):
    return Case(name, (CORNERS.copy(), np.array(y, dtype=np.float64), CORNERS.copy(), lr, epochs), tags=("batch",),
                secret={"separable": separable, "y_test": np.array(y, dtype=np.float64)})


def _perceptron_cases():
    return [_gate("AND on the four corners", [0, 0, 0, 1]), _gate("OR on the four corners", [0, 1, 1, 1]),
            _gate("XOR on the four corners, 50 epochs", [0, 1, 1, 0], epochs=50, separable=False)]


def _perceptron_hidden(rng):
    noisy = np.repeat(CORNERS, 5, axis=0) + rng.uniform(-0.2, 0.2, size=(20, 2))
    y_xor = np.repeat(np.array([0.0, 1.0, 1.0, 0.0]), 5)
    return [
        _gate("NAND, learning rate 0.1", [1, 1, 1, 0], lr=0.1),
        _separable(rng, 60, 2, 1.0, "60 separable points in 2-D"),
        _separable(rng, 100, 5, 0.5, "100 separable points in 5-D, learning rate 0.5"),
        Case("XOR, noisy corners (20 points)", (noisy, y_xor, noisy, 1.0, 30), tags=("batch",),
             secret={"separable": False, "y_test": y_xor}),
    ]


# ---------------------------------------------------------------------------------------------
# collapsing linear layers
# ---------------------------------------------------------------------------------------------

def _collapse_reference(weights, biases):
    from course.neurons import collapse_linear

    return tuple(collapse_linear(weights, biases))


def _stack(rng, sizes, scale=1.0):
    weights = [rng.normal(size=(o, i)) * scale for i, o in zip(sizes[:-1], sizes[1:])]
    biases = [rng.normal(size=o) for o in sizes[1:]]
    return weights, biases


def _collapse_cases():
    rng = np.random.default_rng(103)
    return [Case("two layers 3 -> 4 -> 2", _stack(rng, [3, 4, 2])),
            Case("three layers 2 -> 5 -> 3 -> 1", _stack(rng, [2, 5, 3, 1]))]


def _collapse_hidden(rng):
    return [
        Case("two square layers 4 -> 4 -> 4", _stack(rng, [4, 4, 4])),
        Case("four layers 6 -> 3 -> 7 -> 2 -> 5", _stack(rng, [6, 3, 7, 2, 5])),
        Case("one layer: nothing to collapse", _stack(rng, [3, 2])),
        Case("three square layers, float32", _stack(rng, [3, 3, 3, 3]), dtype="float32", tags=("dtype",)),
        Case("torch tensors, three layers", _stack(rng, [4, 2, 6, 3]), backend="torch", tags=("torch",)),
    ]


# ---------------------------------------------------------------------------------------------
# a hand-built XOR network
# ---------------------------------------------------------------------------------------------

def _xor_run(objs, X):
    return list(objs[0]())


def _heaviside(z):
    return (z > 0).astype(np.float64)


def _xor_properties(case, got):
    X = case.args[0]
    want = (np.round(X[:, 0]) != np.round(X[:, 1])).astype(np.float64)
    if not isinstance(got, (list, tuple)) or len(got) != 4:
        return [(False, "xor_network() must return four arrays: (W1, b1, W2, b2)")]
    W1, b1, W2, b2 = (np.asarray(p, dtype=np.float64) for p in got)
    shapes = [W1.shape, b1.shape, W2.shape, b2.shape]
    if shapes != [(2, 2), (2,), (1, 2), (1,)]:
        return [(False, f"shapes {shapes}; a 2-2-1 network has W1 (2, 2), b1 (2,), W2 (1, 2), b2 (1,)")]
    out = _heaviside(_heaviside(X @ W1.T + b1) @ W2.T + b2)[:, 0]
    wrong = int(np.sum(out != want))
    return [(True, "shapes"), (wrong == 0, f"the network is wrong on {wrong} of {len(X)} points")]


def _xor_cases():
    return [Case("the four corners", (CORNERS.copy(),), tags=("batch",))]


def _xor_hidden(rng):
    near = np.repeat(CORNERS, 6, axis=0) + rng.uniform(-0.2, 0.2, size=(24, 2))
    return [Case("points within 0.2 of the corners", (near,), tags=("batch",))]


TASKS = [
    Task(
        name="dense", uses=("dense",),
        describe="dense(a, W, b) = W a + b for one input (D,) or a batch of rows (N, D)",
        make_cases=_dense_cases, make_hidden=_dense_hidden, reference=_dense_reference, from_scratch=True,
        forbidden=("course.neurons.dense", "course.neurons.neuron", "course.layers.linear",
                   "course.layers.linear_forward", "torch.nn.functional.linear"),
        hints={
            "batch": "for a batch of rows A (N, D), every row needs W a + b: that is A @ W.T + b, shape (N, H)",
            "dtype": "keep the input's dtype (float32 in, float32 out)",
            "torch": "use operations that work on tensors too (@ and .T, not np.dot)",
        },
    ),
    Task(
        name="layer_shapes", uses=("layer_shapes",),
        describe="layer_shapes(sizes): the (W, b) shapes of every layer, W as (out, in)",
        make_cases=_sizes_cases, make_hidden=_sizes_hidden, reference=_shapes_reference, compare=Exact(),
        forbidden=("course.neurons.layer_shapes", "course.neurons.count_parameters"), from_scratch=True,
    ),
    Task(
        name="count_parameters", uses=("count_parameters",),
        describe="count_parameters(sizes): {'weights', 'biases', 'total'} of a dense network",
        make_cases=_sizes_cases, make_hidden=_sizes_hidden, reference=_count_reference, compare=Exact(),
        forbidden=("course.neurons.layer_shapes", "course.neurons.count_parameters"), from_scratch=True,
    ),
    Task(
        name="perceptron", uses=("Perceptron",),
        describe="Perceptron(n_inputs, lr).fit(X, y, max_epochs) converges on separable data, not on XOR",
        make_cases=_perceptron_cases, make_hidden=_perceptron_hidden, run=_perceptron_run,
        compare=Check(_perceptron_properties), from_scratch=True, forbidden=("course.neurons.Perceptron",),
        hints={"batch": "update after each example: w += lr * (y - y_hat) * x and b += lr * (y - y_hat); "
                        "an epoch without a mistake means it converged"},
    ),
    Task(
        name="collapse_linear", uses=("collapse_linear",),
        describe="collapse_linear(weights, biases) -> (W, b) of the single affine map",
        make_cases=_collapse_cases, make_hidden=_collapse_hidden, reference=_collapse_reference,
        compare=Parts(("W", "b")), from_scratch=True, forbidden=("course.neurons.collapse_linear",),
        hints={"dtype": "keep the input's dtype (float32 in, float32 out)",
               "torch": "use @ so that tensors work too, and return tensors"},
    ),
    Task(
        name="xor_network", uses=("xor_network",),
        describe="xor_network() -> (W1, b1, W2, b2) of a 2-2-1 step network computing XOR",
        make_cases=_xor_cases, make_hidden=_xor_hidden, run=_xor_run, compare=Check(_xor_properties),
        from_scratch=True, forbidden=("course.neurons.xor_network",),
        hints={"batch": "one hidden unit for OR, one for AND, and an output that fires for OR but not AND; "
                        "put each threshold halfway between the corners' sums so that near points work too"},
    ),
]
