"""course.losses against torch.nn.functional, plus central differences."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course import losses as L
from course.gradcheck import check_gradients

from conftest import assert_close, assert_same_kind, compare_op, to_backend, to_np

pytestmark = pytest.mark.losses


def _cls(rng, n=6, c=4):
    return rng.standard_normal((n, c)) * 2, rng.integers(0, c, n)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("fwd,bwd,tfn", [(L.mse_forward, L.mse_backward, F.mse_loss),
                                         (L.mae_forward, L.mae_backward, F.l1_loss)], ids=["mse", "mae"])
def test_regression_losses(fwd, bwd, tfn, reduction, backend, dtype, rng):
    pred, target = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    compare_op(fwd, bwd, tfn, [pred, target], [0], backend, dtype, {"reduction": reduction}, dout=np.array(1.3))
    assert check_gradients(lambda p: fwd(p, target, reduction), lambda d, c: bwd(d, c), [pred], dout=np.array(1.0))[0] < 1e-6


def test_regression_losses_reduction_none(backend, dtype, rng):
    pred, target = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    compare_op(L.mse_forward, L.mse_backward, F.mse_loss, [pred, target], [0], backend, dtype, {"reduction": "none"})


def test_mse_gradient_is_per_prediction():
    pred, target = np.array([1.0, 2.0, 4.0]), np.array([0.0, 2.0, 1.0])
    _, cache = L.mse_forward(pred, target)
    np.testing.assert_allclose(L.mse_backward(1.0, cache), 2 * (pred - target) / 3)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_class_targets(reduction, smoothing, backend, dtype, rng):
    z, y = _cls(rng)
    dout = np.array(0.7) if reduction != "none" else rng.standard_normal(6)
    compare_op(L.cross_entropy_forward, L.cross_entropy_backward, F.cross_entropy, [z, y], [0], backend, dtype,
               {"reduction": reduction, "label_smoothing": smoothing}, dout=dout)
    err = check_gradients(lambda a: L.cross_entropy_forward(a, y, reduction, smoothing),
                          L.cross_entropy_backward, [z], dout=dout)
    assert err[0] < 1e-6


def test_cross_entropy_soft_targets(backend, dtype, rng):
    z = rng.standard_normal((5, 3))
    q = rng.dirichlet(np.ones(3), size=5)
    compare_op(L.cross_entropy_forward, L.cross_entropy_backward, F.cross_entropy, [z, q], [0], backend, dtype,
               dout=np.array(1.0))


def test_cross_entropy_single_row(backend, dtype):
    z = np.array([0.5, -1.0, 2.0])
    got = L.cross_entropy(to_backend(z, backend, dtype), to_backend(np.array(2), backend))
    assert_close(got, F.cross_entropy(torch.tensor(z), torch.tensor(2)), dtype)


def test_nll_loss_and_identity_with_log_softmax(backend, dtype, rng):
    z, y = _cls(rng)
    logp = torch.log_softmax(torch.tensor(z), 1).numpy()
    compare_op(L.nll_loss_forward, L.nll_loss_backward, F.nll_loss, [logp, y], [0], backend, dtype, dout=np.array(1.0))
    from course.activations import log_softmax
    zb, yb = to_backend(z, backend, dtype), to_backend(y, backend)
    assert_close(L.nll_loss(log_softmax(zb), yb), L.cross_entropy(zb, yb), dtype)


def test_cross_entropy_from_probs(backend, dtype, rng):
    z, y = _cls(rng)
    p = torch.softmax(torch.tensor(z), 1).numpy()
    compare_op(L.cross_entropy_from_probs_forward, L.cross_entropy_from_probs_backward,
               lambda a, t: F.nll_loss(torch.log(a), t), [p, y], [0], backend, dtype, dout=np.array(1.0))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_binary_cross_entropy(reduction, backend, dtype, rng):
    p = rng.uniform(0.05, 0.95, (4, 3))
    t = rng.integers(0, 2, (4, 3)).astype(float)
    compare_op(L.binary_cross_entropy_forward, L.binary_cross_entropy_backward, F.binary_cross_entropy,
               [p, t], [0], backend, dtype, {"reduction": reduction}, dout=np.array(1.0))
    assert check_gradients(lambda a: L.binary_cross_entropy_forward(a, t, reduction),
                           L.binary_cross_entropy_backward, [p], dout=np.array(1.0))[0] < 1e-6


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_with_logits(reduction, backend, dtype, rng):
    z = rng.standard_normal((4, 3)) * 3
    t = rng.uniform(0, 1, (4, 3))
    dout = np.array(1.0) if reduction != "none" else rng.standard_normal((4, 3))
    compare_op(L.binary_cross_entropy_with_logits_forward, L.binary_cross_entropy_with_logits_backward,
               F.binary_cross_entropy_with_logits, [z, t], [0], backend, dtype, {"reduction": reduction}, dout=dout)
    assert check_gradients(lambda a: L.binary_cross_entropy_with_logits_forward(a, t, reduction),
                           L.binary_cross_entropy_with_logits_backward, [z], dout=dout)[0] < 1e-6


def test_bce_at_exact_zero_and_one_is_finite_like_torch(backend, dtype):
    p = np.array([0.0, 1.0, 0.0, 1.0])
    t = np.array([1.0, 0.0, 0.0, 1.0])
    got = L.binary_cross_entropy(to_backend(p, backend, dtype), to_backend(t, backend, dtype), reduction="none")
    assert_close(got, F.binary_cross_entropy(torch.tensor(p), torch.tensor(t), reduction="none"), dtype)


def test_huge_logits_give_finite_correct_losses(backend, dtype):
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0], [1000.0, 1000.0, -1000.0]])
    y = np.array([1, 2, 0])
    zb, yb = to_backend(z, backend, dtype), to_backend(y, backend)
    loss, cache = L.cross_entropy_forward(zb, yb)
    ref = torch.tensor(z, requires_grad=True)
    tl = F.cross_entropy(ref, torch.tensor(y))
    tl.backward()
    assert np.isfinite(float(loss)) and float(loss) == pytest.approx(tl.item(), rel=1e-6)
    assert_close(L.cross_entropy_backward(1.0, cache), ref.grad, dtype)
    zl = np.array([1000.0, -1000.0, 1000.0, -1000.0])
    tt = np.array([0.0, 1.0, 1.0, 0.0])
    got = L.binary_cross_entropy_with_logits(to_backend(zl, backend, dtype), to_backend(tt, backend, dtype), "none")
    assert np.all(np.isfinite(to_np(got)))
    assert_close(got, F.binary_cross_entropy_with_logits(torch.tensor(zl), torch.tensor(tt), reduction="none"), dtype)


def test_one_hot(backend):
    y = to_backend(np.array([2, 0, 1]), backend)
    np.testing.assert_array_equal(to_np(L.one_hot(y, 3)), np.eye(3)[[2, 0, 1]])


def test_errors_name_the_problem():
    z = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"target must have shape \(N,\) = \(4,\).*got target of shape \(3,\)"):
        L.cross_entropy(z, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"class indices outside \[0, 2\]"):
        L.cross_entropy(z, np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"pred and target must have the same shape, got pred \(4, 3\) and target \(3, 4\)"):
        L.mse(z, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="probs must lie in"):
        L.binary_cross_entropy(np.array([1.5]), np.array([1.0]))
    with pytest.raises(ValueError, match="reduction must be one of"):
        L.mse(z, z, reduction="avg")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_and_probability_cross_entropy_pass_central_differences(reduction, rng):
    z, y = _cls(rng)
    dout = np.array(1.0) if reduction != "none" else rng.standard_normal(6)
    logp = torch.log_softmax(torch.tensor(z), 1).numpy()
    assert check_gradients(lambda a: L.nll_loss_forward(a, y, reduction), L.nll_loss_backward,
                           [logp], dout=dout)[0] < 1e-7
    p = torch.softmax(torch.tensor(z), 1).numpy()
    assert check_gradients(lambda a: L.cross_entropy_from_probs_forward(a, y, reduction),
                           L.cross_entropy_from_probs_backward, [p], dout=dout)[0] < 1e-6


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("which", ["cross_entropy", "nll_loss", "cross_entropy_from_probs"])
def test_a_single_row_of_scores_matches_torch(backend, dtype, which, reduction):
    """(C,) scores with a 0-d target: torch's loss and gradient shapes and values."""
    z = np.array([1.0, 2.0, -0.5, 0.3])
    target = np.array(1)
    tz = torch.tensor(z, dtype=getattr(torch, dtype), requires_grad=True)
    if which == "cross_entropy":
        inp, tinp = z, tz
        ref = torch.nn.functional.cross_entropy(tinp, torch.tensor(1), reduction=reduction)
    else:
        logp = z - np.log(np.exp(z).sum())
        inp = logp if which == "nll_loss" else np.exp(logp)
        tinp = torch.tensor(inp, dtype=getattr(torch, dtype), requires_grad=True)
        base = tinp if which == "nll_loss" else torch.log(tinp)
        ref = torch.nn.functional.nll_loss(base, torch.tensor(1), reduction=reduction)
    ref.backward()
    out, cache = getattr(L, which + "_forward")(to_backend(inp, backend, dtype), to_backend(target, backend),
                                                       reduction=reduction)
    assert_same_kind(out, backend, dtype)
    assert tuple(out.shape) == tuple(ref.shape) == ()
    assert_close(out, ref.detach(), dtype)
    grad = getattr(L, which + "_backward")(to_backend(np.array(1.0), backend, dtype), cache)
    assert tuple(grad.shape) == (4,)
    assert_close(grad, tinp.grad, dtype)
