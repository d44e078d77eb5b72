"""course.autograd.Value against torch scalars; course.gradcheck."""

import math

import numpy as np
import pytest
import torch

from course.autograd import Value
from course.gradcheck import (GradientCheckError, check_gradients, numerical_derivative,
                              numerical_gradient, relative_error)

pytestmark = pytest.mark.autograd


def _expr(a, b, c, lib):
    """Every supported operation, in one expression, for both libraries."""
    if lib == "value":
        exp, log, tanh, sig, relu = Value.exp, Value.log, Value.tanh, Value.sigmoid, Value.relu
    else:
        exp, log, tanh, sig, relu = torch.exp, torch.log, torch.tanh, torch.sigmoid, torch.relu
    d = a * b + c ** 3 - a / b
    e = exp(d * 0.1) + log(c * c + 1.0) - tanh(a - c)
    f = sig(e) * 2.0 + relu(b - 1.0) + relu(a - 10.0)
    g = 3.0 - f / 2.0 + (1.0 + a) ** 2 + 2.0 ** b - 1.0 / (c + 5.0)
    return g


@pytest.mark.parametrize("vals", [(2.0, -3.0, 0.5), (-1.5, 0.7, 2.0), (0.3, 1.8, -0.9)])
def test_value_matches_torch(vals):
    a, b, c = (Value(v) for v in vals)
    out = _expr(a, b, c, "value")
    out.backward()
    ta, tb, tc = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in vals)
    tout = _expr(ta, tb, tc, "torch")
    tout.backward()
    assert out.data == pytest.approx(tout.item(), rel=1e-12)
    for v, t in zip((a, b, c), (ta, tb, tc)):
        assert v.grad == pytest.approx(t.grad.item(), rel=1e-10, abs=1e-12)


def test_value_power_of_value_and_reuse():
    x = Value(1.5)
    y = x ** x  # d/dx x^x = x^x (ln x + 1)
    z = y * x + x  # x used several times: gradients add up
    z.backward()
    expect = (1.5 ** 1.5) * (math.log(1.5) + 1) * 1.5 + 1.5 ** 1.5 + 1
    assert x.grad == pytest.approx(expect)


def test_graph_lists_nodes_and_edges():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    c = a * b
    d = c + a
    nodes, edges = d.graph()
    assert nodes[-1] is d and set(map(id, nodes)) == {id(a), id(b), id(c), id(d)}
    assert (a, c) in edges and (c, d) in edges and (a, d) in edges and len(edges) == 4
    assert nodes.index(c) < nodes.index(d)


def test_backward_accumulates_on_leaves_like_torch():
    x = Value(3.0)
    y = x * x
    y.backward()
    y.backward()
    assert x.grad == 12.0


def test_deep_graph_has_no_recursion_limit():
    x = Value(0.5)
    y = x
    for _ in range(5000):
        y = y * 1.0
    y.backward()
    assert x.grad == 1.0


def test_value_errors():
    with pytest.raises(ValueError, match="log needs a positive value"):
        Value(-1.0).log()
    with pytest.raises(ZeroDivisionError):
        Value(1.0) / 0.0
    with pytest.raises(TypeError, match="real number"):
        Value("x")


# ---------------------------------------------------------------- gradcheck
def f_xyz(v):
    x, y, z = v
    return 2 / 3 * x ** 2 + y ** 2 - 2 * y + z ** 4 - 4 / 3 * z ** 3


def test_numerical_gradient_of_the_review_function():
    grad = numerical_gradient(f_xyz, np.array([3.0, 2.0, 1.0]))
    np.testing.assert_allclose(grad, [4.0, 2.0, 0.0], atol=1e-8)


def test_numerical_derivative():
    assert numerical_derivative(math.sin, 0.3) == pytest.approx(math.cos(0.3), rel=1e-9)
    with pytest.raises(ValueError, match="Invalid step h"):
        numerical_derivative(math.sin, 0.0, h=0)


def test_numerical_gradient_with_upstream_and_torch_input():
    x = torch.randn(3, 4, dtype=torch.float64)
    dout = np.arange(12.0).reshape(3, 4)
    g = numerical_gradient(lambda a: a ** 2, x, dout)
    np.testing.assert_allclose(g, 2 * x.numpy() * dout, rtol=1e-7)
    with pytest.raises(ValueError, match="pass dout"):
        numerical_gradient(lambda a: a ** 2, x)


def test_relative_error():
    assert relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert relative_error(np.array([1.0]), np.array([-1.0])) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="equal shapes"):
        relative_error(np.ones(2), np.ones(3))


def test_check_gradients_catches_a_wrong_backward():
    def fwd(x):
        return x ** 3, (x,)

    def good(d, c):
        return d * 3 * c[0] ** 2

    def bad(d, c):
        return d * 2 * c[0] ** 2  # wrong power rule

    x = np.random.default_rng(0).standard_normal((3, 3))
    assert check_gradients(fwd, good, [x])[0] < 1e-8
    with pytest.raises(GradientCheckError, match="relative error .* central differences give"):
        check_gradients(fwd, bad, [x])
