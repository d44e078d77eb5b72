r"""Activation functions and their derivatives.

Every activation ``f`` comes in three forms (see DESIGN.md):

* ``f(x, ...)`` -- the output only;
* ``f_forward(x, ...) -> (out, cache)``;
* ``f_backward(dout, cache) -> dx`` (``prelu_backward`` returns ``(dx, dweight)``).

Elementwise activations also have ``f_derivative(x)``, the pointwise
derivative :math:`f'(x)`, handy for plots.

Semantics follow ``torch.nn.functional``. Where the derivative is undefined at a
single point (ReLU and LeakyReLU at 0, step at 0) we use PyTorch's choice: the
left-hand value.

Shape: every function accepts any shape; the output has the shape of ``x``.
"""

from __future__ import annotations

import math

from ._backend import check_array, check_ndim, erf, namespace

__all__ = [
    "step", "step_forward", "step_backward", "step_derivative",
    "relu", "relu_forward", "relu_backward", "relu_derivative",
    "leaky_relu", "leaky_relu_forward", "leaky_relu_backward", "leaky_relu_derivative",
    "sigmoid", "sigmoid_forward", "sigmoid_backward", "sigmoid_derivative",
    "tanh", "tanh_forward", "tanh_backward", "tanh_derivative",
    "softmax", "softmax_forward", "softmax_backward",
    "log_softmax", "log_softmax_forward", "log_softmax_backward",
    "swish", "swish_forward", "swish_backward", "swish_derivative",
    "silu", "silu_forward", "silu_backward",
    "gelu", "gelu_forward", "gelu_backward", "gelu_derivative",
    "prelu", "prelu_forward", "prelu_backward",
    "ELEMENTWISE",
]


def _ones_like(x):
    xp = namespace(x)
    return xp.ones_like(x)


# ---------------------------------------------------------------------------
# step (Heaviside), the perceptron's activation
# ---------------------------------------------------------------------------

def step_forward(x):
    r"""Heaviside step :math:`f(x) = 1` if :math:`x > 0` else :math:`0`.

    Matches ``torch.heaviside(x, values=0)``. The derivative is 0 wherever it
    exists, which is why a step network cannot be trained by gradient descent.
    """
    check_array(x, "x")
    xp = namespace(x)
    out = xp.astype(x > 0, x.dtype)
    return out, (x,)


def step_backward(dout, cache):
    r"""Gradient of :func:`step_forward`: zero everywhere.

    :math:`dx = 0 \cdot dout`; the step is flat on both sides of 0 (and we use
    0 at the jump itself, as PyTorch does), so no gradient reaches ``x``.

    Shape: ``dout`` (*), the shape of the output; returns ``dx`` (*), zeros of
    the same shape.
    """
    (x,) = cache
    xp = namespace(dout)
    return xp.zeros_like(dout)


def step(x):
    """The Heaviside step of ``x``: 1 where :math:`x > 0`, else 0, in the dtype of ``x``.

    See :func:`step_forward` for the formula and the zero gradient.

    Shape: x (*), returns (*), same as x.
    """
    return step_forward(x)[0]


# ---------------------------------------------------------------------------
# ReLU and LeakyReLU
# ---------------------------------------------------------------------------

def relu_forward(x):
    r""":math:`f(x) = \max(0, x)`; :math:`f'(x) = 1` for :math:`x > 0`, else 0."""
    check_array(x, "x")
    xp = namespace(x)
    out = xp.where(x > 0, x, xp.zeros_like(x))
    return out, (x,)


def relu_backward(dout, cache):
    """Gradient of :func:`relu_forward`: pass ``dout`` where the input was positive.

    :math:`dx = dout` where :math:`x > 0`, else 0 (including at :math:`x = 0`,
    PyTorch's choice); ``x`` is the input kept in ``cache``.

    Shape: ``dout`` (*), the shape of the output; returns ``dx`` (*), the
    shape of ``x``.
    """
    (x,) = cache
    xp = namespace(dout)
    return xp.where(x > 0, dout, xp.zeros_like(dout))


