"""course.init against torch.nn.init: gains, fans, bounds and spreads."""

import math

import numpy as np
import pytest
import torch

from course import init as I

pytestmark = pytest.mark.init


@pytest.mark.parametrize("name,param", [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                                        ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None), ("conv2d", None)])
def test_gain_matches_torch(name, param):
    assert I.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))


@pytest.mark.parametrize("shape", [(3, 5), (8, 4, 3, 3), (2, 6, 5)])
def test_fans_match_torch(shape):
    assert I.fan_in_and_fan_out(shape) == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


SPECS = [
    ("xavier_uniform", dict(gain=1.0), lambda fi, fo: math.sqrt(6 / (fi + fo)), "uniform"),
    ("xavier_uniform", dict(gain=2.0), lambda fi, fo: 2 * math.sqrt(6 / (fi + fo)), "uniform"),
    ("xavier_normal", dict(gain=1.0), lambda fi, fo: math.sqrt(2 / (fi + fo)), "normal"),
    ("kaiming_uniform", dict(nonlinearity="relu"), lambda fi, fo: math.sqrt(3) * math.sqrt(2 / fi), "uniform"),
    ("kaiming_uniform", dict(a=math.sqrt(5)), lambda fi, fo: 1 / math.sqrt(fi), "uniform"),
    ("kaiming_normal", dict(nonlinearity="relu", mode="fan_out"), lambda fi, fo: math.sqrt(2 / fo), "normal"),
]


@pytest.mark.parametrize("name,kw,spread,kind", SPECS, ids=[f"{s[0]}-{i}" for i, s in enumerate(SPECS)])
def test_distribution_matches_torch(name, kw, spread, kind):
    shape = (400, 300)
    ours = getattr(I, name)(shape, rng=0, **kw)
    theirs = getattr(torch.nn.init, name + "_")(torch.empty(shape, dtype=torch.float64), **kw).numpy()
    fi, fo = 300, 400
    s = spread(fi, fo)  # the bound for uniform, the std for normal
    if kind == "uniform":
        assert np.abs(ours).max() <= s and np.abs(ours).max() > 0.99 * s
        assert np.abs(theirs).max() <= s
        target_std = s / math.sqrt(3)
    else:
        target_std = s
    assert ours.std() == pytest.approx(target_std, rel=0.02)
    assert ours.std() == pytest.approx(theirs.std(), rel=0.03)
    assert abs(ours.mean()) < 0.01 * target_std * 10


def test_seeded_and_errors():
    np.testing.assert_array_equal(I.xavier_normal((3, 4), rng=5), I.xavier_normal((3, 4), rng=5))
    with pytest.raises(ValueError, match=r"at least 2 dimensions, got shape \(5,\)"):
        I.xavier_uniform((5,))
    with pytest.raises(ValueError, match="Unsupported nonlinearity 'softplus'"):
        I.calculate_gain("softplus")
    with pytest.raises(ValueError, match="mode must be"):
        I.kaiming_normal((3, 3), mode="fan_avg")


def test_he_keeps_relu_activations_from_vanishing():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((500, 256))
    stds = {}
    for scheme in ("he", "small"):
        h = x
        for layer in range(20):
            W = I.kaiming_normal((256, 256), nonlinearity="relu", rng=layer) if scheme == "he" \
                else rng.standard_normal((256, 256)) * 0.01
            h = np.maximum(h @ W.T, 0)
        stds[scheme] = h.std()
    assert 0.3 < stds["he"] < 3.0
    assert stds["small"] < 1e-10


def test_in_place_forms_fill_parameters_arrays_and_tensors():
    from course.nn import Parameter

    p = Parameter(np.zeros((30, 20)))
    assert I.xavier_uniform_(p, rng=0) is p
    np.testing.assert_array_equal(p.data, I.xavier_uniform((30, 20), rng=0))
    t = torch.zeros(30, 20, dtype=torch.float32, requires_grad=True)
    I.kaiming_normal_(t, nonlinearity="relu", rng=1)
    assert t.dtype == torch.float32 and t.requires_grad and t.abs().sum() > 0
    a = np.zeros((4, 5))
    I.kaiming_uniform_(a, rng=2)
    I.xavier_normal_(a, rng=2)
    np.testing.assert_array_equal(a, I.xavier_normal((4, 5), rng=2))
