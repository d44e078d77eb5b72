r"""Loss functions and their gradients with respect to the predictions.

Each loss ``L`` comes as ``L(pred, target, ...)``, ``L_forward(...) -> (loss, cache)``
and ``L_backward(dout, cache) -> dpred`` (the gradient for the predictions
only; targets are data, not parameters). Pass ``dout=1.0`` for the gradient
of the loss itself.

``reduction`` is ``"mean"`` (default, as in PyTorch), ``"sum"`` or ``"none"``.
With ``"mean"`` the loss is averaged over every element (MSE, MAE, BCE) or
over the batch (cross-entropy), which is where the :math:`1/N` in each
gradient comes from: for MSE, :math:`\partial L / \partial \hat y_i = 2(\hat y_i - y_i)/N`,
one number per prediction (not a single summed number).

Names and semantics follow ``torch.nn.functional`` (``mse_loss``, ``l1_loss``,
``cross_entropy``, ``nll_loss``, ``binary_cross_entropy``,
``binary_cross_entropy_with_logits``).
"""

from __future__ import annotations

from ._backend import check_array, check_ndim, check_same_shape, device, namespace
from .activations import log_softmax_forward, sigmoid

__all__ = [
    "mse", "mse_forward", "mse_backward",
    "mae", "mae_forward", "mae_backward",
    "cross_entropy", "cross_entropy_forward", "cross_entropy_backward",
    "nll_loss", "nll_loss_forward", "nll_loss_backward",
    "cross_entropy_from_probs", "cross_entropy_from_probs_forward",
    "cross_entropy_from_probs_backward",
    "binary_cross_entropy", "binary_cross_entropy_forward", "binary_cross_entropy_backward",
    "binary_cross_entropy_with_logits", "binary_cross_entropy_with_logits_forward",
    "binary_cross_entropy_with_logits_backward",
    "one_hot",
]

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _reduce(values, reduction, count):
    xp = namespace(values)
    if reduction == "none":
        return values
    total = xp.sum(values)
    # a 0-d array (not a NumPy scalar), so the result is the input's kind of array
    return xp.asarray(total / count if reduction == "mean" else total)


def _scale(reduction, count):
    return 1.0 / count if reduction == "mean" else 1.0


def _elementwise_loss_forward(pred, target, reduction, per_element, grad):
    check_same_shape(pred, target, "pred", "target")
    _check_reduction(reduction)
    n = 1
    for s in pred.shape:
        n *= s
    values = per_element(pred, target)
    return _reduce(values, reduction, n), (grad(pred, target), reduction, n)


def _elementwise_loss_backward(dout, cache):
    g, reduction, n = cache
    return dout * g * _scale(reduction, n)


# ---------------------------------------------------------------------------
# regression losses
# ---------------------------------------------------------------------------

def mse_forward(pred, target, reduction: str = "mean"):
    r"""Mean squared error :math:`\frac1N\sum_i (\hat y_i - y_i)^2` (``F.mse_loss``).

    Gradient: :math:`\partial L/\partial \hat y_i = 2(\hat y_i - y_i)/N`.
    Shape: ``pred`` and ``target`` share any shape; no broadcasting.
    """
    return _elementwise_loss_forward(
        pred, target, reduction,
        lambda p, t: (p - t) * (p - t),
        lambda p, t: 2.0 * (p - t),
    )


def mse_backward(dout, cache):
    r"""Gradient of :func:`mse_forward` for ``pred``.

    :math:`d\hat y_i = dout \cdot 2(\hat y_i - y_i)/N` for ``reduction="mean"``
    (N = number of elements of ``pred``), :math:`dout \cdot 2(\hat y_i - y_i)`
    for ``"sum"``, and :math:`dout_i \cdot 2(\hat y_i - y_i)` for ``"none"``.

    Shape: ``dout`` is the upstream gradient of the loss: a number or shape ()
    for ``"mean"`` / ``"sum"`` (1.0 for the loss itself), the shape of
    ``pred`` (*) for ``"none"``. Returns ``dpred`` (*), the shape of ``pred``.
    """
    return _elementwise_loss_backward(dout, cache)


def mse(pred, target, reduction: str = "mean"):
    """The mean squared error between ``pred`` and ``target`` (``F.mse_loss``).

    See :func:`mse_forward` for the formula and :func:`mse_backward` for the gradient.

    Shape: pred (*), target (*), same shape -> () for ``reduction="mean"`` or
    ``"sum"``, (*) for ``"none"``.
    """
    return mse_forward(pred, target, reduction)[0]


