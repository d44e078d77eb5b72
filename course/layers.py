r"""Layers as functions: forward and backward side by side, joined by a cache.

Each layer ``op`` has ``op(...) -> out``, ``op_forward(...) -> (out, cache)`` and
``op_backward(dout, cache)``. The backward returns one gradient per
*differentiable* array argument, in order: a tuple when there are several
(``linear_backward -> (dx, dweight, dbias)``), the array itself when there is
one (``flatten_backward -> dx``). Buffers (batch norm's running statistics),
masks and integer indices get no gradient; a ``None`` bias gets ``None``.

Shapes use N batch, C channels, H x W image size, D input features, F filters
or output features, T time steps, L / S query / key lengths, E embedding size.
Semantics, argument names and defaults follow ``torch.nn.functional``.
"""

from __future__ import annotations

import numpy as np

from ._backend import check_array, check_ndim, check_probability, device, is_torch, namespace, pair
from .activations import softmax_backward, softmax_forward

__all__ = [
    "linear", "linear_forward", "linear_backward",
    "conv2d", "conv2d_forward", "conv2d_backward",
    "max_pool2d", "max_pool2d_forward", "max_pool2d_backward",
    "avg_pool2d", "avg_pool2d_forward", "avg_pool2d_backward",
    "rnn", "rnn_forward", "rnn_backward",
    "dropout", "dropout_forward", "dropout_backward",
    "batch_norm", "batch_norm_forward", "batch_norm_backward",
    "embedding", "embedding_forward", "embedding_backward",
    "scaled_dot_product_attention", "scaled_dot_product_attention_forward",
    "scaled_dot_product_attention_backward",
    "flatten", "flatten_forward", "flatten_backward",
]


# ---------------------------------------------------------------------------
# fully connected
# ---------------------------------------------------------------------------

def linear_forward(x, weight, bias=None):
    r"""Dense layer :math:`y = x W^\top + b` (``F.linear``).

    Shape: ``x`` (N, D) or (*, D); ``weight`` (F, D) -- (out_features,
    in_features), as in PyTorch; ``bias`` (F,) or None. Returns (*, F).
    For a single column vector :math:`a` this is the textbook :math:`z = W a + b`.

    Backward: :math:`dx = dout\,W`, :math:`dW = dout^\top x`, :math:`db = \sum_n dout_n`.
    """
    check_ndim(weight, "weight", 2, "(out_features, in_features)")
    check_array(x, "x")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"x has {x.shape[-1] if x.ndim else 0} features on its last axis but weight "
            f"expects {weight.shape[1]}: x {tuple(x.shape)}, weight {tuple(weight.shape)} "
            "(weight is (out_features, in_features))"
        )
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(
            f"bias must have shape ({weight.shape[0]},) to match weight "
            f"{tuple(weight.shape)}, got {tuple(bias.shape)}"
        )
    xp = namespace(x, weight, bias)
    out = xp.matmul(x, weight.T)
    if bias is not None:
        out = out + bias
    return out, (x, weight, bias is not None)


def linear_backward(dout, cache):
    r"""Gradients of :func:`linear_forward`: ``(dx, dweight, dbias)``.

    :math:`dx = dout\,W`, :math:`dW = dout^\top x` and :math:`db = \sum_n dout_n`,
    where every leading axis of (*, F) counts as batch (it is summed over in
    ``dW`` and ``db``). ``dbias`` is None when the forward had no bias.

    Shape: ``dout`` (N, F) or (*, F); returns ``dx`` (N, D) or (*, D),
    ``dweight`` (F, D), ``dbias`` (F,) or None.
    """
    x, weight, has_bias = cache
    xp = namespace(dout)
    dx = xp.matmul(dout, weight)
    d2 = xp.reshape(dout, (-1, dout.shape[-1]))
    x2 = xp.reshape(x, (-1, x.shape[-1]))
    dweight = xp.matmul(d2.T, x2)
    dbias = xp.sum(d2, axis=0) if has_bias else None
    return dx, dweight, dbias


def linear(x, weight, bias=None):
    r"""The dense layer :math:`x W^\top + b` (``F.linear``).

    See :func:`linear_forward` for the formula, the weight layout and the checks.

    Shape: x (N, D) or (*, D), weight (F, D), bias (F,) or None -> (N, F) or (*, F).
    """
    return linear_forward(x, weight, bias)[0]


# ---------------------------------------------------------------------------
# helpers for windowed layers (convolution and pooling)
# ---------------------------------------------------------------------------

def _out_size(size, k, s, p, what):
    out = (size + 2 * p - k) // s + 1
    if out < 1:
        raise ValueError(
            f"{what}: kernel {k} with padding {p} does not fit an input of size {size}"
        )
    return out


def _pad(x, ph, pw, value=0.0):
    if ph == 0 and pw == 0:
        return x
    xp = namespace(x)
    n, c, h, w = x.shape
    out = xp.full((n, c, h + 2 * ph, w + 2 * pw), value, dtype=x.dtype, device=device(x))
    out[:, :, ph:ph + h, pw:pw + w] = x
    return out


