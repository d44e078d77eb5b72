"""Chapter 02, activation functions: every activation with its derivative, the softmax
and its Jacobian, logits kept apart from probabilities, a deep network's forward pass
with and without activations, and one hidden layer fitted to data it never saw.

Visible cases use fixed data; hidden ones are drawn in ``make_hidden`` from the
generator the grader seeds with the course's secret (see ``autograder/AUTHORING.md``).
"""

from __future__ import annotations

import numpy as np

from autograder.compare import Array, Check, Parts
from autograder.tasks import Case, Task

CHAPTER = "02"

_F = "torch.nn.functional."

# ---------------------------------------------------------------------------------------------
# elementwise activations with their derivatives: one task per activation
# ---------------------------------------------------------------------------------------------


def _pair_run(objs, x, **options):
    f, df = objs
    return {"value": f(x, **options), "derivative": df(x, **options)}


def _pair_reference(name):
    def reference(x, **options):
        from course import activations as A

        return {"value": getattr(A, name)(x, **options), "derivative": getattr(A, name + "_derivative")(x, **options)}

    return reference


def _grid():
    return np.array([-3.0, -1.0, -0.25, 0.0, 0.25, 1.0, 3.0])


def _activation_cases(options=None):
    options = options or {}

    def cases():
        rng = np.random.default_rng(202)
        return [Case("a vector with 0 in it (7,)", (_grid(),), dict(options)),
                Case("a matrix (3, 4)", (rng.normal(size=(3, 4)) * 2,), dict(options), tags=("batch",))]

    return cases


def _activation_hidden(options_list=({},), large=True):
    def hidden(rng):
        cases = []
        for k, options in enumerate(options_list):
            label = "" if not options else " (" + ", ".join(f"{a}={b!r}" for a, b in options.items()) + ")"
            cases += [
                Case(f"a batch (5, 3, 4){label}", (rng.normal(size=(5, 3, 4)) * 3,), dict(options), tags=("batch",)),
                Case(f"float32 values (6, 5){label}", (rng.normal(size=(6, 5)) * 2,), dict(options), dtype="float32",
                     tags=("batch", "dtype")),
                Case(f"a torch tensor (4, 6){label}", (rng.normal(size=(4, 6)) * 2,), dict(options), backend="torch",
                     tags=("batch", "torch")),
            ]
        if large:
            cases.append(Case("large inputs (|x| up to 1000)", (rng.normal(size=(4, 5)) * 400,),
                              dict(options_list[0]), tags=("batch", "large")))
        cases.append(Case("a long vector (50,)", (rng.normal(size=50) * 4,), dict(options_list[0])))
        return cases

    return hidden


_COMMON_HINTS = {
    "dtype": "keep the input's dtype (float32 in, float32 out): no float64 constants or arrays mixed in",
    "torch": "use operations that work on tensors too, and return a tensor on the input's device",
    "batch": "work elementwise on arrays of any shape",
}


def _activation_task(name, points_note, hints, options_list=({},), large=True, forbidden=()):
    deriv = name + "_derivative"
    return Task(
        name=name, uses=(name, deriv),
        describe=f"{name}(x) and {deriv}(x), elementwise{points_note}",
        make_cases=_activation_cases(options_list[0] if len(options_list) == 1 else options_list[0]),
        make_hidden=_activation_hidden(options_list, large), run=_pair_run, reference=_pair_reference(name),
        compare=Parts(("value", "derivative"), container="dict"), from_scratch=True,
        forbidden=(f"course.activations.{name}", f"course.activations.{deriv}", f"course.activations.{name}_forward",
                   f"course.activations.{name}_backward") + tuple(forbidden),
        hints={**_COMMON_HINTS, **hints},
    )


# ---------------------------------------------------------------------------------------------
# PReLU: value, gradient for x and for the slope
# ---------------------------------------------------------------------------------------------

def _prelu_run(objs, x, weight, dout):
    prelu, prelu_grads = objs
    return {"value": prelu(x, weight), "grads": prelu_grads(x, weight, dout)}


def _prelu_reference(x, weight, dout):
    from course.activations import prelu_backward, prelu_forward

    out, cache = prelu_forward(x, weight)
    return {"value": out, "grads": tuple(prelu_backward(dout, cache))}


