"""Answers for the test assignment 99-kinds: wrong, differently right, and broken ones.

``WRONG[task][k]`` is the k-th plausible wrong answer of a task (a
misconception each), ``ALTERNATIVE[task]`` a correct answer written
differently from the solution, and ``ISOLATION`` the broken submissions of
the issue "one broken task costs that task only". Each value maps answer-cell
``grade_id`` to the cell's new source.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
ASSIGNMENT = "99-kinds"
SOURCE = HERE / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"

#: task -> test cell grade_id, points
CELLS = {
    "layer_shapes": ("test-layer-shapes", 1), "mse": ("test-mse", 2), "moments": ("test-moments", 2),
    "linear_forward": ("test-linear-forward", 2), "linear_backward": ("test-linear-backward", 3),
    "value": ("test-value", 3), "adam": ("test-adam", 3), "batchnorm": ("test-batchnorm", 3),
    "dropout": ("test-dropout", 2), "fit_logistic": ("test-fit-logistic", 3),
}

SHAPES = '''
def layer_shapes(sizes):
{body}
'''
MSE = '''
def mse(pred, target):
{body}
'''
MOMENTS = '''
def moments(x, axis=0):
{body}
'''


def _fn(template, body):
    return template.format(body="\n".join("    " + line if line else "" for line in body.strip("\n").splitlines()))


VALUE_BASE = '''
class Value:
    def __init__(self, data, parents=()):
        self.data = float(data)
        self.grad = 0.0
        self._parents = parents
        self._push = lambda: None

    @staticmethod
    def _wrap(other):
        return other if isinstance(other, Value) else Value(other)

    def __add__(self, other):
        other = self._wrap(other)
        out = Value(self.data + other.data, (self, other))
        def push():
            self.grad {acc} out.grad
            other.grad += out.grad
        out._push = push
        return out

    def __mul__(self, other):
        other = self._wrap(other)
        out = Value(self.data * other.data, (self, other))
        def push():
            self.grad {acc} other.data * out.grad
            other.grad += self.data * out.grad
        out._push = push
        return out

    def __pow__(self, k):
        out = Value(self.data ** k, (self,))
        def push():
            self.grad += k * self.data ** (k - 1) * out.grad
        out._push = push
        return out

    def _unary(self, value, slope):
        out = Value(value, (self,))
        def push():
            self.grad += slope * out.grad
        out._push = push
        return out

    def tanh(self):
        t = np.tanh(self.data)
        return self._unary(t, {tanh_slope})

    def relu(self):
        return self._unary(max(self.data, 0.0), float(self.data > 0))

    def exp(self):
        e = np.exp(self.data)
        return self._unary(e, e)

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-self._wrap(other))

    def __truediv__(self, other):
        return self * self._wrap(other) ** -1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return self._wrap(other) - self

    def backward(self):
{backward}
'''

TOPO_BACKWARD = '''
        order, seen = [], set()
        def visit(node):
            if id(node) not in seen:
                seen.add(id(node))
                for p in node._parents:
                    visit(p)
                order.append(node)
        visit(self)
        self.grad = 1.0
        for node in reversed(order):
            node._push()
'''

NAIVE_BACKWARD = '''
        # no topological order: pushes from every path, as soon as it is reached
        self.grad = 1.0
        stack = [self]
        while stack:
            node = stack.pop()
            node._push()
            stack.extend(node._parents)
'''


def _value(acc="+=", tanh_slope="1 - t * t", backward=TOPO_BACKWARD):
    body = "\n".join("    " + line if line else "" for line in backward.strip("\n").splitlines())
    return VALUE_BASE.format(acc=acc, tanh_slope=tanh_slope, backward=body)


ADAM = '''
class Adam:
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.params = list(params)
        self.lr, self.eps, self.weight_decay = lr, eps, weight_decay
        self.beta1, self.beta2 = betas
        self.t = 0
        self.m = [0.0] * len(self.params)
        self.v = [0.0] * len(self.params)

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        self.t += 1
        for i, p in enumerate(self.params):
            g = p.grad{l2}
            self.m[i] = {b1} * self.m[i] + (1 - {b1}) * g
            self.v[i] = {b2} * self.v[i] + (1 - {b2}) * g * g
            m_hat = self.m[i]{c1}
            v_hat = self.v[i]{c2}
            p.data = p.data - self.lr * m_hat / (v_hat ** 0.5 + self.eps){decoupled}
'''


def _adam(l2=" + self.weight_decay * p.data", b1="self.beta1", b2="self.beta2",
          c1=" / (1 - self.beta1 ** self.t)", c2=" / (1 - self.beta2 ** self.t)", decoupled=""):
    return ADAM.format(l2=l2, b1=b1, b2=b2, c1=c1, c2=c2, decoupled=decoupled)


BATCHNORM = '''
class BatchNorm1d:
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        self.eps, self.momentum = eps, momentum
        self.running_mean = np.zeros(num_features)
        self.running_var = np.ones(num_features)
        self.training = True

    def train(self):
        self.training = True

    def eval(self):
        self.training = False

    def forward(self, x):
        n = x.shape[0]
        if self.training{eval_too}:
            mean, var = x.mean(0), x.var(0)
            m = self.momentum
            self.running_mean = {keep} * self.running_mean + {new} * mean
            self.running_var = {keep} * self.running_var + {new} * var{unbias}
        else:
            mean, var = self.running_mean, self.running_var
        return (x - mean) / np.sqrt(var + self.eps)
'''


def _batchnorm(eval_too="", keep="(1 - m)", new="m", unbias=" * n / (n - 1)"):
    return BATCHNORM.format(eval_too=eval_too, keep=keep, new=new, unbias=unbias)


DROPOUT = '''
class Dropout:
    def __init__(self, p=0.5):
        self.p = p
        self.training = True

    def train(self):
        self.training = True

    def eval(self):
        self.training = False

    def forward(self, x):
        if not self.training{eval_too}:
            return x{eval_scale}
        if isinstance(x, torch.Tensor):
            keep = (torch.rand_like(x) {cmp} self.p).to(x.dtype)
        else:
            keep = (np.random.random(x.shape) {cmp} self.p).astype(x.dtype)
        return x * keep{train_scale}
'''


def _dropout(eval_too="", eval_scale="", cmp=">=", train_scale=" / (1 - self.p)"):
    return DROPOUT.format(eval_too=eval_too, eval_scale=eval_scale, cmp=cmp, train_scale=train_scale)


FIT = '''
def fit_logistic(X, y, lr={lr}, epochs={epochs}):
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(epochs):
        z = X @ w + b
        p = 1 / (1 + np.exp(-np.clip(z, -500, 500)))
        w {sign}= lr * X.T @ (p - y) / len(y)
        {bias_line}
    return w, b
'''


def _fit(lr="0.1", epochs="2000", sign="-", bias_line="b -= lr * np.mean(p - y)"):
    return FIT.format(lr=lr, epochs=epochs, sign=sign, bias_line=bias_line)


WRONG = {
    "layer_shapes": [
        {"layer-shapes": _fn(SHAPES, "if len(sizes) < 2:\n    raise ValueError(sizes)\n"
                                     "return [((a, b), (b,)) for a, b in zip(sizes[:-1], sizes[1:])]")},
        {"layer-shapes": _fn(SHAPES, "if len(sizes) < 2:\n    raise ValueError(sizes)\n"
                                     "return [((b, a), (b, 1)) for a, b in zip(sizes[:-1], sizes[1:])]")},
        {"layer-shapes": _fn(SHAPES, "return [((b, a), (b,)) for a, b in zip(sizes[:-1], sizes[1:])]")},
    ],
    "mse": [
        {"mse": _fn(MSE, "return ((pred - target) ** 2).sum()")},
        {"mse": _fn(MSE, "return ((pred - target) ** 2).mean() ** 0.5")},
        {"mse": _fn(MSE, "return ((pred - target) ** 2).mean(0)")},
    ],
    "moments": [
        {"moments": _fn(MOMENTS, "m = x.mean(axis)\nn = x.shape[axis]\nreturn {'mean': m, 'var': x.var(axis) * n / (n - 1)}")},
        {"moments": _fn(MOMENTS, "return {'mean': x.mean(axis), 'var': x.std(axis)}")},
        {"moments": _fn(MOMENTS, "return x.mean(axis), x.var(axis)")},
    ],
    "linear_forward": [
        {"linear-forward": "def linear_forward(x, W, b):\n    return x @ W + b, (x, W, b)\n"},
        {"linear-forward": "def linear_forward(x, W, b):\n    return x @ W.T, (x, W, b)\n"},
        {"linear-forward": "def linear_forward(x, W, b):\n    return x @ W.T + b\n"},
    ],
    "linear_backward": [
        {"linear-backward": "def linear_backward(dout, cache):\n    x, W, b = cache\n"
                            "    return dout @ W, dout.T @ x, dout.mean(0)\n"},
        {"linear-backward": "def linear_backward(dout, cache):\n    x, W, b = cache\n"
                            "    return dout @ W, x.T @ dout, dout.sum(0)\n"},
        {"linear-backward": "def linear_backward(dout, cache):\n    x, W, b = cache\n"
                            "    return dout @ W.T, dout.T @ x, dout.sum(0)\n"},
        {"linear-forward": "def linear_forward(x, W, b):\n    return x @ W.T + b, (W, b)\n",
         "linear-backward": "def linear_backward(dout, cache):\n    x, W, b = cache\n"
                            "    return dout @ W, dout.T @ x, dout.sum(0)\n"},
    ],
    "value": [
        {"value": _value(acc="=")},
        {"value": _value(backward=NAIVE_BACKWARD)},
        {"value": _value(tanh_slope="1 - t")},
    ],
    "adam": [
        {"adam": _adam(c1="", c2="")},
        {"adam": _adam(l2="", decoupled="\n            p.data = p.data - self.lr * self.weight_decay * p.data")},
        {"adam": _adam(b1="self.beta2", b2="self.beta1")},
        {"adam": _adam().replace("(v_hat ** 0.5 + self.eps)", "(v_hat + self.eps) ** 0.5")},
    ],
    "batchnorm": [
        {"batchnorm": _batchnorm(unbias="")},
        {"batchnorm": _batchnorm(keep="m", new="(1 - m)")},
        {"batchnorm": _batchnorm(eval_too=" or True")},
    ],
    "dropout": [
        {"dropout": _dropout(eval_scale=" * (1 - self.p)", train_scale="")},
        {"dropout": _dropout(cmp="<", train_scale=" / (1 - self.p)")},
        {"dropout": _dropout(eval_too=" and False")},
    ],
    "fit_logistic": [
        {"fit-logistic": _fit(sign="+", bias_line="b += lr * np.mean(p - y)")},
        {"fit-logistic": _fit(bias_line="pass  # no bias")},
        {"fit-logistic": _fit(epochs="20")},
    ],
}

#: the score each wrong version earns on its own (points of the task's test cell), the solution
#: filling every other cell; a comment says which cases it loses
WRONG_SCORES = {
    "layer_shapes": [0.4, 0.2, 0.8],  # transposed (only the square case passes; the error case raises); bias (out, 1); no ValueError
    "mse": [0.33, 0.33, 0.66],  # sum, root of the mean, mean over axis 0: only 0 (and 1-D inputs) come out right
    "moments": [1.0, 1.0, 0.0],  # unbiased variance / std: the mean half of each case; a tuple: nothing
    "linear_forward": [0.0, 0.0, 0.0],  # x W + b, no bias, not returning (out, cache)
    "linear_backward": [2.2, 2.0, 0.4, 0.0],  # db as a mean (right when N = 1), dW transposed, dx = dout W^T,
    #                                           and a forward that forgot x in its cache
    "value": [1.9, 2.45, 1.9],  # overwritten grads, no topological order, tanh' = 1 - t (7, 9, 7 of 11 cases)
    "adam": [0.0, 2.5, 0.0, 2.5],  # no bias correction; decoupled decay (the decay case); betas swapped;
    #                               eps inside the square root (the eps=0.1 case)
    "batchnorm": [1.47, 0.73, 2.21],  # biased running variance, momentum flipped, batch statistics in eval
    "dropout": [0.5, 0.0, 0.5],  # classic dropout, keeping with probability p, dropping in eval too
    #                               (all or nothing per case: only p = 0 survives the first and last)
    "fit_logistic": [0.0, 0.0, 0.0],  # gradient ascent, no bias, 20 epochs
}

#: tasks each isolation submission costs (every other task keeps every point)
ISOLATION_LOSES = {
    "iso_sleep": {"mse"}, "iso_exit": {"moments"}, "iso_patch_autograder": set(), "iso_course_import": set(),
    "iso_recursion": {"moments"}, "iso_ignore_interrupt": {"mse"}, "iso_stop_kernel": {"value", "fit_logistic"},
}

ALTERNATIVE = {
    "layer_shapes": {"layer-shapes": _fn(SHAPES, (
        "if len(sizes) < 2:\n    raise ValueError('at least two sizes')\nout = []\n"
        "for i in range(1, len(sizes)):\n    out.append([[sizes[i], sizes[i - 1]], [sizes[i]]])\nreturn out"))},
    "mse": {"mse": _fn(MSE, (
        "flat_p, flat_t = pred.reshape(-1).tolist(), target.reshape(-1).tolist()\ntotal = 0.0\n"
        "for a, b in zip(flat_p, flat_t):\n    total += (a - b) ** 2\nreturn total / len(flat_p)"))},
    "moments": {"moments": _fn(MOMENTS, (
        "n = x.shape[axis]\nmean = x.sum(axis) / n\n"
        "expand = mean.unsqueeze(axis) if isinstance(x, torch.Tensor) else np.expand_dims(mean, axis)\n"
        "return {'var': ((x - expand) ** 2).sum(axis) / n, 'mean': mean}"))},
    "linear_forward": {"linear-forward": "def linear_forward(x, W, b):\n    out = (W @ x.T).T + b\n"
                                         "    cache = (x, W, b)\n    return out, cache\n"},
    "linear_backward": {"linear-backward": ("def linear_backward(dout, cache):\n    x, W, _ = cache\n"
                                            "    dx = (W.T @ dout.T).T\n    dW = (x.T @ dout).T\n"
                                            "    db = dout.sum(0)\n    return dx, dW, db\n")},
    "value": {"value": _value()},  # recursive topological sort, a different layout of the class
    "adam": {"adam": '''
class Adam:
    """torch's own arrangement: the step size takes the first correction, the denominator the second."""
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        self.params = list(params)
        self.hyper = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        self.state = {}

    def zero_grad(self):
        for p in self.params:
            if p.grad is not None:
                p.grad = p.grad * 0

    def step(self):
        lr, (b1, b2), eps, wd = (self.hyper[k] for k in ("lr", "betas", "eps", "weight_decay"))
        for p in self.params:
            st = self.state.setdefault(id(p), {"step": 0, "exp_avg": 0 * p.data, "exp_avg_sq": 0 * p.data})
            st["step"] += 1
            g = p.grad + wd * p.data if wd else p.grad
            st["exp_avg"] = st["exp_avg"] * b1 + g * (1 - b1)
            st["exp_avg_sq"] = st["exp_avg_sq"] * b2 + g * g * (1 - b2)
            c1, c2 = 1 - b1 ** st["step"], 1 - b2 ** st["step"]
            denom = st["exp_avg_sq"] ** 0.5 / c2 ** 0.5 + eps
            p.data -= (lr / c1) * st["exp_avg"] / denom
