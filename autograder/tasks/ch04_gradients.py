"""Chapter 04, gradients and backpropagation: numerical derivatives and gradients with a
relative-error check, the analytic gradient of f(x, y, z), the sigmoid's derivative, gradient
norms layer by layer, a scalar autograd engine, and manual backpropagation through an MLP.

The functions the student's code differentiates numerically are passed by name (``SCALAR`` and
``VECTOR`` below) and built in ``run``. Visible cases use fixed data; hidden ones are drawn in
``make_hidden`` from the generator the grader seeds with the course's secret.
"""

from __future__ import annotations

import math

import numpy as np

from autograder.compare import Array, Check, Number, Parts
from autograder.drivers import value_graph
from autograder.tasks import Case, Task

CHAPTER = "04"

#: the course's gradient-check routines and library differentiators (they would do Parts A-C)
_GRADCHECK = tuple(f"course.gradcheck.{n}" for n in ("numerical_derivative", "numerical_gradient",
                                                     "numerical_gradients", "relative_error", "check_gradients")) \
    + ("scipy.differentiate.derivative", "scipy.differentiate.jacobian")
#: automatic differentiation: the backward passes must be written by hand
_AUTODIFF = ("torch.autograd.grad", "torch.autograd.backward", "torch.Tensor.backward", "torch.func.grad",
             "torch.func.grad_and_value", "torch.func.vjp", "torch.func.jvp", "torch.func.jacrev",
             "torch.func.jacfwd", "torch.func.hessian", "torch.autograd.functional.jacobian",
             "torch.autograd.functional.vjp", "torch.autograd.functional.jvp", "torch.autograd.functional.hessian")
#: the course's layers and activation derivatives (they would do the backward passes of Parts F and H)
_BACKWARDS = ("course.nn.MLP", "course.nn.Sequential", "course.nn.Linear", "course.nn.mlp",
              "course.layers.linear_forward", "course.layers.linear_backward", "course.layers.linear",
              "course.losses.mse_forward", "course.losses.mse_backward",
              "course.activations.sigmoid_derivative", "course.activations.sigmoid_backward",
              "course.activations.relu_derivative", "course.activations.relu_backward",
              "torch.ops.aten.sigmoid_backward", "torch.ops.aten.threshold_backward")

#: functions of one number, by name (numerical_derivative's cases)
SCALAR = {
    "cube": lambda x: x ** 3 - 2 * x,
    "sin_exp": lambda x: math.sin(2 * x) * math.exp(x / 2),
    "bell": lambda x: math.exp(-x * x),
    "log_square": lambda x: math.log(1 + x * x),
}

#: scalar functions of an array, by name (numerical_gradient's cases)
VECTOR = {
    "sum_squares": lambda v: float(np.sum(v * v)),
    "logsumexp": lambda v: float(np.log(np.sum(np.exp(v)))),
    "x_sin_x": lambda v: float(np.sum(v * np.sin(v))),
    "tanh_product": lambda v: float(np.prod(np.tanh(v))),
}

#: numerical differences of a student's code and of the reference differ by round-off, about
#: 1e-16 |f| / h: judge them to 1e-6 (a forward difference is off by about h |f''| / 2)
_NUMERIC_TOL = {"float64": (1e-6, 1e-8)}


# ---------------------------------------------------------------------------------------------
# Part A: the numerical derivative
# ---------------------------------------------------------------------------------------------

def _derivative_run(objs, name, x, **options):
    return objs[0](SCALAR[name], x, **options)


def _derivative_reference(name, x, h=1e-5):
    from course.gradcheck import numerical_derivative

    return numerical_derivative(SCALAR[name], x, h)


def _derivative_cases():
    return [Case("x^3 - 2x at x = 2", ("cube", 2.0)),
            Case("sin(2x) exp(x/2) at x = 0.5, h = 1e-3", ("sin_exp", 0.5), {"h": 1e-3})]


def _derivative_hidden(rng):
    return [
        Case("exp(-x^2) at a drawn x", ("bell", float(rng.uniform(0.3, 1.5)))),
        Case("log(1 + x^2) at a drawn x, h = 1e-3", ("log_square", float(rng.uniform(0.5, 2))), {"h": 1e-3}),
        Case("x^3 - 2x at a drawn x, h = 1e-2", ("cube", float(rng.uniform(1, 3) * rng.choice([-1, 1]))),
             {"h": 1e-2}),
        Case("sin(2x) exp(x/2) at a drawn x", ("sin_exp", float(rng.uniform(-2, 2)))),
        Case("exp(-x^2) at a drawn x, h = 1e-3", ("bell", float(-rng.uniform(0.3, 1.5))), {"h": 1e-3}),
    ]


