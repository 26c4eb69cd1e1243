# cifar-act - see README.md. Targets: all (default), test, asan, bench, install, clean.
CC      ?= cc
BUILD   ?= build
BIN     ?= cifar-act
PREFIX  ?= /usr/local
DESTDIR ?=
CFLAGS  ?= -O2 -g
PKGS    := zlib libisal libcurl libcrypto

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) stb)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))

# -ffp-contract=off: PyTorch rounds x*255 and +0.5 separately; a fused multiply-add
# would change which pixels round up.
WARN := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wno-unused-function
ALL_CFLAGS := $(WARN) -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64 -ffp-contract=off \
              -pthread -MMD -MP $(PKG_CFLAGS) $(CFLAGS)
LDLIBS := $(PKG_LIBS) -lm -pthread

LIB_SRC  := $(wildcard src/*.c)
LIB_OBJ  := $(LIB_SRC:src/%.c=$(BUILD)/src/%.o)
LIB      := $(BUILD)/libcifaract.a
# The command line (src/cli/): only the binary links it, never the library or the tests.
CLI_SRC  := $(wildcard src/cli/*.c)
CLI_OBJ  := $(CLI_SRC:src/%.c=$(BUILD)/src/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
# Tests decode PNGs with stb_image, a real decoder independent of our writer.
TEST_LIBS := -lstb

.PHONY: all test check asan test-generic bench bench-kernels bench-extract fuzz fuzz-tensor install clean
all: $(BIN)

$(BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/src/cli/%.o: src/cli/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Isrc -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(ALL_CFLAGS) $^ -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(LIB) tests/check.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Isrc $< $(LIB) -o $@ $(LDFLAGS) $(LDLIBS) $(TEST_LIBS)

test check: $(BIN) $(TEST_BIN)
	CA_BUILD=$(BUILD) CA_BIN=$(abspath $(BIN)) tests/run-tests.sh

# Same tests, rebuilt with AddressSanitizer + UBSan in a separate build directory.
asan:
	$(MAKE) BUILD=build-asan BIN=build-asan/cifar-act \
	    CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	    LDFLAGS="-fsanitize=address,undefined" test

# The portable build: baseline x86-64 code only (no AVX2/AVX-512 clones, so the copies
# other CPUs run are the ones tested) and the scalar kernels forced at run time.
test-generic:
	CIFAR_ACT_GENERIC=1 $(MAKE) BUILD=build-generic BIN=build-generic/cifar-act \
	    CFLAGS="-O2 -g -march=x86-64 -DCIFAR_ACT_NO_X86_CLONES" test

# Optional: Debian's XNNPACK as the bar for the kernel table (make bench adds its columns
# when both headers are here: apt-get install libxnnpack-dev libpthreadpool-dev; the
# latter is needed by xnnpack.h but not a dependency of the Debian package). Never
# needed to build or test. make XNNPACK_INC=/nonexistent bench leaves it out.
XNNPACK_INC ?= /usr/include
XNNPACK := $(and $(wildcard $(XNNPACK_INC)/xnnpack.h),$(wildcard $(XNNPACK_INC)/pthreadpool.h))

# End to end against the PyTorch lesson (when /usr/bin/python3 has torch), kernels
# against torch one thread, extraction throughput: see BENCHMARKS.md.
bench: $(BIN) $(BUILD)/tools/bench_kernels $(BUILD)/tools/bench_extract \
       $(if $(XNNPACK),$(BUILD)/tools/bench_kernels_xnnpack)
	tools/bench.py ./$(BIN) --build $(BUILD)

# Activation kernel throughput; compare with /usr/bin/python3 tools/bench_kernels_torch.py.
$(BUILD)/tools/bench_kernels: tools/bench_kernels.c tools/bench_common.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Isrc $< $(LIB) -o $@ $(LDFLAGS) $(LDLIBS)

bench-kernels: $(BUILD)/tools/bench_kernels
	$(BUILD)/tools/bench_kernels

# XNNPACK on the same functions, same table (tools/bench_kernels_xnnpack.c).
ifneq ($(XNNPACK),)
$(BUILD)/tools/bench_kernels_xnnpack: tools/bench_kernels_xnnpack.c tools/bench_common.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -I$(XNNPACK_INC) $< -o $@ $(LDFLAGS) -lXNNPACK -lm
else
$(BUILD)/tools/bench_kernels_xnnpack:
	@echo "$@ needs $(XNNPACK_INC)/xnnpack.h and pthreadpool.h:" \
	    "apt-get install libxnnpack-dev libpthreadpool-dev" >&2; exit 1
endif

# libFuzzer target for the archive reader (needs clang): see tests/fuzz_archive.c.
FUZZ_CC ?= clang
fuzz: $(BUILD)/fuzz_archive
$(BUILD)/fuzz_archive: tests/fuzz_archive.c src/archive.c src/ca.c src/archive.h src/ca.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -g -O1 -D_DEFAULT_SOURCE -fsanitize=fuzzer,address,undefined \
	    -Isrc tests/fuzz_archive.c src/archive.c src/ca.c -o $@ \
	    $(shell pkg-config --libs zlib libcrypto)

# gridnorm: libFuzzer target for the --tensor literal parser and printer (needs clang).
fuzz-tensor: $(BUILD)/fuzz_tensor
$(BUILD)/fuzz_tensor: tests/fuzz_tensor.c src/tensor.c src/tensor_print.c src/ca.c \
                      src/tensor.h src/tensor_print.h src/ca.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -g -O1 -D_DEFAULT_SOURCE -fsanitize=fuzzer,address,undefined \
	    -Isrc tests/fuzz_tensor.c src/tensor.c src/tensor_print.c src/ca.c -o $@ -lm

# Extraction throughput of the download pipeline vs gzip | tar (tools/bench_extract.sh).
$(BUILD)/tools/bench_extract: tools/bench_extract.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Isrc $< $(LIB) -o $@ $(LDFLAGS) $(LDLIBS)
bench-extract: $(BUILD)/tools/bench_extract
	tools/bench_extract.sh $(BUILD)/tools/bench_extract

install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/cifar-act

clean:
	rm -rf build build-asan build-generic $(BIN)

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_BIN:=.d)

# ---- Restricted unpickler (torchvision's CIFAR pickles): libFuzzer target ----
# tools/fuzz_pickle.sh [SECONDS] builds it and runs it on tests/fuzz_pickle_seeds (clang needed).
.PHONY: fuzz-pickle
fuzz-pickle: $(BUILD)/fuzz_pickle
$(BUILD)/fuzz_pickle: tests/fuzz_pickle.c src/pickle.c src/ca.c src/pickle.h src/ca.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -std=c11 -g -O1 -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64 -DPK_BUF=7 \
	    -fsanitize=fuzzer,address,undefined -Isrc tests/fuzz_pickle.c src/pickle.c src/ca.c -o $@