def mae_forward(pred, target, reduction: str = "mean"):
    r"""Mean absolute error :math:`\frac1N\sum_i |\hat y_i - y_i|` (``F.l1_loss``).

    Gradient: :math:`\mathrm{sign}(\hat y_i - y_i)/N` (0 where they are equal).
    Less sensitive to outliers than MSE: every error pulls with the same force.
    """
    def grad(p, t):
        return namespace(p).sign(p - t)

    return _elementwise_loss_forward(
        pred, target, reduction, lambda p, t: namespace(p).abs(p - t), grad
    )


def mae_backward(dout, cache):
    r"""Gradient of :func:`mae_forward` for ``pred``.

    :math:`d\hat y_i = dout \cdot \mathrm{sign}(\hat y_i - y_i)/N` for
    ``reduction="mean"`` (N = number of elements), without the :math:`1/N`
    for ``"sum"``, with :math:`dout_i` per element for ``"none"``; 0 where
    :math:`\hat y_i = y_i` (as PyTorch).

    Shape: ``dout`` is the upstream gradient of the loss: a number or shape ()
    for ``"mean"`` / ``"sum"``, the shape of ``pred`` (*) for ``"none"``.
    Returns ``dpred`` (*), the shape of ``pred``.
    """
    return _elementwise_loss_backward(dout, cache)


def mae(pred, target, reduction: str = "mean"):
    """The mean absolute error between ``pred`` and ``target`` (``F.l1_loss``).

    See :func:`mae_forward` for the formula and :func:`mae_backward` for the gradient.

    Shape: pred (*), target (*), same shape -> () for ``reduction="mean"`` or
    ``"sum"``, (*) for ``"none"``.
    """
    return mae_forward(pred, target, reduction)[0]


# ---------------------------------------------------------------------------
# classification: cross-entropy from logits, NLL, and from probabilities
# ---------------------------------------------------------------------------

def one_hot(target, num_classes: int, dtype=None):
    """One-hot rows (..., C) for integer class labels of shape (...,).

    ``dtype`` defaults to float64; the result is on the device of ``target``.
    """
    check_array(target, "target")
    xp = namespace(target)
    classes = xp.arange(num_classes, device=device(target))
    hot = target[..., None] == classes
    return xp.astype(hot, dtype if dtype is not None else xp.float64)


def _class_targets(logits, target, name="logits"):
    """Validate (N, C) scores against targets; return (one-hot or soft targets, N)."""
    check_ndim(logits, name, (1, 2), "(N, C) or (C,)")
    check_array(target, "target")
    xp = namespace(logits, target)
    if logits.ndim == 1:
        logits = logits[None, :]
        target = target[None] if target.ndim == 0 else target[None, :]
    n, c = logits.shape
    if xp.isdtype(target.dtype, "integral"):
        if tuple(target.shape) != (n,):
            raise ValueError(
                f"class-index target must have shape (N,) = ({n},) to match {name} "
                f"of shape {(n, c)}, got target of shape {tuple(target.shape)}"
            )
        if n and (int(xp.min(target)) < 0 or int(xp.max(target)) >= c):
            raise ValueError(
                f"target holds class indices outside [0, {c - 1}] "
                f"(min {int(xp.min(target))}, max {int(xp.max(target))}) for {c} classes"
            )
        classes = xp.arange(c, device=device(logits))
        soft = xp.astype(target[:, None] == classes[None, :], logits.dtype)
    elif xp.isdtype(target.dtype, "real floating"):
        if tuple(target.shape) != (n, c):
            raise ValueError(
                f"probability target must have the shape of {name} {(n, c)}, "
                f"got target of shape {tuple(target.shape)}"
            )
        soft = target
    else:
        raise TypeError(f"target must hold integer class indices or float probabilities, "
                        f"got dtype {target.dtype}")
    return logits, soft, n, c