def relu(x):
    r"""ReLU of ``x``, :math:`\max(0, x)` elementwise.

    See :func:`relu_forward` for the formula and derivative.

    Shape: x (*), returns (*), same as x.
    """
    return relu_forward(x)[0]


def leaky_relu_forward(x, negative_slope: float = 0.01):
    r""":math:`f(x) = x` for :math:`x > 0`, else :math:`\alpha x` (``negative_slope`` = α).

    The default slope 0.01 is PyTorch's. Units never go fully "dead": the
    gradient on the negative side is α, not 0.
    """
    check_array(x, "x")
    xp = namespace(x)
    out = xp.where(x > 0, x, x * negative_slope)
    return out, (x, negative_slope)


def leaky_relu_backward(dout, cache):
    r"""Gradient of :func:`leaky_relu_forward`.

    :math:`dx = dout` where :math:`x > 0`, :math:`\alpha\,dout` elsewhere
    (including at :math:`x = 0`), with ``negative_slope`` = α kept in ``cache``.

    Shape: ``dout`` (*), the shape of the output; returns ``dx`` (*), the
    shape of ``x``.
    """
    x, negative_slope = cache
    xp = namespace(dout)
    return xp.where(x > 0, dout, dout * negative_slope)


def leaky_relu(x, negative_slope: float = 0.01):
    """LeakyReLU of ``x``: ``x`` where positive, ``negative_slope * x`` elsewhere.

    See :func:`leaky_relu_forward` for the formula and the default slope.

    Shape: x (*), returns (*), same as x.
    """
    return leaky_relu_forward(x, negative_slope)[0]


# ---------------------------------------------------------------------------
# sigmoid and tanh
# ---------------------------------------------------------------------------

def sigmoid_forward(x):
    r""":math:`\sigma(x) = 1 / (1 + e^{-x})`, with :math:`\sigma'(x) = \sigma(x)(1 - \sigma(x))`.

    Stability: :math:`e^{-x}` overflows for large negative ``x``. We only ever
    exponentiate :math:`-|x|`: with :math:`e = e^{-|x|}`, :math:`\sigma(x) = 1/(1+e)`
    for :math:`x \ge 0` and :math:`e/(1+e)` for :math:`x < 0`.
    """
    check_array(x, "x")
    xp = namespace(x)
    e = xp.exp(-xp.abs(x))
    out = xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return out, (out,)


def sigmoid_backward(dout, cache):
    r"""Gradient of :func:`sigmoid_forward`.

    :math:`dx = dout \cdot \sigma(x)(1 - \sigma(x))`, using the output
    :math:`\sigma(x)` kept in ``cache`` (no exponential is recomputed).

    Shape: ``dout`` (*), the shape of the output; returns ``dx`` (*), the
    shape of ``x``.
    """
    (out,) = cache
    return dout * out * (1.0 - out)


def sigmoid(x):
    """The logistic sigmoid :math:`1 / (1 + e^{-x})` of ``x``, each entry in [0, 1].

    See :func:`sigmoid_forward` for the formula and the overflow-free evaluation.

    Shape: x (*), returns (*), same as x.
    """
    return sigmoid_forward(x)[0]


def tanh_forward(x):
    r""":math:`\tanh(x)`, with :math:`\tanh'(x) = 1 - \tanh^2(x)` (peak 1 at 0)."""
    check_array(x, "x")
    xp = namespace(x)
    out = xp.tanh(x)
    return out, (out,)


def tanh_backward(dout, cache):
    r"""Gradient of :func:`tanh_forward`.

    :math:`dx = dout \cdot (1 - \tanh^2(x))`, using the output kept in ``cache``.

    Shape: ``dout`` (*), the shape of the output; returns ``dx`` (*), the
    shape of ``x``.
    """
    (out,) = cache
    return dout * (1.0 - out * out)


def tanh(x):
    """The hyperbolic tangent of ``x``, each entry in [-1, 1].

    See :func:`tanh_forward` for the formula and derivative.

    Shape: x (*), returns (*), same as x.
    """
    return tanh_forward(x)[0]


# ---------------------------------------------------------------------------
# softmax and log-softmax
# ---------------------------------------------------------------------------

