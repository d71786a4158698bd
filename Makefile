# The two commands users need: `make demo` and `make test`. Both create .venv when it is missing
# and (re)install the package whenever setup.cfg or pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint bench quality pretrain install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# OpenCV moved to the contrib build, which owns the same cv2/ folder as the plain one: an older
# .venv has the plain build removed first and the contrib build's files put back whole.
$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	@if $(BIN)/python -m pip show -q opencv-python-headless >/dev/null 2>&1; then \
		$(BIN)/python -m pip uninstall --quiet -y opencv-python-headless && \
		$(BIN)/python -m pip install --quiet --force-reinstall --no-deps \
			"$$(grep -o 'opencv-contrib-python-headless==[0-9.]*' setup.cfg)"; \
	fi
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/keras-styletransfer demo --run-dir saved_models/demo

# Two worker processes (pytest-xdist): much of a test's time is single-threaded Python (tracing,
# building models, subprocesses), so two share 2 cores well; `TEST_WORKERS=0` runs them in one.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -ra --durations=25 -n $(TEST_WORKERS) --dist worksteal

# The edit loop: everything but the tests marked slow (about 3 minutes on 2 cores).
test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -ra -m "not slow" -n $(TEST_WORKERS) --dist worksteal

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The speed suite (benchmarks/README.md); `make bench BENCH_ARGS=--quick` is the smoke run.
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

# The README's quality table: every family x style x size under fixed step budgets
# (benchmarks/results/quality.json; about an hour on 2 cores).
quality: $(STAMP)
	$(BIN)/python benchmarks/quality.py

# Train the shipped multi-style model longer than the demo can, then install its generator in
# keras_styletransfer/pretrained/ (see keras_styletransfer/serving/pretrained.py).
PRETRAIN_DIR ?= saved_models/pretrain
PRETRAIN_ARGS ?= --family multistyle_paired --styles watercolour,cartoon,pencil,ink,oil \
	--epochs 250 --steps-per-epoch 100 --learning-rate 1e-3 --seed 0
pretrain: $(STAMP)
	$(BIN)/keras-styletransfer train-style $(PRETRAIN_ARGS) --run-dir $(PRETRAIN_DIR)
	$(BIN)/python -m keras_styletransfer.serving.pretrained --install $(PRETRAIN_DIR) --overwrite

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
