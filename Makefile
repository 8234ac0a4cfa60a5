# `make test` and `make demo` each create or refresh .venv from the repository's own files.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The CPU build of PyTorch; without the pin pip would pull a multi-GB CUDA build.
TORCH := torch==2.13.0

.PHONY: test demo clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest --run-slow

demo: $(STAMP)
	$(PY) -c "from flowkit.datasets import write_pair, write_demo_videos as v; write_pair('demo-run/pair'); v('demo-run/videos')"
	$(VENV)/bin/tsf flow demo-run/pair/frame0.png demo-run/pair/frame1.png --backend numpy \
		-o demo-run/flow.flo --viz demo-run/flow.png --truth demo-run/pair/truth.flo
	$(VENV)/bin/tsf extract-flow demo-run/videos demo-run/frames --short-side 128 --jobs 2
	$(PY) demo/run_demo.py --out demo-run/what-moves-where

clean:
	rm -rf $(VENV) demo-run
