"""Modules: layers that hold their parameters and run forward and backward.

A model is a tree of :class:`Module` objects. ``model(X)`` runs the forward
pass and keeps what the backward needs; ``model.backward(dout)`` sends the
gradient back through the same modules, *adds* each parameter's gradient to
its ``.grad`` (as PyTorch does) and returns the gradient for the input.

>>> model = mlp([64, 32, 10], rng=0)
>>> loss_fn = CrossEntropyLoss()
>>> loss = loss_fn(model(X), y)            # forward
>>> model.zero_grad()
>>> model.backward(loss_fn.backward())     # backward: fills every p.grad
>>> optimizer.step()                       # course.optim updates p.data

Parameters are NumPy float64 arrays by default; ``model.to("torch")`` (or
``model.to("torch", device="cuda")``) moves them onto torch, and the same code
then runs on tensors.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from . import activations as A
from . import init as I
from . import layers as L
from . import losses as LS
from ._backend import is_torch, to_numpy

__all__ = [
    "Parameter", "Module", "Sequential",
    "Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "Identity",
    "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "SiLU", "Swish", "PReLU", "Softmax", "Step",
    "Dropout", "BatchNorm1d", "BatchNorm2d", "Embedding", "RNN",
    "MSELoss", "L1Loss", "CrossEntropyLoss", "BCELoss", "BCEWithLogitsLoss",
    "MLP", "mlp", "activation_module",
]


class Parameter:
    """A learnable array: ``.data`` holds the values, ``.grad`` the gradient (or None)."""

    __slots__ = ("data", "grad", "name")

    def __init__(self, data, name: str = ""):
        if isinstance(data, Parameter):
            data = data.data
        if not (is_torch(data) or isinstance(data, np.ndarray)):
            data = np.asarray(data, dtype=np.float64)
        self.data = data
        self.grad = None
        self.name = name

    @property
    def shape(self):
        return tuple(self.data.shape)

    def accumulate(self, g) -> None:
        """Add ``g`` to ``.grad`` (starting from None)."""
        if tuple(g.shape) != self.shape:
            raise ValueError(f"gradient for {self.name or 'parameter'} has shape {tuple(g.shape)}, expected {self.shape}")
        self.grad = g if self.grad is None else self.grad + g

    def __repr__(self) -> str:
        return f"Parameter({self.name or ''}shape={self.shape}, dtype={self.data.dtype})"


def _convert(array, backend, device, dtype):
    if backend == "numpy":
        out = to_numpy(array)
        return out.astype(dtype) if dtype is not None else out.copy()
    import torch

    tdtype = None
    if dtype is not None:
        tdtype = getattr(torch, np.dtype(dtype).name) if not isinstance(dtype, torch.dtype) else dtype
    if is_torch(array):
        return array.to(device=device or array.device, dtype=tdtype or array.dtype)
    return torch.as_tensor(np.asarray(array), device=device or "cpu", dtype=tdtype)


class Module:
    """Base class: tracks parameters, child modules, buffers and train/eval mode."""

    _buffer_names: tuple[str, ...] = ()

    def __init__(self):
        self.training = True
        self._cache = None

    # -- the pass --------------------------------------------------------------
    def forward(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, dout):  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def _saved(self):
        if self._cache is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward called before forward - help: run model(x) first"
            )
        return self._cache

    # -- the tree ----------------------------------------------------------------
    def _named_children(self) -> Iterator[tuple[str, "Module"]]:
        """(name, module) for each direct child, named as PyTorch names it.

        An attribute ``head`` holding a module gives ``"head"``; a list or
        tuple ``encoder`` gives ``"encoder.0"``, ``"encoder.1"``, ... (like
        ``nn.ModuleList``); a dict ``heads`` gives ``"heads.<key>"`` (like
        ``nn.ModuleDict``). Every walk of the tree (parameters, state_dict,
        to, train/eval, ...) goes through here.
        """
        for key, value in vars(self).items():
            yield from _modules_in(key, value)

    def children(self) -> Iterator["Module"]:
        """The direct child modules: attributes, and modules in list, tuple or dict attributes."""
        for _, child in self._named_children():
            yield child

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs, named as PyTorch names them ("0.weight").

        A parameter shared by two modules (tied weights) is listed once, under
        its first name, as in PyTorch, so an optimizer updates it once per step.
        """
        seen = set()
        for mod_prefix, module in self._named_modules(prefix):
            for key, value in vars(module).items():
                if isinstance(value, Parameter) and id(value) not in seen:
                    seen.add(id(value))
                    yield mod_prefix + key, value

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def modules(self) -> Iterator["Module"]:
        """This module and every descendant, each once (a module used twice is listed once)."""
        seen = set()
        for _, module in self._named_modules():
            if id(module) not in seen:
                seen.add(id(module))
                yield module

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = p.grad * 0.0

    def train(self, mode: bool = True) -> "Module":
        for m in self.modules():
            m.training = mode
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def num_parameters(self) -> int:
        return sum(int(np.prod(p.shape)) for p in self.parameters())

    # -- state -------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Copies of every parameter and buffer, by dotted name."""
        state = {}
        for prefix, module in self._named_modules():
            for key, value in vars(module).items():
                if isinstance(value, Parameter):
                    state[prefix + key] = _copy(value.data)
                elif key in module._buffer_names:
                    state[prefix + key] = _copy(value)
        return state

    def load_state_dict(self, state: dict) -> None:
        own = self.state_dict()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            raise KeyError(f"state_dict does not fit the model: missing {missing}, unexpected {unexpected}")
        for prefix, module in self._named_modules():
            for key, value in vars(module).items():
                name = prefix + key
                if isinstance(value, Parameter):
                    if tuple(state[name].shape) != value.shape:
                        raise ValueError(f"{name}: shape {tuple(state[name].shape)} does not fit {value.shape}")
                    value.data = _copy(state[name])
                elif key in module._buffer_names:
                    setattr(module, key, _copy(state[name]))

    def _named_modules(self, prefix: str = ""):
        """(prefix, module) for this module and every descendant; a prefix ends with "."."""
        yield prefix, self
        for name, child in self._named_children():
            yield from child._named_modules(f"{prefix}{name}.")

    def to(self, backend: str = "torch", device=None, dtype=None) -> "Module":
        """Move every parameter and buffer to ``backend`` ("numpy" or "torch").

        ``device`` (torch only) is e.g. ``"cpu"`` or ``"cuda"``; ``dtype`` e.g.
        ``np.float32`` or ``torch.float32``. Gradients are dropped. Returns self.
        """
        if backend not in ("numpy", "torch"):
            raise ValueError(f"backend must be 'numpy' or 'torch', got {backend!r}")
        if backend == "numpy" and device not in (None, "cpu"):
            raise ValueError(f"NumPy arrays live on the CPU; got device {device!r}")
        for module in self.modules():
            for key, value in vars(module).items():
                if isinstance(value, Parameter):
                    value.data = _convert(value.data, backend, device, dtype)
                    value.grad = None
                elif key in module._buffer_names and value is not None:
                    setattr(module, key, _convert(value, backend, device, dtype))
        return self

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        kids = list(self.children())
        if not kids:
            return f"{type(self).__name__}({self.extra_repr()})"
        inner = "\n".join("  " + repr(k).replace("\n", "\n  ") for k in kids)
        return f"{type(self).__name__}(\n{inner}\n)"


