"""What students get: ``python -m autograder bundle`` (``make student``).

The bundle is a folder (and a zip of it) that holds

* ``notebooks/<assignment>/``: the release version of every assignment, made by
  nbgrader in a scratch copy of the course (the course's own ``release/`` is not
  touched);
* ``wheels/``: one wheel with the ``course`` and ``autograder`` packages, built from
  a scratch copy of the sources whose task modules have lost their hidden cases;
* ``README.md``: how a student installs it and works.

Hidden cases are removed from the task modules' source with :mod:`ast`: the
``make_hidden=`` argument of every ``Task(...)`` and the functions it names (or the
factory it calls), the module-level helpers only those functions used, and every
``Case(..., suite="hidden")`` in a list. A hidden case the transform cannot
remove stops the build with the file and line. Before the bundle is declared done,
:func:`audit_bundle` reads every file, the wheel's members included, and refuses
model answers, rubrics, hidden tests, hidden cases and the course's secret.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

__all__ = ["BundleError", "build_bundle", "audit_bundle", "strip_hidden_cases", "hidden_case_names"]

REPO = Path(__file__).resolve().parents[1]
#: text that never belongs in anything a student gets
FORBIDDEN_TEXT = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "Rubric",
                  "Model answer")
_SOURCES = ("course", "autograder")
#: the instructor's side of the grader, which a student's kernel never imports: its modules name
#: the nbgrader markers they strip (solution regions, hidden tests) and know about rubrics
_LEFT_OUT = ("__pycache__", "*.pyc", "AUTHORING.md", "bench.py", "demo.py", "bundle.py", "repair.py",
             "similarity.py", "nbgrader_ext.py", "worker.py", "feedback.py", "feedback_template")


class BundleError(RuntimeError):
    """The bundle cannot be made without giving something away; the message says what and where."""


# ---------------------------------------------------------------------------------------------
# the task modules, without their hidden cases
# ---------------------------------------------------------------------------------------------

def _called(node) -> str:
    func = node.func if isinstance(node, ast.Call) else None
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _hidden_suite(node) -> bool:
    return isinstance(node, ast.keyword) and node.arg == "suite" and isinstance(node.value, ast.Constant) \
        and node.value.value == "hidden"


def _is_hidden_case(node) -> bool:
    return _called(node) == "Case" and any(_hidden_suite(k) for k in node.keywords)


def strip_hidden_cases(source: str, filename: str = "<task module>") -> str:
    """``source`` (a task module) without its hidden cases; :class:`BundleError` if one cannot go."""
    tree = ast.parse(source, filename)
    makers: set = set()

    class Strip(ast.NodeTransformer):
        def visit_Call(self, node):
            self.generic_visit(node)
            if _called(node) == "Task":
                kept = []
                for kw in node.keywords:
                    if kw.arg != "make_hidden":
                        kept.append(kw)
                    elif isinstance(kw.value, ast.Name):
                        makers.add(kw.value.id)
                    elif isinstance(kw.value, ast.Call) and isinstance(kw.value.func, ast.Name):
                        makers.add(kw.value.func.id)  # a module-level factory that returns the maker
                    elif not (isinstance(kw.value, ast.Constant) and kw.value.value is None):
                        raise BundleError(f"{filename}, line {kw.lineno}: make_hidden must name a module-level "
                                          "function (or call one) for the bundle to leave it out")
                node.keywords = kept
            return node

        def _drop(self, node):
            self.generic_visit(node)
            node.elts = [e for e in node.elts if not _is_hidden_case(e)]
            return node

        visit_List = visit_Tuple = _drop

    tree = Strip().visit(tree)
    # the makers go, and with them every module-level function that only they used (helpers
    # that build hidden cases), found again after each removal
    functions = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    unknown = sorted(makers - set(functions))
    if unknown:  # a parameter or a variable: the function it stands for would stay in the module
        raise BundleError(f"{filename}: make_hidden={unknown[0]} names no module-level function; pass the "
                          "module-level function that makes the hidden cases by its own name")
    gone = set(makers)
    while True:
        kept = [n for n in tree.body if not (isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                                             and n.name in gone)]
        used = {n.id for node in kept for n in ast.walk(node) if isinstance(n, ast.Name)}
        used_by_gone = {n.id for name in gone for n in ast.walk(functions[name]) if isinstance(n, ast.Name)}
        more = {name for name in functions if name in used_by_gone and name not in used} - gone
        if not more:
            break
        gone |= more
    tree.body = kept
    for node in ast.walk(tree):
        if _hidden_suite(node):
            raise BundleError(f"{filename}, line {node.value.lineno}: a hidden case the bundle cannot remove "
                              "(put hidden cases in make_hidden, or as Case(..., suite=\"hidden\") in a list)")
        if isinstance(node, ast.Name) and node.id in makers:
            raise BundleError(f"{filename}, line {node.lineno}: {node.id} makes hidden cases and is used "
                              "elsewhere in the module")
    return ast.unparse(tree) + "\n"


def hidden_case_names(task_files) -> set:
    """The names of every hidden case the instructor's task modules ``task_files`` define
    (drawn with a throwaway generator: the names do not depend on the secret)."""
    import importlib.util

    import numpy as np

    names = set()
    for path in task_files:
        spec = importlib.util.spec_from_file_location(f"_bundle_probe_{Path(path).stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for task in getattr(module, "TASKS", []):
            names |= {c.name for c in task.make_cases() if c.suite == "hidden"}
            if task.make_hidden is not None:
                names |= {c.name for c in task.make_hidden(np.random.default_rng(0))}
    return names


# ---------------------------------------------------------------------------------------------
# building
# ---------------------------------------------------------------------------------------------

def _release(root: Path, assignments: list, into: Path) -> None:
    """nbgrader's student version of each assignment, made in a scratch course (its own secret,
    thrown away), copied to ``into/<assignment>/``."""
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        for name in assignments:
            shutil.copytree(root / "solutions" / name, scratch / "solutions" / name,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        for name in assignments:
            proc = subprocess.run([sys.executable, "-m", "autograder", "--root", str(scratch), "generate", name],
                                  capture_output=True, text=True, cwd=scratch)
            if proc.returncode != 0:
                raise BundleError(f"generating {name} failed: {(proc.stderr or proc.stdout).strip()[-800:]}")
            shutil.copytree(scratch / "release" / name, into / name)


def _wheel(into: Path) -> Path:
    """One wheel of ``course`` and ``autograder``, built from a scratch copy without hidden cases."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(REPO / name, src / name)
        for package in _SOURCES:
            shutil.copytree(REPO / package, src / package, ignore=shutil.ignore_patterns(*_LEFT_OUT))
        for module in sorted((src / "autograder" / "tasks").glob("ch*.py")):
            module.write_text(strip_hidden_cases(module.read_text(), f"autograder/tasks/{module.name}"))
        out = Path(tmp) / "wheel"
        proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                               "--quiet", "--wheel-dir", str(out), str(src)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise BundleError(f"building the wheel failed: {(proc.stderr or proc.stdout).strip()[-800:]}")
        (wheel,) = out.glob("*.whl")
        into.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy2(wheel, into / wheel.name))


