"""The grading jail (autograder/jail.py): what student code can reach while it is graded.

Each test grades one small answer through the same path as nbgrader (the judge's
sandbox children, or SafeExecute's kernel) and asserts what the code could see or do.
The end-to-end attacks on a whole class are in tests/test_jail_e2e.py.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import pytest

from autograder import jail as jail_mod
from autograder.judge import judge_sources

pytestmark = pytest.mark.autograder

REPO = Path(__file__).resolve().parents[1]
SOFTMAX = '''
import numpy as np
def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
'''
NUMPY_ONLY = 4  # the visible cases of 00.softmax, all of which a NumPy-only answer passes


def grade(src: str, cwd=None, **kw):
    return judge_sources("00.softmax", [(0, src, "own")], ("softmax",), "visible", cwd=str(cwd) if cwd else None,
                         **kw)


def probe(expression: str, cwd=None) -> str:
    """What ``expression`` evaluates to inside a sandbox child (of a task that is not from
    scratch), smuggled out through the verdict."""
    src = f'''
def choose_device(preference="auto"):
    raise ValueError("PROBE<" + repr({expression}) + ">")
'''
    v = judge_sources("00.device", [(0, src, "own")], ("choose_device",), "visible",
                      cwd=str(cwd) if cwd else None)
    text = "\n".join(v.lines)
    assert "PROBE<" in text, text
    return text.split("PROBE<", 1)[1].split(">", 1)[0]


def test_the_jail_hides_the_course_root_and_the_library_sources(tmp_path):
    (tmp_path / "data.txt").write_text("mine")
    assert probe("__import__('os').getcwd()", tmp_path) == "'/home/student'"
    assert probe("sorted(__import__('os').listdir('.'))", tmp_path) == "['data.txt']"
    assert probe(f"__import__('os').path.exists({str(REPO / 'solutions')!r})", tmp_path) == "False"
    assert probe(f"__import__('os').path.exists({str(REPO / 'course' / 'activations.py')!r})") == "False"
    # the library works, but only as byte code: no source to read or to copy
    assert probe("__import__('course.activations').activations.__file__.endswith('.pyc')") == "True"
    assert probe("__import__('inspect').getsource(__import__('course.activations').activations.softmax)[:5]"
                 " if False else __import__('os').path.exists(__import__('course').__file__[:-1])") == "False"
    assert probe("__import__('os').path.exists('/root/.ssh')") == "False"


def test_the_jail_has_no_network_and_its_own_processes():
    assert probe("len(__import__('socket').if_nameindex())") in ("0", "1")  # at most loopback, down
    out = probe("__import__('socket').create_connection(('127.0.0.1', 22), timeout=1) if False else "
                "sorted(int(p) for p in __import__('os').listdir('/proc') if p.isdigit())[:3]")
    assert out.startswith("[1, "), out  # a fresh PID namespace (the jail server is its init): the grader is not in sight
    assert probe("__import__('os').access('/usr/bin', __import__('os').W_OK)") == "False"


def test_a_process_the_answer_starts_does_not_outlive_its_task(tmp_path):
    marker = f"jail-test-marker-{os.getpid()}"
    src = f'''
import subprocess, sys
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)  # {marker}"], start_new_session=True)
''' + SOFTMAX
    v = grade(src, tmp_path)
    assert v.passed == NUMPY_ONLY
    time.sleep(0.5)
    alive = [p for p in Path("/proc").iterdir() if p.name.isdigit() and marker.encode() in _cmdline(p)]
    assert alive == []


def _cmdline(p: Path) -> bytes:
    try:
        return (p / "cmdline").read_bytes()
    except OSError:
        return b""


def test_a_child_that_never_finishes_its_message_cannot_stall_the_judge():
    src = SOFTMAX + '''
import os, struct, time
def softmax(x, axis=-1, _good=softmax):
    for fd in range(3, 64):
        try:
            if os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).startswith("pipe:"):
                os.write(fd, struct.pack("<Q", 1000))
        except OSError:
            pass
    time.sleep(3600)
'''
    from autograder.sandbox import Limits

    t = time.monotonic()
    v = grade(src, limits=Limits(4))
    assert time.monotonic() - t < 20
    assert v.passed == 0


def test_a_child_streaming_a_huge_result_is_cut_off():
    src = '''
import numpy as np
def softmax(x, axis=-1):
    return np.zeros((1 << 27,))  # 1 GiB of float64
'''
    from autograder.sandbox import Limits

    v = grade(src, limits=Limits(20, 4096))
    assert v.passed == 0
    assert "too large" in "\n".join(v.lines)


def test_without_bubblewrap_grading_refuses_and_says_how_to_install(monkeypatch):
    monkeypatch.setattr(jail_mod.shutil, "which", lambda name: None)
    with pytest.raises(jail_mod.JailUnavailable, match="apt-get install -y bubblewrap"):
        jail_mod.Jail(sandbox=True)
    j = jail_mod.Jail(sandbox=False)  # the instructor's explicit --no-sandbox
    j.close()


def test_no_sandbox_mode_grades_through_the_same_path(tmp_path):
    j = jail_mod.Jail(sandbox=False)
    try:
        assert j.enter(tmp_path) == str(j.work)
        r, w = os.pipe()
        proc = j.spawn("os:write", (b"x",), fds=(w,))
        os.close(w)
        proc.join(20)
        assert proc.exitcode == 0
        assert os.read(r, 10) == b"x"
    finally:
        j.close()


def test_grade_without_the_jail_tool_stops_with_the_install_command(tmp_path, monkeypatch):
    from autograder import cli

    (tmp_path / "solutions" / "00-setup").mkdir(parents=True)
    monkeypatch.setattr(jail_mod.shutil, "which", lambda name: None)
    assert cli.main(["--root", str(tmp_path), "grade", "00-setup"]) == 2


# --- the notebook's kernel --------------------------------------------------------------

def _run_notebook(cells, folder, **config):
    from traitlets.config import Config

    from autograder.nbgrader_ext import SafeExecute

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    c = Config()
    for key, value in config.items():
        setattr(c.SafeExecute, key, value)
    nb, _ = SafeExecute(config=c).preprocess(nb, {"metadata": {"path": str(folder)}})
    return ["".join(str(o.get("text", "")) + str(o.get("evalue", "")) for o in cell.outputs) for cell in nb.cells]


def test_the_kernel_runs_in_the_jail_with_the_students_folder_only(tmp_path):
    (tmp_path / "notes.csv").write_text("1,2")
    out = _run_notebook([
        "import os; print(os.getcwd(), sorted(os.listdir('.')))",
        f"print(os.path.exists({str(REPO / 'solutions')!r}), os.path.exists({str(tmp_path)!r}))",
        "open('written.txt', 'w').write('x'); print('ok')",
    ], tmp_path)
    assert out[0].strip() == "/home/student ['notes.csv']"
    assert out[1].strip() == "False False"
    assert not (tmp_path / "written.txt").exists()  # the student's folder outside is a copy's source only


def test_kernel_output_is_capped_with_a_visible_note(tmp_path):
    out = _run_notebook(["print('x' * 5_000_000)", "print('still here')"], tmp_path, max_output_chars=10_000)
    assert len(out[0]) < 12_000 and "output truncated" in out[0]
    assert out[1].strip() == "still here"


def test_a_notebook_that_sleeps_stops_at_its_time_budget(tmp_path):
    t = time.monotonic()
    out = _run_notebook(["import time; time.sleep(3)", "time.sleep(3)", "time.sleep(3)", "print('late')"],
                        tmp_path, notebook_seconds=10.0)
    assert time.monotonic() - t < 25
    assert "not run" in out[3]


@pytest.mark.parametrize("sig", ["SIGSTOP", "SIGKILL"])
def test_a_child_that_stops_or_kills_the_jail_server_costs_its_own_task_only(sig):
    from autograder.sandbox import Limits

    src = SOFTMAX + f'''
import os, signal
def softmax(x, axis=-1, _good=softmax):
    os.kill(os.getppid(), signal.{sig})
    return _good(x, axis)
'''
    v = grade(src, limits=Limits(8))
    assert v.passed <= NUMPY_ONLY
    after = grade(SOFTMAX)  # the next task (or student) is graded as usual
    assert after.passed == NUMPY_ONLY


# --- reflection in a from-scratch answer: flagged for a person, with the reason ----------

def test_reflection_in_a_from_scratch_answer_is_flagged_for_manual_review(tmp_path):
    from autograder.nbgrader_ext import JudgeTasks

    nb = nbformat.read(REPO / "solutions" / "00-setup" / "00-setup.ipynb", as_version=4)
    softmax = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "softmax")
    softmax.source = ("import sys\nimport numpy as np\n"
                      "def softmax(x, axis=-1):\n"
                      "    mod = sys.modules.get('num' + 'py')\n"
                      "    e = mod.exp(x - x.max(axis=axis, keepdims=True))\n"
                      "    return e / e.sum(axis=axis, keepdims=True)\n")
    nb, _ = JudgeTasks().preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    flagged = cells["test-softmax"]
    assert "sys.modules" in " ".join(flagged.metadata["autograder"]["review"])
    assert "flagged for manual review" in flagged.outputs[0]["text"]
    assert "autograder" not in cells["test-neuron"].metadata  # the plain answers are not flagged


def test_a_python_installed_under_tmp_is_visible_in_the_jail(tmp_path, monkeypatch):
    """The jail's own /tmp must not hide a virtualenv (or the library copy) that lives under
    the machine's /tmp, as a fresh clone in a temporary folder has it."""
    lib = jail_mod.library_dir()
    argv = jail_mod._bwrap_argv("bwrap", lib, tmp_path / "w", tmp_path / "i", [str(tmp_path / "tasks.py")])
    tmpfs = argv.index("--tmpfs")
    for path in (str(tmp_path / "i"), str(tmp_path / "tasks.py")):
        assert argv.index(path) > tmpfs