def _modules_in(name: str, value):
    """(dotted name, module) for every module held in ``value``: the value itself,
    or the items of a list / tuple (``name.0``) or of a dict (``name.key``), nested or not."""
    if isinstance(value, Module):
        yield name, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _modules_in(f"{name}.{i}", item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _modules_in(f"{name}.{key}", item)


def _copy(a):
    return a.clone() if is_torch(a) else np.array(a, copy=True)


class Sequential(Module):
    """Modules applied in order; backward runs them in reverse."""

    def __init__(self, *modules: Module):
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(f"Sequential item {i} is a {type(m).__name__}, not a Module")
        self.layers = list(modules)

    def _named_children(self):
        # torch.nn.Sequential names its layers "0", "1", ... (no "layers." prefix)
        for i, layer in enumerate(self.layers):
            yield str(i), layer
        for key, value in vars(self).items():
            if key != "layers":
                yield from _modules_in(key, value)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def backward(self, dout):
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)


# ---------------------------------------------------------------------------
# layers with parameters
# ---------------------------------------------------------------------------

def _init_weight(shape, init, rng):
    if init == "default":  # PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        return I.kaiming_uniform(shape, a=np.sqrt(5.0), rng=rng)
    if init in ("he", "kaiming"):
        return I.kaiming_normal(shape, nonlinearity="relu", rng=rng)
    if init in ("xavier", "glorot"):
        return I.xavier_uniform(shape, rng=rng)
    raise ValueError(f"init must be 'default', 'he' or 'xavier', got {init!r}")


