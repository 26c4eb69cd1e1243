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
        -Wmissing-prototypes
# CPPFLAGS, CFLAGS, LDFLAGS are the user's (dpkg-buildflags sets all three; CPPFLAGS
# carries -D_FORTIFY_SOURCE=2); they come last so they can override ours.
ALL_CFLAGS := $(WARN) -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64 -ffp-contract=off \
              -pthread -MMD -MP $(PKG_CFLAGS) $(CPPFLAGS) $(CFLAGS)
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

.PHONY: all test check check-valgrind venv asan test-generic bench bench-kernels bench-extract fuzz clean
all: $(BIN)

$(BUILD)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/src/cli/%.o: src/cli/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Isrc -c $< -o $@

# The fast kernels (src/act_fast.c) only: -O3 so GCC vectorizes their branch-free loops,
# -fno-trapping-math so their ternaries become selects. Last, so they win over CFLAGS.
ACT_FAST_FLAGS := -O3 -fno-trapping-math
$(BUILD)/src/act_fast.o $(BUILD)/pic/act_fast.o: ALL_CFLAGS += $(ACT_FAST_FLAGS)

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(ALL_CFLAGS) $^ -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(LIB) tests/check.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Isrc $< $(LIB) -o $@ $(LDFLAGS) $(LDLIBS) $(TEST_LIBS)

test: $(BIN) $(TEST_BIN) venv
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

# One kernel, for callgrind's instruction count (usage in tools/kernel_ir.c).
$(BUILD)/tools/kernel_ir: tools/kernel_ir.c $(LIB)
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

# ---- Fuzzing: libFuzzer targets for every parser of untrusted bytes, built with clang +
# libclang-rt-14-dev (tools/debian-packages.txt). make fuzz builds them all into
# $(BUILD)/fuzz/; tools/fuzz.sh [SECONDS] runs each on its seeds (tests/fuzz/NAME/).
# A target is a tests/fuzz_NAME.c, a FUZZ_SRC_NAME line and a seed folder.
FUZZ_CC ?= clang
FUZZ_FLAGS := -std=c11 -g -O1 -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64 -pthread \
              -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
              -Isrc $(PKG_CFLAGS)
FUZZ_LIBS := $(PKG_LIBS) -lm -pthread
FUZZ_TARGETS := $(patsubst tests/fuzz_%.c,%,$(wildcard tests/fuzz_*.c))
FUZZ_ACT := $(filter src/act%.c,$(LIB_SRC))
FUZZ_SRC_archive := src/archive.c src/ca.c
FUZZ_SRC_dataset := src/cifar.c src/dataset.c src/pickle.c src/ca.c
FUZZ_SRC_act_parse := $(FUZZ_ACT) src/ca.c
FUZZ_SRC_tensor := src/tensor.c src/tensor_print.c src/ca.c $(FUZZ_ACT)
# --shard's manifest parts: the JSON reader and what it checks (chain specs, names).
FUZZ_SRC_part := src/part.c src/ca.c src/cifar.c src/dataset.c src/pickle.c src/grid.c \
                 src/run_info.c $(FUZZ_ACT)
