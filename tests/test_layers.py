"""course.layers against torch.nn.functional, plus central differences."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course import layers as L
from course.gradcheck import check_gradients

from conftest import assert_close, assert_same_kind, compare_op, to_backend, to_np

pytestmark = pytest.mark.layers


# ---------------------------------------------------------------- linear
@pytest.mark.parametrize("xshape", [(5, 4), (2, 3, 4)])
def test_linear(xshape, backend, dtype, rng):
    x, w, b = rng.standard_normal(xshape), rng.standard_normal((3, 4)), rng.standard_normal(3)
    compare_op(L.linear_forward, L.linear_backward, F.linear, [x, w, b], [0, 1, 2], backend, dtype)
    assert max(check_gradients(L.linear_forward, L.linear_backward, [x, w, b])) < 1e-7


def test_linear_without_bias(backend, dtype, rng):
    x, w = rng.standard_normal((5, 4)), rng.standard_normal((3, 4))
    out, grads = compare_op(L.linear_forward, L.linear_backward, F.linear, [x, w], [0, 1], backend, dtype)


def test_linear_shape_error_names_shapes():
    with pytest.raises(ValueError, match=r"x has 5 features.*weight expects 4: x \(2, 5\), weight \(3, 4\)"):
        L.linear(np.ones((2, 5)), np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"bias must have shape \(3,\)"):
        L.linear(np.ones((2, 4)), np.ones((3, 4)), np.ones(4))


# ---------------------------------------------------------------- conv2d
CONV_CASES = [dict(stride=1, padding=0), dict(stride=1, padding=1), dict(stride=2, padding=1),
              dict(stride=(2, 1), padding=(0, 2))]


@pytest.mark.parametrize("opts", CONV_CASES, ids=str)
def test_conv2d(opts, backend, dtype, rng):
    x, w, b = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(4)
    compare_op(L.conv2d_forward, L.conv2d_backward, F.conv2d, [x, w, b], [0, 1, 2], backend, dtype, opts)


def test_conv2d_without_bias_and_gradcheck(rng):
    x, w = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    compare_op(L.conv2d_forward, L.conv2d_backward, F.conv2d, [x, w], [0, 1], "numpy", "float64",
               dict(stride=2, padding=1))
    b = rng.standard_normal(3)
    assert max(check_gradients(L.conv2d_forward, L.conv2d_backward, [x, w, b], stride=2, padding=1)) < 1e-7


def test_conv2d_errors():
    with pytest.raises(ValueError, match=r"x has 3 channels but weight expects 2"):
        L.conv2d(np.ones((1, 3, 5, 5)), np.ones((4, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"x must be 4-D \(N, C, H, W\), got shape \(3, 5, 5\)"):
        L.conv2d(np.ones((3, 5, 5)), np.ones((4, 3, 3, 3)))
    with pytest.raises(ValueError, match="does not fit an input of size 2"):
        L.conv2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3)))


# ---------------------------------------------------------------- pooling
POOL_CASES = [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1), dict(kernel_size=(2, 3), stride=1)]


@pytest.mark.parametrize("opts", POOL_CASES, ids=str)
@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling(kind, opts, backend, dtype, rng):
    x = rng.permutation(2 * 3 * 6 * 7).reshape(2, 3, 6, 7) / 10.0  # distinct values: no ties
    fwd, bwd, tfn = ((L.max_pool2d_forward, L.max_pool2d_backward, F.max_pool2d) if kind == "max"
                     else (L.avg_pool2d_forward, L.avg_pool2d_backward, F.avg_pool2d))
    compare_op(fwd, bwd, tfn, [x], [0], backend, dtype, opts)
    if backend == "numpy" and dtype == "float64":  # central differences run in float64 once
        assert check_gradients(fwd, bwd, [x], **opts)[0] < 1e-6


# ---------------------------------------------------------------- rnn
def _torch_rnn(x, h0, w_ih, w_hh, b_ih, b_hh, batch_first=False):
    # the reference: torch.nn.RNN's own kernel with our weights
    rnn = torch.nn.RNN(w_ih.shape[1], w_ih.shape[0], batch_first=batch_first, dtype=x.dtype)
    params = dict(weight_ih_l0=w_ih, weight_hh_l0=w_hh, bias_ih_l0=b_ih, bias_hh_l0=b_hh)
    out, _ = torch.func.functional_call(rnn, params, (x, h0[None]))
    return out


@pytest.mark.parametrize("batch_first", [False, True])
def test_rnn(batch_first, backend, dtype, rng):
    t, n, d, h = 5, 3, 4, 6
    x = rng.standard_normal((n, t, d) if batch_first else (t, n, d))
    args = [x, rng.standard_normal((n, h)) * 0.5, rng.standard_normal((h, d)) * 0.5,
            rng.standard_normal((h, h)) * 0.5, rng.standard_normal(h), rng.standard_normal(h)]
    compare_op(L.rnn_forward, L.rnn_backward, _torch_rnn, args, [0, 1, 2, 3, 4, 5], backend, dtype,
               {"batch_first": batch_first})


def test_rnn_gradcheck_and_defaults(rng):
    x, h0 = rng.standard_normal((4, 2, 3)), rng.standard_normal((2, 5))
    w_ih, w_hh = rng.standard_normal((5, 3)) * 0.5, rng.standard_normal((5, 5)) * 0.5
    b1, b2 = rng.standard_normal(5), rng.standard_normal(5)
    errs = check_gradients(L.rnn_forward, L.rnn_backward, [x, h0, w_ih, w_hh, b1, b2])
    assert max(errs) < 1e-6
    # no h0 means zeros; no biases means none
    out = L.rnn(x, None, w_ih, w_hh)
    ref = L.rnn(x, np.zeros((2, 5)), w_ih, w_hh, np.zeros(5), np.zeros(5))
    np.testing.assert_allclose(out, ref)
    _, cache = L.rnn_forward(x, None, w_ih, w_hh)
    grads = L.rnn_backward(np.ones((4, 2, 5)), cache)
    assert grads[4] is None and grads[5] is None


def test_rnn_shape_error():
    with pytest.raises(ValueError, match=r"x has D=3 features, weight_ih \(5, 4\)"):
        L.rnn(np.ones((2, 1, 3)), None, np.ones((5, 4)), np.ones((5, 5)))


# ---------------------------------------------------------------- dropout
def test_dropout_matches_torch_given_its_mask(backend, dtype, rng):
    x = rng.standard_normal((50, 20)) + 3.0  # nonzero, so the kept mask is visible in torch's output
    torch.manual_seed(0)
    tx = torch.tensor(x, requires_grad=True)
    tout = F.dropout(tx, p=0.3, training=True)
    mask = (tout != 0).numpy()
    dout = rng.standard_normal(x.shape)
    tout.backward(torch.tensor(dout))
    out, cache = L.dropout_forward(to_backend(x, backend, dtype), 0.3, True,
                                   mask=to_backend(mask, backend))
    assert_same_kind(out, backend, dtype)
    assert_close(out, tout, dtype)
    assert_close(L.dropout_backward(to_backend(dout, backend, dtype), cache), tx.grad, dtype)


def test_dropout_generator_is_reproducible_and_keeps_expectation(backend):
    x = to_backend(np.ones((200, 500)), backend)
    a = to_np(L.dropout(x, 0.4, generator=7))
    b = to_np(L.dropout(x, 0.4, generator=np.random.default_rng(7)))
    np.testing.assert_array_equal(a, b)
    assert set(np.unique(a)) <= {0.0, 1.0 / 0.6}
    assert abs(a.mean() - 1.0) < 0.02  # inverted dropout keeps E[out] = x
    assert abs((a == 0).mean() - 0.4) < 0.01


def test_dropout_torch_generator(rng):
    x = torch.ones(100, 100, dtype=torch.float64)
    a = L.dropout(x, 0.5, generator=torch.Generator().manual_seed(3))
    b = L.dropout(x, 0.5, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_dropout_eval_and_extremes(rng):
    x = rng.standard_normal((4, 4))
    np.testing.assert_array_equal(L.dropout(x, 0.5, training=False), x)
    np.testing.assert_array_equal(L.dropout(x, 1.0), np.zeros_like(x))
    np.testing.assert_array_equal(L.dropout(x, 0.0), x)
    with pytest.raises(ValueError, match="Invalid p: 1.5"):
        L.dropout(x, 1.5)
    with pytest.raises(ValueError, match=r"mask must have the shape of x \(4, 4\)"):
        L.dropout(x, 0.5, mask=np.ones((4, 3), bool))
    errs = check_gradients(lambda a: L.dropout_forward(a, 0.5, mask=np.eye(4, dtype=bool)), L.dropout_backward, [x])
    assert errs[0] < 1e-8


# ---------------------------------------------------------------- batch norm
@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5), (4, 3, 2, 3)])
def test_batch_norm_training_and_running_stats(shape, backend, dtype, rng):
    x = rng.standard_normal(shape) * 2 + 1
    w, b = rng.standard_normal(3), rng.standard_normal(3)
    rm, rv = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    ours_rm, ours_rv = to_backend(rm, backend, dtype), to_backend(rv, backend, dtype)
    t_rm, t_rv = torch.tensor(rm.astype(dtype)), torch.tensor(rv.astype(dtype))

    def ours(xx, ww, bb, **o):
        return L.batch_norm_forward(xx, ours_rm, ours_rv, ww, bb, training=True)

    def ref(xx, ww, bb):
        return F.batch_norm(xx, t_rm, t_rv, ww, bb, training=True, momentum=0.1, eps=1e-5)

    compare_op(ours, L.batch_norm_backward, ref, [x, w, b], [0, 1, 2], backend, dtype)
    assert_close(ours_rm, t_rm, dtype, "running_mean")
    assert_close(ours_rv, t_rv, dtype, "running_var (unbiased)")


def test_batch_norm_eval_uses_running_stats(backend, dtype, rng):
    x = rng.standard_normal((1, 4))  # a single example works in eval mode
    w, b, rm, rv = rng.standard_normal(4), rng.standard_normal(4), rng.standard_normal(4), rng.uniform(0.5, 2, 4)
    rmb, rvb = to_backend(rm, backend, dtype), to_backend(rv, backend, dtype)

    def ours(xx, ww, bb):
        return L.batch_norm_forward(xx, rmb, rvb, ww, bb, training=False)

    def ref(xx, ww, bb):
        return F.batch_norm(xx, torch.tensor(rm.astype(dtype)), torch.tensor(rv.astype(dtype)), ww, bb, training=False)

    compare_op(ours, L.batch_norm_backward, ref, [x, w, b], [0, 1, 2], backend, dtype)
    assert_close(rmb, rm, dtype, "eval must not touch running stats")


def test_batch_norm_gradcheck(rng):
    x, w, b = rng.standard_normal((6, 3)), rng.standard_normal(3), rng.standard_normal(3)
    errs = check_gradients(lambda a, ww, bb: L.batch_norm_forward(a, None, None, ww, bb, training=True),
                           L.batch_norm_backward, [x, w, b])
    assert max(errs) < 1e-6


def test_batch_norm_errors():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        L.batch_norm(np.ones((1, 3)), np.zeros(3), np.ones(3), training=True)
    with pytest.raises(ValueError, match=r"running_mean must have shape \(C,\) = \(3,\)"):
        L.batch_norm(np.ones((4, 3)), np.zeros(2), np.ones(3), training=True)


# ---------------------------------------------------------------- embedding
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding(padding_idx, backend, dtype, rng):
    idx = rng.integers(0, 6, (3, 4))
    w = rng.standard_normal((6, 5))
    compare_op(L.embedding_forward, L.embedding_backward,
               lambda i, ww, **o: F.embedding(i, ww, padding_idx=padding_idx), [idx, w], [1], backend, dtype,
               {"padding_idx": padding_idx}, torch_options={})


def test_embedding_errors():
    with pytest.raises(ValueError, match=r"indices must lie in \[0, 3\].*max 4"):
        L.embedding(np.array([0, 4]), np.ones((4, 2)))
    with pytest.raises(TypeError, match="indices must be integers"):
        L.embedding(np.array([0.0]), np.ones((4, 2)))


# ---------------------------------------------------------------- attention
def _qkv(rng, batch=(2,), l=4, s=5, e=3, ev=6):
    return (rng.standard_normal(batch + (l, e)), rng.standard_normal(batch + (s, e)),
            rng.standard_normal(batch + (s, ev)))


@pytest.mark.parametrize("mode", ["plain", "bool_mask", "float_mask", "causal", "scale"])
def test_attention(mode, backend, dtype, rng):
    q, k, v = _qkv(rng, l=5) if mode == "causal" else _qkv(rng)
    opts = {}
    if mode == "bool_mask":
        mask = rng.random((4, 5)) > 0.3
        mask[:, 0] = True  # every query may attend somewhere
        opts = {"attn_mask": to_backend(mask, backend)}
        topts = {"attn_mask": torch.tensor(mask)}
    elif mode == "float_mask":
        m = rng.standard_normal((4, 5))
        opts = {"attn_mask": to_backend(m, backend, dtype)}
        topts = {"attn_mask": torch.tensor(m.astype(dtype))}
    elif mode == "causal":
        opts = topts = {"is_causal": True}
    elif mode == "scale":
        opts = topts = {"scale": 0.3}
    else:
        topts = {}
    compare_op(L.scaled_dot_product_attention_forward, L.scaled_dot_product_attention_backward,
               F.scaled_dot_product_attention, [q, k, v], [0, 1, 2], backend, dtype, opts, topts)


def test_attention_gradcheck(rng):
    q, k, v = _qkv(rng, batch=(), l=3, s=4)
    errs = check_gradients(L.scaled_dot_product_attention_forward, L.scaled_dot_product_attention_backward,
                           [q, k, v], is_causal=False)
    assert max(errs) < 1e-6


def test_attention_shape_error():
    with pytest.raises(ValueError, match=r"query \(4, 3\) and key \(5, 2\)"):
        L.scaled_dot_product_attention(np.ones((4, 3)), np.ones((5, 2)), np.ones((5, 2)))


# ---------------------------------------------------------------- flatten
def test_flatten(backend, dtype, rng):
    x = rng.standard_normal((2, 3, 4, 5))
    compare_op(L.flatten_forward, L.flatten_backward, lambda a: torch.flatten(a, 1), [x], [0], backend, dtype,
               torch_options={})
    out = L.flatten(to_backend(x, backend, dtype), 0, 1)
    assert tuple(out.shape) == (6, 4, 5)


def test_remaining_backwards_pass_central_differences(rng):
    """Every backward not already checked above, against central differences."""
    idx = rng.integers(0, 6, (3, 4))
    w = rng.standard_normal((6, 5))
    assert check_gradients(lambda ww: L.embedding_forward(idx, ww),  # padding_idx rows get 0 by design
                           L.embedding_backward, [w])[0] < 1e-7
    x = rng.standard_normal((2, 3, 4))
    assert check_gradients(L.flatten_forward, L.flatten_backward, [x])[0] < 1e-8
    rm, rv = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    xb, g, b = rng.standard_normal((5, 3)), rng.standard_normal(3), rng.standard_normal(3)
    errs = check_gradients(lambda a, gg, bb: L.batch_norm_forward(a, rm, rv, gg, bb, training=False),
                           L.batch_norm_backward, [xb, g, b])
    assert max(errs) < 1e-7
    q, k, v = _qkv(rng, batch=(2,), l=4, s=4)
    mask = np.tril(np.ones((4, 4), dtype=bool))
    for opts in ({"is_causal": True}, {"attn_mask": mask}, {"attn_mask": rng.standard_normal((4, 4))},
                 {"scale": 0.7}):
        errs = check_gradients(L.scaled_dot_product_attention_forward, L.scaled_dot_product_attention_backward,
                               [q, k, v], **opts)
        assert max(errs) < 1e-6, opts
