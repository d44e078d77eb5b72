"""Two doors into JupyterLab: the student's and the instructor's.

``python -m autograder lab`` (``make lab``) is the student's door. It opens
JupyterLab inside ``workspace/``, a student's own copy of the release
notebooks: a notebook is copied there once, when it is missing, and never
replaced by any command, so work in progress is never overwritten. Only the
student's nbgrader extension runs (the Validate button); the Formgrader, Create
Assignment and the exchange-based Assignment and Course lists are off, and the
file browser cannot leave the workspace (no ``solutions/``, tasks or gradebook).

``python -m autograder instructor`` (``make instructor``) is the instructor's
door: JupyterLab at the course root with the Formgrader and Create Assignment,
the course's nbgrader settings, and MathJax served by the Jupyter server itself
(``jupyter-server-mathjax``; ``jupyter_data/`` overrides nbconvert's MathJax macro, which
would load it from a CDN), so the Formgrader shows formulas offline.

Each door has its own Jupyter configuration folder (``.jupyter/student`` and
``.jupyter/instructor`` in the course root), written on every start, so the
doors never depend on, or change, the user's own Jupyter settings.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import sys
import time
from pathlib import Path

__all__ = ["WORKSPACE", "MARKER", "fill_workspace", "is_workspace", "backup", "door_command",
           "STUDENT_OFF", "INSTRUCTOR_OFF"]

WORKSPACE = "workspace"
JUPYTER_DATA = Path(__file__).with_name("jupyter_data")  # the course's nbconvert template overrides
MARKER = ".nn-course-workspace"  # marks a student's workspace: no instructor command writes into one

# nbgrader's JupyterLab plugins and server extensions each door turns off
_EXCHANGE_PLUGINS = ["@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:course-list",
                     "@jupyterlab/apputils-extension:announcements"]  # (and the news pop-up)
STUDENT_OFF = {
    "plugins": _EXCHANGE_PLUGINS + ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                                    "@jupyter/nbgrader:menu"],
    "server": ["nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.assignment_list",
               "nbgrader.server_extensions.course_list"],
}
INSTRUCTOR_OFF = {
    "plugins": _EXCHANGE_PLUGINS,
    "server": ["nbgrader.server_extensions.assignment_list", "nbgrader.server_extensions.course_list"],
}


def is_workspace(folder: Path) -> bool:
    """Whether ``folder`` is (inside) a student's workspace."""
    folder = Path(folder).resolve()
    return any((p / MARKER).exists() for p in [folder, *folder.parents])


def backup(root: Path, path: Path, kind: str) -> Path:
    """Copy ``path`` (a file or a folder) to ``backups/<kind>/<time>/...`` under ``root``; return the copy."""
    root = Path(root)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = root / "backups" / kind / stamp
    n = 1
    while base.exists():  # two backups in the same second
        n += 1
        base = root / "backups" / kind / f"{stamp}-{n}"
    try:
        rel = Path(path).resolve().relative_to(Path(root).resolve())
    except ValueError:
        rel = Path(Path(path).name)
    dest = base / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    if Path(path).is_dir():
        shutil.copytree(path, dest)
    else:
        shutil.copy2(path, dest)
    return dest


def fill_workspace(root: Path, workspace: Path | None = None) -> tuple[Path, list]:
    """Copy each release notebook (and the files beside it) into the workspace when it is missing there.

    Returns (workspace, the paths copied). Nothing in the workspace is ever replaced."""
    root = Path(root)
    ws = Path(workspace) if workspace else root / WORKSPACE
    ws.mkdir(parents=True, exist_ok=True)
    marker = ws / MARKER
    if not marker.exists():
        marker.write_text("A student's workspace: the course's commands never write over the files in it.\n")
    copied = []
    release = root / "release"
    for folder in sorted(p for p in release.iterdir() if p.is_dir()) if release.is_dir() else []:
        for src in sorted(folder.rglob("*")):
            if src.is_dir() or any(part.startswith(".") for part in src.relative_to(folder).parts):
                continue
            dest = ws / folder.name / src.relative_to(folder)
            if dest.exists():
                continue  # the student's copy, whatever it holds now
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest)
            copied.append(dest)
    return ws, copied


