# Thin wrapper around Meson so that the README's two commands work on a fresh machine.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 20
PYTHON     ?= /usr/bin/python3
MESON_FLAGS ?=

.PHONY: all deps demo test unit e2e asan fuzz bench clean install

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

deps:
	@bash scripts/install-deps.sh

$(BUILD)/build.ninja: | deps
	meson setup $(BUILD) $(MESON_FLAGS)

demo: all
	bash scripts/demo.sh $(BUILD)

unit: all
	meson test -C $(BUILD) --print-errorlogs --suite unit

e2e: all
	PROFKIT=$(CURDIR)/$(BUILD)/profkit TARGETS=$(CURDIR)/$(BUILD)/tests/targets \
	  $(PYTHON) -m pytest -q tests/e2e

asan: | deps
	test -f $(ASAN_BUILD)/build.ninja || \
	  CC=clang meson setup $(ASAN_BUILD) $(MESON_FLAGS) -Db_sanitize=address,undefined -Db_lundef=false
	ninja -C $(ASAN_BUILD)
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  meson test -C $(ASAN_BUILD) --print-errorlogs --suite unit

fuzz: | deps
	test -f $(FUZZ_BUILD)/build.ninja || \
	  CC=clang meson setup $(FUZZ_BUILD) $(MESON_FLAGS) -Dfuzz=true -Db_lundef=false
	ninja -C $(FUZZ_BUILD)
	bash scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# Unit tests, the same under ASan+UBSan, then the end-to-end tests (last, so their
# summary line closes the run).
test: unit asan e2e

bench: all
	$(PYTHON) bench/run_bench.py --build $(BUILD)

install: all
	meson install -C $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