def _check_axis(x, axis, name="axis"):
    size = max(x.ndim, 1)  # a 0-d x counts as one entry on axis -1 or 0, as in PyTorch
    if not isinstance(axis, int) or not -size <= axis < size:
        raise ValueError(
            f"{name}={axis} is out of range for x of shape {tuple(x.shape)} ({x.ndim}-D)"
        )


def _on_vector(fn, xp, *arrays):
    """``fn(*arrays)`` where ``arrays`` are 0-d: run on (1,) views, return a 0-d result.

    PyTorch treats a 0-d input of softmax as a vector of one entry; NumPy has
    no axis -1 or 0 on a 0-d array, so we add that axis and remove it again.
    """
    return xp.reshape(fn(*(xp.reshape(xp.asarray(a), (1,)) for a in arrays)), ())


def softmax_forward(x, axis: int = -1):
    r"""Softmax along ``axis``: :math:`s_i = e^{x_i} / \sum_j e^{x_j}`.

    Stability: softmax is unchanged when a constant is subtracted from every
    entry, so we subtract the maximum along ``axis`` first; the largest exponent
    is then :math:`e^0 = 1` and nothing overflows, even for inputs of ±1000.

    Backward: :math:`dx = s \odot (dout - \sum_j dout_j s_j)`.

    ``axis`` plays the role of PyTorch's ``dim`` (default: the last axis).
    As in PyTorch, a 0-d ``x`` is a vector of one entry (``axis`` -1 or 0):
    its softmax is 1 and its gradient 0.

    Shape: ``x`` (*), any shape; returns (*), the shape of ``x``, each slice
    along ``axis`` summing to 1.
    """
    check_array(x, "x")
    _check_axis(x, axis)
    xp = namespace(x)
    if x.ndim == 0:
        out = _on_vector(lambda v: softmax_forward(v, axis)[0], xp, x)
        return out, (out, axis)
    shifted = x - xp.max(x, axis=axis, keepdims=True)
    e = xp.exp(shifted)
    out = e / xp.sum(e, axis=axis, keepdims=True)
    return out, (out, axis)


def softmax_backward(dout, cache):
    r"""Gradient of :func:`softmax_forward` for ``x``.

    :math:`dx = s \odot (dout - \sum_j dout_j s_j)`, the sum taken along
    ``axis`` (the Jacobian-vector product of :math:`\partial s_i/\partial x_j
    = s_i(\delta_{ij} - s_j)`); ``s`` is the softmax output kept in ``cache``.

    Shape: ``dout`` (*), the shape of the output; returns ``dx`` (*), the
    shape of ``x``.
    """
    out, axis = cache
    if out.ndim == 0:
        return _on_vector(lambda d, s: softmax_backward(d, (s, axis)), namespace(out), dout, out)
    xp = namespace(dout)
    return out * (dout - xp.sum(dout * out, axis=axis, keepdims=True))


def softmax(x, axis: int = -1):
    """Softmax of ``x`` along ``axis``: non-negative entries summing to 1 on each slice.

    Returns the output of :func:`softmax_forward` (formula, stability, 0-d
    inputs) without the cache.

    Shape: x (*), returns (*), same as x.
    """
    return softmax_forward(x, axis)[0]


def log_softmax_forward(x, axis: int = -1):
    r"""Log-softmax along ``axis``: :math:`x_i - \log \sum_j e^{x_j}`.

    Stability: the log-sum-exp is computed as
    :math:`m + \log \sum_j e^{x_j - m}` with :math:`m = \max_j x_j`, so it is
    exact and finite for inputs of ±1000 where ``log(softmax(x))`` would give
    ``-inf``.

    Backward: :math:`dx = dout - \mathrm{softmax}(x) \sum_j dout_j`.

    As in PyTorch, a 0-d ``x`` is a vector of one entry (``axis`` -1 or 0):
    its log-softmax is 0 and its gradient 0.

    Shape: ``x`` (*), any shape; returns (*), the shape of ``x``.
    """
    check_array(x, "x")
    _check_axis(x, axis)
    xp = namespace(x)
    if x.ndim == 0:
        out = _on_vector(lambda v: log_softmax_forward(v, axis)[0], xp, x)
        return out, (out, axis)
    shifted = x - xp.max(x, axis=axis, keepdims=True)
    out = shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))
    return out, (out, axis)


