"""Property-based tests (hypothesis) for the elementwise functions."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from course import activations as A
from course import losses as L

pytestmark = pytest.mark.activations

finite = st.floats(-50, 50, allow_nan=False, allow_infinity=False)
wide = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)
vectors = arrays(np.float64, st.integers(1, 12), elements=wide)
matrices = arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 6)), elements=wide)
SETTINGS = settings(max_examples=60, deadline=None)


@SETTINGS
@given(vectors)
def test_sigmoid_bounded_and_symmetric(x):
    s = A.sigmoid(x)
    assert np.all((s >= 0) & (s <= 1))
    np.testing.assert_allclose(1 - s, A.sigmoid(-x), atol=1e-15)


@SETTINGS
@given(vectors)
def test_tanh_odd_and_relu_idempotent(x):
    np.testing.assert_allclose(A.tanh(-x), -A.tanh(x))
    r = A.relu(x)
    assert np.all(r >= 0)
    np.testing.assert_array_equal(A.relu(r), r)
    np.testing.assert_array_equal(A.relu(x) - A.relu(-x), x)


@SETTINGS
@given(vectors, st.floats(0.0, 1.0))
def test_leaky_relu_between_identity_and_slope(x, slope):
    y = A.leaky_relu(x, slope)
    np.testing.assert_allclose(y, np.maximum(x, slope * x))


@SETTINGS
@given(matrices, finite)
def test_softmax_is_a_distribution_and_shift_invariant(x, c):
    s = A.softmax(x, axis=-1)
    assert np.all(np.isfinite(s)) and np.all(s >= 0)
    np.testing.assert_allclose(s.sum(-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(A.softmax(x + c, axis=-1), s, atol=1e-12)
    ls = A.log_softmax(x, axis=-1)
    assert np.all(np.isfinite(ls)) and np.all(ls <= 1e-12)
    np.testing.assert_allclose(np.exp(ls), s, atol=1e-12)


@SETTINGS
@given(matrices)
def test_softmax_and_cross_entropy_match_torch_on_wide_inputs(x):
    np.testing.assert_allclose(A.log_softmax(x), torch.log_softmax(torch.tensor(x), -1).numpy(), atol=1e-9)
    y = np.zeros(x.shape[0], dtype=np.int64)
    assert float(L.cross_entropy(x, y)) == pytest.approx(
        torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(y)).item(), rel=1e-9, abs=1e-9)


@SETTINGS
@given(vectors)
def test_gelu_and_swish_match_torch_and_sit_between_0_and_x(x):
    g = A.gelu(x)
    np.testing.assert_allclose(g, torch.nn.functional.gelu(torch.tensor(x)).numpy(), atol=1e-12)
    np.testing.assert_allclose(A.swish(x), torch.nn.functional.silu(torch.tensor(x)).numpy(), atol=1e-12)
    assert np.all(g >= np.minimum(0, x) - 0.2) and np.all(g <= np.maximum(0, x) + 1e-12)


@SETTINGS
@given(finite.filter(lambda v: abs(v) > 1e-3))
def test_derivatives_match_central_differences(v):
    h = 1e-6
    for name, (fn, dfn) in A.ELEMENTWISE.items():
        if name == "step":
            continue
        num = (fn(np.array([v + h])) - fn(np.array([v - h])))[0] / (2 * h)
        assert dfn(np.array([v]))[0] == pytest.approx(num, rel=1e-5, abs=1e-7), name


@SETTINGS
@given(vectors, st.floats(0, 1))
def test_bce_with_logits_equals_bce_of_sigmoid_where_both_are_exact(z, t):
    z = np.clip(z, -15, 15)  # beyond this, 1 - sigmoid(z) loses digits: the reason for the logits form
    target = np.full_like(z, t)
    a = L.binary_cross_entropy_with_logits(z, target, reduction="none")
    b = L.binary_cross_entropy(A.sigmoid(z), target, reduction="none")
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)
    assert np.all(a >= -1e-12)
