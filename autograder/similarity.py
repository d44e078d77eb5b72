"""Similarity report: submissions that are near-copies of the course or of each other.

    python -m autograder similarity 00-setup [--threshold 0.5] [--student alice]

For every graded function of an assignment (the objects its test cells pass to
``check("<task>", ...)``), this takes each student's last definition of that
function from ``submitted/<student>/<assignment>/*.ipynb`` and compares it

* with the ``course`` implementation the task's reference calls (or the
  dotted names in the task's optional ``similar_to`` attribute), and
* with every other student's definition,

using the fingerprints of the ``copydetect`` package (winnowed k-grams of the
tokenized code: names become ``V``/``F``, strings ``S``, comments and layout
vanish). Before fingerprinting, docstrings and string statements are dropped
and the code is re-printed by :func:`ast.unparse`, so renamed variables,
re-commented code and a different layout still match. A pair is listed when
*both* sides' overlap (the share of each function's code found in the other)
reaches the threshold: a near-copy, not one short formula that both contain.
The listing goes to stdout and, with the matched code highlighted side by
side, to ``similarity/<assignment>.html`` in the course folder.

What it does not do: it never changes a score, writes nothing but the HTML
report and reads no gradebook. It flags; a human decides. Short functions
with one natural solution (a stable softmax is three lines) are expected to
look alike, and a flagged pair can be two students who learnt from the same
lecture; an unflagged pair can still be a copy that was rewritten with care.
Unanswered functions (missing, or still the stub that raises
``NotImplementedError``) are skipped.
"""

from __future__ import annotations

import ast
import html
import importlib
import inspect
import io
import itertools
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

__all__ = ["DEFAULT_THRESHOLD", "NothingToCompare", "Match", "Report", "find_similar", "write_html",
           "normalize", "graded_objects", "student_definitions", "reference_sources"]

# Measured on the class planted in tests/test_similarity.py (softmax, neuron): renamed, re-laid-out,
# re-commented copies score 0.91-1.00, a copy that was also restructured a little 0.64, independent
# implementations (and independent ones against the course) at most 0.16. The threshold sits between.
# k = 20 rather than copydetect's default 25: after filtering, one line of NumPy is about 20-25
# characters (`V=V.V(V-V.V(V,V=V,V=True))`), and 25 lost most of the restructured copy.
DEFAULT_THRESHOLD = 0.5
NOISE = 20  # copydetect's k: matches shorter than this many filtered characters are ignored
GUARANTEE = 20  # matches at least this long are always found (window size GUARANTEE - NOISE + 1)
COURSE = "course reference"
COURSE_PACKAGE = "course"


class NothingToCompare(LookupError):
    """No submissions (or no graded functions) to compare; the message says what to do."""


@dataclass
class Entry:
    """One piece of code to compare: a student's function or a course object."""

    owner: str  # the student, or "course reference"
    label: str  # the student, or the course object's dotted name
    code: str  # as written
    normalized: str  # what is fingerprinted
    fingerprint: object = None


@dataclass
class Match:
    function: str
    task: str
    student: str
    other: str  # another student, or "course reference"
    other_label: str  # the other student, or the course object's dotted name
    similarity: float  # the smaller of the two overlaps
    overlap_student: float
    overlap_other: float
    student_html: str = ""
    other_html: str = ""
    student_code: str = ""
    other_code: str = ""


@dataclass
class Report:
    assignment: str
    threshold: float
    students: list
    matches: list = field(default_factory=list)
    compared: dict = field(default_factory=dict)  # function -> number of answers compared
    references: dict = field(default_factory=dict)  # function -> course objects compared with
    notes: list = field(default_factory=list)

    def table(self) -> str:
        head = ("function", "student", "other", "similarity", "overlap student / other")
        rows = [(m.function, m.student, m.other if m.other != COURSE else f"{COURSE} ({m.other_label})",
                 f"{m.similarity:.0%}", f"{m.overlap_student:.0%} / {m.overlap_other:.0%}") for m in self.matches]
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        line = "  ".join("{:<%d}" % w for w in widths)
        return "\n".join(line.format(*r).rstrip() for r in [head, ["-" * w for w in widths], *rows])

    def text(self) -> str:
        out = [f"Similarity report for {self.assignment}: {len(self.students)} submission(s), "
               f"threshold {self.threshold:.0%} (both sides' overlap)"]
        for function, n in self.compared.items():
            refs = ", ".join(self.references.get(function, [])) or "none found: students only"
            out.append(f"  {function}: {n} answer(s) compared; course reference: {refs}")
        out.append("")
        if self.matches:
            out.append(self.table())
            out.append("")
            out.append("A listed pair is a lead for a human to look at, not a verdict; no score was changed.")
        else:
            out.append(f"No near-copies found: no pair reaches {self.threshold:.0%}.")
        out.extend(f"note: {n}" for n in self.notes)
        return "\n".join(out)


