"""course.optim against torch.optim over many steps; course.surfaces."""

import numpy as np
import pytest
import torch

from course import optim
from course.nn import Parameter
from course.surfaces import SURFACES, trajectory

from conftest import assert_close, device_of, to_backend, to_np

pytestmark = pytest.mark.optim

STEPS = 30

CASES = [
    ("SGD", {"lr": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.5, "centered": True, "weight_decay": 0.01}),
    ("Adam", {}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.99), "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True}),
]


def _problem(rng):
    """A non-quadratic loss whose gradient both libraries compute the same way."""
    A = rng.standard_normal((6, 6))
    A = A @ A.T / 6 + np.eye(6) * 0.1
    b = rng.standard_normal(6)
    x0, m0 = rng.standard_normal(6), rng.standard_normal((2, 3))

    def grads(x, m, lib):
        tanh = np.tanh if lib is np else torch.tanh
        return A_(lib) @ x - b_(lib) + 0.1 * x ** 3, tanh(m) + 0.5 * m

    def A_(lib):
        return A if lib is np else torch.tensor(A)

    def b_(lib):
        return b if lib is np else torch.tensor(b)

    return x0, m0, grads


@pytest.mark.parametrize("name,hyper", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_matches_torch_optim(name, hyper, backend, dtype, rng):
    x0, m0, grads = _problem(rng)
    ours = [Parameter(to_backend(x0, backend, dtype)), Parameter(to_backend(m0, backend, dtype))]
    theirs = [torch.tensor(x0.astype(dtype), requires_grad=True), torch.tensor(m0.astype(dtype), requires_grad=True)]
    opt = getattr(optim, name)(ours, **hyper)
    topt = getattr(torch.optim, name)(theirs, **hyper)
    for step in range(STEPS):
        gx, gm = grads(to_np(ours[0].data).astype(np.float64), to_np(ours[1].data).astype(np.float64), np)
        ours[0].grad, ours[1].grad = to_backend(gx, backend, dtype), to_backend(gm, backend, dtype)
        opt.step()
        with torch.no_grad():
            tgx, tgm = grads(theirs[0].double(), theirs[1].double(), torch)
        theirs[0].grad, theirs[1].grad = tgx.to(theirs[0].dtype), tgm.to(theirs[1].dtype)
        topt.step()
        for p, t in zip(ours, theirs):
            assert_close(p.data, t.detach(), dtype, f"{name} step {step + 1}", scale=5.0)
    assert str(ours[0].data.device if backend != "numpy" else "cpu").startswith(device_of(backend))


def test_defaults_match_torch():
    p = [Parameter(np.zeros(2))]
    t = [torch.zeros(2, requires_grad=True)]
    for name in ("SGD", "RMSprop", "Adam", "AdamW"):
        ours = getattr(optim, name)(p).defaults
        theirs = getattr(torch.optim, name)(t).defaults
        for key, value in ours.items():
            assert theirs[key] == value, f"{name}.{key}: ours {value}, torch {theirs[key]}"


def test_state_names_follow_torch():
    p = Parameter(np.ones(3))
    p.grad = np.ones(3)
    adam = optim.Adam([p])
    adam.step()
    assert set(adam.state[p]) == {"step", "exp_avg", "exp_avg_sq"}
    sgd = optim.SGD([p], momentum=0.9)
    sgd.step()
    assert set(sgd.state[p]) == {"momentum_buffer"}


def test_adamw_decay_differs_from_adam_l2():
    g = np.array([100.0, 0.01])
    a, w = Parameter(np.ones(2)), Parameter(np.ones(2))
    adam, adamw = optim.Adam([a], lr=0.1, weight_decay=0.1), optim.AdamW([w], lr=0.1, weight_decay=0.1)
    for _ in range(5):
        a.grad, w.grad = g.copy(), g.copy()
        adam.step()
        adamw.step()
    assert not np.allclose(a.data, w.data)


def test_gd_is_plain_rule_and_param_groups():
    p, q = Parameter(np.array([1.0, 2.0])), Parameter(np.array([3.0]))
    opt = optim.GD([{"params": [p]}, {"params": [q], "lr": 0.5}], lr=0.1)
    p.grad, q.grad = np.array([1.0, 1.0]), np.array([2.0])
    opt.step()
    np.testing.assert_allclose(p.data, [0.9, 1.9])
    np.testing.assert_allclose(q.data, [2.0])
    opt.zero_grad()
    assert p.grad is None and q.grad is None


def test_validation_messages():
    p = [Parameter(np.zeros(2))]
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        optim.SGD(p, lr=-1)
    with pytest.raises(ValueError, match="Nesterov momentum requires"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
        optim.Adam(p, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match=r"parameters with .data and .grad"):
        optim.SGD([np.zeros(2)])


# ---------------------------------------------------------------- surfaces
@pytest.mark.parametrize("name", sorted(SURFACES))
def test_surface_gradients_are_right(name):
    s = SURFACES[name]
    from course.gradcheck import numerical_gradient
    for point in ([0.3, -0.7], [1.2, 0.4], [-2.0, 1.5]):
        num = numerical_gradient(lambda v: s.f(v[0], v[1]), np.array(point))
        np.testing.assert_allclose(s.grad(*point), num, rtol=1e-6, atol=1e-6)


def test_trajectories_tell_the_optimizers_apart():
    bowl = SURFACES["bowl"]
    gd = trajectory(optim.GD, bowl, steps=100, lr=0.05)
    mom = trajectory(optim.SGD, bowl, steps=100, lr=0.05, momentum=0.9)
    assert gd.shape == (101, 2)
    assert np.linalg.norm(mom[-1]) < np.linalg.norm(gd[-1])  # momentum gets further along the valley
    too_big = trajectory(optim.GD, bowl, steps=100, lr=0.25)  # > 2/10: diverges along y
    assert len(too_big) < 101 or np.linalg.norm(too_big[-1]) > 1e3
    tiny = trajectory(optim.GD, bowl, steps=100, lr=1e-4)
    assert np.linalg.norm(tiny[-1]) > 0.9 * np.linalg.norm(tiny[0])  # too small: still far from the minimum
    saddle = trajectory(optim.GD, SURFACES["saddle"], start=(-2.0, 0.0), steps=200, lr=0.05)
    np.testing.assert_allclose(saddle[-1], [0.0, 0.0], atol=1e-6)  # stuck at the saddle point
    ends = {tuple(np.round(trajectory(optim.Adam, SURFACES["himmelblau"], start=s, steps=3000, lr=0.05)[-1], 2))
            for s in [(4, 4), (-4, 4), (-4, -4), (4, -4)]}
    assert len(ends) == 4  # non-convex: four starts, four different minima


def test_our_optimizers_drive_torch_leaf_tensors_too():
    torch.manual_seed(0)
    w = torch.randn(4, requires_grad=True)
    w_ref = w.detach().clone().requires_grad_(True)
    ours, theirs = optim.AdamW([w], lr=0.1), torch.optim.AdamW([w_ref], lr=0.1)
    for _ in range(25):
        for p, opt in ((w, ours), (w_ref, theirs)):
            opt.zero_grad()
            ((p ** 2).sum() + p.sum()).backward()
            opt.step()
    assert_close(w.detach(), w_ref.detach(), "float32")
