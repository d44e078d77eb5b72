"""Tasks of the test assignment ``99-kinds``: one task of every kind the grader knows.

Not part of the course: the tests load this module through the environment
variable ``AUTOGRADER_TASKS`` (see ``tests/conftest.py``). Some tasks here
are built with lambdas and local functions on purpose: they must grade
exactly like tasks written with module-level functions.

Visible cases use fixed data; hidden ones are drawn by ``make_hidden`` from the
generator seeded by the course's secret (the tests fix it, see
``tests/conftest.py``). A hidden case with nothing to compute (an input that
must raise) may stay in ``make_cases``, as layer_shapes' does.
"""

from __future__ import annotations

import numpy as np

from autograder.compare import Array, Check, Exact, Number, Outcome, Pair, Parts, Trajectory
from autograder.drivers import (forward_backward, forward_output, module_script, optimizer_run, pair_reference,
                                torch_optimizer_reference, value_graph)
from autograder.tasks import Case, Task

CHAPTER = "99"


# ---------------------------------------------------------------------------
# an exact answer: the shapes of every layer's W and b
# ---------------------------------------------------------------------------

def _shapes_cases():
    return [
        Case("sizes [3, 4, 1]", ([3, 4, 1],)),
        Case("sizes [2, 2]", ([2, 2],)),
        Case("a single size [5] is no network", ([5],), raises=ValueError, suite="hidden", tags=("error",)),
    ]


def _shapes_hidden(rng):
    deep = [int(n) for n in rng.choice(np.arange(2, 1000), size=4, replace=False)]  # no two sizes equal
    outer = [int(n) for n in rng.integers(2, 10, size=2)]
    return [
        Case("four sizes up to 1000", (deep,)),
        Case("a bottleneck of one unit [a, 1, b]", ([outer[0], 1, outer[1]],)),
    ]


def _shapes_reference(sizes):
    from course.neurons import layer_shapes

    return layer_shapes(sizes)


# ---------------------------------------------------------------------------
# a number: mean squared error
# ---------------------------------------------------------------------------

def _mse_cases():
    rng = np.random.default_rng(99)
    return [
        Case("vectors (5,)", (rng.normal(size=5), rng.normal(size=5))),
        Case("matrices (3, 4)", (rng.normal(size=(3, 4)), rng.normal(size=(3, 4)))),
    ]


def _mse_hidden(rng):
    same = rng.normal(size=4)
    return [
        Case("equal inputs give 0", (same, same.copy())),
        Case("a batch (20, 3), large errors", (rng.normal(size=(20, 3)) * 100, rng.normal(size=(20, 3)))),
        Case("float32", (rng.normal(size=(6, 2)), rng.normal(size=(6, 2))), dtype="float32"),
        Case("torch tensors", (rng.normal(size=(4, 3)), rng.normal(size=(4, 3))), backend="torch", tags=("torch",)),
    ]


# ---------------------------------------------------------------------------
# several arrays, as a dict: mean and variance along an axis
# ---------------------------------------------------------------------------

def _moments_cases():
    rng = np.random.default_rng(7)
    return [
        Case("columns of (5, 3), axis=0", (rng.normal(size=(5, 3)),), {"axis": 0}),
        Case("rows of (4, 6), axis=1", (rng.normal(size=(4, 6)) * 3 + 1,), {"axis": 1}, tags=("axis",)),
    ]


def _moments_hidden(rng):
    return [
        Case("a batch (2, 3, 4), axis=-1", (rng.normal(size=(2, 3, 4)),), {"axis": -1}, tags=("axis",)),
        Case("float32 (8, 2), axis=0", (rng.normal(size=(8, 2)) + 5,), {"axis": 0}, dtype="float32"),
        Case("torch (6, 3), axis=0", (rng.normal(size=(6, 3)),), {"axis": 0}, backend="torch", tags=("torch",)),
    ]


def _moments_reference(x, axis=0):
    return {"mean": x.mean(axis=axis), "var": x.var(axis=axis)}


# ---------------------------------------------------------------------------
# an array, and a forward/backward pair: a dense layer
# ---------------------------------------------------------------------------

def _layer(rng, n, d, f):
    """x (n, d), W (f, d), b (f,) and dout (n, f)."""
    return rng.normal(size=(n, d)), rng.normal(size=(f, d)), rng.normal(size=f), rng.normal(size=(n, f))


