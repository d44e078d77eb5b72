"""From scratch, enforced where it can be and flagged where it cannot.

A task with ``from_scratch=True`` must not let a library routine or the course's
reference do the work. :mod:`autograder.sandbox` replaces the routines its
``forbidden`` list names with tripwires, by attribute name; a name is easy to
walk around (``torch.ops.aten.softmax.int``, ``sys.modules['cou' + 'rse']``...).
This module adds three layers, set up in the sandbox child by :func:`install`
(called from ``sandbox._install_tripwires``) before any student code runs:

(a) **The dispatcher watch.** Every torch route to an operator ends in the
    dispatcher, whatever the Python name used to get there. While a case runs
    (``state["watch"]``: ``on()`` before, ``off()`` after), a
    :class:`~torch.utils._python_dispatch.TorchDispatchMode` looks at each aten
    operator; one the task forbids, run while the student's code is on the call
    stack, is recorded in ``state["calls"]`` ("torch.ops.aten._softmax (the
    dispatcher saw it)") and raises. The operators come from the task's torch
    names through :data:`OP_FAMILIES` (forbidding ``torch.softmax`` forbids
    ``aten::_softmax``, ``aten::_log_softmax``, their backward, the fused
    attention kernels...), plus ``task.forbidden_ops`` when a task gives them.
    Operators that the autograd layer decomposes before the dispatcher sees
    them (``aten::linear``) are watched one level up, by a
    ``__torch_function__`` mode. The grader's own torch work (converting the
    inputs, comparing) runs outside ``on()``/``off()`` or with no student frame
    on the stack, and is never flagged. The watch costs about 4 us per torch
    operator while a case runs (nothing for NumPy code).

(b) **Imports.** The ``course`` package, the grader (``autograder``, task
    modules) and the modules that hold a forbidden routine outside NumPy and
    torch (``scipy.special`` for ``scipy.special.softmax``) are taken out of
    ``sys.modules``, and a finder first on ``sys.meta_path`` refuses them to
    the student's code: ``import``, ``__import__``, ``importlib.import_module``,
    ``importlib.reload`` and ``sys.modules[...]`` never give the real module.
    While a case runs the import raises an ``ImportError`` that says why (and
    is recorded). Outside a case (a cell that imports ``course.plots`` for a
    plot) the import gives a stand-in module instead, whose attributes raise
    that ``ImportError`` when called, and, when called during a case, are
    recorded by name ("course.activations.softmax"): importing the reference
    elsewhere costs nothing, using it is reported as such. The grader's code
    keeps its references, and a lazy import made by it (not by the student)
    gets the very module objects back. An audit hook (:func:`sys.addaudithook`,
    which cannot be removed) refuses the student's code what would get round
    that: reading the hidden modules' source or byte code, searching memory
    (``gc.get_objects``), taking frames (``sys._getframe``, ``tb_frame``,
    ``inspect.currentframe``), tracing, compiling code under a grader's or a
    library's file name, ``ctypes``, and starting other processes; threads
    (which the per-thread watch would not follow) are refused too.

(c) **Reflection flagged.** :func:`reflection_reasons` reads an answer's
    source and lists what looks like reflection (``sys.modules``,
    ``importlib``, ``exec``, ``torch._C``, ``__globals__``, reading ``.py``
    files...), each as "line N: what". What cannot be blocked in the process
    is at least shown to a person.

What a frame is: the grader's (``autograder/`` and the task's own file), a
library's (the standard library, site-packages, ``course``) or the student's
(everything else: notebook cells, the notebook's own modules, code compiled
in the notebook's namespace). The sandbox's own frames (the case loop, the
cell runner) end every walk up the stack.
"""

from __future__ import annotations

import ast
import os
import sys

__all__ = ["OP_FAMILIES", "forbidden_ops", "hidden_packages", "student_check", "install", "patch_aliases",
           "reflection_reasons"]


# ---------------------------------------------------------------------------
# whose frame is it
# ---------------------------------------------------------------------------

_FLOOR, _GRADER, _LIBRARY, _STUDENT = range(4)


def _folder(path: str) -> str:
    return os.path.join(os.path.abspath(path), "")


class _Frames:
    """Tells the student's frames from the grader's and the libraries'.

    The grader's and the course's modules loaded now are known by the identity of their
    namespaces (robust to byte-code-only copies whose code carries another file name);
    other frames by their code's file or their module's ``__file__``."""

    def __init__(self, task):
        import sysconfig

        package = __name__.partition(".")[0]
        here = os.path.dirname(os.path.abspath(__file__))
        self.grader = (_folder(here),) + ((os.path.abspath(task.origin),) if task.origin.endswith(".py") else ())
        libs = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.__file__)}
        libs.update(v for k, v in sysconfig.get_paths().items() if k in ("stdlib", "platstdlib", "purelib", "platlib"))
        try:
            import site

            libs.update(site.getsitepackages())
            libs.add(site.getusersitepackages())
        except Exception:  # noqa: BLE001 - site may be reduced in some environments
            pass
        course = sys.modules.get("course")
        if course is None:
            try:
                import importlib.util

                libs.update(importlib.util.find_spec("course").submodule_search_locations or [])
            except Exception:  # noqa: BLE001 - no course package: nothing to add
                pass
        else:
            libs.update(getattr(course, "__path__", []) or [])
        self.library = tuple(sorted(_folder(p) for p in libs if p))
        self.grader_dicts, self.library_dicts = set(), set()
        for name, module in list(sys.modules.items()):
            namespace = getattr(module, "__dict__", None)
            if not isinstance(namespace, dict):
                continue
            if name == package or name.startswith((package + ".", "autograder_tasks_")) or name == task.origin:
                self.grader_dicts.add(id(namespace))
            elif name == "course" or name.startswith("course."):
                self.library_dicts.add(id(namespace))
        floor = sys.modules.get(package + ".sandbox")
        self.floor = id(getattr(floor, "__dict__", None))

    def kind(self, frame) -> int:
        glob = frame.f_globals
        key = id(glob)
        if key in self.grader_dicts:
            return _FLOOR if key == self.floor else _GRADER
        if key in self.library_dicts:
            return _LIBRARY
        module = glob.get("__name__")
        if module is None or module == "__main__":  # the notebook's namespace, or code run in a bare dict
            return _STUDENT
        name = frame.f_code.co_filename
        if name.startswith(self.library) or name.startswith("<frozen"):
            return _LIBRARY
        file = glob.get("__file__")  # generated code, byte-code-only modules: judge by the module's file
        if isinstance(file, str):
            if file.startswith(self.grader):
                return _GRADER
            if file.startswith(self.library):
                return _LIBRARY
        if name.startswith(self.grader):
            return _GRADER
        return _STUDENT

    def in_stack(self, frame) -> bool:
        """Whether a student's frame lies between ``frame`` and the sandbox's own code."""
        kind = self.kind
        while frame is not None:
            k = kind(frame)
            if k == _STUDENT:
                return True
            if k == _FLOOR:
                return False
            frame = frame.f_back
        return False

    def direct(self, frame) -> bool:
        return frame is not None and self.kind(frame) == _STUDENT

    def nearest(self, frame, skip: tuple) -> bool:
        """Whether the first frame outside the folders ``skip`` is the student's."""
        while frame is not None and frame.f_code.co_filename.startswith(skip):
            frame = frame.f_back
        return self.direct(frame)


