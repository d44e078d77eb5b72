"""The same models in PyTorch: ``nn.Module``, ``DataLoader`` and ``torch.optim``.

:func:`to_torch` turns a :mod:`course.nn` Sequential into an equivalent
``torch.nn.Sequential`` with the same weights, so both libraries can be run
side by side; :func:`train_torch` is the idiomatic PyTorch training loop.

Note the usual PyTorch pitfall: ``nn.CrossEntropyLoss`` expects raw logits.
A model that ends in ``nn.Softmax`` and is trained with it applies softmax
twice; it still runs, but its gradients are squashed and learning slows.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from . import nn as cnn

__all__ = ["TorchMLP", "to_torch", "train_torch"]


class TorchMLP(nn.Module):
    """A multilayer perceptron returning logits (no softmax at the end)."""

    def __init__(self, sizes, activation: str = "relu", dropout: float = 0.0):
        super().__init__()
        acts = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU,
                "leaky_relu": nn.LeakyReLU, "silu": nn.SiLU}
        if activation not in acts:
            raise ValueError(f"unknown activation {activation!r}; choose from {sorted(acts)}")
        layers = []
        for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(d_in, d_out))
            if i < len(sizes) - 2:
                layers.append(acts[activation]())
                if dropout:
                    layers.append(nn.Dropout(dropout))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def to_torch(model: cnn.Sequential, dtype=torch.float64) -> nn.Sequential:
    """An equivalent ``torch.nn.Sequential`` holding copies of ``model``'s weights."""
    simple = {cnn.ReLU: nn.ReLU, cnn.Sigmoid: nn.Sigmoid, cnn.Tanh: nn.Tanh, cnn.SiLU: nn.SiLU,
              cnn.Identity: nn.Identity}
    layers = []
    for layer in model:
        t = lambda a: torch.as_tensor(np.asarray(a.detach().cpu() if torch.is_tensor(a) else a), dtype=dtype)  # noqa: E731
        if isinstance(layer, cnn.Linear):
            lin = nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None, dtype=dtype)
            with torch.no_grad():
                lin.weight.copy_(t(layer.weight.data))
                if layer.bias is not None:
                    lin.bias.copy_(t(layer.bias.data))
            layers.append(lin)
        elif isinstance(layer, cnn.LeakyReLU):
            layers.append(nn.LeakyReLU(layer.options["negative_slope"]))
        elif isinstance(layer, cnn.GELU):
            layers.append(nn.GELU(approximate=layer.options["approximate"]))
        elif isinstance(layer, cnn.Dropout):
            layers.append(nn.Dropout(layer.p))
        elif isinstance(layer, cnn.BatchNorm1d):
            bn = nn.BatchNorm1d(layer.num_features, eps=layer.eps, momentum=layer.momentum, dtype=dtype)
            with torch.no_grad():
                bn.weight.copy_(t(layer.weight.data))
                bn.bias.copy_(t(layer.bias.data))
                bn.running_mean.copy_(t(layer.running_mean))
                bn.running_var.copy_(t(layer.running_var))
            layers.append(bn)
        elif type(layer) in simple:
            layers.append(simple[type(layer)]())
        else:
            raise TypeError(f"to_torch does not know how to convert {type(layer).__name__}")
    return nn.Sequential(*layers)


def train_torch(model: nn.Module, X, y, epochs: int = 10, batch_size: int = 32, lr: float = 1e-3,
                weight_decay: float = 0.0, seed: int = 0, device: str = "cpu") -> list[float]:
    """Train with ``DataLoader`` + ``torch.optim.AdamW`` + ``nn.CrossEntropyLoss``.

    The loop order is ``zero_grad, forward, loss, backward, step``. Returns the
    mean training loss of each epoch.
    """
    gen = torch.Generator().manual_seed(seed)
    X = torch.as_tensor(X, dtype=next(model.parameters()).dtype)
    y = torch.as_tensor(y, dtype=torch.long)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=batch_size,
                                         shuffle=True, generator=gen)
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for _ in range(epochs):
        model.train()
        total, count = 0.0, 0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
            count += len(xb)
        losses.append(total / count)
    return losses
