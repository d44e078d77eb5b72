"""Imported once by the sandbox's fork server: every task module and what tasks
use, so each sandbox child starts with them loaded."""

from . import compare, drivers, wire  # noqa: F401
from .tasks import all_tasks

try:
    all_tasks()
except Exception:  # noqa: BLE001 - a broken task module is reported where the task is used
    pass