def cross_entropy_forward(logits, target, reduction: str = "mean",
                          label_smoothing: float = 0.0):
    r"""Cross-entropy between raw scores and classes (``F.cross_entropy``).

    :math:`L_n = -\sum_c q_{nc} \log \mathrm{softmax}(z_n)_c` where :math:`q_n`
    is the one-hot row of the class ``target[n]`` (or, for a float ``target`` of
    shape (N, C), the given probabilities). ``label_smoothing`` = ε mixes
    :math:`q` with the uniform distribution: :math:`(1-\varepsilon) q + \varepsilon / C`.

    Stability: uses log-softmax (log-sum-exp with the maximum subtracted), so
    logits of ±1000 give finite, exact losses. Pass *logits*: applying softmax
    first and then this loss is the "double softmax" mistake.

    Gradient: :math:`\partial L/\partial z_n = (\mathrm{softmax}(z_n) - q_n)/N`
    for ``reduction="mean"``, where N is the batch size.

    Shape: ``logits`` (N, C) or (C,); ``target`` (N,) integers in [0, C) or
    (N, C) floats. Returns a scalar, or (N,) with ``reduction="none"``.
    """
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    check_array(logits, "logits")
    squeeze = logits.ndim == 1
    z, q, n, c = _class_targets(logits, target)
    if label_smoothing:
        q = q * (1.0 - label_smoothing) + label_smoothing / c
    xp = namespace(z)
    logp, _ = log_softmax_forward(z, axis=-1)
    per_row = -xp.sum(q * logp, axis=-1)
    if squeeze and reduction == "none":
        per_row = xp.reshape(per_row, ())  # a 0-d array, not a NumPy scalar
    return _reduce(per_row, reduction, n), (logp, q, reduction, n, squeeze)


def cross_entropy_backward(dout, cache):
    r"""Gradient of :func:`cross_entropy_forward` for ``logits``.

    :math:`dz_n = \left(\mathrm{softmax}(z_n) \textstyle\sum_c q_{nc} - q_n\right) \cdot dout / N`
    for ``reduction="mean"`` (N = batch size), where :math:`q_n` is the target
    row used by the forward (one-hot of the class, or the given probabilities,
    after ``label_smoothing``). For targets that sum to 1 this is the familiar
    :math:`(\mathrm{softmax}(z_n) - q_n)/N`. ``"sum"`` drops the :math:`1/N`;
    ``"none"`` multiplies row n by :math:`dout_n`.

    Shape: ``dout`` is the upstream gradient of the loss: a number or shape ()
    for ``"mean"`` / ``"sum"``, (N,) for ``"none"`` (shape () when ``logits``
    was (C,)). Returns ``dlogits`` (N, C), or (C,), the shape of ``logits``.
    """
    logp, q, reduction, n, squeeze = cache
    xp = namespace(logp)
    # sum of q per row is 1 for valid targets; keep it general for soft targets
    g = xp.exp(logp) * xp.sum(q, axis=-1, keepdims=True) - q
    return _rows_backward(g, dout, reduction, n, squeeze)


def cross_entropy(logits, target, reduction: str = "mean", label_smoothing: float = 0.0):
    """Cross-entropy between raw scores ``logits`` and the targets (``F.cross_entropy``).

    See :func:`cross_entropy_forward` for the formula, label smoothing and stability.

    Shape: logits (N, C) or (C,), target (N,) integer classes or (N, C)
    probabilities -> () for ``reduction="mean"`` or ``"sum"``, (N,) for
    ``"none"`` (() for logits (C,)).
    """
    return cross_entropy_forward(logits, target, reduction, label_smoothing)[0]


def nll_loss_forward(log_probs, target, reduction: str = "mean"):
    r"""Negative log-likelihood of the target class: :math:`-\log p_{n, y_n}` (``F.nll_loss``).

    ``cross_entropy(z, y) == nll_loss(log_softmax(z), y)``.
    Gradient: :math:`-1/N` at each target entry, 0 elsewhere.
    Shape: ``log_probs`` (N, C) or (C,); ``target`` (N,) integers (or one, for (C,)).
    """
    _check_reduction(reduction)
    check_array(target, "target")
    xp = namespace(log_probs, target)
    if not xp.isdtype(target.dtype, "integral"):
        raise TypeError(f"nll_loss needs integer class indices as target, got dtype {target.dtype}")
    squeeze = log_probs.ndim == 1
    lp, q, n, _ = _class_targets(log_probs, target, "log_probs")
    per_row = -xp.sum(q * lp, axis=-1)
    if squeeze and reduction == "none":
        per_row = xp.reshape(per_row, ())
    return _reduce(per_row, reduction, n), (q, reduction, n, squeeze)


def nll_loss_backward(dout, cache):
    r"""Gradient of :func:`nll_loss_forward` for ``log_probs``.

    :math:`d\log p_{nc} = -dout/N` at the target entry :math:`c = y_n` and 0
    elsewhere for ``reduction="mean"`` (N = batch size); ``"sum"`` drops the
    :math:`1/N`; ``"none"`` gives :math:`-dout_n` in row n.

    Shape: ``dout`` is the upstream gradient of the loss: a number or shape ()
    for ``"mean"`` / ``"sum"``, (N,) for ``"none"`` (() for a single row).
    Returns ``dlog_probs`` (N, C) or (C,), the shape of ``log_probs``.
    """
    q, reduction, n, squeeze = cache
    return _rows_backward(-q, dout, reduction, n, squeeze)