def student_check(task):
    """``called_by_student()`` for the tripwires: whether the student's code is on the
    call stack of the tripwire's caller, up to the sandbox's case loop. So the task's
    driver may call the reference (to build a cache, say) while the student may not,
    directly, through a library function, or through a grader function it got hold of."""
    frames = _Frames(task)
    getframe, in_stack = sys._getframe, frames.in_stack

    def called_by_student() -> bool:
        return in_stack(getframe(2))

    return called_by_student


def patch_aliases(original, replacement) -> None:
    """Put ``replacement`` wherever the module that defines ``original`` (and the
    notebook's namespace) holds it under its own name: ``scipy.special.softmax`` is also
    ``scipy.special._logsumexp.softmax``."""
    name = getattr(original, "__name__", None)
    if not isinstance(name, str):
        return
    for module_name in {getattr(original, "__module__", None), "__main__"}:
        module = sys.modules.get(module_name) if isinstance(module_name, str) else None
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for key, value in list(namespace.items()):
            if value is original:
                try:
                    setattr(module, key, replacement)
                except (AttributeError, TypeError):
                    pass


# ---------------------------------------------------------------------------
# (a) the dispatcher watch
# ---------------------------------------------------------------------------

_ATTENTION = (  # fused kernels that compute a softmax inside
    "scaled_dot_product_attention", "_scaled_dot_product_attention_math", "_scaled_dot_product_flash_attention",
    "_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_efficient_attention",
    "_scaled_dot_product_cudnn_attention", "_scaled_dot_product_fused_attention_overrideable",
    "_scaled_dot_product_attention_math_for_mps", "_flash_attention_forward", "_efficient_attention_forward",
    "_native_multi_head_attention", "_transformer_encoder_layer_fwd",
)
_SOFTMAX = (
    "softmax", "_softmax", "_softmax_backward_data", "special_softmax", "_safe_softmax", "_sparse_softmax",
    "_sparse_softmax_backward_data", "_masked_softmax", "_masked_softmax_backward",
    "log_softmax", "_log_softmax", "_log_softmax_backward_data", "special_log_softmax", "_sparse_log_softmax",
    "_sparse_log_softmax_backward_data",
) + _ATTENTION  # attention with an identity value is a softmax
_SIGMOID = ("sigmoid", "sigmoid_", "sigmoid_backward", "special_expit", "log_sigmoid", "log_sigmoid_forward",
            "log_sigmoid_backward")
_NLL = ("cross_entropy_loss", "nll_loss", "nll_loss_forward", "nll_loss_backward", "nll_loss2d",
        "nll_loss2d_forward", "nll_loss2d_backward", "nll_loss_nd")
_BATCH_NORM = ("batch_norm", "native_batch_norm", "native_batch_norm_backward", "_native_batch_norm_legit",
               "_native_batch_norm_legit_no_training", "_native_batch_norm_legit_functional", "_batch_norm_impl_index",
               "_batch_norm_impl_index_backward", "_batch_norm_with_update", "_batch_norm_no_update",
               "batch_norm_backward", "cudnn_batch_norm", "miopen_batch_norm")
_CONV = ("conv1d", "conv2d", "conv3d", "convolution", "_convolution", "convolution_overrideable",
         "mkldnn_convolution", "cudnn_convolution", "_slow_conv2d_forward", "slow_conv3d_forward",
         "convolution_backward")

