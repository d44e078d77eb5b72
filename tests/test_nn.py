"""course.nn modules: whole networks against torch.nn, and the module machinery."""

import numpy as np
import pytest
import torch

from course import nn
from course.gradcheck import numerical_gradient
from course.torch_models import to_torch

from conftest import CUDA, NO_CUDA, assert_close, to_np

pytestmark = pytest.mark.nn


def _torch_grads(tmodel, X, y, loss=torch.nn.functional.cross_entropy):
    tx = torch.tensor(X, requires_grad=True)
    out = tmodel(tx)
    loss(out, torch.tensor(y)).backward()
    return out.detach().numpy(), tx.grad.numpy(), [p.grad.numpy() for p in tmodel.parameters()]


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "gelu", "leaky_relu", "silu"])
def test_mlp_forward_backward_matches_torch(activation, rng):
    model = nn.mlp([5, 7, 6, 3], activation=activation, rng=0)
    X, y = rng.standard_normal((8, 5)), rng.integers(0, 3, 8)
    loss_fn = nn.CrossEntropyLoss()
    out = model(X)
    loss_fn(out, y)
    model.zero_grad()
    dx = model.backward(loss_fn.backward())
    ref_out, ref_dx, ref_grads = _torch_grads(to_torch(model), X, y)
    assert_close(out, ref_out)
    assert_close(dx, ref_dx)
    for p, g in zip(model.parameters(), ref_grads):
        assert_close(p.grad, g, what=p.name)


def test_whole_mlp_passes_central_differences(rng):
    model = nn.mlp([4, 5, 3], activation="tanh", rng=1)
    X, y = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    loss_fn = nn.CrossEntropyLoss()
    loss_fn(model(X), y)
    model.zero_grad()
    model.backward(loss_fn.backward())
    for p in model.parameters():
        analytic = p.grad.copy()

        def loss_at(value, p=p):
            old = p.data
            p.data = value
            try:
                return loss_fn(model(X), y)
            finally:
                p.data = old

        num = numerical_gradient(loss_at, p.data)
        np.testing.assert_allclose(analytic, num, rtol=1e-6, atol=1e-9)


def test_cnn_matches_torch(rng):
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, rng=0), nn.ReLU(), nn.MaxPool2d(kernel_size=2),
                          nn.Conv2d(4, 2, 3, stride=1, rng=1), nn.AvgPool2d(kernel_size=1), nn.Flatten(),
                          nn.Linear(2 * 2 * 2, 3, rng=2))
    tmodel = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                 torch.nn.Conv2d(4, 2, 3), torch.nn.AvgPool2d(1), torch.nn.Flatten(),
                                 torch.nn.Linear(8, 3)).double()
    with torch.no_grad():
        for p, tp in zip(model.parameters(), tmodel.parameters()):
            tp.copy_(torch.tensor(p.data))
    X, y = rng.standard_normal((5, 1, 8, 8)), rng.integers(0, 3, 5)
    loss_fn = nn.CrossEntropyLoss()
    out = model(X)
    loss_fn(out, y)
    dx = model.backward(loss_fn.backward())
    ref_out, ref_dx, ref_grads = _torch_grads(tmodel, X, y)
    assert_close(out, ref_out)
    assert_close(dx, ref_dx)
    for p, g in zip(model.parameters(), ref_grads):
        assert_close(p.grad, g)


def test_batchnorm_and_dropout_modules_follow_train_and_eval(rng):
    bn = nn.BatchNorm1d(3)
    tbn = torch.nn.BatchNorm1d(3).double()
    for _ in range(5):
        X = rng.standard_normal((10, 3)) * 3 + 2
        assert_close(bn(X), tbn(torch.tensor(X)).detach())
    assert_close(bn.running_mean, tbn.running_mean)
    assert_close(bn.running_var, tbn.running_var)
    bn.eval()
    tbn.eval()
    one = rng.standard_normal((1, 3))
    assert_close(bn(one), tbn(torch.tensor(one)).detach())

    drop = nn.Dropout(0.5, rng=0)
    X = np.ones((20, 20))
    assert (drop(X) == 0).any()
    drop.eval()
    np.testing.assert_array_equal(drop(X), X)
    np.testing.assert_array_equal(drop.backward(X), X)


def test_prelu_rnn_embedding_modules(rng):
    pr = nn.PReLU(3)
    x = rng.standard_normal((4, 3))
    pr(x)
    pr.backward(np.ones((4, 3)))
    np.testing.assert_allclose(pr.weight.grad, np.where(x <= 0, x, 0).sum(0))
    rnn = nn.RNN(3, 5, batch_first=True, rng=0)
    out = rnn(rng.standard_normal((2, 4, 3)))
    assert out.shape == (2, 4, 5)
    rnn.backward(np.ones_like(out))
    assert rnn.weight_hh.grad.shape == (5, 5) and rnn.dh0.shape == (2, 5)
    emb = nn.Embedding(10, 4, padding_idx=0, rng=0)
    out = emb(np.array([[0, 3], [3, 9]]))
    assert out.shape == (2, 2, 4) and not out[0, 0].any()
    emb.backward(np.ones((2, 2, 4)))
    np.testing.assert_allclose(emb.weight.grad[3], 2.0)
    assert not emb.weight.grad[0].any()