def _linear_cases():
    rng = np.random.default_rng(11)
    return [
        Case("x (4, 3), W (2, 3)", _layer(rng, 4, 3, 2)),
        Case("x (1, 5), W (5, 5)", _layer(rng, 1, 5, 5)),
    ]


def _linear_hidden(rng):
    return [
        Case("x (16, 8), W (4, 8)", _layer(rng, 16, 8, 4), tags=("batch",)),
        Case("x (6, 2), W (7, 2), float32", _layer(rng, 6, 2, 7), dtype="float32"),
        Case("torch tensors, x (5, 4), W (3, 4)", _layer(rng, 5, 4, 3), backend="torch", tags=("torch",)),
    ]


def _linear_reference(x, W, b, dout):
    from course.layers import linear

    return linear(x, W, b)


def _pair_task():
    """Built inside a function, with a lambda and a local cache builder (as a chapter may)."""
    from course.layers import linear_backward, linear_forward

    def documented_cache(x, W, b):
        return (x, W, b)  # what the notebook's docstring says the cache holds

    return Task(
        name="linear_backward", uses=("linear_forward", "linear_backward"),
        describe="linear_backward(dout, cache) -> (dx, dW, db) on the cache of the student's own forward",
        make_cases=lambda: _linear_cases(), make_hidden=lambda rng: _linear_hidden(rng),
        run=forward_backward(documented_cache),
        reference=pair_reference(linear_forward, linear_backward),
        compare=Pair(grads=Parts(("dx", "dW", "db"))),
        hints={"batch": "db sums dout over the batch; dW = dout^T x has the shape of W"},
    )


# ---------------------------------------------------------------------------
# a class with state: an optimizer, a module with modes, a Value engine
# ---------------------------------------------------------------------------

def _adam_problem(rng, shapes, steps):
    theta0 = [rng.normal(size=s) for s in shapes]
    curvature = [rng.uniform(0.5, 3.0, size=s) for s in shapes]
    center = [rng.normal(size=s) for s in shapes]
    noise = [rng.normal(size=(steps, *s)) * 0.3 for s in shapes]
    return theta0, curvature, center, noise


def _adam_cases():
    rng = np.random.default_rng(5)
    return [Case("one parameter (3,), lr=0.1, 20 steps", (*_adam_problem(rng, [(3,)], 20), {"lr": 0.1}))]


def _adam_hidden(rng):
    def problem(shapes, steps):
        return _adam_problem(rng, shapes, steps)

    return [
        Case("two parameters (2, 3) and (4,), betas=(0.8, 0.99), 25 steps",
             (*problem([(2, 3), (4,)], 25), {"lr": 0.05, "betas": (0.8, 0.99)}), tags=("betas",)),
        Case("weight_decay=0.1 (added to the gradient), 20 steps",
             (*problem([(5,)], 20), {"lr": 0.02, "weight_decay": 0.1}), tags=("decay",)),
        Case("float32 parameters, 20 steps", (*problem([(4,)], 20), {"lr": 0.1}), dtype="float32"),
        Case("torch tensors, 20 steps", (*problem([(2, 2)], 20), {"lr": 0.1}), backend="torch", tags=("torch",)),
        Case("a large eps=0.1, 20 steps", (*problem([(3,)], 20), {"lr": 0.1, "eps": 0.1}), tags=("eps",)),
    ]


def _batchnorm_script(rng, c, n_train):
    steps = [["train"]]
    for _ in range(n_train):
        steps += [["forward", rng.normal(size=(8, c)) * 2 + 1], ["get", "running_mean"], ["get", "running_var"]]
    steps += [["eval"], ["forward", rng.normal(size=(5, c))], ["forward", rng.normal(size=(1, c))]]
    return steps


def _batchnorm_cases():
    rng = np.random.default_rng(3)
    return [Case("3 features: two training batches, then eval", ({"args": [3]}, _batchnorm_script(rng, 3, 2)))]


