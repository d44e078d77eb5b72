"""The course's secret: what every task's hidden cases are drawn from.

A task's hidden inputs come from a random generator seeded by a secret that
only the instructor's course holds, ``<course root>/.autograder/secret`` (32
random bytes as hex; the file is 0600, its folder 0700). It is made the first
time the course is configured (the first ``generate``, or plain nbgrader
loading :func:`autograder.config.configure`). nbgrader skips dot-folders, so
it never reaches ``release/``; ``.gitignore`` keeps it out of the repository.

Grading processes find it through the environment variable
``AUTOGRADER_SECRET_FILE``, which ``configure`` sets (see
:func:`autograder.tasks.secret`). A student's kernel has neither the file nor
the variable: it can run the visible cases only, and cannot compute the
hidden inputs (or their answers) from the public task code.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["ENV", "secret_path", "ensure_secret", "write_secret", "read_secret", "use_course_secret"]

#: the environment variable that names the secret's file
ENV = "AUTOGRADER_SECRET_FILE"
FOLDER = ".autograder"
SIZE = 32  # bytes


def secret_path(root) -> Path:
    """Where the course at ``root`` keeps its secret."""
    return Path(root).resolve() / FOLDER / "secret"


def _folder(path: Path) -> None:
    made = not path.parent.is_dir()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if made:
        os.chmod(path.parent, 0o700)


def _write_new(path: Path, key: bytes, replace: bool = False) -> None:
    """Write ``key`` (hex) to ``path`` atomically, mode 0600; unless ``replace``, an existing
    file wins (two graders configuring a new course at once agree on one secret)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(key.hex() + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # fails if another process made it first: theirs is kept
            except FileExistsError:
                pass
    finally:
        tmp.unlink(missing_ok=True)


def ensure_secret(root) -> Path:
    """The course's secret file, made (32 random bytes) if the course has none yet."""
    path = secret_path(root)
    if not path.is_file():
        _folder(path)
        _write_new(path, secrets.token_bytes(SIZE))
    return path


def write_secret(root, key: bytes) -> Path:
    """Give the course at ``root`` the secret ``key`` (replacing any it had): to grade a copy of a
    course with the same hidden cases, or to make tests reproducible."""
    if not isinstance(key, (bytes, bytearray)) or not key:
        raise ValueError("a course secret is a non-empty bytes value")
    path = secret_path(root)
    _folder(path)
    _write_new(path, bytes(key), replace=True)
    return path


def read_secret(path) -> bytes:
    """The secret in the file ``path`` (hex digits); ``ValueError`` if it holds none."""
    text = Path(path).read_text().strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if not key:
        raise ValueError(f"{path} does not hold a course secret (hex digits)")
    return key


def use_course_secret(root) -> Path | None:
    """Make the course's secret if needed and name it in ``AUTOGRADER_SECRET_FILE`` for this
    process and the ones it starts. None (and the variable left as it is) when the course
    folder cannot hold one (read-only): asking for hidden cases then says why."""
    try:
        path = ensure_secret(root)
    except OSError:
        return None
    os.environ[ENV] = str(path)
    return path