def _windows(xpad, kh, kw, sh, sw, oh, ow):
    """Stack every kernel offset: (N, C, kh*kw, OH, OW); entry (i*kw+j) is offset (i, j)."""
    xp = namespace(xpad)
    slices = [
        xpad[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]
        for i in range(kh) for j in range(kw)
    ]
    return xp.stack(slices, axis=2)


def _scatter_windows(dwin, shape_pad, kh, kw, sh, sw, oh, ow):
    """Adjoint of ``_windows``: add window gradients (N, C, kh*kw, OH, OW) back."""
    xp = namespace(dwin)
    dxpad = xp.zeros(shape_pad, dtype=dwin.dtype, device=device(dwin))
    for i in range(kh):
        for j in range(kw):
            dxpad[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw] += dwin[:, :, i * kw + j]
    return dxpad


def _unpad(dxpad, ph, pw):
    if ph == 0 and pw == 0:
        return dxpad
    return dxpad[:, :, ph:dxpad.shape[2] - ph, pw:dxpad.shape[3] - pw]


# ---------------------------------------------------------------------------
# 2-D convolution
# ---------------------------------------------------------------------------

def conv2d_forward(x, weight, bias=None, stride=1, padding=0):
    r"""2-D convolution (cross-correlation, as in every DL library; ``F.conv2d``).

    :math:`y_{n,f,i,j} = b_f + \sum_{c,u,v} W_{f,c,u,v}\,x_{n,c,s i+u-p,\,s j+v-p}`
    with zero padding ``p`` and stride ``s``.

    Shape: ``x`` (N, C, H, W); ``weight`` (F, C, KH, KW); ``bias`` (F,) or None.
    Returns (N, F, OH, OW) with :math:`OH = \lfloor (H + 2p - KH)/s \rfloor + 1`.

    Implementation: the KH*KW shifted views of the padded input are stacked
    ("im2col" by slicing) so the whole layer is one matrix product; the
    backward is the same product transposed plus a scatter-add of the views.
    Groups and dilation are not supported (PyTorch's defaults, 1, are used).
    """
    check_ndim(x, "x", 4, "(N, C, H, W)")
    check_ndim(weight, "weight", 4, "(F, C, KH, KW)")
    if x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"x has {x.shape[1]} channels but weight expects {weight.shape[1]}: "
            f"x {tuple(x.shape)}, weight {tuple(weight.shape)} (weight is (F, C, KH, KW))"
        )
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise ValueError(f"bias must have shape ({weight.shape[0]},), got {tuple(bias.shape)}")
    sh, sw = pair(stride, "stride")
    ph, pw = pair(padding, "padding")
    if sh < 1 or sw < 1 or ph < 0 or pw < 0:
        raise ValueError(f"stride must be >= 1 and padding >= 0, got stride {stride}, padding {padding}")
    xp = namespace(x, weight, bias)
    n, c, h, w = x.shape
    f, _, kh, kw = weight.shape
    oh = _out_size(h, kh, sh, ph, "conv2d height")
    ow = _out_size(w, kw, sw, pw, "conv2d width")
    xpad = _pad(x, ph, pw)
    cols = xp.reshape(_windows(xpad, kh, kw, sh, sw, oh, ow), (n, c * kh * kw, oh * ow))
    w2 = xp.reshape(weight, (f, c * kh * kw))
    out = xp.matmul(w2, cols)  # (N, F, OH*OW)
    if bias is not None:
        out = out + bias[:, None]
    out = xp.reshape(out, (n, f, oh, ow))
    cache = (cols, weight, bias is not None, tuple(xpad.shape), (kh, kw, sh, sw, ph, pw, oh, ow))
    return out, cache


def conv2d_backward(dout, cache):
    r"""Gradients of :func:`conv2d_forward`: ``(dx, dweight, dbias)``.

    With :math:`\tilde x` the zero-padded input, stride s and padding p:

    * :math:`db_f = \sum_{n,i,j} dout_{n,f,i,j}`;
    * :math:`dW_{f,c,u,v} = \sum_{n,i,j} dout_{n,f,i,j}\,\tilde x_{n,c,s i+u,\,s j+v}`;
    * :math:`dx_{n,c,a,b}` adds :math:`\sum_f W_{f,c,u,v}\,dout_{n,f,i,j}` over every
      window (i, j) and offset (u, v) with :math:`s i+u-p = a`, :math:`s j+v-p = b`
      (a transposed convolution; what fell on the padding is dropped).

    ``dbias`` is None when the forward had no bias.

    Shape: ``dout`` (N, F, OH, OW); returns ``dx`` (N, C, H, W), ``dweight``
    (F, C, KH, KW), ``dbias`` (F,) or None.
    """
    cols, weight, has_bias, shape_pad, (kh, kw, sh, sw, ph, pw, oh, ow) = cache
    xp = namespace(dout)
    n, f = dout.shape[:2]
    c = weight.shape[1]
    d2 = xp.reshape(dout, (n, f, oh * ow))
    dbias = xp.sum(d2, axis=(0, 2)) if has_bias else None
    dweight = xp.reshape(xp.tensordot(d2, cols, axes=([0, 2], [0, 2])), tuple(weight.shape))
    dcols = xp.matmul(xp.reshape(weight, (f, c * kh * kw)).T, d2)  # (N, C*KH*KW, OH*OW)
    dwin = xp.reshape(dcols, (n, c, kh * kw, oh, ow))
    dx = _unpad(_scatter_windows(dwin, shape_pad, kh, kw, sh, sw, oh, ow), ph, pw)
    return dx, dweight, dbias


