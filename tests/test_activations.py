"""course.activations against torch.nn.functional, plus central differences."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course import activations as A
from course.gradcheck import check_gradients

from conftest import assert_close, assert_same_kind, compare_op, to_backend, to_np

pytestmark = pytest.mark.activations


def _x(rng, shape=(4, 7), scale=3.0):
    x = rng.standard_normal(shape) * scale
    x[np.abs(x) < 1e-3] = 0.5  # keep central differences away from kinks
    return x


ELEMENTWISE_CASES = [
    ("relu", A.relu_forward, A.relu_backward, F.relu, {}, None),
    ("leaky_relu", A.leaky_relu_forward, A.leaky_relu_backward, F.leaky_relu, {}, None),
    ("leaky_relu_0.2", A.leaky_relu_forward, A.leaky_relu_backward, F.leaky_relu,
     {"negative_slope": 0.2}, None),
    ("sigmoid", A.sigmoid_forward, A.sigmoid_backward, torch.sigmoid, {}, None),
    ("tanh", A.tanh_forward, A.tanh_backward, torch.tanh, {}, None),
    ("silu", A.silu_forward, A.silu_backward, F.silu, {}, {}),
    ("swish_beta", A.swish_forward, A.swish_backward, lambda x, beta: x * torch.sigmoid(beta * x),
     {"beta": 1.7}, None),
    ("gelu", A.gelu_forward, A.gelu_backward, F.gelu, {}, None),
    ("gelu_tanh", A.gelu_forward, A.gelu_backward, F.gelu, {"approximate": "tanh"}, None),
    ("softmax_last", A.softmax_forward, A.softmax_backward, F.softmax, {"axis": -1}, {"dim": -1}),
    ("softmax_axis0", A.softmax_forward, A.softmax_backward, F.softmax, {"axis": 0}, {"dim": 0}),
    ("log_softmax", A.log_softmax_forward, A.log_softmax_backward, F.log_softmax, {"axis": 1}, {"dim": 1}),
]


@pytest.mark.parametrize("name,fwd,bwd,tfn,opts,topts", ELEMENTWISE_CASES, ids=[c[0] for c in ELEMENTWISE_CASES])
def test_against_torch(name, fwd, bwd, tfn, opts, topts, backend, dtype, rng):
    compare_op(fwd, bwd, tfn, [_x(rng)], [0], backend, dtype, opts, topts)


@pytest.mark.parametrize("name,fwd,bwd,tfn,opts,topts", ELEMENTWISE_CASES, ids=[c[0] for c in ELEMENTWISE_CASES])
def test_central_differences(name, fwd, bwd, tfn, opts, topts, rng):
    errors = check_gradients(fwd, bwd, [_x(rng, (3, 5), scale=1.0)], **opts)
    assert errors[0] < 1e-6


def test_step_matches_heaviside_and_has_zero_gradient(backend, dtype, rng):
    x = _x(rng)
    x[0, 0] = 0.0
    out, cache = A.step_forward(to_backend(x, backend, dtype))
    assert_same_kind(out, backend, dtype)
    ref = torch.heaviside(torch.tensor(x), torch.tensor(0.0, dtype=torch.float64))
    assert_close(out, ref, dtype)
    dx = A.step_backward(to_backend(np.ones_like(x), backend, dtype), cache)
    assert not np.any(to_np(dx))
    assert check_gradients(A.step_forward, A.step_backward, [_x(rng)])[0] < 1e-12  # away from 0


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4, 4)])
def test_prelu_against_torch(channels, shape, backend, dtype, rng):
    x = _x(rng, shape)
    w = rng.uniform(0.05, 0.5, size=channels)
    compare_op(A.prelu_forward, A.prelu_backward, F.prelu, [x, w], [0, 1], backend, dtype)
    errors = check_gradients(A.prelu_forward, A.prelu_backward, [x, w])
    assert max(errors) < 1e-6


def test_prelu_rejects_wrong_channel_count():
    with pytest.raises(ValueError, match=r"weight has 4 slopes.*4 channels.*\(5, 3\)"):
        A.prelu(np.ones((5, 3)), np.full(4, 0.25))


@pytest.mark.parametrize("fn,tfn", [(A.softmax, F.softmax), (A.log_softmax, F.log_softmax)])
def test_softmax_family_is_stable_for_huge_inputs(fn, tfn, backend, dtype):
    x = np.array([[1000.0, 0.0, -1000.0], [-1000.0, -1000.0, -999.0], [1000.0, 1000.0, 1000.0]])
    out = fn(to_backend(x, backend, dtype), axis=-1)
    assert np.all(np.isfinite(to_np(out)))
    assert_close(out, tfn(torch.tensor(x), dim=-1), dtype)


def test_sigmoid_is_stable_for_huge_inputs(backend, dtype):
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    out = to_np(A.sigmoid(to_backend(x, backend, dtype)))
    assert np.all(np.isfinite(out))
    assert_close(out, torch.sigmoid(torch.tensor(x)), dtype)


def test_sigmoid_derivative_peaks_at_quarter():
    x = np.linspace(-6, 6, 1201)
    d = A.sigmoid_derivative(x)
    assert d.max() == pytest.approx(0.25)
    assert x[np.argmax(d)] == pytest.approx(0.0)


@pytest.mark.parametrize("name", sorted(A.ELEMENTWISE))
def test_derivative_helpers_match_autograd(name, rng):
    fn, dfn = A.ELEMENTWISE[name]
    x = _x(rng, (50,))
    ref = torch.tensor(x, requires_grad=True)
    torch_fns = {"step": None, "relu": F.relu, "leaky_relu": F.leaky_relu, "sigmoid": torch.sigmoid,
                 "tanh": torch.tanh, "swish": F.silu, "gelu": F.gelu}
    if torch_fns[name] is None:
        assert not np.any(dfn(x))
        return
    torch_fns[name](ref).sum().backward()
    assert_close(dfn(x), ref.grad)


def test_softmax_axis_out_of_range_is_named():
    with pytest.raises(ValueError, match=r"axis=2 is out of range for x of shape \(2, 3\)"):
        A.softmax(np.ones((2, 3)), axis=2)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        A.gelu(np.ones(3), approximate="fast")


def test_rejects_lists_with_help():
    with pytest.raises(TypeError, match="x must be a NumPy array or a torch tensor, got list"):
        A.relu([1.0, -1.0])


SOFTMAX_FAMILY = [
    pytest.param(A.softmax_forward, A.softmax_backward, F.softmax, 1.0, id="softmax"),
    pytest.param(A.log_softmax_forward, A.log_softmax_backward, F.log_softmax, 0.0, id="log_softmax"),
]


@pytest.mark.parametrize("value", [2.0, -1000.0, 1000.0])
@pytest.mark.parametrize("axis", [-1, 0])
@pytest.mark.parametrize("fwd,bwd,tfn,expected", SOFTMAX_FAMILY)
def test_softmax_family_of_a_0d_input_matches_torch(fwd, bwd, tfn, expected, axis, value, backend, dtype):
    # torch treats a 0-d input as a vector of one entry: softmax 1, log-softmax 0, gradient 0
    out, grads = compare_op(fwd, bwd, tfn, [np.array(value)], [0], backend, dtype,
                            {"axis": axis}, {"dim": axis}, dout=np.array(3.0))
    assert tuple(out.shape) == () and tuple(grads[0].shape) == ()
    assert float(out) == expected and float(grads[0]) == 0.0
    plain_fn = A.softmax if fwd is A.softmax_forward else A.log_softmax
    plain = plain_fn(to_backend(np.array(value), backend, dtype))
    assert_same_kind(plain, backend, dtype)
    assert tuple(plain.shape) == () and float(plain) == expected


@pytest.mark.parametrize("axis", [1, -2])
@pytest.mark.parametrize("fn", [A.softmax, A.log_softmax])
def test_softmax_family_of_a_0d_input_rejects_other_axes(fn, axis):
    with pytest.raises(ValueError, match=rf"axis={axis} is out of range for x of shape \(\) \(0-D\)"):
        fn(np.array(2.0), axis=axis)
    with pytest.raises(ValueError, match=rf"axis={axis} is out of range"):
        fn(torch.tensor(2.0), axis=axis)


def test_softmax_family_keeps_one_entry_vectors_unchanged(backend, dtype):
    # the (1,) case, which the 0-d case is modelled on, still gives (1,)
    x = to_backend(np.array([5.0]), backend, dtype)
    assert tuple(A.softmax(x).shape) == (1,) and float(A.softmax(x)[0]) == 1.0
    assert tuple(A.log_softmax(x).shape) == (1,) and float(A.log_softmax(x)[0]) == 0.0


def test_prelu_of_a_0d_input_matches_torch(backend, dtype):
    x = to_backend(np.array(-2.0), backend, dtype)
    w = to_backend(np.array([0.25]), backend, dtype)
    out, cache = A.prelu_forward(x, w)
    tx = torch.tensor(-2.0, dtype=getattr(torch, dtype), requires_grad=True)
    tw = torch.tensor([0.25], dtype=getattr(torch, dtype), requires_grad=True)
    ref = torch.nn.functional.prelu(tx, tw)
    ref.backward()
    assert tuple(out.shape) == () and float(out) == pytest.approx(float(ref.detach()))
    dx, dw = A.prelu_backward(to_backend(np.array(1.0), backend, dtype), cache)
    assert tuple(dx.shape) == () and tuple(dw.shape) == (1,)
    assert float(dx) == pytest.approx(float(tx.grad)) and float(dw[0]) == pytest.approx(float(tw.grad[0]))