#: routine name (the last part of a forbidden torch name) -> the aten operators that do its work.
#: softmax and log_softmax share one family: either gives the other with one exp or log.
OP_FAMILIES: dict[str, tuple[str, ...]] = {
    "softmax": _SOFTMAX, "log_softmax": _SOFTMAX, "softmin": _SOFTMAX, "_softmax": _SOFTMAX,
    "_log_softmax": _SOFTMAX, "Softmax": _SOFTMAX, "LogSoftmax": _SOFTMAX, "Softmin": _SOFTMAX,
    "Softmax2d": _SOFTMAX, "gumbel_softmax": _SOFTMAX,
    "scaled_dot_product_attention": _ATTENTION, "MultiheadAttention": _ATTENTION,
    "multi_head_attention_forward": _ATTENTION,
    "sigmoid": _SIGMOID, "Sigmoid": _SIGMOID, "expit": _SIGMOID, "logsigmoid": _SIGMOID, "LogSigmoid": _SIGMOID,
    "tanh": ("tanh", "tanh_", "tanh_backward"), "Tanh": ("tanh", "tanh_", "tanh_backward"),
    "relu": ("relu", "relu_", "threshold", "threshold_", "threshold_backward"),
    "ReLU": ("relu", "relu_", "threshold", "threshold_", "threshold_backward"),
    "gelu": ("gelu", "gelu_", "gelu_backward"), "GELU": ("gelu", "gelu_", "gelu_backward"),
    "logsumexp": ("logsumexp", "special_logsumexp"),
    "linear": ("linear", "mkldnn_linear"), "Linear": ("linear", "mkldnn_linear"),
    "mse_loss": ("mse_loss", "mse_loss_backward"), "MSELoss": ("mse_loss", "mse_loss_backward"),
    "cross_entropy": _NLL, "CrossEntropyLoss": _NLL,  # F.cross_entropy ends in nll_loss
    "nll_loss": _NLL, "NLLLoss": _NLL,
    "binary_cross_entropy": ("binary_cross_entropy", "binary_cross_entropy_backward"),
    "BCELoss": ("binary_cross_entropy", "binary_cross_entropy_backward"),
    "binary_cross_entropy_with_logits": ("binary_cross_entropy_with_logits",),
    "BCEWithLogitsLoss": ("binary_cross_entropy_with_logits",),
    "layer_norm": ("layer_norm", "native_layer_norm", "native_layer_norm_backward"),
    "LayerNorm": ("layer_norm", "native_layer_norm", "native_layer_norm_backward"),
    "batch_norm": _BATCH_NORM, "BatchNorm1d": _BATCH_NORM, "BatchNorm2d": _BATCH_NORM,
    "dropout": ("dropout", "dropout_", "native_dropout", "native_dropout_backward"),
    "Dropout": ("dropout", "dropout_", "native_dropout", "native_dropout_backward"),
    "conv1d": _CONV, "conv2d": _CONV, "conv3d": _CONV, "Conv1d": _CONV, "Conv2d": _CONV, "Conv3d": _CONV,
    "embedding": ("embedding", "embedding_backward", "embedding_dense_backward", "_embedding_bag"),
    "Embedding": ("embedding", "embedding_backward", "embedding_dense_backward", "_embedding_bag"),
}


def _op_base(name: str) -> str:
    """``aten::_softmax.default`` / ``aten._softmax`` / ``torch.ops.aten._softmax`` -> ``_softmax``."""
    name = str(name).strip()
    for head in ("torch.ops.aten.", "aten::", "aten."):
        if name.startswith(head):
            name = name[len(head):]
            break
    return name.split(".", 1)[0]


def forbidden_ops(task) -> frozenset:
    """The aten operators (base names, "_softmax") a task forbids: those of :data:`OP_FAMILIES`
    for its forbidden torch names (an unknown name that is itself an aten operator forbids that
    operator), and ``task.forbidden_ops`` when it gives some."""
    ops = set()
    for dotted in getattr(task, "forbidden", ()) or ():
        parts = str(dotted).split(".")
        if parts[0] != "torch":
            continue
        family = OP_FAMILIES.get(parts[-1])
        ops.update(family if family is not None else (parts[-1],))
    ops.update(_op_base(op) for op in (getattr(task, "forbidden_ops", ()) or ()))
    return frozenset(op for op in ops if op)


#: operators that autograd decomposes before the dispatcher's Python key -> the operator they become
#: (watched at the dispatcher when it is forbidden too; otherwise the function mode watches them)
_DECOMPOSES = {
    "softmax": "_softmax", "log_softmax": "_log_softmax", "special_softmax": "_softmax",
    "special_log_softmax": "_log_softmax", "scaled_dot_product_attention": "_safe_softmax",
    "_scaled_dot_product_attention_math": "_safe_softmax", "cross_entropy_loss": "_log_softmax",
    "nll_loss": "nll_loss_forward", "nll_loss_nd": "nll_loss_forward", "nll_loss2d": "nll_loss2d_forward",
    "batch_norm": "_batch_norm_impl_index", "_batch_norm_impl_index": "native_batch_norm",
    "layer_norm": "native_layer_norm", "dropout": "native_dropout", "log_sigmoid": "log_sigmoid_forward",
    "special_expit": "sigmoid", "special_logsumexp": "logsumexp", "conv1d": "convolution", "conv2d": "convolution",
    "conv3d": "convolution", "_convolution": "convolution", "embedding_backward": "embedding_dense_backward",
}


def _split_ops(ops) -> tuple[frozenset, frozenset]:
    """(operators the dispatch mode watches, base names the function mode watches too).

    An operator with only a CompositeImplicitAutograd kernel (``aten::linear``) is decomposed
    above the dispatcher's Python key while autograd is on; unless what it becomes is
    watched too (:data:`_DECOMPOSES`), it is watched at the ``__torch_function__`` level."""
    import torch

    aten = torch.ops.aten
    has_kernel = torch._C._dispatch_has_kernel_for_dispatch_key
    existing, composite = set(), set()
    for op in ops:
        try:
            packet = getattr(aten, op)
            overloads = [getattr(packet, ov).name() for ov in packet.overloads()]
        except Exception:  # noqa: BLE001 - not an operator of this torch
            continue
        existing.add(op)
        try:
            if overloads and has_kernel(overloads[0], "CompositeImplicitAutograd"):  # the functional overload
                composite.add(op)
        except Exception:  # noqa: BLE001 - an operator torch cannot describe is watched at the dispatcher only
            pass
    functions = frozenset(op for op in composite if _DECOMPOSES.get(op) not in existing)
    return frozenset(existing), functions


