"""course.train, course.neurons and course.torch_models: training that works."""

import numpy as np
import pytest
import torch

from course import data, nn, optim, train
from course.bench import train_digits
from course.neurons import (Perceptron, collapse_linear, count_parameters, dense, layer_shapes, neuron,
                            xor_forward, xor_network)
from course.regularization import EarlyStopping
from course.torch_models import TorchMLP, to_torch, train_torch

pytestmark = pytest.mark.train


def _digits():
    (Xtr, ytr), (Xva, yva), (Xte, yte) = data.train_val_test_split(*data.load_digits(), 0.1, 0.2, rng=0)
    sc = data.Standardizer().fit(Xtr)
    return (sc.transform(Xtr), ytr), (sc.transform(Xva), yva), (sc.transform(Xte), yte)


def test_mlp_with_adam_reaches_97_percent_on_digits():
    acc, _, epochs = train_digits(0)
    assert acc >= 0.97, f"test accuracy {acc:.4f} after {epochs} epochs"


def test_fit_records_history_and_early_stopping_restores_best():
    (Xtr, ytr), (Xva, yva), _ = _digits()
    model = nn.mlp([64, 32, 10], rng=0)
    es = EarlyStopping(patience=2)
    hist = train.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.05), Xtr, ytr, Xva, yva,
                     epochs=60, batch_size=64, early_stopping=es, progress=False, rng=0)
    assert hist.stopped_epoch is not None and len(hist.val_loss) < 60
    assert hist.train_loss[-1] < hist.train_loss[0]
    loss_now, _ = train.evaluate(model, nn.CrossEntropyLoss(), Xva, yva)
    assert loss_now == pytest.approx(min(hist.val_loss))
    assert hist.best_epoch == int(np.argmin(hist.val_loss))


def test_fit_is_reproducible_and_progress_bar_can_be_off(capsys):
    (Xtr, ytr), _, _ = _digits()
    runs = []
    for _ in range(2):
        model = nn.mlp([64, 16, 10], dropout=0.1, rng=1)
        runs.append(train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                              Xtr, ytr, epochs=3, progress=False, rng=5).train_loss)
    assert runs[0] == runs[1]
    assert capsys.readouterr().err == ""
    model = nn.mlp([64, 16, 10], rng=1)
    train.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), Xtr, ytr, epochs=2,
              progress=True, rng=5)
    assert "training" in capsys.readouterr().err


def test_diverging_training_says_so():
    (Xtr, ytr), _, _ = _digits()
    model = nn.mlp([64, 16, 10], rng=1)
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        with np.errstate(all="ignore"):
            train.fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=50.0), Xtr,
                      np.eye(10)[ytr] * 1e3, epochs=5, progress=False, classification=False)


def test_vanishing_gradients_in_deep_sigmoid_net():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 10)), rng.integers(0, 2, 64)
    ratios = {}
    for act in ("sigmoid", "relu"):
        model = nn.mlp([10] + [32] * 8 + [2], activation=act, init="xavier" if act == "sigmoid" else "he", rng=0)
        loss_fn = nn.CrossEntropyLoss()
        loss_fn(model(X), y)
        model.backward(loss_fn.backward())
        norms = [n for _, n in train.gradient_norms(model)]
        ratios[act] = norms[0] / norms[-1]
    assert ratios["sigmoid"] < 1e-3  # first layer gets a tiny fraction of the last layer's gradient
    assert ratios["relu"] > 100 * ratios["sigmoid"]


def test_dead_relus_are_counted():
    model = nn.mlp([2, 8, 2], rng=0)
    X = np.random.default_rng(0).standard_normal((100, 2))
    assert train.dead_relu_fraction(model, X)[0] < 0.5
    model[0].bias.data = model[0].bias.data - 100.0
    assert train.dead_relu_fraction(model, X) == [1.0]