def conv2d(x, weight, bias=None, stride=1, padding=0):
    r"""2-D convolution (cross-correlation) of ``x`` with ``weight`` (``F.conv2d``).

    See :func:`conv2d_forward` for the formula, padding and stride.

    Shape: x (N, C, H, W), weight (F, C, KH, KW), bias (F,) or None ->
    (N, F, OH, OW), :math:`OH = \lfloor (H + 2p - KH)/s \rfloor + 1` (OW likewise).
    """
    return conv2d_forward(x, weight, bias, stride, padding)[0]


# ---------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------

def _pool_setup(x, kernel_size, stride, padding, what):
    check_ndim(x, "x", 4, "(N, C, H, W)")
    kh, kw = pair(kernel_size, "kernel_size")
    sh, sw = pair(stride if stride is not None else (kh, kw), "stride")
    ph, pw = pair(padding, "padding")
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(f"{what}: padding {padding} must be at most half the kernel size {kernel_size}")
    oh = _out_size(x.shape[2], kh, sh, ph, f"{what} height")
    ow = _out_size(x.shape[3], kw, sw, pw, f"{what} width")
    return kh, kw, sh, sw, ph, pw, oh, ow


def max_pool2d_forward(x, kernel_size, stride=None, padding=0):
    r"""Max pooling (``F.max_pool2d``): the largest value in each window.

    Shape: ``x`` (N, C, H, W) -> (N, C, OH, OW); ``stride`` defaults to
    ``kernel_size``; padding counts as :math:`-\infty`. Backward sends each
    window's gradient to the position of its maximum (the first one on ties).
    """
    geo = _pool_setup(x, kernel_size, stride, padding, "max_pool2d")
    kh, kw, sh, sw, ph, pw, oh, ow = geo
    xp = namespace(x)
    xpad = _pad(x, ph, pw, value=-float("inf"))
    win = _windows(xpad, kh, kw, sh, sw, oh, ow)
    idx = xp.argmax(win, axis=2)
    out = xp.max(win, axis=2)
    return out, (idx, tuple(xpad.shape), geo)


def max_pool2d_backward(dout, cache):
    """Gradient of :func:`max_pool2d_forward` for ``x``.

    Each :math:`dout_{n,c,i,j}` goes to the position of its window's maximum
    (the first one on ties) and nowhere else; where windows overlap, the
    contributions add up. Gradients that land on the padding are dropped.

    Shape: ``dout`` (N, C, OH, OW); returns ``dx`` (N, C, H, W), the shape of ``x``.
    """
    idx, shape_pad, (kh, kw, sh, sw, ph, pw, oh, ow) = cache
    xp = namespace(dout)
    offsets = xp.arange(kh * kw, device=device(dout))[:, None, None]
    hit = idx[:, :, None] == offsets  # (N, C, K, OH, OW)
    dwin = xp.where(hit, dout[:, :, None], xp.zeros_like(dout)[:, :, None])
    return _unpad(_scatter_windows(dwin, shape_pad, kh, kw, sh, sw, oh, ow), ph, pw)


def max_pool2d(x, kernel_size, stride=None, padding=0):
    r"""Max pooling of ``x``: the largest value of each window (``F.max_pool2d``).

    See :func:`max_pool2d_forward` for stride, padding and ties.

    Shape: x (N, C, H, W) -> (N, C, OH, OW), :math:`OH = \lfloor (H + 2p - KH)/s \rfloor + 1`.
    """
    return max_pool2d_forward(x, kernel_size, stride, padding)[0]


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0):
    r"""Average pooling (``F.avg_pool2d``, ``count_include_pad=True``).

    Shape: ``x`` (N, C, H, W) -> (N, C, OH, OW). Zero padding is counted in the
    average, as in PyTorch's default. Backward spreads each window's gradient
    evenly: :math:`dout / (KH \cdot KW)` to each of its entries.
    """
    geo = _pool_setup(x, kernel_size, stride, padding, "avg_pool2d")
    kh, kw, sh, sw, ph, pw, oh, ow = geo
    xp = namespace(x)
    xpad = _pad(x, ph, pw)
    out = xp.mean(_windows(xpad, kh, kw, sh, sw, oh, ow), axis=2)
    return out, (tuple(xpad.shape), geo)


