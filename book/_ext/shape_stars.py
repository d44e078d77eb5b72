"""Sphinx extension: shapes such as ``(*, F)`` in the course's docstrings stay plain text.

The docstrings write a shape's "any leading axes" as ``*`` (as PyTorch's docs do); reST would
read ``(*, F)`` as the start of emphasis that never ends. Outside backquotes, a ``*`` that
stands alone between brackets, commas and spaces is escaped before autodoc renders it.
"""

import re

_STAR = re.compile(r"(?<=[(\[,\s])\*(?=[,)\]\s])")


def _escape(line: str) -> str:
    parts = line.split("`")
    return "`".join(_STAR.sub(r"\\*", part) if i % 2 == 0 else part for i, part in enumerate(parts))


def _process(app, what, name, obj, options, lines):
    lines[:] = [_escape(line) for line in lines]


def setup(app):
    app.connect("autodoc-process-docstring", _process)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