def _batchnorm_hidden(rng):
    return [
        Case("momentum=0.3, eps=1e-3, four batches", ({"args": [4], "kwargs": {"momentum": 0.3, "eps": 1e-3}},
                                                      _batchnorm_script(rng, 4, 4)), tags=("momentum",)),
        Case("eval on one example after one batch", ({"args": [2]}, _batchnorm_script(rng, 2, 1)), tags=("eval",)),
        Case("float32", ({"args": [3]}, _batchnorm_script(rng, 3, 2)), dtype="float32"),
    ]


def _dropout_cases():
    rng = np.random.default_rng(8)
    return [
        Case("p=0.2 on (200, 50)", (0.2, rng.normal(size=(200, 50)) + 3.0)),
    ]


def _dropout_hidden(rng):
    return [
        Case("p=0.7 on (300, 40)", (0.7, rng.normal(size=(300, 40)) - 3.0)),
        Case("p=0 keeps everything", (0.0, rng.normal(size=(50, 20)) + 2.0)),
        Case("torch tensors, p=0.4", (0.4, rng.normal(size=(250, 40)) + 3.0), backend="torch", tags=("torch",)),
    ]


def _dropout_run(objs, p, x):
    layer = objs[0](p)
    layer.train()
    train, again = layer.forward(x), layer.forward(x)
    layer.eval()
    evaluated = layer.forward(x)
    kept_kind = all(type(out) is type(x) for out in (train, again, evaluated))
    return {"train": train, "again": again, "eval": evaluated, "kind kept": kept_kind}


def _dropout_properties(case, got):
    p, x = case.args
    x = np.asarray(x, dtype=np.float64)
    train = np.asarray(got["train"], dtype=np.float64)
    evaluated = np.asarray(got["eval"], dtype=np.float64)
    if train.shape != x.shape or evaluated.shape != x.shape:
        return [(False, f"outputs of shape {train.shape} and {evaluated.shape}, expected {x.shape}")]
    rtol = 1e-4 if case.dtype == "float32" else 1e-9
    dropped = train == 0
    kept_right = np.allclose(train[~dropped], x[~dropped] / (1 - p), rtol=rtol, atol=1e-6) if p < 1 else True
    share = dropped.mean()
    spread = 5 * np.sqrt(p * (1 - p) / x.size) + 1 / x.size
    again = np.asarray(got["again"], dtype=np.float64)
    random = (again.shape == x.shape and ((again == 0) != dropped).any()) if 0 < p < 1 else True
    return [
        (np.allclose(evaluated, x, rtol=rtol), "in eval mode the layer must return its input unchanged"),
        (kept_right, "in train mode every kept unit must be scaled by 1 / (1 - p)"),
        (abs(share - p) <= spread, f"in train mode it dropped {share:.0%} of the units; expected about {p:.0%}"),
        (random, "two calls in train mode dropped the same units: the mask must be drawn at random each call"),
        (got["kind kept"] is True, "return the input's kind of array (a tensor for a tensor)"),
    ]


def _value_cases():
    return [
        Case("a * b + c", ([["leaf", 2.0], ["leaf", -3.0], ["leaf", 10.0], ["mul", 0, 1], ["add", 3, 2]],)),
        Case("a tanh neuron: tanh(x1 w1 + x2 w2 + b)",
             ([["leaf", 2.0], ["leaf", -3.0], ["leaf", 0.0], ["leaf", 1.0], ["leaf", 6.88],
               ["mul", 0, 1], ["mul", 2, 3], ["add", 5, 6], ["add", 7, 4], ["tanh", 8]],)),
    ]


def _random_expression():
    """The shape of the random expression: operations and operands from a fixed seed, the
    numbers (its leaves and constants) left as None for the course's secret to fill in."""
    rng = np.random.default_rng(4)
    program = [["leaf", None] for _ in rng.normal(size=4)]
    ops = [("add", "nn"), ("mul", "nn"), ("tanh", "n"), ("relu", "n"), ("mul_const", "nc"), ("add_const", "nc")]
    for _ in range(30):
        op, kinds = ops[rng.integers(len(ops))]
        n = len(program)
        operands = []
        for k in kinds:
            if k == "n":
                operands.append(int(rng.integers(n)))
            else:
                rng.normal()  # drawn, as the seed's constants always were, so the shape stays the same
                operands.append(None)
        program.append([op, *operands])
    return program


