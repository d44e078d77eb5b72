r"""Neurons, layers and the limits of linear models.

* An artificial neuron computes a weighted sum of its inputs plus a bias,
  :math:`z = w \cdot x + b`, and passes it through an activation, :math:`a = f(z)`.
* A dense layer is many neurons side by side: :math:`z = W a + b`, with
  ``W`` of shape (out, in), one row per neuron. For a batch of row vectors
  (N, in) this is :math:`Z = X W^\top + b` (see :func:`course.layers.linear`).
* An image enters a dense network flattened to a vector (an 8x8 digit gives
  64 inputs).
* The perceptron (Rosenblatt, 1958) is one neuron with a step activation and
  the update :math:`w \leftarrow w + \eta (y - \hat y) x`; it converges on any
  linearly separable problem (AND, OR) and never on XOR.
* Stacked linear layers without activations collapse to a single affine map,
  so depth alone adds no power: :func:`collapse_linear` computes it.
"""

from __future__ import annotations

import numpy as np

from ._backend import check_ndim, namespace
from .activations import relu, step

__all__ = ["neuron", "dense", "layer_shapes", "count_parameters", "Perceptron",
           "collapse_linear", "xor_network", "xor_forward"]


def neuron(x, w, b, activation=step):
    r"""One neuron: :math:`f(w \cdot x + b)`.

    Shape: ``x`` (D,) or (N, D); ``w`` (D,); ``b`` a number. Returns a number
    or (N,). ``activation=None`` returns the pre-activation :math:`z`.
    """
    check_ndim(w, "w", 1, "(D,)")
    check_ndim(x, "x", (1, 2), "(D,) or (N, D)")
    if x.shape[-1] != w.shape[0]:
        raise ValueError(f"x has {x.shape[-1]} inputs but w has {w.shape[0]} weights: "
                         f"x {tuple(x.shape)}, w {tuple(w.shape)}")
    xp = namespace(x, w)
    z = xp.asarray(xp.matmul(x, w) + b)  # a 0-d array, not a NumPy scalar, for a single x
    return z if activation is None else activation(z)


def dense(a, W, b, activation=None):
    r"""A dense layer in matrix form: :math:`f(W a + b)`.

    Shape: ``a`` (D,) a column of inputs, or (N, D) a batch of rows;
    ``W`` (H, D); ``b`` (H,). Returns (H,) or (N, H).
    """
    check_ndim(W, "W", 2, "(out, in)")
    check_ndim(a, "a", (1, 2), "(D,) or (N, D)")
    if a.shape[-1] != W.shape[1]:
        raise ValueError(f"a has {a.shape[-1]} inputs but W expects {W.shape[1]}: "
                         f"a {tuple(a.shape)}, W {tuple(W.shape)} (W is (out, in))")
    if tuple(b.shape) != (W.shape[0],):
        raise ValueError(f"b must have shape ({W.shape[0]},) to match W {tuple(W.shape)}, got {tuple(b.shape)}")
    xp = namespace(a, W, b)
    z = xp.matmul(W, a) + b if a.ndim == 1 else xp.matmul(a, W.T) + b
    return z if activation is None else activation(z)


def _check_sizes(sizes):
    sizes = list(sizes)
    if len(sizes) < 2 or any(not isinstance(s, (int, np.integer)) or s < 1 for s in sizes):
        raise ValueError(f"sizes must list at least 2 positive layer widths, got {sizes}")
    return sizes


def layer_shapes(sizes) -> list[tuple[tuple[int, int], tuple[int]]]:
    """Shapes of every layer's ``W`` and ``b`` for layer widths ``sizes``.

    ``layer_shapes([3, 4, 1]) == [((4, 3), (4,)), ((1, 4), (1,))]``.
    """
    sizes = _check_sizes(sizes)
    return [((d_out, d_in), (d_out,)) for d_in, d_out in zip(sizes[:-1], sizes[1:])]


