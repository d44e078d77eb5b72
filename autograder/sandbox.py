"""Run a student's function on a task's cases in a separate, limited process.

The student's code never runs in the process that judges it. A child process
runs the function on every case and sends back, case by case, only plain data:
JSON for the metadata and ``.npy`` bytes (loaded with ``allow_pickle=False``)
for arrays. The parent compares those with the reference. So the child can
patch anything it likes (``numpy.allclose``, ``autograder``, ``course``), loop
forever, allocate without end or call ``os._exit``: the parent only ever sees
its outputs, stops it at the time limit, and scores the cases it finished.

Two ways to get the student's function into the child:

* :func:`run_sources` (grading): a fresh child (forked from a clean server
  process that has only imported NumPy, torch and ``course``) executes the
  notebook's code cells from their source, then calls the function;
* :func:`run_live` (in the student's kernel): the kernel forks and the child
  calls the live function object.

In the child, the task's forbidden routines (``torch.softmax`` for a
from-scratch softmax, the ``course`` reference...) are replaced by tripwires
that record the call and raise.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import resource
import signal
import sys
import time
import traceback
import warnings

import numpy as np

from .tasks import Case, Task, expected_device

__all__ = ["CaseResult", "run_live", "run_sources", "Limits", "definitions_only", "python_source"]


class Limits:
    """Per-task limits: wall time for all cases of a task, and memory beyond the baseline."""

    def __init__(self, seconds: float | None = None, memory_mb: int | None = None):
        self.seconds = float(seconds if seconds is not None else os.environ.get("AUTOGRADER_TIME_LIMIT", 20))
        self.memory_mb = int(memory_mb if memory_mb is not None else os.environ.get("AUTOGRADER_MEMORY_MB", 2048))
        if self.seconds <= 0 or self.memory_mb <= 0:
            raise ValueError(f"limits must be positive, got {self.seconds} s and {self.memory_mb} MB")

    def __repr__(self):
        return f"Limits(seconds={self.seconds:g}, memory_mb={self.memory_mb})"


class CaseResult:
    """What the child reported for one case (plain data only)."""

    def __init__(self, case: Case, status: str, output=None, kind: str = "", dtype: str = "", device: str = "",
                 error: str = "", warnings_seen=(), forbidden=()):
        self.case = case
        self.status = status  # "ok", "raised", "timeout", "crashed", "missing", "not run"
        self.output = output
        self.kind = kind
        self.dtype = dtype
        self.device = device
        self.error = error
        self.warnings = list(warnings_seen)
        self.forbidden = list(forbidden)


# ---------------------------------------------------------------------------
# the child side
# ---------------------------------------------------------------------------

class ForbiddenCall(Exception):
    """Raised inside the student's code when it calls a routine that does the task."""


def _resolve(dotted: str):
    """(owner object, attribute name) for an importable dotted name, or None."""
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:-1]:
                owner = getattr(owner, attr)
            getattr(owner, parts[-1])
        except AttributeError:
            return None
        return owner, parts[-1]
    return None


def _install_tripwires(task: Task, calls: list):
    for dotted in task.forbidden:
        found = _resolve(dotted)
        if found is None:
            continue
        owner, attr = found

        def tripwire(*args, _name=dotted, **kwargs):
            calls.append(_name)
            raise ForbiddenCall(f"{_name} does the task for you: {task.name} must be written from scratch")

        try:
            setattr(owner, attr, tripwire)
        except (AttributeError, TypeError):  # some C types refuse new attributes
            pass


def _limit_memory(memory_mb: int) -> None:
    """Cap the data segment at its current size plus ``memory_mb``.

    RLIMIT_DATA counts the heap and private writable mappings (NumPy and torch
    buffers) but not the address space CUDA reserves, so it works on a GPU
    machine where RLIMIT_AS would break CUDA's start-up.
    """
    try:
        with open("/proc/self/status") as fh:
            used = next(int(line.split()[1]) for line in fh if line.startswith("VmData:")) * 1024
    except (OSError, StopIteration):
        used = 0
    limit = used + memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def _to_backend(value, case: Case, device: str):
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            value = value.astype(case.dtype)
        if case.backend == "torch":
            import torch

            return torch.as_tensor(value, device=device)
        return value.copy()
    return value


def _describe_output(out):
    """(kind, dtype, device, NumPy payload or JSON value) of a returned value."""
    mod = type(out).__module__
    if mod.startswith("torch") and hasattr(out, "detach"):
        return "torch", str(out.dtype).replace("torch.", ""), out.device.type, out.detach().cpu().numpy()
    if isinstance(out, np.ndarray):
        return "numpy", str(out.dtype), "cpu", out
    if isinstance(out, np.generic):
        return "numpy-scalar", str(out.dtype), "cpu", np.asarray(out)
    if isinstance(out, (bool, int, float, str)) or out is None:
        return type(out).__name__, "", "", out
    return type(out).__name__, "", "", None