def nll_loss(log_probs, target, reduction: str = "mean"):
    """Negative log-likelihood of the target classes given log-probabilities (``F.nll_loss``).

    See :func:`nll_loss_forward` for the formula.

    Shape: log_probs (N, C) or (C,), target (N,) integers -> () for
    ``reduction="mean"`` or ``"sum"``, (N,) for ``"none"``.
    """
    return nll_loss_forward(log_probs, target, reduction)[0]


def cross_entropy_from_probs_forward(probs, target, reduction: str = "mean",
                                     eps: float = 1e-12):
    r"""Cross-entropy from probabilities: :math:`-\log \max(p_{n, y_n}, \varepsilon)`.

    The textbook form, for a model whose last layer already applied softmax.
    ``eps`` keeps :math:`\log 0` finite. Prefer :func:`cross_entropy` on logits:
    it is exact where this one must clip, and its gradient never explodes.
    Gradient: :math:`-1/(N p_{n,y_n})` at the target entry (0 where clipped).
    """
    _check_reduction(reduction)
    xp = namespace(probs, target)
    check_array(probs, "probs")
    squeeze = probs.ndim == 1
    p, q, n, _ = _class_targets(probs, target, "probs")
    clipped = xp.clip(p, eps, None)
    per_row = -xp.sum(q * xp.log(clipped), axis=-1)
    if squeeze and reduction == "none":
        per_row = xp.reshape(per_row, ())
    return _reduce(per_row, reduction, n), (p, q, eps, reduction, n, squeeze)


def cross_entropy_from_probs_backward(dout, cache):
    r"""Gradient of :func:`cross_entropy_from_probs_forward` for ``probs``.

    :math:`dp_{nc} = -q_{nc} / p_{nc} \cdot dout / N` for ``reduction="mean"``
    (N = batch size; :math:`q_n` the one-hot target row, or the given target
    probabilities), and 0 wherever :math:`p_{nc} \le \varepsilon` (there the
    forward clipped the probability to ``eps``). ``"sum"`` drops the
    :math:`1/N`; ``"none"`` multiplies row n by :math:`dout_n`.

    Shape: ``dout`` is the upstream gradient of the loss: a number or shape ()
    for ``"mean"`` / ``"sum"``, (N,) for ``"none"`` (() for a single row).
    Returns ``dprobs`` (N, C) or (C,), the shape of ``probs``.
    """
    p, q, eps, reduction, n, squeeze = cache
    xp = namespace(p)
    g = xp.where(p > eps, -q / xp.where(p > eps, p, xp.ones_like(p)), xp.zeros_like(p))
    return _rows_backward(g, dout, reduction, n, squeeze)


def _rows_backward(g, dout, reduction, n, squeeze):
    """Scale per-row gradients ``g`` (N, C) by ``dout``; back to (C,) for a single row of scores."""
    xp = namespace(g)
    if reduction == "none":
        d = xp.reshape(xp.asarray(dout), (1,)) if squeeze else dout
        g = g * d[:, None]
    else:
        g = g * (dout * _scale(reduction, n))
    return g[0] if squeeze else g


def cross_entropy_from_probs(probs, target, reduction: str = "mean", eps: float = 1e-12):
    """Cross-entropy computed from probabilities (the textbook form, clipped at ``eps``).

    See :func:`cross_entropy_from_probs_forward` for the formula and why
    :func:`cross_entropy` on logits is preferred.

    Shape: probs (N, C) or (C,), target (N,) integer classes or (N, C) probabilities
    -> () for ``reduction="mean"`` or ``"sum"``, (N,) for ``"none"``.
    """
    return cross_entropy_from_probs_forward(probs, target, reduction, eps)[0]


# ---------------------------------------------------------------------------
# binary cross-entropy
# ---------------------------------------------------------------------------

