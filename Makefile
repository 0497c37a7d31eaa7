# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PY       ?= python3
VENV     := .venv
VPY      := $(VENV)/bin/python
STAMP    := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

.PHONY: run test ingest bench bench-avx2 evals vectors install browser clean

$(VPY):
	$(PY) -m venv $(VENV)
	$(VPY) -m pip install -q -U pip

# torch first: the pinned CPU wheel lies on this disk; an unpinned torch pulls a multi-GB CUDA build.
$(STAMP): $(VPY) pyproject.toml
	$(VPY) -m pip install -q torch==2.13.0
	$(VPY) -m pip install -q -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# Debian's chromium + CJK fonts for the browser tests (root only; otherwise the browser tests skip and say why).
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "noto.*cjk"; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk) >/dev/null 2>&1 \
	      || echo "warning: could not install chromium; browser tests will be skipped"; \
	  else echo "warning: not root, cannot apt-get install chromium; browser tests will be skipped"; fi; \
	fi

run: install
	$(VPY) app.py

ingest: install
	$(VPY) -m ingest

bench: install
	$(VPY) -m evals.bench ingest
	$(VPY) -m evals.bench embed
	$(VPY) -m evals.bench_start

# The same start-up and load benchmarks with torch/MKL/oneDNN capped to AVX2: on an AVX-512 machine this
# emulates the slower CPUs the project also runs on (results say "capped to AVX2"; see npcqa/machine.py).
AVX2_CAP := ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2
bench-avx2: install
	$(AVX2_CAP) $(VPY) -m evals.bench_start --out evals/results/start_avx2.json
	$(AVX2_CAP) $(VPY) -m evals.load --out evals/results/load_avx2.json
	$(AVX2_CAP) $(VPY) -m evals.load --clients 50 --questions 4 --out evals/results/load_avx2_50x4.json

# Regenerate index/law_vectors.npz (the shipped law vectors) after a law-DB upgrade: only changed texts are embedded.
vectors: install
	$(VPY) -m ingest.law_vectors build
	$(VPY) -m ingest.law_vectors verify

evals: install
	$(VPY) -m evals run

test: install browser
	$(VPY) -m pytest -q -p no:cacheprovider tests; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

clean:
	rm -rf $(VENV) .npcqa
