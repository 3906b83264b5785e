# Two commands a user types on a fresh machine: `make demo` and `make test`.
# Both create .venv, install cnnzoo with its pinned dependencies and make sure
# Fashion-MNIST is present; each step is skipped when already done.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.cnnzoo-installed

.PHONY: demo test test-slow lint data browser setup clean

setup: $(STAMP)

# uv installs the same pinned packages as pip, downloading in parallel: about 40 s on a fresh
# machine where pip takes about 90 s (PyTorch's wheels are 4 GB; benchmarks/RESULTS.md). Both
# compile the bytecode: where PYTHONDONTWRITEBYTECODE is set, every process would otherwise
# compile PyTorch from source each time it starts. pip is the fallback.
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) 'uv==0.13.9' && $(VENV)/bin/uv pip install --quiet --compile-bytecode --python $(PY) -e '.[dev]' \
	  || $(PIP) -e '.[dev]'
	@touch $(STAMP)

data:
	@bash scripts/ensure-fashion-mnist.sh

# headless Chromium, for the test that renders the claims report (skipped with a reason without)
browser:
	@bash scripts/ensure-chromium.sh

# The main job: train LeNet-5, SpeedNet and ResNet-20 on Fashion-MNIST with the `fast` recipe
# (about 8 minutes on 2 AVX2 cores, most of it ResNet-20's) and print their accuracy, size,
# cost and speed side by side.
# Finished runs in runs/demo are reused; an interrupted one is resumed.
demo: setup data
	$(VENV)/bin/cnnzoo compare lenet5 speednet resnet20 --epochs 4 --out runs/demo

# -n auto: one worker per core, each with its share of the cores for PyTorch (tests/conftest.py);
# a test file runs on one worker (loadfile), so its module fixtures are built once; the files
# are handed out longest first (tests/conftest.py), not reordered by their number of tests
test: setup data browser
	$(PY) -m pytest -q -m "not slow" -n auto --dist loadfile --no-loadscope-reorder

test-slow: setup data
	$(PY) -m pytest -q -m slow

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
