"""Every public callable of ``course`` is documented, with shapes where it matters.

The library's contract (DESIGN.md) and style guide (STYLE.md) ask for shapes
in every docstring; these checks keep the public names from losing them:

* every name in a module's ``__all__`` that is callable has its own docstring
  (a class does not count its base class's);
* every ``*_backward(dout, cache)`` names ``dout`` and gives a shape in
  parentheses for what it returns;
* every plain wrapper ``op`` with an ``op_forward`` sibling gives its shapes
  (a ``Shape:`` note or a shape in parentheses), not only "see op_forward".
"""

import importlib
import inspect
import re

import pytest

import course

pytestmark = pytest.mark.nn

MODULE_NAMES = sorted(set(course.__all__) | {"torch_models"})
# a shape in parentheses: "(N, D)", "(*)", "(*, F)", "(C,)", "()"
SHAPE = re.compile(r"\((?:\)|\*|[A-Z]\w*\s*[,)])")


def _public_callables(module_name):
    module = importlib.import_module(f"course.{module_name}")
    assert hasattr(module, "__all__"), f"course.{module_name} has no __all__"
    for name in module.__all__:
        obj = getattr(module, name)
        if callable(obj):
            yield module, name, obj


def _own_doc(obj):
    """The docstring written for ``obj`` itself (classes do not inherit one here)."""
    doc = vars(obj).get("__doc__") if inspect.isclass(obj) else getattr(obj, "__doc__", None)
    return inspect.cleandoc(doc) if doc else ""


def test_modules_are_listed():
    assert "activations" in MODULE_NAMES and "torch_models" in MODULE_NAMES
    assert all(list(_public_callables(m)) for m in ("activations", "layers", "losses", "nn"))


@pytest.mark.parametrize("module_name", MODULE_NAMES)
def test_every_public_callable_has_a_docstring(module_name):
    missing = [name for _, name, obj in _public_callables(module_name) if not _own_doc(obj)]
    assert not missing, f"course.{module_name}: public callables without a docstring: {missing}"


@pytest.mark.parametrize("module_name", MODULE_NAMES)
def test_backward_docstrings_name_dout_and_shapes(module_name):
    bad = []
    for _, name, obj in _public_callables(module_name):
        if not name.endswith("_backward") or inspect.isclass(obj):
            continue
        doc = _own_doc(obj)
        if "dout" not in doc or not SHAPE.search(doc):
            bad.append(name)
    assert not bad, (f"course.{module_name}: these backward docstrings must name dout and give the "
                     f"shapes of dout and of each returned gradient, e.g. '(N, D)': {bad}")


@pytest.mark.parametrize("module_name", MODULE_NAMES)
def test_plain_wrappers_give_shapes(module_name):
    bad = []
    for module, name, obj in _public_callables(module_name):
        if inspect.isclass(obj) or not hasattr(module, f"{name}_forward"):
            continue
        doc = _own_doc(obj)
        if "Shape" not in doc and not SHAPE.search(doc):
            bad.append(name)
    assert not bad, (f"course.{module_name}: these wrappers of an op_forward must give the output "
                     f"shape (a 'Shape:' note or a shape such as '(N, F)'): {bad}")


def test_shape_pattern():
    for text in ("x (N, D)", "returns (*)", "(*, F)", "bias (F,)", "shape ()", "(N, C, H, W)"):
        assert SHAPE.search(text), text
    for text in ("see :func:`relu_forward`", "(the default)", "max(0, x)", "(x > 0)"):
        assert not SHAPE.search(text), text
