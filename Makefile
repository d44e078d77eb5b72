# Every target creates .venv when it is missing; running a target twice is safe.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TORCH_PIN := torch==2.13.0

.PHONY: help venv jail test test-fast lab bench grade clean

A    ?= 00-setup
JOBS ?= 2

help:
	@echo "make lab    open JupyterLab on the student notebooks in release/ (http://127.0.0.1:8888)"
	@echo "make test   run the whole test suite"
	@echo "make test-fast  the tests without the end-to-end grading runs (about 3 minutes)"
	@echo "make bench  time the NumPy reference against torch on the CPU, and the grader"
	@echo "make grade A=00-setup JOBS=2  grade collected submissions, write feedback and grades.csv"
	@echo "make clean  remove caches (keeps .venv)"

venv: $(STAMP)

# torch is pinned and installed first: an unpinned torch would pull a CUDA build of several GB.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_PIN)"
	$(PY) -m pip install --quiet -e ".[test,lab]"
	touch $(STAMP)

# grading jails student code with bubblewrap (autograder/jail.py); students working in
# JupyterLab do not need it, grading and its tests do
jail:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && apt-get install -y -qq bubblewrap) >/dev/null; \
	  else \
	    echo "grading needs bubblewrap (bwrap), which is not installed. Run:  sudo apt-get install -y bubblewrap"; \
	    exit 1; \
	  fi; }

# two pytest workers, one test file each at a time: the grading tests spend most of their time
# waiting on time limits, so two files overlap well on two cores
test: $(STAMP) jail
	$(PY) -m pytest -q --nbval-lax -n 2 --dist loadfile

test-fast: $(STAMP) jail
	$(PY) -m pytest -q --nbval-lax -n 2 --dist loadfile -m "not grading"

# students work on the student versions in release/ (generated here when missing)
lab: $(STAMP)
	@test -d release || for a in $(notdir $(wildcard solutions/*)); do $(PY) -m autograder generate $$a; done
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/jupyter lab --ip=127.0.0.1 --no-browser \
		$(if $(filter 0,$(shell id -u)),--allow-root,) --ServerApp.root_dir=$(CURDIR) \
		--ServerApp.default_url=/lab/tree/release

bench: $(STAMP)
	$(PY) -m course.bench
	$(PY) -m autograder.bench

grade: $(STAMP) jail
	$(PY) -m autograder grade $(A) --jobs $(JOBS)
	$(PY) -m autograder feedback $(A)
	$(PY) -m autograder export --to grades.csv

clean:
	rm -rf .pytest_cache .hypothesis build *.egg-info
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
