r"""Optimizers, in order of increasing complexity.

Each one takes an iterable of parameters (objects with ``.data`` and ``.grad``,
such as :class:`course.nn.Parameter`) or of parameter groups (dicts with a
``"params"`` key and per-group hyperparameters), and offers ``step()`` and
``zero_grad()``. Hyperparameter names, defaults, state names (``step``,
``momentum_buffer``, ``square_avg``, ``exp_avg``, ``exp_avg_sq``) and update
rules are those of ``torch.optim``, so the two give the same trajectories.

"Gradient descent" is ambiguous in the literature: here :class:`GD` is the
plain rule :math:`\theta \leftarrow \theta - \eta g`; whether it is *batch*,
*stochastic* (one example) or *mini-batch* gradient descent depends only on how
many examples the gradient ``g`` was computed from, not on the optimizer.
"""

from __future__ import annotations

import math
from typing import Iterable

from ._backend import namespace

__all__ = ["Optimizer", "GD", "SGD", "RMSprop", "Adam", "AdamW"]


class Optimizer:
    """Base class: parameter groups, per-parameter state, ``zero_grad``."""

    def __init__(self, params: Iterable, defaults: dict):
        params = list(params)
        if not params:
            raise ValueError("optimizer got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.defaults = defaults
        self.param_groups: list[dict] = []
        self.state: dict = {}
        seen = set()
        for group in groups:
            group = {**defaults, **group, "params": list(group["params"])}
            for p in group["params"]:
                if not (hasattr(p, "data") and hasattr(p, "grad")):
                    raise TypeError(f"optimizer expects parameters with .data and .grad, got {type(p).__name__}")
                if id(p) in seen:
                    raise ValueError("some parameters appear in more than one parameter group")
                seen.add(id(p))
            self._check(group)
            self.param_groups.append(group)

    def _check(self, group: dict) -> None:
        lr = group["lr"]
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        wd = group.get("weight_decay", 0.0)
        if not wd >= 0.0:
            raise ValueError(f"Invalid weight_decay value: {wd}")

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad = p.grad * 0.0

    def _params_with_grad(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if tuple(p.grad.shape) != tuple(p.data.shape):
                        raise ValueError(f"gradient shape {tuple(p.grad.shape)} does not match "
                                         f"parameter shape {tuple(p.data.shape)}")
                    yield group, p, self.state.setdefault(p, {})

    def step(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v}" for k, v in self.defaults.items())
        return f"{type(self).__name__}({opts})"


class GD(Optimizer):
    r"""Plain gradient descent: :math:`\theta \leftarrow \theta - \eta\, g`.

    The simplest rule; identical to ``SGD`` with no momentum and no weight decay.
    """

    def __init__(self, params, lr: float = 0.1):
        super().__init__(params, {"lr": lr})

    def step(self) -> None:
        for group, p, _ in self._params_with_grad():
            p.data = p.data - group["lr"] * p.grad


class SGD(Optimizer):
    r"""Stochastic gradient descent with optional momentum (``torch.optim.SGD``).

    With gradient :math:`g_t` (plus :math:`\lambda\theta` when ``weight_decay`` = λ):

    .. math::
        b_t = \mu b_{t-1} + (1 - \tau) g_t \quad (b_1 = g_1), \qquad
        \theta_t = \theta_{t-1} - \eta \cdot
        \begin{cases} g_t + \mu b_t & \text{nesterov} \\ b_t & \text{otherwise} \end{cases}

    μ = ``momentum``, τ = ``dampening``. Nesterov momentum (Sutskever et al.,
    2013) looks ahead along the momentum direction; it needs μ > 0 and τ = 0.
    State: ``momentum_buffer``.
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov})

    def step(self) -> None:
        for group, p, state in self._params_with_grad():
            g = p.grad
            if group["weight_decay"]:
                g = g + group["weight_decay"] * p.data
            mu = group["momentum"]
            if mu:
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = g
                else:
                    buf = mu * buf + (1.0 - group["dampening"]) * g
                state["momentum_buffer"] = buf
                g = g + mu * buf if group["nesterov"] else buf
            p.data = p.data - group["lr"] * g


class RMSprop(Optimizer):
    r"""RMSprop (Hinton, Coursera lecture 6.5; ``torch.optim.RMSprop``).

    Scales each parameter's step by a running root-mean-square of its gradients:

    .. math::
        v_t = \alpha v_{t-1} + (1-\alpha) g_t^2, \qquad
        \theta_t = \theta_{t-1} - \eta\, g_t / (\sqrt{v_t} + \epsilon)

    ``centered=True`` subtracts the square of a running mean of gradients from
    :math:`v_t` first; ``momentum`` > 0 accumulates :math:`g_t/(\sqrt{v_t}+\epsilon)`
    in a buffer. State: ``square_avg``, ``grad_avg``, ``momentum_buffer``.
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False):
        if not eps >= 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not alpha >= 0.0:
            raise ValueError(f"Invalid alpha value: {alpha}")
        if not momentum >= 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                                  "momentum": momentum, "centered": centered})

    def step(self) -> None:
        for group, p, state in self._params_with_grad():
            xp = namespace(p.data)
            g = p.grad
            if group["weight_decay"]:
                g = g + group["weight_decay"] * p.data
            alpha = group["alpha"]
            if not state:
                state["step"] = 0
                state["square_avg"] = xp.zeros_like(p.data)
                if group["momentum"] > 0:
                    state["momentum_buffer"] = xp.zeros_like(p.data)
                if group["centered"]:
                    state["grad_avg"] = xp.zeros_like(p.data)
            state["step"] += 1
            state["square_avg"] = alpha * state["square_avg"] + (1.0 - alpha) * g * g
            if group["centered"]:
                state["grad_avg"] = alpha * state["grad_avg"] + (1.0 - alpha) * g
                avg = xp.sqrt(state["square_avg"] - state["grad_avg"] * state["grad_avg"]) + group["eps"]
            else:
                avg = xp.sqrt(state["square_avg"]) + group["eps"]
            if group["momentum"] > 0:
                state["momentum_buffer"] = group["momentum"] * state["momentum_buffer"] + g / avg
                p.data = p.data - group["lr"] * state["momentum_buffer"]
            else:
                p.data = p.data - group["lr"] * g / avg


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015, arXiv:1412.6980; ``torch.optim.Adam``).

    Momentum on the gradient plus RMSprop-style per-parameter scaling, with
    bias correction for the zero-initialised averages:

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,\quad
        \hat m_t = \frac{m_t}{1-\beta_1^t},\quad \hat v_t = \frac{v_t}{1-\beta_2^t},\\
        \theta_t = \theta_{t-1} - \eta\, \hat m_t / (\sqrt{\hat v_t} + \epsilon)

    ``weight_decay`` here adds :math:`\lambda\theta` to the gradient (an L2
    penalty), which Adam's scaling then distorts: see :class:`AdamW`.
    ``amsgrad`` uses the running maximum of :math:`v_t`.
    State: ``step``, ``exp_avg``, ``exp_avg_sq`` (``max_exp_avg_sq``).
    """

    _decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False):
        if not eps >= 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for i, b in enumerate(betas):
            if not 0.0 <= b < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {b}")
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay, "amsgrad": amsgrad})

    def step(self) -> None:
        for group, p, state in self._params_with_grad():
            xp = namespace(p.data)
            lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            g = p.grad
            if wd:
                if self._decoupled:
                    p.data = p.data * (1.0 - lr * wd)
                else:
                    g = g + wd * p.data
            if not state:
                state["step"] = 0
                state["exp_avg"] = xp.zeros_like(p.data)
                state["exp_avg_sq"] = xp.zeros_like(p.data)
                if group["amsgrad"]:
                    state["max_exp_avg_sq"] = xp.zeros_like(p.data)
            state["step"] += 1
            t = state["step"]
            state["exp_avg"] = beta1 * state["exp_avg"] + (1.0 - beta1) * g
            state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1.0 - beta2) * g * g
            bias_correction1 = 1.0 - beta1 ** t
            bias_correction2 = 1.0 - beta2 ** t
            second = state["exp_avg_sq"]
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.maximum(state["max_exp_avg_sq"], second)
                second = state["max_exp_avg_sq"]
            denom = xp.sqrt(second) / math.sqrt(bias_correction2) + eps
            p.data = p.data - (lr / bias_correction1) * state["exp_avg"] / denom


class AdamW(Adam):
    r"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter, 2019,
    arXiv:1711.05101; ``torch.optim.AdamW``).

    Before the Adam step the weights shrink directly,
    :math:`\theta \leftarrow \theta - \eta\lambda\theta`, instead of
    :math:`\lambda\theta` being added to the gradient. Under Adam the two differ:
    an L2 gradient term is divided by :math:`\sqrt{\hat v}` like the rest of the
    gradient, so parameters with large gradients are barely regularised; the
    decoupled decay shrinks every weight at the same rate.
    Default ``weight_decay=1e-2``, as in PyTorch.
    """

    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
