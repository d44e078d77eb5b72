"""The similarity report: planted near-copies are flagged, independent answers are not.

A small course folder in a temporary directory: ``solutions/00-setup`` and
submissions whose ``softmax`` (and for some ``neuron``) is replaced by
student code. Planted: a renamed, re-formatted, re-commented copy of the
course's softmax, and of its neuron; a student who copied another's
(unusual) softmax with renames and a new layout. The other answers are
written independently and differ in structure; none of their pairs may be
flagged.
"""

import re
import shutil
import textwrap
from pathlib import Path

import nbformat
import pytest

from autograder import similarity
from autograder.cli import main

pytestmark = pytest.mark.autograder

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "00-setup"

# (1) the course's softmax_forward (course/activations.py), renamed, re-laid-out and re-commented
COPY_OF_COURSE = '''
def softmax(z, dim=-1):
    """My softmax."""
    # first make sure the input is sane
    _validate(z, "z")
    _valid_axis(z, dim)
    lib = _array_lib(z)
    if z.ndim == 0:   # a single number
        res = _per_vector(lambda vec: softmax(vec, dim)[0], lib, z)
        return res, (res, dim)
    # the trick: take the max away so that exp never overflows
    centred = (z
               - lib.max(z, axis=dim,
                         keepdims=True))
    expd = lib.exp(centred)
    res = expd / lib.sum(expd,
                         axis=dim, keepdims=True)
    return res, (res, dim)
'''

# the course's neuron (course/neurons.py), renamed and re-formatted
NEURON_COPY_OF_COURSE = '''
def neuron(inputs, weights, bias, act=None):
    _ndim_ok(weights, "weights", 1, "(D,)")
    _ndim_ok(inputs, "inputs", (1, 2), "(D,) or (N, D)")
    if inputs.shape[-1] != weights.shape[0]:
        raise ValueError(f"inputs has {inputs.shape[-1]} entries but weights has {weights.shape[0]}: "
                         f"inputs {tuple(inputs.shape)}, weights {tuple(weights.shape)}")
    lib = _ns(inputs, weights)
    pre = lib.asarray(lib.matmul(inputs, weights) + bias)   # 0-d array for one input
    return pre if act is None else act(pre)
'''

NEURON_OWN = '''
def neuron(x, w, b):
    total = b
    for i in range(w.shape[0]):
        total = total + x[..., i] * w[i]
    lib = torch if torch.is_tensor(total) else np
    return 0.5 * (1 + lib.tanh(total / 2))
'''

# (2) an unusual softmax, and another student's renamed, re-laid-out copy of it
ORIGINAL = '''
def softmax(x, axis=-1):
    xp = torch if torch.is_tensor(x) else np
    axis = axis % x.ndim if x.ndim else 0
    biggest = x.max(axis, keepdims=True) if xp is np else x.max(dim=axis, keepdim=True).values
    logits = x - biggest
    numer = xp.exp(logits)
    if xp is np:
        denom = numer.sum(axis=axis, keepdims=True)
    else:
        denom = numer.sum(dim=axis, keepdim=True)
    probs = numer / denom
    assert probs.shape == x.shape, "shape changed"
    return probs
'''

COPY_OF_ORIGINAL = '''
def softmax(inp, axis=-1):
    # choose numpy or torch
    lib = (torch
           if torch.is_tensor(inp) else np)
    axis = (axis % inp.ndim) if inp.ndim else 0   # a positive axis
    top = (inp.max(axis, keepdims=True) if lib is np
           else inp.max(dim=axis, keepdim=True).values)
    shifted = inp - top
    ex = lib.exp(shifted)
    if lib is np:
        tot = ex.sum(axis=axis, keepdims=True)
    else:
        tot = ex.sum(dim=axis,
                     keepdim=True)
    out = ex / tot
    assert out.shape == inp.shape, 'shape is wrong'   # sanity check
    return out
'''

# a copy of it that was also restructured a little: a conditional expression became an if
# statement, two statements became one, the assert went
EDITED_COPY_OF_ORIGINAL = '''
def softmax(arr, axis=-1):
    lib = torch if torch.is_tensor(arr) else np
    axis = axis % arr.ndim if arr.ndim else 0
    if lib is np:
        peak = arr.max(axis, keepdims=True)
    else:
        peak = arr.max(dim=axis, keepdim=True).values
    powered = lib.exp(arr - peak)
    if lib is np:
        norm = powered.sum(axis=axis, keepdims=True)
    else:
        norm = powered.sum(dim=axis, keepdim=True)
    return powered / norm
'''

