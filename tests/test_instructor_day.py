"""The instructor's door without a browser: the Formgrader's pages load nothing from the network.

tests/test_browser.py opens the same pages in chromium; this renders the Formgrader's
grading page the way its server does and reads the HTML.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.autograder

REPO = Path(__file__).resolve().parents[1]

RENDER = r"""
import json, nbformat
from nbconvert import HTMLExporter
from nbgrader.server_extensions.formgrader import handlers
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("The factor $e^{-m}$ cancels.")])
exporter = HTMLExporter(template_name="formgrade", extra_template_basedirs=[handlers.template_path])
resources = {"base_url": "", "notebook_id": "n", "index": 0, "total": 1, "submission_id": "s",
             "assignment_id": "a", "notebook_path": "n.ipynb", "max_score": 0, "student": "s",
             "last_name": "", "first_name": "", "next_url": "", "prev_url": "", "nbgrader": {}}
html, _ = exporter.from_notebook_node(nb, resources=resources)
print(json.dumps(html))
"""


def render_formgrade_page(env) -> str:
    proc = subprocess.run([sys.executable, "-c", RENDER], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def external(html: str) -> list:
    return [m for m in re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="([^"]+)"', html)
            if re.match(r"(https?:)?//[^/]", m) and not m.startswith("//formgrader")]


def test_the_formgrader_page_loads_mathjax_from_the_server(tmp_path):
    from autograder.doors import door_command

    (tmp_path / "solutions").mkdir()
    _, env, _ = door_command(tmp_path, "instructor", browser=False)
    html = render_formgrade_page(env)
    assert '<script src="/static/components/MathJax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe">' in html
    assert not external(html), external(html)
    # without the door's JUPYTER_PATH, nbconvert's macro would use the CDN: the override is what fixes it
    plain = dict(os.environ)
    plain.pop("JUPYTER_PATH", None)
    assert any("cdnjs" in url for url in external(render_formgrade_page(plain)))


def test_mathjax_is_installed_to_be_served():
    import jupyter_server_mathjax

    folder = Path(jupyter_server_mathjax.__file__).parent
    assert list(folder.rglob("MathJax.js")), "jupyter-server-mathjax ships no MathJax.js"
    conf = Path(sys.prefix) / "etc" / "jupyter" / "jupyter_server_config.d" / "jupyter_server_mathjax.json"
    assert json.loads(conf.read_text())["ServerApp"]["jpserver_extensions"]["jupyter_server_mathjax"] is True
