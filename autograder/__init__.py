"""The course autograder: checks for test cells, nbgrader integration, grading CLI.

Test cells call :func:`check`; instructors use ``python -m autograder``
(see the README's instructor section).
"""

from .checks import check

__all__ = ["check"]
