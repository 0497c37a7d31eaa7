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
# pip byte-compiles every package at install (torch alone: 20.4 s, 6.8 s with --no-compile), and that is
# kept on purpose: where PYTHONDONTWRITEBYTECODE is set (it is on this project's machines) nothing would
# cache the compiled modules, and every process - each CLI test - would compile torch & co. again
# (measured: make test 7 min 33 s with compiling at install, 8 min 54 s with --no-compile).
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

# The whole suite as two pytest processes at once, one per core (7 1/2 min on the shared 2 cores, see README
# "Tests"): the slow tests that build big indexes or drive the browser, and beside them
# the quick ones plus the process-kill tests (-m kills), which mostly wait on subprocesses. The embedding
# model runs on one thread in each (two processes x two torch threads would spin against each other).
# The second half's output follows the first's; either failing, or collecting no test (exit 5), fails.
PYTEST := NPCQA_EMBED_THREADS=1 $(VPY) -m pytest -q -p no:cacheprovider --durations=5
TEST_HALF_A := slow and not kills
TEST_HALF_B := not slow or kills
test: install browser
	@half_b_log=$$(mktemp); \
	$(PYTEST) -m "$(TEST_HALF_B)" tests > $$half_b_log 2>&1 & half_b=$$!; \
	trap 'kill $$half_b 2>/dev/null' INT TERM; \
	echo "== pytest -m '$(TEST_HALF_A)' (pytest -m '$(TEST_HALF_B)' runs beside it; its output follows)"; \
	$(PYTEST) -m "$(TEST_HALF_A)" tests; a_rc=$$?; \
	wait $$half_b; b_rc=$$?; \
	echo "== pytest -m '$(TEST_HALF_B)'"; cat $$half_b_log; rm -f $$half_b_log; \
	for rc in $$a_rc $$b_rc; do \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; \
	  if [ $$rc -ne 0 ]; then exit $$rc; fi; \
	done

clean:
	rm -rf $(VENV) .npcqa
