"""Repair a submission's nbgrader cells before nbgrader's own checks reject it.

Students copy and paste cells in JupyterLab (the copy keeps the cell's nbgrader
metadata, grade id included), edit metadata, or mark cells of their own as
graded. nbgrader 0.9's autograde copes badly with that:

* a duplicated grade id: ``DeduplicateIds`` empties the metadata of all but the
  last copy (``metadata.nbgrader = {}``, no ``schema_version``); the metadata
  check then raises ``SchemaTooOldError``, which ``nbgrader autograde`` treats
  as fatal for the whole run: no later student is graded;
* a renamed or an extra grade id (one the gradebook does not know):
  ``OverwriteCells`` deletes only the ``grade_id`` and keeps the cell's
  grade/solution/locked flags, so ``CheckCellMetadata`` rejects the notebook
  and it is not graded; the renamed cell's real id is simply missing.

:class:`RepairCells` runs at the start of autograde's sanitize stage (see
:func:`sanitize_preprocessors`) and makes the notebook agree with the source
cells the gradebook holds, so that nbgrader's own preprocessors pass and grade
it. Each repair is logged as a warning and listed in a markdown note put at the
top of the graded notebook (and so in the feedback). The student's own work is
never lost: a cell that is removed is a copy of something the source already
has (or of a test cell, which the instructor owns and nbgrader restores from the
source anyway); any other cell that cannot keep its nbgrader role is kept as an
ordinary cell, ungraded.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from nbformat import from_dict
from nbformat.corpus.words import generate_corpus_id
from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_markdown_cell
from nbgrader.preprocessors import NbGraderPreprocessor, OverwriteCells
from traitlets import Bool

__all__ = ["RepairCells", "SourceCell", "repair_notebook", "sanitize_preprocessors", "source_cells_from_gradebook",
           "source_cells_from_notebook", "NOTE_MARK"]

#: ``cell.metadata["autograder"]`` of the note cell that lists the repairs
NOTE_MARK = "repair-note"
FLAGS = ("grade", "solution", "locked", "task")
SCHEMA_KEYS = {"schema_version", "grade", "locked", "solution", "task", "grade_id", "points", "checksum", "cell_type"}
_HIDDEN = re.compile(r"^[^\n]*BEGIN HIDDEN TESTS.*?END HIDDEN TESTS[^\n]*\n?", re.S | re.M)


@dataclass(frozen=True)
class SourceCell:
    """One nbgrader cell of the source notebook, as the gradebook holds it (in notebook order)."""

    name: str
    cell_type: str
    source: str
    locked: bool
    checksum: str | None = None
    points: float | None = None  # grade cells only
    solution: bool = False
    task: bool = False

    @property
    def grade(self) -> bool:
        return self.points is not None and not self.task

    @property
    def test(self) -> bool:
        """An autograded test cell: instructor-owned, its source always comes from the source notebook."""
        return self.grade and not self.solution

    def flags(self) -> tuple:
        return (self.grade, self.solution, self.locked, self.task)


def source_cells_from_gradebook(db_url: str, notebook_id: str, assignment_id: str) -> list[SourceCell]:
    """The source cells of a notebook, in the order nbgrader stored them (its notebook order)."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        nb = gb.find_notebook(notebook_id, assignment_id)
        points = {c.name: float(c.max_score) for c in nb.grade_cells}
        points.update({c.name: float(c.max_score) for c in nb.task_cells})
        solutions = {c.name for c in nb.solution_cells}
        tasks = {c.name for c in nb.task_cells}
        return [SourceCell(c.name, c.cell_type, c.source or "", bool(c.locked), c.checksum, points.get(c.name),
                           c.name in solutions, c.name in tasks) for c in nb.source_cells]


def source_cells_from_notebook(nb) -> list[SourceCell]:
    """The same description read from a source notebook's metadata (for tests and tools)."""
    out = []
    for cell in nb.cells:
        m = cell.metadata.get("nbgrader") or {}
        if not m.get("grade_id") or not any(m.get(f) for f in FLAGS):
            continue
        points = float(m.get("points", 0)) if (m.get("grade") or m.get("task")) else None
        out.append(SourceCell(m["grade_id"], cell.cell_type, cell.source, bool(m.get("locked")), m.get("checksum"),
                              points, bool(m.get("solution")), bool(m.get("task"))))
    return out


def _nbmeta(cell) -> dict | None:
    m = cell.get("metadata", {}).get("nbgrader")
    return m if isinstance(m, dict) else None


def _claims(cell) -> bool:
    """The cell takes part in grading: it names a grade id or carries an nbgrader flag."""
    m = _nbmeta(cell)
    return m is not None and (bool(m.get("grade_id")) or any(m.get(f) for f in FLAGS))


def _flags(cell) -> tuple:
    m = _nbmeta(cell) or {}
    return tuple(bool(m.get(f)) for f in FLAGS)


