"""End to end, issue 7: a hostile class graded through the CLI and through plain nbgrader.

One class: honest students (the full solution), the old adversarial set of
``autograder/demo.py`` and one attacker per numbered attack of issue 7 (the
attacks are in ``tests/jail/attacks.py``; the table at the end of this file says
what stops each). Every attacker's notebook is the full solution plus the
attack, so it may earn at most the full solution's score. The attacks get the
real course roots, the repository's path and the names of their victims, so
that nothing but the grading jail stands between them and the instructor's
files and processes.

The class is written into two course roots: one graded with ``python -m
autograder grade --jobs 2``, the other with plain ``nbgrader autograde`` (as
``test_plain_nbgrader_autograde_agrees`` runs it). Both are graded once, in one
module fixture; the tests read what it recorded. Asserted: every notebook is
graded; every honest student keeps every point; no attacker earns more than
their honest work; the old adversarial set keeps its scores; nobody's
``manual_score`` is set; no file outside the jail changes (the course roots
apart from what grading writes, ``submitted/`` included; the repository's
``course`` and ``autograder``; the virtualenv; a folder outside both roots);
no process an attack started survives grading; graded notebooks and feedback
stay small; hidden cases' feedback shows relative errors only; and the whole
run stays within :data:`WALL_BOUND_S`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import sysconfig
import time
import uuid
from pathlib import Path

import nbformat
import pytest
import torch

from autograder.config import COURSE_ID
from autograder.demo import ASSIGNMENT, make_submission
from autograder.secret import write_secret
from autograder.tasks import secret

pytestmark = pytest.mark.grading

REPO = Path(__file__).resolve().parents[1]
CELLS = ["test-choose-device", "test-neuron", "test-softmax"]
FULL = [1.0, 3.0, 4.0]  # the full solution's auto-graded points (device 1, neuron 3, softmax 4)
HONEST = ["zz_honest_1", "zz_honest_2", "zz_honest_3"]  # graded after the attackers (by name)
OLD_ADVERSARIAL = ["adv_infinite_loop", "adv_os_exit", "adv_memory_bomb", "adv_patched_autograder",
                   "adv_patched_allclose", "adv_calls_reference", "adv_calls_torch_softmax", "adv_tampered_test_cell"]

# limits of the run (the attacks sleep just under them)
CELL_TIMEOUT = 8
TIME_LIMIT = 5
NOTEBOOK_SECONDS = 40
#: the whole run (building both roots, both gradings, feedback, the checks): measured at 4.2 minutes
#: for 33 notebooks on 2 otherwise idle CPUs (about 7 minutes while other test runs shared them)
WALL_BOUND_S = 15 * 60
MAX_NOTEBOOK_BYTES = 5 << 20
MARKER = f"jail-attack-marker-{uuid.uuid4().hex[:12]}"

ENV = dict(os.environ, AUTOGRADER_CELL_TIMEOUT=str(CELL_TIMEOUT), AUTOGRADER_TIME_LIMIT=str(TIME_LIMIT),
           AUTOGRADER_NOTEBOOK_SECONDS=str(NOTEBOOK_SECONDS), PYTHONUNBUFFERED="1",
           PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))


def _load_attacks():
    spec = importlib.util.spec_from_file_location("jail_attacks", Path(__file__).with_name("jail") / "attacks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


attacks = _load_attacks()
ATTACKERS = sorted(attacks.ATTACKS)
STUDENTS = sorted(HONEST + OLD_ADVERSARIAL + ATTACKERS)
ROUTES = [s for s in ATTACKERS if s.startswith("attack_08_")]
#: per test cell, the most an attacker may earn: their honest work. Attack 7's honest work is the
#: literal softmax (it only looks the hidden answers up), which scores 2.54 (see test_grading_e2e)
CAPS = {s: list(FULL) for s in ATTACKERS}
CAPS["attack_07_read_secrets"] = [1.0, 3.0, 2.54]


def _old_expected() -> dict:
    try:
        from test_grading_e2e import EXPECTED
    except ImportError:  # run from another folder: the values of tests/test_grading_e2e.py
        EXPECTED = {"adv_infinite_loop": [1, 3, 0], "adv_os_exit": [1, 3, 0], "adv_memory_bomb": [1, 3, 0],
                    "adv_patched_autograder": [1, 3, 2.54], "adv_patched_allclose": [1, 3, 2.54],
                    "adv_calls_reference": [1, 3, 0], "adv_calls_torch_softmax": [1, 3, 0],
                    "adv_tampered_test_cell": [1, 3, 2.54]}
    return {s: EXPECTED[s] for s in OLD_ADVERSARIAL}


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def _run(cmd, cwd, timeout, env=None):
    """Run ``cmd`` in its own session; on timeout kill the whole session. Returns a dict."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env or ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        timed_out = True
    return {"rc": proc.returncode, "stdout": out, "stderr": err, "seconds": time.monotonic() - started,
            "timed_out": timed_out}


