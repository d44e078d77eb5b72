"""From scratch, enforced where it can be and flagged where it cannot (autograder.scratch).

A hostile tester's routes around the from-scratch softmax's deny list, each run
through the judge as a notebook would be: the dispatcher watch, the hidden
imports and the audit hook must score each 0 and say why (or, where the route
only fails, the reflection scan must flag its source); honest answers keep
full credit and no flag; a task that is not from scratch may still use
``torch.softmax``.
"""

import textwrap

import pytest

from autograder.judge import judge_sources
from autograder.sandbox import Limits
from autograder.scratch import OP_FAMILIES, forbidden_ops, hidden_packages, reflection_reasons
from autograder.tasks import get_task

pytestmark = pytest.mark.autograder

LIMITS = Limits(seconds=20, memory_mb=1024)


def judged(source: str, task: str = "00.softmax", names=("softmax",)):
    return judge_sources(task, [(0, source, "own")], names, "all", LIMITS)


def on_tensors(body: str) -> str:
    """A softmax that runs ``body`` (``t``, ``axis`` -> ``out``) on a tensor, for NumPy inputs too."""
    return ("import numpy as np\nimport torch\n\ndef softmax(x, axis=-1):\n    t = torch.as_tensor(x)\n"
            + textwrap.indent(textwrap.dedent(body).strip() + "\n", "    ")
            + "    return out.numpy() if isinstance(x, np.ndarray) else out\n")


HEAD = "import numpy as np\nimport torch\n"