def avg_pool2d_backward(dout, cache):
    r"""Gradient of :func:`avg_pool2d_forward` for ``x``.

    Each :math:`dout_{n,c,i,j}` is spread evenly, :math:`dout_{n,c,i,j}/(KH \cdot KW)`
    to every entry of its window; where windows overlap, the shares add up.
    Shares that land on the padding are dropped.

    Shape: ``dout`` (N, C, OH, OW); returns ``dx`` (N, C, H, W), the shape of ``x``.
    """
    shape_pad, (kh, kw, sh, sw, ph, pw, oh, ow) = cache
    xp = namespace(dout)
    share = dout[:, :, None] / (kh * kw)
    dwin = xp.broadcast_to(share, (dout.shape[0], dout.shape[1], kh * kw, oh, ow))
    return _unpad(_scatter_windows(dwin, shape_pad, kh, kw, sh, sw, oh, ow), ph, pw)


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    r"""Average pooling of ``x``: the mean of each window, padding counted (``F.avg_pool2d``).

    See :func:`avg_pool2d_forward` for stride and padding.

    Shape: x (N, C, H, W) -> (N, C, OH, OW), :math:`OH = \lfloor (H + 2p - KH)/s \rfloor + 1`.
    """
    return avg_pool2d_forward(x, kernel_size, stride, padding)[0]


# ---------------------------------------------------------------------------
# recurrent layer
# ---------------------------------------------------------------------------

def rnn_forward(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, batch_first=False):
    r"""A one-layer tanh RNN over a whole sequence (like ``torch.nn.RNN``, one layer).

    :math:`h_t = \tanh(x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh})`.

    Shape: ``x`` (T, N, D), or (N, T, D) with ``batch_first=True``; ``h0``
    (N, H), (1, N, H) or None for zeros; ``weight_ih`` (H, D); ``weight_hh``
    (H, H); biases (H,) or None. Returns every hidden state, (T, N, H) (or
    (N, T, H)); the final state ``h_n`` is its last step.

    Backward (through time): returns ``(dx, dh0, dweight_ih, dweight_hh,
    dbias_ih, dbias_hh)``; gradients flow back through every step.
    """
    check_ndim(x, "x", 3, "(T, N, D)" if not batch_first else "(N, T, D)")
    check_ndim(weight_ih, "weight_ih", 2, "(H, D)")
    check_ndim(weight_hh, "weight_hh", 2, "(H, H)")
    xp = namespace(x, weight_ih, weight_hh)
    if batch_first:
        x = xp.permute_dims(x, (1, 0, 2))
    t_steps, n, d = x.shape
    hidden = weight_hh.shape[0]
    if weight_ih.shape[1] != d or weight_ih.shape[0] != hidden or weight_hh.shape[1] != hidden:
        raise ValueError(
            f"shapes do not fit: x has D={d} features, weight_ih {tuple(weight_ih.shape)} "
            f"must be (H, D) and weight_hh {tuple(weight_hh.shape)} must be (H, H)"
        )
    for name, b in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        if b is not None and tuple(b.shape) != (hidden,):
            raise ValueError(f"{name} must have shape ({hidden},), got {tuple(b.shape)}")
    if h0 is None:
        h0 = xp.zeros((n, hidden), dtype=x.dtype, device=device(x))
    elif h0.ndim == 3:
        h0 = h0[0]
    if tuple(h0.shape) != (n, hidden):
        raise ValueError(f"h0 must have shape (N, H) = ({n}, {hidden}), got {tuple(h0.shape)}")
    # the input projection of every step at once, then the recurrence
    pre_x = xp.matmul(x, weight_ih.T)
    if bias_ih is not None:
        pre_x = pre_x + bias_ih
    if bias_hh is not None:
        pre_x = pre_x + bias_hh
    h = h0
    states = []
    for t in range(t_steps):
        h = xp.tanh(pre_x[t] + xp.matmul(h, weight_hh.T))
        states.append(h)
    out = xp.stack(states, axis=0)
    cache = (x, h0, out, weight_ih, weight_hh, bias_ih is not None, bias_hh is not None, batch_first)
    return (xp.permute_dims(out, (1, 0, 2)) if batch_first else out), cache