def _cli(root, *args, timeout=1800):
    return _run([sys.executable, "-m", "autograder", "--root", str(root), *args], root, timeout)


def _marked_processes() -> list:
    """(pid, command line) of every process on the machine that carries this run's marker."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if MARKER.encode() in cmd:
            found.append((int(entry.name), cmd.replace(b"\0", b" ").decode("utf-8", "replace")[:300]))
    return found


def _kill_marked() -> None:
    for pid, _ in _marked_processes():
        try:
            if MARKER.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _survivors() -> list:
    """Attack processes alive a few seconds after grading ended (then killed, so the next run starts clean)."""
    time.sleep(3)
    alive = _marked_processes()
    _kill_marked()
    return alive


GRADING_OUTPUTS = {"autograded", "feedback", ".autograder", "grading-logs"}


def _hash_root(root: Path) -> dict:
    """relative path -> (sha256, mode) of every file of a course root, except what grading writes."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] in GRADING_OUTPUTS or "__pycache__" in rel.parts or rel.name.startswith("gradebook.db") \
                or rel.name == ".nbgrader.log":
            continue
        if path.is_symlink():
            out[str(rel)] = ("symlink", os.readlink(path))
        elif path.is_file():
            out[str(rel)] = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mode)
        elif path.is_dir():
            out[str(rel) + "/"] = ("dir", path.stat().st_mode)
    return out


