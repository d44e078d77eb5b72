r"""Regularization: penalties, early stopping, gradient clipping, max-norm,
label smoothing and data augmentation for image batches.

Dropout and batch normalization live in :mod:`course.layers` (functions) and
:mod:`course.nn` (modules); decoupled weight decay lives in
:class:`course.optim.AdamW`.

L2 penalty vs weight decay: adding :math:`\tfrac{\lambda}{2}\lVert\theta\rVert^2`
to the loss adds :math:`\lambda\theta` to the gradient. Under plain SGD that is
exactly weight decay (:math:`\theta \leftarrow \theta - \eta\lambda\theta`); under
Adam it is not, because Adam divides the whole gradient, the penalty term
included, by :math:`\sqrt{\hat v}` (see AdamW).
"""

from __future__ import annotations

import math

import numpy as np

from ._backend import check_ndim, device, namespace

__all__ = [
    "l1_penalty", "l1_penalty_forward", "l1_penalty_backward",
    "l2_penalty", "l2_penalty_forward", "l2_penalty_backward",
    "add_penalty_gradients", "EarlyStopping", "clip_grad_norm", "clip_grad_value",
    "max_norm_", "smooth_labels", "random_flip", "random_rotation", "rotate", "random_crop", "augment",
]


def l1_penalty_forward(weights, lam: float):
    r"""L1 penalty :math:`\lambda \sum_i |w_i|` over a list of arrays.

    Gradient :math:`\lambda\,\mathrm{sign}(w)`: a constant pull towards 0 that
    drives small weights to exactly zero (sparse models).
    Returns ``(value, cache)``; backward returns one gradient per array.
    """
    if lam < 0:
        raise ValueError(f"Invalid penalty strength lam: {lam} (must be non-negative)")
    weights = list(weights)
    value = sum(namespace(w).sum(namespace(w).abs(w)) for w in weights) * lam
    return value, (weights, lam)


def l1_penalty_backward(dout, cache):
    r"""Gradients of :func:`l1_penalty_forward`, one per array of ``weights``, in order.

    :math:`dw_k = dout \cdot \lambda\,\mathrm{sign}(w_k)` (0 where :math:`w_k = 0`).

    Shape: ``dout`` a number or shape () (1.0 for the penalty itself); returns
    a tuple ``(dw_1, dw_2, ...)``, each with the shape of its array.
    """
    weights, lam = cache
    return tuple(dout * lam * namespace(w).sign(w) for w in weights)


def l1_penalty(weights, lam: float):
    r"""The L1 penalty :math:`\lambda \sum_i |w_i|` summed over every array of ``weights``.

    See :func:`l1_penalty_forward` for the formula and its gradient.

    Shape: weights a list of arrays of any shapes -> () (one number).
    """
    return l1_penalty_forward(weights, lam)[0]


def l2_penalty_forward(weights, lam: float):
    r"""L2 penalty :math:`\tfrac{\lambda}{2}\sum_i w_i^2`; gradient :math:`\lambda w`.

    The :math:`\tfrac12` makes the gradient :math:`\lambda w`, so ``lam`` plays
    the same role as ``weight_decay`` in :class:`course.optim.SGD`.
    """
    if lam < 0:
        raise ValueError(f"Invalid penalty strength lam: {lam} (must be non-negative)")
    weights = list(weights)
    value = sum(namespace(w).sum(w * w) for w in weights) * (lam / 2.0)
    return value, (weights, lam)


def l2_penalty_backward(dout, cache):
    r"""Gradients of :func:`l2_penalty_forward`, one per array of ``weights``, in order.

    :math:`dw_k = dout \cdot \lambda\,w_k`.

    Shape: ``dout`` a number or shape () (1.0 for the penalty itself); returns
    a tuple ``(dw_1, dw_2, ...)``, each with the shape of its array.
    """
    weights, lam = cache
    return tuple(dout * lam * w for w in weights)


def l2_penalty(weights, lam: float):
    r"""The L2 penalty :math:`\tfrac{\lambda}{2} \sum_i w_i^2` summed over every array of ``weights``.

    See :func:`l2_penalty_forward` for the formula and its gradient.

    Shape: weights a list of arrays of any shapes -> () (one number).
    """
    return l2_penalty_forward(weights, lam)[0]


def add_penalty_gradients(params, lam: float, kind: str = "l2") -> float:
    """Add the L1 or L2 penalty's gradient to every parameter's ``.grad``; return the penalty."""
    params = [p for p in params if p.grad is not None]
    fwd, bwd = {"l1": (l1_penalty_forward, l1_penalty_backward),
                "l2": (l2_penalty_forward, l2_penalty_backward)}.get(kind, (None, None))
    if fwd is None:
        raise ValueError(f"kind must be 'l1' or 'l2', got {kind!r}")
    value, cache = fwd([p.data for p in params], lam)
    for p, g in zip(params, bwd(1.0, cache)):
        p.grad = p.grad + g
    return float(value) if params else 0.0