# The unpickler's file reader with a 7-byte buffer, so every refill boundary is crossed.
FUZZ_SRC_pickle := src/pickle.c src/ca.c
$(BUILD)/fuzz/fuzz_pickle: FUZZ_FLAGS += -DPK_BUF=7
fuzz: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
$(BUILD)/fuzz/fuzz_%: tests/fuzz_%.c $(wildcard src/*.h) $(LIB_SRC)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $< $(FUZZ_SRC_$*) -o $@ $(FUZZ_LIBS)

# ---- The whole suite (the README's test command, and CI's) ----
# make check = make test, the same tests under ASan + UBSan (make asan), a short run of
# every fuzz target (FUZZ_SECONDS each, seeds first) and one end-to-end job under
# valgrind; tests/check.sh adds them up into one closing "check: N passed, N failed".
FUZZ_SECONDS ?= 30
check:
	FUZZ_SECONDS=$(FUZZ_SECONDS) BUILD=$(BUILD) tests/check.sh

# The valgrind stage of tests/check.sh: no error, no leak, on a 2-batch job.
VALGRIND_DIR = $(BUILD)/valgrind
check-valgrind: $(BIN)
	rm -rf $(VALGRIND_DIR) && mkdir -p $(VALGRIND_DIR)
	data=$$(CA_LIB_RULE_ONLY=1 . tests/lib.sh && cact_find_data $(CURDIR)) && \
	    valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    ./$(BIN) --data "$$data" --out $(VALGRIND_DIR)/out --max-batches 2 --quiet

# Test-only Python packages (TensorBoard reads our event files in
# tests/cli_tensorboard.sh) in a git-ignored venv, never system-wide; made on first use
# from the pinned tests/requirements.txt. Without PyPI those checks say SKIP (and fail
# under CI=true). One venv for every build directory.
VENV := build/venv
venv: $(VENV)/.installed
$(VENV)/.installed: tests/requirements.txt
	@rm -rf $(VENV)
	@if python3 -m venv $(VENV) && $(VENV)/bin/pip install --quiet \
	        --disable-pip-version-check -r tests/requirements.txt; then touch $@; \
	else echo "venv: could not install tests/requirements.txt into $(VENV);" \
	        "the TensorBoard checks will be skipped" >&2; fi

# Extraction throughput of the download pipeline vs gzip | tar (tools/bench_extract.sh).
$(BUILD)/tools/bench_extract: tools/bench_extract.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Isrc $< $(LIB) -o $@ $(LDFLAGS) $(LDLIBS)
bench-extract: $(BUILD)/tools/bench_extract
	tools/bench_extract.sh $(BUILD)/tools/bench_extract

# ---- Packaging (issue 12): shared library, install, uninstall, pkg-config, .deb ----
# make install PREFIX=/usr/local DESTDIR= installs the binary (unstripped, as GNU and
# Debian expect: strip at packaging time; `make install-strip` or `make deb` strip),
# cifar-act(1), bash completion, libcifaract.a, libcifaract.so.VERSION (soname
# libcifaract.so.0), the public headers under INCLUDEDIR/cifar-act/ and cifar-act.pc.
# `make uninstall` with the same variables removes exactly those files (and the
# directories it made, when they are left empty).
BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
DATAROOTDIR  ?= $(PREFIX)/share
MANDIR       ?= $(DATAROOTDIR)/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
BASHCOMPDIR  ?= $(DATAROOTDIR)/bash-completion/completions
INSTALL      ?= install
STRIP        ?= strip
INSTALL_PROGRAM ?= $(INSTALL) -m 755

VERSION   := $(shell sed -n 's/^\#define CACT_VERSION "\(.*\)"$$/\1/p' src/ca.h)
SOVERSION := 0
SONAME    := libcifaract.so.$(SOVERSION)
SHLIB     := $(BUILD)/libcifaract.so.$(VERSION)
# The API a program may use (act_id.h because act.h includes it). Private:
# act_kernels.h, act_fast.inc (kernel internals), archive.h, download.h (behind fetch),
# manifest.h, outdir.h (behind run), pickle.h (behind cifar).
PUBLIC_H  := src/ca.h src/dataset.h src/act_id.h src/act.h src/cifar.h src/grid.h src/pngw.h src/fetch.h \
             src/run.h src/run_info.h src/pyfetch.h
# The .so's objects are built again with -fPIC in their own directory, so the CLI and
# the tests keep linking the non-PIC static library (Debian's gcc makes them PIE, which
# is what the binary was before; -fPIC would also stop calls between exported functions
# from being inlined, unless -fno-semantic-interposition, which we pass too).
PIC_OBJ   := $(LIB_SRC:src/%.c=$(BUILD)/pic/%.o)
CLI_DIR   := src/cli
MAN_SRC   := $(CLI_DIR)/cifar-act.1
COMP_SRC  := $(CLI_DIR)/cifar-act.bash

.PHONY: shared install install-strip uninstall deb
shared: $(SHLIB)

$(BUILD)/pic/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -fno-semantic-interposition -c $< -o $@

# Export only the functions the public headers declare (everything is cact_, so the
# prefix alone would export the kernels and the archive reader too).
$(BUILD)/libcifaract.map: $(PUBLIC_H) Makefile
	@mkdir -p $(dir $@)
	{ echo '{ global:'; grep -ohE '\<cact_[a-z0-9_]+ *\(' $(PUBLIC_H) | \
	    sed 's/ *($$/;/' | sort -u; echo 'local: *; };'; } > $@

$(SHLIB): $(PIC_OBJ) $(BUILD)/libcifaract.map
	$(CC) $(ALL_CFLAGS) -shared -Wl,-soname,$(SONAME) \
	    -Wl,--version-script=$(BUILD)/libcifaract.map $(PIC_OBJ) -o $@ $(LDFLAGS) $(LDLIBS)

$(BUILD)/cifar-act.pc: Makefile src/ca.h
	@mkdir -p $(dir $@)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(patsubst $(PREFIX)%,$${prefix}%,$(LIBDIR))' \
	    'includedir=$(patsubst $(PREFIX)%,$${prefix}%,$(INCLUDEDIR))' '' \
	    'Name: cifar-act' \
	    'Description: CIFAR-10 batches, PyTorch activation functions and PNG grids' \
	    'Version: $(VERSION)' \
	    'Requires.private: $(PKGS)' \
	    'Cflags: -I$${includedir}' \
	    'Libs: -L$${libdir} -lcifaract' \
	    'Libs.private: -lm -pthread' > $@

# Everything install writes, relative to DESTDIR; uninstall removes this list.
INSTALLED := $(BINDIR)/cifar-act $(MANDIR)/man1/cifar-act.1 $(BASHCOMPDIR)/cifar-act \
    $(LIBDIR)/libcifaract.a $(LIBDIR)/libcifaract.so.$(VERSION) $(LIBDIR)/$(SONAME) \
    $(LIBDIR)/libcifaract.so $(PKGCONFIGDIR)/cifar-act.pc \
    $(PUBLIC_H:src/%=$(INCLUDEDIR)/cifar-act/%)
INSTALL_DIRS := $(BINDIR) $(MANDIR)/man1 $(BASHCOMPDIR) $(LIBDIR) $(PKGCONFIGDIR) \
    $(INCLUDEDIR)/cifar-act

install: $(BIN) $(LIB) $(SHLIB) $(BUILD)/cifar-act.pc $(MAN_SRC) $(COMP_SRC)
	$(INSTALL) -d $(addprefix $(DESTDIR),$(INSTALL_DIRS))
	$(INSTALL_PROGRAM) $(BIN) $(DESTDIR)$(BINDIR)/cifar-act
	$(INSTALL) -m 644 $(MAN_SRC) $(DESTDIR)$(MANDIR)/man1/cifar-act.1
	$(INSTALL) -m 644 $(COMP_SRC) $(DESTDIR)$(BASHCOMPDIR)/cifar-act
	$(INSTALL) -m 644 $(LIB) $(DESTDIR)$(LIBDIR)/libcifaract.a
	$(INSTALL) -m 644 $(SHLIB) $(DESTDIR)$(LIBDIR)/libcifaract.so.$(VERSION)
	ln -sf libcifaract.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libcifaract.so
	$(INSTALL) -m 644 $(BUILD)/cifar-act.pc $(DESTDIR)$(PKGCONFIGDIR)/cifar-act.pc
	$(INSTALL) -m 644 $(PUBLIC_H) $(DESTDIR)$(INCLUDEDIR)/cifar-act/

# GNU's install-strip: the same, with the binary stripped (install -s).
install-strip:
	$(MAKE) INSTALL_PROGRAM='$(INSTALL) -m 755 -s --strip-program=$(STRIP)' install

# Files only, plus our own include/cifar-act/. With DESTDIR set (a staging tree, yours),
# the directories install made that are left empty go too; without it, shared system
# directories such as /usr/local/share/man/man1 stay.
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	-rmdir $(DESTDIR)$(INCLUDEDIR)/cifar-act
	-$(if $(DESTDIR),for d in $(addprefix $(DESTDIR),$(INSTALL_DIRS)); do \
	    while [ "$$d" != "$(DESTDIR)" ]; do \
	        if [ -d "$$d" ]; then rmdir "$$d" 2>/dev/null || break; fi; \
	        d=$$(dirname "$$d"); done; done)

# make deb: build/cifar-act_VERSION_ARCH.deb from a staged install with PREFIX=/usr,
# built in its own directory with dpkg-buildflags (hardening, _FORTIFY_SOURCE) and
# stripped as dh_strip would. Depends: the runtime section of tools/debian-packages.txt.
DEB_ARCH      = $(shell dpkg --print-architecture)
DEB_MULTIARCH = $(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || $(CC) -print-multiarch)
DEB_BUILD     = build/deb-obj
DEB_ROOT      = build/deb-root
DEB_FILE      = build/cifar-act_$(VERSION)_$(DEB_ARCH).deb
DEB_MAINTAINER ?= the cifar-act developers <cifar-act@users.noreply.invalid>
DEB_DEPENDS    = $(shell sed -n '/^\# \[runtime\]/,/^\# \[/{/^[^\#]/p}' tools/debian-packages.txt | \
                   tr -s '[:space:]' ' ' | sed 's/^ //; s/ $$//; s/ /, /g')
deb: $(DEB_FILE)
$(DEB_FILE): $(wildcard src/*.c src/*.h $(CLI_DIR)/*) Makefile LICENSE tools/debian-packages.txt
	rm -rf $(DEB_ROOT)
	export DEB_BUILD_MAINT_OPTIONS=hardening=+all; $(MAKE) BUILD=$(DEB_BUILD) \
	    BIN=$(DEB_BUILD)/cifar-act PREFIX=/usr LIBDIR=/usr/lib/$(DEB_MULTIARCH) \
	    CFLAGS="$$(dpkg-buildflags --get CFLAGS)" \
	    CPPFLAGS="$$(dpkg-buildflags --get CPPFLAGS)" \
	    LDFLAGS="$$(dpkg-buildflags --get LDFLAGS)" DESTDIR=$(abspath $(DEB_ROOT)) install
	$(STRIP) --remove-section=.comment --remove-section=.note $(DEB_ROOT)/usr/bin/cifar-act
	$(STRIP) --remove-section=.comment --remove-section=.note --strip-unneeded \
	    $(DEB_ROOT)/usr/lib/$(DEB_MULTIARCH)/libcifaract.so.$(VERSION)
	$(STRIP) --strip-debug --remove-section=.comment --remove-section=.note \
	    --enable-deterministic-archives $(DEB_ROOT)/usr/lib/$(DEB_MULTIARCH)/libcifaract.a
	gzip -9n $(DEB_ROOT)/usr/share/man/man1/cifar-act.1
	install -d $(DEB_ROOT)/usr/share/doc/cifar-act $(DEB_ROOT)/DEBIAN
	{ echo 'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/'; \
	  echo 'Upstream-Name: cifar-act'; echo; echo 'Files: *'; \
	  grep -m1 '^Copyright' LICENSE; echo 'License: MIT'; \
	  sed -n '/^Permission/,$$p' LICENSE | sed 's/^$$/./; s/^/ /'; } \
	    > $(DEB_ROOT)/usr/share/doc/cifar-act/copyright
	{ echo 'cifar-act ($(VERSION)) unstable; urgency=medium'; echo; \
	  echo '  * Built from the source tree with make deb.'; echo; \
	  echo ' -- $(DEB_MAINTAINER)  $(shell date -R -d @$$(git log -1 --format=%ct 2>/dev/null || date +%s))'; } \
	    | gzip -9n > $(DEB_ROOT)/usr/share/doc/cifar-act/changelog.gz
	echo 'activate-noawait ldconfig' > $(DEB_ROOT)/DEBIAN/triggers
	echo 'libcifaract $(SOVERSION) cifar-act (>= $(VERSION))' > $(DEB_ROOT)/DEBIAN/shlibs
	{ echo 'Package: cifar-act'; echo 'Version: $(VERSION)'; \
	  echo 'Architecture: $(DEB_ARCH)'; echo 'Maintainer: $(DEB_MAINTAINER)'; \
	  echo "Installed-Size: $$(du -sk --exclude=DEBIAN $(DEB_ROOT) | cut -f1)"; \
	  echo 'Depends: $(DEB_DEPENDS)'; echo 'Section: science'; echo 'Priority: optional'; \
	  echo 'Description: PyTorch activation functions on CIFAR-10 images, as PNG grids'; \
	  echo ' cifar-act downloads the CIFAR-10 test set, loads it in batches as a'; \
	  echo ' DataLoader does, applies the torch.nn activation functions after ToTensor'; \
	  echo ' and writes every input and output batch as a PNG grid, with the pixels'; \
	  echo ' torchvision save_image or TensorBoard add_images would show.'; \
	  echo ' .'; echo ' Also contains libcifaract, its headers and a pkg-config file.'; } \
	    > $(DEB_ROOT)/DEBIAN/control
	chmod -R u+rwX,go+rX,go-w $(DEB_ROOT)
	dpkg-deb --root-owner-group -Zxz --build $(DEB_ROOT) $@

# The tests install into a staging tree (tests/cli_pkg.sh), compare PNGs by pixels, and
# SIGKILL a run in the middle of its merge (tests/killat.c, an LD_PRELOAD shim; not
# named test_*, so run-tests.sh does not run it). The shim is built without the
# sanitizers even in make asan: it only counts calls, and preloaded ahead of libasan
# an instrumented copy would need the same ASAN_OPTIONS the plain one does.
test: $(SHLIB) $(BUILD)/cifar-act.pc $(BUILD)/tests/pngdiff $(BUILD)/tests/killat.so
$(BUILD)/tests/pngdiff: tests/pngdiff.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LDFLAGS) -lstb
$(BUILD)/tests/killat.so: tests/killat.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) -O2 -g -fPIC -shared $< -o $@ -ldl

# The .deb checked as a user would: lintian (apt-get install lintian), then, as root,
# apt-get install it, run it, find its man page and library, and remove it again.
# Not part of make test: it installs a system package. Lintian must report no error and
# no warning but the two a single package holding the program, the library and its
# headers draws (Debian would split it into cifar-act, libcifaract0, libcifaract-dev).
LINTIAN_ACCEPTED := link-to-shared-library-in-wrong-package,package-name-doesnt-match-sonames
.PHONY: deb-check
deb-check: $(DEB_FILE)
	lintian --fail-on error,warning --suppress-tags $(LINTIAN_ACCEPTED) $(DEB_FILE)
	apt-get install -y ./$(DEB_FILE)
	cifar-act --version
	man -w cifar-act
	ldconfig -p | grep -q libcifaract.so.0
	apt-get remove -y cifar-act
	! command -v cifar-act

-include $(PIC_OBJ:.o=.d)

clean:
	rm -rf build build-asan build-generic $(BIN)

# ---- html (src/html.c): the pages' CSS and JavaScript, kept as plain files and
# embedded as C string arrays at build time (no build step for the page itself). ----
HTML_ASSETS := $(BUILD)/gen/html_assets.h
$(HTML_ASSETS): src/html_page.css src/html_page.js tools/embed_text.awk
	@mkdir -p $(dir $@)
	awk -v name=html_page_css -f tools/embed_text.awk src/html_page.css > $@.tmp
	awk -v name=html_page_js -f tools/embed_text.awk src/html_page.js >> $@.tmp
	mv $@.tmp $@
$(BUILD)/src/html.o $(BUILD)/pic/html.o: $(HTML_ASSETS)
$(BUILD)/src/html.o $(BUILD)/pic/html.o: ALL_CFLAGS += -I$(BUILD)/gen

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_BIN:=.d)