def _prelu_cases():
    rng = np.random.default_rng(205)
    return [
        Case("one shared slope, a vector with 0 in it", (_grid(), np.array([0.25]), rng.normal(size=7))),
        Case("one slope per channel, x (4, 3)", (rng.normal(size=(4, 3)), np.array([0.1, 0.2, -0.3]),
                                                 rng.normal(size=(4, 3))), tags=("batch",)),
    ]


def _prelu_hidden(rng):
    return [
        Case("one shared slope, x (5, 6)", (rng.normal(size=(5, 6)), rng.uniform(0.05, 0.5, size=1),
                                            rng.normal(size=(5, 6))), tags=("batch",)),
        Case("slopes per channel, x (3, 4, 5) (channels on axis 1)", (rng.normal(size=(3, 4, 5)),
                                                                      rng.uniform(-0.5, 0.5, size=4),
                                                                      rng.normal(size=(3, 4, 5))), tags=("batch",)),
        Case("float32, per channel", (rng.normal(size=(6, 2)), rng.uniform(0, 0.5, size=2), rng.normal(size=(6, 2))),
             dtype="float32", tags=("batch", "dtype")),
        Case("torch tensors, per channel", (rng.normal(size=(5, 3)), rng.uniform(0, 0.5, size=3),
                                            rng.normal(size=(5, 3))), backend="torch", tags=("batch", "torch")),
    ]


# ---------------------------------------------------------------------------------------------
# softmax and its Jacobian
# ---------------------------------------------------------------------------------------------

def _softmax_run(objs, z):
    softmax, jacobian = objs
    return {"probs": softmax(z), "jacobian": jacobian(z)}


def _softmax_reference(z):
    from course.activations import softmax

    s = softmax(z)
    return {"probs": s, "jacobian": np.diag(s) - np.outer(s, s)}


def _softmax_cases():
    return [Case("a vector (4,)", (np.array([1.0, 2.0, 0.5, -1.0]),)),
            Case("large scores (+/-1000)", (np.array([1000.0, 999.0, -1000.0]),), tags=("large",))]


def _softmax_hidden(rng):
    return [
        Case("a vector (7,)", (rng.normal(size=7) * 2,)),
        Case("one class only (1,)", (rng.normal(size=1),)),
        Case("large shifted scores (5,)", (rng.normal(size=5) * 3 + 900,), tags=("large",)),
        Case("float32 (6,)", (rng.normal(size=6),), dtype="float32", tags=("dtype",)),
        Case("a torch vector (5,)", (rng.normal(size=5),), backend="torch", tags=("torch",)),
    ]


# ---------------------------------------------------------------------------------------------
# logits and probabilities
# ---------------------------------------------------------------------------------------------

def _classifier_reference(X, W, b, multi_label=False):
    from course.activations import sigmoid, softmax

    logits = X @ W.T + b
    return {"logits": logits, "probs": sigmoid(logits) if multi_label else softmax(logits, axis=-1)}


def _classifier_cases():
    rng = np.random.default_rng(206)
    return [
        Case("single-label: 5 inputs, 3 classes", (rng.normal(size=(5, 4)), rng.normal(size=(3, 4)), rng.normal(size=3)),
             tags=("batch",)),
        Case("multi-label: 4 inputs, 3 labels", (rng.normal(size=(4, 2)), rng.normal(size=(3, 2)), rng.normal(size=3)),
             {"multi_label": True}, tags=("batch",)),
    ]


def _classifier_hidden(rng):
    return [
        Case("single-label, 10 classes", (rng.normal(size=(8, 6)), rng.normal(size=(10, 6)), rng.normal(size=10)),
             tags=("batch",)),
        Case("single-label, large logits", (rng.normal(size=(4, 3)) * 100, rng.normal(size=(5, 3)) * 5,
                                            rng.normal(size=5)), tags=("batch", "large")),
        Case("multi-label, 6 labels", (rng.normal(size=(7, 4)), rng.normal(size=(6, 4)), rng.normal(size=6)),
             {"multi_label": True}, tags=("batch",)),
        Case("several labels, logits in the hundreds", (rng.normal(size=(3, 2)) * 200, rng.normal(size=(4, 2)) * 3,
                                           rng.normal(size=4)), {"multi_label": True}, tags=("batch", "large")),
        Case("float32, single-label", (rng.normal(size=(5, 3)), rng.normal(size=(4, 3)), rng.normal(size=4)),
             dtype="float32", tags=("batch", "dtype")),
        Case("torch, multi-label", (rng.normal(size=(5, 3)), rng.normal(size=(2, 3)), rng.normal(size=2)),
             {"multi_label": True}, backend="torch", tags=("batch", "torch")),
    ]