def _send(conn, meta: dict, array=None) -> None:
    payload = json.dumps(meta).encode()
    blob = b""
    if array is not None:
        buf = io.BytesIO()
        np.save(buf, np.array(array, order="C"), allow_pickle=False)  # keeps 0-d arrays 0-d
        blob = buf.getvalue()
    conn.send_bytes(len(payload).to_bytes(8, "big") + payload + blob)


def _run_cases(conn, task: Task, fn, cases, device: str, calls: list) -> None:
    for i, case in enumerate(cases):
        seen = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                args = [_to_backend(a, case, device) for a in case.args]
                kwargs = {k: _to_backend(v, case, device) for k, v in case.kwargs.items()}
                before = len(calls)
                out = fn(*args, **kwargs)
                kind, dtype, dev, payload = _describe_output(out)
                seen = sorted({str(w.message)[:120] for w in caught})
                meta = {"i": i, "status": "ok", "kind": kind, "dtype": dtype, "device": dev,
                        "warnings": seen, "forbidden": calls[before:]}
                if isinstance(payload, np.ndarray):
                    if payload.dtype.kind not in "biufc":
                        meta.update(status="ok", kind=f"array of {payload.dtype}")
                        _send(conn, meta)
                    else:
                        _send(conn, meta, payload)
                else:
                    meta["value"] = payload if isinstance(payload, (bool, int, float, str)) or payload is None \
                        else None
                    _send(conn, meta)
            except BaseException as exc:  # the student's code may raise anything, even SystemExit
                if isinstance(exc, KeyboardInterrupt):
                    raise
                seen = sorted({str(w.message)[:120] for w in caught})
                tb = traceback.extract_tb(exc.__traceback__)
                where = ""
                for frame in reversed(tb):
                    if frame.filename.startswith("<cell"):
                        where = f" (cell line {frame.lineno}: {frame.line.strip() if frame.line else ''})"
                        break
                _send(conn, {"i": i, "status": "raised", "error": f"{type(exc).__name__}: {exc}"[:300] + where,
                             "exc_type": type(exc).__name__, "warnings": seen, "forbidden": calls[-3:]})
    _send(conn, {"i": -1, "status": "done"})


def _child_setup(memory_mb: int) -> None:
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)  # fork-safety: the parent may have run torch ops
    _limit_memory(memory_mb)
    devnull = open(os.devnull, "w")
    sys.stdout = sys.stderr = devnull  # the student's prints do not reach the grader
    os.dup2(devnull.fileno(), 1)
    os.dup2(devnull.fileno(), 2)


def _live_child(conn, task, fn, suite, device, memory_mb):
    try:
        _child_setup(memory_mb)
        calls: list = []
        _install_tripwires(task, calls)
        _run_cases(conn, task, fn, task.cases(suite), device, calls)
    finally:
        os._exit(0)


