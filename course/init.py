r"""Weight initialization: Xavier/Glorot and He/Kaiming, uniform and normal.

The aim of both schemes is to keep the variance of activations (forward) and
of gradients (backward) roughly constant from layer to layer, so a deep
network neither blows signals up nor shrinks them to nothing.

* Xavier/Glorot (Glorot & Bengio, 2010), for tanh/sigmoid-like layers:
  :math:`\mathrm{Var}(W) = \text{gain}^2 \cdot 2/(\text{fan\_in} + \text{fan\_out})`.
* He/Kaiming (He et al., 2015), for ReLU layers, which zero half their inputs:
  :math:`\mathrm{Var}(W) = \text{gain}^2/\text{fan}` with gain :math:`\sqrt2` for ReLU.

A uniform :math:`U(-b, b)` has variance :math:`b^2/3`, hence :math:`b = \sqrt3\,\text{std}`.
Names, defaults and fan conventions match ``torch.nn.init``; our functions
return a new NumPy array of the requested ``shape`` instead of filling a
tensor in place.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "calculate_gain",
    "fan_in_and_fan_out",
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "uniform",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
]


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (``torch.nn.init.calculate_gain``)."""
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
              "conv_transpose2d", "conv_transpose3d", "sigmoid")
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"negative_slope {slope!r} is not a valid number")
        return math.sqrt(2.0 / (1.0 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4.0
    raise ValueError(f"Unsupported nonlinearity {nonlinearity!r}")


def fan_in_and_fan_out(shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of ``shape`` ``(out, in, *kernel)``, as in PyTorch."""
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2:
        raise ValueError(
            f"fan in and fan out need a weight with at least 2 dimensions, got shape {shape}"
        )
    receptive = 1
    for s in shape[2:]:
        receptive *= s
    return shape[1] * receptive, shape[0] * receptive


def _rng(rng) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def uniform(shape, bound: float, rng=None, dtype=np.float64) -> np.ndarray:
    """Samples of :math:`U(-b, b)`."""
    return _rng(rng).uniform(-bound, bound, size=tuple(shape)).astype(dtype)


def xavier_uniform(shape, gain: float = 1.0, rng=None, dtype=np.float64) -> np.ndarray:
    r""":math:`U(-b, b)` with :math:`b = \text{gain}\sqrt{6/(\text{fan\_in}+\text{fan\_out})}`."""
    fan_in, fan_out = fan_in_and_fan_out(shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(shape, bound, rng, dtype)


def xavier_normal(shape, gain: float = 1.0, rng=None, dtype=np.float64) -> np.ndarray:
    r""":math:`N(0, \text{std}^2)` with :math:`\text{std} = \text{gain}\sqrt{2/(\text{fan\_in}+\text{fan\_out})}`."""
    fan_in, fan_out = fan_in_and_fan_out(shape)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return (_rng(rng).standard_normal(tuple(shape)) * std).astype(dtype)


def _kaiming_std(shape, a, mode, nonlinearity):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(shape)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform(shape, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", rng=None, dtype=np.float64) -> np.ndarray:
    r"""He uniform: :math:`U(-b, b)`, :math:`b = \sqrt3\,\text{gain}/\sqrt{\text{fan}}`.

    ``a`` is the negative slope of the rectifier after this layer (0 for ReLU).
    PyTorch's default ``nn.Linear`` init is this with ``a = sqrt(5)``, which
    gives :math:`b = 1/\sqrt{\text{fan\_in}}`.
    """
    bound = math.sqrt(3.0) * _kaiming_std(shape, a, mode, nonlinearity)
    return uniform(shape, bound, rng, dtype)


def kaiming_normal(shape, a: float = 0.0, mode: str = "fan_in",
                   nonlinearity: str = "leaky_relu", rng=None, dtype=np.float64) -> np.ndarray:
    r"""He normal: :math:`N(0, \text{std}^2)`, :math:`\text{std} = \text{gain}/\sqrt{\text{fan}}`."""
    std = _kaiming_std(shape, a, mode, nonlinearity)
    return (_rng(rng).standard_normal(tuple(shape)) * std).astype(dtype)


# ---------------------------------------------------------------------------
# in-place forms, like torch.nn.init.*_: fill a Parameter, array or tensor
# ---------------------------------------------------------------------------

def _fill_(target, values):
    """Write ``values`` (NumPy) into ``target`` in place, keeping its kind, dtype and device."""
    holder = target
    array = target.data if hasattr(target, "data") and not isinstance(target, np.ndarray) else target
    if isinstance(array, np.ndarray):
        array[...] = values
        return holder
    import torch

    with torch.no_grad():
        array.copy_(torch.as_tensor(values, dtype=array.dtype, device=array.device))
    return holder


def xavier_uniform_(target, gain: float = 1.0, rng=None):
    """Fill ``target`` (a Parameter, array or tensor) in place; see :func:`xavier_uniform`."""
    return _fill_(target, xavier_uniform(tuple(_shape(target)), gain, rng))


def xavier_normal_(target, gain: float = 1.0, rng=None):
    r"""Fill ``target`` (a Parameter, array or tensor) in place; see :func:`xavier_normal`.

    Draws :math:`N(0, \text{std}^2)` with
    :math:`\text{std} = \text{gain}\sqrt{2/(\text{fan\_in}+\text{fan\_out})}` for the
    shape of ``target`` and keeps its kind, dtype and device. Returns ``target``.
    """
    return _fill_(target, xavier_normal(tuple(_shape(target)), gain, rng))


def kaiming_uniform_(target, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", rng=None):
    r"""Fill ``target`` (a Parameter, array or tensor) in place; see :func:`kaiming_uniform`.

    Draws :math:`U(-b, b)` with :math:`b = \sqrt3\,\text{gain}/\sqrt{\text{fan}}` for the
    shape of ``target`` and keeps its kind, dtype and device. Returns ``target``.
    """
    return _fill_(target, kaiming_uniform(tuple(_shape(target)), a, mode, nonlinearity, rng))


def kaiming_normal_(target, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", rng=None):
    r"""Fill ``target`` (a Parameter, array or tensor) in place; see :func:`kaiming_normal`.

    Draws :math:`N(0, \text{std}^2)` with :math:`\text{std} = \text{gain}/\sqrt{\text{fan}}` for the
    shape of ``target`` and keeps its kind, dtype and device. Returns ``target``.
    """
    return _fill_(target, kaiming_normal(tuple(_shape(target)), a, mode, nonlinearity, rng))


def _shape(target):
    array = target.data if hasattr(target, "data") and not isinstance(target, np.ndarray) else target
    return array.shape