_README = """# {title}: the student bundle

What your instructor hands out: the assignments' notebooks and the two Python packages
their checks need (`course`, the course's library, and `autograder`, which runs the
checks). There are no solutions in it, and only the visible test cases: the hidden cases
that decide your grade run on your instructor's grader.

## Install (once)

You need Python 3.10 or newer.

```bash
python -m venv .venv
.venv/bin/pip install torch==2.13.0      # PyTorch first (on Windows: .venv\\Scripts\\pip)
.venv/bin/pip install wheels/*.whl       # the course, the autograder, JupyterLab and nbgrader
.venv/bin/jupyter lab notebooks/
```

(`torch==2.13.0` from PyPI is the CPU build on most machines; any PyTorch 2.2 or newer works.)

## Work

Open `notebooks/<assignment>/<assignment>.ipynb`. Each graded part has an answer cell
(replace `raise NotImplementedError()` with your code) and a test cell after it.

* **Run All** (Run -> Run All Cells) always reaches the end of the notebook. A test cell
  prints what its visible cases checked; a failing one prints on a red background with the
  error and a hint.
* **Validate** (the button in the notebook's toolbar) runs the notebook from the top and
  lists exactly the parts whose visible checks fail; "Success!" means they all pass.
* Hand in the notebook file itself. Do not rename it or delete cells.

Assignments in this bundle: {assignments}.
"""