# ---------------------------------------------------------------------------------------------
# Part B: the numerical gradient
# ---------------------------------------------------------------------------------------------

def _gradient_run(objs, name, x, **options):
    before = x.copy()
    grad = objs[0](VECTOR[name], x, **options)
    # round-off from x[i] += h; x[i] -= 2h; x[i] += h is fine, a forgotten x[i] = old is not
    return {"gradient": grad, "x unchanged": bool(np.allclose(x, before, rtol=1e-12, atol=1e-12))}


def _gradient_reference(name, x, h=1e-5):
    from course.gradcheck import numerical_gradient

    return {"gradient": numerical_gradient(VECTOR[name], x, h=h), "x unchanged": True}


def _x_kept(case, kept):
    return [(kept is True, "the caller's x was changed: put each entry back after nudging it")]


def _gradient_cases():
    return [Case("x^2 + y^2 at (3, -2)", ("sum_squares", np.array([3.0, -2.0]))),
            Case("log-sum-exp of a vector (4,), h = 1e-3", ("logsumexp", np.array([0.5, -1.0, 2.0, 0.0])),
                 {"h": 1e-3}),
            Case("sum of x sin x over a matrix (2, 3)", ("x_sin_x", np.array([[0.5, -1.0, 2.0], [1.5, 0.2, -0.7]])),
                 tags=("batch",))]


def _gradient_hidden(rng):
    return [
        Case("sum of x sin x over a matrix (3, 4), h = 1e-3", ("x_sin_x", rng.normal(size=(3, 4))), {"h": 1e-3},
             tags=("batch",)),
        Case("product of tanh of a vector (5,)", ("tanh_product", rng.uniform(0.3, 1.5, size=5))),
        Case("sum of squares of a 3-D array (2, 2, 3), h = 1e-3", ("sum_squares", rng.normal(size=(2, 2, 3))),
             {"h": 1e-3}, tags=("batch",)),
        Case("log-sum-exp of a column (6, 1)", ("logsumexp", rng.normal(size=(6, 1))), tags=("batch",)),
        Case("log-sum-exp of a longer vector (9,), h = 1e-3", ("logsumexp", rng.normal(size=9)), {"h": 1e-3}),
        Case("a single entry (1,)", ("x_sin_x", rng.uniform(0.5, 2, size=1))),
    ]


# ---------------------------------------------------------------------------------------------
# Part C: the relative error
# ---------------------------------------------------------------------------------------------

def _relerr_reference(a, b):
    from course.gradcheck import relative_error

    return relative_error(a, b)


def _relerr_cases():
    return [Case("two close vectors", (np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0001, 3.0]))),
            Case("two zero vectors", (np.zeros(3), np.zeros(3))),
            Case("opposite signs", (np.array([1.0, -1.0]), np.array([-1.0, -1.0])))]


def _relerr_hidden(rng):
    a = rng.normal(size=(3, 4))
    tiny = rng.normal(size=5) * 1e-10
    small = rng.uniform(1e-3, 2e-3)
    return [
        Case("matrices (3, 4) with one entry off", (a, a + np.eye(3, 4)[0] * 1e-3 * rng.uniform(1, 2)),
             tags=("batch",)),
        Case("tiny values near zero", (tiny, tiny * 1.5)),
        Case("a vector compared with its copy", (a[0], a[0].copy())),
        Case("100 and a small entry twice as large in b", (np.array([100.0, small]), np.array([100.0, 2 * small]))),
        Case("one zero, one not", (np.array([0.0, rng.uniform(1, 2)]), np.array([rng.uniform(1e-4, 1e-3), 1.0]))),
    ]


# ---------------------------------------------------------------------------------------------
# Part D: the analytic gradient of f(x, y, z) = 2/3 x^2 + y^2 - 2y + z^4 - 4/3 z^3
# ---------------------------------------------------------------------------------------------

def _float64(out):
    """A result the task accepts in any form (array, tensor, list or tuple of numbers) as float64 NumPy."""
    if hasattr(out, "detach"):
        out = out.detach().cpu().numpy()
    elif isinstance(out, (list, tuple)):
        out = [float(v.detach().cpu()) if hasattr(v, "detach") else v for v in out]
    return np.asarray(out, dtype=np.float64)


