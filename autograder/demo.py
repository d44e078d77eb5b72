"""A demo class for the pilot assignment ``00-setup``: the full solution, the
blank release copy, plausible wrong answers and adversarial ones.

Used by the end-to-end tests and by ``python -m autograder.bench``; an
instructor can also run ``python -m autograder.demo OUT`` to get a folder of
submissions to try the grading commands on.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import nbformat

ASSIGNMENT = "00-setup"

DEVICE_STUB = '''def choose_device(preference="auto"):
{body}
'''
NEURON_STUB = '''def neuron(x, w, b):
{body}
'''
SOFTMAX_STUB = '''def softmax(x, axis=-1):
{body}
'''


def _indent(body: str) -> str:
    return "\n".join("    " + line if line else "" for line in body.strip("\n").splitlines())


def _dev(body):
    return {"choose-device": DEVICE_STUB.format(body=_indent(body))}


def _neu(body):
    return {"neuron": "import numpy as np\nimport torch\n\n" + NEURON_STUB.format(body=_indent(body))}


def _soft(body, prelude=""):
    return {"softmax": prelude + SOFTMAX_STUB.format(body=_indent(body))}


NO_SHIFT = """
if isinstance(x, np.ndarray):
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)
e = x.exp()
return e / e.sum(dim=axis, keepdim=True)
"""

#: variant name -> (answer-cell replacements by grade_id, extra edits)
VARIANTS = {
    # device
    "device_always_cpu": _dev('return "cpu"'),
    "device_no_validation": _dev('import torch\nreturn "cuda" if torch.cuda.is_available() else "cpu"'),
    "device_wrong_exception": _dev(
        'import torch\nif preference in ("cpu", "auto"):\n    return "cpu" if preference == "cpu" or not '
        'torch.cuda.is_available() else "cuda"\nif preference == "cuda":\n    if not torch.cuda.is_available():\n'
        '        raise RuntimeError("no cuda")\n    return "cuda"\nraise KeyError(preference)'),
    # neuron
    "neuron_no_bias": _neu("z = x @ w\nreturn 1 / (1 + np.exp(-z)) if isinstance(z, (np.ndarray, float)) "
                           "else torch.sigmoid(z)"),
    "neuron_relu": _neu("z = x @ w + b\nreturn z * (z > 0)"),
    "neuron_wrong_orientation": _neu("z = np.dot(w, x) + b\nreturn 1 / (1 + np.exp(-z))"),
    "neuron_numpy_only": _neu("z = np.dot(x, w) + b\nreturn 1 / (1 + np.exp(-z))"),
    # softmax
    "softmax_no_shift": _soft(NO_SHIFT),
    "softmax_wrong_axis": _soft("""
if isinstance(x, np.ndarray):
    e = np.exp(x - x.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)
e = (x - x.amax(dim=0, keepdim=True)).exp()
return e / e.sum(dim=0, keepdim=True)
"""),
    "softmax_max_added": _soft("""
if isinstance(x, np.ndarray):
    e = np.exp(x + x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
e = (x + x.amax(dim=axis, keepdim=True)).exp()
return e / e.sum(dim=axis, keepdim=True)
"""),
    "softmax_no_keepdims": _soft("""
if isinstance(x, np.ndarray):
    e = np.exp(x - x.max(axis=axis))
    return e / e.sum(axis=axis)
e = (x - x.amax(dim=axis)).exp()
return e / e.sum(dim=axis)
"""),
    # adversarial
    "adv_infinite_loop": _soft("while True:\n    pass"),
    "adv_os_exit": _soft("import os\nos._exit(0)"),
    "adv_memory_bomb": _soft("hoard = []\nwhile True:\n    hoard.append(np.ones(10**7))"),
    "adv_patched_autograder": _soft(NO_SHIFT, prelude=(
        "import autograder, autograder.judge, autograder.checks\n"
        "autograder.check = lambda *a, **k: 4\n"
        "autograder.checks.check = lambda *a, **k: 4\n"
        "autograder.judge.judge = lambda task, results, ending='': "
        "autograder.judge.Verdict(task.name, passed=len(results), total=len(results))\n\n")),
    "adv_patched_allclose": _soft(NO_SHIFT, prelude=(
        "np.allclose = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None\n"
        "np.isclose = lambda a, b, *r, **k: np.ones(np.broadcast(a, b).shape, dtype=bool)\n\n")),
    "adv_calls_reference": _soft("from course.activations import softmax as reference\n"
                                 "return reference(x, axis=axis)"),
    "adv_calls_torch_softmax": _soft("""
if isinstance(x, np.ndarray):
    return torch.softmax(torch.as_tensor(x), dim=axis).numpy()
return torch.softmax(x, dim=axis)
"""),
    "adv_tampered_test_cell": {**_soft(NO_SHIFT), "test-softmax": "4"},
}


def _replace(nb, grade_id: str, source: str) -> None:
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            cell.source = source
            return
    raise KeyError(f"no cell {grade_id!r}")


def _answers(source_nb) -> dict:
    """grade_id -> the source notebook's answer code, solution markers removed."""
    answers = {}
    for cell in source_nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution") and not meta.get("grade"):
            lines = [ln for ln in cell.source.splitlines() if "### BEGIN SOLUTION" not in ln
                     and "### END SOLUTION" not in ln]
            answers[meta["grade_id"]] = "\n".join(lines)
    return answers


def make_submission(release_nb, source_nb, variant: str | None = None):
    """A student's notebook: the release version with every answer cell filled
    in with the solution, except the cells that ``variant`` replaces."""
    nb = copy.deepcopy(release_nb)
    fills = _answers(source_nb)
    if variant is not None:
        fills.update(VARIANTS[variant])
    for grade_id, code in fills.items():
        _replace(nb, grade_id, code)
    return nb


def build_class(root: Path, out: Path, copies: int = 1, variants=None) -> dict:
    """Write demo submissions to ``out/<student>.ipynb``; return student -> variant.

    Students: ``solution``, ``blank`` (the release version untouched) and one
    per variant, each repeated ``copies`` times (``<name>-<k>``).
    """
    root, out = Path(root), Path(out)
    source = nbformat.read(root / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    release_path = root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    if not release_path.exists():
        raise FileNotFoundError(f"{release_path} is missing - run `python -m autograder generate {ASSIGNMENT}`")
    release = nbformat.read(release_path, as_version=4)
    out.mkdir(parents=True, exist_ok=True)
    names = ["solution", "blank"] + list(variants if variants is not None else VARIANTS)
    roster = {}
    for k in range(copies):
        for name in names:
            student = name if copies == 1 else f"{name}-{k}"
            if name == "blank":
                nb = copy.deepcopy(release)
            else:
                nb = make_submission(release, source, None if name == "solution" else name)
            nbformat.write(nb, out / f"{student}.ipynb")
            roster[student] = name
    return roster


if __name__ == "__main__":  # pragma: no cover - convenience for instructors
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "demo-submissions")
    made = build_class(Path.cwd(), target)
    print(f"{len(made)} demo submissions in {target}")
