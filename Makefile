# Two commands on a fresh machine:  `make demo` (Khmer, all five stages on CPU)  and  `make test`.
PYTHON ?= python3
VENV   ?= .venv
CONFIG ?= configs/km-tiny.yaml
TORCH  ?= torch==2.13.0
# No GPU: take torch's CPU build (a local wheel first, else the PyTorch CPU index) instead of multi-GB CUDA.
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
NPROC  := $(shell nproc 2>/dev/null || echo 1)
HAS_GPU := $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo yes)

PY  := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: install demo test clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
ifeq ($(HAS_GPU),yes)
	$(PY) -c "import torch" 2>/dev/null || $(PIP) install "$(TORCH)"
else
	$(PY) -c "import torch" 2>/dev/null || $(PIP) install --no-index --no-deps "$(TORCH)" 2>/dev/null \
	  || $(PIP) install "$(TORCH)" --extra-index-url $(TORCH_CPU_INDEX)
endif
	$(PIP) install -e ".[dev]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) data_prep/build_corpus.py --config $(CONFIG)
	$(PY) data_prep/train_tokenizer.py --config $(CONFIG)
	$(VENV)/bin/accelerate launch --num_processes 1 --num_machines 1 --mixed_precision no --dynamo_backend no \
	  --num_cpu_threads_per_process $(NPROC) train/run.py --config $(CONFIG)
	$(PY) evaluate/run.py --config $(CONFIG)
	$(PY) scripts/publish.py --config $(CONFIG)

test: install
	$(PY) -m pytest -q

clean:
	rm -rf runs
