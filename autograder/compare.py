"""How a case's result is compared with what was expected.

Each comparison's :meth:`Compare.judge` takes the case, what the student's
code returned (decoded by :mod:`autograder.wire`: arrays are
:class:`~autograder.wire.Arr`) and the reference's result, and returns
``(credit, message)``: credit between 0 and 1, and a message that explains a
failure without giving the answer away (hidden cases never show expected
values or inputs). A message that comes with full credit is a note.

The kinds a task can be, and the comparison each uses:

* an array: :class:`Array` (kind, device, dtype, shape and values);
* a number: :class:`Number` (a float, a NumPy scalar, a 0-d array or tensor);
* several arrays: :class:`Parts` (a tuple or a dict, compared part by part);
* a forward/backward pair on the student's own cache: :class:`Pair`;
* a class with state: :class:`Trajectory` (an optimizer, step by step), or
  :class:`Parts` over what a driver records (modules, the ``Value`` engine);
* an outcome judged by a threshold: :class:`Outcome`;
* an exact answer (shapes, counts, labels): :class:`Exact`;
* anything else, as properties: :class:`Check`.
"""

from __future__ import annotations

import numpy as np

from .wire import Arr, Opaque, Raised, map_tree

__all__ = ["Compare", "Array", "Number", "Exact", "Parts", "Pair", "Trajectory", "Outcome", "Check",
           "TOLERANCE", "describe", "values", "plain"]

#: default (rtol, atol) by the case's dtype
TOLERANCE = {"float64": (1e-7, 1e-10), "float32": (1e-4, 1e-6)}


def describe(got) -> str:
    """A short description of a returned value, without its values."""
    if got is None:
        return "None"
    if isinstance(got, Raised):
        return f"an error ({got.type})"
    if isinstance(got, Opaque):
        return f"a {got.type_name}" + (f" ({got.note})" if got.note else "")
    if isinstance(got, Arr):
        if got.kind == "numpy-scalar":
            return f"a NumPy scalar ({got.dtype})"
        what = "tensor" if got.kind == "torch" else "NumPy array"
        return f"a {what} of shape {got.shape} ({got.dtype})"
    if isinstance(got, bool):
        return "a bool"
    if isinstance(got, (int, float, str)):
        return f"a {type(got).__name__}"
    if isinstance(got, (tuple, list, dict)):
        n = len(got)
        return f"a {type(got).__name__} of {n} item{'s' if n != 1 else ''}"
    return f"a {type(got).__name__}"


def values(got):
    """The returned value with every :class:`Arr` replaced by its NumPy array."""
    return map_tree(lambda v: v.value if isinstance(v, Arr) else v, got)


def plain(value):
    """Arrays, tuples and NumPy scalars as lists and Python scalars, for exact comparison."""
    if isinstance(value, Arr):
        return value.value.tolist()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, Raised):
        return ("<raised>", value.type)
    if isinstance(value, Opaque):
        return ("<opaque>", value.type_name)
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor from a reference
        return value.detach().cpu().numpy().tolist()
    return value


def _as_numpy(expected) -> np.ndarray:
    if hasattr(expected, "detach") and hasattr(expected, "cpu"):
        expected = expected.detach().cpu().numpy()
    return np.asarray(expected)


def _raised(got) -> str:
    return f"raised {got.message}"


class Compare:
    """Base class: ``judge(case, got, expected) -> (credit, message)``."""

    #: whether :meth:`judge` needs the reference's result
    needs_reference = True

    def __init__(self, tol: dict | None = None):
        self.tol = dict(TOLERANCE)
        for dtype, pair in (tol or {}).items():
            if dtype not in TOLERANCE or len(pair) != 2:
                raise ValueError(f"tol maps 'float64'/'float32' to (rtol, atol), got {dtype!r}: {pair!r}")
            self.tol[dtype] = (float(pair[0]), float(pair[1]))

    def tolerance(self, case) -> tuple[float, float]:
        return self.tol.get(case.dtype, self.tol["float64"])

    def judge(self, case, got, expected):  # pragma: no cover - abstract
        raise NotImplementedError


