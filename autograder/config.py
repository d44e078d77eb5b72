"""The course's nbgrader configuration, in one place.

Every instructor command (``python -m autograder ...``) loads it; so does
plain nbgrader started in the course folder (through the ``nbgrader_config.py`` there), or
elsewhere with ``nbgrader autograde A --AutogradeApp.config_file=<repo>/autograder/nbgrader_config.py``.
Limits an instructor may want to change (per-cell and per-task time, memory
per task) can be given on the command line or in the environment.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

CONFIG_FILE = Path(__file__).with_name("nbgrader_config.py")
COURSE_ID = "nn-course"


def configure(c, root: str | os.PathLike | None = None) -> None:
    """Fill the traitlets config ``c`` for a course rooted at ``root`` (default: the current folder)."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
    from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearHiddenTests,
                                        IgnorePattern, LimitOutput, SaveAutoGrades)

    from .nbgrader_ext import JudgeTasks, MathToMathML, SafeExecute, SaveAutoGradesAndReview

    root = Path(root or os.environ.get("COURSE_ROOT") or os.getcwd()).resolve()
    # nbgrader 0.9 trips SQLAlchemy 2's autoflush check on every new submission; the warning is
    # harmless (nbgrader adds the objects itself) and only buries the grading output
    warnings.filterwarnings("ignore", message=r".*not in session, add operation along", module="nbgrader")
    # hidden cases are drawn from the course's secret, made here the first time (autograder/secret.py)
    from .secret import use_course_secret

    use_course_secret(root)
    # nbgrader runs `alembic` (installed beside this Python) to set up the gradebook
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.source_directory = "solutions"
    c.CourseDirectory.release_directory = "release"
    c.CourseDirectory.submitted_directory = "submitted"
    c.CourseDirectory.autograded_directory = "autograded"
    c.CourseDirectory.feedback_directory = "feedback"
    # a busy timeout lets parallel graders share the SQLite gradebook
    c.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}?timeout=120"
    c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]
    c.Exchange.root = str(Path(os.environ.get("NBGRADER_EXCHANGE", root / "exchange")))
    c.Exchange.path_includes_course = True

    c.Execute.timeout = int(os.environ.get("AUTOGRADER_CELL_TIMEOUT", 30))
    c.SafeExecute.kernel_memory_mb = int(os.environ.get("AUTOGRADER_KERNEL_MEMORY_MB", 4096))
    c.JudgeTasks.time_limit = float(os.environ.get("AUTOGRADER_TIME_LIMIT", 20))
    c.JudgeTasks.memory_limit_mb = int(os.environ.get("AUTOGRADER_MEMORY_MB", 2048))
    c.SafeExecute.notebook_seconds = c.JudgeTasks.notebook_seconds = \
        float(os.environ.get("AUTOGRADER_NOTEBOOK_SECONDS", 120))
    c.Autograde.autograde_preprocessors = [
        SafeExecute, JudgeTasks, IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGradesAndReview,
        AssignLatePenalties, CheckCellMetadata,
    ]
    # nbgrader's sanitize steps, after RepairCells mends duplicated, renamed, extra cells (autograder/repair.py)
    from .repair import sanitize_preprocessors
    c.Autograde.sanitize_preprocessors = sanitize_preprocessors()
    # feedback: scores and messages, never the hidden tests; parts named, hand-graded parts
    # "pending" until graded; math as MathML and nothing else from the network (autograder/feedback.py)
    from .feedback import TEMPLATE_DIR, TEMPLATE_NAME, FeedbackGrades
    c.GenerateFeedback.preprocessors = [FeedbackGrades, CSSHTMLHeaderPreprocessor, ClearHiddenTests, MathToMathML]
    # scoped to the feedback step's exporter (its parent), so the Formgrader's own pages keep theirs
    c.GenerateFeedback.HTMLExporter.template_name = TEMPLATE_NAME
    c.GenerateFeedback.HTMLExporter.extra_template_basedirs = [str(TEMPLATE_DIR)]
    c.ClearHiddenTests.enforce_metadata = False
