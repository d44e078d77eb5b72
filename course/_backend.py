"""Array-backend helpers shared by every module of the library.

Each function of the library is written once against the Python array API
(through ``array-api-compat``), so it runs on NumPy arrays and on PyTorch
tensors, on the CPU or on CUDA, and returns arrays of the kind and on the device
of its input. This module holds the few things the array API does not give us:

* ``namespace(*arrays)`` -- the array namespace (``xp``) of the inputs;
* ``erf`` -- the error function (not part of the array API standard);
* ``zeros_like_shape`` / ``full`` -- creation on the input's device and dtype;
* validation helpers that raise errors naming the argument and the shapes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from array_api_compat import array_namespace, device as _device
from array_api_compat import is_numpy_array, is_torch_array

__all__ = [
    "namespace",
    "device",
    "is_torch",
    "erf",
    "zeros",
    "full",
    "as_array",
    "to_numpy",
    "check_array",
    "check_ndim",
    "check_same_shape",
    "check_positive",
    "check_probability",
    "is_floating",
]


def namespace(*arrays: Any):
    """Return the array namespace shared by ``arrays`` (``None`` values are skipped)."""
    present = [a for a in arrays if a is not None and not isinstance(a, (int, float))]
    if not present:
        raise TypeError("expected at least one NumPy array or torch tensor")
    try:
        return array_namespace(*present)
    except TypeError as exc:
        kinds = ", ".join(sorted({type(a).__module__ + "." + type(a).__name__ for a in present}))
        raise TypeError(
            f"all arrays must come from one library (all NumPy or all torch); got {kinds}"
        ) from exc


def device(x):
    """The device of ``x`` (``"cpu"`` for NumPy)."""
    return _device(x)


def is_torch(x) -> bool:
    return is_torch_array(x)


def is_floating(x) -> bool:
    xp = namespace(x)
    return xp.isdtype(x.dtype, "real floating")


def zeros(shape, like):
    """Zeros of ``shape`` with the dtype and device of ``like``."""
    xp = namespace(like)
    return xp.zeros(shape, dtype=like.dtype, device=device(like))


def full(shape, value, like):
    xp = namespace(like)
    return xp.full(shape, value, dtype=like.dtype, device=device(like))


def as_array(value, like):
    """``value`` (a Python number, list or NumPy array) as an array like ``like``."""
    xp = namespace(like)
    if is_torch_array(value) or is_numpy_array(value):
        if type(value) is type(like):
            return value
        value = to_numpy(value)
    return xp.asarray(value, dtype=like.dtype, device=device(like))


def to_numpy(x) -> np.ndarray:
    """A NumPy copy of ``x`` (a tensor is detached and moved to the CPU)."""
    if is_torch_array(x):
        return x.detach().cpu().numpy()
    return np.asarray(x)


_np_erf = None


def erf(x):
    """The error function, elementwise, on either backend.

    The array API standard has no ``erf``: torch provides ``torch.special.erf``
    and SciPy provides ``scipy.special.erf`` for NumPy.
    """
    global _np_erf
    if is_torch_array(x):
        import torch

        return torch.special.erf(x)
    if _np_erf is None:
        try:
            from scipy.special import erf as _scipy_erf

            _np_erf = _scipy_erf
        except ImportError:  # pragma: no cover - scipy is a dependency
            _np_erf = np.vectorize(math.erf, otypes=[float])
    return np.asarray(_np_erf(x), dtype=x.dtype)


# ---------------------------------------------------------------------------
# validation: every error names the argument and what was expected / received
# ---------------------------------------------------------------------------

def check_array(x, name: str):
    """Raise ``TypeError`` unless ``x`` is a NumPy array or a torch tensor."""
    if not (is_numpy_array(x) or is_torch_array(x)):
        raise TypeError(
            f"{name} must be a NumPy array or a torch tensor, got {type(x).__name__}"
            " - help: wrap Python lists with np.asarray(...)"
        )
    return x


def check_ndim(x, name: str, ndims, shape_hint: str = ""):
    """Raise ``ValueError`` unless ``x.ndim`` is one of ``ndims``."""
    check_array(x, name)
    if isinstance(ndims, int):
        ndims = (ndims,)
    if x.ndim not in ndims:
        want = " or ".join(f"{n}-D" for n in ndims)
        hint = f" {shape_hint}" if shape_hint else ""
        raise ValueError(
            f"{name} must be {want}{hint}, got shape {tuple(x.shape)} ({x.ndim}-D)"
        )
    return x


def check_same_shape(a, b, name_a: str, name_b: str):
    check_array(a, name_a)
    check_array(b, name_b)
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, got {name_a} "
            f"{tuple(a.shape)} and {name_b} {tuple(b.shape)}"
        )


def check_positive(value, name: str, allow_zero: bool = False):
    ok = value >= 0 if allow_zero else value > 0
    if not ok:
        want = "non-negative" if allow_zero else "positive"
        raise ValueError(f"Invalid {name}: {value} (must be {want})")
    return value


def check_probability(p, name: str = "p", upper_inclusive: bool = False):
    if not (0.0 <= p < 1.0 or (upper_inclusive and p == 1.0)):
        bound = "[0, 1]" if upper_inclusive else "[0, 1)"
        raise ValueError(f"Invalid {name}: {p} (must be in {bound})")
    return p


def pair(value, name: str) -> tuple[int, int]:
    """``3 -> (3, 3)``; a pair is checked and returned as a tuple of ints."""
    if isinstance(value, int):
        return (value, value)
    value = tuple(value)
    if len(value) != 2 or not all(isinstance(v, int) for v in value):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value}")
    return value