# ---------------------------------------------------------------------------------------------
# a deep network's forward pass
# ---------------------------------------------------------------------------------------------

def _mlp_reference(X, weights, biases, activation="relu"):
    from course import activations as A

    act = {"relu": A.relu, "tanh": A.tanh, "sigmoid": A.sigmoid, None: lambda z: z}[activation]
    h = X
    for k, (W, b) in enumerate(zip(weights, biases)):
        h = h @ W.T + b
        if k < len(weights) - 1:
            h = act(h)
    return h


def _net(rng, sizes):
    weights = [rng.normal(size=(o, i)) / np.sqrt(i) for i, o in zip(sizes[:-1], sizes[1:])]
    biases = [rng.normal(size=o) * 0.5 for o in sizes[1:]]
    return weights, biases


def _mlp_cases():
    rng = np.random.default_rng(207)
    return [
        Case("ReLU, 2 -> 4 -> 1, a batch of 6", (rng.normal(size=(6, 2)), *_net(rng, [2, 4, 1])), {"activation": "relu"},
             tags=("batch",)),
        Case("no activation, 3 -> 5 -> 5 -> 2", (rng.normal(size=(4, 3)), *_net(rng, [3, 5, 5, 2])),
             {"activation": None}, tags=("batch",)),
    ]


def _mlp_hidden(rng):
    return [
        Case("tanh, 4 layers", (rng.normal(size=(7, 3)), *_net(rng, [3, 6, 6, 6, 2])), {"activation": "tanh"},
             tags=("batch",)),
        Case("sigmoid, 2 layers", (rng.normal(size=(5, 4)), *_net(rng, [4, 3, 3])), {"activation": "sigmoid"},
             tags=("batch",)),
        Case("ReLU, deep and narrow", (rng.normal(size=(9, 2)), *_net(rng, [2, 3, 3, 3, 3, 1])), {"activation": "relu"},
             tags=("batch",)),
        Case("one layer: no hidden activation at all", (rng.normal(size=(4, 5)), *_net(rng, [5, 2])),
             {"activation": "relu"}, tags=("batch",)),
        Case("float32, ReLU", (rng.normal(size=(5, 3)), *_net(rng, [3, 4, 2])), {"activation": "relu"},
             dtype="float32", tags=("batch", "dtype")),
        Case("torch, tanh", (rng.normal(size=(5, 3)), *_net(rng, [3, 4, 2])), {"activation": "tanh"},
             backend="torch", tags=("batch", "torch")),
    ]


# ---------------------------------------------------------------------------------------------
# one hidden layer fitted to data (universal approximation; why activations add power)
# ---------------------------------------------------------------------------------------------

def _numpy(p):
    if hasattr(p, "detach"):
        p = p.detach().cpu()
    return np.asarray(p, dtype=np.float64)


def _fit_run(objs, X, y, X_test, width, activation):
    params = objs[0](X, y, width, activation=activation, seed=0)
    W1, b1, W2, b2 = (_numpy(p) for p in params)
    act = {"relu": lambda z: np.maximum(z, 0.0), "tanh": np.tanh, "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
           None: lambda z: z}[activation]
    with np.errstate(all="ignore"):
        out = act(X_test @ W1.T + b1) @ W2.T + b2
    return {"shapes": [list(W1.shape), list(b1.shape), list(W2.shape), list(b2.shape)], "pred": out.reshape(-1)}


def _fit_properties(case, got):
    X, width = case.args[0], case.args[3]
    want = [[width, X.shape[1]], [width], [1, width], [1]]
    if got["shapes"] != want:
        return [(False, f"parameter shapes {got['shapes']}, expected {want} (W1, b1, W2, b2)")]
    pred, kind, op, bound = got["pred"], *case.secret["goal"]
    target = case.secret["y_test"]
    if pred.shape != target.shape or not np.all(np.isfinite(pred)):
        return [(False, "the network's outputs on new points are not finite numbers")]
    if kind == "rmse":
        value, name = float(np.sqrt(np.mean((pred - target) ** 2))), "error (RMSE) on new points"
    else:
        value, name = float(np.mean((pred > 0.5) == (target == 1))), "accuracy on new points"
    digits = ".4g" if case.suite == "visible" else ".2g"
    ok = value <= bound if op == "<=" else value >= bound
    return [(True, "shapes"), (ok, f"{name} {value:{digits}} (needs {'at most' if op == '<=' else 'at least'} {bound:g})")]