# ---------------------------------------------------------------------------
# what is graded, and what the students wrote
# ---------------------------------------------------------------------------

def _code_cells(path: Path) -> list[str]:
    from .sandbox import python_source

    nb = nbformat.read(path, as_version=4)
    return [python_source(c.source) for c in nb.cells if c.cell_type == "code"]


def graded_objects(source_dir: Path) -> dict[str, list[str]]:
    """Object name -> the tasks that grade it, from the test cells of ``source_dir``'s notebooks."""
    from .nbgrader_ext import parse_checks

    graded: dict[str, list[str]] = {}
    for path in sorted(Path(source_dir).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
                continue
            for task, names, _suite in parse_checks(cell.source):
                for name in names:
                    tasks = graded.setdefault(name, [])
                    if task not in tasks:
                        tasks.append(task)
    return graded


def _definitions(sources, names) -> dict[str, str]:
    """Name -> source of the last top-level ``def``/``class`` of that name in ``sources`` (cells in order)."""
    found = {}
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name in names:
                segment = ast.get_source_segment(source, node)
                if segment:
                    found[node.name] = segment
    return found


def student_definitions(folder: Path, names) -> dict[str, str]:
    """Name -> the student's last definition of it in the notebooks of ``folder``."""
    sources = []
    for path in sorted(Path(folder).glob("*.ipynb")):
        try:
            sources.extend(_code_cells(path))
        except Exception:  # noqa: BLE001 - an unreadable notebook has nothing to compare
            continue
    return _definitions(sources, set(names))


def _is_docstring(stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _strip_strings(tree):
    """Drop docstrings and other bare string statements (comments in disguise) everywhere."""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
            kept = [s for s in body if not _is_docstring(s)]
            node.body = kept or [ast.Pass()]
    return tree


def _is_stub(node) -> bool:
    """A body that does nothing but ``raise NotImplementedError`` / ``pass`` / ``...``."""
    body = [s for s in node.body if not _is_docstring(s)]
    if isinstance(node, ast.ClassDef):
        return all(_is_stub(s) if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)) else
                   isinstance(s, ast.Pass) for s in body)
    for stmt in body:
        if isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
            continue
        if isinstance(stmt, ast.Raise) and stmt.exc is not None:
            exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
            if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                continue
        return False
    return True


def normalize(source: str) -> str | None:
    """The code that is fingerprinted: no docstrings or comments, ``ast.unparse``'s layout.

    None for an unanswered stub or code that does not parse.
    """
    try:
        tree = ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return None
    defs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    if len(defs) == 1 and _is_stub(defs[0]):
        return None
    return ast.unparse(_strip_strings(tree))


# ---------------------------------------------------------------------------
# the course reference
# ---------------------------------------------------------------------------

def _in_course(obj) -> bool:
    return ((inspect.isfunction(obj) or inspect.isclass(obj))
            and getattr(obj, "__module__", "").split(".")[0] == COURSE_PACKAGE)


def _dotted(obj) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def _import_dotted(name: str):
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    return importlib.import_module(name)