'''},
    "batchnorm": {"batchnorm": '''
class BatchNorm1d:
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        self.eps, self.momentum, self.training = eps, momentum, True
        self.running_mean, self.running_var = np.zeros(num_features), np.ones(num_features)

    def train(self):
        self.training = True

    def eval(self):
        self.training = False

    def forward(self, x):
        if self.training:
            mean, var = x.mean(axis=0), x.var(axis=0)
            self.running_mean *= 1 - self.momentum  # updated in place
            self.running_mean += self.momentum * mean
            self.running_var *= 1 - self.momentum
            self.running_var += self.momentum * x.var(axis=0, ddof=1)
        else:
            mean, var = self.running_mean, self.running_var
        return (x - mean) * (var + self.eps) ** -0.5
'''},
    "dropout": {"dropout": '''
class Dropout:
    def __init__(self, p=0.5):
        self.p, self.training = p, True

    def train(self):
        self.training = True

    def eval(self):
        self.training = False

    def forward(self, x):
        if not self.training:
            return x
        keep = 1 - self.p
        if isinstance(x, torch.Tensor):
            mask = torch.bernoulli(torch.full_like(x, keep))
        else:
            mask = np.random.binomial(1, keep, size=x.shape).astype(x.dtype)
        return np.where(mask == 1, x / keep, 0 * x) if isinstance(x, np.ndarray) else torch.where(mask == 1, x / keep, 0 * x)
