# Every target creates .venv when it is missing; running a target twice is safe.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
WORKERS ?= 3
STAMP  := $(VENV)/.installed
TORCH_PIN := torch==2.13.0

.PHONY: help venv jail browser test test-fast lab instructor student book bench grade clean

A    ?= 00-setup
JOBS ?= 2

help:
	@echo "make lab    the student's door: JupyterLab in your workspace/ (http://127.0.0.1:8888)"
	@echo "make instructor  the instructor's door: JupyterLab with the Formgrader (http://127.0.0.1:8888)"
	@echo "make student  build what students get (student-bundle/ and student-bundle.zip)"
	@echo "make test   run the whole test suite"
	@echo "make test-fast  the tests without the end-to-end grading runs (about 3 minutes)"
	@echo "make book   build the Jupyter Book site offline into book/_build/html (about a minute)"
	@echo "make bench  time the NumPy reference against torch on the CPU, and the grader"
	@echo "make grade A=00-setup JOBS=2  grade collected submissions, write feedback and grades.csv"
	@echo "make clean  remove caches (keeps .venv)"

venv: $(STAMP)

# torch is pinned and installed first: an unpinned torch would pull a CUDA build of several GB.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_PIN)"
	$(PY) -m pip install --quiet -e ".[test,lab,book]"
	touch $(STAMP)

# $(call need,COMMAND,DEBIAN-PACKAGE,WHO): installs the package when COMMAND is missing and we run as
# root on Debian; otherwise stops and prints the one command to run
need = command -v $(1) >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && apt-get install -y -qq $(2)) >/dev/null; \
	  else \
	    echo "$(3) need $(2) ($(1)), which is not installed. Run:  sudo apt-get install -y $(2)"; exit 1; \
	  fi; }

# grading jails student code with bubblewrap (autograder/jail.py); students working in
# JupyterLab do not need it, grading and its tests do
jail:
	@$(call need,bwrap,bubblewrap,grading and its tests)

# the browser tests drive JupyterLab with Debian's chromium (never a downloaded browser)
browser:
	@$(call need,chromium,chromium,the browser tests)

# three pytest workers, one test file each at a time: the grading tests spend much of their time
# waiting (time limits, kernels starting), so on two cores three files keep both busy (measured
# on a 2-core machine: 17 min against 21 min with two, and 15 min once the jail stopped walking
# a virtualenv under /tmp); WORKERS=2 make test picks another number
test: $(STAMP) jail browser
	$(PY) -m pytest -q --nbval-lax -n $(WORKERS) --dist loadfile

test-fast: $(STAMP) jail
	$(PY) -m pytest -q --nbval-lax -n $(WORKERS) --dist loadfile -m "not grading"

# the student's door: JupyterLab in workspace/, a copy of the release notebooks that no command
# ever writes over (made the first time); PORT=8899 picks another port, LAB_ARGS=--no-browser
PORT ?= 8888
lab: $(STAMP)
	$(PY) -m autograder lab --port $(PORT) $(LAB_ARGS)

# the instructor's door: JupyterLab at the course root, with the Formgrader and Create Assignment
instructor: $(STAMP)
	$(PY) -m autograder instructor --port $(PORT) $(LAB_ARGS)

# what students get: release notebooks plus the course and autograder packages, nothing secret
student: $(STAMP)
	$(PY) -m autograder bundle

# the book: every chapter of solutions/ as a page (solutions, hidden tests and rubrics removed),
# run with the reference library, built by jupyter-book 1.0 with warnings as errors, offline
book: $(STAMP)
	$(PY) book/bookbuild.py

bench: $(STAMP)
	$(PY) -m course.bench
	$(PY) -m autograder.bench

grade: $(STAMP) jail
	$(PY) -m autograder grade $(A) --jobs $(JOBS)
	$(PY) -m autograder feedback $(A) --only-complete
	$(PY) -m autograder export --to grades.csv

clean:
	rm -rf .pytest_cache .hypothesis build *.egg-info
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
