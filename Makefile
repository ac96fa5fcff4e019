# Thin task runner; the real build is CMake. `make demo` and `make test` are the README's two commands.
MAKEFLAGS += --no-print-directory
BUILD_DIR ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps build test test-asan test-tsan fuzz image image-test demo rollout-demo bench clean

all: build

deps:
	@scripts/install-deps all

build: deps
	@cmake -S . -B $(BUILD_DIR) -DREADYGATE_WERROR=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 300

# The suite under AddressSanitizer + UndefinedBehaviorSanitizer, or ThreadSanitizer, in a
# build directory of its own (-O1 -g1). Any report fails the test (halt_on_error). Attack,
# load and real-client tests (label plain_only) run in `make test` only.
SANITIZER_CTEST = ctest --output-on-failure -j $(JOBS) --timeout 600 -LE plain_only
test-asan: deps
	@cmake -S . -B build-asan -DREADYGATE_WERROR=ON -DREADYGATE_SANITIZE=address,undefined $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $(SANITIZER_CTEST)

test-tsan: deps
	@cmake -S . -B build-tsan -DREADYGATE_WERROR=ON -DREADYGATE_SANITIZE=thread $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-tsan -j $(JOBS)
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/tsan.supp \
	  $(SANITIZER_CTEST)

# Each fuzz target for FUZZ_SECONDS (clang, libFuzzer, ASan + UBSan); new inputs go to
# build-fuzz/corpus, crashes to build-fuzz/crashes (copy them into tests/fuzz/corpus to
# keep them as regression inputs of `make test`).
FUZZ_SECONDS ?= 60
fuzz:
	@scripts/install-deps fuzz
	@cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DREADYGATE_FUZZ=ON \
	  -DREADYGATE_SANITIZE=address,undefined $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-fuzz -j $(JOBS) --target fuzz_http_message fuzz_probe_response fuzz_grpc_health \
	  fuzz_config_loader fuzz_endpoint_list fuzz_proxy_header fuzz_watch_stream fuzz_kubeconfig \
	  fuzz_h2_request fuzz_h2_session fuzz_h2_client fuzz_admin_query
	@scripts/fuzz build-fuzz $(FUZZ_SECONDS)

# Container images with podman (docker/Dockerfile; base images made with debootstrap where
# no registry is reachable), and their checks: the image run as a user would, then the
# compose demo started with podman-compose.
image:
	@scripts/install-deps image
	@scripts/image

image-test: image
	@scripts/image-test
	@scripts/compose-test

demo: build
	@scripts/demo $(BUILD_DIR)

rollout-demo: build
	@scripts/rollout-demo $(BUILD_DIR)

bench: build
	@bench/run $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR) build-asan build-tsan build-fuzz build-image