def same_tree(a: Path, b: Path) -> bool:
    """Whether two folders hold the same files with the same bytes."""
    cmp = filecmp.dircmp(a, b)
    if cmp.left_only or cmp.right_only or cmp.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    return not mismatch and not errors and all(same_tree(a / d, b / d) for d in cmp.common_dirs)


def _write_config(folder: Path, off: dict, extra_server: dict | None = None) -> Path:
    """A Jupyter config folder that turns ``off``'s plugins and server extensions off."""
    (folder / "labconfig").mkdir(parents=True, exist_ok=True)
    (folder / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {name: True for name in off["plugins"]}}, indent=1) + "\n")
    # no news or update checks: they would reach for the network and pop up in the student's way
    server = {"ServerApp": {"jpserver_extensions": {name: False for name in off["server"]}},
              "LabApp": {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"}}
    # every cell of a notebook rendered (after the first paint), so the browser's find and a
    # screen reader see the whole notebook; kept if the user has changed it since
    tracker = folder / "lab" / "user-settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    if not tracker.exists():
        tracker.parent.mkdir(parents=True, exist_ok=True)
        tracker.write_text(json.dumps({"windowingMode": "defer"}, indent=1) + "\n")
    for section, values in (extra_server or {}).items():
        server.setdefault(section, {}).update(values)
    (folder / "jupyter_server_config.json").write_text(json.dumps(server, indent=1) + "\n")
    return folder


def door_command(root: Path, who: str, port: int = 8888, ip: str = "127.0.0.1", browser: bool = True,
                 workspace: Path | None = None) -> tuple[list, dict, Path]:
    """(argv, environment, working folder) that open JupyterLab for ``who`` ("student" or "instructor")."""
    root = Path(root).resolve()
    bindir = Path(sys.executable).parent
    env = dict(os.environ)
    env["PATH"] = str(bindir) + os.pathsep + env.get("PATH", "")
    env.pop("PYTHONPATH", None)
    if who == "student":
        ws = Path(workspace).resolve() if workspace else root / WORKSPACE
        conf = _write_config(root / ".jupyter" / "student", STUDENT_OFF)
        cwd, url = ws, "/lab/tree"
        # Validate loads nbgrader settings from the folder it runs in: the workspace has none of the
        # instructor's, and the course root's nbgrader_config.py is not read
        env.pop("COURSE_ROOT", None)
    elif who == "instructor":
        conf = _write_config(root / ".jupyter" / "instructor", INSTRUCTOR_OFF)
        cwd, url = root, "/lab"
        env["COURSE_ROOT"] = str(root)
        # nbgrader's Formgrader warns on every page when the exchange folder is missing; this course
        # runs no exchange (it hands out files), but the folder nbgrader is configured with must exist
        exchange = Path(env.get("NBGRADER_EXCHANGE") or root / "exchange")
        exchange.mkdir(parents=True, exist_ok=True)
        # the Formgrader's pages take MathJax from this server, not a CDN (jupyter_data/.../mathjax.html.j2)
        env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(JUPYTER_DATA), env.get("JUPYTER_PATH")) if p)
    else:
        raise ValueError(f"who must be 'student' or 'instructor', got {who!r}")
    env["JUPYTER_CONFIG_DIR"] = str(conf)
    argv = [str(bindir / "jupyter"), "lab", f"--ip={ip}", f"--port={port}", "--port-retries=0",
            f"--ServerApp.root_dir={cwd}", f"--ServerApp.default_url={url}"]
    if not browser:
        argv.append("--no-browser")
    if hasattr(os, "getuid") and os.getuid() == 0:
        argv.append("--allow-root")
    return argv, env, cwd