def _curve(rng, n, f, low, high):
    x = rng.uniform(low, high, size=(n, 1))
    return x, f(x[:, 0])


def _regression_case(name, f, low, high, width, activation, bound, rng):
    x, y = _curve(rng, 200, f, low, high)
    xt, yt = _curve(rng, 200, f, low, high)
    return Case(name, (x, y, xt, width, activation), secret={"goal": ("rmse", "<=", bound), "y_test": yt})


def _classification_case(name, X, y, width, activation, op, bound, tags=()):
    n = len(X) // 2
    return Case(name, (X[:n], y[:n].astype(np.float64), X[n:], width, activation), tags=tags,
                secret={"goal": ("accuracy", op, bound), "y_test": y[n:].astype(np.float64)})


def _fit_cases():
    from course.data import make_xor

    rng = np.random.default_rng(208)
    X, y = make_xor(400, noise=0.1, rng=rng)
    return [
        _regression_case("sin on [-pi, pi], 50 ReLU units", np.sin, -np.pi, np.pi, 50, "relu", 0.05, rng),
        _classification_case("XOR, 100 ReLU units", X, y, 100, "relu", ">=", 0.9, tags=("batch",)),
        _classification_case("XOR without activation: a linear model", X, y, 100, None, "<=", 0.8, tags=("batch",)),
    ]


def _fit_hidden(rng):
    from course.data import make_circles, make_spirals

    Xs, ys = make_spirals(600, classes=2, rng=rng)
    Xc, yc = make_circles(400, rng=rng)
    return [
        _regression_case("sin on [-pi, pi], 100 tanh units", np.sin, -np.pi, np.pi, 100, "tanh", 0.02, rng),
        _regression_case("|x| on [-2, 2], 60 ReLU units", np.abs, -2.0, 2.0, 60, "relu", 0.05, rng),
        _classification_case("two spirals, 100 ReLU units", Xs, ys, 100, "relu", ">=", 0.9, tags=("batch",)),
        _classification_case("circles, 100 ReLU units", Xc, yc, 100, "relu", ">=", 0.85, tags=("batch",)),
        _classification_case("spirals without activation", Xs, ys, 100, None, "<=", 0.75, tags=("batch",)),
    ]