class EarlyStopping:
    """Stop when the validation loss has not improved for ``patience`` epochs.

    ``step(val_loss, model)`` returns True when training should stop. An
    improvement must beat the best loss by more than ``min_delta``. With
    ``restore_best=True`` the best model's state is kept and
    ``restore(model)`` puts it back.
    """

    def __init__(self, patience: int = 5, min_delta: float = 0.0, restore_best: bool = True):
        if patience < 0:
            raise ValueError(f"Invalid patience: {patience} (must be >= 0)")
        self.patience, self.min_delta, self.restore_best = patience, min_delta, restore_best
        self.best = math.inf
        self.best_epoch = -1
        self.epoch = -1
        self.bad_epochs = 0
        self.best_state = None
        self.stopped = False

    def step(self, val_loss: float, model=None) -> bool:
        val_loss = float(val_loss)
        if math.isnan(val_loss):
            raise ValueError("validation loss is NaN - help: lower the learning rate")
        self.epoch += 1
        if val_loss < self.best - self.min_delta:
            self.best, self.best_epoch, self.bad_epochs = val_loss, self.epoch, 0
            if self.restore_best and model is not None:
                self.best_state = model.state_dict()
        else:
            self.bad_epochs += 1
        self.stopped = self.bad_epochs > self.patience
        return self.stopped

    def restore(self, model) -> None:
        if self.best_state is not None:
            model.load_state_dict(self.best_state)


def clip_grad_norm(params, max_norm: float, norm_type: float = 2.0) -> float:
    r"""Rescale all gradients together so their joint norm is at most ``max_norm``.

    Like ``torch.nn.utils.clip_grad_norm_``: the total norm is taken over all
    gradients as if concatenated; when it exceeds ``max_norm`` every gradient is
    multiplied by ``max_norm / (total + 1e-6)``. Returns the norm before
    clipping. The direction is kept; only the step length shrinks, which tames
    exploding gradients.
    """
    params = [p for p in params if p.grad is not None]
    if not params:
        return 0.0
    if norm_type == math.inf:
        total = max(float(namespace(p.grad).max(namespace(p.grad).abs(p.grad))) for p in params)
    else:
        total = sum(float(namespace(p.grad).sum(namespace(p.grad).abs(p.grad) ** norm_type))
                    for p in params) ** (1.0 / norm_type)
    coef = max_norm / (total + 1e-6)
    if coef < 1.0:
        for p in params:
            p.grad = p.grad * coef
    return total


def clip_grad_value(params, clip_value: float) -> None:
    """Clamp every gradient entry to ``[-clip_value, clip_value]``."""
    for p in params:
        if p.grad is not None:
            p.grad = namespace(p.grad).clip(p.grad, -clip_value, clip_value)


def max_norm_(param, max_norm: float, axis: int = 1) -> None:
    r"""Max-norm constraint: rescale each row of a (out, in) weight so that
    :math:`\lVert w_j \rVert_2 \le` ``max_norm`` (Srebro et al.; used with dropout).
    Applied after each optimizer step. Works in place on ``param.data``.
    """
    w = param.data
    xp = namespace(w)
    norms = xp.sqrt(xp.sum(w * w, axis=axis, keepdims=True))
    scale = xp.where(norms > max_norm, max_norm / xp.where(norms > 0, norms, xp.ones_like(norms)),
                     xp.ones_like(norms))
    param.data = w * scale


def smooth_labels(target, num_classes: int, smoothing: float = 0.1, dtype=None):
    r"""Label smoothing: one-hot targets mixed with the uniform distribution,
    :math:`(1-\varepsilon)\,\text{onehot}(y) + \varepsilon / C`.

    The model is no longer pushed to make its logits infinitely confident,
    which tends to improve calibration. ``cross_entropy(z, smooth_labels(y, C, ε))``
    equals ``cross_entropy(z, y, label_smoothing=ε)``.
    """
    if not 0.0 <= smoothing <= 1.0:
        raise ValueError(f"smoothing must be in [0, 1], got {smoothing}")
    xp = namespace(target)
    classes = xp.arange(num_classes, device=device(target))
    hot = xp.astype(target[..., None] == classes, dtype if dtype is not None else xp.float64)
    return hot * (1.0 - smoothing) + smoothing / num_classes


# ---------------------------------------------------------------------------
# data augmentation for image batches (N, C, H, W)
# ---------------------------------------------------------------------------