def rnn_backward(dout, cache):
    r"""Gradients of :func:`rnn_forward` (backpropagation through time).

    Returns ``(dx, dh0, dweight_ih, dweight_hh, dbias_ih, dbias_hh)``. With
    :math:`h_t = \tanh(a_t)`, going from the last step T back to the first:
    :math:`dh_t = dout_t + da_{t+1} W_{hh}` (no second term at t = T),
    :math:`da_t = dh_t \odot (1 - h_t^2)`, and then
    :math:`dx_t = da_t W_{ih}`, :math:`dW_{ih} = \sum_t da_t^\top x_t`,
    :math:`dW_{hh} = \sum_t da_t^\top h_{t-1}`,
    :math:`db_{ih} = db_{hh} = \sum_{t,n} da_{t,n}`, :math:`dh_0 = da_1 W_{hh}`.
    A bias that was None gets None; ``dh0`` is always returned, also when
    ``h0`` was None (zeros) or given as (1, N, H).

    Shape: ``dout`` (T, N, H) -- the gradient of every hidden state -- or
    (N, T, H) with ``batch_first=True``; returns ``dx`` (T, N, D) (or
    (N, T, D)), ``dh0`` (N, H), ``dweight_ih`` (H, D), ``dweight_hh`` (H, H),
    ``dbias_ih`` (H,) or None, ``dbias_hh`` (H,) or None.
    """
    x, h0, out, weight_ih, weight_hh, has_bih, has_bhh, batch_first = cache
    xp = namespace(dout)
    if batch_first:
        dout = xp.permute_dims(dout, (1, 0, 2))
    t_steps = x.shape[0]
    dpre = []
    dh_next = xp.zeros_like(h0)
    for t in range(t_steps - 1, -1, -1):
        dh = dout[t] + dh_next
        da = dh * (1.0 - out[t] * out[t])
        dpre.append(da)
        dh_next = xp.matmul(da, weight_hh)
    dpre = xp.stack(dpre[::-1], axis=0)  # (T, N, H)
    h_prev = xp.concat([h0[None], out[:-1]], axis=0)
    hidden = weight_hh.shape[0]
    dpre2 = xp.reshape(dpre, (-1, hidden))
    dweight_ih = xp.matmul(dpre2.T, xp.reshape(x, (-1, x.shape[2])))
    dweight_hh = xp.matmul(dpre2.T, xp.reshape(h_prev, (-1, hidden)))
    db = xp.sum(dpre2, axis=0)
    dx = xp.matmul(dpre, weight_ih)
    if batch_first:
        dx = xp.permute_dims(dx, (1, 0, 2))
    return (dx, dh_next, dweight_ih, dweight_hh,
            db if has_bih else None, db if has_bhh else None)


def rnn(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, batch_first=False):
    """Every hidden state of a one-layer tanh RNN run over the sequence ``x``.

    See :func:`rnn_forward` for the recurrence and the arguments.

    Shape: x (T, N, D) (or (N, T, D) with ``batch_first=True``), h0 (N, H),
    (1, N, H) or None, weight_ih (H, D), weight_hh (H, H), biases (H,) or
    None -> (T, N, H) (or (N, T, H)).
    """
    return rnn_forward(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, batch_first)[0]


# ---------------------------------------------------------------------------
# dropout
# ---------------------------------------------------------------------------

def _keep_mask(x, p, generator):
    """A boolean mask of kept units, drawn from ``generator``.

    ``generator`` may be a ``numpy.random.Generator``, an int seed, None (fresh
    randomness) or, for torch tensors, a ``torch.Generator`` on x's device.
    """
    xp = namespace(x)
    if is_torch(x):
        import torch

        if isinstance(generator, torch.Generator):
            u = torch.rand(tuple(x.shape), generator=generator, device=generator.device, dtype=torch.float64)
            return xp.asarray(u >= p, device=device(x))
    rng = generator if isinstance(generator, np.random.Generator) else np.random.default_rng(generator)
    keep = rng.random(tuple(x.shape)) >= p
    return xp.asarray(keep, device=device(x))


def dropout_forward(x, p: float = 0.5, training: bool = True, generator=None, mask=None):
    r"""Inverted dropout (``F.dropout``): zero each unit with probability ``p``
    during training and scale the kept ones by :math:`1/(1-p)`.

    The scale keeps the expected activation unchanged, so at evaluation
    (``training=False``) the layer is the identity. (Classic dropout instead
    scales by :math:`1-p` at test time; both keep the expectation, PyTorch uses
    the inverted form.)

    Reproducible: pass ``generator`` (a ``numpy.random.Generator``, an int seed
    or a ``torch.Generator``) or an explicit boolean ``mask`` of kept units with
    the shape of ``x``.
    """
    check_array(x, "x")
    check_probability(p, "p", upper_inclusive=True)
    xp = namespace(x)
    if not training or p == 0.0:
        return x, (None, 1.0)
    if p == 1.0:
        keep = xp.zeros(tuple(x.shape), dtype=xp.bool, device=device(x))
        return xp.zeros_like(x), (keep, 0.0)
    if mask is None:
        keep = _keep_mask(x, p, generator)
    else:
        check_array(mask, "mask")
        if tuple(mask.shape) != tuple(x.shape):
            raise ValueError(f"mask must have the shape of x {tuple(x.shape)}, got {tuple(mask.shape)}")
        keep = xp.astype(mask, xp.bool)
    scale = 1.0 / (1.0 - p)
    out = xp.where(keep, x * scale, xp.zeros_like(x))
    return out, (keep, scale)


def dropout_backward(dout, cache):
    r"""Gradient of :func:`dropout_forward` for ``x``.

    :math:`dx = dout \odot m / (1 - p)` with the same mask m of kept units as
    the forward: dropped units get no gradient, kept ones the same scale as
    their output. When the forward was the identity (``training=False`` or
    ``p=0``), :math:`dx = dout`; with ``p=1`` it is all zeros.

    Shape: ``dout`` (*), the shape of ``x``; returns ``dx`` (*), the shape of ``x``.
    """
    keep, scale = cache
    if keep is None:
        return dout
    xp = namespace(dout)
    return xp.where(keep, dout * scale, xp.zeros_like(dout))


