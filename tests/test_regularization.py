"""course.regularization: penalties, clipping, early stopping, augmentation."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course import losses, optim
from course import regularization as R
from course.gradcheck import check_gradients
from course.nn import Parameter, mlp

from conftest import assert_close, to_backend, to_np

pytestmark = pytest.mark.regularization


def test_penalties_and_gradients(backend, dtype, rng):
    ws = [rng.standard_normal((3, 4)), rng.standard_normal(4)]
    wb = [to_backend(w, backend, dtype) for w in ws]
    assert float(R.l1_penalty(wb, 0.3)) == pytest.approx(0.3 * sum(np.abs(w).sum() for w in ws), rel=1e-5)
    assert float(R.l2_penalty(wb, 0.3)) == pytest.approx(0.15 * sum((w ** 2).sum() for w in ws), rel=1e-5)
    # autograd on torch agrees with our gradients
    tw = [torch.tensor(w, requires_grad=True) for w in ws]
    (0.3 * sum(t.abs().sum() for t in tw) + 0.15 * sum((t ** 2).sum() for t in tw)).backward()
    _, c1 = R.l1_penalty_forward(wb, 0.3)
    _, c2 = R.l2_penalty_forward(wb, 0.3)
    for g1, g2, t in zip(R.l1_penalty_backward(1.0, c1), R.l2_penalty_backward(1.0, c2), tw):
        assert_close(to_np(g1) + to_np(g2), t.grad, dtype)


def test_penalty_gradcheck(rng):
    w = rng.standard_normal((3, 3))
    for fwd, bwd in ((R.l1_penalty_forward, R.l1_penalty_backward), (R.l2_penalty_forward, R.l2_penalty_backward)):
        err = check_gradients(lambda a: fwd([a], 0.7), bwd, [w], dout=np.array(1.0))
        assert err[0] < 1e-7


def test_l2_penalty_equals_sgd_weight_decay_but_not_adam_decay(rng):
    w0, g = rng.standard_normal(5), rng.standard_normal(5)
    a, b = Parameter(w0.copy()), Parameter(w0.copy())
    sgd_pen, sgd_wd = optim.SGD([a], lr=0.1), optim.SGD([b], lr=0.1, weight_decay=0.2)
    for _ in range(10):
        a.grad, b.grad = g.copy(), g.copy()
        R.add_penalty_gradients([a], 0.2, "l2")
        sgd_pen.step()
        sgd_wd.step()
    np.testing.assert_allclose(a.data, b.data)
    c, d = Parameter(w0.copy()), Parameter(w0.copy())
    adam_l2, adamw = optim.Adam([c], lr=0.1, weight_decay=0.2), optim.AdamW([d], lr=0.1, weight_decay=0.2)
    for _ in range(10):
        c.grad, d.grad = g.copy(), g.copy()
        adam_l2.step()
        adamw.step()
    assert not np.allclose(c.data, d.data)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_clip_grad_norm_matches_torch(norm_type, rng):
    grads = [rng.standard_normal((4, 3)) * 5, rng.standard_normal(3) * 5]
    ps = [Parameter(np.zeros_like(g)) for g in grads]
    for p, g in zip(ps, grads):
        p.grad = g.copy()
    ts = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for t, g in zip(ts, grads):
        t.grad = torch.tensor(g)
    total = R.clip_grad_norm(ps, 1.5, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(ts, 1.5, norm_type)
    assert total == pytest.approx(float(ttotal))
    for p, t in zip(ps, ts):
        assert_close(p.grad, t.grad)


def test_clip_grad_value_and_max_norm():
    p = Parameter(np.array([[3.0, 4.0], [0.3, 0.4]]))
    p.grad = np.array([[-5.0, 0.5], [2.0, -0.1]])
    R.clip_grad_value([p], 1.0)
    np.testing.assert_array_equal(p.grad, [[-1.0, 0.5], [1.0, -0.1]])
    R.max_norm_(p, 2.0)
    np.testing.assert_allclose(np.linalg.norm(p.data, axis=1), [2.0, 0.5])


def test_early_stopping():
    es = R.EarlyStopping(patience=2)
    model = mlp([2, 2], rng=0)
    losses_seen = [1.0, 0.8, 0.9, 0.85, 0.95]
    stops = []
    for i, v in enumerate(losses_seen):
        if i == 1:
            best = model.state_dict()
        stops.append(es.step(v, model))
        model.parameters()[0].data = model.parameters()[0].data + 1.0
    assert stops == [False, False, False, False, True]
    assert es.best == 0.8 and es.best_epoch == 1
    es.restore(model)
    np.testing.assert_array_equal(model.parameters()[0].data, best["0.weight"])
    with pytest.raises(ValueError, match="NaN"):
        R.EarlyStopping().step(float("nan"))


def test_label_smoothing_matches_torch(backend, dtype, rng):
    z, y = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    zb, yb = to_backend(z, backend, dtype), to_backend(y, backend)
    soft = R.smooth_labels(yb, 4, 0.1, dtype=zb.dtype)
    np.testing.assert_allclose(to_np(soft).sum(1), 1.0, rtol=1e-6)
    ref = F.cross_entropy(torch.tensor(z), torch.tensor(y), label_smoothing=0.1)
    assert_close(losses.cross_entropy(zb, soft), ref, dtype)
    assert_close(losses.cross_entropy(zb, yb, label_smoothing=0.1), ref, dtype)


def test_augmentation(backend, rng):
    imgs = to_backend(rng.standard_normal((5, 2, 6, 6)), backend)
    flipped = R.random_flip(imgs, p=1.0, rng=0)
    np.testing.assert_array_equal(to_np(flipped), to_np(imgs)[..., ::-1])
    np.testing.assert_array_equal(to_np(R.random_flip(flipped, p=1.0, rng=0)), to_np(imgs))
    np.testing.assert_array_equal(to_np(R.random_flip(imgs, p=0.0, rng=0)), to_np(imgs))
    np.testing.assert_allclose(to_np(R.random_rotation(imgs, degrees=0.0, rng=0)), to_np(imgs), atol=1e-12)
    crop = R.random_crop(imgs, 4, rng=0)
    assert tuple(crop.shape) == (5, 2, 4, 4)
    shifted = R.random_crop(imgs, 6, padding=2, rng=0)
    assert tuple(shifted.shape) == (5, 2, 6, 6)
    assert type(shifted) is type(imgs)
    out = R.augment(imgs, rng=1)
    assert tuple(out.shape) == tuple(imgs.shape)


def test_rotation_by_90_degrees_is_exact():
    img = np.arange(16.0).reshape(1, 1, 4, 4)
    np.testing.assert_allclose(R.rotate(img, [90.0])[0, 0], np.rot90(img[0, 0], 1), atol=1e-12)
    np.testing.assert_allclose(R.rotate(img, [-90.0])[0, 0], np.rot90(img[0, 0], -1), atol=1e-12)
    half = R.rotate(np.ones((1, 1, 8, 8)), [45.0], fill=0.0)
    assert half[0, 0, 0, 0] == 0.0 and half[0, 0, 4, 4] == pytest.approx(1.0)


def test_crop_too_large():
    with pytest.raises(ValueError, match=r"crop size \(9, 9\) is larger than the padded image \(8, 8\)"):
        R.random_crop(np.zeros((1, 1, 8, 8)), 9)