#: what switches the dispatcher watch off; the student's code may not call them directly
_SWITCHES = (
    "torch.utils._python_dispatch._disable_current_modes", "torch.utils._python_dispatch._pop_mode",
    "torch.utils._python_dispatch._pop_mode_temporarily", "torch.utils._python_dispatch._get_current_dispatch_mode",
    "torch.utils._python_dispatch._get_current_dispatch_mode_stack", "torch._C._pop_torch_dispatch_stack",
    "torch._C._get_dispatch_stack_at", "torch._C._set_dispatch_mode", "torch._C._unset_dispatch_mode",
    "torch._C._dispatch_tls_set_dispatch_key_excluded", "torch._C._dispatch_tls_set_dispatch_key_included",
    "torch._C._pop_torch_function_stack", "torch._C._get_function_stack_at", "torch.overrides._pop_mode",
    "torch.overrides._pop_mode_temporarily", "torch._C._dispatch_call_boxed", "torch._ops.OpOverload.redispatch",
)


def _resolve(dotted: str, load: bool = False):
    """(owner, attribute) of a dotted name, or None: of an already imported one, or with
    ``load``, importing its module if needed."""
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        owner = sys.modules.get(".".join(parts[:cut]))
        if owner is None and load:
            try:
                owner = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                owner = None
        if owner is None:
            continue
        try:
            for attr in parts[cut:-1]:
                owner = getattr(owner, attr)
            getattr(owner, parts[-1])
        except AttributeError:
            return None
        return owner, parts[-1]
    return None


def _guard_switches(task, state, frames, exc) -> None:
    """Tripwires on the routines that switch the watch off: called directly by the student's
    code while a case runs, they record and raise; torch's own calls pass."""
    getframe, direct = sys._getframe, frames.direct
    for dotted in _SWITCHES:
        found = _resolve(dotted)
        if found is None:
            continue
        owner, attr = found
        original = getattr(owner, attr)
        if isinstance(original, type):  # guard classes: replacing them could break torch's subclasses
            continue

        def switch(*args, _name=dotted, _original=original, **kwargs):
            if state["active"] and direct(getframe(1)):
                state["calls"].append(f"{_name} (switches off the dispatcher watch)")
                raise exc(f"{_name} switches off the grader's watch: {task.name} must be written from scratch")
            return _original(*args, **kwargs)

        try:
            setattr(owner, attr, switch)
        except (AttributeError, TypeError):
            pass


