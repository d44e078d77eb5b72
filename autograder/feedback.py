"""Feedback a student can read: the steps and the template ``generate_feedback`` uses.

:class:`FeedbackGrades` reads the scores and comments from the gradebook (as nbgrader's
``GetGrades`` does) and adds what the course's template (``feedback_template/``) shows:
each graded part named after its part and task ("Part C: a softmax that never overflows
- 00.softmax", not "Test cell"); a hand-graded part that nobody has graded yet marked
*pending*, not "0 / 2"; scores written as points (7.14, not 7.140000000000001); and the
kernel's library warnings taken out of the outputs.
"""

from __future__ import annotations

import re
from pathlib import Path

from nbgrader.preprocessors import GetGrades

__all__ = ["FeedbackGrades", "TEMPLATE_DIR", "TEMPLATE_NAME", "part_labels", "points_text", "strip_warnings"]

TEMPLATE_DIR = Path(__file__).with_name("feedback_template")
TEMPLATE_NAME = "course_feedback"

_POINTS_NOTE = re.compile(r"\s*\((?:[^()]*\bpoints?\b[^()]*)\)")  # "(2 points, graded by hand)"
_TASK = re.compile(r"""check\(\s*["']([\w.\-]+)["']""")
# "file.py:12: DeprecationWarning: text" and the indented source line Python prints under it
_WARNING = re.compile(r"^\S.*:\d+: [A-Z]\w*Warning: .*\n(?:[ \t]+\S.*\n)?", re.MULTILINE)


def points_text(x) -> str:
    """A score as points are written: at most two decimals, no float noise (7.14, not 7.140000000000001)."""
    text = f"{round(float(x or 0.0), 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text



def _heading(source: str) -> str | None:
    for line in source.splitlines():
        if line.startswith("#"):
            text = _POINTS_NOTE.sub("", line.lstrip("#").strip()).strip()
            return text.rstrip(":").strip() or None
    return None


def part_labels(cells) -> dict:
    """grade_id -> a readable name for every graded cell: the part's heading (without its
    "(n points)") and, for a test cell, the task(s) it checks."""
    labels = {}
    heading = None
    for cell in cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        source = cell.get("source", "")
        if cell.get("cell_type") == "markdown" and not meta.get("solution"):
            heading = _heading(source) or heading
        if not (meta.get("grade") or meta.get("solution")) or "grade_id" not in meta:
            continue
        tasks = list(dict.fromkeys(_TASK.findall(source))) if cell.get("cell_type") == "code" else []
        if meta.get("grade") and not meta.get("solution"):
            kind = ", ".join(tasks) if tasks else "checks"
        elif cell.get("cell_type") == "markdown":
            kind = "written answer"
        else:
            kind = "your answer"
        labels[meta["grade_id"]] = f"{heading} - {kind}" if heading else kind
    return labels


def strip_warnings(text: str) -> str:
    """``text`` without the warnings Python printed into it."""
    return _WARNING.sub("", text)


class FeedbackGrades(GetGrades):
    """``GetGrades``, plus the names, the pending marks and the clean-up the template needs."""

    def preprocess(self, nb, resources):
        self._labels = part_labels(nb.cells)
        self._pending = 0.0
        nb, resources = super().preprocess(nb, resources)
        info = resources["nbgrader"]
        info["pending_points"] = self._pending
        info["score_text"] = points_text(info.get("score"))
        info["max_score_text"] = points_text(info.get("max_score"))
        info["late_penalty_text"] = points_text(info.get("late_penalty"))
        info["pending_text"] = f"{points_text(self._pending)} point{'s' if self._pending != 1 else ''}"
        return nb, resources

    def _get_score(self, cell, resources) -> None:
        super()._get_score(cell, resources)
        grade = self.gradebook.find_grade(cell.metadata["nbgrader"]["grade_id"], self.notebook_id,
                                          self.assignment_id, self.student_id)
        fb = cell.metadata.setdefault("feedback", {})
        fb["graded"] = True
        fb["score"] = points_text(grade.score)
        fb["points"] = points_text(grade.max_score)
        if grade.needs_manual_grade:
            fb["pending"] = True
            fb["why"] = "flagged for review by a person" if grade.auto_score is not None \
                else "to be graded by hand"
            self._pending += float(grade.max_score or 0.0)

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") or meta.get("solution"):
            fb = cell.metadata.setdefault("feedback", {})
            fb["panel"] = bool(meta.get("grade") or meta.get("comment"))
            fb["label"] = self._labels.get(meta.get("grade_id"), meta.get("grade_id", ""))
        if cell.cell_type == "code":
            kept = []
            for out in cell.get("outputs", []):
                if out.get("output_type") == "stream" and out.get("name") == "stderr":
                    out["text"] = strip_warnings(out.get("text", ""))
                    if not out["text"].strip():
                        continue
                kept.append(out)
            cell.outputs = kept
        return cell, resources
