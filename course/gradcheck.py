r"""Numerical derivatives by central differences, and the relative-error check.

A derivative is the rate of change of a function of one variable; a gradient
collects the partial derivatives of a function of many variables into one
vector (array) that points in the direction of steepest ascent.

Central differences, :math:`f'(x) \approx (f(x+h) - f(x-h)) / 2h`, have error
:math:`O(h^2)` (one-sided differences only :math:`O(h)`). With ``h = 1e-5`` in
float64 an analytic gradient that is right agrees to a relative error of about
1e-7 or better; above 1e-2 it is almost certainly wrong.

The functions work on NumPy arrays and on torch tensors: inputs are copied to
float64 NumPy, so the check itself is always done in double precision.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ._backend import to_numpy

__all__ = [
    "numerical_derivative",
    "numerical_gradient",
    "numerical_gradients",
    "relative_error",
    "check_gradients",
    "GradientCheckError",
]


class GradientCheckError(AssertionError):
    """Raised by :func:`check_gradients` when analytic and numerical gradients disagree."""


def numerical_derivative(f: Callable[[float], float], x: float, h: float = 1e-5) -> float:
    r"""Central-difference derivative of a scalar function: :math:`(f(x+h) - f(x-h))/2h`."""
    if h <= 0:
        raise ValueError(f"Invalid step h: {h} (must be positive)")
    return (float(f(x + h)) - float(f(x - h))) / (2.0 * h)


def numerical_gradient(f: Callable, x, dout=None, h: float = 1e-5) -> np.ndarray:
    r"""Gradient of :math:`\sum(f(x) \odot dout)` with respect to ``x``, entry by entry.

    With ``dout=None``, ``f`` must return a scalar and this is :math:`\nabla f(x)`.
    For an array-valued ``f`` (a layer), ``dout`` is the upstream gradient and
    the result is what that layer's backward must return for ``x``.

    ``f`` is called with a float64 NumPy array the shape of ``x``.
    Returns a float64 NumPy array the shape of ``x``.
    """
    if h <= 0:
        raise ValueError(f"Invalid step h: {h} (must be positive)")
    x = np.array(to_numpy(x), dtype=np.float64, copy=True)
    weights = None if dout is None else np.asarray(to_numpy(dout), dtype=np.float64)

    def scalar(value):
        out = np.asarray(to_numpy(f(value)), dtype=np.float64)
        if weights is None:
            if out.size != 1:
                raise ValueError(
                    f"f returned shape {out.shape}; pass dout (the upstream gradient) "
                    "for a function that returns an array"
                )
            return float(out.reshape(()))
        if out.shape != weights.shape:
            raise ValueError(f"dout has shape {weights.shape} but f returned shape {out.shape}")
        return float(np.sum(out * weights))

    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + h
        plus = scalar(x)
        x[idx] = old - h
        minus = scalar(x)
        x[idx] = old
        grad[idx] = (plus - minus) / (2.0 * h)
    return grad


def numerical_gradients(f: Callable, inputs: Sequence, dout=None, h: float = 1e-5) -> list:
    """Numerical gradient of ``f(*inputs)`` for each input in turn (others held fixed)."""
    inputs = [np.array(to_numpy(a), dtype=np.float64) for a in inputs]
    grads = []
    for i in range(len(inputs)):
        def f_i(value, i=i):
            args = list(inputs)
            args[i] = value
            return f(*args)

        grads.append(numerical_gradient(f_i, inputs[i], dout, h))
    return grads


def relative_error(a, b) -> float:
    r"""Largest elementwise :math:`|a - b| / \max(10^{-8}, |a| + |b|)`."""
    a = np.asarray(to_numpy(a), dtype=np.float64)
    b = np.asarray(to_numpy(b), dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error needs equal shapes, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def check_gradients(forward: Callable, backward: Callable, inputs: Sequence, *,
                    dout=None, h: float = 1e-5, tol: float = 1e-6,
                    names: Sequence[str] | None = None, seed: int = 0, **options) -> list[float]:
    """Compare an ``op_forward``/``op_backward`` pair with central differences.

    ``forward(*inputs, **options) -> (out, cache)`` and ``backward(dout, cache)``
    follow the library's contract. ``dout`` defaults to a seeded random array
    the shape of the output. Returns the relative error for each input and
    raises :class:`GradientCheckError` when one exceeds ``tol``, saying which.
    """
    inputs = [np.array(to_numpy(a), dtype=np.float64) for a in inputs]
    out, cache = forward(*inputs, **options)
    out = np.asarray(out)
    if dout is None:
        dout = np.random.default_rng(seed).standard_normal(out.shape)
    analytic = backward(dout, cache)
    if not isinstance(analytic, tuple):
        analytic = (analytic,)
    names = list(names) if names else [f"input {i}" for i in range(len(inputs))]
    numeric = numerical_gradients(lambda *a: forward(*a, **options)[0], inputs, dout, h)
    errors = []
    for name, got, want in zip(names, analytic, numeric):
        if got is None:
            errors.append(float("nan"))
            continue
        err = relative_error(got, want)
        errors.append(err)
        if not err <= tol:
            got_np = to_numpy(got)
            bad = np.unravel_index(np.argmax(np.abs(got_np - want)), want.shape) if want.size else ()
            raise GradientCheckError(
                f"gradient for {name} is off: relative error {err:.3g} > {tol:g}; "
                f"at index {tuple(int(i) for i in bad)} backward gave {float(got_np[bad]):.6g} "
                f"but central differences give {float(want[bad]):.6g}"
            )
    return errors