# routes caught at run time: score 0, and the verdict names what was used
FORBIDDEN = {
    "torch.special.log_softmax(...).exp()": (on_tensors("out = torch.special.log_softmax(t, axis).exp()"),
                                             "torch.ops.aten._log_softmax"),
    "tensor.log_softmax(...).exp()": (on_tensors("out = t.log_softmax(axis).exp()"), "torch.ops.aten._log_softmax"),
    "torch._softmax": (on_tensors("out = torch._softmax(t, axis, False)"), "torch.ops.aten._softmax"),
    "torch._C._VariableFunctions.softmax": (on_tensors("out = torch._C._VariableFunctions.softmax(t, axis)"),
                                            "torch.ops.aten._softmax"),
    "torch.ops.aten.softmax.int": (on_tensors("out = torch.ops.aten.softmax.int(t, axis)"),
                                   "torch.ops.aten._softmax"),
    "torch.ops.aten._softmax.default": (on_tensors("out = torch.ops.aten._softmax.default(t, axis, False)"),
                                        "torch.ops.aten._softmax"),
    "attention with an identity value": (on_tensors("""
        m = t.movedim(axis, -1)
        n = m.shape[-1]
        eye = torch.eye(n, dtype=m.dtype)
        att = torch.nn.functional.scaled_dot_product_attention(m.reshape(-1, 1, n), eye[None], eye[None], scale=1.0)
        out = att.reshape(m.shape).movedim(-1, axis)
        """), "(the dispatcher saw it)"),
    "the tripwire's own default argument": (on_tensors("out = torch.softmax.__kwdefaults__['_original'](t, axis)"),
                                            "torch.ops.aten._softmax"),
    "torch.jit.trace'd at the top of the cell": (
        HEAD + "_sm = torch.jit.trace(lambda t: torch.ops.aten._softmax(t, -1, False), torch.ones(2, 3))\n"
        + on_tensors("out = _sm(t.movedim(axis, -1)).movedim(-1, axis)").split(HEAD, 1)[1],
        "torch.ops.aten._softmax"),
    "importlib.reload(torch.nn.functional)": (
        HEAD + "import importlib\nimport torch.nn.functional as F\nF = importlib.reload(F)\n"
        + on_tensors("out = F.softmax(t, axis)").split(HEAD, 1)[1], "softmax"),
    "the dispatcher watch switched off": (on_tensors("""
        from torch.utils._python_dispatch import _disable_current_modes
        with _disable_current_modes():
            out = torch.ops.aten._softmax(t, axis, False)
        """), "switches off the dispatcher watch"),
    "a thread without the watch": (on_tensors("""
        import threading
        res = []
        th = threading.Thread(target=lambda: res.append(torch.ops.aten._softmax(t, axis, False)))
        th.start()
        th.join()
        out = res[0]
        """), "another thread"),
    "a thread pool": (on_tensors("""
        from concurrent.futures import ThreadPoolExecutor
        out = ThreadPoolExecutor(1).submit(torch.ops.aten._softmax, t, axis, False).result()
        """), "another thread"),
    "__import__ with a built name": (HEAD + "def softmax(x, axis=-1):\n"
                                     "    return __import__('cou' + 'rse.activations', fromlist=['x']).softmax(x, axis)\n",
                                     "course.activations (imported while a case ran)"),
    "importlib.import_module('scipy.special')": (
        HEAD + "import importlib\ndef softmax(x, axis=-1):\n"
        "    return importlib.import_module('scipy' + '.special').softmax(x, axis=axis)\n", "scipy.special"),
    "importlib.reload(scipy), then scipy.special": (
        HEAD + "import importlib\nimport scipy\nscipy = importlib.reload(scipy)\n"
        "def softmax(x, axis=-1):\n    return scipy.special.softmax(x, axis=axis)\n", "scipy.special"),
    "__import__ at the top of the cell": (HEAD + "A = __import__('cou' + 'rse.activations', fromlist=['x'])\n"
                                          "def softmax(x, axis=-1):\n    return A.softmax(x, axis)\n",
                                          "course.activations.softmax"),
    "scipy.special._logsumexp at the top of the cell": (
        HEAD + "from scipy.special._logsumexp import softmax as s\ndef softmax(x, axis=-1):\n    return s(x, axis=axis)\n",
        "scipy.special._logsumexp.softmax"),
    "the reference imported in another cell": (HEAD + "import course.activations as A\n"
                                               "def softmax(x, axis=-1):\n    return A.softmax(x, axis)\n",
                                               "course.activations.softmax"),
    "scipy.special.softmax": (HEAD + "from scipy import special\n"
                              "def softmax(x, axis=-1):\n    return special.softmax(x, axis=axis)\n",
                              "scipy.special.softmax"),
    "scipy.special._logsumexp.softmax": (HEAD + "def softmax(x, axis=-1):\n"
                                         "    from scipy.special._logsumexp import softmax as s\n"
                                         "    return s(x, axis=axis)\n", "scipy.special._logsumexp"),
    "pickle naming the reference": (HEAD + "import pickle\ndef softmax(x, axis=-1):\n"
                                    "    return pickle.loads(b'ccourse.activations\\nsoftmax\\n.')(x, axis)\n",
                                    "course.activations"),
    "exec of the reference's source": (HEAD + textwrap.dedent("""
        import marshal, os, sys
        def softmax(x, axis=-1):
            for folder in sys.path:
                for name in ('activations.py', 'activations.pyc'):
                    path = os.path.join(folder or '.', 'course', name)
                    if os.path.exists(path):
                        data = open(path, 'rb').read()
                        code = data.decode() if name.endswith('.py') else marshal.loads(data[16:])
                        ns = {'__name__': 'course.activations', '__package__': 'course'}
                        exec(code, ns)
                        return ns['softmax'](x, axis)
            raise RuntimeError('no source found')
        """), "reads the reference's source"),
    "the import machinery by hand": (HEAD + textwrap.dedent("""
        import importlib.machinery, importlib.util, sys
        def softmax(x, axis=-1):
            spec = importlib.machinery.PathFinder.find_spec('course', sys.path)
            sub = importlib.machinery.PathFinder.find_spec('course.activations', spec.submodule_search_locations)
            module = importlib.util.module_from_spec(sub)
            sub.loader.exec_module(module)
            return module.softmax(x, axis)
        """), "reads the reference's source"),
    "the grader's reference through display.__globals__": (
        HEAD + "def softmax(x, axis=-1):\n    return display.__globals__['get_task']('00.softmax').reference(x, axis)\n",
        "course.activations"),
    "gc.get_objects": (HEAD + "import gc\ndef softmax(x, axis=-1):\n    for o in gc.get_objects():\n"
                       "        if getattr(o, '__name__', '') == 'course.activations':\n"
                       "            return o.softmax(x, axis)\n", "gc.get_objects"),
    "frames up to the grader": (HEAD + "import sys\ndef softmax(x, axis=-1):\n    f = sys._getframe(1)\n"
                                "    while 'task' not in f.f_locals:\n        f = f.f_back\n"
                                "    return f.f_locals['task'].reference(x, axis)\n", "sys._getframe"),
    "inspect.currentframe": (HEAD + "import inspect\ndef softmax(x, axis=-1):\n"
                             "    return inspect.currentframe().f_back.f_locals['task'].reference(x, axis)\n",
                             "sys._getframe"),
    "a traceback's frames": (HEAD + "def softmax(x, axis=-1):\n    try:\n        1 / 0\n"
                             "    except ZeroDivisionError as e:\n        f = e.__traceback__.tb_frame.f_back\n"
                             "    return f.f_locals['task'].reference(x, axis)\n", "tb_frame"),
    "another Python process": (HEAD + "import subprocess, sys\ndef softmax(x, axis=-1):\n"
                               "    code = 'import course.activations'\n"
                               "    subprocess.run([sys.executable, '-c', code], check=True)\n    return x\n",
                               "another process"),
    "code passing for the grader's": (HEAD + textwrap.dedent("""
        import os
        def softmax(x, axis=-1):
            code = compile('import course.activations as A', os.__file__, 'exec')  # passes for os.py
            ns = {}
            exec(code, ns)
            return ns['A'].softmax(x, axis)
        """), "code disguised"),
}