# (3) independently written answers, different in structure
INDEPENDENT = {
    "rows_loop": '''
def softmax(x, axis=-1):
    moved = np.moveaxis(np.asarray(x, dtype=float), axis, -1)
    flat = moved.reshape(-1, moved.shape[-1])
    out = np.empty_like(flat)
    for i, row in enumerate(flat):
        top = row.max()
        weights = np.exp(row - top)
        out[i] = weights / weights.sum()
    return np.moveaxis(out.reshape(moved.shape), -1, axis)
''',
    "keepdims": '''
def softmax(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)
''',
    "logsumexp": '''
def softmax(x, axis=-1):
    if isinstance(x, torch.Tensor):
        m = torch.amax(x, dim=axis, keepdim=True)
        lse = m + torch.log(torch.sum(torch.exp(x - m), dim=axis, keepdim=True))
        return torch.exp(x - lse)
    m = np.max(x, axis=axis, keepdims=True)
    lse = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return np.exp(x - lse)
''',
    "generator": '''
def softmax(x, axis=-1):
    arr = np.swapaxes(np.asarray(x), axis, -1)

    def rows():
        for vec in arr.reshape(-1, arr.shape[-1]):
            shift = max(vec)
            exps = [math.exp(v - shift) for v in vec]
            total = sum(exps)
            yield [e / total for e in exps]

    result = np.array(list(rows())).reshape(arr.shape)
    return np.swapaxes(result, axis, -1)
''',
    "along_axis": '''
def softmax(x, axis=-1):
    def one(v):
        z = v - v.max()
        return np.exp(z) / np.exp(z).sum()
    return np.apply_along_axis(one, axis, x)
''',
}

STUDENTS = {  # student -> {grade_id of the answer cell: code}; cells not named are left as the stub
    "carol_copies_course": {"softmax": COPY_OF_COURSE, "neuron": NEURON_COPY_OF_COURSE},
    "oscar_original": {"softmax": ORIGINAL},
    "paul_copies_oscar": {"softmax": COPY_OF_ORIGINAL},
    "quentin_edits_oscar": {"softmax": EDITED_COPY_OF_ORIGINAL},
    **{f"indep_{k}": {"softmax": v} for k, v in INDEPENDENT.items()},
    "nora_own_neuron": {"neuron": NEURON_OWN},  # her softmax is left as the stub
}


def _stub(source: str) -> str:
    """The release version of an answer cell: the solution replaced by ``raise NotImplementedError()``."""
    def repl(m):
        indent = m.group(1)
        return f"{indent}# YOUR CODE HERE\n{indent}raise NotImplementedError()"
    return re.sub(r"( *)### BEGIN SOLUTION.*?### END SOLUTION", repl, source, flags=re.S)


def _notebook(answers: dict):
    nb = nbformat.read(REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution") and not meta.get("grade"):
            gid = meta["grade_id"]
            cell.source = textwrap.dedent(answers[gid]).strip() if gid in answers else _stub(cell.source)
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(REPO / "solutions" / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    (root / "solutions" / "01-empty").mkdir()
    for student, answers in STUDENTS.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(_notebook(answers), folder / f"{ASSIGNMENT}.ipynb")
    return root


def _pairs(report):
    return {(m.function, frozenset((m.student, m.other))): m for m in report.matches}


def test_planted_copies_are_found_and_independent_answers_are_not(course):
    report = similarity.find_similar(course, ASSIGNMENT)
    pairs = _pairs(report)
    assert ("softmax", frozenset(("carol_copies_course", similarity.COURSE))) in pairs
    assert pairs["softmax", frozenset(("carol_copies_course", similarity.COURSE))].other_label \
        == "course.activations.softmax_forward"
    assert ("neuron", frozenset(("carol_copies_course", similarity.COURSE))) in pairs
    assert ("softmax", frozenset(("oscar_original", "paul_copies_oscar"))) in pairs
    honest = {f"indep_{k}" for k in INDEPENDENT} | {"nora_own_neuron", "oscar_original"}
    for function, who in pairs:
        assert not who <= honest | {similarity.COURSE}, f"{function}: {sorted(who)} flagged"
    assert ("softmax", frozenset(("oscar_original", "quentin_edits_oscar"))) in pairs
    assert ("softmax", frozenset(("paul_copies_oscar", "quentin_edits_oscar"))) in pairs
    assert len(report.matches) == 5, report.text()
    # unanswered stubs (choose_device everywhere, most neurons) are skipped, not compared
    assert report.compared == {"choose_device": 0, "neuron": 2, "softmax": 9}


def test_cli_prints_the_table_and_writes_the_html_report(course, capsys):
    assert main(["--root", str(course), "similarity", ASSIGNMENT]) == 0
    out = capsys.readouterr().out
    assert "carol_copies_course" in out and "course reference" in out
    assert "oscar_original" in out and "paul_copies_oscar" in out
    html_path = course / "similarity" / f"{ASSIGNMENT}.html"
    assert str(html_path) in out
    page = html_path.read_text()
    assert "<title>Similarity report: 00-setup</title>" in page and "<mark>" in page
    assert not (course / "gradebook.db").exists()
    assert not (course / "autograded").exists()


def test_cli_student_filter_and_threshold(course, capsys):
    assert main(["--root", str(course), "similarity", ASSIGNMENT, "--student", "indep_keepdims"]) == 0
    assert "No near-copies found" in capsys.readouterr().out
    assert main(["--root", str(course), "similarity", ASSIGNMENT, "--threshold", "1.5"]) == 2
    assert "threshold" in capsys.readouterr().err


def test_cli_error_without_submissions(course, capsys):
    assert main(["--root", str(course), "similarity", "01-empty"]) == 2
    err = capsys.readouterr().err
    assert "no submissions of 01-empty" in err
    assert not (course / "similarity" / "01-empty.html").exists()