def _names_used(func) -> list:
    """Course functions and classes that the code of ``func`` names (globals, local imports, attributes)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return []
    scope = dict(getattr(func, "__globals__", {}) or vars(inspect.getmodule(func) or object()))
    for node in ast.walk(tree):  # `from course.x import y` / `import course.x` inside the function
        try:
            if (isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                    and node.module.split(".")[0] == COURSE_PACKAGE):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    if hasattr(module, alias.name):
                        scope[alias.asname or alias.name] = getattr(module, alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] != COURSE_PACKAGE:
                        continue
                    module = importlib.import_module(alias.name)
                    if alias.asname:
                        scope[alias.asname] = module
                    else:
                        scope[COURSE_PACKAGE] = importlib.import_module(COURSE_PACKAGE)
        except Exception:  # noqa: BLE001 - a module that cannot be imported names nothing
            continue

    def resolve(node):
        if isinstance(node, ast.Name):
            return scope.get(node.id)
        if isinstance(node, ast.Attribute):
            base = resolve(node.value)
            return getattr(base, node.attr, None) if inspect.ismodule(base) else None
        return None

    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Name, ast.Attribute)):
            obj = resolve(node)
            if _in_course(obj) and obj is not func and obj not in found:
                found.append(obj)
    return found


def _is_thin(obj) -> bool:
    """A wrapper whose work is in what it calls (at most two statements besides its docstring)."""
    if not inspect.isfunction(obj):
        return False
    try:
        node = ast.parse(textwrap.dedent(inspect.getsource(obj))).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        return False
    return len([s for s in node.body if not _is_docstring(s)]) <= 2


def reference_sources(task) -> dict[str, str]:
    """Dotted name -> source of the course objects to compare ``task``'s answers with.

    ``task.similar_to`` (a dotted name or several) when the task sets it; otherwise the course
    functions and classes its reference names, and for a thin wrapper among them (``softmax``
    returning ``softmax_forward(x)[0]``) also what the wrapper calls, two levels deep.
    """
    objects = []
    named = getattr(task, "similar_to", None)
    if named:
        for name in [named] if isinstance(named, str) else list(named):
            try:
                objects.append(_import_dotted(name))
            except (ImportError, AttributeError):
                continue
    elif getattr(task, "reference", None) is not None:
        ref = inspect.unwrap(task.reference)
        ref = getattr(ref, "func", ref)  # functools.partial
        objects = [ref] if _in_course(ref) else _names_used(ref)
        frontier = list(objects)
        for _depth in range(2):
            frontier = [c for obj in frontier if _is_thin(obj) for c in _names_used(obj) if c not in objects]
            objects.extend(dict.fromkeys(frontier))
    sources = {}
    for obj in objects:
        try:
            sources[_dotted(obj)] = textwrap.dedent(inspect.getsource(obj))
        except (OSError, TypeError):
            continue
    return sources


# ---------------------------------------------------------------------------
# comparing
# ---------------------------------------------------------------------------

def _fingerprint(code: str, boilerplate=None):
    from copydetect import CodeFingerprint

    return CodeFingerprint("function.py", NOISE, GUARANTEE - NOISE + 1, boilerplate=boilerplate,
                           language="python", fp=io.StringIO(code))


def _highlight(code: str, slices) -> str:
    from copydetect.utils import highlight_overlap

    if len(slices) == 0 or slices.ndim != 2 or slices.shape[1] == 0:
        return html.escape(code)
    marked, _share = highlight_overlap(code, slices, "<mark>", "</mark>", escape_html=True)
    return marked


def _compare(a: Entry, b: Entry):
    from copydetect import compare_files

    _tokens, (sim_a, sim_b), (slices_a, slices_b) = compare_files(a.fingerprint, b.fingerprint)
    return float(sim_a), float(sim_b), slices_a, slices_b


_SOLUTION = re.compile(r"^([ \t]*)### BEGIN SOLUTION.*?### END SOLUTION[^\n]*", re.S | re.M)


def _stub_boilerplate(source_dir: Path, names) -> dict:
    """Name -> fingerprints of the code every student is given (the release version), to be ignored."""
    sources = []
    for path in sorted(Path(source_dir).glob("*.ipynb")):
        sources.extend(_SOLUTION.sub(r"\1raise NotImplementedError()", s) for s in _code_cells(path))
    out = {}
    for name, source in _definitions(sources, set(names)).items():
        try:
            given = ast.unparse(_strip_strings(ast.parse(textwrap.dedent(source))))
        except SyntaxError:
            continue
        out[name] = list(_fingerprint(given).hashes)
    return out


def find_similar(root: Path, assignment: str, threshold: float = DEFAULT_THRESHOLD, students=None) -> Report:
    """Compare every graded function of ``assignment``'s submissions; see the module docstring.

    ``students``: list only pairs involving these students (they are still compared with everyone).
    """
    from .tasks import get_task

    if not 0 < threshold <= 1:
        raise ValueError(f"the threshold is a fraction between 0 and 1 (0.7 = 70%), got {threshold}")
    root = Path(root)
    source_dir = root / "solutions" / assignment
    submitted = root / "submitted"
    everyone = sorted(p.name for p in submitted.iterdir()
                      if not p.name.startswith(".") and (p / assignment).is_dir()) if submitted.is_dir() else []
    if not everyone:
        raise NothingToCompare(f"no submissions of {assignment} in {submitted} - help: run `collect` first")
    if students:
        missing = sorted(set(students) - set(everyone))
        if missing:
            raise NothingToCompare(f"no submission of {assignment} for: {', '.join(missing)}")
    graded = graded_objects(source_dir)
    if not graded:
        raise NothingToCompare(f"no test cell in {source_dir} calls check(...): nothing is graded to compare")

    report = Report(assignment, threshold, everyone)
    boilerplate = _stub_boilerplate(source_dir, graded)
    answers = {s: student_definitions(submitted / s / assignment, graded) for s in everyone}
    for name, tasks in graded.items():
        entries = []
        for student in everyone:
            code = answers[student].get(name)
            normalized = normalize(code) if code else None
            if normalized is None:
                continue
            entry = Entry(student, student, code, normalized)
            entry.fingerprint = _fingerprint(normalized, boilerplate.get(name))
            if entry.fingerprint.hashes:
                entries.append(entry)
        refs = []
        for task_name in tasks:
            try:
                task = get_task(task_name)
            except KeyError as exc:
                report.notes.append(f"{name}: {exc.args[0]} - compared between students only")
                continue
            for label, code in reference_sources(task).items():
                normalized = normalize(code)
                if normalized is None or any(r.label == label for r in refs):
                    continue
                ref = Entry(COURSE, label, code, normalized)
                ref.fingerprint = _fingerprint(normalized, boilerplate.get(name))
                if ref.fingerprint.hashes:
                    refs.append(ref)
        report.compared[name] = len(entries)
        report.references[name] = [r.label for r in refs]
        pairs = [(e, r) for e in entries for r in refs] + list(itertools.combinations(entries, 2))
        best = {}  # (student, other) -> match; against the course, the closest course object
        for a, b in pairs:
            if students and a.owner not in students and b.owner not in students:
                continue
            sim_a, sim_b, slices_a, slices_b = _compare(a, b)
            score = min(sim_a, sim_b)
            if students and a.owner not in students:  # the student asked about comes first
                a, b, sim_a, sim_b, slices_a, slices_b = b, a, sim_b, sim_a, slices_b, slices_a
            key = (a.owner, b.owner)
            if score < threshold or (key in best and best[key].similarity >= score):
                continue
            best[key] = Match(name, ", ".join(tasks), a.owner, b.owner, b.label, score, sim_a, sim_b,
                              _highlight(a.normalized, slices_a), _highlight(b.normalized, slices_b),
                              a.code, b.code)
        report.matches.extend(sorted(best.values(), key=lambda m: (-m.similarity, m.student, m.other)))
    report.matches.sort(key=lambda m: (list(graded).index(m.function), -m.similarity, m.student, m.other))
    return report


# ---------------------------------------------------------------------------
# the HTML report
# ---------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
pre { background: #fafafa; border: 1px solid #ddd; padding: 0.7em; overflow-x: auto; font-size: 0.9em; }
mark { background: #ffe08a; }
.note { color: #555; }
"""


