"""Ready-made ways to run a case, for the task kinds that need more than one call.

A task's ``run(objs, *args, **kwargs)`` executes in the sandbox on the
student's objects; its ``reference(*args, **kwargs)`` executes in the judge.
The drivers here come in such pairs, so a chapter module only picks one and
names the reference it compares with:

* :func:`forward_output`: a forward that must return ``(out, cache)``, judged on ``out``.
* :func:`forward_backward` / :func:`pair_reference`: a backward run on the
  cache of the student's own forward (and, to tell the two apart, on the
  reference forward's cache); compare with :class:`~autograder.compare.Pair`.
* :func:`optimizer_run` / :func:`torch_optimizer_reference`: an optimizer
  class driven step by step on parameters with ``.data`` and ``.grad``, next
  to the same ``torch.optim`` optimizer; compare with
  :class:`~autograder.compare.Trajectory`.
* :func:`module_script`: a module (a class with ``forward``, ``train()``,
  ``eval()``) driven by a script of steps; the reference runs the same script
  on the reference class; compare with :class:`~autograder.compare.Parts`.
* :func:`value_graph`: a scalar autograd ``Value`` class driven by an
  expression the grader builds; every node's ``data`` and ``grad`` come back.

Every helper returns data (arrays, numbers, tuples, dicts), and an error the
student's code raises inside a driver becomes a
:class:`~autograder.wire.Raised` value where only one part should fail.
"""

from __future__ import annotations

import numpy as np

from .wire import Raised, map_tree

__all__ = ["attempt", "copy_tree", "forward_output", "forward_backward", "pair_reference", "optimizer_run",
           "torch_optimizer_reference", "Param", "module_script", "value_graph", "VALUE_OPS"]