def _mismatch(got64: np.ndarray, want: np.ndarray, rtol: float, atol: float, hidden: bool) -> str:
    """'' when every entry is close, else where and by how much it is not."""
    finite = np.isfinite(got64)
    close = finite & (np.abs(got64 - want) <= atol + rtol * np.abs(want))
    close |= np.isnan(want) & np.isnan(got64)
    if close.all():
        return ""
    wrong = ~close
    first = tuple(int(i) for i in np.argwhere(wrong)[0])
    if not finite[wrong].all():
        n_bad = int((~finite & wrong).sum())
        return f"{n_bad} of {got64.size} values are nan or inf (first wrong value at {first})"
    err = np.abs(got64 - want)
    rel = err / np.maximum(np.maximum(np.abs(want), np.abs(got64)), 1e-300)
    rel_text = f"max rel error {rel[wrong].max():.3g}"
    if hidden:  # an absolute error could reveal expected values
        return f"{rel_text}, first wrong value at {first}"
    return f"max abs error {err[wrong].max():.3g}, {rel_text}, first wrong value at {first}"


class Number(Compare):
    """A single number: a Python float or int, a NumPy scalar, a 0-d array or a 0-d tensor."""

    def judge(self, case, got, expected):
        want = float(_as_numpy(expected))
        if isinstance(got, Raised):
            return 0.0, _raised(got)
        if got is None:
            return 0.0, "returned None, expected a number - did you forget `return`?"
        if isinstance(got, bool) or not isinstance(got, (int, float, Arr)):
            return 0.0, f"returned {describe(got)}, expected a number"
        if isinstance(got, Arr):
            if got.value.ndim != 0:
                return 0.0, (f"returned {describe(got)}, expected a single number (a float, or an array or "
                             "tensor of shape ())")
            if got.value.dtype.kind not in "biuf":
                return 0.0, f"returned {describe(got)}, expected a real number"
            value = float(got.value)
        else:
            value = float(got)
        rtol, atol = self.tolerance(case)
        if not np.isfinite(value) and not (np.isnan(want) and np.isnan(value)):
            return 0.0, f"returned {value}, expected a finite number"
        if abs(value - want) <= atol + rtol * abs(want) or (np.isnan(want) and np.isnan(value)):
            return 1.0, ""
        if case.suite == "visible":
            return 0.0, f"returned {value:.6g}, expected {want:.6g}"
        rel = abs(value - want) / max(abs(value), abs(want), 1e-300)
        return 0.0, f"wrong value (rel error {rel:.3g})"


class Array(Compare):
    """An array like the input: same kind (NumPy or torch) and device, same dtype,
    the reference's shape, values within the tolerance of the case's dtype.

    An expected result of shape () is judged as a :class:`Number`.
    ``check_kind=False`` accepts NumPy arrays and tensors alike (results a
    driver assembles); ``check_dtype=False`` accepts any floating dtype.
    """

    def __init__(self, tol: dict | None = None, check_kind: bool = True, check_dtype: bool = True):
        super().__init__(tol)
        self.check_kind = check_kind
        self.check_dtype = check_dtype

    def judge(self, case, got, expected):
        want = _as_numpy(expected)
        if want.ndim == 0:
            return Number(self.tol).judge(case, got, expected)
        want = want.astype(np.float64) if want.dtype.kind in "biuf" else want
        want_kind = "torch" if case.backend == "torch" else "numpy"
        if isinstance(got, Raised):
            return 0.0, _raised(got)
        if not isinstance(got, Arr) or got.kind == "numpy-scalar":
            extra = " - did you forget `return`?" if got is None else ""
            kind = "tensor" if want_kind == "torch" else "NumPy array"
            return 0.0, f"returned {describe(got)}, expected a {kind} of shape {want.shape}{extra}"
        if got.shape != want.shape:
            return 0.0, f"output shape {got.shape}, expected {want.shape}"
        if self.check_kind and got.kind != want_kind:
            return 0.0, (f"returned a {'tensor' if got.kind == 'torch' else 'NumPy array'} for {want_kind} "
                         "input (return the input's kind of array)")
        if self.check_kind and want_kind == "torch":
            from .tasks import expected_device

            device = expected_device()
            if got.device != device:
                return 0.0, f"returned a tensor on {got.device}, expected it on the input's device ({device})"
        floating = got.value.dtype.kind == "f" or got.dtype == "bfloat16"
        if self.check_dtype and case.dtype in ("float32", "float64") and floating and got.dtype != case.dtype:
            return 0.0, f"output dtype {got.dtype}, expected {case.dtype} (keep the input's dtype)"
        if got.value.dtype.kind not in "biuf":
            return 0.0, f"returned {describe(got)}, expected real numbers"
        rtol, atol = self.tolerance(case)
        problem = _mismatch(got.value.astype(np.float64), want, rtol, atol, case.suite != "visible")
        return (0.0, f"shape {got.shape}: {problem}") if problem else (1.0, "")