def test_module_machinery(rng):
    model = nn.mlp([4, 8, 8, 2], dropout=0.2, batch_norm=True, rng=0)
    names = [n for n, _ in model.named_parameters()]
    assert names[:4] == ["0.weight", "0.bias", "1.weight", "1.bias"]  # as torch names them
    assert model.num_parameters() == (4 * 8 + 8) + 16 + (8 * 8 + 8) + 16 + (8 * 2 + 2)
    model.eval()
    assert not any(m.training for m in model.modules())
    model.train()
    state = model.state_dict()
    assert "1.running_mean" in state
    X = rng.standard_normal((6, 4))
    model(X)  # changes running stats
    model.load_state_dict(state)
    np.testing.assert_array_equal(model.layers[1].running_mean, state["1.running_mean"])
    with pytest.raises(KeyError, match="missing"):
        model.load_state_dict({})
    loss_fn = nn.MSELoss()
    loss_fn(model(X), np.zeros((6, 2)))
    model.backward(loss_fn.backward())
    assert all(p.grad is not None for p in model.parameters())
    first = model.parameters()[0].grad.copy()
    loss_fn(model(X), np.zeros((6, 2)))
    model.backward(loss_fn.backward())  # gradients accumulate, as in torch
    assert not np.allclose(model.parameters()[0].grad, first)
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_errors_are_clear():
    with pytest.raises(RuntimeError, match="backward called before forward"):
        nn.Linear(2, 3).backward(np.ones((1, 3)))
    with pytest.raises(ValueError, match="sizes must list at least 2"):
        nn.mlp([4])
    with pytest.raises(ValueError, match="unknown activation 'rleu'"):
        nn.mlp([2, 2, 2], activation="rleu")
    with pytest.raises(TypeError, match="Sequential item 1 is a int"):
        nn.Sequential(nn.ReLU(), 3)
    with pytest.raises(ValueError, match=r"x has 3 features .* weight expects 4"):
        nn.Linear(4, 2)(np.ones((5, 3)))
    with pytest.raises(ValueError, match="BatchNorm1d expects 2-D or 3-D"):
        nn.BatchNorm1d(3)(np.ones((2, 3, 4, 4)))


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=[pytest.mark.cuda,
                                                                       pytest.mark.skipif(not CUDA, reason=NO_CUDA)])])
def test_same_model_runs_on_torch_tensors(device, rng):
    model = nn.mlp([5, 6, 3], batch_norm=True, rng=0)
    X, y = rng.standard_normal((7, 5)), rng.integers(0, 3, 7)
    loss_fn = nn.CrossEntropyLoss()
    loss_np = loss_fn(model(X), y)
    model.backward(loss_fn.backward())
    grads_np = [p.grad.copy() for p in model.parameters()]
    model.to("torch", device=device)
    tX, ty = torch.tensor(X, device=device), torch.tensor(y, device=device)
    loss_t = loss_fn(model(tX), ty)
    assert torch.is_tensor(loss_t) and loss_t.device.type == device
    model.backward(loss_fn.backward())
    assert float(loss_t) == pytest.approx(float(loss_np), rel=1e-12)
    for p, g in zip(model.parameters(), grads_np):
        assert p.grad.device.type == device
        np.testing.assert_allclose(to_np(p.grad), g, rtol=1e-10, atol=1e-12)
    model.to("numpy")
    assert isinstance(model.parameters()[0].data, np.ndarray)


class _EncoderDecoder(nn.Module):
    """Two lists of layers, a tuple, a dict of heads and a plain child: every kind of child."""

    def __init__(self, rng=0):
        super().__init__()
        rng = np.random.default_rng(rng)
        self.encoder = [nn.Linear(4, 6, rng=rng), nn.Tanh(), nn.Linear(6, 3, rng=rng)]
        self.decoder = [nn.Linear(3, 6, rng=rng), nn.Tanh(), nn.Linear(6, 4, rng=rng)]
        self.skip = (nn.Linear(4, 4, rng=rng),)
        self.heads = {"mean": nn.Linear(4, 2, rng=rng), "scale": nn.Linear(4, 2, bias=False, rng=rng)}
        self.out = nn.Linear(4, 1, rng=rng)

    def forward(self, x):
        for layer in self.encoder + self.decoder:
            x = layer(x)
        x = x + self.skip[0](x)
        return self.out(x) + self.heads["mean"](x)[:, :1] * self.heads["scale"](x)[:, 1:]


