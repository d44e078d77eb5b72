"""The graded tasks, one module per chapter, and the registry that finds them.

A chapter's tasks live in ``autograder/tasks/ch<NN>_<slug>.py``: the module
sets ``CHAPTER = "<NN>"`` and lists its tasks in ``TASKS``. Each task is
registered as ``"<NN>.<name>"`` (``"00.softmax"``), so two chapters can both
grade a ``softmax``; test cells name the task that way:
``check("00.softmax", softmax)``. Nothing else needs editing to add a task.
More task modules (for example a test assignment's) can be named in the
environment variable ``AUTOGRADER_TASKS`` (file paths, separated by ``:``).

A :class:`Task` says which notebook objects it grades (``uses``), builds its
visible cases from a fixed seed (the same cases every run) and its hidden
cases from a generator seeded by the course's secret (see :func:`secret` and
:mod:`autograder.secret`: a student's kernel, without it, cannot compute the
hidden inputs or their answers), knows how to run one case
on the student's objects (``run``, executed in the sandbox), how to compute
the expected result (``reference``, executed in the judge) and how to compare
the two (``compare``, see :mod:`autograder.compare`). The authoring guide
(``autograder/AUTHORING.md``) shows a task of every kind.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import platform
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..compare import Array, Compare
from ..secret import ENV as SECRET_ENV
from ..secret import read_secret
from ..wire import map_tree

__all__ = ["Case", "Task", "get_task", "all_tasks", "expected_device", "environment", "call", "case_seed",
           "check_case_data", "secret", "set_secret", "hidden_rng", "HiddenCasesUnavailable"]


@dataclass
class Case:
    """One call of the student's code.

    ``args`` / ``kwargs`` are data: NumPy arrays, numbers, strings, and lists,
    tuples or dicts of these. Floating arrays are given in float64 and reach
    the student as ``dtype`` on ``backend`` ("numpy", or "torch" on the
    grading device); the reference always sees float64 NumPy. ``raises``
    names the exception the call must raise instead of returning. ``tags``
    select hints when the case fails. ``secret`` is data only the judge sees
    (the labels an outcome is scored on); it never reaches the student's
    process.
    """

    name: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    backend: str = "numpy"
    dtype: str = "float64"
    suite: str = "visible"
    raises: type | None = None
    tags: tuple = ()
    secret: Any = None


def call(objs, *args, **kwargs):
    """The default way to run a case: call the one graded function."""
    return objs[0](*args, **kwargs)


@dataclass
class Task:
    """A graded task. See the module docstring and ``autograder/AUTHORING.md``.

    ``uses``: the names of the notebook objects the test cell passes to
    ``check`` (functions or classes), in order. ``make_cases()``: the visible
    cases, from fixed data. ``make_hidden(rng)``: the hidden cases, drawn from
    ``rng``, a generator seeded by the course's secret and the task's name (so
    the same cases every run of the grader, and none a student can compute);
    their ``suite`` is set to "hidden". ``make_cases`` may still list hidden
    cases with nothing to compute in them (an input that must raise); hidden
    cases with data belong in ``make_hidden``.
    ``run(objs, *args, **kwargs)``: one case on the student's objects, in the
    sandbox (default: ``objs[0](*args, **kwargs)``); whatever it returns is
    sent back as data. ``reference(*args, **kwargs)``: the expected result,
    computed in the judge from float64 NumPy inputs (None when ``compare``
    needs none, as for outcomes). ``time_limit`` (seconds, all cases
    together) and ``memory_mb`` override the course defaults for this task.
    """

    name: str
    uses: tuple
    make_cases: Callable[[], list]
    reference: Callable[..., Any] | None = None
    run: Callable[..., Any] = call
    compare: Compare = field(default_factory=Array)
    describe: str = ""
    from_scratch: bool = False
    forbidden: tuple = ()  # dotted names of routines that do the task
    hints: dict = field(default_factory=dict)  # tag -> hint shown when a case with that tag fails
    time_limit: float | None = None
    memory_mb: int | None = None
    make_hidden: Callable[[np.random.Generator], list] | None = None  # rng -> hidden cases (see above)
    chapter: str = ""  # set when registered
    origin: str = ""  # the module name or file the task was loaded from

    def __post_init__(self):
        if isinstance(self.uses, str):
            self.uses = (self.uses,)
        self.uses = tuple(self.uses)
        if not self.uses or not all(isinstance(u, str) and u.isidentifier() for u in self.uses):
            raise ValueError(f"task {self.name!r}: uses must name the notebook objects it grades, got {self.uses!r}")
        if not isinstance(self.compare, Compare):
            raise TypeError(f"task {self.name!r}: compare must be an autograder.compare object, "
                            f"got {type(self.compare).__name__}")

    @property
    def qualname(self) -> str:
        return f"{self.chapter}.{self.name}" if self.chapter else self.name

    @property
    def function(self) -> str:
        return self.uses[0]

    def cases(self, suite: str = "all") -> list:
        """The cases of ``suite``: "visible", "hidden" or "all" (``make_cases``'s, then ``make_hidden``'s).

        Hidden and all need the course's secret when the task has ``make_hidden``:
        without it (a student's kernel) they raise :class:`HiddenCasesUnavailable`.
        """
        if suite not in ("visible", "hidden", "all"):
            raise ValueError(f"suite must be 'visible', 'hidden' or 'all', got {suite!r}")
        listed = list(self.make_cases())
        if suite == "visible":
            return [c for c in listed if c.suite == "visible"]
        hidden = self._hidden()
        if suite == "hidden":
            return [c for c in listed if c.suite == "hidden"] + hidden
        return listed + hidden

    def _hidden(self) -> list:
        """The cases ``make_hidden`` draws from the course's secret, marked hidden."""
        if self.make_hidden is None:
            return []
        made = list(self.make_hidden(hidden_rng(self.qualname)))
        for case in made:
            if not isinstance(case, Case):
                raise TypeError(f"task {self.qualname!r}: make_hidden returned a {type(case).__name__}, not a Case")
        return [replace(case, suite="hidden") for case in made]

    def expected(self, case: Case):
        """The reference result for ``case`` (float64 NumPy inputs)."""
        if self.reference is None:
            return None
        return self.reference(*to_float64(case.args), **to_float64(case.kwargs))


def _float64_copy(value):
    if isinstance(value, np.ndarray):
        return value.astype(np.float64) if value.dtype.kind == "f" else value.copy()
    return value


def to_float64(value):
    """Floating arrays inside ``value`` as float64 copies (for the reference)."""
    return map_tree(_float64_copy, value)


_DATA_SCALARS = (bool, int, float, str, bytes, type(None), np.generic)


def check_case_data(value, where: str = "args") -> None:
    """Raise ``TypeError`` unless ``value`` is data that can be sent to the sandbox."""
    if isinstance(value, (np.ndarray, *_DATA_SCALARS)):
        if isinstance(value, np.ndarray) and value.dtype.kind == "O":
            raise TypeError(f"{where}: object arrays are not data")
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            check_case_data(v, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: dict keys must be strings, got {k!r}")
            check_case_data(v, f"{where}[{k!r}]")
        return
    raise TypeError(f"{where} holds a {type(value).__name__}: case arguments must be data (arrays, numbers, "
                    "strings, and lists, tuples or dicts of these) - help: pass a function by name and "
                    "build it in the task's run()")


# ---------------------------------------------------------------------------
# the course's secret: where the hidden cases come from
# ---------------------------------------------------------------------------

class HiddenCasesUnavailable(RuntimeError):
    """Hidden cases were asked for in a process without the course's secret."""


_SECRET: bytes | None = None


def set_secret(value: bytes | None) -> None:
    """Use ``value`` as the course's secret in this process (before ``AUTOGRADER_SECRET_FILE``);
    None forgets it."""
    global _SECRET
    if value is not None and (not isinstance(value, (bytes, bytearray)) or not value):
        raise ValueError("a course secret is a non-empty bytes value")
    _SECRET = None if value is None else bytes(value)


def secret() -> bytes | None:
    """The course's secret: the value given to :func:`set_secret`, else the one in the file named
    by ``AUTOGRADER_SECRET_FILE`` (which :func:`autograder.config.configure` sets), else None."""
    if _SECRET is not None:
        return _SECRET
    path = os.environ.get(SECRET_ENV, "")
    if not path:
        return None
    try:
        return read_secret(path)
    except (OSError, ValueError) as exc:
        raise HiddenCasesUnavailable(f"the course's secret cannot be read from {path} (named by {SECRET_ENV}): "
                                     f"{exc}") from None


def hidden_rng(task: str) -> np.random.Generator:
    """The generator task ``task`` ("00.softmax") draws its hidden cases from: seeded by the
    course's secret and the task's name. Raises :class:`HiddenCasesUnavailable` without a secret."""
    key = secret()
    if key is None:
        raise HiddenCasesUnavailable(
            f"task {task}: hidden cases are only run by the grader - they are drawn from the course's secret, "
            f"which this process does not have (a student's kernel runs the visible cases; a grading process "
            f"gets the secret from autograder.config.configure, or from the file named by {SECRET_ENV})")
    words = np.frombuffer(key.ljust(-(-len(key) // 4) * 4, b"\0"), dtype="<u4")
    return np.random.default_rng([*(int(w) for w in words), len(key), zlib.crc32(task.encode())])


def case_seed(task: str, index: int) -> int:
    """The seed set before case ``index`` of ``task`` runs (NumPy, ``random`` and torch)."""
    return zlib.crc32(f"{task}#{index}".encode()) & 0x7FFFFFFF


# ---------------------------------------------------------------------------
# the registry
# ---------------------------------------------------------------------------

_REGISTRY: dict[str, Task] = {}
_LOADED: set = set()
_BROKEN: dict = {}  # module or file -> the error that stopped it loading


def _register_module(module, origin: str) -> None:
    chapter = getattr(module, "CHAPTER", None)
    tasks = getattr(module, "TASKS", None)
    if not isinstance(chapter, str) or not chapter or "." in chapter:
        raise ValueError(f"task module {origin} must set CHAPTER to a short string such as '01'")
    if not isinstance(tasks, (list, tuple)):
        raise ValueError(f"task module {origin} must list its tasks in TASKS")
    names = [t.name for t in tasks if isinstance(t, Task)]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"{origin}: TASKS names {', '.join(twice)} more than once")
    for task in tasks:
        if not isinstance(task, Task):
            raise TypeError(f"{origin}: TASKS holds a {type(task).__name__}, not a Task")
        task.chapter, task.origin = chapter, origin
        other = _REGISTRY.get(task.qualname)
        if other is not None and other.origin != origin:
            raise ValueError(f"task {task.qualname!r} is defined twice: in {other.origin} and in {origin}")
        _REGISTRY[task.qualname] = task


def _chapter_modules() -> list[str]:
    here = Path(__file__).parent
    return sorted(f"{__name__}.{m.name}" for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("ch"))


def load_file(path: str, source: str | None = None) -> None:
    """Register the tasks of a task module given by its file path (``source``: its text, for
    a process that cannot see the file, such as a sandbox child in the grading jail)."""
    path = str(Path(path).resolve()) if source is None else str(path)
    if path in _LOADED:
        return
    name = "autograder_tasks_" + format(zlib.crc32(path.encode()), "x")
    if source is not None:
        import sys
        import types

        module = types.ModuleType(name)
        module.__file__ = path
        sys.modules[name] = module
        exec(compile(source, path, "exec"), module.__dict__)  # noqa: S102 - the instructor's task module
    else:
        if not Path(path).is_file():
            raise FileNotFoundError(f"task module {path} does not exist (named in AUTOGRADER_TASKS?)")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    _register_module(module, path)
    _LOADED.add(path)


def _load_all() -> None:
    """Load every task module; one that fails is recorded and skipped, so a broken
    chapter module costs its own tasks only."""
    def attempt(key, load):
        if key in _LOADED:
            return
        try:
            load()
            _BROKEN.pop(key, None)
        except Exception as exc:  # noqa: BLE001 - reported by all_tasks() and get_task()
            _BROKEN[key] = f"{type(exc).__name__}: {exc}"

    for name in _chapter_modules():
        attempt(name, lambda name=name: (_register_module(importlib.import_module(name), name), _LOADED.add(name)))
    for path in filter(None, os.environ.get("AUTOGRADER_TASKS", "").split(os.pathsep)):
        attempt(str(Path(path).resolve()), lambda path=path: load_file(path))


def all_tasks() -> dict:
    """Every registered task by its qualified name ("00.softmax"); raises if a task module is broken."""
    _load_all()
    if _BROKEN:
        raise ImportError("task modules that cannot be loaded: " +
                          "; ".join(f"{k}: {v}" for k, v in sorted(_BROKEN.items())))
    return dict(_REGISTRY)


def get_task(name: str, origin: str | None = None) -> Task:
    """The task ``name`` ("<chapter>.<task>"); ``origin`` is a file to load it from if needed."""
    if not isinstance(name, str):
        raise TypeError(f"a task name is a string such as '00.softmax', got {type(name).__name__}")
    if name not in _REGISTRY:
        if origin and origin.endswith(".py"):
            load_file(origin)
        _load_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        import difflib

        short = name.split(".", 1)[-1]
        close = sorted(q for q in _REGISTRY if q.split(".", 1)[-1] == short) or \
            difflib.get_close_matches(name, list(_REGISTRY), n=2, cutoff=0.6)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else \
            f"; known tasks: {', '.join(sorted(_REGISTRY))}"
        if _BROKEN:
            hint += "; task modules that cannot be loaded: " + \
                "; ".join(f"{k}: {v}" for k, v in sorted(_BROKEN.items()))
        raise KeyError(f"unknown task {name!r}{hint}") from None


def expected_device() -> str:
    """The device checks run torch cases on: ``COURSE_DEVICE`` = cpu | cuda | auto (default)."""
    choice = os.environ.get("COURSE_DEVICE", "auto").strip().lower()
    if choice not in ("cpu", "cuda", "auto"):
        raise ValueError(f"COURSE_DEVICE must be cpu, cuda or auto, got {choice!r}")
    if choice == "cpu":
        return "cpu"
    try:
        import torch

        available = torch.cuda.is_available()
    except ImportError:  # pragma: no cover - torch is a dependency
        available = False
    if choice == "cuda" and not available:
        raise RuntimeError("COURSE_DEVICE=cuda but no CUDA device is available")
    return "cuda" if available else "cpu"


def environment() -> dict:
    """What the setup chapter reports: Python, NumPy and torch versions and the device."""
    import torch

    return {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
            "device": expected_device()}