def _library_sources() -> dict:
    """path -> sha256 of the repository's ``course`` and ``autograder`` files (not byte code)."""
    out = {}
    for pkg in ("course", "autograder"):
        for path in sorted((REPO / pkg).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _places_an_attack_may_plant() -> list:
    places = [REPO / "course", REPO / "autograder", Path(sysconfig.get_paths()["purelib"]),
              Path(sysconfig.get_paths()["platlib"]), Path("/tmp"), Path.home()]
    places += sorted(Path("/tmp").glob("nn-course-lib-*/*/course"))
    places += sorted(Path("/tmp").glob("nn-course-lib-*/*/autograder"))
    return places


def _planted() -> list:
    """Files named after the marker, where attack 4 tries to plant them (outside the jail)."""
    found = []
    for place in _places_an_attack_may_plant():
        for sub in (place, place / "__pycache__"):
            try:
                found += [str(p) for p in sub.iterdir() if MARKER in p.name]
            except OSError:
                pass
    return sorted(set(found))


def _tampered() -> list:
    """Files of the repository and of the jail's library copy that carry the marker (attack 4's comment)."""
    found = []
    roots = [REPO / "course", REPO / "autograder"] + sorted(Path("/tmp").glob("nn-course-lib-*"))
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and path.suffix in (".py", ".pyc"):
                try:
                    if MARKER.encode() in path.read_bytes():
                        found.append(str(path))
                except OSError:
                    pass
    return found


def _clean_up_attacks() -> None:
    """Whatever an attack left outside the jail (if it got out): processes, planted files, comments."""
    _kill_marked()
    for path in _planted():
        try:
            Path(path).unlink()
        except OSError:
            pass
    for path in _tampered():
        p = Path(path)
        try:
            p.write_bytes(p.read_bytes().replace(f"\n# {MARKER} tampered\n".encode(), b""))
        except OSError:
            pass


def _grades(root: Path) -> dict:
    """student -> {cell: (score, auto_score, manual_score, needs_manual_grade)} from the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    out = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE_ID) as gb:
        for student in gb.students:
            try:
                sub = gb.find_submission(ASSIGNMENT, student.id)
            except MissingEntry:
                continue
            out[student.id] = {g.name: (g.score, g.auto_score, g.manual_score, g.needs_manual_grade)
                               for nb in sub.notebooks for g in nb.grades}
    return out


def _manual_scores(root: Path) -> list:
    con = sqlite3.connect(f"file:{root / 'gradebook.db'}?mode=ro", uri=True)
    try:
        return con.execute(
            "SELECT sa.student_id, bc.name, g.manual_score FROM grade g JOIN base_cell bc ON g.cell_id = bc.id "
            "JOIN submitted_notebook sn ON g.notebook_id = sn.id JOIN submitted_assignment sa "
            "ON sn.assignment_id = sa.id WHERE g.manual_score IS NOT NULL").fetchall()
    finally:
        con.close()


def _graded_notebook(root: Path, student: str) -> Path:
    return root / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


def _outputs_text(path: Path) -> str:
    """Everything a graded notebook's code cells show (stream text, errors, text/plain and HTML)."""
    nb = json.loads(path.read_text())
    texts = []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            for key in ("text", "evalue"):
                value = out.get(key, "")
                texts.append("".join(value) if isinstance(value, list) else str(value))
            for value in (out.get("data") or {}).values():
                texts.append("".join(value) if isinstance(value, list) else str(value))
    return "\n".join(texts)


# ---------------------------------------------------------------------------
# the class, built and graded once
# ---------------------------------------------------------------------------

def _build_class(cli_root: Path, plain_root: Path, outside: Path) -> None:
    source = nbformat.read(REPO / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    release = nbformat.read(cli_root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    full = make_submission(release, source)
    notebooks = {s: full for s in HONEST}
    notebooks.update({s: make_submission(release, source, s) for s in OLD_ADVERSARIAL})
    for student in ATTACKERS:
        ctx = {"marker": MARKER, "student": student, "victims": HONEST,
               "roots": [str(cli_root), str(plain_root)], "outside": str(outside), "repo": str(REPO),
               "assignment": ASSIGNMENT, "cell_timeout": CELL_TIMEOUT, "time_limit": TIME_LIMIT}
        notebooks[student] = attacks.build(full, attacks.ATTACKS[student](ctx))
    for root in (cli_root, plain_root):
        for student, nb in notebooks.items():
            dest = root / "submitted" / student / ASSIGNMENT
            dest.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, dest / f"{ASSIGNMENT}.ipynb")


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    started = time.monotonic()
    base = tmp_path_factory.mktemp("hostile")
    cli_root, plain_root, outside = base / "course-cli", base / "course-plain", base / "outside"
    outside.mkdir()
    try:
        for root in (cli_root, plain_root):
            shutil.copytree(REPO / "solutions", root / "solutions")
            write_secret(root, secret())  # the tests' fixed secret: the old adversarial set's exact scores
        gen = _cli(cli_root, "generate", ASSIGNMENT, timeout=600)
        assert gen["rc"] == 0, gen["stderr"][-3000:]
        (plain_root / "nbgrader_config.py").write_text(
            "from autograder.config import configure\nconfigure(get_config())\n")
        gen = _run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT], plain_root, 600)
        assert gen["rc"] == 0, gen["stderr"][-3000:]
        _build_class(cli_root, plain_root, outside)

        before = {"cli": _hash_root(cli_root), "plain": _hash_root(plain_root), "library": _library_sources(),
                  "planted": _planted(), "tampered": _tampered()}
        cli_run = _cli(cli_root, "grade", ASSIGNMENT, "--jobs", "2", "--no-progress")
        cli_survivors = _survivors()
        # warm kernels (forked by the jail's server, as grade's workers use them) keep the run short;
        # test_grading_e2e runs plain nbgrader with fresh kernels
        plain_run = _run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT], plain_root, 2400,
                         env=dict(ENV, AUTOGRADER_FAST_KERNELS="1"))
        plain_survivors = _survivors()
        feedback = _cli(cli_root, "feedback", ASSIGNMENT, "--student", "attack_09_print_flood", "--student",
                        "attack_11_zero_answers", "--student", HONEST[0], timeout=600)
        after = {"cli": _hash_root(cli_root), "plain": _hash_root(plain_root), "library": _library_sources(),
                 "planted": _planted(), "tampered": _tampered()}
        yield {"cli_root": cli_root, "plain_root": plain_root, "outside": outside, "cli": cli_run,
               "plain": plain_run, "feedback": feedback, "survivors": {"cli": cli_survivors,
                                                                        "plain": plain_survivors},
               "before": before, "after": after, "seconds": time.monotonic() - started}
    finally:
        _clean_up_attacks()


def _roots(h):
    return {"cli": h["cli_root"], "plain": h["plain_root"]}


# ---------------------------------------------------------------------------
# the assertions
# ---------------------------------------------------------------------------

def test_every_notebook_is_graded_by_the_cli_and_by_plain_nbgrader(hostile_class):
    h = hostile_class
    cli = h["cli"]
    assert not cli["timed_out"], "the CLI's grading did not finish"
    assert f"graded {len(STUDENTS)} of {len(STUDENTS)}" in cli["stdout"], cli["stdout"] + cli["stderr"][-3000:]
    assert cli["rc"] == 0, cli["stdout"]
    plain = h["plain"]
    assert not plain["timed_out"], "plain nbgrader autograde did not finish"
    assert plain["rc"] == 0, plain["stderr"][-5000:]
    for name, root in _roots(h).items():
        grades = _grades(root)
        missing = [s for s in STUDENTS if s not in grades
                   or any(c not in grades[s] or grades[s][c][1] is None for c in CELLS)]
        assert not missing, f"{name}: not graded: {missing}"
        assert all(_graded_notebook(root, s).is_file() for s in STUDENTS), name