def _value_hidden(rng):
    def u(lo, hi):
        return float(rng.uniform(lo, hi))

    def signed(lo, hi):
        return float(rng.choice([-1.0, 1.0])) * u(lo, hi)

    a, b = u(-2, 2), u(-2, 2)
    random_program = [[op, *(float(rng.normal()) if v is None else v for v in rest)]
                      for op, *rest in _random_expression()]
    return [
        Case("a node used twice: x * x + x", ([["leaf", signed(0.5, 3)], ["mul", 0, 0], ["add", 1, 0]],),
             tags=("reuse",)),
        Case("relu of a negative and a positive", ([["leaf", -u(0.5, 3)], ["leaf", u(0.5, 3)], ["relu", 0],
                                                     ["relu", 1], ["mul", 2, 3], ["add", 4, 3]],), tags=("order",)),
        Case("exp and a power: exp(a) * b ** 3", ([["leaf", u(-1, 1)], ["leaf", signed(0.5, 2)], ["exp", 0],
                                                    ["pow", 1, 3], ["mul", 2, 3]],)),
        Case("constants on the left: c * a + d - b", ([["leaf", a], ["leaf", b], ["rmul", 0, u(1.5, 3)],
                                                       ["radd", 2, u(-2, 2)], ["sub", 3, 1]],)),
        Case("an inner node used twice: a = x * y; (a + c) * a", ([["leaf", u(-2, 2)], ["leaf", u(-2, 2)],
                                                                  ["mul", 0, 1], ["add_const", 2, u(0.5, 2)],
                                                                  ["mul", 3, 2]],),
             tags=("reuse", "order")),
        Case("a shared weight: tanh(w x1 + w x2)", ([["leaf", u(-1, 1)], ["leaf", u(-1, 1)], ["leaf", u(-1, 1)],
                                                      ["mul", 0, 1], ["mul", 0, 2], ["add", 3, 4], ["tanh", 5]],),
             tags=("reuse",)),
        Case("division and subtraction: (a - b) / (c - 2) - (1 - a) + -b",
             ([["leaf", u(-2, 2)], ["leaf", u(-2, 2)], ["leaf", u(3, 5)], ["sub", 0, 1], ["add_const", 2, -2.0],
               ["div", 3, 4], ["rsub", 0, 1.0], ["sub", 5, 6], ["neg", 1], ["add", 7, 8]],)),
        Case("a chain of 40 tanh", ([["leaf", signed(0.2, 1.0)]] + [["tanh", i] for i in range(40)],)),
        Case("a random expression of 30 operations", (random_program,)),
    ]


# ---------------------------------------------------------------------------
# an outcome: train logistic regression, judged on held-out data
# ---------------------------------------------------------------------------

def _blobs(rng, n, centers, scale):
    X = np.concatenate([rng.normal(size=(n, len(c))) * scale + c for c in centers])
    y = np.repeat(np.arange(len(centers)), n).astype(np.float64)
    order = rng.permutation(len(y))
    return X[order], y[order]


def _fit_case(rng, name, centers, scale):
    X_train, y_train = _blobs(rng, 150, centers, scale)
    X_test, y_test = _blobs(rng, 200, centers, scale)
    return Case(name, (X_train, y_train, X_test), secret=y_test)


def _fit_cases():
    return [_fit_case(np.random.default_rng(21), "two blobs in 2-D", [np.array([2.5, 3.0]), np.array([0.5, 1.0])],
                      0.8)]


def _fit_hidden(rng):
    return [_fit_case(rng, "two blobs in 5-D, away from the origin", [np.full(5, 3.0), np.full(5, 1.5)], 0.9)]


def _fit_run(objs, X_train, y_train, X_test):
    w, b = objs[0](X_train, y_train)
    w = np.asarray(w.detach().cpu() if hasattr(w, "detach") else w, dtype=np.float64)
    b = float(b.detach().cpu() if hasattr(b, "detach") else b)
    return X_test @ w.reshape(-1) + b  # scores on data the student's function never saw


def _accuracy(scores, y):
    return float(np.mean((np.asarray(scores).reshape(-1) > 0) == (y == 1)))


def _log_loss(scores, y):
    z = np.asarray(scores, dtype=np.float64).reshape(-1)
    return float(np.mean(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))))