def attempt(fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, or a :class:`Raised` describing the error it raised."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the student's code may raise anything
        return Raised.from_exception(exc)


def _copy_leaf(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if hasattr(value, "detach") and hasattr(value, "clone"):
        return value.detach().clone()
    return value


def copy_tree(value):
    """A copy of ``value`` with every array and tensor copied (so later changes don't show)."""
    return map_tree(_copy_leaf, value)


# ---------------------------------------------------------------------------
# forward / backward pairs
# ---------------------------------------------------------------------------

def forward_output(with_dout: bool = False):
    """A ``run`` for a forward task: the ``out`` of ``op_forward(*inputs) -> (out, cache)``.

    ``with_dout=True`` drops the last argument, so the forward task can share the
    cases of its backward task (whose last argument is ``dout``).
    """

    def run(objs, *args, **kwargs):
        inputs = args[:-1] if with_dout else args
        returned = objs[0](*inputs, **kwargs)
        if not (isinstance(returned, (tuple, list)) and len(returned) == 2):
            raise TypeError(f"the forward must return (out, cache), got {type(returned).__name__}")
        return returned[0]

    return run


def forward_backward(make_cache):
    """A ``run`` for a backward task: ``check(task, op_forward, op_backward)``.

    The case's arguments are the forward's inputs followed by ``dout``.
    ``make_cache(*inputs, **kwargs)`` builds the cache the notebook's
    docstring promises (usually from the course reference's forward); the
    backward is called on the student's own cache and on that one.
    """

    def run(objs, *args, **kwargs):
        forward, backward = objs
        *inputs, dout = args
        try:
            ref_cache = make_cache(*copy_tree(inputs), **kwargs)
        except Exception as exc:  # the task's own code: say so, the student is not to blame
            raise RuntimeError(f"the grader could not build the reference cache ({type(exc).__name__}: {exc}) - "
                               "a bug in the task, please tell your instructor") from exc
        result = {"out": None, "own": None, "ref": None}
        try:
            returned = forward(*inputs, **kwargs)
            if not (isinstance(returned, (tuple, list)) and len(returned) == 2):
                raise TypeError(f"the forward must return (out, cache), got {type(returned).__name__}")
            result["out"], cache = returned
            result["own"] = attempt(backward, copy_tree(dout), cache)
        except Exception as exc:  # noqa: BLE001 - a broken forward is the forward task's problem
            result["out"] = Raised.from_exception(exc)
        result["ref"] = attempt(backward, copy_tree(dout), ref_cache)
        return result

    return run


def pair_reference(forward, backward):
    """The judge's side of :func:`forward_backward`: ``{"out": ..., "grads": ...}``."""

    def reference(*args, **kwargs):
        *inputs, dout = args
        out, cache = forward(*inputs, **kwargs)
        return {"out": out, "grads": backward(dout, cache)}

    return reference


# ---------------------------------------------------------------------------
# optimizers
# ---------------------------------------------------------------------------

class Param:
    """A parameter as the course's optimizers see it: ``.data`` and ``.grad``."""

    def __init__(self, data):
        self.data = data
        self.grad = None

    def __repr__(self):
        return f"Param(shape={tuple(self.data.shape)})"


def _numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy().astype(np.float64)
    return np.array(x, dtype=np.float64)


def _quadratic_grad(theta, curvature, center, noise):
    """The gradient each step uses: a bowl ``curvature * (theta - center)`` plus a fixed disturbance."""
    return curvature * (theta - center) + noise


def optimizer_run(objs, theta0, curvature, center, noise, hyper):
    """Drive the student's optimizer class for ``len(noise[0])`` steps; ``run`` of an optimizer task.

    ``theta0``, ``curvature``, ``center``: one array per parameter;
    ``noise``: per parameter, an array (steps, *shape) added to the gradient
    at each step; ``hyper``: keyword arguments of the optimizer. Each step
    calls ``zero_grad()``, sets every ``p.grad`` (the gradient at the current
    parameters) and calls ``step()``. Returns one array (steps, *shape) per
    parameter: its values after every step.
    """
    cls = objs[0]
    params = [Param(t) for t in theta0]
    opt = cls(params, **hyper)
    steps = int(noise[0].shape[0])
    record = [[] for _ in params]
    for t in range(steps):
        opt.zero_grad()
        for p in params:
            if p.grad is not None and bool(np.any(_numpy(p.grad) != 0)):
                raise AssertionError("zero_grad() left a gradient that is not zero (or None)")
        for p, h, c, n in zip(params, curvature, center, noise):
            p.grad = _quadratic_grad(p.data, h, c, n[t])
        opt.step()
        for k, p in enumerate(params):
            if not hasattr(p.data, "shape") or tuple(p.data.shape) != tuple(theta0[k].shape):
                raise TypeError(f"after step {t + 1}, parameter {k}'s data is "
                                f"{type(p.data).__name__} {tuple(getattr(p.data, 'shape', ()))}, "
                                f"expected an array of shape {tuple(theta0[k].shape)}")
            record[k].append(_numpy(p.data))
    return tuple(np.stack(r) for r in record)


def torch_optimizer_reference(name: str):
    """The judge's side of :func:`optimizer_run`: the same steps with ``torch.optim.<name>``."""

    def reference(theta0, curvature, center, noise, hyper):
        import torch

        params = [torch.tensor(t, dtype=torch.float64, requires_grad=True) for t in theta0]
        opt = getattr(torch.optim, name)(params, **hyper)
        steps = int(noise[0].shape[0])
        record = [[] for _ in params]
        for t in range(steps):
            opt.zero_grad()
            for p, h, c, n in zip(params, curvature, center, noise):
                p.grad = _quadratic_grad(p.detach(), torch.as_tensor(h), torch.as_tensor(c), torch.as_tensor(n[t]))
            opt.step()
            for k, p in enumerate(params):
                record[k].append(p.detach().numpy().copy())
        return tuple(np.stack(r) for r in record)

    return reference


# ---------------------------------------------------------------------------
# modules with state and modes
# ---------------------------------------------------------------------------

def module_script(objs, init, script):
    """Drive a module class by a script; ``run`` (and, with the reference class, ``reference``).

    ``init``: ``{"args": [...], "kwargs": {...}}`` for the constructor.
    ``script``: steps, each a list: ``["train"]``, ``["eval"]``,
    ``["forward", x]``, ``["backward", dout]``, ``["get", "running_mean"]``.
    Returns a dict of what each forward, backward and get produced, keyed
    ``"<step number> <what>"`` (``"3 forward (eval)"``), values copied when made.
    """
    cls = objs[0]
    module = cls(*init.get("args", ()), **init.get("kwargs", {}))
    mode = "train"
    record = {}
    for k, step in enumerate(script, start=1):
        op = step[0]
        if op == "train":
            module.train()
            mode = "train"
        elif op == "eval":
            module.eval()
            mode = "eval"
        elif op == "forward":
            record[f"{k} forward ({mode})"] = copy_tree(module.forward(step[1]))
        elif op == "backward":
            record[f"{k} backward"] = copy_tree(module.backward(step[1]))
        elif op == "get":
            record[f"{k} {step[1]}"] = copy_tree(getattr(module, step[1]))
        else:
            raise ValueError(f"unknown script step {op!r}")
    return record


# ---------------------------------------------------------------------------
# a scalar autograd engine
# ---------------------------------------------------------------------------

#: the instructions of :func:`value_graph`: name -> (operand kinds, how to build the node)
VALUE_OPS = {
    "leaf": ("c", None),
    "add": ("nn", lambda a, b: a + b),
    "mul": ("nn", lambda a, b: a * b),
    "sub": ("nn", lambda a, b: a - b),
    "div": ("nn", lambda a, b: a / b),
    "add_const": ("nc", lambda a, c: a + c),
    "mul_const": ("nc", lambda a, c: a * c),
    "radd": ("nc", lambda a, c: c + a),
    "rmul": ("nc", lambda a, c: c * a),
    "rsub": ("nc", lambda a, c: c - a),
    "pow": ("nc", lambda a, c: a ** c),
    "neg": ("n", lambda a: -a),
    "tanh": ("n", lambda a: a.tanh()),
    "relu": ("n", lambda a: a.relu()),
    "exp": ("n", lambda a: a.exp()),
}


def value_graph(objs, program):
    """Build an expression with the student's ``Value`` class and backpropagate.

    ``program``: instructions ``[op, operand, ...]`` (see :data:`VALUE_OPS`);
    node operands are indices of earlier instructions, constants are numbers;
    ``["leaf", 2.0]`` makes ``Value(2.0)``. The last node is the output;
    ``backward()`` is called on it. Returns ``{"data": (n,), "grad": (n,)}``,
    one entry per instruction.
    """
    value_cls = objs[0]
    nodes = []
    for k, (op, *operands) in enumerate(program):
        if op not in VALUE_OPS:
            raise ValueError(f"unknown instruction {op!r}")
        kinds, build = VALUE_OPS[op]
        if op == "leaf":
            nodes.append(value_cls(operands[0]))
            continue
        args = [nodes[o] if kind == "n" else o for kind, o in zip(kinds, operands)]
        node = build(*args)
        if node is None:
            raise TypeError(f"instruction {k} ({op}) gave None: an operation must return a new Value")
        nodes.append(node)
    nodes[-1].backward()
    return {"data": np.array([float(n.data) for n in nodes]), "grad": np.array([float(n.grad) for n in nodes])}