def _f_run(objs, x, y, z):
    return _float64(objs[0](x, y, z))


def _f_reference(x, y, z):
    return np.array([4 / 3 * x, 2 * y - 2, 4 * z ** 3 - 4 * z ** 2])


def _f_cases():
    return [Case("at (3, 2, 1): (4, 2, 0)", (3.0, 2.0, 1.0)), Case("at (1, -1, 2)", (1.0, -1.0, 2.0))]


def _f_hidden(rng):
    return [Case("at a drawn point", tuple(float(v) for v in rng.uniform(-3, 3, size=3))),
            Case("at another drawn point", tuple(float(v) for v in rng.uniform(-2, 2, size=3))),
            Case("at a point with z in (1.5, 2.5)", (float(rng.normal()), float(rng.normal()),
                                                     float(rng.uniform(1.5, 2.5)))),
            Case("at a point with negative y and z", (float(rng.uniform(1, 3)), -float(rng.uniform(1, 3)),
                                                      -float(rng.uniform(0.5, 2))))]


# ---------------------------------------------------------------------------------------------
# Part E: the sigmoid's derivative
# ---------------------------------------------------------------------------------------------

def _sigmoid_derivative_reference(z):
    from course.activations import sigmoid_derivative

    return sigmoid_derivative(z)


def _sigmoid_derivative_cases():
    return [Case("a vector with 0 in it", (np.array([-4.0, -1.0, 0.0, 0.5, 3.0]),)),
            Case("large |z| (+/-1000)", (np.array([-1000.0, -30.0, 30.0, 1000.0]),), tags=("large",))]


def _sigmoid_derivative_hidden(rng):
    return [
        Case("a drawn batch (4, 6)", (rng.normal(size=(4, 6)) * 3,), tags=("batch",)),
        Case("float32 (5,)", (rng.normal(size=5) * 2,), dtype="float32", tags=("dtype",)),
        Case("a torch batch (3, 4)", (rng.normal(size=(3, 4)),), backend="torch", tags=("batch", "torch")),
        Case("huge values of both signs (about 800)", (np.concatenate([rng.uniform(700, 900, size=3),
                                                                       -rng.uniform(700, 900, size=3)]),),
             tags=("large",)),
        Case("torch float32, huge values", (np.concatenate([rng.normal(size=3), rng.uniform(200, 900, size=3),
                                                            -rng.uniform(200, 900, size=3)]),),
             backend="torch", dtype="float32", tags=("large", "dtype", "torch")),
    ]


# ---------------------------------------------------------------------------------------------
# Part F: gradient norms layer by layer
# ---------------------------------------------------------------------------------------------

def _norms_run(objs, x, weights, activation):
    return _float64(objs[0](x, weights, activation))


def _norms_reference(x, weights, activation):
    import torch

    act = {"sigmoid": torch.sigmoid, "relu": torch.relu}[activation]
    Ws = [torch.tensor(W, dtype=torch.float64, requires_grad=True) for W in weights]
    h = torch.tensor(x, dtype=torch.float64)
    for W in Ws:
        h = act(h @ W.T)
    grads = torch.autograd.grad(h.sum(), Ws)
    return np.array([float(g.norm()) for g in grads])


def _deep(rng, sizes, scale=1.0):
    return [rng.normal(size=(o, i)) * scale / np.sqrt(i) for i, o in zip(sizes[:-1], sizes[1:])]


def _norms_cases():
    rng = np.random.default_rng(404)
    x = rng.normal(size=(5, 3))
    return [Case("3 sigmoid layers 3 -> 4 -> 4 -> 2", (x, _deep(rng, [3, 4, 4, 2]), "sigmoid"), tags=("batch",)),
            Case("3 ReLU layers 3 -> 4 -> 4 -> 2", (x, _deep(rng, [3, 4, 4, 2], 1.5), "relu"), tags=("batch",))]


