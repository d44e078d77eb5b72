"""The instructor's commands, each a thin layer over nbgrader.

    python -m autograder generate 00-setup           # release/00-setup: the student version
    python -m autograder collect 00-setup inbox.zip  # submissions -> submitted/<student>/00-setup/
    python -m autograder grade 00-setup --jobs 2     # autograde in parallel, resumable
    python -m autograder feedback 00-setup           # feedback/<student>/00-setup/*.html (--only-complete)
    python -m autograder export --to grades.csv      # one row per student and assignment
    python -m autograder similarity 00-setup         # near-copies of the course or of each other (no scores)
    python -m autograder lab                         # the student's door: JupyterLab in workspace/
    python -m autograder instructor                  # the instructor's door: JupyterLab + Formgrader
    python -m autograder bundle                      # what students get, without solutions or hidden cases
    python -m autograder nbgrader <args...>          # any other nbgrader command, same config

Every command works on the course folder given by ``--root`` (default: the
current folder), which holds ``solutions/`` and receives ``release/``,
``submitted/``, ``autograded/``, ``feedback/`` and ``gradebook.db``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

__all__ = ["main", "make_api", "collect", "grade"]


class CLIError(Exception):
    """A problem the instructor can fix; printed without a traceback."""


def _ensure_path() -> None:
    # nbgrader runs `alembic` from PATH to set up the gradebook
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def make_api(root):
    """An ``NbGraderAPI`` configured for the course at ``root``."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    from .config import configure

    _ensure_path()
    c = Config()
    configure(c, root)
    return NbGraderAPI(coursedir=CourseDirectory(config=c), config=c)


def _root(args) -> Path:
    root = Path(args.root).resolve()
    if not (root / "solutions").is_dir():
        raise CLIError(f"{root} has no solutions/ folder - help: run from the course repository or pass --root")
    return root


def _check_assignment(root: Path, assignment: str) -> Path:
    src = root / "solutions" / assignment
    if not src.is_dir():
        known = sorted(p.name for p in (root / "solutions").iterdir() if p.is_dir())
        raise CLIError(f"no assignment {assignment!r} in {root / 'solutions'}; known: {', '.join(known) or 'none'}")
    return src


def _report(result: dict, what: str) -> None:
    if not result.get("success"):
        log = (result.get("log") or "").strip().splitlines()[-15:]
        raise CLIError(f"{what} failed:\n" + "\n".join(log + [(result.get("error") or "").strip()]))


# ---------------------------------------------------------------------------
# generate
# ---------------------------------------------------------------------------

def generate(root: Path, assignment: str) -> Path:
    """Write the student version to ``release/<assignment>``; keep a backup of a release it changes."""
    from .doors import backup, is_workspace, same_tree
    from .secret import ensure_secret

    out = root / "release" / assignment
    if is_workspace(out):
        raise CLIError(f"{out} is a student's workspace: generate never writes into one - help: students work "
                       f"in {root / 'workspace'} (make lab); move that folder out of release/")
    ensure_secret(root)  # the course's secret, which hidden cases are drawn from: made on the first generate
    with tempfile.TemporaryDirectory() as tmp:
        old = None
        if out.is_dir() and any(out.iterdir()):
            old = Path(tmp) / "old"
            shutil.copytree(out, old)
        api = make_api(root)
        _report(api.generate_assignment(assignment, force=True, create=True), "generate_assignment")
        if old is not None and not same_tree(old, out):
            kept = backup(root, old, f"release/{assignment}")
            print(f"release/{assignment} held files that differ from the new student version; the old files "
                  f"are kept in {kept}")
    return out


def cmd_generate(args) -> int:
    root = _root(args)
    _check_assignment(root, args.assignment)
    out = generate(root, args.assignment)
    print(f"student version written to {out} ({', '.join(p.name for p in sorted(out.glob('*.ipynb')))})")
    return 0


# ---------------------------------------------------------------------------
# collect
# ---------------------------------------------------------------------------