def log_softmax_backward(dout, cache):
    r"""Gradient of :func:`log_softmax_forward` for ``x``.

    :math:`dx = dout - \mathrm{softmax}(x) \sum_j dout_j`, the sum taken along
    ``axis``; :math:`\mathrm{softmax}(x) = e^{\text{out}}` is recovered from
    the log-softmax output kept in ``cache``.

    Shape: ``dout`` (*), the shape of the output; returns ``dx`` (*), the
    shape of ``x``.
    """
    out, axis = cache
    if out.ndim == 0:
        return _on_vector(lambda d, lp: log_softmax_backward(d, (lp, axis)), namespace(out), dout, out)
    xp = namespace(dout)
    return dout - xp.exp(out) * xp.sum(dout, axis=axis, keepdims=True)


def log_softmax(x, axis: int = -1):
    """Log-softmax of ``x`` along ``axis``: the log of :func:`softmax`, computed stably.

    Returns the output of :func:`log_softmax_forward` (formula, stability,
    0-d inputs) without the cache.

    Shape: x (*), returns (*), same as x.
    """
    return log_softmax_forward(x, axis)[0]


# ---------------------------------------------------------------------------
# Swish / SiLU and GELU
# ---------------------------------------------------------------------------

def swish_forward(x, beta: float = 1.0):
    r"""Swish: :math:`f(x) = x\,\sigma(\beta x)`; SiLU is the case :math:`\beta = 1`.

    Derivative: :math:`f'(x) = \sigma(\beta x) + \beta x\,\sigma(\beta x)(1 - \sigma(\beta x))`.
    ``beta`` is a fixed hyperparameter here (the gradient is for ``x`` only).
    """
    check_array(x, "x")
    s = sigmoid(x * beta)
    return x * s, (x, s, beta)


def swish_backward(dout, cache):
    r"""Gradient of :func:`swish_forward` for ``x`` (``beta`` is fixed, it gets none).

    :math:`dx = dout \cdot \left(\sigma(\beta x) + \beta x\,\sigma(\beta x)(1 - \sigma(\beta x))\right)`,
    with ``x``, :math:`\sigma(\beta x)` and β kept in ``cache``.

    Shape: ``dout`` (*), the shape of the output; returns ``dx`` (*), the
    shape of ``x``.
    """
    x, s, beta = cache
    return dout * (s + beta * x * s * (1.0 - s))


def swish(x, beta: float = 1.0):
    r"""Swish of ``x``: :math:`x\,\sigma(\beta x)`.

    See :func:`swish_forward` for the formula and derivative; ``beta=1`` is SiLU.

    Shape: x (*), returns (*), same as x.
    """
    return swish_forward(x, beta)[0]


def silu_forward(x):
    """SiLU, ``torch.nn.functional.silu``: Swish with ``beta = 1``."""
    return swish_forward(x, 1.0)


def silu_backward(dout, cache):
    r"""Gradient of :func:`silu_forward`: the Swish gradient with :math:`\beta = 1`.

    :math:`dx = dout \cdot \left(\sigma(x) + x\,\sigma(x)(1 - \sigma(x))\right)`.

    Shape: ``dout`` (*), the shape of the output; returns ``dx`` (*), the
    shape of ``x``.
    """
    return swish_backward(dout, cache)


