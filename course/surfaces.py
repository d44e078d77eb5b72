r"""Two-dimensional loss surfaces, for watching optimizers move.

Each surface is a :class:`Surface`: ``f(x, y)`` (works on grids for plots),
``grad(x, y)`` (analytic), a start point and the location of a minimum.

* ``bowl`` -- an ill-conditioned convex quadratic :math:`\tfrac12(x^2 + 10 y^2)`:
  one minimum; plain GD zig-zags across the narrow valley.
* ``rosenbrock`` -- :math:`(1-x)^2 + 100(y - x^2)^2`: a curved, flat-bottomed
  valley; easy to find, slow to follow.
* ``saddle`` -- :math:`x^2 - y^2`: the origin is a saddle point (gradient 0,
  not a minimum); started exactly on the x axis, GD stalls there.
* ``himmelblau`` -- :math:`(x^2+y-11)^2 + (x+y^2-7)^2`: non-convex, four minima;
  where you end depends on where you start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["Surface", "SURFACES", "bowl", "rosenbrock", "saddle", "himmelblau", "trajectory"]


@dataclass(frozen=True)
class Surface:
    name: str
    f: Callable
    grad: Callable
    start: tuple[float, float]
    minima: tuple[tuple[float, float], ...]
    extent: tuple[float, float, float, float]  # xmin, xmax, ymin, ymax for plots
    convex: bool


bowl = Surface(
    "bowl", lambda x, y: 0.5 * (x ** 2 + 10.0 * y ** 2),
    lambda x, y: (x, 10.0 * y), (-4.0, 1.5), ((0.0, 0.0),), (-5, 5, -2.5, 2.5), True)

rosenbrock = Surface(
    "rosenbrock", lambda x, y: (1 - x) ** 2 + 100.0 * (y - x ** 2) ** 2,
    lambda x, y: (-2 * (1 - x) - 400.0 * x * (y - x ** 2), 200.0 * (y - x ** 2)),
    (-1.5, 2.0), ((1.0, 1.0),), (-2, 2, -1, 3), False)

saddle = Surface(
    "saddle", lambda x, y: x ** 2 - y ** 2, lambda x, y: (2 * x, -2 * y),
    (-2.0, 1e-3), (), (-2.5, 2.5, -2.5, 2.5), False)

himmelblau = Surface(
    "himmelblau", lambda x, y: (x ** 2 + y - 11) ** 2 + (x + y ** 2 - 7) ** 2,
    lambda x, y: (4 * x * (x ** 2 + y - 11) + 2 * (x + y ** 2 - 7),
                  2 * (x ** 2 + y - 11) + 4 * y * (x + y ** 2 - 7)),
    (0.0, 0.0), ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)),
    (-5, 5, -5, 5), False)

SURFACES = {s.name: s for s in (bowl, rosenbrock, saddle, himmelblau)}


def trajectory(optimizer_cls, surface: Surface, start=None, steps: int = 100, **hyper) -> np.ndarray:
    """Run ``optimizer_cls`` (a :mod:`course.optim` class) on ``surface``.

    Returns the visited points, shape (steps + 1, 2), the start included.
    Stops early (and returns the shorter path) if the point diverges.
    """
    from .nn import Parameter

    p = Parameter(np.array(start if start is not None else surface.start, dtype=np.float64), "xy")
    opt = optimizer_cls([p], **hyper)
    path = [p.data.copy()]
    for _ in range(steps):
        gx, gy = surface.grad(p.data[0], p.data[1])
        p.grad = np.array([gx, gy], dtype=np.float64)
        opt.step()
        path.append(p.data.copy())
        if not np.all(np.isfinite(p.data)) or np.max(np.abs(p.data)) > 1e6:
            break
    return np.array(path)
