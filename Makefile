# Two commands on a fresh machine:  `make demo`  and  `make test`.
# Both create .venv on first use (torch first, alone, so pip takes the pinned CPU build
# instead of pulling CUDA wheels), then install dance with constraints.txt. Idempotent.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.dance-installed
PYTEST_ARGS ?=

.PHONY: demo test install lint clean-demo

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt torch
	$(PY) -m pip install --quiet -c constraints.txt -e '.[mediapipe,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/dance demo

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check dance actors ray_jobs tests benchmarks

clean-demo:
	rm -rf outputs/demo