# routes that only fail at run time (the name is unbound or the lookup empty): the scan flags their source
BLOCKED = {
    "sys.modules with a built name": (HEAD + "import sys\ndef softmax(x, axis=-1):\n"
                                      "    return sys.modules['cou' + 'rse.layers'].softmax(x, axis)\n",
                                      "reads sys.modules"),
    "a thread started by the cell serving softmaxes": (HEAD + textwrap.dedent("""
        import threading, queue
        q_in, q_out = queue.Queue(), queue.Queue()
        def _serve():
            while True:
                t, a = q_in.get()
                q_out.put(torch.ops.aten._softmax(t, a, False))
        threading.Thread(target=_serve, daemon=True).start()
        def softmax(x, axis=-1):
            q_in.put((torch.as_tensor(x), axis))
            out = q_out.get(timeout=0.05)
            return out.numpy() if isinstance(x, np.ndarray) else out
        """), "starts threads"),
}


@pytest.mark.parametrize("route", sorted(FORBIDDEN))
def test_a_route_around_the_deny_list_is_caught_and_named(route):
    source, named = FORBIDDEN[route]
    v = judged(source)
    assert v.score(1) == 0.0 and v.forbidden, v.report()
    assert any(named in name for name in v.forbidden), v.forbidden
    assert "must be written from scratch" in v.report()


@pytest.mark.parametrize("route", sorted(BLOCKED))
def test_a_route_that_only_fails_is_flagged_by_the_scan(route):
    source, reason = BLOCKED[route]
    v = judged(source)
    assert v.score(1) == 0.0, v.report()
    assert any(reason in r for r in reflection_reasons(source)), reflection_reasons(source)


@pytest.mark.parametrize("route", sorted(FORBIDDEN))
def test_the_scan_flags_the_reflective_routes(route):
    source, _ = FORBIDDEN[route]
    plain = ("torch.special.log_softmax(...).exp()", "tensor.log_softmax(...).exp()",
             "attention with an identity value", "torch.jit.trace'd at the top of the cell",
             "the reference imported in another cell", "scipy.special.softmax")
    if route not in plain:  # public names and plain imports are the run-time layers' to catch
        assert reflection_reasons(source), route


# ---------------------------------------------------------------------------
# honest answers keep full credit
# ---------------------------------------------------------------------------

HONEST = {
    "numpy and torch, by hand": textwrap.dedent("""
        import numpy as np

        def softmax(x, axis=-1):
            \"\"\"Stable softmax along axis, for arrays and tensors.\"\"\"
            if isinstance(x, np.ndarray):
                e = np.exp(x - x.max(axis=axis, keepdims=True))
                return e / e.sum(axis=axis, keepdims=True)
            e = (x - x.amax(dim=axis, keepdim=True)).exp()
            return e / e.sum(dim=axis, keepdim=True)
        """),
    "torch.logsumexp for tensors (not forbidden)": textwrap.dedent("""
        import math
        import numpy as np
        import torch

        def _logsumexp(x, axis):
            m = np.max(x, axis=axis, keepdims=True)
            return m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))

        def softmax(x, axis=-1):
            if torch.is_tensor(x):
                return torch.exp(x - torch.logsumexp(x, dim=axis, keepdim=True))
            out = np.exp(x - _logsumexp(x, axis))
            return out.astype(x.dtype, copy=False)
        """),
    "through torch and back, with a helper class": textwrap.dedent("""
        import numpy as np
        import torch

        class _Normalizer:
            def __init__(self, axis):
                self.axis = axis

            def __call__(self, t):
                shifted = t - t.max(dim=self.axis, keepdim=True).values
                e = torch.exp(shifted)
                return e / torch.sum(e, dim=self.axis, keepdim=True)

        def softmax(x, axis=-1):
            t = torch.as_tensor(x)
            out = _Normalizer(axis)(t)
            if isinstance(x, np.ndarray):
                return out.numpy()
            return out
        """),
}


