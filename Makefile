# Makefile — lde: build, dependencies, tests, demo, benchmark.
#
#   make deps     install the Debian packages lde needs (quiet when all are present)
#   make          build ./lde               (NATIVE=1 adds -march=native)
#   make check    deps + build + every test (SAN=1: under ASan/UBSan)
#   make check-slurm  lde slurm on a real one-node Slurm started for the test (root)
#   make check-faults the SIGKILL soak of many workers and the full disk (tests/faults/)
#   make demo     deps + build + the quickstart experiment on the built-in data, then its report
#   make paper    deps + build + every paper config (resumable), then plots/paper/index.html
#   make valgrind the end-to-end tests under valgrind
#   make bench    flow and backbone throughput against this machine's SGEMM peak
#   make bench-compare  the same models in PyTorch beside lde's figures
#   make bench-scale    lde run on ImageNet-size float16 features: memory and times

VERSION := 0.1.0
MULTIARCH := $(shell gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
OPENBLAS_INC := /usr/include/$(MULTIARCH)/openblas-openmp
OPENBLAS_LIB := /usr/lib/$(MULTIARCH)/openblas-openmp

# Debian packages: libraries and tools lde builds against or runs (gnuplot for
# figures, the Fashion-MNIST data set; libdnnl-dev for the oneDNN convolutions of
# data.backbone.conv: onednn). python3-sklearn is only downloaded and unpacked for
# its digits file, never installed (see fetch-digits below). chromium
# is for make check only: tests/e2e/test_paper.sh renders lde paper's page in it
# headless (measured: 113 MB of .debs with chromium-common and its few missing
# libraries, about 400 MB installed, 15 s to install on this project's machine).
DEB_PKGS := gcc make libyaml-dev libsqlite3-dev sqlite3 libopenblas-openmp-dev zlib1g-dev \
            libxxhash-dev libdnnl-dev gnuplot-nox dataset-fashion-mnist chromium
DIGITS := results/cache/digits.csv.gz

CC := gcc
# -fno-math-errno: sqrtf inlines and vectorizes (Adam's step measured 3x faster).
CFLAGS := -std=c11 -O2 -g -fno-math-errno -fopenmp -Wall -Wextra -Werror -D_GNU_SOURCE \
          -I. -Iharness -I$(OPENBLAS_INC) -MMD -MP
LDLIBS := -L$(OPENBLAS_LIB) -Wl,-rpath,$(OPENBLAS_LIB) -lopenblas -ldnnl -lyaml -lsqlite3 -lxxhash -lz -lm

ifeq ($(NATIVE),1)
CFLAGS += -march=native
endif

ifeq ($(SAN),1)
BUILD := build/san
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
LDE_BIN := $(BUILD)/lde
else
BUILD := build/rel
LDE_BIN := lde
endif

SHELL := /bin/bash
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

LIB_SRC := $(wildcard flows/*.c) $(filter-out harness/cli/main.c,$(wildcard harness/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/*/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)

.PHONY: all deps check check-faults check-slurm demo paper bench tests clean format install lint valgrind FORCE
.DELETE_ON_ERROR:

all: $(LDE_BIN)

# The git revision is baked into lde (harness/util/version.c); version.h is rewritten
# only when it changes.
$(BUILD)/version.h: FORCE
	@mkdir -p $(@D)
	@printf '#define LDE_VERSION "%s"\n#define LDE_GIT_REV "%s"\n' '$(VERSION)' \
	  "$$(git describe --always --dirty 2>/dev/null || echo unknown)" > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(BUILD)/harness/util/version.o: harness/util/version.c $(BUILD)/version.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -include $(BUILD)/version.h -c $< -o $@

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/liblde.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(LDE_BIN): $(BUILD)/harness/cli/main.o $(BUILD)/liblde.a
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Every test binary links the unit harness and the finite-difference references.
TEST_LIB := $(BUILD)/tests/unit.o $(BUILD)/tests/fdcheck.o
$(BUILD)/tests/%: tests/%.c $(TEST_LIB) $(BUILD)/liblde.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(TEST_LIB) $(BUILD)/liblde.a $(LDLIBS) -o $@

tests: $(LDE_BIN) $(TEST_BIN)

deps:
	@missing=""; for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@[ -s $(DIGITS) ] || $(MAKE) --no-print-directory fetch-digits

# The 1,797 sklearn digits: downloaded as the python3-sklearn .deb and unpacked
# with dpkg -x; no Python is installed or run.
.PHONY: fetch-digits
fetch-digits:
	@echo "make deps: fetching digits.csv.gz from Debian's python3-sklearn"
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; cd "$$tmp"; \
	  apt-get download -qq python3-sklearn >/dev/null 2>&1 || \
	    { $(SUDO) apt-get update -qq && apt-get download -qq python3-sklearn >/dev/null; }; \
	  dpkg -x python3-sklearn_*.deb x; \
	  f=$$(find x -path '*sklearn/datasets/data/digits.csv.gz' | head -n 1); \
	  [ -n "$$f" ] || { echo "digits.csv.gz not found in python3-sklearn" >&2; exit 1; }; \
	  cd - >/dev/null; mkdir -p $(dir $(DIGITS)); cp "$$tmp/$$f" $(DIGITS).tmp; mv $(DIGITS).tmp $(DIGITS)

# E2E_SAN tells the e2e scripts that lde runs under ASan (test_bad_inputs.sh then
# skips its address-space-limit checks, which ASan's shadow memory cannot meet).
check: deps
	@$(MAKE) --no-print-directory tests
	@TEST_BIN_DIR=$(BUILD)/tests LDE=$(abspath $(LDE_BIN)) E2E_SAN=$(if $(filter 1,$(SAN)),1,0) tests/run-tests

# The faults of issue 20 that take longer or need a mount (tests/faults/): 4
# workers on one database under 24 SIGKILLs, and a full disk (a tmpfs when root,
# RLIMIT_FSIZE otherwise). .ci/run runs it; about 30 s on the 2-core machine.
check-faults: deps
	@$(MAKE) --no-print-directory $(LDE_BIN)
	@LDE=$(abspath $(LDE_BIN)) TEST_GLOB='tests/faults/test_*.sh' tests/run-tests

# Regenerates the NumPy cross-implementation fixture of the flows
# (tests/fixtures/flows_numpy.h, read by tests/flows/test_crosscheck.c) with Debian's
# python3-numpy; `make check` only reads the committed header, never runs Python.
.PHONY: fixtures
fixtures:
	@$(MAKE) --no-print-directory deps DEB_PKGS=python3-numpy
	/usr/bin/python3 tests/fixtures/gen_flows.py

# lde slurm against a real one-node Slurm (tests/slurm/local_slurm.sh): installs
# slurm-wlm and munge when missing, starts munged, slurmctld and slurmd as root
# with everything under a temporary folder, and stops them by pid. CI runs it
# (.ci/run); `make check` leaves it out to stay fast and daemon-free.
check-slurm: deps
	@$(MAKE) --no-print-directory all
	@LDE=$(abspath $(LDE_BIN)) tests/slurm/test_slurm.sh

# The end-to-end tests with every lde invocation under valgrind (tests/valgrind-lde):
# a memory error or a definite leak fails the test that ran it. E2E_VALGRIND=1 makes
# the scripts skip their slowest parts, which repeat code paths already covered:
# test_run.sh its determinism and kill/resume grids, test_features.sh trains a tiny
# backbone once (no 2-thread and kill/rebuild trainings), test_bad_inputs.sh the idx cases that must
# first decompress the real 47 MB training images (through lde features and lde run;
# lde datasets still reads each one), lde run on most bad .npy files and its
# address-space-limit checks; test_bad_configs.sh runs each config through lde plan
# only (lde run validates with the same code).
valgrind: deps
	@$(MAKE) --no-print-directory deps DEB_PKGS=valgrind
	@$(MAKE) --no-print-directory all
	@LDE=$(abspath tests/valgrind-lde) E2E_VALGRIND=1 tests/run-tests e2e

demo: deps
	@$(MAKE) --no-print-directory all
	./$(LDE_BIN) run configs/quickstart.yaml
	@echo "open the report:"
	@./$(LDE_BIN) report quickstart

# Every paper config not yet done, each experiment's report, then one page for both
# papers with the findings (lde paper --help); run it again to finish what is missing.
paper: deps
	@$(MAKE) --no-print-directory all
	./$(LDE_BIN) paper

# Throughput against the SGEMM peak (about a minute); results vary with machine load.
# lde picks how its idle threads wait as it starts (util/waitpolicy.h): a short spin
# on an idle machine, passive waiting on a busy one; `lde --version` says which.
bench: deps
	@$(MAKE) --no-print-directory all
	./$(LDE_BIN) bench

# lde bench, then the same models in PyTorch (Debian's python3-torch, installed here
# when missing; tests/bench/torch_compare.py) on the same threads and with the same
# OpenBLAS kernels, printed side by side with lde / PyTorch. Not part of CI (minutes).
.PHONY: bench-compare
bench-compare: deps
	@$(MAKE) --no-print-directory deps DEB_PKGS="python3-torch python3-numpy"
	@$(MAKE) --no-print-directory all
	@mkdir -p results
	./$(LDE_BIN) --version
	./$(LDE_BIN) bench --json > results/bench.jsonl
	OPENBLAS_CORETYPE=$${OPENBLAS_CORETYPE:-$$(./$(LDE_BIN) --version | grep -o '[A-Za-z0-9]* MAX_THREADS' | cut -d' ' -f1)} \
	  OMP_NUM_THREADS=$${OMP_NUM_THREADS:-2} /usr/bin/python3 tests/bench/torch_compare.py results/bench.jsonl

# lde run on ImageNet-size float16 features (issue 18; tests/bench/bench_scale.sh):
# peak resident memory, seconds to the first training step, PCA fit time, training
# and evaluation samples/s, with PCA 512 and without. BENCH_ROWS=200000 for a
# smaller run. Data under results/bench-scale, removed after. Not part of CI.
BENCH_ROWS ?= 1281167
.PHONY: bench-scale
bench-scale: deps
	@$(MAKE) --no-print-directory deps DEB_PKGS="python3-numpy bc time"
	@$(MAKE) --no-print-directory all
	tests/bench/bench_scale.sh $(BENCH_ROWS)

# The layering of harness/ (harness/README.md: which folder may include which, no
# include or link cycles; tests/lint/check_layers.sh), then static analysis of flows/
# and harness/: cppcheck and clang-tidy (.clang-tidy lists
# the checks and why any is off). clang-tidy runs one file per process: clang 14
# carries analyzer state between files of one invocation and then reports a false
# va_list error; -fopenmp so the OpenMP pragmas are analysed as they are compiled
# (omp.h comes from gcc's include directory).
LINT_SRC := $(wildcard flows/*.c harness/*/*.c)
TIDY_FLAGS := -std=c11 -fopenmp -D_GNU_SOURCE -I. -Iharness -I$(OPENBLAS_INC) \
              -idirafter $(shell gcc -print-file-name=include)
lint:
	@$(MAKE) --no-print-directory all
	tests/lint/check_layers.sh --objects $(BUILD)
	@$(MAKE) --no-print-directory deps DEB_PKGS="cppcheck clang-tidy"
	cppcheck --enable=warning,performance,portability --error-exitcode=1 --quiet \
	  --inline-suppr -D_GNU_SOURCE -I. -Iharness flows harness
	printf '%s\n' $(LINT_SRC) | xargs -P2 -n1 sh -c \
	  'out=$$(clang-tidy --quiet "$$0" -- $(TIDY_FLAGS) 2>&1) || { printf "%s\n" "$$out"; exit 1; }'

clean:
	rm -rf build lde

format:
	clang-format -i $(filter-out tests/fixtures/%,$(wildcard flows/*.[ch] harness/*/*.[ch] tests/*.[ch] tests/*/*.[ch]))

PREFIX ?= /usr/local
install: $(LDE_BIN)
	install -D -m 755 $(LDE_BIN) $(DESTDIR)$(PREFIX)/bin/lde

-include $(LIB_OBJ:.o=.d) $(BUILD)/harness/cli/main.d $(TEST_BIN:=.d)
.SECONDARY:

# Fuzzing (libFuzzer, Debian's clang and libclang-rt-14-dev, installed on demand):
# `make fuzz FUZZ_SECONDS=N` runs each target for N seconds from its committed seed
# corpus (tests/fuzz/corpus/NAME/, copied to build/fuzz/corpus/NAME so new inputs
# stay out of git). A crash leaves crash-* in build/fuzz/; commit it to the corpus as
# crash_<what>: make check loads every corpus file the way its target does
# (test_config, test_npy, test_fmnist, test_modelfile). Each target lists its sources.
FUZZ_SECONDS ?= 60
FUZZ_PKGS := clang libclang-rt-14-dev
FUZZ_CFLAGS := -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer \
               -fno-sanitize-recover=undefined \
               -D_GNU_SOURCE -I. -Iharness
FUZZ_TARGETS := config npy idx modelfile
FUZZ_config_SRC := harness/config/yamltree.c harness/data/npy.c harness/util/atomicfile.c \
                   harness/config/featsource.c harness/config/keyerror.c harness/config/params.c harness/config/config.c \
                   harness/config/plan.c harness/util/err.c
FUZZ_config_LIBS := -lyaml -lxxhash -lm
FUZZ_npy_SRC := harness/data/npy.c harness/util/atomicfile.c harness/util/err.c
FUZZ_npy_LIBS := -lm
FUZZ_idx_SRC := harness/data/fmnist.c harness/data/gzfile.c harness/data/images.c harness/util/err.c
FUZZ_idx_LIBS := -lz -lxxhash -lm
# The model loader builds the flow it reads: the whole flow core (a model may be any
# arch, Residual Flow's layers included), OpenBLAS and OpenMP (gcc's libgomp; clang
# finds omp.h in gcc's include directory).
FUZZ_modelfile_SRC := harness/run/modelfile.c harness/util/atomicfile.c harness/util/err.c \
                      $(wildcard flows/*.c)
FUZZ_modelfile_LIBS := -fopenmp=libgomp -idirafter $(shell gcc -print-file-name=include) \
                       -I$(OPENBLAS_INC) -L$(OPENBLAS_LIB) -Wl,-rpath,$(OPENBLAS_LIB) -lopenblas \
                       -lxxhash -lm

.PHONY: fuzz fuzz-deps
fuzz-deps:
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(FUZZ_PKGS)"

.SECONDEXPANSION:
build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $$(FUZZ_$$*_SRC) | fuzz-deps
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) $^ $(FUZZ_$*_LIBS) -o $@

fuzz: $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build/fuzz/corpus/$$t && cp -n tests/fuzz/corpus/$$t/* build/fuzz/corpus/$$t/ 2>/dev/null; \
	  echo "fuzz $$t for $(FUZZ_SECONDS) s"; \
	  (cd build/fuzz && ./fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	     corpus/$$t) || exit 1; \
	done