class Exact(Compare):
    """Exactly the reference's answer: numbers, strings, shapes, counts, labels.

    Tuples and lists compare alike, as do NumPy and Python scalars, so
    ``[(4, 3), (4,)]`` equals ``[[4, 3], [4]]``; where the reference has whole
    numbers, floats are wrong (``(4.0, 3.0)`` is no shape).
    """

    def judge(self, case, got, expected):
        if isinstance(got, Raised):
            return 0.0, _raised(got)
        g, e = plain(got), plain(expected)
        if _same(g, e):
            return 1.0, ""
        note = " (whole numbers are expected, not floats)" if g == e else ""
        if case.suite == "visible":
            return 0.0, f"returned {_short(g)}, expected {_short(e)}{note}"
        return 0.0, f"returned {describe(got)}, which is not the expected answer{note}"


def _same(g, e) -> bool:
    """Equal, and whole numbers where whole numbers are expected (``4.0`` is no shape)."""
    if isinstance(e, list):
        return isinstance(g, list) and len(g) == len(e) and all(_same(a, b) for a, b in zip(g, e))
    if isinstance(e, dict):
        return isinstance(g, dict) and g.keys() == e.keys() and all(_same(g[k], e[k]) for k in e)
    if isinstance(e, bool) or isinstance(g, bool):
        return type(g) is type(e) and g == e
    if isinstance(e, int) and isinstance(g, float):
        return False
    return g == e


def _short(v, limit: int = 120) -> str:
    text = repr(v)
    return text if len(text) <= limit else text[:limit - 3] + "..."