TASKS = [
    _activation_task("step", "", {"batch": "step(x) is 1 where x > 0, else 0 (also at 0); its derivative is 0 "
                                            "everywhere (PyTorch's convention at 0 too)"}, large=False),
    _activation_task("relu", "", {"batch": "relu'(x) is 1 where x > 0 and 0 elsewhere, 0 at x = 0 as in PyTorch"},
                     large=False),
    _activation_task("leaky_relu", " (negative_slope=0.01)",
                     {"batch": "for x <= 0 the value is negative_slope * x and the derivative negative_slope "
                               "(at 0 too)"}, options_list=({}, {"negative_slope": 0.2}), large=False,
                     forbidden=(_F + "leaky_relu",)),
    _activation_task("sigmoid", "", {"large": "exp(-x) overflows for very negative x: use exp(-|x|) and two cases",
                                     "batch": "sigmoid'(x) = sigmoid(x) (1 - sigmoid(x))"},
                     forbidden=("torch.sigmoid", "torch.special.expit", "scipy.special.expit", "torch.Tensor.sigmoid")),
    _activation_task("tanh", "", {"large": "(e^x - e^-x) / (e^x + e^-x) is inf/inf for large |x|: use np.tanh / "
                                           "torch.tanh or a stable form",
                                  "batch": "tanh'(x) = 1 - tanh(x)^2"}),
    _activation_task("swish", " (beta=1.0: SiLU)",
                     {"large": "compute the sigmoid stably: exp(-beta x) overflows for very negative x",
                      "batch": "swish'(x) = s + beta x s (1 - s) with s = sigmoid(beta x)"},
                     options_list=({}, {"beta": 1.7}), forbidden=(_F + "silu", "torch.nn.SiLU",
                                                                  "course.activations.silu")),
    _activation_task("gelu", " (approximate='none' or 'tanh')",
                     {"batch": "exact: x Phi(x) with Phi(x) = (1 + erf(x / sqrt 2)) / 2, derivative Phi(x) + x phi(x); "
                               "approximate='tanh': 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))",
                      "large": "for large |x| the tanh form's x^3 is huge: the result must still be finite"},
                     options_list=({}, {"approximate": "tanh"}), forbidden=(_F + "gelu",)),
    Task(
        name="prelu", uses=("prelu", "prelu_grads"),
        describe="prelu(x, weight) and prelu_grads(x, weight, dout) -> (dx, dweight)",
        make_cases=_prelu_cases, make_hidden=_prelu_hidden, run=_prelu_run, reference=_prelu_reference,
        compare=Parts({"value": Array(), "grads": Parts(("dx", "dweight"))}, container="dict"), from_scratch=True,
        forbidden=("course.activations.prelu", "course.activations.prelu_forward", "course.activations.prelu_backward",
                   _F + "prelu"),
        hints={**_COMMON_HINTS,
               "batch": "with one slope per channel, the slopes broadcast over axis 1 (reshape weight to (C, 1, ...)); "
                        "dweight sums dout * x where x <= 0 over every axis but axis 1"},
    ),
    Task(
        name="softmax", uses=("softmax", "softmax_jacobian"),
        describe="softmax(z) of a vector and its Jacobian diag(s) - s s^T",
        make_cases=_softmax_cases, make_hidden=_softmax_hidden, run=_softmax_run, reference=_softmax_reference,
        compare=Parts(("probs", "jacobian"), container="dict"), from_scratch=True,
        forbidden=("torch.softmax", _F + "softmax", "torch.Tensor.softmax", "scipy.special.softmax",
                   "course.activations.softmax", "course.activations.softmax_forward",
                   "course.activations.softmax_backward", "torch.autograd.functional.jacobian", "torch.func.jacrev"),
        hints={"large": "subtract the largest score before exponentiating",
               "dtype": "keep the input's dtype (float32 in, float32 out)",
               "torch": "use operations that work on tensors too (torch.diag / torch.outer for tensors)"},
    ),
    Task(
        name="classifier_outputs", uses=("classifier_outputs",),
        describe="classifier_outputs(X, W, b, multi_label) -> {'logits', 'probs'}",
        make_cases=_classifier_cases, make_hidden=_classifier_hidden, reference=_classifier_reference,
        compare=Parts(("logits", "probs"), container="dict"), from_scratch=True,
        forbidden=("torch.softmax", _F + "softmax", "course.activations.softmax", "course.activations.sigmoid",
                   "torch.sigmoid", "torch.Tensor.softmax", "scipy.special.softmax", "scipy.special.expit"),
        hints={"batch": "logits are X @ W.T + b; probabilities are a softmax over each row for one label per input, "
                        "an independent sigmoid per entry for several labels",
               "large": "compute the softmax and the sigmoid stably for large logits",
               "dtype": "keep the input's dtype (float32 in, float32 out)",
               "torch": "use operations that work on tensors too"},
    ),
    Task(
        name="mlp_forward", uses=("mlp_forward",),
        describe="mlp_forward(X, weights, biases, activation): dense layers, activation between them",
        make_cases=_mlp_cases, make_hidden=_mlp_hidden, reference=_mlp_reference, from_scratch=True,
        forbidden=("course.nn.MLP", "course.nn.mlp", "course.layers.linear", _F + "linear"),
        hints={"batch": "apply the activation after every layer but the last; activation=None means none at all",
               "dtype": "keep the input's dtype (float32 in, float32 out)",
               "torch": "use operations that work on tensors too (torch.tanh, torch.relu or x.clamp(min=0))"},
    ),
    Task(
        name="fit_hidden_layer", uses=("fit_hidden_layer",),
        describe="fit_hidden_layer(X, y, width, activation, seed) fits one hidden layer to data",
        make_cases=_fit_cases, make_hidden=_fit_hidden, run=_fit_run, compare=Check(_fit_properties), time_limit=60,
        hints={"batch": "random hidden weights centred on data points, then the output layer by least squares "
                        "(np.linalg.lstsq on [h, 1]); without activation the model stays linear"},
    ),
]
