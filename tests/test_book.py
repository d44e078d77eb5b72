"""The published book: built offline from solutions/, nothing secret in it, every page checked in a browser.

The site is built once for this file, exactly as ``make book`` builds it (``book/bookbuild.py``:
release notebooks, chapters run with the reference bound in, ``jupyter-book build`` with
warnings as errors). Then:

* the leak audit reads every file of the site and finds nothing (and finds each kind of leak
  planted in a copy);
* every page opens in headless Debian chromium at desktop and phone widths with no console
  error, no request leaving the machine, every image loaded, every formula typeset by the
  site's own MathJax, no sideways scrolling on a phone, and every internal link resolving
  (to a file and, for ``#anchors``, to an element on it); a screenshot of each page at both
  widths lands in ``book/_build/screenshots/`` for a person to look at;
* search finds the chapters; each chapter page offers the release notebook for download.
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO / "book"
CHROMIUM = "/usr/bin/chromium"
SHOTS = BOOK / "_build" / "screenshots"
VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}

pytestmark = pytest.mark.book

spec = importlib.util.spec_from_file_location("bookbuild", BOOK / "bookbuild.py")
bookbuild = importlib.util.module_from_spec(spec)
sys.modules.setdefault("bookbuild", bookbuild)
spec.loader.exec_module(bookbuild)

CHAPTERS = bookbuild.chapters()


@pytest.fixture(scope="module")
def site():
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, str(BOOK / "bookbuild.py")], cwd=REPO, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]
    print(f"book built in {time.monotonic() - t0:.0f} s")
    return bookbuild.SITE


def pages(site: Path) -> list:
    """Every page of the site but index.html, which only sends the browser on to intro.html."""
    return sorted(str(p.relative_to(site)) for p in site.rglob("*.html")
                  if "_static" not in p.parts and "_sources" not in p.parts and p.name != "index.html"
                  or p.relative_to(site) != Path("index.html") and p.name == "index.html")


# ---------------------------------------------------------------------------------------------
# what the build makes
# ---------------------------------------------------------------------------------------------

def test_every_chapter_has_a_page_with_its_release_notebook_to_download(site):
    assert CHAPTERS and CHAPTERS[0] == "00-setup"
    for chapter in CHAPTERS:
        page = (site / "chapters" / f"{chapter}.html").read_text()
        links = re.findall(r'href="([^"]*_downloads/[^"]+\.ipynb)"', page)
        assert links, f"{chapter}: no download link"
        download = (site / "chapters" / unquote(links[0])).resolve()
        offered = nbformat.read(download, as_version=4)
        release = nbformat.read(BOOK / "_release" / chapter / f"{chapter}.ipynb", as_version=4)
        assert offered == release, f"{chapter}: the download is not the release notebook"
        stubs = [c for c in offered.cells if c.metadata.get("nbgrader", {}).get("solution")
                 and c.cell_type == "code"]
        assert stubs and all("raise NotImplementedError" in c.source for c in stubs)
        assert "<img" in page, f"{chapter}: no figure on the page"


def test_pages_show_stubs_outputs_and_no_test_cells():
    for chapter in CHAPTERS:
        page = nbformat.read(BOOK / "chapters" / f"{chapter}.ipynb", as_version=4)
        source = nbformat.read(REPO / "solutions" / chapter / f"{chapter}.ipynb", as_version=4)
        code = "\n".join(c.source for c in page.cells if c.cell_type == "code")
        assert "check(" not in code, f"{chapter}: a test cell is on the page"
        assert "NotImplementedError" in code  # the stubs a student fills in
        for cell in page.cells:
            assert "nbgrader" not in cell.metadata
            for out in cell.get("outputs", []):
                assert out.get("name") != "stderr"
                assert "application/vnd.jupyter.widget-view+json" not in out.get("data", {})
        images = sum("image/png" in o.get("data", {}) for c in page.cells for o in c.get("outputs", []))
        source_plots = sum(c.source.count("plt.show()") for c in source.cells if c.cell_type == "code")
        assert images >= min(source_plots, 1), f"{chapter}: figures missing"


def test_written_answers_become_notes_without_the_answer():
    for chapter in CHAPTERS:
        source = nbformat.read(REPO / "solutions" / chapter / f"{chapter}.ipynb", as_version=4)
        written = sum(1 for c in source.cells if c.cell_type == "markdown"
                      and c.metadata.get("nbgrader", {}).get("solution"))
        page = nbformat.read(BOOK / "chapters" / f"{chapter}.ipynb", as_version=4)
        notes = sum("Your written answer" in c.source for c in page.cells if c.cell_type == "markdown")
        assert notes == written, chapter


def test_reference_functions_replace_the_answers_where_they_can():
    """A graded function with a drop-in reference is bound to it, and the binding refuses a
    reference that disagrees with the checked answer."""
    ref = bookbuild.reference_function("00.softmax", "softmax")
    import numpy as np
    import torch

    x = np.array([[1000.0, 999.0, -1000.0]])
    assert np.allclose(ref(x), [[1 / (1 + np.exp(-1)), 1 / (1 + np.exp(1)), 0.0]])
    t = ref(torch.tensor(x, dtype=torch.float32))
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float32
    assert bookbuild.reference_function("01.perceptron", "Perceptron") is None  # a class: the model answer stays

    import scipy.special

    namespace = {"softmax": lambda x, axis=-1: scipy.special.softmax(x, axis=axis)}  # right, written otherwise
    assert bookbuild.bind_references(namespace, [("00.softmax", "softmax")]) == ["softmax"]
    assert namespace["softmax"].__doc__.startswith("The course's reference")
    wrong = {"softmax": lambda x, axis=-1: x}
    with pytest.raises(bookbuild.BookError, match="disagree"):
        bookbuild.bind_references(wrong, [("00.softmax", "softmax")])


def test_a_new_chapter_needs_no_edit_but_its_folder(tmp_path):
    toc = (BOOK / "_toc.yml").read_text()
    assert "glob: chapters/*" in toc and not any(ch in toc for ch in CHAPTERS)
    (tmp_path / "09-new-things").mkdir()
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "09-new-things" / "09-new-things.ipynb")
    (tmp_path / "notes").mkdir()  # a folder without its notebook is not a chapter
    assert bookbuild.chapters(tmp_path) == ["09-new-things"]


def test_launch_buttons_are_off_and_a_configured_hub_gets_an_nbgitpuller_button(site, tmp_path):
    page = (site / "chapters" / f"{CHAPTERS[0]}.html").read_text()
    assert "git-pull?" not in page and "binder" not in page.lower()  # off by default
    assert "download-notebook-button" not in page  # the header offers no notebook but the assignment's
    hub = BOOK / "_build" / "hub-notebooks" / "chapters"
    assert sorted(p.stem for p in hub.glob("*.ipynb")) == CHAPTERS  # what the hub's repository holds
    config = (BOOK / "_config.yml").read_text()
    config = config.replace('jupyterhub_url: ""', 'jupyterhub_url: "https://hub.example.edu"')
    config = config.replace('url: ""', 'url: "https://github.com/example/nn-course-notebooks"')
    config = config.replace("shape_stars: _ext", f"shape_stars: {BOOK / '_ext'}")  # relative to the config
    (tmp_path / "_config.yml").write_text(config)
    exe = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run([str(exe), "build", str(BOOK), "--config", str(tmp_path / "_config.yml"),
                           "--path-output", str(tmp_path / "out")], cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    page = (tmp_path / "out" / "_build" / "html" / "chapters" / f"{CHAPTERS[0]}.html").read_text()
    url = re.search(r'href="(https://hub\.example\.edu/hub/user-redirect/git-pull\?[^"]+)"', page)
    assert url, "no JupyterHub launch button"
    query = dict(re.findall(r"([a-z]+)=([^&]+)", unquote(url.group(1).replace("&amp;", "&"))))
    assert query["repo"] == "https://github.com/example/nn-course-notebooks" and query["branch"] == "main"
    # nbgitpuller clones into a folder named after the repository; the notebook is where make book put it
    assert query["urlpath"] == f"lab/tree/nn-course-notebooks/chapters/{CHAPTERS[0]}.ipynb"


def test_the_api_page_documents_every_public_module_of_course(site):
    import pkgutil

    import course

    modules = [m.name for m in pkgutil.iter_modules(course.__path__) if not m.name.startswith("_")
               and m.name != "bench"]
    api = (BOOK / "api.md").read_text()
    html = (site / "api.html").read_text()
    for name in modules:
        assert f".. automodule:: course.{name}" in api, f"course.{name} is missing from book/api.md"
        assert f'id="module-course.{name}"' in html
    for function in ("course.activations.softmax", "course.losses.cross_entropy", "course.optim.AdamW"):
        assert f'id="{function}"' in html, function


# ---------------------------------------------------------------------------------------------
# nothing secret
# ---------------------------------------------------------------------------------------------

def test_the_site_publishes_no_solution_rubric_hidden_test_or_secret(site, tmp_path):
    secret = REPO / ".autograder" / "secret"
    assert bookbuild.audit_site(site, CHAPTERS, secret) == []
    # and it would see each kind of leak
    copy = Path(shutil.copytree(site, tmp_path / "site", ignore=shutil.ignore_patterns("mathjax", "_images",
                                                                                      "screenshots")))
    try:
        line = sorted(bookbuild._solution_lines(CHAPTERS))[0]
        case = sorted(bookbuild._hidden_case_names())[0]
        page = copy / "chapters" / f"{CHAPTERS[0]}.html"
        page.write_text(page.read_text() + f"<pre>{line}</pre>\n<pre>check(x, {case!r})</pre>\n"
                        "<p>### BEGIN HIDDEN TESTS</p><p>Rubric (2 points): one point for</p>")
        nb = copy / "_downloads" / "planted.ipynb"
        nb.write_text(json.dumps({"cells": [{"cell_type": "code", "source": "check('00.neuron', neuron, "
                                             "suite=\"hidden\")", "outputs": []}]}))
        found = "\n".join(bookbuild.audit_site(copy, CHAPTERS))
        for expected in ("solution line", "hidden case", "BEGIN HIDDEN TESTS", "Rubric (", "planted.ipynb: holds"):
            assert expected in found, (expected, found)
    finally:
        shutil.rmtree(copy)


# ---------------------------------------------------------------------------------------------
# every page in a browser
# ---------------------------------------------------------------------------------------------

class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served(site):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():  # make test installs it (make browser); fail loudly rather than skip
        pytest.fail(f"{CHROMIUM} is missing: run `sudo apt-get install -y chromium`", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                               args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


_MATH_QUEUE = """() => {
    window.__math = (window.MathJax && MathJax.startup && MathJax.startup.promise) ? 'waiting' : 'no MathJax';
    if (window.__math === 'waiting') MathJax.startup.promise.then(() => { window.__math = 'done'; },
                                                                 e => { window.__math = 'failed: ' + e; });
}"""

_PAGE_FACTS = """() => {
    const visible = document.body.cloneNode(true);
    visible.querySelectorAll('pre, code, script, style, mjx-container, textarea').forEach(e => e.remove());
    const images = [...document.images].map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0}));
    return {
        text: visible.textContent,
        images: images,
        typeset: document.querySelectorAll('mjx-container').length,
        math: document.querySelectorAll('.math').length,
        raw: [...document.querySelectorAll('.math')].filter(e => !e.querySelector('mjx-container')).length,
        overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        ids: [...document.querySelectorAll('[id]')].map(e => e.id).concat([...document.querySelectorAll('a[name]')].map(e => e.name)),
        links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    };
}"""

RAW_TEX = re.compile(r"\\\(|\\\[|\$\$|\\(frac|sum|partial|mathcal|sqrt|cdot|hat|nabla|sigma|alpha|leftarrow)\b")


def test_every_page_in_a_browser_at_desktop_and_phone_width(site, served, browser):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    all_pages = pages(site)
    assert 'url=intro.html' in (site / "index.html").read_text()  # the entry page sends readers on
    assert {"intro.html", "notation.html", "glossary.html", "mistakes.html", "api.html",
            "instructor.html", "search.html"} <= set(all_pages)
    assert {f"chapters/{c}.html" for c in CHAPTERS} <= set(all_pages)
    problems, ids, links = [], {}, set()
    for width, viewport in VIEWPORTS.items():
        context = browser.new_context(viewport=viewport, is_mobile=width == "phone",
                                      device_scale_factor=2 if width == "phone" else 1)
        outside, errors = [], []

        def route(r, outside=outside):
            url = r.request.url
            if url.startswith((served, "data:", "blob:", "about:")):
                r.continue_()
            else:
                outside.append(url)
                r.abort()

        context.route("**/*", route)
        for name in all_pages:
            page = context.new_page()
            page.on("console", lambda m, name=name: errors.append(f"{name}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e, name=name: errors.append(f"{name}: {e}"))
            page.on("requestfailed", lambda r, name=name: None if r.url in outside else
                    errors.append(f"{name}: request failed {r.url}"))
            page.goto(served + name, wait_until="load")
            page.evaluate(_MATH_QUEUE)
            try:
                page.wait_for_function("window.__math !== 'waiting'", timeout=30000)
            except PlaywrightTimeout:
                pass
            state = page.evaluate("window.__math")
            facts = page.evaluate(_PAGE_FACTS)
            where = f"{name} ({width})"
            if facts["math"] and state != "done":
                problems.append(f"{where}: MathJax did not run ({state})")
            if facts["raw"] or RAW_TEX.search(facts["text"]):
                match = RAW_TEX.search(facts["text"])
                problems.append(f"{where}: raw TeX on the page ({facts['raw']} formulas untypeset; "
                                f"{match.group(0) if match else ''})")
            if facts["math"] and not facts["typeset"]:
                problems.append(f"{where}: {facts['math']} formulas but nothing typeset")
            problems += [f"{where}: image did not load: {i['src']}" for i in facts["images"] if not i["ok"]]
            if facts["overflow"] > 2:
                problems.append(f"{where}: scrolls sideways by {facts['overflow']} px")
            ids[name] = set(facts["ids"])
            links |= {(name, href) for href in facts["links"]}
            shot = SHOTS / width / (name.replace("/", "__").removesuffix(".html") + ".png")
            shot.parent.mkdir(parents=True, exist_ok=True)
            tall = page.evaluate("document.documentElement.scrollHeight") < 25000
            page.screenshot(path=str(shot), full_page=tall)
            page.close()
        context.close()
        problems += [f"console ({width}): {e}" for e in errors]
        problems += [f"a request left the machine ({width}): {u}" for u in outside]
    # internal links: to a page or file of the site and, with an anchor, to an element on it
    for name, href in sorted(links):
        if not href.startswith(served):
            continue
        target = urlparse(href)
        path = unquote(target.path)[1:] or "index.html"
        if path.endswith("/"):
            path += "index.html"
        if not (site / path).is_file():
            problems.append(f"{name}: broken link {href}")
        elif target.fragment and path in ids and unquote(target.fragment) not in ids[path]:
            problems.append(f"{name}: link to a missing anchor {href}")
    assert not problems, "\n".join(problems[:40])
    assert len(list((SHOTS / "phone").glob("*.png"))) == len(all_pages)


def test_search_finds_the_chapters(served, browser):
    page = browser.new_page()
    page.goto(served + "search.html?q=softmax", wait_until="load")
    page.wait_for_selector("#search-results li, ul.search li", timeout=20000)
    hits = page.locator("ul.search li a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    page.close()
    assert any("chapters/00-setup" in h for h in hits), hits
    assert any("api" in h for h in hits), hits


def test_make_book_is_the_build_and_readme_says_how_to_publish():
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^book: .*\n\t\$\(PY\) book/bookbuild\.py", makefile, re.M)
    readme = (REPO / "README.md").read_text()
    assert "make book" in readme and "ghp-import" in readme and "book/_build/html" in readme
    config = (BOOK / "_config.yml").read_text()
    assert 'binderhub_url: ""' in config and 'jupyterhub_url: ""' in config  # launch buttons off by default
    assert not re.search(r"https?://", config) and "mathjax_path: mathjax/tex-chtml.js" in config