def silu(x):
    r"""SiLU of ``x``: :math:`x\,\sigma(x)` (``torch.nn.functional.silu``).

    See :func:`silu_forward` (and :func:`swish_forward`, of which it is the
    case :math:`\beta = 1`) for the formula and derivative.

    Shape: x (*), returns (*), same as x.
    """
    return swish_forward(x, 1.0)[0]


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def gelu_forward(x, approximate: str = "none"):
    r"""GELU, :math:`f(x) = x\,\Phi(x)` with :math:`\Phi` the standard normal CDF.

    * ``approximate="none"`` (exact): :math:`\Phi(x) = \tfrac12(1 + \mathrm{erf}(x/\sqrt2))`,
      derivative :math:`\Phi(x) + x\,\varphi(x)` with :math:`\varphi` the normal density.
    * ``approximate="tanh"``:
      :math:`\tfrac12 x (1 + \tanh(u))`, :math:`u = \sqrt{2/\pi}(x + 0.044715 x^3)`.

    Same names and values as ``torch.nn.functional.gelu``.
    """
    check_array(x, "x")
    xp = namespace(x)
    if approximate == "none":
        cdf = 0.5 * (1.0 + erf(x * _INV_SQRT_2))
        return x * cdf, (x, cdf, approximate)
    if approximate == "tanh":
        u = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
        t = xp.tanh(u)
        return 0.5 * x * (1.0 + t), (x, t, approximate)
    raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")


def gelu_backward(dout, cache):
    r"""Gradient of :func:`gelu_forward`.

    * ``approximate="none"``: :math:`dx = dout \cdot (\Phi(x) + x\,\varphi(x))`,
      with :math:`\varphi(x) = e^{-x^2/2}/\sqrt{2\pi}`.
    * ``approximate="tanh"``: with :math:`u = \sqrt{2/\pi}(x + 0.044715 x^3)`,
      :math:`t = \tanh(u)` and :math:`u' = \sqrt{2/\pi}(1 + 3 \cdot 0.044715 x^2)`,
      :math:`dx = dout \cdot \left(\tfrac12(1 + t) + \tfrac12 x (1 - t^2)\,u'\right)`.

    Shape: ``dout`` (*), the shape of the output; returns ``dx`` (*), the
    shape of ``x``.
    """
    x, aux, approximate = cache
    xp = namespace(dout)
    if approximate == "none":
        pdf = _INV_SQRT_2PI * xp.exp(-0.5 * x * x)
        return dout * (aux + x * pdf)
    t = aux
    du = _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * x * x)
    return dout * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du)


def gelu(x, approximate: str = "none"):
    r"""GELU of ``x``: :math:`x\,\Phi(x)`, exact or with the tanh approximation.

    See :func:`gelu_forward` for both formulas and the ``approximate`` option.

    Shape: x (*), returns (*), same as x.
    """
    return gelu_forward(x, approximate)[0]


# ---------------------------------------------------------------------------
# PReLU: LeakyReLU with a learnable slope
# ---------------------------------------------------------------------------

def _prelu_weight_view(x, weight):
    """Reshape ``weight`` of shape (1,) or (C,) to broadcast over channel axis 1."""
    check_ndim(weight, "weight", 1, "(1,) or (C,)")
    xp = namespace(x, weight)
    n = weight.shape[0]
    if n == 1:
        return xp.reshape(weight, ())  # broadcasts against x of any shape, 0-d included
    if x.ndim < 2 or x.shape[1] != n:
        raise ValueError(
            f"weight has {n} slopes, so x needs {n} channels on axis 1; "
            f"got x of shape {tuple(x.shape)}"
        )
    return xp.reshape(weight, (n,) + (1,) * (x.ndim - 2))


def prelu_forward(x, weight):
    r"""PReLU: :math:`f(x) = x` for :math:`x > 0`, else :math:`a x`, with ``a`` learned.

    ``weight`` holds one slope shared by all channels, shape (1,), or one per
    channel, shape (C,), for ``x`` of shape (N, C, ...), as in
    ``torch.nn.functional.prelu``.

    Backward: :math:`dx = dout` where :math:`x > 0`, :math:`a\,dout` elsewhere;
    :math:`da = \sum dout \cdot x` over the entries with :math:`x \le 0`
    (summed over every axis but the channel axis when there are C slopes).
    """
    check_array(x, "x")
    w = _prelu_weight_view(x, weight)
    xp = namespace(x, weight)
    out = xp.where(x > 0, x, w * x)
    return out, (x, weight, w)