TASKS = [
    Task(
        name="layer_shapes", uses=("layer_shapes",),
        describe="layer_shapes(sizes): [(W shape, b shape) per layer]",
        make_cases=_shapes_cases, make_hidden=_shapes_hidden, reference=_shapes_reference, compare=Exact(),
        hints={"error": "a network needs at least two sizes: raise ValueError otherwise"},
    ),
    Task(
        name="mse", uses=("mse",), describe="mse(pred, target): the mean of the squared errors, one number",
        make_cases=_mse_cases, make_hidden=_mse_hidden,
        reference=lambda pred, target: float(np.mean((pred - target) ** 2)),
        compare=Number(), from_scratch=True,
        forbidden=("course.losses.mse", "course.losses.mse_forward", "torch.nn.functional.mse_loss"),
        hints={"torch": "use operations that work on tensors too ((a - b) ** 2).mean()"},
    ),
    Task(
        name="moments", uses=("moments",), describe="moments(x, axis): {'mean': ..., 'var': ...} along axis",
        make_cases=_moments_cases, make_hidden=_moments_hidden, reference=_moments_reference,
        compare=Parts(("mean", "var"), container="dict"),
        hints={"axis": "reduce along the given axis only",
               "torch": "use operations that work on tensors too (x.mean(axis), ((x - m) ** 2).mean(axis))"},
    ),
    Task(
        name="linear_forward", uses=("linear_forward",), describe="linear_forward(x, W, b) -> (x W^T + b, cache)",
        make_cases=_linear_cases, make_hidden=_linear_hidden, run=forward_output(with_dout=True),
        reference=_linear_reference, from_scratch=True,
        forbidden=("course.layers.linear", "course.layers.linear_forward", "torch.nn.functional.linear"),
        hints={"torch": "use the @ operator and .T, which work on tensors too"},
    ),
    _pair_task(),
    Task(
        name="adam", uses=("Adam",), describe="Adam(params, lr, betas, eps, weight_decay): torch.optim.Adam's rule",
        make_cases=_adam_cases, make_hidden=_adam_hidden, run=optimizer_run,
        reference=torch_optimizer_reference("Adam"),
        compare=Trajectory(tol={"float64": (1e-6, 1e-9)}),
        hints={"decay": "Adam's weight_decay adds weight_decay * p to the gradient before the moments",
               "eps": "eps is added to the square root of the corrected second moment, not inside it"},
    ),
    Task(
        name="batchnorm", uses=("BatchNorm1d",),
        describe="BatchNorm1d: batch statistics in train mode, running statistics in eval mode",
        make_cases=_batchnorm_cases, make_hidden=_batchnorm_hidden, run=module_script,
        reference=lambda init, script: module_script(
            [__import__("course.nn", fromlist=["BatchNorm1d"]).BatchNorm1d], init, script),
        compare=Parts(each=Array(check_kind=False, check_dtype=False), container="dict"),
        hints={"momentum": "running = (1 - momentum) * running + momentum * batch statistic",
               "eval": "in eval mode normalize with the running statistics, not the batch's"},
    ),
    Task(
        name="dropout", uses=("Dropout",), describe="Dropout(p): inverted dropout in train mode, identity in eval",
        make_cases=_dropout_cases, make_hidden=_dropout_hidden, run=_dropout_run,
        compare=Check(_dropout_properties, all_or_nothing=True),
    ),
    Task(
        name="value", uses=("Value",), describe="Value: a scalar autograd engine",
        make_cases=_value_cases, make_hidden=_value_hidden, run=value_graph,
        reference=lambda program: value_graph([__import__("course.autograd", fromlist=["Value"]).Value], program),
        compare=Parts(("data", "grad"), each=Array(check_kind=False, check_dtype=False), container="dict",
                      all_or_nothing=True),
        hints={"reuse": "a node used twice receives two gradients: accumulate with +=, never overwrite",
               "order": "visit nodes in reverse topological order: a node passes its gradient on only once, "
                        "after every node that uses it has"},
    ),
    Task(
        name="fit_logistic", uses=("fit_logistic",),
        describe="fit_logistic(X, y) -> (w, b), judged on held-out data",
        make_cases=_fit_cases, make_hidden=_fit_hidden, run=_fit_run,
        compare=Outcome({"test accuracy": (_accuracy, ">=", 0.9), "test log-loss": (_log_loss, "<=", 0.3)}),
        time_limit=60,
    ),
]