def _norms_hidden(rng):
    return [
        Case("8 sigmoid layers of width 6", (rng.normal(size=(4, 6)), _deep(rng, [6] * 9, 2.0), "sigmoid"),
             tags=("batch",)),
        Case("6 ReLU layers of width 5", (rng.normal(size=(7, 5)), _deep(rng, [5] * 7, 1.4), "relu"),
             tags=("batch",)),
        Case("one sigmoid layer", (rng.normal(size=(3, 4)), _deep(rng, [4, 2]), "sigmoid"), tags=("batch",)),
        Case("a funnel of ReLU layers 8 -> 6 -> 4 -> 1", (rng.normal(size=(6, 8)), _deep(rng, [8, 6, 4, 1], 1.5),
                                                          "relu"), tags=("batch",)),
        Case("float32, 4 sigmoid layers", (rng.normal(size=(5, 4)), _deep(rng, [4, 5, 5, 3, 2], 1.5), "sigmoid"),
             dtype="float32", tags=("batch", "dtype")),
    ]


# ---------------------------------------------------------------------------------------------
# Part G: the Value engine
# ---------------------------------------------------------------------------------------------

def _value_reference(program):
    from course.autograd import Value

    return value_graph([Value], program)


def _value_cases():
    return [
        Case("a node used twice: x * x + x", ([["leaf", 3.0], ["mul", 0, 0], ["add", 1, 0]],)),
        Case("a tanh neuron: tanh(w1 x1 + w2 x2 + b)",
             ([["leaf", 1.5], ["leaf", -0.5], ["leaf", 0.8], ["leaf", 2.0], ["leaf", 0.1],
               ["mul", 0, 2], ["mul", 1, 3], ["add", 5, 6], ["add", 7, 4], ["tanh", 8]],)),
        Case("an inner node used twice: a = x * y, then a * a + a",
             ([["leaf", 2.0], ["leaf", -1.5], ["mul", 0, 1], ["mul", 2, 2], ["add", 3, 2]],)),
        Case("relu of a negative node, exp and a square: relu(a) * exp(b) + a ** 2",
             ([["leaf", -1.0], ["leaf", 0.5], ["relu", 0], ["exp", 1], ["mul", 2, 3], ["pow", 0, 2],
               ["add", 4, 5]],)),
    ]


#: the deep expression's shape: (op, node indices..., "c" for a constant drawn from rng); fixed so that
#: every leaf is used and inner nodes are used two or three times (the order of the backward pass matters)
_DEEP = [("mul", 0, 1), ("add", 4, 2), ("tanh", 5), ("mul", 6, 3), ("add", 7, 0), ("add_const", 8, "c"),
         ("exp", 9), ("sub", 10, 6), ("tanh", 11), ("pow", 12, 2), ("mul", 13, 5), ("rmul", 14, "c"),
         ("add", 15, 1), ("relu", 16), ("add", 17, 12), ("neg", 18), ("mul", 19, 8), ("radd", 20, "c"),
         ("tanh", 21), ("mul", 22, 11), ("add", 23, 13)]


def _deep_program(rng):
    program = [["leaf", float(rng.uniform(-1, 1))] for _ in range(4)]
    for op, *operands in _DEEP:
        if op == "pow":
            program.append([op, operands[0], operands[1]])
        else:
            program.append([op] + [float(rng.uniform(0.3, 0.9)) if o == "c" else o for o in operands])
    return program


def _value_hidden(rng):
    def u(lo, hi):
        return float(rng.uniform(lo, hi))

    a, b, c = u(-2, -0.5) * rng.choice([-1, 1]), u(0.5, 2), u(-2, 2)
    return [
        Case("a drawn node used three times: x * x * x + x", ([["leaf", a], ["mul", 0, 0], ["mul", 1, 0],
                                                               ["add", 2, 0]],)),
        Case("an inner node used in three places: t = tanh(x + y), then t * t * t + t",
             ([["leaf", u(-1, 1)], ["leaf", u(-1, 1)], ["add", 0, 1], ["tanh", 2], ["mul", 3, 3], ["mul", 4, 3],
               ["add", 5, 3]],)),
        Case("a diamond: s = w * x, then exp(s) * tanh(s)",
             ([["leaf", u(-1, 1)], ["leaf", u(-1, 1)], ["mul", 0, 1], ["exp", 2], ["tanh", 2], ["mul", 3, 4]],)),
        Case("a drawn tanh neuron with a constant: tanh(w1 x1 + w2 x2 + b) * c",
             ([["leaf", u(-2, 2)], ["leaf", u(-2, 2)], ["leaf", u(-1, 1)], ["leaf", u(-1, 1)], ["leaf", u(-1, 1)],
               ["mul", 0, 2], ["mul", 1, 3], ["add", 5, 6], ["add", 7, 4], ["tanh", 8], ["mul_const", 9, u(1, 3)]],)),
        Case("constants on the left: c * a + d, squared", ([["leaf", a], ["rmul", 0, u(1, 3)], ["radd", 1, u(-1, 1)],
                                                            ["pow", 2, 2]],)),
        Case("a chain of powers: ((b ** 3) ** 0.5 - b) ** 2", ([["leaf", b], ["pow", 0, 3], ["pow", 1, 0.5],
                                                               ["sub", 2, 0], ["pow", 3, 2]],)),
        Case("negation and exp: exp(-b) * b + exp(b)", ([["leaf", b], ["neg", 0], ["exp", 1], ["mul", 2, 0],
                                                         ["exp", 0], ["add", 3, 4]],)),
        Case("relu of a negative node passes no gradient", ([["leaf", -b], ["leaf", c], ["relu", 0], ["mul", 2, 1],
                                                              ["add", 3, 1]],)),
        Case("relu of a positive node, reused", ([["leaf", b], ["relu", 0], ["mul", 1, 0], ["add_const", 2, c]],)),
        Case("exp of tanh, subtracted: exp(tanh(a)) - a", ([["leaf", a], ["tanh", 0], ["exp", 1], ["sub", 2, 0]],)),
        Case("a deep expression reusing inner nodes", (_deep_program(rng),)),
    ]