'''},
    "fit_logistic": {"fit-logistic": '''
def fit_logistic(X, y, lr=0.1, epochs=1500):
    """torch instead of NumPy: autograd and torch.optim."""
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    w = torch.zeros(X.shape[1], dtype=Xt.dtype, requires_grad=True)
    b = torch.zeros((), dtype=Xt.dtype, requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=lr)
    for _ in range(epochs):
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(Xt @ w + b, yt)
        loss.backward()
        opt.step()
    return w.detach(), b.detach()
'''},
}

AUTOGRADER_PATCH = '''
import autograder, autograder.checks, autograder.compare, autograder.drivers, autograder.judge
import autograder.sandbox, autograder.tasks, autograder.wire
for module in (autograder, autograder.checks, autograder.compare, autograder.drivers, autograder.judge,
               autograder.sandbox, autograder.tasks, autograder.wire):
    for name in dir(module):
        if callable(getattr(module, name)) and not name.startswith("__"):
            setattr(module, name, lambda *args, **kwargs: None)
'''


def _solution_cells() -> dict:
    """grade_id -> the solution notebook's answer code, solution markers removed."""
    nb = nbformat.read(SOURCE, as_version=4)
    out = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution") and not meta.get("grade"):
            out[meta["grade_id"]] = "\n".join(ln for ln in cell.source.splitlines()
                                              if "### BEGIN SOLUTION" not in ln and "### END SOLUTION" not in ln)
    return out


SOLUTION = _solution_cells()


def _prefixed(grade_id: str, prefix: str) -> dict:
    return {grade_id: prefix + SOLUTION[grade_id]}


ISOLATION = {
    # an earlier answer cell sleeps 6 s at its top level (the task time limit in the tests is 5 s)
    "iso_sleep": _prefixed("mse", "import time\ntime.sleep(6)\n"),
    # an answer cell ends its own process at the top level
    "iso_exit": _prefixed("moments", "import os\nos._exit(0)\n"),
    # an answer cell replaces every function of the autograder's modules
    "iso_patch_autograder": _prefixed("value", AUTOGRADER_PATCH),
    # course imported in cells of tasks that are not from scratch
    "iso_course_import": {**_prefixed("layer-shapes", "from course.plots import plot_activations\n"),
                          **_prefixed("moments", "import course\nfrom course.losses import mse as course_mse\n")},
    # a function that recurses until the interpreter crashes (the demo cell calls it in the kernel too)
    "iso_recursion": {"moments": "import sys\nsys.setrecursionlimit(10 ** 6)\n\n\ndef moments(x, axis=0):\n"
                                 "    return list(map(moments, [x]))\n"},
    # a function that loops and ignores interrupts (called by the demo cell in the kernel too)
    "iso_ignore_interrupt": {"mse": "import signal\n\n\ndef mse(pred, target):\n"
                                    "    signal.signal(signal.SIGINT, signal.SIG_IGN)\n    while True:\n        pass\n"},
    # code that stops its own kernel: SIGSTOP in Value.backward, exit() in fit_logistic
    "iso_stop_kernel": {
        "value": SOLUTION["value"].replace("        self.grad = 1.0\n",
                                           "        import os, signal\n        os.kill(os.getpid(), signal.SIGSTOP)\n"
                                           "        self.grad = 1.0\n", 1),
        "fit-logistic": "def fit_logistic(X, y):\n    exit()\n"},
}


def submission(release_nb, fills: dict):
    """The release notebook with every answer cell filled with the solution, then ``fills``
    applied; a key ``"+<grade_id>"`` adds a cell of the student's after that cell."""
    nb = copy.deepcopy(release_nb)
    cells = {**SOLUTION, **{k: v for k, v in fills.items() if not k.startswith("+")}}
    found = set()
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in cells:
            cell.source = cells[gid]
            found.add(gid)
    for key, source in fills.items():
        if key.startswith("+"):
            at = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == key[1:])
            nb.cells.insert(at + 1, nbformat.v4.new_code_cell(source))
            found.add(key)
    missing = set(fills) - found
    if missing:
        raise KeyError(f"no answer cells {sorted(missing)} in the notebook")
    return nb


WRONG_SUBMISSIONS = max(len(v) for v in WRONG.values())


#: correct answers written in unusual ways: each keeps every point
UNUSUAL_RIGHT = {
    "namedtuple cache": {
        "linear-forward": ("from collections import namedtuple\nCache = namedtuple('Cache', ['x', 'W', 'b'])\n\n\n"
                           "def linear_forward(x, W, b):\n    return x @ W.T + b, Cache(x, W, b)\n"),
        "linear-backward": ("def linear_backward(dout, cache):\n"
                            "    return dout @ cache.W, dout.T @ cache.x, dout.sum(0)\n")},
    "forward made with functools.partial": {
        "linear-forward": ("import functools\n\n\ndef _affine(x, W, b, transpose):\n"
                           "    return x @ (W.T if transpose else W) + b, (x, W, b)\n\n\n"
                           "linear_forward = functools.partial(_affine, transpose=True)\n")},
    "forward returning a list": {"linear-forward": "def linear_forward(x, W, b):\n    return [x @ W.T + b, (x, W, b)]\n"},
    "a constant in a cell the student added": {
        "mse": "def mse(pred, target):\n    return ((pred - target) ** 2).mean() * SCALE\n",
        "+mse": "SCALE = float(1)  # a cell of the student's own\n"},
    "a generator made in another answer cell": {
        "layer-shapes": SOLUTION["layer-shapes"] + "\n\nrng = np.random.default_rng(0)\n",
        "dropout": SOLUTION["dropout"].replace("np.random.random(x.shape)", "rng.random(x.shape)")},
    "a %%time cell": {"fit-logistic": "%%time\n" + SOLUTION["fit-logistic"]},
    "zero_grad writes 0.0": {"adam": SOLUTION["adam"].replace("            p.grad = None", "            p.grad = 0.0")},
}

#: broken code that runs while a cell is *defined* (class bodies, default values, decorators,
#: item access): each costs the task whose answer cell holds it, no other
DEFINITION_TIME = {
    "a class body that exits": ({"layer-shapes": SOLUTION["layer-shapes"] + "\n\nclass _Setup:\n    import os\n"
                                                                            "    os._exit(0)\n"}, {"layer_shapes"}),
    "a default value that exits": ({"mse": "import os\n" + SOLUTION["mse"] + "\n\ndef _helper(flag=os._exit(0)):\n"
                                                                          "    return flag\n"}, {"mse"}),
    "a decorator that never returns": ({"moments": "def _forever(f):\n    while True:\n        pass\n\n\n@_forever\n"
                                                   + SOLUTION["moments"].lstrip()}, {"moments"}),
    "item access that exits": ({"layer-shapes": SOLUTION["layer-shapes"] + (
        "\n\nclass _K:\n    def __class_getitem__(cls, item):\n        import os\n        os._exit(0)\n\n\n"
        "_SHAPE = _K[0]\n")}, {"layer_shapes"}),
}


def _in_first_cell(code: str) -> dict:
    return {"layer-shapes": SOLUTION["layer-shapes"] + "\n\n" + code.strip("\n") + "\n"}


#: hostile code in the first answer cell (or a cell the student added after it), aimed at the
#: way the grader runs other cells; the later tasks (checked: mse, fit_logistic) keep every point
OTHER_CELL_HOSTILE = {
    "a loop that swallows the interruption": _in_first_cell(
        "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass"),
    "a timer armed for later": _in_first_cell("import signal\nsignal.setitimer(signal.ITIMER_REAL, 0.05)"),
    "a thread that ends the process later": _in_first_cell(
        "import threading, os, time\n"
        "threading.Thread(target=lambda: (time.sleep(0.05), os._exit(0)), daemon=True).start()"),
    "a fork": _in_first_cell("import os\n_child = os.fork()"),
    "tensor methods replaced": _in_first_cell("import torch\ntorch.Tensor.mean = lambda self, *a, **k: self.sum() * 0\n"
                                              "torch.Tensor.__add__ = lambda self, other: self"),
    "builtins rebound": _in_first_cell("__builtins__ = dict(vars(__import__('builtins')))\n"
                                       "__builtins__['isinstance'] = lambda *a: False\n__builtins__['len'] = lambda x: 1"),
    "modules removed from sys.modules": {**_in_first_cell("import sys\nsys.modules['numpy'] = None\n"
                                                          "sys.modules['torch'] = None"),
                                         "mse": "import numpy as np\nimport torch\n" + SOLUTION["mse"]},
    "SIGCHLD ignored, then a slow statement": _in_first_cell(
        "import signal, time\nsignal.signal(signal.SIGCHLD, signal.SIG_IGN)\ntime.sleep(5.5)\nNOTE = 'done'"),
    "an expression too deep to compile": {"+layer-shapes": "x = " + "+".join(["1"] * 200000) + "\n"},
}

UNUSUAL_RIGHT.update({
    "a dataclass optimizer with an InitVar": {"adam": '''