def _release_notebooks(root: Path, assignment: str) -> dict:
    """name -> release notebook (generate first if needed)."""
    rel = root / "release" / assignment
    if not rel.is_dir():
        raise CLIError(f"no release version of {assignment!r} yet - help: run `python -m autograder generate "
                       f"{assignment}` first")
    return {p.stem: p for p in sorted(rel.glob("*.ipynb"))}


def _student_id(name: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name.strip())
    return keep.strip("._") or "unnamed"


def _gather(source: Path, workdir: Path, assignment: str) -> dict:
    """student -> notebook paths, from a folder or a zip file of submissions.

    Layouts: ``alice.ipynb``; ``alice/<any name>.ipynb``; nbgrader's
    ``alice/<assignment>/<notebook>.ipynb``; any of these inside one common
    top folder (as zip files often are).
    """
    if source.is_file() and zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as zf:
            for member in zf.infolist():
                target = (workdir / member.filename).resolve()
                if not str(target).startswith(str(workdir.resolve())):
                    raise CLIError(f"{source}: unsafe path {member.filename!r} in the zip file")
            zf.extractall(workdir)
        source = workdir
    elif not source.is_dir():
        raise CLIError(f"{source} is neither a folder nor a zip file of notebooks")
    paths = [p for p in sorted(source.rglob("*.ipynb"))
             if not any(part.startswith(".") or part == "__MACOSX" for part in p.relative_to(source).parts)]
    rels = [p.relative_to(source).parts for p in paths]
    # strip folders every submission sits in (e.g. the zip's top folder)
    def student_level(rs):  # already <student>/<file> or nbgrader's <student>/<assignment>/<file>
        return any(len(r) == 3 and r[1] == assignment for r in rs) or (len(rs) == 1 and len(rs[0]) == 2)

    while rels and all(len(r) > 1 for r in rels) and len({r[0] for r in rels}) == 1 and not student_level(rels):
        rels = [r[1:] for r in rels]
    found: dict = {}
    for path, parts in zip(paths, rels):
        if len(parts) == 1:
            student = Path(parts[0]).stem  # alice.ipynb
        elif len(parts) >= 3 and parts[-2] == assignment:
            student = parts[-3]  # alice/00-setup/00-setup.ipynb
        else:
            student = parts[0]  # alice/whatever.ipynb
        found.setdefault(_student_id(student), []).append(path)
    return found


def _match_notebook(path: Path, names: list) -> str | None:
    if path.stem in names:
        return path.stem
    if len(names) == 1:
        return names[0]
    import difflib

    best = difflib.get_close_matches(path.stem, names, n=1, cutoff=0.3)
    return best[0] if best else None


def _repair(nb, release_nb, notes: list) -> None:
    """Put back graded cells the student deleted; restore the kernel spec."""
    have = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
    for pos, cell in enumerate(release_nb.cells):
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if not gid or gid in have:
            continue
        # insert after the nearest earlier release cell that the student still has
        anchor = None
        for prev in reversed(release_nb.cells[:pos]):
            pid = prev.metadata.get("nbgrader", {}).get("grade_id")
            if pid in have:
                anchor = pid
                break
        index = 0
        if anchor is not None:
            index = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == anchor) + 1
        nb.cells.insert(index, cell)
        have.add(gid)
        notes.append(f"cell {gid!r} was missing; put back from the release version")
    spec = nb.metadata.get("kernelspec", {}).get("name")
    want = release_nb.metadata.get("kernelspec", {}).get("name")
    if spec != want:
        nb.metadata["kernelspec"] = release_nb.metadata.get("kernelspec", {})
        notes.append(f"kernel spec {spec!r} replaced by the course's {want!r}")


