"""Benchmark: ``grade --jobs N`` against sequential ``nbgrader autograde``.

    python -m autograder.bench            # 40 submissions, 2 jobs
    python -m autograder.bench --quick    # 6 submissions: checks the script, not the speed

Builds a demo class of the pilot assignment in a temporary folder (two copies
of every demo submission except the endless loop, whose 30 s cell timeout
would dominate both runs), grades it once with plain ``nbgrader autograde``
(one process, one notebook after another) and once with ``python -m
autograder grade --jobs N`` on a copy, checks that both gradebooks agree,
and prints the wall-time ratio.

It then measures the grading overhead per notebook: for each submission, the
time nbgrader's autograde takes (in-process, as a grading worker runs it)
minus the time the same notebook takes to execute on its own in a fresh
kernel, and prints the median.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .demo import ASSIGNMENT, VARIANTS, build_class

REPO = Path(__file__).resolve().parents[1]


def _env():
    return dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))


def _run(cmd, cwd):
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - start


def _course(base: Path, name: str, inbox: Path) -> Path:
    root = base / name
    root.mkdir()
    shutil.copytree(REPO / "solutions", root / "solutions")
    if (base / "seed" / ".autograder").is_dir():  # the same hidden cases in both courses
        shutil.copytree(base / "seed" / ".autograder", root / ".autograder")
    (root / "nbgrader_config.py").write_text("from autograder.config import configure\nconfigure(get_config())\n")
    _run([sys.executable, "-m", "autograder", "--root", str(root), "generate", ASSIGNMENT], root)
    _run([sys.executable, "-m", "autograder", "--root", str(root), "collect", ASSIGNMENT, str(inbox)], root)
    return root


def _scores(root: Path) -> dict:
    from nbgrader.api import Gradebook

    from .config import COURSE_ID

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE_ID) as gb:
        return {s.id: gb.find_submission(ASSIGNMENT, s.id).score for s in gb.students}


def _overhead(root: Path, students: list) -> list:
    """Per notebook: autograde time minus the notebook's own execution time.

    ``students`` must not include submissions that attack the machine: the
    notebooks' own runs use a plain kernel, without the grader's limits.
    """
    import nbformat
    from nbclient import NotebookClient

    from .cli import make_api

    api = make_api(root)
    api.autograde(ASSIGNMENT, students[0], force=True, create=True)  # warm: gradebook, fork server
    extra = []
    for student in students:
        path = root / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        nb = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        try:
            NotebookClient(nb, timeout=30, allow_errors=True, kernel_name="python3",
                           resources={"metadata": {"path": str(path.parent)}}).execute()
        except Exception:  # noqa: BLE001 - a notebook that kills its kernel has no "own run time"
            continue
        own = time.perf_counter() - start
        start = time.perf_counter()
        result = api.autograde(ASSIGNMENT, student, force=True, create=True)
        graded = time.perf_counter() - start
        if not result.get("success"):
            raise RuntimeError(f"autograde failed for {student}")
        extra.append((student, own, graded))
    return extra


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--copies", type=int, default=2, help="copies of each demo submission (default 2)")
    parser.add_argument("--quick", action="store_true", help="a 6-notebook class: checks the script only")
    args = parser.parse_args(argv)
    variants = [v for v in VARIANTS if v != "adv_infinite_loop"]
    copies = args.copies
    if args.quick:
        variants, copies = ["softmax_no_shift", "adv_os_exit"], 2
    with tempfile.TemporaryDirectory(prefix="autograder-bench-") as tmp:
        base = Path(tmp)
        seed = base / "seed"
        seed.mkdir()
        shutil.copytree(REPO / "solutions", seed / "solutions")
        _run([sys.executable, "-m", "autograder", "--root", str(seed), "generate", ASSIGNMENT], seed)
        roster = build_class(seed, base / "inbox", copies=copies, variants=variants)
        n = len(roster)
        print(f"demo class: {n} submissions of {ASSIGNMENT} ({len(variants) + 2} kinds x {copies})")
        plain = _course(base, "plain", base / "inbox")
        ours = _course(base, "ours", base / "inbox")
        t_plain = _run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT], plain)
        t_ours = _run([sys.executable, "-m", "autograder", "--root", str(ours), "grade", ASSIGNMENT,
                       "--jobs", str(args.jobs), "--no-progress"], ours)
        same = _scores(plain) == _scores(ours)
        ratio = t_plain / t_ours
        print(f"sequential nbgrader autograde: {t_plain:7.1f} s  ({t_plain / n:.2f} s per notebook)")
        print(f"grade --jobs {args.jobs}:               {t_ours:7.1f} s  ({t_ours / n:.2f} s per notebook)")
        print(f"speed-up: {ratio:.2f}x (target >= 1.7x on 2 cores); same scores in both gradebooks: {same}")
        # adversarial notebooks have no meaningful "own run time" (and an unlimited
        # plain kernel must not run a memory bomb): measure the others
        honest = sorted(s for s, kind in roster.items() if not kind.startswith("adv_"))
        sample = honest[: (4 if args.quick else len(honest))]
        rows = _overhead(ours, sample)
        extra = [g - o for _, o, g in rows]
        med = statistics.median(extra)
        print(f"overhead per notebook (autograde minus the notebook's own run), {len(rows)} notebooks: "
              f"median {med:.2f} s, max {max(extra):.2f} s (target: median <= 1 s); "
              f"own run median {statistics.median(o for _, o, _ in rows):.2f} s")
        ok = same and (args.quick or (ratio >= 1.7 and med <= 1.0))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