def test_every_honest_student_keeps_every_point(hostile_class):
    wrong = []
    for name, root in _roots(hostile_class).items():
        grades = _grades(root)
        for student in HONEST:
            have = [grades.get(student, {}).get(c, (None,))[0] for c in CELLS]
            if have != pytest.approx(FULL, abs=1e-9):
                wrong.append(f"{name}: {student} got {have}, expected {FULL}")
    assert not wrong, "\n".join(wrong)


def test_no_attacker_earns_more_than_their_honest_work(hostile_class):
    wrong = []
    for name, root in _roots(hostile_class).items():
        grades = _grades(root)
        for student in ATTACKERS:
            g = grades.get(student, {})
            have = [g.get(c, (0.0,))[0] or 0.0 for c in CELLS]
            caps = CAPS[student]
            over = [f"{c} {v:g} > {cap:g}" for c, v, cap in zip(CELLS, have, caps) if v > cap + 1e-9]
            if over or sum(have) > sum(FULL) + 1e-9:
                wrong.append(f"{name}: {student} got {have} (at most {caps}): {', '.join(over)}")
            if student in ROUTES:  # a forbidden route scores 0 on softmax, or is flagged for a person
                score, _, _, review = g.get("test-softmax", (0.0, None, None, False))
                if (score or 0.0) > 0 and not review:
                    wrong.append(f"{name}: {student} used a forbidden route and scored {score:g} on "
                                 "test-softmax without being flagged for manual review")
    assert not wrong, "\n".join(wrong)


def test_the_old_adversarial_set_keeps_its_scores(hostile_class):
    expected = _old_expected()
    cuda = torch.cuda.is_available()
    wrong = []
    for name, root in _roots(hostile_class).items():
        grades = _grades(root)
        for student, want in expected.items():
            have = [grades.get(student, {}).get(c, (None,))[0] for c in CELLS]
            if cuda:  # with a GPU, 'auto' and 'cuda' expect other answers (as in test_grading_e2e)
                have, want = have[1:], want[1:]
            if have != pytest.approx(want, abs=1e-9):
                wrong.append(f"{name}: {student} got {have}, expected {want}")
    assert not wrong, "\n".join(wrong)


def test_nobody_has_a_manual_score(hostile_class):
    for name, root in _roots(hostile_class).items():
        assert _manual_scores(root) == [], name


def test_no_file_outside_the_jail_changes(hostile_class):
    h = hostile_class
    before, after = h["before"], h["after"]
    for name in ("cli", "plain"):
        changed = sorted(k for k in set(before[name]) | set(after[name]) if before[name].get(k) != after[name].get(k))
        assert not changed, f"{name} course root changed outside what grading writes: {changed[:20]}"
    assert after["planted"] == [], f"files planted by attack 4: {after['planted']}"
    assert after["tampered"] == [], f"library files edited by attack 4: {after['tampered']}"
    assert sorted(p.name for p in h["outside"].iterdir()) == [], "an attack wrote outside both course roots"
    # (editing the repository while this test runs makes it fail here: run it on a tree nobody edits)
    edited = sorted(p for p in set(before["library"]) | set(after["library"])
                    if before["library"].get(p) != after["library"].get(p))
    assert edited == [], f"the repository's library changed during grading: {edited}"


def test_no_attack_process_survives_grading(hostile_class):
    assert hostile_class["survivors"] == {"cli": [], "plain": []}


def test_the_attacks_ran_and_none_reports_an_escape(hostile_class):
    with_cells = [s for s in ATTACKERS if attacks.ATTACKS[s]({"marker": MARKER, "student": s, "victims": [],
                                                               "roots": [], "outside": "", "repo": "",
                                                               "assignment": ASSIGNMENT, "cell_timeout": 1,
                                                               "time_limit": 1}).get("cell")]
    problems = []
    for name, root in _roots(hostile_class).items():
        for student in ATTACKERS:
            path = _graded_notebook(root, student)
            if not path.is_file():
                problems.append(f"{name}: {student}: no graded notebook")
                continue
            text = _outputs_text(path)
            if student in with_cells and "ATTACK-RAN" not in text:
                problems.append(f"{name}: {student}: the attack cell did not run")
            for line in text.splitlines():
                if line.startswith(("ESCAPED:", "LEAK-FOUND")):
                    problems.append(f"{name}: {student}: {line[:300]}")
            if "Model answer" in text or "SQLite format 3" in text:
                problems.append(f"{name}: {student}: the instructor's files reached the output")
    assert not problems, "\n".join(problems)