def python_source(source: str) -> str:
    """A notebook cell as plain Python: IPython syntax (``%magic``, ``!shell``)
    becomes ``get_ipython()`` calls, which fail alone at grading time instead of
    making the whole cell unreadable."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - fall back to the cell as written
        return source


def definitions_only(source: str) -> str:
    """The statements of ``source`` that only define things: imports, functions,
    classes and assignments without calls. Experiments, loops and plots are
    left out, so a notebook's demo cells cost nothing at grading time."""
    try:
        tree = ast.parse(python_source(source))
    except SyntaxError:
        return ""
    keep = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            keep.append(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None \
                and not any(isinstance(n, (ast.Call, ast.Await, ast.Lambda)) for n in ast.walk(node.value)):
            keep.append(node)
    return ast.unparse(ast.Module(body=keep, type_ignores=[])) if keep else ""


def _exec_cells(plan, namespace: dict) -> None:
    """Execute (index, source) pairs statement by statement; errors skip a statement."""
    import builtins

    namespace.setdefault("__builtins__", builtins)
    for index, source in plan:
        try:
            tree = ast.parse(source, filename=f"<cell {index}>")
        except SyntaxError:
            continue
        for node in tree.body:
            try:
                code = compile(ast.Module(body=[node], type_ignores=[]), f"<cell {index}>", "exec")
                exec(code, namespace)
            except BaseException as exc:  # noqa: BLE001 - student code; keep going
                if isinstance(exc, KeyboardInterrupt):
                    raise
                continue


def _source_child(conn, task, plan, function, suite, device, memory_mb):
    try:
        _child_setup(memory_mb)
        calls: list = []
        _install_tripwires(task, calls)
        namespace = {"__name__": "__main__"}
        _exec_cells(plan, namespace)
        fn = namespace.get(function)
        if not callable(fn):
            _send(conn, {"i": -1, "status": "missing"})
        else:
            _run_cases(conn, task, fn, task.cases(suite), device, calls)
    finally:
        os._exit(0)


# ---------------------------------------------------------------------------
# the parent side
# ---------------------------------------------------------------------------

def _decode(blob: bytes):
    n = int.from_bytes(blob[:8], "big")
    meta = json.loads(blob[8:8 + n].decode())
    rest = blob[8 + n:]
    array = np.load(io.BytesIO(rest), allow_pickle=False) if rest else None
    return meta, array


def _collect(proc, conn, cases, limits: Limits) -> tuple[list, str]:
    """Read case results until done, the deadline, or the child's death."""
    results: dict[int, CaseResult] = {}
    deadline = time.monotonic() + limits.seconds
    ending = ""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            ending = f"timeout: stopped after the time limit of {limits.seconds:g} s (an endless loop?)"
            break
        try:
            ready = conn.poll(min(left, 0.5))
        except (EOFError, OSError):
            ready = True
        if not ready:
            if not proc.is_alive() and not conn.poll(0):
                ending = _death(proc, limits)
                break
            continue
        try:
            blob = conn.recv_bytes()
        except (EOFError, OSError):
            ending = _death(proc, limits)
            break
        try:
            meta, array = _decode(blob)
        except Exception:  # noqa: BLE001 - malformed data from the child counts as a crash
            ending = "crashed: the process sent data the grader could not read"
            break
        if meta.get("status") == "done":
            break
        if meta.get("status") == "missing":
            ending = "missing"
            break
        i = meta.get("i")
        if not isinstance(i, int) or not 0 <= i < len(cases):
            continue
        results[i] = CaseResult(cases[i], meta.get("status", "raised"), array if array is not None
                                else meta.get("value"), meta.get("kind", ""), meta.get("dtype", ""),
                                meta.get("device", ""), meta.get("error", ""), meta.get("warnings", ()),
                                meta.get("forbidden", ()))
        if meta.get("status") == "raised":
            results[i].kind = meta.get("exc_type", "")
    if proc.is_alive():
        proc.kill()
    proc.join(5)
    conn.close()
    out = []
    for i, case in enumerate(cases):
        if i in results:
            out.append(results[i])
        else:
            status = "missing" if ending == "missing" else ("timeout" if ending.startswith("timeout") else "crashed")
            out.append(CaseResult(case, status, error=ending))
    return out, ending


def _death(proc, limits: Limits) -> str:
    proc.join(2)
    code = proc.exitcode
    if code is not None and code < 0:
        sig = signal.Signals(-code).name
        if -code in (signal.SIGKILL, signal.SIGSEGV):
            return (f"crashed: the process was killed by {sig} (over the memory limit of "
                    f"{limits.memory_mb} MB, or a crash)")
        return f"crashed: the process was killed by {sig}"
    return f"crashed: the code ended the process (exit code {code}) - do not call exit() or os._exit()"


_FORKSERVER = None


@contextlib.contextmanager
def _main_hidden():
    """Start children without re-importing ``__main__`` in them.

    multiprocessing re-runs the parent's main script in every forkserver child
    (for nbgrader that means importing all of nbgrader, about a second each).
    Our children need nothing from it, so it is hidden while a child starts.
    """
    main = sys.modules.get("__main__")
    saved = {k: getattr(main, k) for k in ("__file__", "__spec__") if main is not None and hasattr(main, k)}
    try:
        if main is not None:
            for k in saved:
                if k == "__spec__":
                    main.__spec__ = None
                else:
                    delattr(main, k)
        yield
    finally:
        for k, v in saved.items():
            setattr(main, k, v)


def _forkserver_context():
    global _FORKSERVER
    if _FORKSERVER is None:
        import multiprocessing as mp

        os.environ.setdefault("MPLBACKEND", "Agg")  # children never open windows
        ctx = mp.get_context("forkserver")
        # what notebooks import, loaded once in the server so each child starts warm
        ctx.set_forkserver_preload(["numpy", "scipy.special", "torch", "matplotlib.pyplot", "course",
                                    "autograder.tasks", "autograder.sandbox"])
        _FORKSERVER = ctx
    return _FORKSERVER


def run_sources(task: Task, plan, suite: str = "all", limits: Limits | None = None,
                function: str | None = None) -> tuple[list, str]:
    """Execute notebook cells ``plan`` [(index, source)] in a fresh child and run the task's cases."""
    limits = limits or Limits()
    ctx = _forkserver_context()
    parent, child = ctx.Pipe(duplex=False)
    cases = task.cases(suite)
    proc = ctx.Process(target=_source_child,
                       args=(child, task, list(plan), function or task.function, suite, expected_device(),
                             limits.memory_mb), daemon=True)
    with _main_hidden():
        proc.start()
    child.close()
    return _collect(proc, parent, cases, limits)


def run_live(task: Task, fn, suite: str = "visible", limits: Limits | None = None) -> tuple[list, str]:
    """Fork the current process (a student's kernel) and run the live function there."""
    import multiprocessing as mp

    limits = limits or Limits()
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    cases = task.cases(suite)
    proc = ctx.Process(target=_live_child, args=(child, task, fn, suite, expected_device(), limits.memory_mb),
                       daemon=True)
    proc.start()
    child.close()
    return _collect(proc, parent, cases, limits)
