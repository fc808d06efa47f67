# mk/capi.mk — the C ABI (include/secateur.h, Sources/CAPI), its C examples, C tests and Python binding.
# Included by the top-level Makefile; every path is relative to the repository root.
#
#   make lib                        release libsecateur.so (Swift runtime linked in) -> build/lib, header -> build/include
#   make install PREFIX=/usr/local  lib + header + pkg-config file secateur.pc under PREFIX (DESTDIR honoured)
#   make examples                   examples-c/classify and inspect, linked against build/lib
#   make check-header               include/secateur.h == Swift's @c exports == the .so's sct_* symbols; C99/C++11
#   make test-c                     check-header, then tests/c/test_capi under valgrind (leaks are errors)
#   make wheel                      dist/secateur-<version>-py3-none-linux_x86_64.whl carrying libsecateur.so
#   make test-python-binding        tests/python/test_binding.py against onnxruntime

PY ?= .venv/bin/python
PREFIX ?= /usr/local
CC ?= cc
SWIFT ?= swift
CAPI_SCRATCH := .build-lib
CAPI_BUILD_DIR := $(CAPI_SCRATCH)/release
CAPI_OUT := build
CAPI_LIB := $(CAPI_OUT)/lib/libsecateur.so
CAPI_VERSION := 0.1.0
# Only the functions include/secateur.h declares are exported (a linker version script generated from the
# header): the Swift runtime linked in, the modules' Swift symbols and the libonnx shim's sct_onnx_* stay
# private, so a host process may load another Swift runtime next to this library.
CAPI_MAP := $(CAPI_OUT)/libsecateur.map
CAPI_LINK_FLAGS := -Xlinker --version-script=$(CURDIR)/$(CAPI_MAP) -Xlinker -soname=libsecateur.so
VALGRIND ?= valgrind --quiet --leak-check=full --error-exitcode=1 --suppressions=tests/c/swift-runtime.supp

.PHONY: lib install examples check-header test-c wheel test-python-binding

$(CAPI_MAP): include/secateur.h
	mkdir -p $(CAPI_OUT)
	{ echo '/* Generated from include/secateur.h by mk/capi.mk: export exactly the declared functions. */'; \
	  echo '{ global:'; sed -n 's/^SCT_API[^(]*[ *]\(sct_[a-z0-9_]*\)(.*/    \1;/p' include/secateur.h; \
	  echo '  local: *; };'; } > $@

lib: $(CAPI_MAP)
	$(SWIFT) build -c release --scratch-path $(CAPI_SCRATCH) -Xswiftc -static-stdlib $(CAPI_LINK_FLAGS) --product secateur
	mkdir -p $(CAPI_OUT)/lib $(CAPI_OUT)/include
	# Debug info stays in .build; the copy is stripped of it (valgrind 3.19 cannot read the DWARF 5 Swift emits).
	objcopy --strip-debug $(CAPI_BUILD_DIR)/libsecateur.so $(CAPI_OUT)/lib/libsecateur.so
	cp include/secateur.h $(CAPI_OUT)/include/

install: lib
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(CAPI_LIB) $(DESTDIR)$(PREFIX)/lib/libsecateur.so
	install -m 644 include/secateur.h $(DESTDIR)$(PREFIX)/include/secateur.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(CAPI_VERSION)|g' mk/secateur.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/secateur.pc

examples: lib
	$(MAKE) -C examples-c LIBDIR=$(CURDIR)/$(CAPI_OUT)/lib

check-header: lib
	$(PY) tools/check_capi_header.py --build-dir $(CAPI_BUILD_DIR) --lib $(CAPI_LIB)

test-c: check-header
	mkdir -p $(CAPI_OUT)/test-c
	$(PY) tests/c/make_test_models.py $(CAPI_OUT)/test-c
	$(CC) -std=c99 -g -O1 -Wall -Wextra -Werror -Iinclude tests/c/test_capi.c -o $(CAPI_OUT)/test-c/test_capi \
	  -L$(CAPI_OUT)/lib -Wl,-rpath,$(CURDIR)/$(CAPI_OUT)/lib -lsecateur -lpthread
	$(VALGRIND) $(CAPI_OUT)/test-c/test_capi $(CAPI_OUT)/test-c

wheel: lib
	PY=$(PY) tools/build_wheel.sh $(CAPI_LIB)

test-python-binding: lib
	SECATEUR_LIBRARY=$(CURDIR)/$(CAPI_LIB) $(PY) -m pytest -q tests/python/test_binding.py