def dropout(x, p: float = 0.5, training: bool = True, generator=None, mask=None):
    """Inverted dropout of ``x``: units zeroed with probability ``p``, the rest scaled by :math:`1/(1-p)`.

    See :func:`dropout_forward` for evaluation mode and reproducible masks.

    Shape: x (*), returns (*), same as x.
    """
    return dropout_forward(x, p, training, generator, mask)[0]


# ---------------------------------------------------------------------------
# batch normalization
# ---------------------------------------------------------------------------

def batch_norm_forward(x, running_mean=None, running_var=None, weight=None, bias=None,
                       training: bool = False, momentum: float = 0.1, eps: float = 1e-5):
    r"""Batch normalization (``F.batch_norm``; same argument order and defaults).

    Training: normalize with the batch statistics over every axis but the
    channel axis 1, :math:`\hat x = (x - \mu_B)/\sqrt{\sigma_B^2 + \epsilon}`
    with :math:`\sigma_B^2 = \mathrm{mean}((x-\mu_B)^2)` (biased), then
    :math:`y = \gamma \hat x + \beta`. The running statistics are *only
    updated*, in place, as PyTorch does:
    :math:`r \leftarrow (1-m)\,r + m\,\text{batch}` with ``momentum`` m = 0.1,
    tracking the *unbiased* batch variance.

    Evaluation (``training=False``): normalize with the running statistics, so
    the output of one example does not depend on the rest of the batch -- which
    is why the running averages exist at all.

    Shape: ``x`` (N, C), (N, C, L) or (N, C, H, W); ``weight`` (gamma), ``bias``
    (beta), ``running_mean``, ``running_var``: (C,). Backward returns
    ``(dx, dweight, dbias)`` (``None`` for an absent weight or bias).
    """
    check_ndim(x, "x", (2, 3, 4), "(N, C), (N, C, L) or (N, C, H, W)")
    xp = namespace(x)
    c = x.shape[1]
    for name, a in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if a is not None and tuple(a.shape) != (c,):
            raise ValueError(f"{name} must have shape (C,) = ({c},) for x {tuple(x.shape)}, got {tuple(a.shape)}")
    axes = (0,) + tuple(range(2, x.ndim))
    bshape = (1, c) + (1,) * (x.ndim - 2)
    m = int(np.prod(tuple(x.shape))) // c
    if training:
        if m <= 1:
            raise ValueError(
                f"batch_norm in training needs more than 1 value per channel, got x {tuple(x.shape)}"
                " - help: use eval mode (training=False) for a single example"
            )
        mean = xp.mean(x, axis=axes)
        centered = x - xp.reshape(mean, bshape)
        var = xp.mean(centered * centered, axis=axes)
        if running_mean is not None:
            running_mean[...] = (1.0 - momentum) * running_mean + momentum * mean
        if running_var is not None:
            running_var[...] = (1.0 - momentum) * running_var + momentum * var * (m / (m - 1))
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm with training=False needs running_mean and running_var")
        mean, var = running_mean, running_var
        centered = x - xp.reshape(mean, bshape)
    inv_std = 1.0 / xp.sqrt(var + eps)
    xhat = centered * xp.reshape(inv_std, bshape)
    out = xhat
    if weight is not None:
        out = out * xp.reshape(weight, bshape)
    if bias is not None:
        out = out + xp.reshape(bias, bshape)
    cache = (xhat, inv_std, weight, bias is not None, training, axes, bshape, m)
    return out, cache


def batch_norm_backward(dout, cache):
    r"""Gradients of :func:`batch_norm_forward`: ``(dx, dweight, dbias)``.

    Sums run over every axis but the channel axis 1, m values per channel
    (m = N, N L or N H W); :math:`\hat x` and :math:`1/\sqrt{\sigma^2 + \epsilon}`
    come from the cache, and :math:`g = \gamma \odot dout` (just ``dout``
    without a weight):

    * :math:`d\beta = \sum dout`, :math:`d\gamma = \sum dout \odot \hat x`
      (None when the forward had no bias / weight);
    * training: :math:`dx = \frac{1}{m\sqrt{\sigma_B^2 + \epsilon}}
      \left(m\,g - \sum g - \hat x \sum g \odot \hat x\right)`, since the batch
      mean and variance depend on x;
    * evaluation: :math:`dx = g / \sqrt{r_{var} + \epsilon}`, the running
      statistics being constants.

    The running statistics get no gradient.

    Shape: ``dout`` (N, C), (N, C, L) or (N, C, H, W), the shape of ``x``;
    returns ``dx`` with the shape of ``x``, ``dweight`` (C,) or None,
    ``dbias`` (C,) or None.
    """
    xhat, inv_std, weight, has_bias, training, axes, bshape, m = cache
    xp = namespace(dout)
    dbias = xp.sum(dout, axis=axes) if has_bias else None
    dweight = xp.sum(dout * xhat, axis=axes) if weight is not None else None
    dxhat = dout * xp.reshape(weight, bshape) if weight is not None else dout
    inv = xp.reshape(inv_std, bshape)
    if not training:
        return dxhat * inv, dweight, dbias
    sum_dxhat = xp.reshape(xp.sum(dxhat, axis=axes), bshape)
    sum_dxhat_xhat = xp.reshape(xp.sum(dxhat * xhat, axis=axes), bshape)
    dx = inv / m * (m * dxhat - sum_dxhat - xhat * sum_dxhat_xhat)
    return dx, dweight, dbias


