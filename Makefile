# The two commands: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_ARGS := dataset=digits norm=spectral loss=hinge setting=C arch.width=0.25 train.steps=2400 \
	train.g_batch_size=64 train.ckpt_every=400 train.sample_every=400 train.log_every=100 name=demo

.PHONY: install demo test test-fast clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.14.1 torchvision==0.29.1 || $(BIN)/pip install -q "torch>=2.4" "torchvision>=0.19"
	$(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/sngan train $(DEMO_ARGS)
	$(BIN)/sngan eval run=outputs/digits/cnn-spectral-hinge-C/seed0-demo overwrite=true
	@echo
	@echo "Samples:     outputs/digits/cnn-spectral-hinge-C/seed0-demo/samples/"
	@echo "TensorBoard: $(BIN)/tensorboard --logdir outputs/digits/cnn-spectral-hinge-C/seed0-demo"

test: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q

test-fast: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -m "not slow"

clean:
	rm -rf $(VENV) outputs multirun
