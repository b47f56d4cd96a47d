# enkrypt: the commands people and CI use. `make help` lists them.
BUILD      ?= build
SAN_BUILD  ?= build-sanitize
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=
FUZZ_SECONDS ?= 60

.PHONY: all help bootstrap configure build test sanitize bench fuzz fuzz-run format lint run clean

all: build

help:
	@echo "make test      bootstrap, configure, build and run the whole suite (ctest)"
	@echo "make sanitize  the same under ASan + UBSan in $(SAN_BUILD)/"
	@echo "make bench     run the benchmarks (JSON lines)"
	@echo "make fuzz      build the libFuzzer targets with clang in $(FUZZ_BUILD)/"
	@echo "make fuzz-run  run each fuzz target for FUZZ_SECONDS (default 60)"
	@echo "make format    reformat the tree with clang-format"
	@echo "make lint      clang-format check, clang-tidy, cppcheck"
	@echo "make run       run the product (see README.md)"

bootstrap:
	@scripts/bootstrap

configure: bootstrap
	cmake -S . -B $(BUILD) $(CMAKE_ARGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

sanitize: bootstrap
	cmake -S . -B $(SAN_BUILD) -DEK_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_ARGS)
	cmake --build $(SAN_BUILD) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(SAN_BUILD) --output-on-failure -j $(JOBS)

bench: build
	$(BUILD)/bench/enkrypt-bench crypto

fuzz: bootstrap
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DEK_FUZZ=ON -DEK_SANITIZE=ON -DEK_TESTS=OFF $(CMAKE_ARGS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS)

fuzz-run: fuzz
	@for f in $(FUZZ_BUILD)/fuzz/fuzz_*; do \
	  name=$$(basename $$f); mkdir -p $(FUZZ_BUILD)/corpus/$$name; \
	  echo "== $$name ($(FUZZ_SECONDS) s)"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(FUZZ_BUILD)/corpus/$$name fuzz/corpus/$$name || exit 1; \
	done

SOURCES = $(shell git ls-files '*.c' '*.h')

format:
	clang-format -i $(SOURCES)

# Product code gets clang-tidy; everything gets clang-format and cppcheck.
TIDY_SOURCES = $(shell git ls-files 'lib/*.c' 'broker/*.c' 'client/*.c' 'bench/*.c')

lint: configure
	clang-format --dry-run --Werror $(SOURCES)
	@# clang-tidy is clang: drop the GCC-only flags from the compile database.
	@mkdir -p $(BUILD)/tidy
	sed 's/-fvect-cost-model=dynamic//g' $(BUILD)/compile_commands.json > $(BUILD)/tidy/compile_commands.json
	clang-tidy -p $(BUILD)/tidy --quiet $(TIDY_SOURCES) > $(BUILD)/clang-tidy.log 2>&1 || (grep -E '(warning|error):' $(BUILD)/clang-tidy.log; exit 1)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --inline-suppr --suppressions-list=.cppcheck-suppressions \
	  --std=c11 -I include -I lib -I tests/harness $(SOURCES)
	@echo "lint: clean"

# The product: enkrypt (issue 9). The first run creates the profile (asks a
# passphrase); RUN_ARGS passes options, e.g. make run RUN_ARGS="--profile bob".
# enkrypt without a command runs the terminal UI.
RUN_ARGS ?=
run: build
	$(BUILD)/client/app/enkrypt $(RUN_ARGS)

clean:
	rm -rf $(BUILD) $(SAN_BUILD) $(FUZZ_BUILD)

# The PeerJS signaling benchmark: broker-load against enkrypt-broker and the
# reference peer@1.0.2 in the same run (JSON lines; see docs/broker.md).
.PHONY: bench-broker
bench-broker: build
	bench/broker-load.sh $(BUILD)
