"""Answers for the chapter assignments: wrong, differently right (one module per chapter).

Each module ``chNN.py`` sets ``NOTEBOOK`` (the assignment folder) and, per task of the
chapter's task module:

* ``CELLS[task] = (answer-cell grade_id, test-cell grade_id)``;
* ``WRONG[task] = {"<function>: <misconception>": code, ...}``: at least three per
  function the task grades, each a plausible mistake that must lose points;
* ``RIGHT[task] = {"<function>: <how it differs>": code, ...}``: at least one per
  function, a correct answer written differently from the solution that keeps every point.

``code`` is appended to the model answer in the answer cell, so it only needs to redefine
the function it changes (a later ``def`` wins). ``tests/test_chapters.py`` judges each one
through the grader's own judge; ``tests/test_chapters_e2e.py`` grades whole notebooks.
"""


def fn(signature, *body):
    """The source of a function: ``fn("f(x)", "return x")`` -> "def f(x):\n    return x\n"."""
    return f"def {signature}:\n" + "".join(f"    {line}\n" for line in body)