def _make_watch(task, state, ops, functions, frames, exc, also=lambda: None):
    """``(on, off)``: enter the dispatcher watch around one case, and leave it."""
    import torch
    from torch.overrides import TorchFunctionMode
    from torch.utils._python_dispatch import TorchDispatchMode

    getframe, in_stack, calls = sys._getframe, frames.in_stack, state["calls"]
    seen: dict = {}  # operator -> the name it is recorded under ("" when allowed)

    def verdict(func) -> str:
        name = seen.get(func)
        if name is None:
            try:
                namespace, _, base = func._schema.name.partition("::")
            except AttributeError:
                namespace, base = "", ""
            name = seen[func] = f"torch.ops.aten.{base} (the dispatcher saw it)" \
                if namespace == "aten" and base in ops else ""
        return name

    def flag(name):
        calls.append(name)
        raise exc(f"{name.partition(' ')[0]} does the task for you: {task.name} must be written from scratch")

    class _DispatchWatch(TorchDispatchMode):
        @classmethod
        def _should_skip_dynamo(cls) -> bool:
            return False  # else torch wraps the handler in dynamo's disable: 0.9 s of imports on the first op

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            name = seen.get(func)
            if name is None:
                name = verdict(func)
            if name and in_stack(getframe(1)):
                flag(name)
            return func(*args, **(kwargs or {}))

    named: dict = {}

    def function_verdict(func) -> str:
        try:
            name = named.get(func)
        except TypeError:  # an unhashable callable
            return ""
        if name is None:
            base = str(getattr(func, "__name__", "")).split(".", 1)[0]
            name = named[func] = f"torch.ops.aten.{base} (torch saw it)" if base in functions else ""
        return name

    class _FunctionWatch(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = function_verdict(func)
            if name and in_stack(getframe(1)):
                flag(name)
            return func(*args, **(kwargs or {}))

    from torch.utils import _python_dispatch as pd

    C = torch._C
    dispatch = (_DispatchWatch(), C._len_torch_dispatch_stack, C._get_dispatch_stack_at, pd._pop_mode)
    function = (_FunctionWatch(), C._len_torch_function_stack, C._get_function_stack_at,
                C._pop_torch_function_stack) if functions else None
    depth = {}

    def on():
        also()
        for watch in filter(None, (dispatch, function)):
            depth[id(watch)] = watch[1]()
            watch[0].__enter__()

    def leave(watch):
        mode, length, at, pop = watch
        base = depth.get(id(watch), 0)
        for i in range(length() - 1, base - 1, -1):
            if at(i) is mode:
                while length() > i + 1:  # modes the student's code pushed and left behind
                    pop()
                mode.__exit__(None, None, None)
                return
        calls.append("torch.utils._python_dispatch (the dispatcher watch was switched off)")

    def off():
        try:
            for watch in filter(None, (function, dispatch)):
                leave(watch)
        finally:
            also()

    return on, off


# ---------------------------------------------------------------------------
# (b) imports, and the audit hook
# ---------------------------------------------------------------------------

#: never hidden: the libraries the course is written in (and the standard library)
_KEEP = ("numpy", "torch")


def hidden_packages(task) -> tuple[tuple, tuple]:
    """(packages, raw prefixes) the student's code may not import in a from-scratch task:
    ``course``, the grader, and the module holding each forbidden routine outside NumPy,
    torch and the standard library (``scipy.special`` for ``scipy.special.softmax``)."""
    packages = {"course", __name__.partition(".")[0]}
    for dotted in getattr(task, "forbidden", ()) or ():
        parts = str(dotted).split(".")
        if len(parts) < 2 or parts[0] in _KEEP or parts[0] in getattr(sys, "stdlib_module_names", ()):
            continue
        module = ".".join(parts[:-1])  # the routine's module (scipy.special), or the module of its class
        for cut in range(len(parts) - 1, 1, -1):
            if ".".join(parts[:cut]) in sys.modules:
                module = ".".join(parts[:cut])
                break
        packages.add(module)
    return tuple(sorted(packages)), ("autograder_tasks_",)


class _StashLoader:
    """Gives the grader's lazy import back the very module object that was hidden."""

    def __init__(self, module):
        self.module = module

    def create_module(self, spec):
        return self.module

    def exec_module(self, module):
        pass


class _StandInLoader:
    """Gives the student's import made outside a case a stand-in module (see ``_Hider.stand_in_module``)."""

    def __init__(self, hider):
        self._hider = hider

    def create_module(self, spec):
        module = self._hider.stand_in_module(spec.name)
        module._scratch_stand_in = True
        self._hider.dirty = True  # to be taken out of sys.modules before the next case
        return module

    def exec_module(self, module):
        pass


class _Hider:
    """Keeps hidden modules out of ``sys.modules`` and refuses them to the student's code."""

    def __init__(self, task, state, frames, packages, prefixes):
        self.task, self.state, self.frames = task, state, frames
        self.packages = frozenset(packages)
        self.dotted = tuple(p + "." for p in packages)
        self.prefixes = tuple(prefixes)
        self.stash: dict = {}
        self.seen_modules = -1
        self.dirty = True

    def hidden(self, name) -> bool:
        return isinstance(name, str) and (name in self.packages or name.startswith(self.dotted)
                                          or name.startswith(self.prefixes))

    def why(self, name: str) -> str:
        if name == "course" or name.startswith("course."):
            return "the course's reference library (course)"
        if name.startswith((__name__.partition(".")[0],) + self.prefixes):
            return "the grader's own code"
        top = next((p for p in self.packages if name == p or name.startswith(p + ".")), name)
        return f"{top} (it holds a routine that does the task)"

    def message(self, name: str) -> str:
        return (f"{name} cannot be imported by your code: {self.task.name} is graded from scratch, so "
                f"{self.why(name)} is off limits")

    def refuse(self, name: str):
        if self.state["active"]:
            self.state["calls"].append(f"{name} (imported while a case ran)")
        raise ImportError(self.message(name), name=name)

    def used(self, name: str):
        """A stand-in (see :meth:`stand_in_module`) was called: the ImportError, recorded in a case."""
        if self.state["active"] and self.frames.in_stack(sys._getframe(2)):
            self.state["calls"].append(name)
        raise ImportError(f"{name} is off limits: {self.task.name} is graded from scratch, so {self.why(name)} "
                          "cannot be imported by your code", name=name)

    def stand_in_module(self, name: str):
        """What an import made outside a case gets: a module whose every attribute is a
        stand-in that raises the ImportError when called, and names the routine in the
        verdict when called during a case. Importing the reference in another cell (for a
        plot) costs nothing; using it in the graded code is reported by name."""
        import types

        used = self.used

        class StandIn:
            __slots__ = ("name",)

            def __init__(self, dotted):
                self.name = dotted

            def __getattr__(self, attr):
                if attr.startswith("__"):
                    raise AttributeError(attr)
                return StandIn(f"{self.name}.{attr}")

            def __call__(self, *args, **kwargs):
                used(self.name)

            def __repr__(self):
                return f"<{self.name}: not available to a from-scratch answer>"

        class UnavailableModule(types.ModuleType):
            def __getattr__(self, attr):
                if attr.startswith("__") or attr == "_scratch_stand_in":
                    raise AttributeError(attr)
                return StandIn(f"{self.__name__}.{attr}")

        module = UnavailableModule(name, "not available to a from-scratch answer")
        module.__path__ = []
        return module

    def rehide(self) -> None:
        """Take the hidden modules out of ``sys.modules`` again (a lazy import of the grader's
        may have put one back), and off the attributes of their visible parent packages."""
        modules = sys.modules
        if not self.dirty and len(modules) == self.seen_modules:
            return
        for name in [n for n in modules if self.hidden(n)]:
            module = modules.pop(name, None)
            if module is None:
                continue
            if not getattr(module, "__dict__", {}).get("_scratch_stand_in"):
                self.stash.setdefault(name, module)
            parent, _, child = name.rpartition(".")
            owner = modules.get(parent) if parent and not self.hidden(parent) else None
            if owner is not None and getattr(owner, child, None) is module:
                try:
                    delattr(owner, child)
                except (AttributeError, TypeError):
                    pass
        self.seen_modules, self.dirty = len(modules), False

    def finder(self):
        import copy
        import importlib.abc
        import importlib.machinery

        hider, getframe, in_stack = self, sys._getframe, self.frames.in_stack

        class _Refuse(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if not hider.hidden(name):
                    return None
                if in_stack(getframe(1)):
                    if hider.state["active"]:
                        hider.refuse(name)
                    return importlib.machinery.ModuleSpec(name, _StandInLoader(hider), is_package=True)
                module = hider.stash.get(name)
                if module is None:
                    return None  # not loaded before: the grader's import loads it as usual
                spec = copy.copy(getattr(module, "__spec__", None)) or importlib.machinery.ModuleSpec(name, None)
                spec.loader = _StashLoader(module)
                hider.dirty = True
                return spec

            def invalidate_caches(self):
                pass

        return _Refuse()


_SOURCE_SUFFIXES = (".py", ".pyc", ".pyi", ".pyx", ".pxd", ".ipynb")
_FRAME_ATTRIBUTES = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_back"})
_PROCESS_EVENTS = frozenset({"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "pty.spawn"})
_AUDITED = frozenset({"open", "import", "gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys._getframe",
                      "sys._current_frames", "sys.settrace", "sys.setprofile", "object.__getattr__", "compile",
                      "code.__new__"}) | _PROCESS_EVENTS


def _install_audit(task, state, frames, hider, exc) -> None:
    """The audit hook: what would get round the hidden imports, refused to the student's code."""
    getframe, in_stack, direct, nearest = sys._getframe, frames.in_stack, frames.direct, frames.nearest
    protected = set(frames.grader)
    for name, module in hider.stash.items():
        for path in list(getattr(module, "__path__", None) or []) + [getattr(module, "__file__", None) or ""]:
            if path and not os.path.basename(path).startswith("__init__."):
                protected.add(_folder(path) if os.path.isdir(path) else os.path.abspath(path))
    protected = tuple(sorted(p for p in protected if p))
    spoofable = tuple(frames.grader) + frames.library
    peekers = tuple(os.path.join(os.path.dirname(os.__file__), f) for f in ("inspect.py", "traceback.py"))
    ctypes_folder = _folder(os.path.join(os.path.dirname(os.__file__), "ctypes"))
    busy = []

    def refuse(kind, message, record):
        if state["active"]:
            state["calls"].append(record)
        raise kind(f"{message}: {task.name} is graded from scratch")

    def decide(event, args, frame):
        if event == "open":
            path = args[0] if args else None
            if isinstance(path, int) or path is None:
                return
            try:
                path = os.fsdecode(os.fspath(path))
            except TypeError:
                return
            if not path.endswith(_SOURCE_SUFFIXES):
                return
            real = os.path.realpath(path)
            if real.startswith(protected) and in_stack(frame):
                refuse(PermissionError, f"{path} is the grader's or the reference's source",
                       f"open({os.path.basename(real)!r}) (reads the reference's source)")
        elif event == "import":  # outside a case the finder hands out a stand-in
            if state["active"] and hider.hidden(args[0]) and in_stack(frame):
                hider.refuse(args[0])
        elif event.startswith("gc.") or event == "sys._current_frames":
            if in_stack(frame):
                refuse(RuntimeError, f"{event} looks through the grader's memory", f"{event} (reflection)")
        elif event == "sys._getframe":  # from the student's code, or through inspect/traceback called by it
            if direct(frame) or (frame is not None and frame.f_code.co_filename in peekers and direct(frame.f_back)):
                refuse(RuntimeError, "frames are off limits", "sys._getframe (reflection)")
        elif event == "object.__getattr__":
            if len(args) > 1 and args[1] in _FRAME_ATTRIBUTES and direct(frame):
                refuse(RuntimeError, f"{args[1]} is off limits", f"{args[1]} (reflection)")
        elif event in ("sys.settrace", "sys.setprofile"):
            if direct(frame) and args and args[0] is not None:
                refuse(RuntimeError, f"{event} is off limits", f"{event} (reflection)")
        elif event in ("compile", "code.__new__"):
            filename = args[1] if len(args) > 1 else None
            if isinstance(filename, bytes):
                filename = os.fsdecode(filename)
            if isinstance(filename, str) and os.path.isabs(filename) and filename.startswith(spoofable) \
                    and direct(frame):
                refuse(RuntimeError, f"code may not pass for the grader's or a library's ({filename})",
                       f"{event} (code disguised as {os.path.basename(filename)})")
        elif event in _PROCESS_EVENTS:
            if in_stack(frame):
                refuse(PermissionError, "another process would run outside the grader's watch",
                       f"{event} (another process)")
        elif event.startswith("ctypes."):
            if nearest(frame, (ctypes_folder,)):
                refuse(RuntimeError, "ctypes is off limits", f"{event} (raw memory access)")

    def hook(event, args):
        if busy or not (event in _AUDITED or event[:7] == "ctypes."):
            return
        busy.append(1)
        try:
            decide(event, args, getframe(1))
        finally:
            busy.pop()

    sys.addaudithook(hook)

    # threads (Python 3.11 audits no thread start): the watch is per thread, so the student's
    # code may not start one, directly or through concurrent.futures / multiprocessing.pool
    try:
        import _thread
        import threading

        stdlib = os.path.dirname(os.__file__)
        helpers = (os.path.abspath(threading.__file__), _folder(os.path.join(stdlib, "concurrent")),
                   _folder(os.path.join(stdlib, "multiprocessing")))
        start_thread = threading._start_new_thread

        def guarded_start(*args, **kwargs):
            if nearest(getframe(1), helpers):
                refuse(PermissionError, "another thread would run outside the grader's watch",
                       "threading (another thread)")
            return start_thread(*args, **kwargs)

        threading._start_new_thread = guarded_start
        _thread.start_new_thread = _thread.start_new = guarded_start
    except (ImportError, AttributeError, TypeError):  # pragma: no cover - a Python without these
        pass

    # multiprocessing's spawn starts a new interpreter through _posixsubprocess, which is not audited
    try:
        import _posixsubprocess

        fork_exec = _posixsubprocess.fork_exec

        def guarded_fork_exec(*args, **kwargs):
            if in_stack(getframe(1)):
                refuse(PermissionError, "another process would run outside the grader's watch",
                       "_posixsubprocess.fork_exec (another process)")
            return fork_exec(*args, **kwargs)

        _posixsubprocess.fork_exec = guarded_fork_exec
    except (ImportError, AttributeError, TypeError):  # pragma: no cover - not POSIX
        pass


# ---------------------------------------------------------------------------
# set up in the child
# ---------------------------------------------------------------------------

def install(task, state: dict, exc=RuntimeError) -> None:
    """Set up (a) and (b) in a sandbox child for ``task``; ``exc`` is what a forbidden call raises.

    Sets ``state["watch"] = (on, off)``: the case loop calls ``on()`` right after it sets
    ``state["active"] = True`` and ``off()`` right after it resets it (in the ``finally``).
    Call it after the tripwires are in place (they import the modules they patch) and
    before any student code runs. Does nothing for a task that is not from scratch and
    gives no ``forbidden_ops``."""
    ops = forbidden_ops(task) if task.from_scratch or getattr(task, "forbidden_ops", ()) else frozenset()
    if not task.from_scratch and not ops:
        return
    frames = _Frames(task)
    also = lambda: None  # noqa: E731
    if task.from_scratch:
        hider = _Hider(task, state, frames, *hidden_packages(task))
        hider.rehide()
        sys.meta_path.insert(0, hider.finder())
        _install_audit(task, state, frames, hider, exc)
        also = hider.rehide
    watched, functions = _split_ops(ops) if ops and "torch" in sys.modules else (frozenset(), frozenset())
    if watched:
        state["watch"] = _make_watch(task, state, watched, functions, frames, exc, also)
        _guard_switches(task, state, frames, exc)
    else:
        state["watch"] = (also, also)


# ---------------------------------------------------------------------------
# (c) reflection flagged
# ---------------------------------------------------------------------------

#: modules whose import alone is reflection (or runs code where no watch reaches)
_REFLECTIVE_MODULES = {
    "importlib": "imports modules by name (importlib)", "imp": "imports modules by name (imp)",
    "runpy": "runs modules by name (runpy)", "pkgutil": "looks modules up by name (pkgutil)",
    "zipimport": "imports modules by hand (zipimport)", "builtins": "reaches the builtins module",
    "ctypes": "uses ctypes (raw memory access)", "marshal": "loads compiled code (marshal)",
    "code": "runs an interpreter (code)", "codeop": "compiles code (codeop)", "linecache": "reads source files",
    "multiprocessing": "runs code in another process (multiprocessing)",
    "subprocess": "runs another program (subprocess)", "threading": "starts threads (the watch stays in this one)",
    "_thread": "starts threads (the watch stays in this one)",
    "concurrent": "runs code in other threads or processes (concurrent.futures)",
    "torch._C": "uses torch internals (torch._C)", "torch.ops": "calls aten operators directly (torch.ops)",
    "torch._ops": "uses torch internals (torch._ops)", "torch.library": "registers operators (torch.library)",
    "torch.overrides": "overrides torch functions (torch.overrides)",
    "torch.utils._python_dispatch": "uses torch's dispatcher internals",
}
#: attributes (as dotted names after resolving imports) that are reflection
_REFLECTIVE_NAMES = {
    "sys.modules": "reads sys.modules", "sys._getframe": "reads the call stack (sys._getframe)",
    "sys.meta_path": "changes how modules are imported (sys.meta_path)",
    "sys.path_hooks": "changes how modules are imported (sys.path_hooks)",
    "sys.settrace": "traces other code (sys.settrace)", "sys.setprofile": "traces other code (sys.setprofile)",
    "sys._current_frames": "reads the call stack (sys._current_frames)",
    "sys.addaudithook": "adds an audit hook",
    "gc.get_objects": "searches memory (gc.get_objects)", "gc.get_referents": "searches memory (gc.get_referents)",
    "gc.get_referrers": "searches memory (gc.get_referrers)",
    "os.fork": "starts another process (os.fork)", "os.system": "runs another program (os.system)",
    "os.popen": "runs another program (os.popen)", "os.posix_spawn": "starts another process (os.posix_spawn)",
    "types.FunctionType": "builds a function from code (types.FunctionType)",
    "types.CodeType": "builds code objects (types.CodeType)", "types.ModuleType": "builds a module (types.ModuleType)",
    "torch.compile": "compiles code (compiled kernels run past the watch)",
    "pickle.loads": "unpickles objects (pickle can import anything)", "pickle.load": "unpickles objects",
}
_INSPECT = {"getsource", "getsourcelines", "getsourcefile", "getfile", "getmodule", "currentframe", "stack", "trace",
            "getouterframes", "getinnerframes", "getmembers", "getclosurevars", "unwrap", "findsource", "getframeinfo"}
_EXEC_NAMES = {"exec": "runs code from a string (exec)", "eval": "evaluates code from a string (eval)",
               "compile": "compiles code (compile)", "__import__": "imports modules by name (__import__)",
               "breakpoint": "starts a debugger (breakpoint)"}
_DUNDERS = {"__globals__", "__closure__", "__code__", "__wrapped__", "cell_contents", "__subclasses__",
            "__builtins__", "__loader__", "__spec__", "__file__", "__defaults__", "__kwdefaults__", "f_back",
            "f_globals", "f_locals", "f_code", "f_builtins", "tb_frame", "tb_next", "gi_frame", "gi_code",
            "cr_frame", "ag_frame", "__getattribute__", "__import__", "__self__", "__func__"}
#: packages whose private names (``torch._C``, ``numpy._core``) an answer has no business with
_LIBRARY_ROOTS = {"torch", "numpy", "scipy", "sklearn", "course", "autograder", "builtins", "sys", "importlib",
                  "types", "inspect", "gc", "os", "functools"}
_OPENERS = {"open", "io.open", "os.open", "codecs.open", "builtins.open", "io.open_code", "tokenize.open"}
_READERS = {"read_text", "read_bytes", "open"}  # pathlib.Path(...).<these>()


def _computed(node) -> bool:
    """Whether an expression is anything but a string literal."""
    return not (isinstance(node, ast.Constant) and isinstance(node.value, str))


def _is_source_path(node) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and \
        node.value.strip().endswith(_SOURCE_SUFFIXES)


def _reads(call: ast.Call) -> bool:
    """Whether an ``open``-like call opens for reading (its mode, when given as a literal)."""
    mode = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "mode"), None)
    return not (isinstance(mode, ast.Constant) and isinstance(mode.value, str) and set(mode.value) & set("wax"))


def reflection_reasons(source: str, forbidden=()) -> list:
    """What in ``source`` (a from-scratch answer) looks like reflection, one short phrase
    per finding: ``["line 3: reads sys.modules"]``. Empty for ordinary code (NumPy math,
    loops, classes, ``import numpy as np``, ``import math``).

    ``forbidden`` (optional: a task's forbidden dotted names) also flags a routine of any
    imported module named like one of them (``sklearn.utils.extmath.softmax``)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        try:
            from .sandbox import python_source

            tree = ast.parse(python_source(source))
        except Exception:  # noqa: BLE001 - an answer that does not parse has nothing to flag
            return []
    routine_names = {str(f).rsplit(".", 1)[-1] for f in forbidden or ()}
    aliases: dict = {}  # local name -> the dotted name it was imported as
    found: list = []

    def add(node, phrase):
        line = getattr(node, "lineno", 0)
        if (line, phrase) not in found:
            found.append((line, phrase))

    def module_reason(dotted: str):
        for name in sorted(_REFLECTIVE_MODULES, key=len, reverse=True):
            if dotted == name or dotted.startswith(name + "."):
                return _REFLECTIVE_MODULES[name]
        return None

    def name_reason(dotted: str):
        """A reason for the dotted name of an imported thing, or None."""
        parts = dotted.split(".")
        if dotted in _REFLECTIVE_NAMES:
            return _REFLECTIVE_NAMES[dotted]
        if parts[0] == "inspect" and len(parts) > 1 and parts[1] in _INSPECT:
            return f"reads source or frames (inspect.{parts[1]})"
        if parts[0] == "builtins" and len(parts) > 1 and parts[1] in _EXEC_NAMES:
            return _EXEC_NAMES[parts[1]]
        reason = module_reason(dotted)
        if reason:
            return reason
        private = next((p for p in parts[1:] if p.startswith("_") and not p.startswith("__")), None)
        if private is not None and parts[0] in _LIBRARY_ROOTS:
            return f"uses private internals ({'.'.join(parts[:parts.index(private) + 1])})"
        if len(parts) > 1 and parts[-1] in routine_names:
            return f"uses {dotted} (a library routine that does the task)"
        return None

    # imports first: aliases are needed to resolve attribute chains
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    aliases[alias.name.split(".")[0]] = alias.name.split(".")[0]
                reason = name_reason(alias.name)
                if reason:
                    add(node, reason)
        elif isinstance(node, ast.ImportFrom):
            base = ("." * node.level) + (node.module or "")
            for alias in node.names:
                full = f"{base}.{alias.name}" if base else alias.name
                aliases[alias.asname or alias.name] = full
                reason = name_reason(full) or (module_reason(base) if base else None)
                if reason:
                    add(node, reason)

    def dotted_of(node):
        """The dotted name of a Name/Attribute chain rooted at an import, else None."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in aliases:
            return ".".join([aliases[node.id]] + parts[::-1])
        return None

    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            if node.attr in _DUNDERS:
                add(node, f"reads {node.attr} (reflection)")
            elif node.attr == "__dict__" and dotted_of(node.value):
                add(node, f"reads a module's namespace ({dotted_of(node.value)}.__dict__)")
            if isinstance(parents.get(node), ast.Attribute):
                continue  # judged at the end of the chain
            dotted = dotted_of(node)
            if dotted:
                parts = dotted.split(".")
                # judge every prefix of the chain: torch._C._VariableFunctions.softmax -> torch._C
                for k in range(2, len(parts) + 1):
                    reason = name_reason(".".join(parts[:k]))
                    if reason:
                        add(node, reason)
                        break
        elif isinstance(node, ast.Name):
            if node.id in ("__import__", "__builtins__"):
                add(node, _EXEC_NAMES.get(node.id, "reaches the builtins (__builtins__)"))
        elif isinstance(node, ast.Call):
            func = node.func
            fname = func.id if isinstance(func, ast.Name) else None
            dotted = dotted_of(func) if isinstance(func, ast.Attribute) else aliases.get(fname) if fname else None
            if fname in _EXEC_NAMES and fname not in aliases:
                add(node, _EXEC_NAMES[fname])
            if fname in ("getattr", "setattr", "delattr", "hasattr") and len(node.args) > 1 \
                    and _computed(node.args[1]):
                target = node.args[0]
                if not (isinstance(target, ast.Name) and target.id in ("self", "cls")):
                    add(node, f"{fname} with a computed name")
            if fname in ("globals", "locals", "vars"):
                parent = parents.get(node)
                if fname == "vars" and node.args and dotted_of(node.args[0]):
                    add(node, f"reads a module's namespace (vars({dotted_of(node.args[0])}))")
                elif isinstance(parent, ast.Subscript) and parent.value is node and _computed(parent.slice):
                    add(node, f"{fname}() with a computed name")
                elif isinstance(parent, ast.Attribute) and parent.attr in ("get", "pop", "setdefault") and \
                        isinstance(parents.get(parent), ast.Call) and parents[parent].args and \
                        _computed(parents[parent].args[0]):
                    add(node, f"{fname}() with a computed name")
                elif isinstance(parent, ast.Attribute) and parent.attr in ("items", "values", "keys", "update"):
                    add(node, f"searches {fname}()")
            opener = fname if fname == "open" and "open" not in aliases else dotted
            if opener in _OPENERS and node.args and _reads(node):
                if _is_source_path(node.args[0]):
                    add(node, f"reads a Python source file ({node.args[0].value})")
                elif _computed(node.args[0]):
                    add(node, "opens a file whose path is computed")
            if isinstance(func, ast.Attribute) and func.attr in _READERS and isinstance(func.value, ast.Call):
                inner = func.value
                inner_name = dotted_of(inner.func) if isinstance(inner.func, ast.Attribute) else \
                    aliases.get(inner.func.id) if isinstance(inner.func, ast.Name) else None
                if inner_name in ("pathlib.Path", "pathlib.PurePath") and inner.args and \
                        (_computed(inner.args[0]) or _is_source_path(inner.args[0])) and \
                        (func.attr != "open" or _reads(node)):
                    add(node, "reads a file through pathlib (a source file or a computed path)")
    return [f"line {line}: {phrase}" for line, phrase in sorted(found, key=lambda f: f[0])]
