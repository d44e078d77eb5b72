"""course.plots: every figure has a title, labelled axes and a legend."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from course import nn, optim, plots  # noqa: E402
from course.data import make_moons  # noqa: E402
from course.surfaces import SURFACES, trajectory  # noqa: E402
from course.train import History  # noqa: E402

pytestmark = pytest.mark.plots


def _labelled(ax, n_legend=None):
    assert ax.get_title(), "figure needs a title"
    assert ax.get_xlabel() and ax.get_ylabel(), "axes need labels"
    legend = ax.get_legend()
    assert legend is not None, "figure needs a legend"
    if n_legend is not None:
        assert len(legend.get_texts()) == n_legend


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_activation_curves_and_derivatives():
    ax = plots.plot_activations(("sigmoid", "relu", "gelu"))
    _labelled(ax, 3)
    ax = plots.plot_activations(("sigmoid", "tanh"), derivative=True)
    _labelled(ax, 2)
    assert "Derivative" in ax.get_title()
    assert max(ax.get_lines()[0].get_ydata()) == pytest.approx(0.25, abs=1e-4)
    with pytest.raises(ValueError, match="unknown activation 'softsign'"):
        plots.plot_activations(("softsign",))


def test_decision_boundary():
    X, y = make_moons(100, rng=0)
    model = nn.mlp([2, 8, 2], rng=0)
    _labelled(plots.plot_decision_boundary(model, X, y, resolution=50), 2)


def test_history_and_loss_curve():
    h = History(train_loss=[1.0, 0.5], val_loss=[1.1, 0.7], train_acc=[0.5, 0.8], val_acc=[0.4, 0.7])
    for ax in plots.plot_history(h):
        _labelled(ax, 2)
    _labelled(plots.plot_loss_curve([3, 2, 1]), 1)


def test_trajectories():
    s = SURFACES["rosenbrock"]
    paths = {"GD": trajectory(optim.GD, s, steps=50, lr=1e-3), "Adam": trajectory(optim.Adam, s, steps=50, lr=0.05)}
    ax = plots.plot_trajectories(s, paths)
    _labelled(ax, 3)
    assert "rosenbrock" in ax.get_title()