class _WeightBias(Module):
    """A layer with a ``weight`` and an optional ``bias`` around a functional pair."""

    _op_forward = None
    _op_backward = None

    def _options(self) -> dict:
        return {}

    def forward(self, x):
        bias = self.bias.data if self.bias is not None else None
        out, self._cache = type(self)._op_forward(x, self.weight.data, bias, **self._options())
        return out

    def backward(self, dout):
        dx, dw, db = type(self)._op_backward(dout, self._saved())
        self.weight.accumulate(dw)
        if self.bias is not None:
            self.bias.accumulate(db)
        return dx


class Linear(_WeightBias):
    """Dense layer ``y = x W^T + b`` with ``W`` of shape (out_features, in_features)."""

    _op_forward = staticmethod(L.linear_forward)
    _op_backward = staticmethod(L.linear_backward)

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 init: str = "default", rng=None):
        super().__init__()
        rng = np.random.default_rng(rng)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(_init_weight((out_features, in_features), init, rng), "weight")
        bound = 1.0 / np.sqrt(in_features)
        self.bias = Parameter(I.uniform((out_features,), bound, rng) if init == "default"
                              else np.zeros(out_features), "bias") if bias else None

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Conv2d(_WeightBias):
    """2-D convolution with weight (out_channels, in_channels, kh, kw)."""

    _op_forward = staticmethod(L.conv2d_forward)
    _op_backward = staticmethod(L.conv2d_backward)

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 bias: bool = True, init: str = "default", rng=None):
        super().__init__()
        rng = np.random.default_rng(rng)
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        self.stride, self.padding = stride, padding
        self.weight = Parameter(_init_weight((out_channels, in_channels, kh, kw), init, rng), "weight")
        bound = 1.0 / np.sqrt(in_channels * kh * kw)
        self.bias = Parameter(I.uniform((out_channels,), bound, rng) if init == "default"
                              else np.zeros(out_channels), "bias") if bias else None

    def _options(self) -> dict:
        return {"stride": self.stride, "padding": self.padding}

    def extra_repr(self):
        return f"weight={self.weight.shape}, stride={self.stride}, padding={self.padding}"


class Embedding(Module):
    """Lookup table (num_embeddings, embedding_dim), initialised N(0, 1) as in PyTorch."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx=None, rng=None):
        super().__init__()
        w = np.random.default_rng(rng).standard_normal((num_embeddings, embedding_dim))
        if padding_idx is not None:
            w[padding_idx] = 0.0
        self.padding_idx = padding_idx
        self.weight = Parameter(w, "weight")

    def forward(self, indices):
        out, self._cache = L.embedding_forward(indices, self.weight.data, self.padding_idx)
        return out

    def backward(self, dout):
        self.weight.accumulate(L.embedding_backward(dout, self._saved()))
        return None  # indices are not differentiable


class RNN(Module):
    """One-layer tanh RNN; ``forward(x, h0=None)`` returns every hidden state."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 batch_first: bool = False, rng=None):
        super().__init__()
        rng = np.random.default_rng(rng)
        bound = 1.0 / np.sqrt(hidden_size)
        self.batch_first = batch_first
        self.weight_ih = Parameter(I.uniform((hidden_size, input_size), bound, rng), "weight_ih")
        self.weight_hh = Parameter(I.uniform((hidden_size, hidden_size), bound, rng), "weight_hh")
        self.bias_ih = Parameter(I.uniform((hidden_size,), bound, rng), "bias_ih") if bias else None
        self.bias_hh = Parameter(I.uniform((hidden_size,), bound, rng), "bias_hh") if bias else None
        self.dh0 = None

    def forward(self, x, h0=None):
        b = (self.bias_ih.data, self.bias_hh.data) if self.bias_ih is not None else (None, None)
        out, self._cache = L.rnn_forward(x, h0, self.weight_ih.data, self.weight_hh.data, *b,
                                         batch_first=self.batch_first)
        return out

    def backward(self, dout):
        dx, self.dh0, dwi, dwh, dbi, dbh = L.rnn_backward(dout, self._saved())
        self.weight_ih.accumulate(dwi)
        self.weight_hh.accumulate(dwh)
        if self.bias_ih is not None:
            self.bias_ih.accumulate(dbi)
            self.bias_hh.accumulate(dbh)
        return dx