def write_html(report: Report, path: Path) -> Path:
    """Write ``report`` as a self-contained HTML page at ``path``."""
    esc = html.escape
    title = f"Similarity report: {report.assignment}"
    parts = [f"<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n<title>{esc(title)}</title>",
             f"<style>{_STYLE}</style>\n</head>\n<body>", f"<h1>{esc(title)}</h1>",
             f"<p class='note'>{len(report.students)} submission(s); a pair is listed when both sides' overlap "
             f"reaches {report.threshold:.0%}. Highlighted: code found in both, after docstrings and comments "
             "are removed and the layout is normalized. This report flags; a human decides. Short functions "
             "with one natural solution are expected to look alike. No score was changed.</p>",
             "<h2>Functions compared</h2>",
             "<table><tr><th>function</th><th>answers compared</th><th>course reference</th></tr>"]
    for function, n in report.compared.items():
        refs = ", ".join(report.references.get(function, [])) or "none found: students only"
        parts.append(f"<tr><td><code>{esc(function)}</code></td><td>{n}</td><td>{esc(refs)}</td></tr>")
    parts.append("</table>")
    parts.append("<h2>Flagged pairs</h2>")
    if not report.matches:
        parts.append(f"<p>No near-copies found: no pair reaches {report.threshold:.0%}.</p>")
    else:
        parts.append("<table><tr><th>#</th><th>function</th><th>student</th><th>other</th><th>similarity</th>"
                     "<th>overlap student / other</th></tr>")
        for i, m in enumerate(report.matches, 1):
            other = m.other if m.other != COURSE else f"{COURSE} ({m.other_label})"
            parts.append(f"<tr><td><a href='#m{i}'>{i}</a></td><td><code>{esc(m.function)}</code></td>"
                         f"<td>{esc(m.student)}</td><td>{esc(other)}</td><td>{m.similarity:.0%}</td>"
                         f"<td>{m.overlap_student:.0%} / {m.overlap_other:.0%}</td></tr>")
        parts.append("</table>")
        for i, m in enumerate(report.matches, 1):
            other = m.other if m.other != COURSE else f"{COURSE}: {m.other_label}"
            parts.append(f"<h3 id='m{i}'>{i}. <code>{esc(m.function)}</code>: {esc(m.student)} and {esc(other)} "
                         f"({m.similarity:.0%})</h3>")
            parts.append("<div class='pair'>")
            for who, marked, code, share in ((m.student, m.student_html, m.student_code, m.overlap_student),
                                             (other, m.other_html, m.other_code, m.overlap_other)):
                parts.append(f"<div><h4>{esc(who)} ({share:.0%} of it matched)</h4><pre>{marked}</pre>"
                             f"<details><summary>as written</summary><pre>{esc(code)}</pre></details></div>")
            parts.append("</div>")
    if report.notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in report.notes) + "</ul>")
    parts.append("</body>\n</html>\n")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
