# Secateur — one entry point for building, testing and the demo.
#   make demo   install what is missing, build, optimize + run the default model, print a table
#   make test   install what is missing, build, run every test (Swift unit tests, ONNX node tests,
#               differential tests against onnxruntime, C ABI tests, Python binding tests, and the
#               sanitizer stage: a short libFuzzer + ASan run, the fuzz regressions, ThreadSanitizer)
#   make build  release build: build/bin/secateur, build/lib/libsecateur.so, build/include/secateur.h

SWIFT    ?= swift
PYTHON   ?= python3
VENV     := .venv
PY       := $(VENV)/bin/python
RELEASE  := .build/release
MODELS   := build/models
NODE_TESTS := build/node-tests
APT_PACKAGES := libopenblas-dev libonnx-dev libprotobuf-dev python3-venv valgrind pkg-config

.PHONY: all deps apt venv build cli models node-tests test test-swift test-node test-diff demo clean pruning-table

all: build

# --- setup -------------------------------------------------------------------------------------------
deps: apt venv

# Installs the Debian packages that are missing (uses sudo when not root).
apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# A project-local virtualenv with the pinned test-only Python packages.
venv: $(VENV)/.installed
$(VENV)/.installed: requirements-test.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-test.txt
	touch $@

# --- build -------------------------------------------------------------------------------------------
cli: apt
	$(SWIFT) build -c release --product secateur-cli
	$(SWIFT) build -c release --product secateur-node-tests
	mkdir -p build/bin
	cp $(RELEASE)/secateur-cli build/bin/secateur

build: cli lib

models: venv
	@test -f $(MODELS)/resnet50_odd.onnx || $(PY) tools/make_models.py --out $(MODELS)

node-tests: venv
	@test -d $(NODE_TESTS)/test_abs || $(PY) tools/gen_node_tests.py --out $(NODE_TESTS) >/dev/null

# --- tests -------------------------------------------------------------------------------------------
test: deps build models node-tests test-swift test-node test-diff test-c test-python-binding test-sanitizers
	@echo "all tests passed"

# The kernels' stray-store checks again with the AVX2 and baseline variants (SECATEUR_ISA caps the dispatch;
# the first run covers the widest ISA this CPU has): each ISA has its own partial-vector stores.
test-swift: apt
	$(SWIFT) test -c release
	SECATEUR_ISA=avx2 $(SWIFT) test -c release --skip-build --filter KernelBoundsTests
	SECATEUR_ISA=baseline $(SWIFT) test -c release --skip-build --filter KernelBoundsTests

# Every case listed in tests/node-must-pass.txt must pass; the summary line gives the total.
test-node: cli node-tests
	$(RELEASE)/secateur-node-tests $(NODE_TESTS) --isolate --must-pass tests/node-must-pass.txt

test-diff: cli models venv
	SECATEUR_BIN=build/bin/secateur SECATEUR_MODELS=$(MODELS) $(PY) -m pytest -q tests/python/test_differential.py tests/python/test_kernel_paths.py tests/python/test_onnx_io.py tests/python/test_optimizer.py tests/python/test_pruning.py tests/python/test_coverage_models.py tests/python/test_bench_harness.py

# Regenerates the must-pass list from the current results (review the diff before committing).
update-must-pass: cli node-tests
	$(RELEASE)/secateur-node-tests $(NODE_TESTS) --isolate --write-passing tests/node-must-pass.txt

# --- demo --------------------------------------------------------------------------------------------
demo: deps build models
	$(PY) tools/demo.py --bin build/bin/secateur --models $(MODELS)

# Regenerates PRUNING.md: channel/depth/spatial/joint pruning at 50 % and 30 % MACs (slow: searches).
pruning-table: cli models venv
	$(PY) tools/fetch_real_models.py --out $(MODELS)/real
	$(PY) tools/pruning_table.py --bin build/bin/secateur --models $(MODELS) --out PRUNING.md --population 4 --generations 2

clean:
	rm -rf .build build

-include mk/*.mk