from __future__ import annotations
from dataclasses import InitVar, dataclass, field

@dataclass
class Adam:
    params_in: InitVar[list]
    lr: float = 1e-3
    betas: tuple = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    params: list = field(init=False)
    state: dict = field(init=False, default_factory=dict)

    def __post_init__(self, params_in):
        self.params = list(params_in)

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        b1, b2 = self.betas
        for p in self.params:
            st = self.state.setdefault(id(p), [0, 0.0, 0.0])
            st[0] += 1
            g = p.grad + self.weight_decay * p.data
            st[1] = b1 * st[1] + (1 - b1) * g
            st[2] = b2 * st[2] + (1 - b2) * g * g
            m_hat, v_hat = st[1] / (1 - b1 ** st[0]), st[2] / (1 - b2 ** st[0])
            p.data = p.data - self.lr * m_hat / (v_hat ** 0.5 + self.eps)
'''},
    "display() while training": {"fit-logistic": SOLUTION["fit-logistic"].replace(
        "    for _ in range(epochs):\n", "    for _ in range(epochs):\n        if _ % 500 == 0:\n            display(_)\n")},
    "a slow constant in another cell": {**_in_first_cell("import time\nSCALE = (time.sleep(2.5), 1.0)[1]"),
                                        "mse": "def mse(pred, target):\n    return ((pred - target) ** 2).mean() * SCALE\n"},
    "more torch threads in another cell": {**_in_first_cell(
        "torch.set_num_threads(2)\n_a = torch.randn(300, 300)\n_ = _a @ _a\n"
        "SCALE = float((torch.ones(60, 60) @ torch.ones(60, 60))[0, 0] / 60)"),
        "mse": "def mse(pred, target):\n    return ((pred - target) ** 2).mean() * SCALE\n"},
})


def wrong_submission(k: int) -> dict:
    """The k-th wrong version of every task that has one, at once (tasks are graded
    independently); a later task's version of a shared cell wins (the pair task's forward)."""
    fills = {}
    for versions in WRONG.values():
        if k < len(versions):
            fills.update(versions[k])
    return fills


def expected_scores(kind: str) -> dict:
    """test cell grade_id -> expected points for a submission of ``kind``: "solution", "blank",
    "alternative", "wrong-<k>" or an isolation submission's name."""
    full = {cell: points for cell, points in CELLS.values()}
    if kind in ("solution", "alternative"):
        return full
    if kind == "blank":
        return {cell: 0.0 for cell in full}
    if kind.startswith("wrong-"):
        k = int(kind.split("-")[1])
        out = dict(full)
        for task, scores in WRONG_SCORES.items():
            if k < len(scores):
                out[CELLS[task][0]] = scores[k]
        return out
    out = dict(full)
    for task in ISOLATION_LOSES[kind]:
        out[CELLS[task][0]] = 0.0
    return out


def submissions() -> dict:
    """Every submission of the end-to-end class: name -> answer-cell replacements."""
    subs = {"solution": {}, "alternative": alternative_submission()}
    subs.update({f"wrong-{k}": wrong_submission(k) for k in range(WRONG_SUBMISSIONS)})
    subs.update(ISOLATION)
    return subs


def alternative_submission() -> dict:
    fills = {}
    for version in ALTERNATIVE.values():
        fills.update(version)
    return fills
