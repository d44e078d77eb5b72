"""The student's and the instructor's day in a real browser.

Headless Debian chromium (``/usr/bin/chromium``, never a downloaded browser), driven by
Playwright, against the course's two doors started as the README says:

* the student: ``make lab`` lands in the workspace; the notebook opens; with a wrong
  neuron, Run All reaches the end and only Part B reports a failure, and Validate names
  exactly that part; a neuron that raises still lets Run All finish; fixed, the notebook
  validates; nothing outside the workspace can be seen;
* the instructor: ``python -m autograder instructor``; the Formgrader lists the
  submission; its written answer is graded by hand with a comment, with the math
  rendered by MathJax served from the machine; the feedback shows score and comment,
  math as MathML; no request ever leaves the machine.

Each step saves a screenshot in ``browser-screenshots/`` (or ``$BROWSER_SCREENSHOTS``).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

pytestmark = [pytest.mark.grading, pytest.mark.autograder]

REPO = Path(__file__).resolve().parents[1]
A = "00-setup"
ASSIGNMENTS = sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir())
CHROMIUM = "/usr/bin/chromium"
CELLS = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell"  # the cells of the notebook on show
SHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", REPO / "browser-screenshots"))
MODEL = nbformat.read(REPO / "solutions" / A / f"{A}.ipynb", as_version=4)
WRONG_NEURON = "def neuron(x, w, b):\n    return np.maximum(0, x @ w + b)  # ReLU instead of the sigmoid\n"
RAISING_NEURON = "def neuron(x, w, b):\n    raise ValueError('the shapes do not fit')\n"
WRITTEN = r"The factor $e^{-m}$ cancels in $\frac{e^{z_c-m}}{\sum_j e^{z_j-m}}$; 1000 overflows and -1000 underflows."

if not Path(CHROMIUM).exists():  # make test installs it (make browser); say so loudly rather than skip
    pytest.fail(f"{CHROMIUM} is missing: run `sudo apt-get install -y chromium` (or `make browser` as root)",
                pytrace=False)


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------

def model_answer(grade_id: str) -> str:
    for cell in MODEL.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return re.sub(r"[ \t]*### (BEGIN|END) SOLUTION\n?", "", cell.source)
    raise KeyError(grade_id)


def fill(path: Path, answers: dict, dest: Path | None = None) -> Path:
    """``path`` with ``answers`` (grade_id -> code, or "model") and no outputs, written to ``dest``."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = model_answer(gid) if answers[gid] == "model" else answers[gid]
    nbformat.write(nb, dest or path)
    return dest or path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(root, *args, check=True):
    proc = subprocess.run([sys.executable, "-m", "autograder", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=600)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def course_copy(base: Path) -> Path:
    """A course folder like a fresh clone, sharing this repository's installed .venv."""
    root = base / "course"
    root.mkdir()
    for name in ("Makefile", "pyproject.toml", "nbgrader_config.py"):
        shutil.copy2(REPO / name, root / name)
    shutil.copytree(REPO / "solutions", root / "solutions")
    (root / ".venv").symlink_to(Path(sys.prefix))
    stamp = Path(sys.prefix) / ".installed"
    if stamp.exists():  # make must see the venv as installed (the stamp newer than pyproject.toml)
        t = stamp.stat().st_mtime - 60
        os.utime(root / "pyproject.toml", (t, t))
    return root


class Server:
    """A JupyterLab started by ``argv`` in ``cwd``; stopped (with all its children) by ``stop``."""

    def __init__(self, argv, cwd, port, log: Path):
        self.port, self.token, self.log = port, secrets.token_hex(16), log
        env = dict(os.environ, JUPYTER_TOKEN=self.token)
        env.pop("JUPYTER_CONFIG_DIR", None)
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 120
        while True:
            try:
                self.api("GET", "/api/status")
                return
            except (OSError, urllib.error.URLError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"JupyterLab did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"http://127.0.0.1:{self.port}{path}{sep}token={self.token}"

    def api(self, method: str, path: str):
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()

    def status(self, path: str) -> int:
        try:
            return self.api("GET", path)[0]
        except urllib.error.HTTPError as err:
            return err.code

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                               args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


def watched_page(browser, port: int):
    """A page that records every request and aborts any that would leave the machine."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.outside, page.console_errors = [], []

    def route(r):
        url = r.request.url
        if re.match(rf"https?://(127\.0\.0\.1|localhost):{port}/", url) or url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            page.outside.append(url)
            r.abort()

    context.route("**/*", route)
    page.on("console", lambda msg: page.console_errors.append(msg.text) if msg.type == "error" else None)
    return page


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


# ---------------------------------------------------------------------------------------------
# the student's day
# ---------------------------------------------------------------------------------------------

def run_all_and_wait(page, path: Path):
    """Run All from the menu; wait until every code cell has run; return the saved notebook."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        page.wait_for_timeout(1500)
        prompts = page.locator(f"{CELLS}.jp-CodeCell .jp-InputArea-prompt").all_inner_texts()
        if any("*" in t for t in prompts):
            continue
        page.keyboard.press("Control+s")
        page.wait_for_timeout(700)
        nb = nbformat.read(path, as_version=4)
        if all(c.execution_count for c in nb.cells if c.cell_type == "code"):
            return nb
    raise AssertionError(f"Run All did not reach the end: prompts {prompts}")


def cell_outputs(page) -> list:
    """Per notebook cell: [(mime type, text)] of its outputs, in order."""
    return page.evaluate("""(CELLS) => Array.from(document.querySelectorAll(CELLS)).map(c =>
        Array.from(c.querySelectorAll('.jp-OutputArea-output')).map(o =>
            [o.getAttribute('data-mime-type') || '', o.innerText]))""", CELLS)


def validate(page, name: str) -> str:
    page.keyboard.press("Control+s")
    page.wait_for_timeout(800)
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar").get_by_text("Validate", exact=True).click()
    dialog = page.locator(".jp-Dialog-content")
    dialog.wait_for(timeout=120_000)
    page.wait_for_function("() => !/Validating/.test(document.querySelector('.jp-Dialog-content').innerText)",
                           timeout=120_000)
    text = dialog.inner_text()
    shot(page, name)
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached", timeout=10_000)
    return text


def wait_for_kernel(page) -> None:
    """The notebook is on screen and its kernel is idle."""
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=90_000)
    page.wait_for_function("() => /Python 3[^|]*\\| Idle/.test(document.querySelector('#jp-main-statusbar')"
                           "?.innerText || '')", timeout=90_000)


def open_notebook(page, server, relpath: str) -> None:
    page.goto(server.url(f"/lab/tree/{relpath}?reset"))  # reset: only this notebook open, on show
    wait_for_kernel(page)


def test_students_day(browser, tmp_path):
    root = course_copy(tmp_path)
    plan = subprocess.run(["make", "-n", "lab"], cwd=root, capture_output=True, text=True)
    assert "pip install" not in plan.stdout, "make lab wants to reinstall in the test copy:\n" + plan.stdout
    port = free_port()
    server = Server(["make", "lab", f"PORT={port}", "LAB_ARGS=--no-browser"], root, port, tmp_path / "lab.log")
    try:
        # 1. make lab lands in the workspace, which holds the student notebooks only
        ws = root / "workspace"
        notebook = ws / A / f"{A}.ipynb"
        assert notebook.is_file()
        listing = json.loads(server.api("GET", "/api/contents")[1])
        assert sorted(c["name"] for c in listing["content"] if not c["name"].startswith(".")) == ASSIGNMENTS
        assert server.status("/formgrader") == 404
        for outside in ("/api/contents/..%2Fsolutions", "/api/contents/../solutions", "/files/../gradebook.db"):
            assert server.status(outside) in (400, 403, 404), outside

        page = watched_page(browser, port)
        page.goto(server.url("/"))  # where the URL make lab prints leads
        page.locator(".jp-DirListing-item").first.wait_for(timeout=90_000)
        assert re.search(r"/lab(/tree)?/?$", page.url.split("?")[0]), page.url
        assert page.locator(".jp-DirListing-item .jp-DirListing-itemText").all_inner_texts() == ASSIGNMENTS
        menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
        assert "Nbgrader" not in menus, menus
        body = page.inner_text("body")
        for gone in ("Formgrader", "Create Assignment", "Assignment List", "Error fetching courses"):
            assert gone not in body, gone
        shot(page, "student-01-workspace")

        # 2. a wrong neuron: Run All reaches the end, only Part B fails, Validate names only it
        fill(notebook, {"choose-device": "model", "neuron": WRONG_NEURON, "softmax": "model",
                        "written-softmax-shift": WRITTEN})
        page.locator(".jp-DirListing-item", has_text=A).dblclick()
        page.locator(".jp-DirListing-item", has_text=f"{A}.ipynb").dblclick()
        wait_for_kernel(page)
        shot(page, "student-02-notebook-open")
        saved = run_all_and_wait(page, notebook)
        ids = [c.metadata["nbgrader"]["grade_id"] for c in MODEL.cells]
        assert [c.metadata["nbgrader"]["grade_id"] for c in saved.cells] == ids
        # what the browser shows: Part B's report on the stderr (red) background, A and C on stdout
        stderr = "application/vnd.jupyter.stderr"
        page.locator(CELLS).nth(ids.index("test-neuron")).scroll_into_view_if_needed()
        by_id = dict(zip(ids, cell_outputs(page)))
        assert any(m == stderr and "neuron: 0/2 cases passed" in t for m, t in by_id["test-neuron"]), \
            by_id["test-neuron"]
        for gid in ("test-choose-device", "test-softmax"):
            assert by_id[gid] and all(m != stderr for m, _ in by_id[gid]), (gid, by_id[gid])
            assert "cases passed" in by_id[gid][0][1]
        for gid in ("test-choose-device", "test-neuron", "test-softmax"):
            assert len(by_id[gid]) == 1, (gid, by_id[gid])  # one report, no Out[n] repeating it
        shot(page, "student-03-run-all-wrong-neuron")
        text = validate(page, "student-04-validate-fails")
        assert "failed" in text.lower(), text
        assert 'check("00.neuron", neuron)' in text and "00.softmax" not in text and "00.device" not in text, text

        # 3. a neuron that raises: Run All still reaches the end; the plot cell says what to fix
        raising = fill(notebook, {"neuron": RAISING_NEURON}, dest=ws / A / "raising.ipynb")
        open_notebook(page, server, f"{A}/{raising.name}")
        saved = run_all_and_wait(page, raising)
        page.locator(CELLS).nth(ids.index("neuron-plot")).scroll_into_view_if_needed()
        by_id = dict(zip(ids, cell_outputs(page)))
        assert any("fix Part B" in t for _, t in by_id["neuron-plot"]), by_id["neuron-plot"]
        assert any("cases passed" in t for _, t in by_id["test-softmax"])
        shot(page, "student-05-run-all-raising-neuron")

        # 4. the fixed notebook validates
        page.goto(server.url("/lab"))
        page.locator(".jp-DirListing-item").first.wait_for(timeout=90_000)
        fill(notebook, {"neuron": "model"})
        open_notebook(page, server, f"{A}/{A}.ipynb")
        text = validate(page, "student-06-validate-success")
        assert "Success" in text and "failed" not in text.lower(), text
        assert not page.outside, page.outside
    finally:
        server.stop()


def test_students_day_with_every_chapter(browser, tmp_path):
    """Each chapter behaves like the pilot: with one wrong answer, Run All reaches the end and
    only that part reports on stderr; Validate names exactly that part."""
    sys.path.insert(0, str(REPO / "tests"))
    from test_chapters import MODULES
    from test_chapters import model_answer as chapter_answer

    root = course_copy(tmp_path)
    port = free_port()
    server = Server(["make", "lab", f"PORT={port}", "LAB_ARGS=--no-browser"], root, port, tmp_path / "lab.log")
    try:
        page = watched_page(browser, port)
        page.goto(server.url("/lab"))
        page.locator(".jp-DirListing-item").first.wait_for(timeout=90_000)
        stderr = "application/vnd.jupyter.stderr"
        for name, mod in sorted(MODULES.items()):
            a, prefix = mod.NOTEBOOK, mod.NOTEBOOK[:2]
            task, label = mod.VALIDATE_WRONG
            wrong_cell, wrong_test = mod.CELLS[task]
            source = nbformat.read(REPO / "solutions" / a / f"{a}.ipynb", as_version=4)
            notebook = root / "workspace" / a / f"{a}.ipynb"
            nb = nbformat.read(notebook, as_version=4)
            for cell in nb.cells:
                meta = cell.metadata.get("nbgrader", {})
                if cell.cell_type == "code":
                    cell.outputs, cell.execution_count = [], None
                if meta.get("solution") and cell.cell_type == "code":
                    cell.source = chapter_answer(source, meta["grade_id"])
                    if meta["grade_id"] == wrong_cell:
                        cell.source += "\n\n" + mod.WRONG[task][label]
                elif meta.get("solution"):
                    cell.source = "My answer, in my own words: the reason and what changes it."
            nbformat.write(nb, notebook)
            open_notebook(page, server, f"{a}/{a}.ipynb")
            saved = run_all_and_wait(page, notebook)
            ids = [c.metadata["nbgrader"]["grade_id"] for c in saved.cells]
            page.locator(CELLS).nth(ids.index(wrong_test)).scroll_into_view_if_needed()
            by_id = dict(zip(ids, cell_outputs(page)))
            tests = sorted({t for _, t in mod.CELLS.values()})
            for gid in tests:
                on_stderr = [m == stderr for m, _ in by_id[gid]]
                assert by_id[gid] and any(on_stderr) == (gid == wrong_test), (a, gid, by_id[gid])
            shot(page, f"student-ch{prefix}-run-all-one-wrong-part")
            text = validate(page, f"student-ch{prefix}-validate")
            assert f'check("{prefix}.{task}"' in text, (a, text)
            named = set(re.findall(rf'check\("({prefix}\.\w+)"', text))
            assert named == {f"{prefix}.{task}"}, (a, named)
        assert not page.outside, page.outside
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------
# the instructor's day
# ---------------------------------------------------------------------------------------------

def test_instructors_day(browser, tmp_path):
    from nbgrader.api import Gradebook

    root = course_copy(tmp_path)
    cli(root, "generate", A)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    fill(root / "release" / A / f"{A}.ipynb", {"choose-device": "model", "neuron": "model", "softmax": "model",
                                              "written-softmax-shift": WRITTEN}, dest=inbox / "ada.ipynb")
    cli(root, "collect", A, str(inbox))
    graded = cli(root, "grade", A, "--jobs", "1", "--no-progress")
    assert "wait for hand grading" in graded.stdout
    held = cli(root, "feedback", A, "--only-complete")
    assert "held back for 1 student(s)" in held.stdout and not (root / "feedback" / "ada").exists()
    cli(root, "export", "--to", str(tmp_path / "grades.csv"))
    assert "pending manual grading" in (tmp_path / "grades.csv").read_text()

    port = free_port()
    server = Server([sys.executable, "-m", "autograder", "--root", str(root), "instructor", f"--port={port}",
                     "--no-browser"], root, port, tmp_path / "instructor.log")
    try:
        page = watched_page(browser, port)
        # 1. the Formgrader lists the submission
        page.goto(server.url("/formgrader"))
        page.locator("td", has_text=A).first.wait_for(timeout=60_000)
        page.wait_for_timeout(1000)
        row = page.locator("tr", has=page.locator("td", has_text=A)).first.inner_text()
        assert re.search(r"\b1\b", row), row
        assert "exchange directory" not in page.inner_text("body")
        shot(page, "instructor-01-formgrader")

        # 2. the submission's grading page: math rendered by MathJax from this server
        with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "nn-course") as gb:
            submission_id = gb.find_submission_notebook(A, A, "ada").id
        page.goto(server.url(f"/formgrader/submissions/{submission_id}/?index=0"))
        page.locator("#written-softmax-shift").wait_for(timeout=60_000)
        page.wait_for_function("() => window.MathJax && document.querySelectorAll('.MathJax, .MathJax_CHTML, "
                               "mjx-container').length > 0", timeout=60_000)
        rendered = page.inner_text("#notebook")
        assert "$e^{-m}$" not in rendered and "\\frac" not in rendered, rendered[:2000]
        assert not any("MathJax is not defined" in e for e in page.console_errors), page.console_errors

        # 3. grade the written answer by hand, with a comment. The page saves a field when it changes
        # (on leaving it), once its grades have loaded: wait for that, and type again if a busy machine
        # let the page's own render overwrite the first try
        page.wait_for_load_state("networkidle")
        want = (1.5, False, "Good: name the underflow case too.")
        saved = None
        for _ in range(3):
            page.fill("#written-softmax-shift", "1.5")
            page.keyboard.press("Tab")
            page.fill("#written-softmax-shift-comment", want[2])
            page.keyboard.press("Tab")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "nn-course") as gb:
                    grade = gb.find_grade("written-softmax-shift", A, A, "ada")
                    comment = gb.find_comment("written-softmax-shift", A, A, "ada")
                    saved = (grade.manual_score, grade.needs_manual_grade, comment.manual_comment)
                if saved == want:
                    break
                time.sleep(0.5)
            if saved == want:
                break
        assert saved == want, saved
        page.locator(".panel", has=page.locator("#written-softmax-shift")).last.screenshot(
            path=str(SHOTS / "instructor-02-manual-grade.png"))

        # 4. feedback: complete now, with the hand grade, the comment and the math
        done = cli(root, "feedback", A, "--only-complete")
        assert "held back" not in done.stdout
        page.goto(server.url(f"/files/feedback/ada/{A}/{A}.html"))
        page.locator("#feedback-summary").wait_for(timeout=30_000)
        summary = page.inner_text("#feedback-summary")
        assert "Score: 9.5 / 10" in summary, summary
        assert "Part D: why the shift is safe - written answer" in summary and "1.5 / 2" in summary, summary
        assert "Test cell" not in page.content() and "pending" not in summary
        assert "Good: name the underflow case too." in page.inner_text("body")
        assert page.locator("math").count() > 0
        assert "$e^{-m}$" not in page.inner_text("#notebook")
        shot(page, "instructor-03-feedback")
        page.locator("text=Good: name the underflow case too.").scroll_into_view_if_needed()
        shot(page, "instructor-04-feedback-comment")
        assert not page.outside, f"requests that tried to leave the machine: {page.outside}"
    finally:
        server.stop()