def batch_norm(x, running_mean=None, running_var=None, weight=None, bias=None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5):
    r"""Batch normalization of ``x`` per channel, then :math:`\gamma \hat x + \beta` (``F.batch_norm``).

    See :func:`batch_norm_forward` for training vs evaluation and the running statistics.

    Shape: x (N, C), (N, C, L) or (N, C, H, W), running_mean, running_var,
    weight, bias (C,) or None -> the shape of x.
    """
    return batch_norm_forward(x, running_mean, running_var, weight, bias, training, momentum, eps)[0]


# ---------------------------------------------------------------------------
# embedding
# ---------------------------------------------------------------------------

def embedding_forward(indices, weight, padding_idx=None):
    r"""Look up rows of ``weight`` (``F.embedding``): ``out[...] = weight[indices[...]]``.

    Shape: ``indices`` integers of any shape (*) in [0, V); ``weight`` (V, E).
    Returns (*, E). Backward returns ``dweight`` (V, E): each row collects the
    gradients of every position that looked it up; the ``padding_idx`` row
    gets none, as in PyTorch.
    """
    check_array(indices, "indices")
    check_ndim(weight, "weight", 2, "(num_embeddings, embedding_dim)")
    xp = namespace(indices, weight)
    if not xp.isdtype(indices.dtype, "integral"):
        raise TypeError(f"indices must be integers, got dtype {indices.dtype}")
    v = weight.shape[0]
    flat = xp.reshape(indices, (-1,))
    if flat.shape[0] and (int(xp.min(flat)) < 0 or int(xp.max(flat)) >= v):
        raise ValueError(
            f"indices must lie in [0, {v - 1}] for a weight with {v} rows, "
            f"got min {int(xp.min(flat))}, max {int(xp.max(flat))}"
        )
    out = xp.reshape(xp.take(weight, flat, axis=0), tuple(indices.shape) + (weight.shape[1],))
    return out, (flat, v, padding_idx)


def embedding_backward(dout, cache):
    r"""Gradient of :func:`embedding_forward` for ``weight`` (indices get none).

    :math:`dW_v = \sum_{k:\ \text{indices}_k = v} dout_k`: every row collects
    the gradients of all positions that looked it up, 0 for rows never used;
    the ``padding_idx`` row is set to 0, as in PyTorch.

    Shape: ``dout`` (*, E), the shape of the output; returns ``dweight`` (V, E).
    """
    flat, v, padding_idx = cache
    xp = namespace(dout)
    d2 = xp.reshape(dout, (-1, dout.shape[-1]))
    rows = xp.arange(v, device=device(dout))
    hot = xp.astype(flat[:, None] == rows[None, :], dout.dtype)  # (N*, V)
    dweight = xp.matmul(hot.T, d2)
    if padding_idx is not None:
        dweight[padding_idx] = 0.0
    return dweight


def embedding(indices, weight, padding_idx=None):
    """Rows of ``weight`` picked by ``indices`` (``F.embedding``).

    See :func:`embedding_forward` for the checks and ``padding_idx``.

    Shape: indices (*) integers, weight (V, E) -> (*, E).
    """
    return embedding_forward(indices, weight, padding_idx)[0]


# ---------------------------------------------------------------------------
# scaled dot-product attention
# ---------------------------------------------------------------------------

