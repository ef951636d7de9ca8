# The two commands a user needs are `make run` and `make test`; everything else is here too.
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
SAN_BUILD ?= build-sanitize
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all bootstrap configure build run test test-sanitize spec bench format clean

all: build

bootstrap:
	@scripts/bootstrap

$(BUILD)/build.ninja: | bootstrap
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

configure: bootstrap $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

run: build
	scripts/run-example $(BUILD)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

$(SAN_BUILD)/build.ninja: | bootstrap
	cmake -S . -B $(SAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DREGLET_SANITIZE=ON $(CMAKE_FLAGS)

test-sanitize: bootstrap $(SAN_BUILD)/build.ninja
	cmake --build $(SAN_BUILD) -j $(JOBS)
	cd $(SAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) -LE spec $(CTEST_ARGS)

TESTSUITE ?= ../shared/testsuite

spec: build
	$(BUILD)/tests/spec/reglet-spectest --testsuite $(TESTSUITE)

bench: build
	scripts/bench-table $(BUILD)

format:
	find include src sdk plugins tests bench -name '*.h' -o -name '*.cc' -o -name '*.cpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(SAN_BUILD)