def collect(root: Path, assignment: str, source: Path) -> list:
    """Copy submissions into ``submitted/``; return one report line per student.

    Nothing is lost: a file that is not a valid notebook is kept, byte for
    byte, in ``rejected/<assignment>/<student>/`` and reported; a renamed
    notebook is matched to the assignment's notebook; deleted graded cells are
    put back from the release version and a changed kernel spec is restored,
    each with a note.
    """
    import nbformat

    from .doors import backup

    releases = _release_notebooks(root, assignment)
    names = list(releases)
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        found = _gather(source, Path(tmp), assignment)
        if not found:
            raise CLIError(f"no .ipynb files found in {source}")
        for student, paths in sorted(found.items()):
            dest = root / "submitted" / student / assignment
            notes = []
            written = []
            for path in paths:
                raw = path.read_bytes()
                try:
                    nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
                    nbformat.validate(nb)
                except Exception as exc:  # noqa: BLE001 - any parse failure is reported the same way
                    keep = root / "rejected" / assignment / student / path.name
                    keep.parent.mkdir(parents=True, exist_ok=True)
                    keep.write_bytes(raw)
                    reason = str(exc).splitlines()[0][:160]
                    notes.append(f"{path.name} is not a valid notebook ({reason}); kept unchanged in "
                                 f"{keep.relative_to(root)}")
                    continue
                name = _match_notebook(path, names)
                if name is None:
                    notes.append(f"{path.name}: does not match any notebook of {assignment} ({', '.join(names)}); "
                                 "skipped")
                    continue
                if path.stem != name and _student_id(path.stem) != student:  # alice.ipynb is no renaming
                    notes.append(f"{path.name} renamed to {name}.ipynb")
                _repair(nb, nbformat.read(releases[name], as_version=4), notes)
                dest.mkdir(parents=True, exist_ok=True)
                target = dest / f"{name}.ipynb"
                if target.exists() and target.read_bytes() != nbformat.writes(nb).encode("utf-8") + b"\n":
                    kept = backup(root, target, f"submitted/{assignment}")
                    notes.append(f"replaced the {name}.ipynb collected before; the old one is kept in "
                                 f"{kept.relative_to(root)}")
                nbformat.write(nb, target)
                written.append(name)
            if written:
                stamp = dest / "timestamp.txt"
                if not stamp.exists():
                    stamp.write_text(time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()))
            else:
                notes.append("NOT COLLECTED: no valid notebook for this student - ask for a new submission, "
                             "then run collect again")
            status = "ok" if written and not notes else ("collected with notes" if written else "NOT COLLECTED")
            lines.append(f"{student}: {status}" + "".join(f"\n    - {n}" for n in notes))
    return lines


def cmd_collect(args) -> int:
    root = _root(args)
    _check_assignment(root, args.assignment)
    source = Path(args.source).expanduser().resolve()
    if not source.exists():
        raise CLIError(f"{source} does not exist")
    lines = collect(root, args.assignment, source)
    print(f"collected {len(lines)} submission(s) of {args.assignment} into {root / 'submitted'}:")
    print("\n".join("  " + line for line in lines))
    return 0


# ---------------------------------------------------------------------------
# grade (parallel, resumable)
# ---------------------------------------------------------------------------

def _submission_hash(root: Path, student: str, assignment: str) -> str:
    digest = hashlib.sha256()
    folder = root / "submitted" / student / assignment
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _state_path(root: Path, assignment: str) -> Path:
    return root / "autograded" / f".{assignment}.graded.json"