class _TorchEncoderDecoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        lin, tanh = torch.nn.Linear, torch.nn.Tanh
        self.encoder = torch.nn.ModuleList([lin(4, 6), tanh(), lin(6, 3)])
        self.decoder = torch.nn.ModuleList([lin(3, 6), tanh(), lin(6, 4)])
        self.skip = torch.nn.ModuleList([lin(4, 4)])
        self.heads = torch.nn.ModuleDict({"mean": lin(4, 2), "scale": lin(4, 2, bias=False)})
        self.out = lin(4, 1)


EXPECTED_NAMES = ["encoder.0.weight", "encoder.0.bias", "encoder.2.weight", "encoder.2.bias",
                  "decoder.0.weight", "decoder.0.bias", "decoder.2.weight", "decoder.2.bias",
                  "skip.0.weight", "skip.0.bias", "heads.mean.weight", "heads.mean.bias",
                  "heads.scale.weight", "out.weight", "out.bias"]


def test_children_in_lists_tuples_and_dicts_are_named_as_torch_names_them():
    model = _EncoderDecoder()
    assert [n for n, _ in model.named_parameters()] == EXPECTED_NAMES
    assert list(model.state_dict()) == EXPECTED_NAMES
    assert set(model.state_dict()) == set(_TorchEncoderDecoder().state_dict())
    assert len(model.parameters()) == len(EXPECTED_NAMES)
    kids = list(model.children())
    assert model.heads["mean"] in kids and model.heads["scale"] in kids and model.out in kids
    assert len(kids) == 3 + 3 + 1 + 2 + 1


def test_sequential_and_mlp_keep_torch_sequential_names():
    model = nn.mlp([4, 8, 2], rng=0)
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert set(model.state_dict()) == set(to_torch(model).state_dict())
    nested = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
    assert list(nested.state_dict()) == ["0.weight", "0.bias", "1.1.weight", "1.1.bias"]


def test_state_dict_round_trip_with_list_and_dict_children(rng):
    source, target = _EncoderDecoder(rng=1), _EncoderDecoder(rng=2)
    X = rng.standard_normal((5, 4))
    assert not np.allclose(source(X), target(X))
    target.load_state_dict(source.state_dict())
    np.testing.assert_array_equal(target(X), source(X))
    # each list got its own weights back, not the same "0.weight" twice
    np.testing.assert_array_equal(target.encoder[0].weight.data, source.encoder[0].weight.data)
    np.testing.assert_array_equal(target.decoder[0].weight.data, source.decoder[0].weight.data)
    assert target.encoder[0].weight.shape != target.decoder[0].weight.shape
    np.testing.assert_array_equal(target.heads["scale"].weight.data, source.heads["scale"].weight.data)
    # the state is a copy: changing the source afterwards leaves the target alone
    source.heads["mean"].bias.data[...] = 7.0
    assert not np.any(target.heads["mean"].bias.data == 7.0)


def test_load_state_dict_names_missing_and_unexpected_keys():
    model = _EncoderDecoder()
    state = model.state_dict()
    missing = dict(state)
    del missing["decoder.2.bias"]
    with pytest.raises(KeyError, match=r"missing \['decoder\.2\.bias'\]"):
        model.load_state_dict(missing)
    with pytest.raises(KeyError, match=r"unexpected \['heads\.extra\.weight'\]"):
        model.load_state_dict({**state, "heads.extra.weight": np.zeros((2, 4))})
    with pytest.raises(KeyError, match=r"unexpected \['0\.weight'\]"):
        model.load_state_dict({**state, "0.weight": np.zeros((6, 4))})  # the old, ambiguous name


def test_module_machinery_reaches_list_tuple_and_dict_children(rng):
    model = _EncoderDecoder()
    X = rng.standard_normal((5, 4))
    model.eval()
    assert not any(m.training for m in model.modules())
    assert not model.heads["scale"].training and not model.skip[0].training
    model.train()
    assert all(m.training for m in model.modules())
    for p in model.parameters():
        p.grad = np.ones(p.shape)
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    expected = model(X)
    model.to("torch", dtype=torch.float64)
    for name, value in model.state_dict().items():
        assert torch.is_tensor(value), name
    assert_close(model(torch.tensor(X)), expected)
    model.to("numpy")
    assert all(isinstance(p.data, np.ndarray) for p in model.parameters())


def test_shared_parameters_are_listed_once_as_in_torch():
    shared = nn.Linear(3, 3, rng=0)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    tmodel = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.ReLU())
    tmodel.append(tmodel[0])
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in tmodel.named_parameters()]
    assert len(model.parameters()) == 2 and len(list(model.modules())) == len(list(tmodel.modules()))