def test_a_new_notebook_gets_an_empty_tmp_and_binds_below_it_are_left_alone(tmp_path):
    """Between notebooks the server empties the jail's /tmp (a tmpfs). Folders bound from the
    machine below it (a virtualenv or the course under the machine's /tmp, the kernels' socket
    folder) are neither emptied nor walked: walking a virtualenv cost seconds per notebook."""
    import subprocess
    import sys

    bwrap = jail_mod.bwrap_path()
    if bwrap is None:
        pytest.fail("bubblewrap is missing: " + jail_mod.INSTALL_HELP)
    sockets, venv = tmp_path / "sockets", tmp_path / "venv"
    sockets.mkdir()
    venv.mkdir()
    (sockets / "kernel-1").write_text("a socket")
    (venv / "lib.py").write_text("a library")
    script = (
        "import os, sys\n"
        "from autograder.jail import empty_folder\n"
        "os.makedirs('/tmp/matplotlib/fonts'); open('/tmp/matplotlib/fonts/cache', 'w').write('x')\n"
        "open('/tmp/scratch.npy', 'w').write('x'); os.symlink('/tmp/outside/venv', '/tmp/link')\n"
        "empty_folder('/tmp')\n"
        "found = sorted(os.path.join(d, f) for d, _, fs in os.walk('/tmp') for f in fs)\n"
        "print([f for f in found if not f.startswith(tuple(sys.argv[1:]))])\n")
    keep = sorted({str(REPO), sys.prefix, sys.base_prefix})  # may lie under /tmp: visible again
    argv = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for path in keep:
        argv += ["--ro-bind", path, path]
    argv += ["--bind", str(sockets), "/tmp/outside/sockets", "--ro-bind", str(venv), "/tmp/outside/venv",
             "--chdir", str(REPO), sys.executable, "-c", script, *keep]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["['/tmp/outside/sockets/kernel-1',", "'/tmp/outside/venv/lib.py']"], proc.stdout
    assert (sockets / "kernel-1").read_text() == "a socket"
    assert (venv / "lib.py").read_text() == "a library"