def _is_test(cell) -> bool:
    grade, solution, _, task = _flags(cell)
    return cell.cell_type == "code" and grade and not solution and not task


def _norm(text) -> str:
    text = "".join(text) if isinstance(text, list) else (text or "")
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _same(a, b) -> bool:
    return _norm(a) == _norm(b)


def _demote(cell) -> None:
    cell.metadata.pop("nbgrader", None)
    cell.metadata.pop("deletable", None)
    cell.metadata.pop("editable", None)


def _restore_flags(cell, src: SourceCell) -> bool:
    """Give a kept cell the nbgrader role its source cell has; True if the grading role changed."""
    m = cell.metadata["nbgrader"]
    changed = (bool(m.get("grade")), bool(m.get("solution")), bool(m.get("task"))) != (src.grade, src.solution,
                                                                                        src.task)
    m["grade"], m["solution"], m["locked"], m["task"] = src.grade, src.solution, src.locked, src.task
    if src.points is not None:
        m.setdefault("points", src.points)  # OverwriteCells puts back the right value, with a warning
    else:
        m.pop("points", None)
    m["schema_version"] = 3  # an older or missing version would abort the whole nbgrader run
    for key in set(m) - SCHEMA_KEYS:
        del m[key]
    return changed


def repair_notebook(nb, sources: list[SourceCell], log=None) -> list[str]:
    """Make ``nb``'s nbgrader cells agree with ``sources``, in place; return one note per repair.

    1. Cells with nbgrader metadata that names no id and sets no flag lose it
       (nbgrader ignores them, but an empty dict fails its schema check).
    2. A grade id used by several cells: the copy in the right place is kept
       (its neighbours are the source's neighbours; else the first; for an
       answer cell, one with the student's work); other copies are removed when
       they are test cells or repeat the source's or the kept copy's text,
       otherwise kept as ordinary cells.
    3. A cell with an id the source does not have: if a source cell of the same
       type and role is missing and this cell sits where it belongs (between its
       source neighbours), it gets that id back; otherwise it is kept as an
       ordinary cell, or removed if it only repeats a test cell.
    4. Kept cells get their source cell's grade/solution/locked/task flags back.
    5. Grade and task cells still missing are put back from the source
       (as ``OverwriteCells.add_missing_cells`` would, but after the nearest
       source cell present, whatever its kind).
    """
    known = {s.name: s for s in sources}
    order = {s.name: i for i, s in enumerate(sources)}
    notes: list[str] = []
    drop: set[int] = set()

    def note(text):
        notes.append(text)
        if log is not None:
            log.warning("Repaired notebook: %s", text)

    # 1. metadata that claims nothing
    for cell in nb.cells:
        if "nbgrader" in cell.get("metadata", {}) and not _claims(cell):
            _demote(cell)

    claims = [(i, c) for i, c in enumerate(nb.cells) if _claims(c)]

    def gid(cell):
        return (_nbmeta(cell) or {}).get("grade_id") or ""

    def neighbours_ok(i, name):
        """The nearest cells around ``i`` with other known ids are on the same sides of ``name`` in the source."""
        before = [order[gid(c)] for j, c in claims if j < i and gid(c) in known and gid(c) != name]
        after = [order[gid(c)] for j, c in claims if j > i and gid(c) in known and gid(c) != name]
        return (not before or before[-1] < order[name]) and (not after or after[0] > order[name])

    # 2. duplicated ids
    by_id: dict[str, list[int]] = {}
    for i, c in claims:
        if gid(c) in known:
            by_id.setdefault(gid(c), []).append(i)
    for name, where in by_id.items():
        if len(where) < 2:
            continue
        src = known[name]
        pool = [i for i in where if neighbours_ok(i, name)] or where
        if src.solution:
            pool = [i for i in pool if not _same(nb.cells[i].source, src.source)] or pool
        keep = pool[0]
        removed, kept_plain = 0, 0
        for i in where:
            if i == keep:
                continue
            cell = nb.cells[i]
            if src.test or _same(cell.source, src.source) or _same(cell.source, nb.cells[keep].source):
                drop.add(i)
                removed += 1
            else:
                _demote(cell)
                kept_plain += 1
        parts = []
        if removed:
            parts.append(f"{removed} {'copy' if removed == 1 else 'copies'} removed")
        if kept_plain:
            parts.append(f"{kept_plain} with other text kept as ordinary (ungraded) "
                         f"{'cell' if kept_plain == 1 else 'cells'}")
        note(f"cell {name!r} appeared {len(where)} times: kept the one at cell {keep + 1}, " + ", ".join(parts))

    # 3. unknown ids: map back to a missing source cell, or demote
    present = {gid(c): i for i, c in claims if gid(c) in known and i not in drop and _claims(c)}
    unknown = [i for i, c in claims if gid(c) not in known]
    taken: set[int] = set()
    for src in sources:
        if src.name in present:
            continue
        before = [present[s.name] for s in sources[:order[src.name]] if s.name in present]
        after = [present[s.name] for s in sources[order[src.name] + 1:] if s.name in present]
        lo, hi = (max(before) if before else -1), (min(after) if after else len(nb.cells))
        fits = [i for i in unknown if i not in taken and lo < i < hi and nb.cells[i].cell_type == src.cell_type
                and _flags(nb.cells[i]) == src.flags()]
        if not fits:
            continue
        best = max(fits, key=lambda i: (difflib.SequenceMatcher(None, _norm(nb.cells[i].source),
                                                                _norm(src.source)).ratio(), -i))
        taken.add(best)
        old = gid(nb.cells[best])
        nb.cells[best].metadata["nbgrader"]["grade_id"] = src.name
        present[src.name] = best
        note(f"cell {old!r} (not in the assignment) sits where {src.name!r} belongs and is the same kind of cell: "
             f"its id was set back to {src.name!r}")
    tests = [s.source for s in sources if s.test]
    tests += [_HIDDEN.sub("", t) for t in tests]
    tests += [nb.cells[i].source for n, i in present.items() if known[n].test]
    for i in unknown:
        if i in taken:
            continue
        cell = nb.cells[i]
        old = gid(cell) or "(no id)"
        grade, solution, locked, task = _flags(cell)
        kind = ("test " if _is_test(cell) else "graded " if grade else "answer " if solution else "task " if task
                else "read-only " if locked else "")
        if _is_test(cell) and any(_same(cell.source, t) for t in tests):
            drop.add(i)
            note(f"cell {old!r} is a copy of a test cell under an id the assignment does not have: removed")
        else:
            _demote(cell)
            note(f"cell {old!r} is marked as an nbgrader {kind}cell but is not part of the assignment: "
                 "kept as an ordinary cell, not graded")

    # 4. roles of the kept cells
    for name, i in present.items():
        if _restore_flags(nb.cells[i], known[name]):
            note(f"cell {name!r} had its nbgrader role changed: set back to the source's")

    # 5. missing grade and task cells
    cells = [c for i, c in enumerate(nb.cells) if i not in drop]
    have = {gid(c) for c in cells if _claims(c)}
    maker = OverwriteCells()
    for src in sources:
        if src.name in have or not (src.grade or src.task):
            continue
        cell = from_dict(maker.missing_cell_transform(src, src.points, is_solution=src.solution, is_task=src.task))
        if cell.metadata.nbgrader.get("checksum") is None:
            del cell.metadata.nbgrader["checksum"]
        if nb.get("nbformat", 4) > 4 or nb.get("nbformat_minor", 0) >= 5:
            cell["id"] = generate_corpus_id()
        at = 0
        for prev in reversed(sources[:order[src.name]]):
            idx = next((k for k, c in enumerate(cells) if _claims(c) and gid(c) == prev.name), None)
            if idx is not None:
                at = idx + 1
                break
        cells.insert(at, cell)
        have.add(src.name)
        note(f"cell {src.name!r} was missing: put back from the source notebook")

    if notes:
        text = ("**Autograder note:** this notebook's nbgrader cells were repaired before grading.\n\n"
                + "\n".join(f"- {n}" for n in notes))
        cells.insert(0, new_markdown_cell(text, metadata={"autograder": NOTE_MARK}))
    nb.cells = cells
    return notes


