"""Training loop and diagnostics for :mod:`course.nn` models.

One step of training is always the same five moves:

1. forward: ``y_hat = model(X_batch)``
2. loss: ``loss = loss_fn(y_hat, y_batch)``
3. zero the gradients: ``optimizer.zero_grad()``
4. backward: ``model.backward(loss_fn.backward())``
5. step: ``optimizer.step()``

(``zero_grad`` may equally come right after the step; what matters is that
gradients from one batch do not leak into the next.) :func:`fit` runs that
over mini-batches for a number of epochs, evaluates on validation data,
records a history and can stop early.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._backend import namespace, to_numpy
from .data import minibatches
from .regularization import EarlyStopping, clip_grad_norm

__all__ = ["History", "fit", "evaluate", "accuracy", "predict",
           "gradient_norms", "dead_relu_fraction", "fit_function_1d"]


@dataclass
class History:
    """Per-epoch records of a training run."""

    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    stopped_epoch: int | None = None
    best_epoch: int | None = None

    def as_dict(self) -> dict:
        return {"train_loss": self.train_loss, "train_acc": self.train_acc,
                "val_loss": self.val_loss, "val_acc": self.val_acc}


def accuracy(scores, y) -> float:
    """Fraction of rows whose largest score is at the true class."""
    scores, y = to_numpy(scores), to_numpy(y)
    if scores.ndim != 2 or y.shape != (scores.shape[0],):
        raise ValueError(f"accuracy needs scores (N, C) and labels (N,), got {scores.shape} and {y.shape}")
    return float(np.mean(np.argmax(scores, axis=1) == y)) if len(y) else float("nan")


def predict(model, X, batch_size: int = 1024):
    """Model outputs for ``X`` in evaluation mode, batch by batch (mode restored after)."""
    was_training = model.training
    model.eval()
    try:
        xp = namespace(X)
        outs = [model(X[i:i + batch_size]) for i in range(0, X.shape[0], batch_size)]
        return xp.concat(outs, axis=0)
    finally:
        model.train(was_training)


def evaluate(model, loss_fn, X, y, batch_size: int = 1024, classification: bool = True):
    """(loss, accuracy) on ``X, y`` in evaluation mode; accuracy is None for regression."""
    scores = predict(model, X, batch_size)
    loss = float(loss_fn(scores, y))
    acc = accuracy(scores, y) if classification else None
    return loss, acc


def fit(model, loss_fn, optimizer, X_train, y_train, X_val=None, y_val=None, *,
        epochs: int = 10, batch_size: int = 32, early_stopping: EarlyStopping | None = None,
        clip_norm: float | None = None, progress: bool = True, rng=None,
        classification: bool = True, augment=None) -> History:
    """Train ``model`` with mini-batches; return a :class:`History`.

    ``early_stopping`` (needs validation data) stops once the validation loss
    stops improving and restores the best weights. ``clip_norm`` clips the
    joint gradient norm each step. ``augment(X_batch, rng)`` transforms each
    training batch. ``progress=False`` turns the tqdm bar off.
    """
    if epochs < 1:
        raise ValueError(f"Invalid epochs: {epochs} (must be >= 1)")
    if early_stopping is not None and X_val is None:
        raise ValueError("early_stopping needs validation data (X_val, y_val)")
    rng = np.random.default_rng(rng)
    history = History()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs, desc="training", unit="epoch", leave=False)
    try:
        for epoch in range(epochs):
            model.train()
            total, correct, count = 0.0, 0, 0
            for Xb, yb in minibatches(X_train, y_train, batch_size, shuffle=True, rng=rng):
                if augment is not None:
                    Xb = augment(Xb, rng)
                scores = model(Xb)
                loss = loss_fn(scores, yb)
                optimizer.zero_grad()
                model.backward(loss_fn.backward())
                if clip_norm is not None:
                    clip_grad_norm(model.parameters(), clip_norm)
                optimizer.step()
                n = Xb.shape[0]
                total += float(loss) * n
                count += n
                if classification:
                    correct += int(round(accuracy(scores, yb) * n))
            train_loss = total / count
            if not np.isfinite(train_loss):
                raise FloatingPointError(
                    f"training loss became {train_loss} in epoch {epoch + 1} - help: lower the learning rate"
                )
            history.train_loss.append(train_loss)
            history.train_acc.append(correct / count if classification else None)
            postfix = {"loss": f"{train_loss:.4f}"}
            if X_val is not None:
                val_loss, val_acc = evaluate(model, loss_fn, X_val, y_val, classification=classification)
                history.val_loss.append(val_loss)
                history.val_acc.append(val_acc)
                postfix["val_loss"] = f"{val_loss:.4f}"
                if early_stopping is not None and early_stopping.step(val_loss, model):
                    history.stopped_epoch = epoch
                    break
            if bar is not None:
                bar.set_postfix(postfix)
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    if early_stopping is not None:
        history.best_epoch = early_stopping.best_epoch
        if early_stopping.restore_best:
            early_stopping.restore(model)
    return history


def gradient_norms(model) -> list[tuple[str, float]]:
    """L2 norm of each weight gradient, by parameter name (after a backward pass).

    In a deep sigmoid network these shrink layer by layer towards the input
    (vanishing gradients: each sigmoid multiplies by at most 0.25).
    """
    out = []
    for name, p in model.named_parameters():
        if p.grad is not None and len(p.shape) >= 2:
            g = to_numpy(p.grad)
            out.append((name, float(np.sqrt(np.sum(g * g)))))
    return out


def dead_relu_fraction(model, X) -> list[float]:
    """For each ReLU in ``model`` (a Sequential), the fraction of its units that
    are zero for every example of ``X`` ("dead": they never pass a gradient)."""
    from .nn import ReLU

    fractions = []
    was_training = model.training
    model.eval()
    try:
        h = X
        for layer in model:
            h = layer(h)
            if isinstance(layer, ReLU):
                active = np.any(to_numpy(h).reshape(h.shape[0], -1) > 0, axis=0)
                fractions.append(float(1.0 - active.mean()))
    finally:
        model.train(was_training)
    return fractions


def fit_function_1d(f, width: int, n_points: int = 256, x_range=(-np.pi, np.pi), epochs: int = 2000,
                    lr: float = 1e-2, activation: str = "tanh", rng=0):
    """Fit ``f`` on an interval with one hidden layer of ``width`` units.

    The universal approximation theorem says a wide enough single hidden
    layer can approximate any continuous function on an interval; in practice
    the error falls as ``width`` grows. Full-batch Adam on MSE.
    Returns ``(model, max_abs_error)`` measured on a dense grid.
    """
    from .nn import MSELoss, mlp
    from .optim import Adam

    X = np.linspace(*x_range, n_points)[:, None]
    y = f(X)
    model = mlp([1, width, 1], activation=activation, rng=rng)
    loss_fn = MSELoss()
    opt = Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        loss_fn(model(X), y)
        opt.zero_grad()
        model.backward(loss_fn.backward())
        opt.step()
    grid = np.linspace(*x_range, 4 * n_points)[:, None]
    err = float(np.max(np.abs(model(grid) - f(grid))))
    return model, err
