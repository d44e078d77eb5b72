"""The kernel side of grading: whatever a cell does to its kernel, the notebook runs to its end."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder.nbgrader_ext import SafeExecute

pytestmark = pytest.mark.autograder


def run(*sources, timeout=4):
    nb = new_notebook(cells=[new_code_cell(src) for src in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    SafeExecute(timeout=timeout, kernel_memory_mb=0).preprocess(nb, {"metadata": {"path": "."}})
    return nb.cells


def texts(cell):
    return "".join(o.get("text", "") + o.get("evalue", "") for o in cell.outputs)


def test_the_notebook_survives_every_way_a_cell_can_break_its_kernel():
    cells = run(
        "from IPython.display import display\ndisplay({'text/plain': 5}, raw=True)\nprint('after')",
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
        "import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)",
        "import os\nos._exit(3)",
        "exit()",
        "print('the end')",
    )
    assert "cannot store" in texts(cells[0]) and "after" in texts(cells[0])
    for cell in cells[1:3]:
        assert any(o.get("ename") == "KernelRestarted" for o in cell.outputs), cell.outputs
        assert "did not stop when interrupted" in texts(cell)
    assert "the kernel died" in texts(cells[3])
    assert texts(cells[5]).strip() == "the end"