def build_bundle(root: Path, dest: Path | None = None, assignments: list | None = None) -> Path:
    """Write the student bundle for the course at ``root`` to ``dest`` (default ``root/student-bundle``)
    and ``dest.zip``; return ``dest``. Raises :class:`BundleError` when it would give anything away."""
    root = Path(root).resolve()
    dest = Path(dest).resolve() if dest else root / "student-bundle"
    names = sorted(assignments) if assignments else sorted(p.name for p in (root / "solutions").iterdir()
                                                           if p.is_dir() and not p.name.startswith("."))
    if not names:
        raise BundleError(f"no assignments in {root / 'solutions'}")
    if dest == root or (dest / "solutions").exists():
        raise BundleError(f"{dest} is a course folder, not a place for a bundle")
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / dest.name
        _release(root, names, staged / "notebooks")
        _wheel(staged / "wheels")
        (staged / "README.md").write_text(_README.format(title="Neural networks, from the single neuron to AdamW",
                                                        assignments=", ".join(names)))
        problems = audit_bundle(staged, secret_file=root / ".autograder" / "secret")
        if problems:
            raise BundleError("the bundle would give away:\n  " + "\n  ".join(problems[:20]))
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(staged, dest)
    archive = dest.with_name(dest.name + ".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(dest.rglob("*")):
            if path.is_file():
                zf.write(path, Path(dest.name) / path.relative_to(dest))
    return dest


# ---------------------------------------------------------------------------------------------
# the audit
# ---------------------------------------------------------------------------------------------

def _files(folder: Path):
    """(name, bytes) of every file under ``folder``, and of every member of every wheel or zip."""
    for path in sorted(Path(folder).rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        yield str(path.relative_to(folder)), data
        if path.suffix in (".whl", ".zip"):
            with zipfile.ZipFile(path) as zf:
                for member in zf.namelist():
                    yield f"{path.relative_to(folder)}!{member}", zf.read(member)


def audit_bundle(folder: Path, secret_file: Path | None = None) -> list:
    """What in the bundle at ``folder`` should not be there: one line per problem (empty: nothing)."""
    problems = []
    secret = b""
    if secret_file is not None and Path(secret_file).is_file():
        secret = Path(secret_file).read_text().strip().encode()
    task_files = sorted((REPO / "autograder" / "tasks").glob("ch*.py"))
    hidden = {n.encode() for n in hidden_case_names(task_files)}
    for name, data in _files(folder):
        # task modules and notebooks may not hold hidden cases; no file of the grader may name one
        cases_here = name.endswith(".ipynb") or "!autograder/tasks/ch" in name
        graded_code = cases_here or name.endswith(".py") and "!autograder/" in name
        for text in FORBIDDEN_TEXT:
            if text.encode() in data:
                problems.append(f"{name}: holds {text!r}")
        if cases_here and any(m in data for m in (b'suite="hidden"', b"suite='hidden'", b'suite=\\"hidden\\"',
                                                    b"make_hidden=")):
            problems.append(f"{name}: holds hidden cases")
        if graded_code:
            for case in sorted(hidden):
                if case in data:
                    problems.append(f"{name}: names the hidden case {case.decode()!r}")
        if secret and (secret in data or bytes.fromhex(secret.decode()) in data):
            problems.append(f"{name}: holds the course's secret")
        if ".autograder/" in name or name.endswith("gradebook.db"):
            problems.append(f"{name}: is the course's private data")
    return problems
