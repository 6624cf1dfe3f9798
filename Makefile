# Two commands on a fresh machine:  `make demo`  and  `make test`.
# Both create .venv on first use (torch first, alone, so pip takes the pinned CPU build
# instead of pulling CUDA wheels), then install dance with constraints.txt. Idempotent.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.dance-installed
PYTEST_ARGS ?=

# Debian's chromium for the report's browser test (tests/test_report_browser.py).
CHROMIUM ?= /usr/bin/chromium
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test install lint clean-demo browser

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt torch
	$(PY) -m pip install --quiet -c constraints.txt -e '.[cpu,mediapipe,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/dance demo

test: $(STAMP) browser
	$(PY) -m pytest $(PYTEST_ARGS)

browser:
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update -q && \
		$(SUDO) apt-get install -y -q --no-install-recommends chromium; } || \
		echo "warning: could not install chromium; the report's browser test will skip"

lint: $(STAMP)
	$(VENV)/bin/ruff check dance actors ray_jobs tests benchmarks

clean-demo:
	rm -rf outputs/demo

# ---------------------------------------------------------------------------------------
# mmpose backend: its own environment (it cannot share one with transformers 5; see
# docs/environment.md). `make test-mmpose` builds .venv-mmpose once (stamp file), then runs the
# mmpose tests there. mmcv's C++ ops are compiled for CPU (mmpose's heads import
# mmcv.ops at import time, so mmcv-lite is not enough): ~20+ minutes on 2 cores the first
# time; pip caches the built wheel, so later rebuilds of the venv take minutes.
MMPOSE_VENV  ?= .venv-mmpose
MMPOSE_PY    := $(MMPOSE_VENV)/bin/python
MMPOSE_REQS  := requirements/mmpose.txt
MMPOSE_STAMP := $(MMPOSE_VENV)/.dance-mmpose-installed

.PHONY: install-mmpose test-mmpose

install-mmpose: $(MMPOSE_STAMP)

$(MMPOSE_STAMP): $(MMPOSE_REQS) pyproject.toml
	test -x $(MMPOSE_PY) || $(PYTHON) -m venv $(MMPOSE_VENV)
	$(MMPOSE_PY) -m pip install --quiet --upgrade pip
	$(MMPOSE_PY) -m pip install --quiet -c $(MMPOSE_REQS) torch
	$(MMPOSE_PY) -m pip install --quiet -c $(MMPOSE_REQS) numpy cython setuptools wheel
	MMCV_WITH_OPS=1 MAX_JOBS=2 $(MMPOSE_PY) -m pip install --quiet --no-deps \
		--no-build-isolation --no-binary xtcocotools -c $(MMPOSE_REQS) mmcv xtcocotools
	$(MMPOSE_PY) -m pip install --quiet --no-deps -r $(MMPOSE_REQS)
	$(MMPOSE_PY) -m pip install --quiet --no-deps -e .
	touch $(MMPOSE_STAMP)

test-mmpose: $(MMPOSE_STAMP)
	$(MMPOSE_PY) -m pytest tests/test_pose_mmpose.py $(PYTEST_ARGS)