def prelu_backward(dout, cache):
    r"""Gradients of :func:`prelu_forward`: ``(dx, dweight)``.

    * :math:`dx = dout` where :math:`x > 0`, :math:`a\,dout` elsewhere (the
      slope of the entry's channel).
    * :math:`da = \sum dout \cdot x` over the entries with :math:`x \le 0`:
      over every entry for one shared slope, over every axis but the channel
      axis 1 for one slope per channel.

    Shape: ``dout`` (N, C, *) (or (*) for one slope), the shape of ``x``;
    returns ``dx`` with the shape of ``x`` and ``dweight`` (1,) or (C,), the
    shape of ``weight``.
    """
    x, weight, w = cache
    xp = namespace(dout)
    positive = x > 0
    dx = xp.where(positive, dout, w * dout)
    contrib = xp.where(positive, xp.zeros_like(dout), dout * x)
    if weight.shape[0] == 1:
        dweight = xp.reshape(xp.sum(contrib), (1,))
    else:
        axes = tuple(i for i in range(x.ndim) if i != 1)
        dweight = xp.sum(contrib, axis=axes)
    return dx, dweight


def prelu(x, weight):
    """PReLU of ``x``: ``x`` where positive, ``weight * x`` elsewhere (per channel when ``weight`` is (C,)).

    See :func:`prelu_forward` for the formula and the channel convention.

    Shape: x (N, C, *) with weight (C,), or x of any shape (0-d too) with
    weight (1,); returns the shape of x.
    """
    return prelu_forward(x, weight)[0]


# ---------------------------------------------------------------------------
# pointwise derivatives (for plots and for the notebooks' tasks)
# ---------------------------------------------------------------------------

def step_derivative(x):
    """0 everywhere (undefined at 0; PyTorch and we use 0)."""
    return step_backward(_ones_like(x), step_forward(x)[1])


def relu_derivative(x):
    """:math:`f'(x)` of ReLU: 1 where :math:`x > 0`, else 0 (0 at the kink :math:`x = 0`, as PyTorch).

    Shape: x (*), returns (*), same as x.
    """
    return relu_backward(_ones_like(x), relu_forward(x)[1])


def leaky_relu_derivative(x, negative_slope: float = 0.01):
    """:math:`f'(x)` of LeakyReLU: 1 where :math:`x > 0`, else ``negative_slope`` (also at 0).

    Shape: x (*), returns (*), same as x.
    """
    return leaky_relu_backward(_ones_like(x), leaky_relu_forward(x, negative_slope)[1])


def sigmoid_derivative(x):
    r""":math:`\sigma'(x) = \sigma(x)(1-\sigma(x))`, at most 0.25 (at 0): the root of vanishing gradients."""
    return sigmoid_backward(_ones_like(x), sigmoid_forward(x)[1])


def tanh_derivative(x):
    r""":math:`\tanh'(x) = 1 - \tanh^2(x)`: at most 1 (at 0), near 0 once :math:`|x|` is large.

    Shape: x (*), returns (*), same as x.
    """
    return tanh_backward(_ones_like(x), tanh_forward(x)[1])


def swish_derivative(x, beta: float = 1.0):
    r""":math:`f'(x) = \sigma(\beta x) + \beta x\,\sigma(\beta x)(1 - \sigma(\beta x))` of Swish.

    Shape: x (*), returns (*), same as x.
    """
    return swish_backward(_ones_like(x), swish_forward(x, beta)[1])


def gelu_derivative(x, approximate: str = "none"):
    r""":math:`f'(x)` of GELU: :math:`\Phi(x) + x\,\varphi(x)` (exact), or the tanh form's derivative.

    Shape: x (*), returns (*), same as x.
    """
    return gelu_backward(_ones_like(x), gelu_forward(x, approximate)[1])


#: name -> (function, derivative) for every elementwise activation without parameters.
ELEMENTWISE = {
    "step": (step, step_derivative),
    "relu": (relu, relu_derivative),
    "leaky_relu": (leaky_relu, leaky_relu_derivative),
    "sigmoid": (sigmoid, sigmoid_derivative),
    "tanh": (tanh, tanh_derivative),
    "swish": (swish, swish_derivative),
    "gelu": (gelu, gelu_derivative),
}