def test_importing_the_reference_or_scipy_elsewhere_is_not_using_it():
    """Another cell may import course or scipy.special (for a plot, say): the import gives a
    stand-in that raises the ImportError only when called; the graded code is what counts."""
    source = ("import course.activations as A\nfrom course.plots import plot_activations\nimport scipy.special as sp\n"
              + HONEST["numpy and torch, by hand"])
    v = judged(source)
    assert v.score(1) == 1.0 and not v.forbidden, v.report()
    v = judged(HEAD + "import scipy.special as sp\ndef softmax(x, axis=-1):\n"
               "    return np.exp(x - sp.logsumexp(x, axis=axis, keepdims=True))\n")
    assert v.score(1) == 0.0 and v.forbidden == ["scipy.special.logsumexp"], v.report()
    assert "so scipy.special (it holds a routine that does the task) cannot be imported by your code" in v.report()


@pytest.mark.parametrize("name", sorted(HONEST))
def test_an_honest_softmax_keeps_full_credit_and_no_flag(name):
    v = judged(HONEST[name])
    assert v.score(1) == 1.0 and not v.forbidden, v.report()
    assert reflection_reasons(HONEST[name]) == []


@pytest.fixture
def registry():
    """The task registry, restored after the test."""
    from autograder import tasks

    saved, loaded, broken = dict(tasks._REGISTRY), set(tasks._LOADED), dict(tasks._BROKEN)
    yield tasks
    for live, kept in ((tasks._REGISTRY, saved), (tasks._LOADED, loaded), (tasks._BROKEN, broken)):
        live.clear()
        live.update(kept)


SOFTMAX_VARIANTS = '''
import dataclasses

from autograder.tasks import get_task

CHAPTER = "76"
_base = get_task("00.softmax")


def _run_with_the_graders_own_softmax(objs, x, axis=-1):
    import torch

    torch.softmax(torch.ones(3), 0)  # the grader's own use, while the case runs: not the student's
    return objs[0](x, axis)


by_ops = dataclasses.replace(_base, name="by_ops", forbidden=())
by_ops.forbidden_ops = ("aten::_softmax", "aten._log_softmax")
TASKS = [
    dataclasses.replace(_base, name="free", from_scratch=False, forbidden=()),
    dataclasses.replace(_base, name="driver", run=_run_with_the_graders_own_softmax),
    by_ops,
]
'''

USES_TORCH_SOFTMAX = on_tensors("out = torch.softmax(t, axis)")


def test_a_task_that_is_not_from_scratch_may_use_torch_softmax(registry, tmp_path):
    path = tmp_path / "variants.py"
    path.write_text(SOFTMAX_VARIANTS)
    registry.load_file(str(path))
    v = judged(USES_TORCH_SOFTMAX, "76.free")
    assert v.score(1) == 1.0 and not v.forbidden, v.report()
    assert judged(USES_TORCH_SOFTMAX, "00.softmax").forbidden == ["torch.softmax"]


def test_the_graders_own_torch_work_during_a_case_is_not_flagged(registry, tmp_path):
    path = tmp_path / "variants.py"
    path.write_text(SOFTMAX_VARIANTS)
    registry.load_file(str(path))
    v = judged(HONEST["numpy and torch, by hand"], "76.driver")
    assert v.score(1) == 1.0 and not v.forbidden, v.report()
    assert judged(USES_TORCH_SOFTMAX, "76.driver").forbidden == ["torch.softmax"]


def test_a_task_may_forbid_operators_by_name(registry, tmp_path):
    path = tmp_path / "variants.py"
    path.write_text(SOFTMAX_VARIANTS)
    registry.load_file(str(path))
    task = registry.get_task("76.by_ops")
    assert forbidden_ops(task) == {"_softmax", "_log_softmax"}
    v = judged(USES_TORCH_SOFTMAX, "76.by_ops")  # no tripwire for it: the dispatcher sees it
    assert v.score(1) == 0.0 and v.forbidden == ["torch.ops.aten._softmax (the dispatcher saw it)"], v.report()
    assert judged(HONEST["torch.logsumexp for tensors (not forbidden)"], "76.by_ops").score(1) == 1.0