def _load_state(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _save_state(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
    os.replace(tmp, path)


def grade(root: Path, assignment: str, students=None, jobs: int = 1, force: bool = False,
          progress: bool = True, sandbox: bool = True, log_path: Path | None = None) -> dict:
    """Autograde every submission (or ``students``); return student -> (ok, message).

    Work is shared by ``jobs`` worker processes, each running nbgrader's own
    autograde for one student at a time (same gradebook, same scores as
    ``nbgrader autograde``). A state file records each graded submission's
    content hash, so an interrupted run resumes where it stopped; ``force``
    grades everything again. Manual grades and comments stay in the gradebook.
    Student code runs in the grading jail (:mod:`autograder.jail`); ``sandbox=False``
    runs it unjailed (the instructor's explicit ``--no-sandbox``). A worker that dies or
    stalls costs its notebook only: it is replaced and the rest is graded. ``log_path``:
    where the workers' own output goes (nbgrader's log, library warnings); by default
    it is not redirected.
    """
    submitted = root / "submitted"
    all_students = sorted(p.name for p in submitted.iterdir() if (p / assignment).is_dir()) \
        if submitted.is_dir() else []
    if students:
        missing = sorted(set(students) - set(all_students))
        if missing:
            raise CLIError(f"no submission of {assignment} for: {', '.join(missing)}")
        all_students = sorted(students)
    if not all_students:
        raise CLIError(f"no submissions of {assignment} in {submitted} - help: run `collect` first")
    state_file = _state_path(root, assignment)
    state = {} if force else _load_state(state_file)
    hashes = {s: _submission_hash(root, s, assignment) for s in all_students}
    todo = [s for s in all_students if state.get(s) != hashes[s]
            or not (root / "autograded" / s / assignment).is_dir()]
    results = {s: (True, "already graded (unchanged)") for s in all_students if s not in todo}
    if not todo:
        return results
    _ensure_gradebook(root, assignment)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc=f"grading {assignment}", unit="notebook")
    jobs = max(1, min(jobs, len(todo)))
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if not sandbox:
        env["AUTOGRADER_NO_SANDBOX"] = "1"
    limit = _notebook_wall_limit()

    log = None
    if log_path is not None:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        log = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 - closed at the end of the run

    def start_worker():
        return subprocess.Popen([sys.executable, "-m", "autograder.worker", str(root), assignment],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, env=env)

    import selectors

    sel = selectors.DefaultSelector()
    queue = list(todo)
    busy: dict = {}  # worker -> (student, started)
    workers: list = []
    replacements = 2 * jobs + len(todo)  # a worker that dies is replaced, within reason

    def give(w) -> None:
        if queue:
            student = queue.pop(0)
            busy[w] = (student, time.monotonic())
            try:
                w.stdin.write(student + "\n")
                w.stdin.flush()
            except OSError:
                pass

    def add_worker() -> None:
        w = start_worker()
        workers.append(w)
        sel.register(w.stdout, selectors.EVENT_READ, w)
        give(w)

    def retire(w, why: str) -> None:
        nonlocal replacements
        try:
            sel.unregister(w.stdout)
        except (KeyError, ValueError):
            pass
        student, _ = busy.pop(w, (None, 0))
        if w.poll() is None:
            w.kill()
        if student:
            results[student] = (False, why)
            if bar is not None:
                bar.update(1)
        if queue and replacements > 0:
            replacements -= 1
            add_worker()

    try:
        for _ in range(jobs):
            add_worker()
        while busy:
            for key, _ in sel.select(timeout=2.0):
                w = key.data
                line = w.stdout.readline()
                if not line:  # the worker died: record, and start another for the rest
                    retire(w, "grading worker died")
                    continue
                try:
                    reply = json.loads(line)
                    assert isinstance(reply, dict)
                except (ValueError, AssertionError):
                    retire(w, "grading worker sent an unreadable reply")
                    continue
                name, _ = busy.pop(w, (None, 0))
                if name is None:
                    continue
                results[name] = (bool(reply.get("success")), str(reply.get("message", "")))
                if reply.get("success"):
                    state[name] = hashes[name]
                    _save_state(state_file, state)
                if bar is not None:
                    bar.update(1)
                give(w)
            now = time.monotonic()
            for w, (student, started) in list(busy.items()):
                if now - started > limit:  # a notebook that stalls its worker costs that notebook only
                    retire(w, f"grading took longer than {limit:g} s (stopped)")
    finally:
        for w in workers:
            try:
                w.stdin.close()
            except OSError:
                pass
        for w in workers:
            try:
                w.wait(timeout=30)
            except subprocess.TimeoutExpired:
                w.kill()
        if bar is not None:
            bar.close()
        if log is not None:
            log.close()
    return results


def _notebook_wall_limit() -> float:
    """Seconds a worker may spend on one submission before it is stopped: the notebook's
    grading budget twice over, plus time to start kernels and write the gradebook."""
    budget = float(os.environ.get("AUTOGRADER_NOTEBOOK_SECONDS", 120))
    return float(os.environ.get("AUTOGRADER_WORKER_SECONDS", 2 * budget + 120))


def _ensure_gradebook(root: Path, assignment: str) -> None:
    """Make sure the assignment is in the gradebook before parallel workers start."""
    from nbgrader.api import Gradebook, MissingEntry

    from .config import COURSE_ID

    _ensure_path()
    db = root / "gradebook.db"
    try:
        with Gradebook(f"sqlite:///{db}", COURSE_ID) as gb:
            gb.find_assignment(assignment)
            return
    except MissingEntry:
        pass
    api = make_api(root)
    _report(api.generate_assignment(assignment, force=True, create=True), "generate_assignment")


def cmd_grade(args) -> int:
    root = _root(args)
    _check_assignment(root, args.assignment)
    from .jail import JailUnavailable, check_available

    if not args.no_sandbox:
        try:
            check_available()
        except JailUnavailable as exc:
            raise CLIError(str(exc)) from None
    log_path = root / "grading-logs" / f"{args.assignment}-{time.strftime('%Y%m%d-%H%M%S')}.log"
    results = grade(root, args.assignment, args.student or None, args.jobs, args.force, not args.no_progress,
                    sandbox=not args.no_sandbox, log_path=log_path)
    failed = {s: m for s, (ok, m) in results.items() if not ok}
    print(f"graded {len(results) - len(failed)} of {len(results)} submission(s) of {args.assignment}")
    for student, message in sorted(failed.items()):
        print(f"  {student}: FAILED - {message}")
    if log_path.exists():
        print(f"nbgrader's log and library warnings of this run: {log_path}")
    waiting = pending_manual(root, args.assignment)
    if waiting:
        print(f"{len(waiting)} submission(s) wait for hand grading ({', '.join(sorted({p for v in waiting.values() for p in v}))}): "
              "Formgrader -> Manual Grading (make instructor)")
    if not failed:
        print("next: python -m autograder feedback " + args.assignment)
    return 1 if failed else 0


# ---------------------------------------------------------------------------
# feedback and export
# ---------------------------------------------------------------------------

def _waiting_parts(submission) -> list:
    """The grade cells of a gradebook submission that still wait for a person."""
    return [grade.name for nb in submission.notebooks for grade in nb.grades if grade.needs_manual_grade]


def pending_manual(root: Path, assignment: str) -> dict:
    """student -> the names of the parts of ``assignment`` that still wait for a hand grade."""
    from nbgrader.api import Gradebook, MissingEntry

    from .config import COURSE_ID

    waiting = {}
    db = root / "gradebook.db"
    if not db.exists():
        return waiting
    with Gradebook(f"sqlite:///{db}", COURSE_ID) as gb:
        try:
            subs = gb.assignment_submissions(assignment)
        except MissingEntry:
            return waiting
        for sub in subs:
            parts = _waiting_parts(sub)
            if parts:
                waiting[sub.student.id] = parts
    return waiting


def cmd_feedback(args) -> int:
    root = _root(args)
    _check_assignment(root, args.assignment)
    api = make_api(root)
    graded_dir = root / "autograded"
    graded = sorted(p.name for p in graded_dir.iterdir() if (p / args.assignment).is_dir()) \
        if graded_dir.is_dir() else []
    students = args.student or graded
    if not students:
        raise CLIError(f"nothing graded for {args.assignment} yet - help: run `grade` first")
    held = {}
    if args.only_complete:
        waiting = pending_manual(root, args.assignment)
        held = {s: waiting[s] for s in students if s in waiting}
        students = [s for s in students if s not in held]
    for student in students:
        _report(api.generate_feedback(args.assignment, student, force=True), f"feedback for {student}")
    print(f"feedback for {len(students)} student(s) in {root / 'feedback'}/<student>/{args.assignment}/")
    if held:
        print(f"held back for {len(held)} student(s) whose hand grading is not finished (grade them in the "
              "Formgrader, then run feedback again):")
        for student, parts in sorted(held.items()):
            print(f"  {student}: {', '.join(parts)}")
    return 0


def export_csv(root: Path, dest: Path) -> Path:
    """One row per student and assignment: scores rounded to the points' precision (0.01), and
    whether the grade is final or still waits for a hand-graded part."""
    import csv

    from nbgrader.api import Gradebook, MissingEntry

    from .config import COURSE_ID

    if not (root / "gradebook.db").exists():
        raise CLIError(f"no gradebook in {root} yet - help: run `generate` and `grade` first")
    columns = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
               "raw_score", "late_submission_penalty", "score", "max_score", "status", "pending"]
    rows = []
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE_ID) as gb:
        for assignment in gb.assignments:
            for student in gb.students:
                row = {"assignment": assignment.name, "duedate": assignment.duedate or "",
                       "student_id": student.id, "last_name": student.last_name or "",
                       "first_name": student.first_name or "", "email": student.email or "",
                       "max_score": _points(assignment.max_score)}
                try:
                    sub = gb.find_submission(assignment.name, student.id)
                except MissingEntry:
                    row.update(timestamp="", raw_score="", late_submission_penalty="", score="",
                               status="missing", pending="")
                else:
                    waiting = _waiting_parts(sub)
                    penalty = sub.late_submission_penalty or 0.0
                    row.update(timestamp=sub.timestamp or "", raw_score=_points(sub.score),
                               late_submission_penalty=_points(penalty), score=_points(sub.score - penalty),
                               status="pending manual grading" if waiting else "final",
                               pending=" ".join(waiting))
                rows.append(row)
    with open(dest, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        writer.writerows(rows)
    return dest


def _points(x) -> str:
    from .feedback import points_text  # one rule for the CSV and the feedback pages

    return points_text(x)


def cmd_export(args) -> int:
    root = _root(args)
    dest = Path(args.to).resolve()
    old = dest.read_bytes() if dest.is_file() else None
    export_csv(root, dest)
    print(f"grades written to {dest}")
    if old is not None and old != dest.read_bytes():  # an edited or older export is kept, not lost
        from .doors import backup

        kept = backup(root, dest, "exports")
        kept.write_bytes(old)
        print(f"the previous {dest.name} differed; it is kept in {kept}")
    with open(dest, encoding="utf-8") as fh:
        pending = sum(1 for line in fh if ",pending manual grading," in line)
    if pending:
        print(f"{pending} grade(s) still wait for hand grading (status column: pending manual grading)")
    return 0


def cmd_similarity(args) -> int:
    from . import similarity

    root = _root(args)
    _check_assignment(root, args.assignment)
    threshold = similarity.DEFAULT_THRESHOLD if args.threshold is None else args.threshold
    if not 0 < threshold <= 1:
        raise CLIError(f"--threshold is a fraction between 0 and 1 (0.5 = 50%), got {threshold}")
    try:
        report = similarity.find_similar(root, args.assignment, threshold=threshold, students=args.student)
    except similarity.NothingToCompare as exc:
        raise CLIError(str(exc)) from None
    print(report.text())
    path = similarity.write_html(report, root / "similarity" / f"{args.assignment}.html")
    print(f"\nreport written to {path}")
    return 0


def cmd_lab(args) -> int:
    """The student's door: JupyterLab in the workspace (see autograder/doors.py)."""
    from .doors import door_command, fill_workspace

    root = _root(args)
    for folder in sorted(p for p in (root / "solutions").iterdir() if p.is_dir()):
        if not (root / "release" / folder.name).is_dir():
            generate(root, folder.name)
    ws, copied = fill_workspace(root)
    for path in copied:
        print(f"copied {path.relative_to(root)} into your workspace")
    print(f"your workspace: {ws} (your notebooks stay here; no course command ever writes over them)")
    return _open_door(root, "student", args)


def cmd_instructor(args) -> int:
    """The instructor's door: JupyterLab at the course root with the Formgrader."""
    root = _root(args)
    print(f"Formgrader: http://{args.ip}:{args.port}/formgrader (also under Nbgrader in JupyterLab's menu)")
    return _open_door(root, "instructor", args)


def _open_door(root: Path, who: str, args) -> int:
    from .doors import door_command

    argv, env, cwd = door_command(root, who, port=args.port, ip=args.ip, browser=not args.no_browser)
    sys.stdout.flush()
    os.chdir(cwd)
    os.execvpe(argv[0], argv, env)  # JupyterLab takes over this process (Ctrl-C stops it)
    return 0  # not reached


def cmd_bundle(args) -> int:
    from .bundle import build_bundle

    root = _root(args)
    for name in args.assignment:
        _check_assignment(root, name)
    dest = Path(args.to).resolve() if args.to else None
    path = build_bundle(root, dest, args.assignment or None)
    print(f"student bundle written to {path} (and {path}.zip): the release notebooks and the course and "
          "autograder packages, without solutions, rubrics, hidden cases or the secret")
    return 0


def rubrics(root: Path, assignments=None) -> str:
    """The grading guide of the source notebooks, as Markdown: every graded part with its points,
    the task a test cell checks, and each hand-graded answer's model answer and rubric (which
    the student versions never contain)."""
    import nbformat

    from .feedback import part_labels

    folders = sorted(p for p in (root / "solutions").iterdir() if p.is_dir()) if (root / "solutions").is_dir() else []
    if assignments:
        unknown = sorted(set(assignments) - {p.name for p in folders})
        if unknown:
            raise CLIError(f"no assignment {unknown[0]!r} in {root / 'solutions'}")
        folders = [p for p in folders if p.name in assignments]
    if not folders:
        raise CLIError(f"{root} has no solutions/ notebooks - help: run this in the course folder")
    out = ["# Grading guide", "", "Generated from the source notebooks in solutions/ by "
           "`python -m autograder rubrics`. For instructors only: it holds model answers.", ""]
    for folder in folders:
        nb = nbformat.read(folder / f"{folder.name}.ipynb", as_version=4)
        labels = part_labels(nb.cells)
        graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
        total = sum(float(c.metadata["nbgrader"].get("points", 0)) for c in graded)
        out += [f"## {folder.name} ({total:g} points)", "", "| part | cell | points | graded |", "|---|---|---|---|"]
        written = []
        for cell in graded:
            meta = cell.metadata["nbgrader"]
            hand = cell.cell_type == "markdown" or meta.get("solution")
            out.append(f"| {labels.get(meta['grade_id'], '')} | `{meta['grade_id']}` | {meta.get('points', 0):g} | "
                       f"{'by hand' if hand else 'automatically'} |")
            if hand:
                body = re.sub(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*$\n?", "", cell.source, flags=re.M).strip()
                written.append((labels.get(meta["grade_id"], meta["grade_id"]), meta.get("points", 0), body))
        out.append("")
        for label, points, body in written:
            out += [f"### {label} ({points:g} points)", "", body, ""]
    return "\n".join(out)


def cmd_rubrics(args) -> int:
    text = rubrics(_root(args), args.assignment)
    if args.to:
        Path(args.to).write_text(text + "\n")
        print(f"wrote the grading guide to {args.to} (it holds model answers: keep it from students)")
    else:
        print(text)
    return 0


def cmd_nbgrader(args) -> int:
    root = _root(args)
    from .config import CONFIG_FILE

    _ensure_path()
    argv = list(args.rest)
    if not argv:
        raise CLIError("give an nbgrader command, e.g. `python -m autograder nbgrader list`")
    app = argv[0]
    cmd = [sys.executable, "-m", "nbgrader", *argv]
    if not (root / "nbgrader_config.py").exists():  # the course root's file points at the same settings
        cmd.append(f"--{_app_class(app)}.config_file={CONFIG_FILE}")
    return subprocess.call(cmd, cwd=root, env=dict(os.environ, COURSE_ROOT=str(root)))


def _app_class(command: str) -> str:
    return "".join(part.capitalize() for part in command.split("_")) + "App"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=".", help="course folder (holds solutions/); default: current folder")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("generate", help="make the student version in release/")
    p.add_argument("assignment")
    p.set_defaults(func=cmd_generate)
    p = sub.add_parser("collect", help="copy submissions (folder or zip of notebooks) into submitted/")
    p.add_argument("assignment")
    p.add_argument("source", help="a folder or .zip: <student>.ipynb, <student>/<any>.ipynb or nbgrader's layout")
    p.set_defaults(func=cmd_collect)
    p = sub.add_parser("grade", help="autograde submissions in parallel (resumes after an interruption)")
    p.add_argument("assignment")
    p.add_argument("--jobs", "-j", type=int, default=max(1, os.cpu_count() or 1), help="parallel workers")
    p.add_argument("--student", action="append", help="grade only this student (repeatable)")
    p.add_argument("--force", action="store_true", help="grade again even if nothing changed")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run student code without the bubblewrap jail (only for submissions you trust)")
    p.set_defaults(func=cmd_grade)
    p = sub.add_parser("feedback", help="HTML feedback per student in feedback/")
    p.add_argument("assignment")
    p.add_argument("--student", action="append", help="only this student (repeatable)")
    p.add_argument("--only-complete", action="store_true",
                   help="skip students whose hand-graded parts are not graded yet (and list them)")
    p.set_defaults(func=cmd_feedback)
    p = sub.add_parser("export", help="grades of every student and assignment as CSV")
    p.add_argument("--to", default="grades.csv", help="CSV file to write (default grades.csv)")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("similarity", help="list submissions that are near-copies of the course or of each other")
    p.add_argument("assignment")
    p.add_argument("--threshold", type=float, help="flag pairs whose overlap reaches this on both sides "
                   "(a fraction; default 0.5)")
    p.add_argument("--student", action="append", help="only pairs with this student (repeatable)")
    p.set_defaults(func=cmd_similarity)
    for name, helptext in (("lab", "the student's door: JupyterLab in workspace/ (make lab)"),
                           ("instructor", "the instructor's door: JupyterLab with the Formgrader (make instructor)")):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--port", type=int, default=8888, help="port (default 8888)")
        p.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        p.add_argument("--no-browser", action="store_true", help="do not open a web browser")
        p.set_defaults(func=cmd_lab if name == "lab" else cmd_instructor)
    p = sub.add_parser("bundle", help="what students get: release notebooks and installable packages, no solutions")
    p.add_argument("assignment", nargs="*", help="assignments to include (default: all)")
    p.add_argument("--to", help="folder to write (default: student-bundle/)")
    p.set_defaults(func=cmd_bundle)
    p = sub.add_parser("rubrics", help="the grading guide: points per part, model answers and rubrics (instructors only)")
    p.add_argument("assignment", nargs="*", help="assignments to include (default: all)")
    p.add_argument("--to", help="write it to this Markdown file instead of printing it")
    p.set_defaults(func=cmd_rubrics)
    p = sub.add_parser("nbgrader", help="run any nbgrader command with the course configuration")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_nbgrader)
    args = parser.parse_args(argv)
    if getattr(args, "jobs", 1) is not None and getattr(args, "jobs", 1) < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    try:
        return args.func(args)
    except CLIError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:
        bundle = not Path(__file__).with_name("nbgrader_ext.py").exists()  # the student bundle has no grader
        if bundle and (exc.name or "").startswith("autograder"):
            print(f"error: `{args.command}` is an instructor's command, and this installation (the student "
                  f"bundle) does not include the grader's modules ({exc}) - help: run it in the course "
                  "repository", file=sys.stderr)
            return 2
        raise