def _rng(rng):
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def random_flip(images, p: float = 0.5, horizontal: bool = True, rng=None):
    """Mirror each image left-right (or top-bottom) with probability ``p``."""
    check_ndim(images, "images", 4, "(N, C, H, W)")
    xp = namespace(images)
    flip = _rng(rng).random(images.shape[0]) < p
    axis = 3 if horizontal else 2
    mask = xp.asarray(flip, device=device(images))[:, None, None, None]
    return xp.where(mask, xp.flip(images, axis=axis), images)


def random_rotation(images, degrees: float = 15.0, rng=None, fill: float = 0.0):
    r"""Rotate each image by an angle drawn from :math:`U(-\text{degrees}, \text{degrees})`."""
    check_ndim(images, "images", 4, "(N, C, H, W)")
    return rotate(images, _rng(rng).uniform(-degrees, degrees, size=images.shape[0]), fill)


def rotate(images, angles, fill: float = 0.0):
    """Rotate image k of the batch by ``angles[k]`` degrees (counter-clockwise).

    Rotation is about the image centre with bilinear interpolation; pixels that
    come from outside the image get ``fill``.
    """
    check_ndim(images, "images", 4, "(N, C, H, W)")
    xp = namespace(images)
    n, c, h, w = images.shape
    angles = np.deg2rad(np.broadcast_to(np.asarray(angles, dtype=np.float64), (n,)))
    ys, xs = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    flat = xp.reshape(images, (n, c, h * w))
    out = []
    for k in range(n):
        cos, sin = math.cos(angles[k]), math.sin(angles[k])
        # inverse map: for each output pixel, where in the input does it come from?
        # (rows grow downwards, so this is counter-clockwise as displayed)
        sx = cos * (xs - cx) - sin * (ys - cy) + cx
        sy = sin * (xs - cx) + cos * (ys - cy) + cy
        x0, y0 = np.floor(sx), np.floor(sy)
        acc = xp.zeros((c, h * w), dtype=images.dtype, device=device(images))
        coverage = np.zeros(h * w)
        for dy in (0, 1):
            for dx in (0, 1):
                xi, yi = x0 + dx, y0 + dy
                wgt = (1 - np.abs(sx - xi)) * (1 - np.abs(sy - yi))
                inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
                idx = np.where(inside, yi * w + xi, 0).astype(np.int64).reshape(-1)
                wgt = np.where(inside, wgt, 0.0).reshape(-1)
                coverage += wgt
                vals = xp.take(flat[k], xp.asarray(idx, device=device(images)), axis=1)
                acc = acc + vals * xp.asarray(wgt, dtype=images.dtype, device=device(images))
        if fill:
            acc = acc + fill * xp.asarray(1.0 - coverage, dtype=images.dtype, device=device(images))
        out.append(xp.reshape(acc, (c, h, w)))
    return xp.stack(out, axis=0)


def random_crop(images, size, padding: int = 0, rng=None):
    """Cut a random ``size`` (h, w) window from each image, after zero ``padding``.

    With ``padding`` = p and ``size`` equal to the image size this is the
    classic "pad and crop" shift of up to p pixels.
    """
    check_ndim(images, "images", 4, "(N, C, H, W)")
    xp = namespace(images)
    ch, cw = (size, size) if isinstance(size, int) else tuple(size)
    n, c, h, w = images.shape
    if padding:
        padded = xp.zeros((n, c, h + 2 * padding, w + 2 * padding), dtype=images.dtype, device=device(images))
        padded[:, :, padding:padding + h, padding:padding + w] = images
    else:
        padded = images
    ph, pw = padded.shape[2], padded.shape[3]
    if ch > ph or cw > pw:
        raise ValueError(f"crop size {(ch, cw)} is larger than the padded image {(ph, pw)}")
    g = _rng(rng)
    tops = g.integers(0, ph - ch + 1, size=n)
    lefts = g.integers(0, pw - cw + 1, size=n)
    crops = [padded[k, :, int(t):int(t) + ch, int(l):int(l) + cw] for k, (t, l) in enumerate(zip(tops, lefts))]
    return xp.stack(crops, axis=0)


def augment(images, rng=None, flip: bool = True, degrees: float = 10.0, crop_padding: int = 1):
    """Flip, rotate and shift a batch in one go (what the chapters use on digits)."""
    g = _rng(rng)
    out = images
    if flip:
        out = random_flip(out, rng=g)
    if degrees:
        out = random_rotation(out, degrees, rng=g)
    if crop_padding:
        out = random_crop(out, tuple(images.shape[2:]), padding=crop_padding, rng=g)
    return out