# ---------------------------------------------------------------------------------------------
# Part H: manual backpropagation through a 2-layer MLP
# ---------------------------------------------------------------------------------------------

_MLP_PARTS = ("loss", "W1", "b1", "W2", "b2")


def _mlp_reference(X, Y, W1, b1, W2, b2):
    import torch

    params = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in (W1, b1, W2, b2)]
    h = torch.relu(torch.tensor(X, dtype=torch.float64) @ params[0].T + params[1])
    out = h @ params[2].T + params[3]
    loss = ((out - torch.tensor(Y, dtype=torch.float64)) ** 2).mean()
    grads = torch.autograd.grad(loss, params)
    return {"loss": float(loss.detach()), **{k: g.numpy() for k, g in zip(_MLP_PARTS[1:], grads)}}


def _mlp(rng, n, d, hidden, k):
    return (rng.normal(size=(n, d)), rng.normal(size=(n, k)), rng.normal(size=(hidden, d)), rng.normal(size=hidden) * 0.5,
            rng.normal(size=(k, hidden)) / np.sqrt(hidden), rng.normal(size=k) * 0.5)


def _mlp_cases():
    rng = np.random.default_rng(405)
    return [Case("4 examples, 3 -> 5 -> 2", _mlp(rng, 4, 3, 5, 2), tags=("batch",)),
            Case("one output, 6 examples, 2 -> 8 -> 1", _mlp(rng, 6, 2, 8, 1), tags=("batch",))]


def _mlp_hidden(rng):
    return [
        Case("a batch of 32, 5 -> 16 -> 3", _mlp(rng, 32, 5, 16, 3), tags=("batch",)),
        Case("one example, 4 -> 3 -> 2", _mlp(rng, 1, 4, 3, 2), tags=("batch",)),
        Case("more outputs than inputs, 7 examples, 2 -> 6 -> 4", _mlp(rng, 7, 2, 6, 4), tags=("batch",)),
        Case("float32, 8 examples, 3 -> 6 -> 2", _mlp(rng, 8, 3, 6, 2), dtype="float32", tags=("batch", "dtype")),
        Case("torch tensors, 5 examples, 3 -> 4 -> 1", _mlp(rng, 5, 3, 4, 1), backend="torch",
             tags=("batch", "torch")),
    ]


