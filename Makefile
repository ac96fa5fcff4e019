# Thin task runner; the real build is CMake. `make demo` and `make test` are the README's two commands.
MAKEFLAGS += --no-print-directory
BUILD_DIR ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps build test demo rollout-demo bench clean

all: build

deps:
	@scripts/install-deps all

build: deps
	@cmake -S . -B $(BUILD_DIR) -DREADYGATE_WERROR=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 300

demo: build
	@scripts/demo $(BUILD_DIR)

rollout-demo: build
	@scripts/rollout-demo $(BUILD_DIR)

bench: build
	@bench/run $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
