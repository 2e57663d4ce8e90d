# atomloop: `make demo` sets everything up and runs a small real active-learning loop;
# `make test` runs the test suite. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false

.PHONY: venv demo test docs serve bench bench-deps gpu-wheels clean

venv: $(STAMP)

# torch first: `torch==2.13.0` takes the CPU build on disk; the constraints pin the rest. The editable
# install runs with Python warnings off: setuptools' BuildBackendWarning ("Editable installation") is no
# message for whoever runs make demo.
$(STAMP): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	PYTHONWARNINGS=ignore $(BIN)/pip install --quiet -c requirements/constraints.txt -e '.[test,docs]'
	$(BIN)/pip install --quiet --no-deps qm9pack==1.0.3
	$(BIN)/pip install --quiet --no-deps dask-jobqueue==0.9.0
	touch $(STAMP)

demo: venv
	$(BIN)/atomloop demo

test: venv
	$(BIN)/python -m pytest

# the documentation site (mkdocs.yml): every warning is an error; the site goes to build/site/
docs: venv
	$(BIN)/mkdocs build --strict

serve: venv
	$(BIN)/atomloop serve

bench: venv
	for script in bench/*.py; do $(BIN)/python $$script || exit 1; done

# bench/accuracy.py's peer schnetpack (pyproject's `bench` extra), without its dependencies: they
# would replace torch 2.13.0 with 2.4.1 (bench/accuracy.py shims the one torch name it lacks)
bench-deps: venv
	$(BIN)/pip install --quiet --no-deps schnetpack==2.1.1 torch-ema==0.3 dirsync==2.2.6 hydra-colorlog==1.2.0 tensorboardX==2.6.5

# wheels for bench/gpu.sh on a GPU machine without a package index: atomloop's runtime dependencies
# minus torch (CPython 3.12, x86-64) in .gpu-wheels/part-N/, each within the device tool's 64 MiB per call
gpu-wheels: venv
	rm -rf .gpu-wheels
	PYTHON=$(BIN)/python bench/gpu.sh --prepare-wheels

clean:
	rm -rf $(VENV) .pytest_cache