def binary_cross_entropy_forward(probs, target, reduction: str = "mean"):
    r"""BCE from probabilities: :math:`-[y \log p + (1-y)\log(1-p)]` (``F.binary_cross_entropy``).

    As in PyTorch, each log is clamped at -100 so :math:`p = 0` or 1 gives a
    large finite loss rather than ``inf``, and the gradient
    :math:`(p - y) / (p(1-p))` uses :math:`\max(p(1-p), 10^{-12})`.
    ``probs`` must lie in [0, 1]. For raw scores use the ``_with_logits`` form.
    For multi-label outputs apply one sigmoid per label: the probabilities need
    not sum to 1 (only softmax outputs do).
    """
    check_same_shape(probs, target, "probs", "target")
    _check_reduction(reduction)
    xp = namespace(probs, target)
    if probs.shape and (bool(xp.any(probs < 0)) or bool(xp.any(probs > 1))):
        raise ValueError(
            "probs must lie in [0, 1] - help: pass sigmoid(logits), or use "
            "binary_cross_entropy_with_logits on raw scores"
        )
    n = 1
    for s in probs.shape:
        n *= s
    # log(0) is -inf; compute it where safe only and clamp as PyTorch does
    safe_p = xp.where(probs > 0, probs, xp.ones_like(probs))
    safe_q = xp.where(probs < 1, 1.0 - probs, xp.ones_like(probs))
    log_p = xp.where(probs > 0, xp.clip(xp.log(safe_p), -100.0, None), xp.full_like(probs, -100.0))
    log_q = xp.where(probs < 1, xp.clip(xp.log(safe_q), -100.0, None), xp.full_like(probs, -100.0))
    values = -(target * log_p + (1.0 - target) * log_q)
    return _reduce(values, reduction, n), (probs, target, reduction, n)


def binary_cross_entropy_backward(dout, cache):
    r"""Gradient of :func:`binary_cross_entropy_forward` for ``probs``.

    :math:`dp_i = dout \cdot (p_i - y_i) / \max(p_i(1 - p_i), 10^{-12}) / N`
    for ``reduction="mean"`` (N = number of elements), as in PyTorch;
    ``"sum"`` drops the :math:`1/N`; ``"none"`` uses :math:`dout_i` per element.

    Shape: ``dout`` is the upstream gradient of the loss: a number or shape ()
    for ``"mean"`` / ``"sum"``, the shape of ``probs`` (*) for ``"none"``.
    Returns ``dprobs`` (*), the shape of ``probs``.
    """
    p, y, reduction, n = cache
    xp = namespace(p)
    denom = xp.clip(p * (1.0 - p), 1e-12, None)
    return dout * (p - y) / denom * _scale(reduction, n)


def binary_cross_entropy(probs, target, reduction: str = "mean"):
    """Binary cross-entropy between probabilities ``probs`` and targets (``F.binary_cross_entropy``).

    See :func:`binary_cross_entropy_forward` for the formula and the clamping of the logs.

    Shape: probs (*), target (*), same shape -> () for ``reduction="mean"``
    or ``"sum"``, (*) for ``"none"``.
    """
    return binary_cross_entropy_forward(probs, target, reduction)[0]


def binary_cross_entropy_with_logits_forward(logits, target, reduction: str = "mean"):
    r"""BCE from raw scores ``z`` (``F.binary_cross_entropy_with_logits``).

    Stability: :math:`\ell = \max(z, 0) - z y + \log(1 + e^{-|z|})`, which is
    the BCE of :math:`\sigma(z)` rewritten so no exponent is positive; finite
    and exact for :math:`z = \pm 1000`. Gradient: :math:`(\sigma(z) - y)/N`.
    """
    check_same_shape(logits, target, "logits", "target")
    _check_reduction(reduction)
    xp = namespace(logits, target)
    n = 1
    for s in logits.shape:
        n *= s
    values = xp.clip(logits, 0.0, None) - logits * target + xp.log1p(xp.exp(-xp.abs(logits)))
    return _reduce(values, reduction, n), (logits, target, reduction, n)


def binary_cross_entropy_with_logits_backward(dout, cache):
    r"""Gradient of :func:`binary_cross_entropy_with_logits_forward` for ``logits``.

    :math:`dz_i = dout \cdot (\sigma(z_i) - y_i) / N` for ``reduction="mean"``
    (N = number of elements); ``"sum"`` drops the :math:`1/N`; ``"none"`` uses
    :math:`dout_i` per element.

    Shape: ``dout`` is the upstream gradient of the loss: a number or shape ()
    for ``"mean"`` / ``"sum"``, the shape of ``logits`` (*) for ``"none"``.
    Returns ``dlogits`` (*), the shape of ``logits``.
    """
    z, y, reduction, n = cache
    return dout * (sigmoid(z) - y) * _scale(reduction, n)


def binary_cross_entropy_with_logits(logits, target, reduction: str = "mean"):
    r"""Binary cross-entropy of :math:`\sigma(z)` computed from raw scores ``logits``, stably.

    See :func:`binary_cross_entropy_with_logits_forward` for the formula and stability note.

    Shape: logits (*), target (*), same shape -> () for ``reduction="mean"``
    or ``"sum"``, (*) for ``"none"``.
    """
    return binary_cross_entropy_with_logits_forward(logits, target, reduction)[0]