def scaled_dot_product_attention_forward(query, key, value, attn_mask=None,
                                         is_causal: bool = False, scale=None):
    r"""Attention :math:`\mathrm{softmax}(Q K^\top \cdot s + M)\,V` (``F.scaled_dot_product_attention``).

    ``scale`` s defaults to :math:`1/\sqrt{E}`. ``attn_mask`` is either boolean
    (True = may attend, False = blocked) or a float array added to the scores;
    ``is_causal=True`` lets position i attend to positions :math:`\le i` only.

    Shape: ``query`` (*, L, E); ``key`` (*, S, E); ``value`` (*, S, Ev);
    ``attn_mask`` broadcastable to (*, L, S). Returns (*, L, Ev).
    Backward returns ``(dquery, dkey, dvalue)``.
    """
    for name, a in (("query", query), ("key", key), ("value", value)):
        check_array(a, name)
        if a.ndim < 2:
            raise ValueError(f"{name} must be at least 2-D (*, length, features), got shape {tuple(a.shape)}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(
            f"shapes do not fit: query {tuple(query.shape)} and key {tuple(key.shape)} need the same "
            f"last axis E; key and value {tuple(value.shape)} the same length S"
        )
    xp = namespace(query, key, value)
    e = query.shape[-1]
    s = scale if scale is not None else 1.0 / float(np.sqrt(e))
    scores = xp.matmul(query, xp.matrix_transpose(key)) * s
    length, src = scores.shape[-2], scores.shape[-1]
    allowed = None
    if is_causal:
        if attn_mask is not None:
            raise ValueError("pass either attn_mask or is_causal=True, not both (as in PyTorch)")
        rows = xp.arange(length, device=device(query))[:, None]
        cols = xp.arange(src, device=device(query))[None, :]
        allowed = cols <= rows
    elif attn_mask is not None:
        check_array(attn_mask, "attn_mask")
        if xp.isdtype(attn_mask.dtype, "bool"):
            allowed = attn_mask
        else:
            scores = scores + attn_mask
    if allowed is not None:
        scores = xp.where(allowed, scores, xp.full_like(scores, -float("inf")))
    attn, scache = softmax_forward(scores, axis=-1)
    out = xp.matmul(attn, value)
    return out, (query, key, value, attn, scache, s)


def scaled_dot_product_attention_backward(dout, cache):
    r"""Gradients of :func:`scaled_dot_product_attention_forward`: ``(dquery, dkey, dvalue)``.

    With :math:`A = \mathrm{softmax}(Q K^\top s + M)` from the cache:
    :math:`dV = A^\top dout`, :math:`dA = dout\,V^\top`,
    :math:`dS_{ij} = s\,A_{ij}\,(dA_{ij} - \textstyle\sum_k dA_{ik} A_{ik})` (the
    softmax backward along the key axis, times the scale),
    :math:`dQ = dS\,K` and :math:`dK = dS^\top Q`. The mask gets no gradient.

    Shape: ``dout`` (*, L, Ev); returns ``dquery`` (*, L, E), ``dkey``
    (*, S, E), ``dvalue`` (*, S, Ev).
    """
    query, key, value, attn, scache, s = cache
    xp = namespace(dout)
    dvalue = xp.matmul(xp.matrix_transpose(attn), dout)
    dattn = xp.matmul(dout, xp.matrix_transpose(value))
    dscores = softmax_backward(dattn, scache) * s
    dquery = xp.matmul(dscores, key)
    dkey = xp.matmul(xp.matrix_transpose(dscores), query)
    return dquery, dkey, dvalue


def scaled_dot_product_attention(query, key, value, attn_mask=None, is_causal=False, scale=None):
    r"""Attention output :math:`\mathrm{softmax}(Q K^\top s + M)\,V` (``F.scaled_dot_product_attention``).

    See :func:`scaled_dot_product_attention_forward` for the scale and the masks.

    Shape: query (*, L, E), key (*, S, E), value (*, S, Ev), attn_mask
    broadcastable to (*, L, S) or None -> (*, L, Ev).
    """
    return scaled_dot_product_attention_forward(query, key, value, attn_mask, is_causal, scale)[0]


# ---------------------------------------------------------------------------
# flatten
# ---------------------------------------------------------------------------

def flatten_forward(x, start_dim: int = 1, end_dim: int = -1):
    """Merge axes ``start_dim..end_dim`` into one (``torch.flatten``).

    The default ``start_dim=1`` is ``nn.Flatten``'s: (N, C, H, W) -> (N, C*H*W),
    keeping the batch axis. Backward reshapes the gradient back.
    """
    check_array(x, "x")
    xp = namespace(x)
    nd = max(x.ndim, 1)
    start = start_dim % nd
    end = end_dim % nd
    if start > end:
        raise ValueError(f"start_dim {start_dim} comes after end_dim {end_dim} for x of shape {tuple(x.shape)}")
    shape = tuple(x.shape)
    merged = 1
    for size in shape[start:end + 1]:
        merged *= size
    out = xp.reshape(x, shape[:start] + (merged,) + shape[end + 1:])
    return out, (shape,)


def flatten_backward(dout, cache):
    r"""Gradient of :func:`flatten_forward`: ``dout`` reshaped back to the shape of ``x``.

    :math:`dx = \mathrm{reshape}(dout, \text{shape of } x)`; flattening only
    moves entries, so each gradient entry goes back to its original place.

    Shape: ``dout`` (N, C*H*W) for the default axes (in general, the output
    shape); returns ``dx`` (N, C, H, W), the shape of ``x``.
    """
    (shape,) = cache
    return namespace(dout).reshape(dout, shape)


def flatten(x, start_dim: int = 1, end_dim: int = -1):
    """``x`` with axes ``start_dim..end_dim`` merged into one (``torch.flatten``).

    See :func:`flatten_forward` for the defaults.

    Shape: x (N, C, H, W) -> (N, C*H*W) with the defaults; in general the
    axes start_dim..end_dim are replaced by their product.
    """
    return flatten_forward(x, start_dim, end_dim)[0]
