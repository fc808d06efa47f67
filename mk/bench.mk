# mk/bench.mk — `make bench`: Secateur vs onnxruntime vs OpenVINO, written to BENCHMARKS.md (bench/run.py).
# Timing lives here, never in `make test`. Included by the top-level Makefile.
#
#   make bench                                  all models, 1 and 2 threads, 20 interleaved runs each
#   make bench BENCH_ARGS="--only resnet50 --runs 10 --no-probe"   a quick subset

BENCH_DIR := build/bench
BENCH_MODELS := build/bench-models
# The peer engines the bench compares against, pinned (bench-only: not in requirements-test.txt).
BENCH_PIP := openvino==2026.4.1
BENCH_ARGS ?=
BENCH_CC ?= gcc

.PHONY: bench bench-deps bench-peaks bench-kernels

bench-deps: venv
	@$(PY) -c "import openvino, sys; sys.exit(openvino.__version__.split('-')[0] != '$(word 2,$(subst ==, ,$(BENCH_PIP)))')" 2>/dev/null \
	  || $(PY) -m pip install -q --disable-pip-version-check $(BENCH_PIP)

# The machine's FP32 FMA ceiling, sgemm figure, memory read bandwidth and cross-core read speed, measured by
# the bench itself
# (-march=native on purpose).
bench-peaks: $(BENCH_DIR)/fma_peak $(BENCH_DIR)/sgemm_peak $(BENCH_DIR)/mem_peak $(BENCH_DIR)/xcore_peak
$(BENCH_DIR)/fma_peak: bench/fma_peak.c
	mkdir -p $(BENCH_DIR)
	$(BENCH_CC) -O3 -march=native $< -o $@ -lpthread
$(BENCH_DIR)/mem_peak: bench/mem_peak.c
	mkdir -p $(BENCH_DIR)
	$(BENCH_CC) -O3 -march=native $< -o $@ -lpthread
$(BENCH_DIR)/xcore_peak: bench/xcore_peak.c
	mkdir -p $(BENCH_DIR)
	$(BENCH_CC) -O3 -march=native $< -o $@ -lpthread
$(BENCH_DIR)/sgemm_peak: bench/sgemm_peak.c
	mkdir -p $(BENCH_DIR)
	$(BENCH_CC) -O3 -march=native $< -o $@ $$(pkg-config --cflags --libs openblas)

bench: lib bench-deps bench-peaks
	SECATEUR_LIBRARY=$(CURDIR)/$(CAPI_LIB) $(PY) bench/run.py --models $(BENCH_MODELS) --bin $(BENCH_DIR) \
	  --out BENCHMARKS.md $(BENCH_ARGS)

# The CKernels microkernels alone on ResNet-50 / MobileNetV2 layer shapes (no runtime build needed).
# Built with the Swift toolchain's clang, the compiler SwiftPM builds CKernels with (gcc 12 spills the
# GEMM tile's accumulators and runs it at a third of the speed).
KERNELS_CC ?= clang
$(BENCH_DIR)/kernels_micro: bench/kernels_micro.c $(wildcard Sources/CKernels/*.c Sources/CKernels/*.h Sources/CKernels/include/*.h)
	mkdir -p $(BENCH_DIR)
	$(KERNELS_CC) -O2 -ISources/CKernels/include -ISources/CKernels bench/kernels_micro.c Sources/CKernels/*.c -o $@ -lm
bench-kernels: $(BENCH_DIR)/kernels_micro
	$(BENCH_DIR)/kernels_micro