class PReLU(Module):
    """LeakyReLU whose slope is learned; ``num_parameters`` is 1 or the channel count."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25):
        super().__init__()
        self.weight = Parameter(np.full(num_parameters, init, dtype=np.float64), "weight")

    def forward(self, x):
        out, self._cache = A.prelu_forward(x, self.weight.data)
        return out

    def backward(self, dout):
        dx, dw = A.prelu_backward(dout, self._saved())
        self.weight.accumulate(dw)
        return dx


class _BatchNorm(Module):
    _buffer_names = ("running_mean", "running_var")
    _ndims: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = Parameter(np.ones(num_features), "weight") if affine else None
        self.bias = Parameter(np.zeros(num_features), "bias") if affine else None
        self.running_mean = np.zeros(num_features)
        self.running_var = np.ones(num_features)

    def forward(self, x):
        if x.ndim not in self._ndims:
            raise ValueError(f"{type(self).__name__} expects {' or '.join(f'{n}-D' for n in self._ndims)} "
                             f"input, got shape {tuple(x.shape)}")
        if type(self.running_mean) is not type(x):
            raise TypeError("running statistics and x live on different backends - help: call model.to(...)")
        out, self._cache = L.batch_norm_forward(
            x, self.running_mean, self.running_var,
            self.weight.data if self.weight is not None else None,
            self.bias.data if self.bias is not None else None,
            training=self.training, momentum=self.momentum, eps=self.eps)
        return out

    def backward(self, dout):
        dx, dw, db = L.batch_norm_backward(dout, self._saved())
        if self.weight is not None:
            self.weight.accumulate(dw)
            self.bias.accumulate(db)
        return dx

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) inputs (``torch.nn.BatchNorm1d``)."""

    _ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) inputs (``torch.nn.BatchNorm2d``)."""

    _ndims = (4,)


# ---------------------------------------------------------------------------
# layers without parameters
# ---------------------------------------------------------------------------

class _Stateless(Module):
    """Wraps a functional ``*_forward`` / ``*_backward`` pair and fixed options."""

    _forward = None
    _backward = None

    def __init__(self, **options):
        super().__init__()
        self.options = options

    def forward(self, x):
        out, self._cache = type(self)._forward(x, **self.options)
        return out

    def backward(self, dout):
        return type(self)._backward(dout, self._saved())

    def extra_repr(self):
        return ", ".join(f"{k}={v}" for k, v in self.options.items())


def _stateless(name, forward, backward, doc, **defaults):
    def __init__(self, **options):
        unknown = set(options) - set(defaults)
        if unknown:
            raise TypeError(f"{name} got unexpected options {sorted(unknown)}; allowed: {sorted(defaults)}")
        _Stateless.__init__(self, **{**defaults, **options})

    return type(name, (_Stateless,), {
        "_forward": staticmethod(forward), "_backward": staticmethod(backward),
        "__init__": __init__, "__doc__": doc,
    })


ReLU = _stateless("ReLU", A.relu_forward, A.relu_backward, "max(0, x)")
LeakyReLU = _stateless("LeakyReLU", A.leaky_relu_forward, A.leaky_relu_backward,
                       "x if x > 0 else negative_slope * x", negative_slope=0.01)
Sigmoid = _stateless("Sigmoid", A.sigmoid_forward, A.sigmoid_backward, "1 / (1 + exp(-x))")
Tanh = _stateless("Tanh", A.tanh_forward, A.tanh_backward, "tanh(x)")
GELU = _stateless("GELU", A.gelu_forward, A.gelu_backward, "x * Phi(x)", approximate="none")
SiLU = _stateless("SiLU", A.silu_forward, A.silu_backward, "x * sigmoid(x)")
Swish = _stateless("Swish", A.swish_forward, A.swish_backward, "x * sigmoid(beta x)", beta=1.0)
Softmax = _stateless("Softmax", A.softmax_forward, A.softmax_backward,
                     "softmax along axis (give CrossEntropyLoss logits, not this)", axis=-1)
Step = _stateless("Step", A.step_forward, A.step_backward, "Heaviside step (zero gradient)")
Flatten = _stateless("Flatten", L.flatten_forward, L.flatten_backward, "merge axes start_dim..end_dim",
                     start_dim=1, end_dim=-1)
MaxPool2d = _stateless("MaxPool2d", L.max_pool2d_forward, L.max_pool2d_backward, "max pooling",
                       kernel_size=2, stride=None, padding=0)
AvgPool2d = _stateless("AvgPool2d", L.avg_pool2d_forward, L.avg_pool2d_backward, "average pooling",
                       kernel_size=2, stride=None, padding=0)


class Identity(Module):
    """Returns its input unchanged; the backward passes ``dout`` through (``torch.nn.Identity``)."""

    def forward(self, x):
        return x

    def backward(self, dout):
        return dout


class Dropout(Module):
    """Inverted dropout; active in ``train()`` mode, the identity in ``eval()``.

    ``rng`` (a seed or ``numpy.random.Generator``) makes the masks reproducible.
    """

    def __init__(self, p: float = 0.5, rng=None):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Invalid dropout probability p: {p} (must be in [0, 1])")
        self.p = p
        self.rng = np.random.default_rng(rng)

    def forward(self, x):
        out, self._cache = L.dropout_forward(x, self.p, self.training, generator=self.rng)
        return out

    def backward(self, dout):
        return L.dropout_backward(dout, self._saved())

    def extra_repr(self):
        return f"p={self.p}"


# ---------------------------------------------------------------------------
# losses as objects: loss = loss_fn(pred, target); dpred = loss_fn.backward()
# ---------------------------------------------------------------------------

class _Loss:
    _forward = None
    _backward = None

    def __init__(self, **options):
        self.options = options
        self._cache = None

    def __call__(self, pred, target):
        loss, self._cache = type(self)._forward(pred, target, **self.options)
        return loss

    def backward(self, dout=1.0):
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before the loss was computed")
        return type(self)._backward(dout, self._cache)

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v}' for k, v in self.options.items())})"


def _loss(name, forward, backward, doc, **defaults):
    def __init__(self, **options):
        unknown = set(options) - set(defaults)
        if unknown:
            raise TypeError(f"{name} got unexpected options {sorted(unknown)}; allowed: {sorted(defaults)}")
        _Loss.__init__(self, **{**defaults, **options})

    return type(name, (_Loss,), {"_forward": staticmethod(forward), "_backward": staticmethod(backward),
                                 "__init__": __init__, "__doc__": doc})


MSELoss = _loss("MSELoss", LS.mse_forward, LS.mse_backward, "mean squared error", reduction="mean")
L1Loss = _loss("L1Loss", LS.mae_forward, LS.mae_backward, "mean absolute error", reduction="mean")
CrossEntropyLoss = _loss("CrossEntropyLoss", LS.cross_entropy_forward, LS.cross_entropy_backward,
                         "cross-entropy from logits and class indices", reduction="mean",
                         label_smoothing=0.0)
BCELoss = _loss("BCELoss", LS.binary_cross_entropy_forward, LS.binary_cross_entropy_backward,
                "binary cross-entropy from probabilities", reduction="mean")
BCEWithLogitsLoss = _loss("BCEWithLogitsLoss", LS.binary_cross_entropy_with_logits_forward,
                          LS.binary_cross_entropy_with_logits_backward,
                          "binary cross-entropy from logits", reduction="mean")


# ---------------------------------------------------------------------------
# builders
# ---------------------------------------------------------------------------

_ACTIVATIONS = {
    "relu": ReLU, "leaky_relu": LeakyReLU, "sigmoid": Sigmoid, "tanh": Tanh,
    "gelu": GELU, "silu": SiLU, "swish": Swish, "prelu": PReLU, "identity": Identity,
}


def activation_module(name: str) -> Module:
    """A fresh activation module by name ("relu", "tanh", "sigmoid", "gelu", ...)."""
    try:
        return _ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose from {sorted(_ACTIVATIONS)}") from None


class MLP(Sequential):
    """A multilayer perceptron: ``sizes = [D, H1, ..., C]`` gives Linear layers
    D->H1->...->C with ``activation`` (and optional BatchNorm1d, Dropout)
    after every hidden layer, and raw scores (logits) at the output.
    """

    def __init__(self, sizes, activation: str = "relu", dropout: float = 0.0, batch_norm: bool = False,
                 init: str = "default", rng=None):
        sizes = list(sizes)
        if len(sizes) < 2 or any(not isinstance(s, (int, np.integer)) or s < 1 for s in sizes):
            raise ValueError(f"sizes must list at least 2 positive layer widths, got {sizes}")
        rng = np.random.default_rng(rng)
        layers: list[Module] = []
        for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Linear(d_in, d_out, init=init, rng=rng))
            if i < len(sizes) - 2:
                if batch_norm:
                    layers.append(BatchNorm1d(d_out))
                layers.append(activation_module(activation))
                if dropout:
                    layers.append(Dropout(dropout, rng=rng))
        super().__init__(*layers)
        self.sizes = sizes


def mlp(sizes, activation: str = "relu", dropout: float = 0.0, batch_norm: bool = False,
        init: str = "default", rng=None) -> MLP:
    """Build an :class:`MLP` (the lower-case builder the chapters use)."""
    return MLP(sizes, activation, dropout, batch_norm, init, rng)