def count_parameters(sizes) -> dict:
    """Number of weights, biases and their total for a dense network.

    ``count_parameters([3, 4, 1]) == {"weights": 16, "biases": 5, "total": 21}``.
    """
    shapes = layer_shapes(sizes)
    weights = sum(o * i for (o, i), _ in shapes)
    biases = sum(b[0] for _, b in shapes)
    return {"weights": weights, "biases": biases, "total": weights + biases}


class Perceptron:
    r"""Rosenblatt's perceptron: one step neuron trained by the perceptron rule.

    For each example, :math:`\hat y = \mathrm{step}(w\cdot x + b)` and
    :math:`w \leftarrow w + \eta\,(y - \hat y)\,x`, :math:`b \leftarrow b + \eta\,(y - \hat y)`:
    nothing changes when the prediction is right. Labels are 0 / 1.
    """

    def __init__(self, n_inputs: int, lr: float = 1.0):
        if lr <= 0:
            raise ValueError(f"Invalid learning rate: {lr}")
        self.w = np.zeros(n_inputs)
        self.b = 0.0
        self.lr = lr
        self.errors: list[int] = []

    def predict(self, X):
        return neuron(np.asarray(X, dtype=np.float64), self.w, self.b, step)

    def fit(self, X, y, max_epochs: int = 100) -> bool:
        """Run the rule until an epoch makes no mistake; return whether it converged.

        ``self.errors`` records the mistakes per epoch.
        """
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        check_ndim(X, "X", 2, "(N, D)")
        if X.shape[1] != self.w.shape[0] or y.shape != (X.shape[0],):
            raise ValueError(f"X must be (N, {self.w.shape[0]}) and y (N,), got {X.shape} and {y.shape}")
        if not np.isin(y, (0, 1)).all():
            raise ValueError("perceptron labels must be 0 or 1")
        self.errors = []
        for _ in range(max_epochs):
            mistakes = 0
            for xi, yi in zip(X, y):
                update = self.lr * (yi - float(self.predict(xi)))
                if update:
                    self.w = self.w + update * xi
                    self.b += update
                    mistakes += 1
            self.errors.append(mistakes)
            if mistakes == 0:
                return True
        return False


def collapse_linear(weights, biases):
    r"""The single affine map equal to a stack of linear layers.

    :math:`W_2(W_1 x + b_1) + b_2 = (W_2 W_1) x + (W_2 b_1 + b_2)`, and so on:
    returns ``(W, b)`` with ``W = W_L ... W_1``. ``weights[i]`` is (out, in).
    """
    weights, biases = list(weights), list(biases)
    if not weights or len(weights) != len(biases):
        raise ValueError(f"need one bias per weight matrix, got {len(weights)} weights and {len(biases)} biases")
    W, b = weights[0], biases[0]
    xp = namespace(W)
    for i, (Wi, bi) in enumerate(zip(weights[1:], biases[1:]), start=1):
        if Wi.shape[1] != W.shape[0]:
            raise ValueError(f"layer {i} expects {Wi.shape[1]} inputs but layer {i - 1} gives {W.shape[0]}")
        W = xp.matmul(Wi, W)
        b = xp.matmul(Wi, b) + bi
    return W, b


def xor_network():
    """Hand-picked weights of a 2-2-1 network that computes XOR.

    Hidden unit 1 fires for "x1 OR x2" (with ReLU: x1 + x2), unit 2 for
    "x1 AND x2" (x1 + x2 - 1); the output subtracts twice the AND from the OR:
    ``y = h1 - 2 h2``, which is 0, 1, 1, 0 on the four corners.
    Returns ``(W1, b1, W2, b2)``.
    """
    W1 = np.array([[1.0, 1.0], [1.0, 1.0]])
    b1 = np.array([0.0, -1.0])
    W2 = np.array([[1.0, -2.0]])
    b2 = np.array([0.0])
    return W1, b1, W2, b2


def xor_forward(X, params=None):
    """Run the 2-2-1 ReLU network of :func:`xor_network` on ``X`` (N, 2); returns (N,)."""
    W1, b1, W2, b2 = params if params is not None else xor_network()
    h = relu(dense(X, W1, b1))
    return dense(h, W2, b2)[:, 0]
