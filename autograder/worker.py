"""A grading worker: reads student ids on stdin, autogrades each with nbgrader,
answers one JSON line per student on stdout. Started by ``grade --jobs N``.

It lives as long as the run, so nbgrader, the kernel machinery and the
sandbox's warm fork server are loaded once, not once per notebook.
"""

from __future__ import annotations

import contextlib
import json
import sys


def main(argv=None) -> int:
    argv = argv if argv is not None else sys.argv[1:]
    root, assignment = argv[0], argv[1]
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing but replies on the real stdout
    import os

    os.environ.setdefault("AUTOGRADER_FAST_KERNELS", "1")  # warm kernels (see autograder.fastkernel)
    from .cli import make_api

    api = make_api(root)
    for line in sys.stdin:
        student = line.strip()
        if not student:
            continue
        with contextlib.redirect_stdout(sys.stderr):
            result = api.autograde(assignment, student, force=True, create=True)
        message = ""
        if not result.get("success"):
            message = _failure(result)
        out.write(json.dumps({"student": student, "success": bool(result.get("success")), "message": message}) + "\n")
        out.flush()
    return 0


def _failure(result: dict) -> str:
    """The line that says why nbgrader could not grade a notebook (the exception), else its last errors."""
    import re

    text = (result.get("log") or "") + "\n" + (result.get("error") or "")
    causes = [ln.strip() for ln in text.splitlines() if re.match(r"\s*[\w.]*(Error|Exception)\b.*: ", ln)]
    if causes:
        return causes[-1][:500]
    errors = [ln.strip() for ln in text.splitlines() if "ERROR" in ln]
    return " | ".join(errors[-3:])[:500] or "autograde failed (no message)"


if __name__ == "__main__":
    sys.exit(main())