def test_one_hidden_layer_approximates_sin_better_as_width_grows():
    errors = [train.fit_function_1d(np.sin, width, epochs=1500)[1] for width in (1, 4, 32)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 0.05


def test_nets_without_activations_fail_on_xor_relu_nets_solve_it():
    X, y = data.make_xor(n=400, noise=0.1, rng=0)
    accs = {}
    for act in ("identity", "relu"):
        model = nn.mlp([2, 16, 16, 2], activation=act, rng=0)
        train.fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01), X, y, epochs=60,
                  progress=False, rng=0)
        accs[act] = train.accuracy(train.predict(model, X), y)
    assert accs["identity"] < 0.8 and accs["relu"] > 0.97


# ---------------------------------------------------------------- neurons
def test_neuron_and_dense():
    x, w = np.array([1.0, -2.0, 0.5]), np.array([0.5, 0.25, 2.0])
    assert neuron(x, w, 0.1, activation=None) == pytest.approx(0.5 - 0.5 + 1.0 + 0.1)
    assert neuron(x, w, -2.0) == 0.0
    W, b = np.arange(6.0).reshape(2, 3), np.array([1.0, -1.0])
    np.testing.assert_allclose(dense(x, W, b), W @ x + b)
    np.testing.assert_allclose(dense(np.stack([x, x]), W, b), np.stack([W @ x + b] * 2))
    with pytest.raises(ValueError, match=r"a has 2 inputs but W expects 3"):
        dense(np.ones(2), W, b)


def test_layer_shapes_and_counts():
    assert layer_shapes([3, 4, 1]) == [((4, 3), (4,)), ((1, 4), (1,))]
    assert count_parameters([3, 4, 1]) == {"weights": 16, "biases": 5, "total": 21}
    assert count_parameters([64, 32, 10])["total"] == nn.mlp([64, 32, 10]).num_parameters()
    with pytest.raises(ValueError, match="at least 2 positive"):
        layer_shapes([3, 0, 1])


def test_perceptron_learns_and_or_but_not_xor():
    X, _ = data.make_xor(corners_only=True)
    for name, y, ok in (("and", [0, 0, 0, 1], True), ("or", [0, 1, 1, 1], True), ("xor", [0, 1, 1, 0], False)):
        p = Perceptron(2)
        assert p.fit(X, np.array(y), max_epochs=50) is ok, name
        if ok:
            np.testing.assert_array_equal(p.predict(X), y)
        else:
            assert min(p.errors) > 0


def test_stacked_linear_layers_collapse():
    rng = np.random.default_rng(0)
    Ws = [rng.standard_normal((5, 3)), rng.standard_normal((4, 5)), rng.standard_normal((2, 4))]
    bs = [rng.standard_normal(5), rng.standard_normal(4), rng.standard_normal(2)]
    W, b = collapse_linear(Ws, bs)
    x = rng.standard_normal(3)
    h = x
    for Wi, bi in zip(Ws, bs):
        h = Wi @ h + bi
    np.testing.assert_allclose(W @ x + b, h)
    with pytest.raises(ValueError, match="layer 1 expects 4 inputs but layer 0 gives 5"):
        collapse_linear([Ws[0], Ws[2]], bs[:2])


def test_hand_built_xor_network():
    X, y = data.make_xor(corners_only=True)
    np.testing.assert_allclose(xor_forward(X), y)
    assert len(xor_network()) == 4


# ---------------------------------------------------------------- the same model in torch
def test_torch_version_trains_and_to_torch_matches():
    (Xtr, ytr), _, (Xte, yte) = _digits()
    torch.manual_seed(0)
    model = TorchMLP([64, 64, 10]).double()
    losses = train_torch(model, Xtr, ytr, epochs=15, lr=3e-3)
    assert losses[-1] < 0.3 * losses[0]
    with torch.no_grad():
        acc = (model(torch.tensor(Xte)).argmax(1).numpy() == yte).mean()
    assert acc > 0.95
    ours = nn.mlp([64, 16, 10], activation="gelu", batch_norm=True, rng=0).eval()
    np.testing.assert_allclose(to_torch(ours).eval()(torch.tensor(Xte)).detach().numpy(), ours(Xte), rtol=1e-10)
