"""The figures the chapters need. Each function draws on ``ax`` (a new figure
when None), always sets a title, axis labels and, where there is more than
one curve, a legend, and returns the axes.
"""

from __future__ import annotations

import numpy as np

from . import activations as A
from ._backend import to_numpy

__all__ = ["plot_activations", "plot_decision_boundary", "plot_history",
           "plot_trajectories", "plot_loss_curve"]


def _axes(ax, figsize=(6, 4)):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_activations(names=("sigmoid", "tanh", "relu", "leaky_relu", "gelu", "swish"),
                     derivative: bool = False, x_range=(-5.0, 5.0), ax=None):
    """Curves of the named activations (or of their derivatives)."""
    ax = _axes(ax)
    x = np.linspace(*x_range, 801)
    for name in names:
        try:
            fn, dfn = A.ELEMENTWISE[name]
        except KeyError:
            raise ValueError(f"unknown activation {name!r}; choose from {sorted(A.ELEMENTWISE)}") from None
        ax.plot(x, (dfn if derivative else fn)(x), label=name)
    ax.axhline(0, color="grey", lw=0.5)
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_title("Derivatives of activation functions" if derivative else "Activation functions")
    ax.set_xlabel("pre-activation z")
    ax.set_ylabel("f'(z)" if derivative else "f(z)")
    ax.legend()
    return ax


def plot_decision_boundary(predict, X, y, ax=None, resolution: int = 200, title: str = "Decision regions"):
    """Colour the plane by ``predict`` (points (M, 2) -> class labels or scores) and overlay the data."""
    ax = _axes(ax, (5, 5))
    X, y = to_numpy(X), to_numpy(y)
    pad = 0.5
    xs = np.linspace(X[:, 0].min() - pad, X[:, 0].max() + pad, resolution)
    ys = np.linspace(X[:, 1].min() - pad, X[:, 1].max() + pad, resolution)
    gx, gy = np.meshgrid(xs, ys)
    out = to_numpy(predict(np.column_stack([gx.ravel(), gy.ravel()])))
    labels = out.argmax(axis=1) if out.ndim == 2 else out
    classes = np.unique(np.concatenate([np.unique(y), np.unique(labels)])).astype(int)
    colours = [f"C{c % 10}" for c in range(classes.max() + 1)]
    # one colour per class, shared by the regions and the points
    ax.contourf(gx, gy, labels.reshape(gx.shape), levels=np.arange(len(colours) + 1) - 0.5,
                colors=colours, alpha=0.25)
    for c in np.unique(y):
        ax.scatter(*X[y == c].T, s=12, color=colours[int(c)], label=f"class {c}", edgecolors="k", linewidths=0.3)
    ax.set_title(title)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(loc="best")
    return ax


def plot_loss_curve(values, ax=None, label: str = "loss", title: str = "Loss per step", xlabel: str = "step"):
    """One loss value per step, plotted against the step number (1, 2, ...).

    ``values`` is a sequence of numbers (e.g. the losses of a training loop);
    ``label``, ``title`` and ``xlabel`` name the curve and the axes. Draws on
    ``ax`` (a new figure when None) and returns the axes.
    """
    ax = _axes(ax)
    ax.plot(np.arange(1, len(values) + 1), values, label=label)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    ax.legend()
    return ax


def plot_history(history, axes=None):
    """Loss and accuracy curves (train and validation) from a :class:`course.train.History`."""
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    h = history.as_dict() if hasattr(history, "as_dict") else dict(history)
    for ax, key, name in ((axes[0], "loss", "Loss"), (axes[1], "acc", "Accuracy")):
        for part in ("train", "val"):
            vals = [v for v in h.get(f"{part}_{key}", []) if v is not None]
            if vals:
                ax.plot(np.arange(1, len(vals) + 1), vals, label="train" if part == "train" else "validation")
        ax.set_title(f"{name} per epoch")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name.lower())
        ax.legend()
    return axes


def plot_trajectories(surface, paths: dict, ax=None, levels: int = 30):
    """Contours of a :class:`course.surfaces.Surface` with optimizer paths on top.

    ``paths`` maps a label (e.g. "Adam, lr=0.1") to an array (steps, 2).
    """
    ax = _axes(ax, (6, 5))
    x0, x1, y0, y1 = surface.extent
    gx, gy = np.meshgrid(np.linspace(x0, x1, 300), np.linspace(y0, y1, 300))
    z = surface.f(gx, gy)
    z = np.log1p(z - z.min())  # log scale shows valleys and plateaus alike
    ax.contour(gx, gy, z, levels=levels, cmap="viridis", linewidths=0.6)
    for label, path in paths.items():
        path = np.asarray(path)
        ax.plot(path[:, 0], path[:, 1], marker=".", ms=3, lw=1, label=label)
    for i, (mx, my) in enumerate(surface.minima):
        ax.plot(mx, my, "k*", ms=10, label="minimum" if i == 0 else None)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_title(f"Optimizer trajectories on the {surface.name} surface")
    ax.set_xlabel("$\\theta_1$")
    ax.set_ylabel("$\\theta_2$")
    ax.legend(loc="best", fontsize="small")
    return ax