def test_output_floods_stay_small_with_a_visible_note(hostile_class):
    h = hostile_class
    for name, root in _roots(h).items():
        big = {s: _graded_notebook(root, s).stat().st_size for s in STUDENTS
               if _graded_notebook(root, s).is_file() and _graded_notebook(root, s).stat().st_size >= MAX_NOTEBOOK_BYTES}
        assert not big, f"{name}: graded notebooks of 5 MB or more: {big}"
        flood = _outputs_text(_graded_notebook(root, "attack_09_print_flood"))
        assert "output truncated" in flood, name
    assert h["feedback"]["rc"] == 0, h["feedback"]["stderr"][-3000:]
    page = h["cli_root"] / "feedback" / "attack_09_print_flood" / ASSIGNMENT / f"{ASSIGNMENT}.html"
    assert page.stat().st_size < MAX_NOTEBOOK_BYTES
    assert "output truncated" in page.read_text()


def test_hidden_case_feedback_shows_relative_errors_only(hostile_class):
    page = hostile_class["cli_root"] / "feedback" / "attack_11_zero_answers" / ASSIGNMENT / f"{ASSIGNMENT}.html"
    lines = [ln for ln in page.read_text().splitlines() if re.match(r"\s*(FAIL|PART) \[hidden\]", ln)]
    assert len(lines) >= 12, "the all-zero answers fail every hidden case of neuron and softmax"
    assert all("rel error" in ln and "abs error" not in ln for ln in lines), "\n".join(lines[:10])


def test_the_run_finishes_within_its_bound(hostile_class):
    h = hostile_class
    seconds = {"total": round(h["seconds"]), "cli": round(h["cli"]["seconds"]), "plain": round(h["plain"]["seconds"])}
    print(f"hostile class of {len(STUDENTS)} notebooks: {seconds} s")
    assert h["seconds"] < WALL_BOUND_S, seconds


"""What stops each attack (the jail is autograder/jail.py; the judge autograder/sandbox.py):

====  ==========================================  ==========================================================
 #    attack                                      what stops it
====  ==========================================  ==========================================================
 1    detached process (Popen new session,        own PID namespace: the server sweeps every process after
      double fork + setsid, setsid -f) that       each task and notebook; everything dies with the grading
      rewrites gradebook.db after grading         process (--die-with-parent); the course root is not mounted
 2    kernel sets its own manual_score            the course root (gradebook.db) is not in the jail
 3    kernel blanks later students' submitted/    the course root (submitted/, release/) is not in the jail
 4    kernel edits course/activations.py,         the library is a read-only, byte-code-only copy; /usr, the
      nbgrader_ext.py, plants .pth/.py/.pyc       venv and the library cache are read-only binds; /tmp is
                                                  private; the repository is not mounted
 5    kill graders by name / by /proc scan;       own PID namespace: no grading process is in sight; a killed
      SIGSTOP the parent from a sandbox child     or stopped jail server is replaced (sweep deadline), its
                                                  kernel restarted; `grade` replaces dead or stalled workers
 6    length header and no message; 1 GiB         judge reads have deadlines and size bounds (Reader,
      stream; 1 GiB result                        MessageTooLarge, result_bound): the task times out/crashes
 7    read solutions/, gradebook, submissions,    the course root and the secret are not in the jail; the
      the secret; hard-code hidden answers        kernel's environment has no AUTOGRADER_SECRET_FILE and
                                                  /proc shows jail processes only, so cases("hidden") fails
 8    from-scratch bypasses (sys.modules,         sandbox tripwires, hidden imports, the audit hook and the
      reload, __import__, exec of the reference,  dispatcher watch (autograder/scratch.py): 0 on the task;
      log_softmax, aten, _VariableFunctions)      reflection it cannot block is flagged for manual review
 9    100 MB of output; sleeping just under       per-cell (100k chars) and per-notebook output caps with a
      every limit                                 "truncated" note; the notebook's time budget (executing
                                                  stops at half of it), per-statement budgets in the judge
 10   duplicated test cell, renamed grade id,     RepairCells (autograder/repair.py) before nbgrader's
      extra grade cells                           sanitize steps; test cells restored from the source
 11   all-zero answers to read expected values    hidden cases report relative errors only (compare.py)
====  ==========================================  ==========================================================
"""
