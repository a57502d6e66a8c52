# The two commands of the README: `make up` and `make test`. Everything else is a convenience.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(notdir $(patsubst %/,%,$(wildcard fuzz/corpus/*/)))
JOBS       ?= $(shell nproc)
CTEST_ARGS ?=

.PHONY: all deps build up test test-asan fuzz bench clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

# Runs the default stack in the foreground (Ctrl-C stops everything it started).
up: build
	@scripts/up $(BUILD)/src/cli/surge $(UP_ARGS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

$(ASAN_BUILD)/build.ninja:
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSURGE_SANITIZE=ON -DSURGE_BENCHMARKS=OFF

test-asan: deps $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

# libFuzzer (clang-14, ASan + UBSan): runs each harness for FUZZ_SECONDS over its corpus in
# fuzz/corpus/<name>/; new inputs go to $(FUZZ_BUILD)/corpus/<name>/, crashes to
# $(FUZZ_BUILD)/artifacts/<name>/. `make fuzz FUZZ_TARGETS="http_request_head" FUZZ_SECONDS=600`.
$(FUZZ_BUILD)/build.ninja:
	@scripts/install-deps --fuzz
	CC=clang-14 CXX=clang++-14 cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DSURGE_FUZZ=ON -DSURGE_SANITIZE=ON -DSURGE_WERROR=OFF -DSURGE_BENCHMARKS=OFF

fuzz: $(FUZZ_BUILD)/build.ninja
	flock $(FUZZ_BUILD)/.build-lock cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	@scripts/fuzz $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

bench: build
	@for b in $$(find $(BUILD) -name '*_benchmark' -type f -perm -u+x); do echo "== $$b"; $$b; done

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