TASKS = [
    Task(
        name="numerical_derivative", uses=("numerical_derivative",),
        describe="numerical_derivative(f, x, h): the central difference (f(x+h) - f(x-h)) / 2h",
        make_cases=_derivative_cases, make_hidden=_derivative_hidden, run=_derivative_run,
        reference=_derivative_reference, compare=Number(tol=_NUMERIC_TOL), from_scratch=True, forbidden=_GRADCHECK,
    ),
    Task(
        name="numerical_gradient", uses=("numerical_gradient",),
        describe="numerical_gradient(f, x, h): central differences entry by entry, x left unchanged",
        make_cases=_gradient_cases, make_hidden=_gradient_hidden, run=_gradient_run, reference=_gradient_reference,
        compare=Parts({"gradient": Array(tol=_NUMERIC_TOL), "x unchanged": Check(_x_kept)}, container="dict"),
        from_scratch=True, forbidden=_GRADCHECK,
        hints={"batch": "visit every index of x whatever its shape (np.ndindex(x.shape) gives them all), nudge that "
                        "one entry by +h and -h, and put it back before the next"},
    ),
    Task(
        name="relative_error", uses=("relative_error",),
        describe="relative_error(a, b): max |a - b| / max(1e-8, |a| + |b|)",
        make_cases=_relerr_cases, make_hidden=_relerr_hidden, reference=_relerr_reference, compare=Number(),
        from_scratch=True, forbidden=_GRADCHECK,
        hints={"batch": "divide entry by entry, then take the largest ratio over every entry of the arrays"},
    ),
    Task(
        name="grad_f", uses=("grad_f",),
        describe="grad_f(x, y, z): the analytic gradient of 2/3 x^2 + y^2 - 2y + z^4 - 4/3 z^3",
        make_cases=_f_cases, make_hidden=_f_hidden, run=_f_run, reference=_f_reference,
        compare=Array(tol={"float64": (1e-12, 1e-12)}, check_kind=False),
        from_scratch=True, forbidden=_GRADCHECK + _AUTODIFF,
    ),
    Task(
        name="sigmoid_derivative", uses=("sigmoid_derivative",),
        describe="sigmoid_derivative(z) = sigmoid(z) (1 - sigmoid(z)), stable for any z",
        make_cases=_sigmoid_derivative_cases, make_hidden=_sigmoid_derivative_hidden,
        reference=_sigmoid_derivative_reference, from_scratch=True,
        forbidden=("course.activations.sigmoid", "course.activations.sigmoid_derivative",
                   "course.activations.sigmoid_forward", "course.activations.sigmoid_backward",
                   "torch.ops.aten.sigmoid_backward") + _AUTODIFF,
        hints={"large": "exp(-z) overflows for z = -1000: build the sigmoid from exp(-|z|), which never overflows",
               "batch": "work elementwise on arrays of any shape",
               "dtype": "keep the input's dtype (float32 in, float32 out): no float64 arrays mixed in",
               "torch": "use operations that work on tensors too (abs, comparisons, torch.exp or x.exp()) "
                        "and return a tensor on the input's device"},
    ),
    Task(
        name="gradient_norms", uses=("layer_gradient_norms",),
        describe="layer_gradient_norms(x, weights, activation): |dL/dW_l| for each layer of a deep net",
        make_cases=_norms_cases, make_hidden=_norms_hidden, run=_norms_run, reference=_norms_reference,
        compare=Array(check_kind=False, check_dtype=False), from_scratch=True,
        forbidden=_AUTODIFF + _BACKWARDS,
        hints={"batch": "keep every pre-activation z_l on the way forward; going back, delta = upstream * f'(z_l), "
                        "dL/dW_l = delta.T @ h_(l-1), and the next upstream is delta @ W_l",
               "dtype": "float32 works the same way: keep the arrays as they come"},
    ),
    Task(
        name="value", uses=("Value",),
        describe="Value: a scalar autograd engine (add, mul, sub, neg, pow, tanh, relu, exp, backward)",
        make_cases=_value_cases, make_hidden=_value_hidden, run=value_graph, reference=_value_reference,
        compare=Parts(("data", "grad"), each=Array(check_kind=False, check_dtype=False), container="dict",
                      all_or_nothing=True),
        from_scratch=True, forbidden=("course.autograd.Value",) + _AUTODIFF,
    ),
    Task(
        name="mlp_gradients", uses=("mlp_gradients",),
        describe="mlp_gradients(X, Y, W1, b1, W2, b2): the MSE of a ReLU MLP and its gradients, by hand",
        make_cases=_mlp_cases, make_hidden=_mlp_hidden, reference=_mlp_reference,
        compare=Parts({"loss": Number(), **{k: Array() for k in _MLP_PARTS[1:]}}, container="dict"),
        from_scratch=True, forbidden=_AUTODIFF + _BACKWARDS,
        hints={"batch": "dOut = 2 (out - Y) / out.size; dW2 = dOut.T @ H; db2 sums dOut over the batch; "
                        "dH = dOut @ W2, zero where the pre-activation was <= 0; then dW1 = dZ.T @ X, db1 = dZ.sum(0)",
               "dtype": "keep the input's dtype (float32 in, float32 out)",
               "torch": "use operations that work on tensors too (the @ operator, x.sum(0), a mask like (Z > 0) * G)"},
    ),
]