class RepairCells(NbGraderPreprocessor):
    """Repair duplicated, renamed and extra nbgrader cells against the gradebook's source cells.

    Runs first in ``Autograde.sanitize_preprocessors`` (before nbgrader's
    ``DeduplicateIds``, ``OverwriteCells`` and ``CheckCellMetadata``, which
    would otherwise abort the run or reject the notebook); see
    :func:`repair_notebook` for what is repaired and how. Every repair is
    logged as a warning and listed in a markdown note at the top of the
    notebook; the list is also left in ``resources["autograder"]["repairs"]``.
    """

    note_in_notebook = Bool(True, help="Put a markdown cell listing the repairs at the top of the notebook").tag(
        config=True)

    def preprocess(self, nb: NotebookNode, resources: dict):
        info = resources["nbgrader"]
        sources = source_cells_from_gradebook(info["db_url"], info["notebook"], info["assignment"])
        notes = repair_notebook(nb, sources, self.log)
        if notes and not self.note_in_notebook:
            nb.cells = [c for c in nb.cells if c.get("metadata", {}).get("autograder") != NOTE_MARK]
        resources.setdefault("autograder", {})["repairs"] = notes
        return nb, resources


def sanitize_preprocessors() -> list:
    """nbgrader's default ``Autograde.sanitize_preprocessors`` with :class:`RepairCells` first."""
    from nbgrader.converters import Autograde

    defaults = list(Autograde.class_traits()["sanitize_preprocessors"].default())
    return [RepairCells] + [p for p in defaults if p is not RepairCells]