def test_an_operator_decomposed_above_the_dispatcher_is_watched_by_name():
    """``aten::linear`` becomes addmm/matmul before the dispatcher sees it: the function mode does."""
    cheat = HEAD + textwrap.dedent("""
        def neuron(x, w, b):
            t, wt = torch.as_tensor(x), torch.as_tensor(w)
            z = torch.ops.aten.linear.default(t, wt.reshape(1, -1), torch.as_tensor(b, dtype=t.dtype).reshape(1))[..., 0]
            out = torch.where(z >= 0, 1 / (1 + torch.exp(-z)), torch.exp(z) / (1 + torch.exp(z)))
            return out.numpy() if isinstance(x, np.ndarray) else out
        """)
    v = judged(cheat, "00.neuron", ("neuron",))
    assert v.score(1) == 0.0 and any("torch.ops.aten.linear" in f for f in v.forbidden), v.report()


# ---------------------------------------------------------------------------
# what the watch and the hiding are derived from
# ---------------------------------------------------------------------------

def test_the_softmax_task_forbids_the_softmax_operators_and_their_backward_but_not_logsumexp():
    ops = forbidden_ops(get_task("00.softmax"))
    assert {"softmax", "_softmax", "_softmax_backward_data", "log_softmax", "_log_softmax",
            "_log_softmax_backward_data", "_safe_softmax"} <= ops
    assert "logsumexp" not in ops and "exp" not in ops
    assert OP_FAMILIES["softmax"] == OP_FAMILIES["log_softmax"]
    assert forbidden_ops(get_task("00.device")) == frozenset()


def test_the_hidden_packages_are_the_reference_the_grader_and_the_forbidden_libraries():
    packages, prefixes = hidden_packages(get_task("00.softmax"))
    assert {"course", "autograder", "scipy.special"} <= set(packages)
    assert not {"numpy", "torch", "scipy"} & set(packages)
    assert prefixes == ("autograder_tasks_",)


# ---------------------------------------------------------------------------
# the reflection scan
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("source, reason", [
    ("import sys\n\ndef f(x):\n    return sys.modules['cou' + 'rse.layers']\n", "line 4: reads sys.modules"),
    ("import importlib\nimportlib.reload(m)\n", "line 1: imports modules by name (importlib)"),
    ("import importlib.util\n", "line 1: imports modules by name (importlib)"),
    ("from importlib import import_module\n", "line 1: imports modules by name (importlib)"),
    ("m = __import__('a' + 'b')\n", "line 1: imports modules by name (__import__)"),
    ("exec(open(p).read())\n", "line 1: runs code from a string (exec)"),
    ("exec(open(p).read())\n", "line 1: opens a file whose path is computed"),
    ("y = eval('1 + 1')\n", "line 1: evaluates code from a string (eval)"),
    ("c = compile(src, 'x', 'exec')\n", "line 1: compiles code (compile)"),
    ("import torch\nf = torch._C._VariableFunctions.softmax\n", "line 2: uses torch internals (torch._C)"),
    ("from torch import _C\n", "line 1: uses torch internals (torch._C)"),
    ("import torch\ny = torch.ops.aten.softmax.int(x, 1)\n", "line 2: calls aten operators directly (torch.ops)"),
    ("import torch\ny = torch._softmax(x, 1, False)\n", "line 2: uses private internals (torch._softmax)"),
    ("import torch\nf = getattr(torch, 'soft' + 'max')\n", "line 2: getattr with a computed name"),
    ("g = globals()[name]\n", "line 1: globals() with a computed name"),
    ("import torch\nd = vars(torch)\n", "line 2: reads a module's namespace (vars(torch))"),
    ("import gc\nobjs = gc.get_objects()\n", "line 2: searches memory (gc.get_objects)"),
    ("from gc import get_referents\n", "line 1: searches memory (gc.get_referents)"),
    ("import inspect\ns = inspect.getsource(f)\n", "line 2: reads source or frames (inspect.getsource)"),
    ("src = open('course/activations.py').read()\n", "line 1: reads a Python source file (course/activations.py)"),
    ("from pathlib import Path\ns = Path(p).read_text()\n", "line 2: reads a file through pathlib"),
    ("import ctypes\n", "line 1: uses ctypes (raw memory access)"),
    ("g = f.__globals__['get_task']\n", "line 1: reads __globals__ (reflection)"),
    ("o = torch.softmax.__kwdefaults__['_original']\n", "line 1: reads __kwdefaults__ (reflection)"),
    ("import sys\nf = sys._getframe(1)\n", "line 2: reads the call stack (sys._getframe)"),
    ("import threading\n", "line 1: starts threads (the watch stays in this one)"),
    ("import subprocess\n", "line 1: runs another program (subprocess)"),
    ("import torch\ng = torch.compile(f)\n", "line 2: compiles code (compiled kernels run past the watch)"),
    ("from torch.utils._python_dispatch import _disable_current_modes\n", "line 1: uses torch's dispatcher internals"),
    ("import builtins\nbuiltins.exec('x')\n", "line 2: runs code from a string (exec)"),
])
def test_reflection_is_flagged_with_its_line(source, reason):
    reasons = reflection_reasons(source)
    assert any(r.startswith(reason) for r in reasons), reasons