class Parts(Compare):
    """Several results, compared part by part: a tuple (``container="tuple"``,
    lists accepted too) or a dict (``container="dict"``); by default, the kind
    of container the reference returns.

    ``parts`` lists the part names (each compared with ``each``, an
    :class:`Array` by default) or maps names to their own comparisons.
    Credit is the share of parts that are right (``all_or_nothing=True``: all
    or none). Failures name the part: ``dW: max rel error 0.5, first wrong
    value at (2, 1)``. A part the reference gives as None must be None.
    """

    def __init__(self, parts=None, each: Compare | None = None, container: str | None = None,
                 all_or_nothing: bool = False):
        super().__init__()
        if container not in (None, "tuple", "dict"):
            raise ValueError(f"container must be 'tuple', 'dict' or None (as the reference's), got {container!r}")
        self.each = each or Array()
        if isinstance(parts, dict):
            self.parts = dict(parts)
        elif parts is None:  # the parts are whatever the reference returns (a driver's record)
            self.parts = None
        else:
            self.parts = {name: self.each for name in parts}
            if not self.parts:
                raise ValueError("Parts needs at least one part")
        self.container = container
        self.all_or_nothing = all_or_nothing

    @property
    def needs_reference(self):
        return self.parts is None or any(c.needs_reference for c in self.parts.values())

    def _names(self, expected) -> list:
        if self.parts is not None:
            return list(self.parts)
        if isinstance(expected, dict):
            return list(expected)
        return [f"part {i + 1}" for i in range(len(expected))]

    def _split(self, value, names, container):
        if container == "dict":
            if not isinstance(value, dict):
                return None
            return {n: value.get(n, _MISSING) for n in names}
        if not isinstance(value, (tuple, list)) or len(value) != len(names):
            return None
        return dict(zip(names, value))

    def judge(self, case, got, expected):
        if isinstance(got, Raised):
            return 0.0, _raised(got)
        container = self.container or ("dict" if isinstance(expected, dict) else "tuple")
        names = self._names(expected)
        mine = self._split(got, names, container)
        want = self._split(expected, names, container) if expected is not None else {n: None for n in names}
        if want is None:
            raise TypeError(f"the reference returned {type(expected).__name__}, not the {container} of "
                            f"parts {names} this task compares - help: a single result is compared with "
                            "Array() or Number(), not Parts")
        if mine is None:
            shape = f"a dict with keys {names}" if container == "dict" else \
                f"a tuple of {len(names)} ({', '.join(names)})"
            return 0.0, f"returned {describe(got)}, expected {shape}"
        credits, problems, notes = [], [], []
        for name in names:
            compare = self.parts[name] if self.parts is not None else self.each
            g, e = mine[name], want[name]
            if g is _MISSING:
                credit, problem = 0.0, "missing"
            elif e is None and compare.needs_reference:
                credit, problem = (1.0, "") if g is None else (0.0, f"expected None, returned {describe(g)}")
            else:
                credit, problem = compare.judge(case, g, e)
            credits.append(credit)
            if problem:
                (notes if credit == 1.0 else problems).append(f"{name}: {problem}")
        credit = float(np.mean(credits))
        if self.all_or_nothing and credit < 1.0:
            credit = 0.0
        return credit, "; ".join(problems or notes)


_MISSING = Opaque("missing")


class Pair(Compare):
    """A backward judged together with the student's own forward.

    The task's runner (:func:`autograder.drivers.forward_backward`) returns
    ``{"out": forward output, "own": backward on the student's cache,
    "ref": backward on the reference forward's cache}``; the reference gives
    ``{"out": ..., "grads": ...}``. When the student's forward is right, the
    backward is judged on its own cache, and if it is right only with the
    reference's cache the message says the forward does not keep what the
    backward needs. When the forward fails (an error, a wrong output: its own
    task loses those points), the backward is judged on the reference's cache,
    so a broken forward costs the backward nothing.
    """

    def __init__(self, grads: Compare, forward: Compare | None = None):
        super().__init__()
        self.grads = grads
        self.forward = forward or Array()

    def judge(self, case, got, expected):
        if isinstance(got, Raised):
            return 0.0, _raised(got)
        if not isinstance(got, dict) or not {"out", "own", "ref"} <= set(got):
            return 0.0, f"the forward/backward run returned {describe(got)}"
        out = got["out"]
        if isinstance(out, Raised):
            forward_ok = False
        else:
            forward_ok = self.forward.judge(case, out, expected["out"])[0] == 1.0
        if forward_ok:
            credit, problem = self.grads.judge(case, got["own"], expected["grads"])
            if credit == 1.0:
                return 1.0, problem
            ref_credit, _ = self.grads.judge(case, got["ref"], expected["grads"])
            if ref_credit == 1.0:
                return credit, (f"with the cache your forward returned: {problem}. With the cache the reference "
                                "forward keeps, your backward is right: your forward does not keep everything the "
                                "backward needs")
            return credit, problem
        credit, problem = self.grads.judge(case, got["ref"], expected["grads"])
        note = "your forward failed on this case, so the backward ran on the reference forward's cache"
        return credit, f"{problem} ({note})" if problem else note


