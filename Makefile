# Every target creates .venv when it is missing; running a target twice is safe.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TORCH_PIN := torch==2.13.0

.PHONY: help venv test test-fast lab bench clean

help:
	@echo "make lab    open JupyterLab on the course notebooks (http://127.0.0.1:8888)"
	@echo "make test   run the whole test suite"
	@echo "make bench  time the NumPy reference against torch on the CPU"
	@echo "make clean  remove caches (keeps .venv)"

venv: $(STAMP)

# torch is pinned and installed first: an unpinned torch would pull a CUDA build of several GB.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_PIN)"
	$(PY) -m pip install --quiet -e ".[test,lab]"
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q

lab: $(STAMP)
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --no-browser $(if $(filter 0,$(shell id -u)),--allow-root,) \
		--notebook-dir=$(if $(wildcard solutions),solutions,.)

bench: $(STAMP)
	$(PY) -m course.bench

clean:
	rm -rf .pytest_cache .hypothesis build *.egg-info
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