def test_a_library_routine_named_like_a_forbidden_one_is_flagged_when_asked():
    source = "from sklearn.utils.extmath import softmax as sm\n\ndef softmax(x, axis=-1):\n    return sm(x)\n"
    forbidden = get_task("00.softmax").forbidden
    assert reflection_reasons(source) == []
    assert reflection_reasons(source, forbidden) == [
        "line 1: uses sklearn.utils.extmath.softmax (a library routine that does the task)"]


REALISTIC = [
    # a training loop with the usual imports, prints, files written, timing and a dict of history
    textwrap.dedent("""
        import math
        import random
        import sys
        import time
        import json
        import numpy as np
        from collections import defaultdict, namedtuple
        from dataclasses import dataclass, field
        from functools import partial, lru_cache
        from typing import Optional

        EPS = sys.float_info.epsilon
        Step = namedtuple("Step", "epoch loss")

        @dataclass
        class History:
            steps: list = field(default_factory=list)

        def train(X, y, lr=0.1, epochs=10, seed: Optional[int] = 0):
            rng = np.random.default_rng(seed)
            random.seed(seed)
            w = rng.normal(size=X.shape[1]) / math.sqrt(X.shape[1])
            hist, counts = History(), defaultdict(int)
            start = time.perf_counter()
            for epoch in range(epochs):
                order = rng.permutation(len(X))
                for i in order:
                    z = X[i] @ w
                    p = 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
                    w -= lr * (p - y[i]) * X[i]
                    counts[epoch] += 1
                loss = float(np.mean((X @ w - y) ** 2))
                hist.steps.append(Step(epoch, loss))
                print(f"epoch {epoch}: loss {loss:.4f} ({time.perf_counter() - start:.2f} s)")
            with open("history.json", "w") as fh:
                json.dump([s._asdict() for s in hist.steps], fh)
            data = np.load("data.npz") if False else None
            return w, hist
        """),
    # a module class with parameters by name, the array API, lambdas and comprehensions
    textwrap.dedent("""
        import numpy as np
        import torch

        class MLP:
            def __init__(self, sizes, seed=0):
                rng = np.random.default_rng(seed)
                self.n = len(sizes) - 1
                for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
                    setattr(self, f"W{i}", rng.normal(size=(a, b)) * np.sqrt(2.0 / a))
                    setattr(self, f"b{i}", np.zeros(b))

            def params(self):
                return [getattr(self, f"{k}{i}") for i in range(self.n) for k in "Wb"]

            def forward(self, x):
                xp = torch if isinstance(x, torch.Tensor) else np
                for i in range(self.n):
                    x = x @ getattr(self, f"W{i}") + getattr(self, f"b{i}")
                    if i < self.n - 1:
                        x = xp.maximum(x, 0) if xp is np else x.clamp(min=0)
                return x

        relu = lambda x: np.maximum(x, 0)
        sizes = [n for n in (4, 8, 1)]
        device = getattr(torch.ones(1), "device", None)
        dtype = getattr(np, "float32")
        """),
    # a notebook cell with IPython syntax
    "%time x = 1\nimport numpy as np\n!ls\ndef softmax(x, axis=-1):\n    e = np.exp(x - x.max(axis, keepdims=True))\n"
    "    return e / e.sum(axis, keepdims=True)\n",
]


@pytest.mark.parametrize("index", range(len(REALISTIC)))
def test_ordinary_code_gives_no_reasons(index):
    assert reflection_reasons(REALISTIC[index]) == []
    assert reflection_reasons(REALISTIC[index], get_task("00.softmax").forbidden) == []