class Trajectory(Compare):
    """A state that evolves step by step (an optimizer's parameters).

    The result is a tuple of arrays, one per tracked quantity, each of shape
    ``(steps, ...)``; ``names`` label them. The case passes when every step
    matches the reference; a failure names the first step that does not.
    """

    def __init__(self, names=("parameter",), tol: dict | None = None):
        super().__init__(tol)
        self.names = tuple(names)

    def judge(self, case, got, expected):
        if isinstance(got, Raised):
            return 0.0, _raised(got)
        want = [np.asarray(_as_numpy(e), dtype=np.float64) for e in expected]
        if not isinstance(got, (tuple, list)) or len(got) != len(want) or \
                not all(isinstance(g, Arr) and g.shape == w.shape for g, w in zip(got, want)):
            return 0.0, f"the run returned {describe(got)}, expected {len(want)} recorded trajectories"
        rtol, atol = self.tolerance(case)
        steps = want[0].shape[0]
        for t in range(steps):
            for k, (g, w) in enumerate(zip(got, want)):
                name = self.names[k] if k < len(self.names) else f"{self.names[-1]} {k}"
                problem = _mismatch(g.value[t].astype(np.float64), w[t], rtol, atol, case.suite != "visible")
                if problem:
                    return 0.0, f"step {t + 1} of {steps}: {name} differs ({problem})"
        return 1.0, ""


class Outcome(Compare):
    """A result judged by thresholds on data only the judge holds (``case.secret``).

    ``metrics`` maps a name to ``(function, ">=" or "<=", bound)``; the
    function gets the returned value (arrays as NumPy) and the case's secret
    and returns a number. Credit is the share of thresholds met. Hidden cases
    show each measured value to two significant digits only: a finer value
    would let chosen answers read the held-out labels back.
    """

    needs_reference = False

    def __init__(self, metrics: dict):
        super().__init__()
        for name, spec in metrics.items():
            if len(spec) != 3 or spec[1] not in (">=", "<="):
                raise ValueError(f"metric {name!r}: expected (function, '>=' or '<=', bound), got {spec!r}")
        self.metrics = dict(metrics)

    def judge(self, case, got, expected):
        if isinstance(got, Raised):
            return 0.0, _raised(got)
        met, problems, notes = 0, [], []
        digits = ".4g" if case.suite == "visible" else ".2g"
        for name, (fn, op, bound) in self.metrics.items():
            try:
                value = float(fn(values(got), case.secret))
            except Exception as exc:  # noqa: BLE001 - the student's result may be any shape
                problems.append(f"{name}: could not be computed from {describe(got)} ({type(exc).__name__}: "
                                f"{str(exc)[:120]})")
                continue
            ok = bool(np.isfinite(value)) and (value >= bound if op == ">=" else value <= bound)
            shown = f"{value:{digits}}"
            if np.isfinite(value) and ((float(shown) >= bound if op == ">=" else float(shown) <= bound) != ok):
                shown = f"just {'above' if value > bound else 'below'} {bound:g}"  # rounding must not mislead
            text = f"{name} {shown} (needs {'at least' if op == '>=' else 'at most'} {bound:g})"
            if ok:
                met += 1
                notes.append(text)
            else:
                problems.append(text)
        credit = met / len(self.metrics)
        return credit, "; ".join(problems) if problems else "; ".join(notes)


class Check(Compare):
    """Properties a result must have, for results with no single right value
    (a dropout mask is random). ``properties(case, value)`` gets the returned
    value (arrays as NumPy) and returns ``[(passed, description), ...]``;
    credit is the share that pass (``all_or_nothing=True``: all or none).
    """

    needs_reference = False

    def __init__(self, properties, all_or_nothing: bool = False):
        super().__init__()
        self.properties = properties
        self.all_or_nothing = all_or_nothing

    def judge(self, case, got, expected):
        if isinstance(got, Raised):
            return 0.0, _raised(got)
        try:
            results = list(self.properties(case, values(got)))
        except Exception as exc:  # noqa: BLE001 - a malformed result
            return 0.0, f"returned {describe(got)}, which could not be checked ({type(exc).__name__}: " \
                        f"{str(exc)[:120]})"
        if not results:
            raise ValueError("a Check's properties() returned no results")
        failed = [text for ok, text in results if not ok]
        credit = (len(results) - len(failed)) / len(results)
        return (0.0 if self.all_or_nothing and failed else credit), "; ".join(failed)
