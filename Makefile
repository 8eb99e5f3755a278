# Meerkat: host build (SwiftPM), firmware builds (Embedded Swift, per board), tests,
# benchmarks. `make test` is what CI runs (.ci/run) and installs what it needs first.
SHELL        := /bin/bash
BOARD        ?= host
ARM_BOARDS   := rpi4 rpi3-armhf
SWIFT_ROOT   := $(abspath $(dir $(shell command -v swiftc))/..)
PYTHON       ?= python3

BOARDS       := $(sort $(basename $(notdir $(wildcard boards/*.mk))))
ifeq ($(filter $(BOARD),$(BOARDS)),)
$(error unknown board "$(BOARD)": the boards are $(BOARDS) (one boards/<name>.mk each))
endif
include boards/$(BOARD).mk
include cross/$(BOARD_ARCH).mk
include cross/embedded.mk

OUT          := build/$(BOARD)
# Meerkat's version: read from Sources/Meerkat/Version.swift, its one source.
VERSION      := $(shell bash scripts/version.sh)
LIB_SOURCES  := $(shell find Sources/Meerkat -name '*.swift' | sort)
# MeerkatApp: the command line the apps share (AppOptions) and the multi-call start; a
# module of its own, linked into every app, kept only where an app uses it.
APP_LIB_SOURCES := $(sort $(wildcard Sources/MeerkatApp/*.swift))
# MeerkatTesting (TestChannel) is for host tests only (SwiftPM); check-embedded compiles it.
TESTING_SOURCES := $(sort $(wildcard Sources/MeerkatTesting/*.swift))
# The apps: Package.swift's `let apps = [...]` line, the one list SwiftPM reads too.
APPS         := $(shell sed -n 's/^let apps *= *\[\(.*\)\].*/\1/p' Package.swift | tr -d '" ' | tr , ' ')
APP_DIRS     := $(patsubst Sources/%/main.swift,%,$(wildcard Sources/*/main.swift))
UNLISTED     := $(filter-out $(APPS),$(APP_DIRS))
APP_BINS     := $(addprefix $(OUT)/bin/,$(APPS))
SHIM         := $(wildcard Sources/CMeerkat/*.c Sources/CMeerkat/include/*.h)
SHIM_OBJS    := $(OUT)/obj/shim.o $(OUT)/obj/tls.o $(OUT)/obj/crypto.o $(OUT)/obj/mbedtls_trim.o $(OUT)/obj/mbedtls_alloc.o \
                $(OUT)/obj/revision.o
FIRMWARE_MBEDTLS := $(OUT)/lib/libmbedtls.a $(OUT)/lib/libmbedx509.a $(OUT)/lib/libmbedcrypto.a
OBJCOPY      := $(CROSS_CC:gcc=objcopy)

.PHONY: FORCE sanitize crash-test soak soak-record format lint apps-listed fuzz fuzz-long fuzz-merge fuzz-record all deps build unit firmware check-embedded check-modules integration integration-all qemu-test qemu-tests test run run-tls bench size bundle clean \
        codec-vectors diff-fuzz print-runner tls-ciphers new-app ota-image board-vm board-vm-stop board-test board-test-full \
        thread-test board-lowmem
.DELETE_ON_ERROR:
.SECONDARY:

all: firmware

## deps: install every apt and pip package the builds and tests need (idempotent).
deps:
	@bash scripts/deps.sh

## build: host build with SwiftPM (debug), then the fast Embedded check, so code that
## only the firmware build rejects (untyped throws, existentials) fails here too.
build:
	swift build
	$(MAKE) check-embedded

## format: rewrites the Swift files of Sources/ and Tests/ in the committed style
## (.swift-format, which swift format finds by itself too), then the apps that README and
## docs/ quote whole (scripts/doc_examples.py), so they stay word for word the files.
DOCS_QUOTING  := README.md $(wildcard docs/*.md)
format:
	swift format format --in-place --parallel --configuration .swift-format --recursive Sources Tests
	$(PYTHON) scripts/doc_examples.py $(DOCS_QUOTING)

## lint: the Swift files against .swift-format (strict: any finding fails), the shell
## scripts with shellcheck, the Python of scripts/ and Tests/integration with ruff
## (ruff.toml: the pyflakes rules). All three run; any failure fails lint. A few
## seconds. A deliberate exception is marked inline with its reason (swift-format-ignore,
## shellcheck disable=, noqa).
SHELL_SCRIPTS := $(wildcard scripts/*.sh) .ci/run
PY_FILES      := $(wildcard scripts/*.py Tests/integration/*.py Tests/board/*.py)
lint:
	@status=0; \
	echo "lint: swift format"; swift format lint --strict --parallel --configuration .swift-format --recursive Sources Tests || status=1; \
	echo "lint: shellcheck"; shellcheck $(SHELL_SCRIPTS) || status=1; \
	echo "lint: ruff"; $(PYTHON) -m ruff check --no-cache --quiet $(PY_FILES) || status=1; \
	exit $$status

## unit: the host unit tests (Swift Testing).
unit:
	swift test

# The library and apps under ASan + UBSan (C), leaks checked (scripts/sanitize.sh; about
# 6 minutes here, so not part of make test).
sanitize: deps
	bash scripts/sanitize.sh

# The kill -9 campaigns, long, on BOARD: test_crash_safety.py's CRASH_KILLS kills (300)
# during settings saves and uploads, and test_ota_crash.py's whole plan of kills through
# a firmware update (every stage; about 100 on the host, 45 on an ARM board).
CRASH_KILLS ?= 300
crash-test: deps firmware
	CRASH_KILLS=$(CRASH_KILLS) OTA_CRASH_KILLS=0 MEERKAT_BIN=$(OUT)/bin MEERKAT_RUNNER="$(RUNNER)" MEERKAT_BOARD=$(BOARD) \
		python3 -m pytest -q -s Tests/integration/test_crash_safety.py Tests/integration/test_ota_crash.py

## soak: echo-server on BOARD for MINUTES (10) under mixed load through fault proxies,
## every answer and chat message checked, RSS/descriptors/pools sampled every 10 s
## (Tests/soak/soak.py; chart and samples in build/soak/BOARD; SEED= replays a run).
MINUTES ?= 10
SEED ?= $(shell date +%s)
soak: deps firmware
	$(PYTHON) -c "import matplotlib" 2>/dev/null || $(PYTHON) -m pip install -q matplotlib \
	    || $(PYTHON) -m pip install -q --break-system-packages matplotlib
	rm -rf build/soak/$(BOARD) && mkdir -p build/soak/$(BOARD)
	MEERKAT_BIN=$(OUT)/bin MEERKAT_RUNNER="$(RUNNER)" MEERKAT_BOARD=$(BOARD) \
	    $(PYTHON) Tests/soak/soak.py --minutes $(MINUTES) --seed $(SEED) --out build/soak/$(BOARD) \
	    --chart build/soak/$(BOARD)/soak.png

## soak-record: BENCHMARKS.md's soak row for BOARD from its last make soak, and its chart
## as docs/soak-BOARD.png (Tests/soak/record.py).
soak-record:
	$(PYTHON) Tests/soak/record.py $(BOARD)

# ---- firmware (Embedded Swift) ------------------------------------------------------

# The board's profile in Swift, rewritten only when its text changes (as revision.c
# below): an edit to the .mk that the firmware does not read (BOARD_VM_RAM_MB, a
# comment) leaves the file's time alone, so make compiles nothing again (make -n cannot
# know that and lists the compiles; the binaries relink, as for any Makefile edit).
$(OUT)/gen/BoardProfile.swift: boards/$(BOARD).mk scripts/board-limits.sh
	@mkdir -p $(dir $@)
	@bash scripts/board-limits.sh boards/$(BOARD).mk > $@.new
	@if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; echo "$@: written from boards/$(BOARD).mk"; fi

# Every profile by name, for host tests (`Limits(board:)`, TestChannel): committed, so
# SwiftPM builds it too, and remade here whenever a profile changes.
Sources/MeerkatTesting/BoardProfiles.swift: $(sort $(wildcard boards/*.mk)) scripts/board-limits.sh
	@bash scripts/board-limits.sh --all $(sort $(wildcard boards/*.mk)) > $@.new
	@if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; echo "$@: written from boards/*.mk"; fi

# The git revision for --version, in C (mk_build_revision, replacing the shim's weak
# "unknown"), and the source's time (mk_build_epoch: SOURCE_DATE_EPOCH, else the
# commit's; the wall clock's floor): checked on every run, rewritten only when they
# change (a commit, the tree made dirty or clean), and then only relinks the binaries.
$(OUT)/gen/revision.c: FORCE
	@mkdir -p $(dir $@)
	@{ echo "const char *mk_build_revision(void) { return \"$$(bash scripts/revision.sh)\"; }"; \
	   echo "long long mk_build_epoch(void) { return $$(bash scripts/build-epoch.sh)LL; }"; } > $@.new
	@if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; echo "$@: $$(bash scripts/revision.sh)"; fi

$(OUT)/obj/revision.o: $(OUT)/gen/revision.c
	$(CROSS_CC) $(BOARD_CPU_FLAGS) $(C_SECTION_FLAGS) $(C_UNWIND_FLAGS) -Os -c $< -o $@

FORCE:

$(OUT)/obj/%.o: Sources/CMeerkat/%.c $(SHIM) cross/embedded.mk
	@mkdir -p $(dir $@)
	$(CROSS_CC) $(BOARD_CPU_FLAGS) $(C_SECTION_FLAGS) $(C_UNWIND_FLAGS) -DMK_MBEDTLS_HEAP -Os -Wall -c $< -I Sources/CMeerkat/include -o $@

# Debian's mbedTLS archives without their unwind tables (cross/embedded.mk says why), and
# calling mbedtls_alloc.c's calloc and free (that file says why; its date rebuilds them).
# The shim's objects are built with MK_MBEDTLS_HEAP: tls.c then frees what mbedTLS
# allocated through that heap too.
$(OUT)/lib/libmbed%.a: /usr/lib/$(MULTIARCH)/libmbed%.a cross/embedded.mk Sources/CMeerkat/mbedtls_alloc.c
	@mkdir -p $(dir $@)
	$(OBJCOPY) --remove-section=.eh_frame --redefine-sym calloc=mk_mbedtls_calloc --redefine-sym free=mk_mbedtls_free $< $@

# Each swiftc rule removes its object first: swiftc 6.3.1 was seen to leave an existing
# object untouched when only a flag changed (-Xfrontend -function-sections), so a flag
# change in cross/embedded.mk would not reach the binaries.
$(OUT)/obj/Meerkat.o: $(LIB_SOURCES) $(OUT)/gen/BoardProfile.swift $(SHIM) cross/embedded.mk
	@mkdir -p $(dir $@) $(OUT)/modules
	@rm -f $@
	swiftc -target $(SWIFT_TARGET) $(SWIFT_EMBEDDED_FLAGS) $(SWIFT_SYSROOT_FLAGS) -parse-as-library \
	    -module-name Meerkat -D MEERKAT_BOARD_PROFILE \
	    -emit-module -emit-module-path $(OUT)/modules/Meerkat.swiftmodule \
	    -c $(LIB_SOURCES) $(OUT)/gen/BoardProfile.swift -o $@

# The apps' helpers, against the library's module; every app links it after the library
# (--gc-sections keeps what the app calls).
$(OUT)/obj/MeerkatApp.o: $(OUT)/obj/Meerkat.o $(APP_LIB_SOURCES)
	@rm -f $@
	swiftc -target $(SWIFT_TARGET) $(SWIFT_EMBEDDED_FLAGS) $(SWIFT_SYSROOT_FLAGS) -parse-as-library \
	    -module-name MeerkatApp -I $(OUT)/modules \
	    -emit-module -emit-module-path $(OUT)/modules/MeerkatApp.swiftmodule \
	    -c $(APP_LIB_SOURCES) -o $@

LIB_OBJS := $(OUT)/obj/Meerkat.o $(OUT)/obj/MeerkatApp.o

# device-app's web UI: web/device packed into C data (scripts/pack_web.py), compiled
# for each board and linked into device-app only. The generated file is committed (so
# SwiftPM builds it too) and remade here whenever web/device changes.
Sources/WebUI/packed.c: $(wildcard web/device/*) scripts/pack_web.py
	$(PYTHON) scripts/pack_web.py web/device $@ webui_files

$(OUT)/obj/webui.o: Sources/WebUI/packed.c
	@mkdir -p $(dir $@)
	$(CROSS_CC) $(BOARD_CPU_FLAGS) $(C_SECTION_FLAGS) $(C_UNWIND_FLAGS) -Os -c $< -o $@

# What an app links beyond the library: device-app its packed web UI.
APP_OBJS_device-app := $(OUT)/obj/webui.o

# Each app depends on its own sources and the library only.
.SECONDEXPANSION:
$(OUT)/obj/app-%.o: $(LIB_OBJS) $$(wildcard Sources/$$*/*.swift)
	@rm -f $@
	swiftc -target $(SWIFT_TARGET) $(SWIFT_EMBEDDED_FLAGS) $(SWIFT_SYSROOT_FLAGS) \
	    -module-name $(subst -,_,$*) -I $(OUT)/modules -I Sources/WebUI/include -c $(wildcard Sources/$*/*.swift) -o $@

ifeq ($(ARM_ATTRIBUTE_STRIP),1)
# See cross/armv7hf.mk: a copy of the tables without the soft-float attribute section.
$(OUT)/lib/libswiftUnicodeDataTables.a: $(UNICODE_TABLES)
	@mkdir -p $(dir $@)
	$(OBJCOPY) --remove-section=.ARM.attributes $< $@
LINK_TABLES := $(OUT)/lib/libswiftUnicodeDataTables.a
else
LINK_TABLES := $(UNICODE_TABLES)
endif

$(OUT)/bin/%: $(OUT)/obj/app-%.o $(LIB_OBJS) $(SHIM_OBJS) $$(APP_OBJS_$$*) $(LINK_TABLES) $(FIRMWARE_MBEDTLS) $(MAKEFILE_LIST)
	@mkdir -p $(dir $@)
	$(CROSS_CC) $(BOARD_CPU_FLAGS) $(LINK_FLAGS) -static-libgcc $(filter %.o,$^) $(LINK_TABLES) $(FIRMWARE_MBEDTLS) -lm -o $@

# ---- the multi-call firmware: every app in one binary, chosen by its name ------------
# build/BOARD/bin/meerkat runs the app named by its argv[0] (a link named like the app)
# or by its first argument (README, "One binary, every app"). It links each app's own
# object, its main renamed <app>_main, and an entry (scripts/multicall.sh) that hands
# the command line to MultiCall.run. The code the apps share, the library's and the
# generic code specialised in each app's module, is emitted as weak definitions in every
# module, so the linker keeps one copy of each.
MULTICALL_DIR := $(OUT)/gen/multicall
MULTICALL_BIN := $(OUT)/bin/meerkat

$(MULTICALL_DIR)/main.swift: scripts/multicall.sh Package.swift
	bash scripts/multicall.sh $(MULTICALL_DIR) $(APPS)
	@touch $@

$(OUT)/obj/multicall.o: $(LIB_OBJS) $(MULTICALL_DIR)/main.swift
	@rm -f $@
	swiftc -target $(SWIFT_TARGET) $(SWIFT_EMBEDDED_FLAGS) $(SWIFT_SYSROOT_FLAGS) \
	    -module-name MeerkatMultiCall -I $(OUT)/modules -I $(MULTICALL_DIR) -c $(MULTICALL_DIR)/main.swift -o $@

# An app's object with its main renamed: the same code as the app's own binary.
$(OUT)/obj/entry-%.o: $(OUT)/obj/app-%.o
	$(OBJCOPY) --redefine-sym main=$(subst -,_,$*)_main $< $@

# The libraries' objects first: of two copies of a shared function, the linker keeps the
# first, and the library's own are the smaller (876,560 bytes stripped on the host
# against 881,136 with the apps' first).
$(MULTICALL_BIN): $(LIB_OBJS) $(OUT)/obj/multicall.o $(patsubst %,$(OUT)/obj/entry-%.o,$(APPS)) $(SHIM_OBJS) \
                  $(foreach a,$(APPS),$(APP_OBJS_$(a))) $(LINK_TABLES) $(FIRMWARE_MBEDTLS) $(MAKEFILE_LIST)
	@mkdir -p $(dir $@)
	$(CROSS_CC) $(BOARD_CPU_FLAGS) $(LINK_FLAGS) -static-libgcc $(filter %.o,$^) $(LINK_TABLES) $(FIRMWARE_MBEDTLS) -lm -o $@

ifeq ($(APP),)
## firmware: every app for BOARD (default host) -> build/BOARD/bin/APP, and all of them
## in one multi-call binary, build/BOARD/bin/meerkat.
firmware: apps-listed $(APP_BINS) $(MULTICALL_BIN)
endif

# ---- a developer's own app, outside this tree (docs/your-own-app.md) ----------------
## firmware APP=DIR [APP_OUT=FILE]: the app whose main.swift (and other .swift files) are
## in DIR, for BOARD, linked as Meerkat's own apps are (same flags, static mbedTLS) and
## written to APP_OUT (default build/BOARD/apps/NAME, NAME being DIR's name, or APP_NAME);
## then its stripped size. A use of something Embedded Swift lacks is named with its rule.
ifneq ($(APP),)
APP_DIR      := $(abspath $(APP))
APP_NAME     ?= $(notdir $(APP_DIR))
APP_OUT      ?= $(CURDIR)/build/$(BOARD)/apps/$(APP_NAME)
APP_SOURCES  := $(sort $(wildcard $(APP_DIR)/*.swift))
APP_OUT_DIR  := $(patsubst %/,%,$(dir $(APP_OUT)))
# One object per board: two boards' binaries in one folder (APP_OUT=dist/hello-rpi4 and
# dist/hello-rpi3-armhf) must not link each other's object.
APP_OBJ      := $(APP_OUT_DIR)/.obj/$(BOARD)/$(APP_NAME).o
ifeq ($(wildcard $(APP_DIR)/.),)
$(error APP=$(APP): no such folder (give the folder that holds the app's main.swift))
endif
ifeq ($(wildcard $(APP_DIR)/main.swift),)
$(error APP=$(APP): no main.swift in $(APP_DIR) (an app folder holds main.swift, where the app starts, and its other .swift files))
endif

$(APP_OBJ): $(LIB_OBJS) $(APP_SOURCES)
	@mkdir -p $(dir $@)
	@rm -f $@
	@$(PYTHON) scripts/embedded_explain.py -- swiftc -target $(SWIFT_TARGET) $(SWIFT_EMBEDDED_FLAGS) $(SWIFT_SYSROOT_FLAGS) \
	    -module-name $(subst -,_,$(APP_NAME)) -I $(OUT)/modules -c $(APP_SOURCES) -o $@

# Here, below APP_OUT's default: a prerequisite is expanded where its rule is read.
firmware: $(APP_OUT)

$(APP_OUT): $(APP_OBJ) $(LIB_OBJS) $(SHIM_OBJS) $(LINK_TABLES) $(FIRMWARE_MBEDTLS)
	@mkdir -p $(dir $@)
	$(CROSS_CC) $(BOARD_CPU_FLAGS) $(LINK_FLAGS) -static-libgcc $(filter %.o,$^) $(LINK_TABLES) $(FIRMWARE_MBEDTLS) -lm -o $@
	@bash scripts/size.sh --board $(BOARD) $@
endif

# An app folder that Package.swift does not list would be built by neither build.
apps-listed:
	@if [ -n "$(UNLISTED)" ]; then \
	    echo "error: Sources/$(firstword $(UNLISTED))/main.swift is an app, but Package.swift's 'let apps = [...]' does not list \"$(firstword $(UNLISTED))\": add it there (SwiftPM and the firmware build both read that list)"; \
	    exit 1; fi

# ---- codec checks on every board (Embedded Swift, under qemu for ARM) ----------------

CODEC_RUNNER_SOURCES := $(sort $(wildcard Tests/MeerkatTests/Vectors/*.swift) $(wildcard Tests/codec-runner/*.swift))

# The library and the runner in one module: the runner reaches the internal codecs.
$(OUT)/obj/codec-runner.o: $(LIB_SOURCES) $(OUT)/gen/BoardProfile.swift $(CODEC_RUNNER_SOURCES) $(SHIM) cross/embedded.mk
	@mkdir -p $(dir $@)
	@rm -f $@
	swiftc -target $(SWIFT_TARGET) $(SWIFT_EMBEDDED_FLAGS) $(SWIFT_SYSROOT_FLAGS) -parse-as-library \
	    -module-name Meerkat -D MEERKAT_BOARD_PROFILE -D MEERKAT_CODEC_RUNNER \
	    -c $(LIB_SOURCES) $(OUT)/gen/BoardProfile.swift $(CODEC_RUNNER_SOURCES) -o $@

$(OUT)/test/codec-runner: $(OUT)/obj/codec-runner.o $(SHIM_OBJS) $(LINK_TABLES) $(FIRMWARE_MBEDTLS)
	@mkdir -p $(dir $@)
	$(CROSS_CC) $(BOARD_CPU_FLAGS) $(LINK_FLAGS) -static-libgcc $(filter %.o,$^) $(LINK_TABLES) $(FIRMWARE_MBEDTLS) -lm -o $@

## codec-vectors: the shared codec vectors on BOARD (under qemu for ARM boards).
codec-vectors: $(OUT)/test/codec-runner
	$(RUNNER) $(OUT)/test/codec-runner

## diff-fuzz: DIFF_FUZZ_COUNT mutated inputs through the codecs on every board; the
## answers must match the host's byte for byte.
DIFF_FUZZ_COUNT ?= 100000
DIFF_FUZZ_SEED  ?= 20261128
diff-fuzz:
	@$(foreach b,host $(ARM_BOARDS),$(MAKE) -s build/$(b)/test/codec-runner BOARD=$(b) &&) true
	bash scripts/diff-fuzz.sh $(DIFF_FUZZ_SEED) $(DIFF_FUZZ_COUNT) host $(ARM_BOARDS)

print-runner:
	@echo '$(RUNNER)'

## thread-test: the BackgroundThread check (Tests/thread-test: two threads hand their
## work to the loop through Manager.wakeup) built for BOARD as build/BOARD/test/thread-test,
## the way an app outside Sources is. qemu-user hangs in pthread_create, so the ARM
## boards run it inside their VM (Tests/board/test_board_lowmem.py).
thread-test:
	$(MAKE) -s firmware BOARD=$(BOARD) APP=Tests/thread-test APP_OUT=$(CURDIR)/$(OUT)/test/thread-test

## check-embedded: compile Sources/Meerkat and every app as Embedded Swift for the
## host (fast; no linking). The library modules are files make keeps (build/check), so
## a second run, or a test that needs only the modules (check-modules), reuses them
## while their sources are unchanged; the apps are compiled on every run.
# Apps are compiled with CHECK_SWIFTC_APP (their main.swift is top-level code); the
# library modules as libraries.
CHECK_SWIFTC_APP := $(PYTHON) scripts/embedded_explain.py -- swiftc -target x86_64-unknown-linux-gnu \
                    $(SWIFT_EMBEDDED_FLAGS)
CHECK_SWIFTC := $(CHECK_SWIFTC_APP) -parse-as-library

build/check/Meerkat.o: $(LIB_SOURCES) $(SHIM) scripts/embedded_explain.py cross/embedded.mk
	@mkdir -p build/check/modules
	$(CHECK_SWIFTC) -module-name Meerkat -emit-module -emit-module-path build/check/modules/Meerkat.swiftmodule \
	    -c $(LIB_SOURCES) -o $@

build/check/MeerkatApp.o: $(APP_LIB_SOURCES) build/check/Meerkat.o
	@echo "check-embedded: MeerkatApp"
	$(CHECK_SWIFTC) -module-name MeerkatApp -I build/check/modules -emit-module \
	    -emit-module-path build/check/modules/MeerkatApp.swiftmodule -c $(APP_LIB_SOURCES) -o $@

build/check/MeerkatTesting.o: $(TESTING_SOURCES) build/check/Meerkat.o
	@echo "check-embedded: MeerkatTesting"
	$(CHECK_SWIFTC) -module-name MeerkatTesting -I build/check/modules -c $(TESTING_SOURCES) -o $@

check-modules: build/check/Meerkat.o build/check/MeerkatApp.o

# The apps two at a time (each is one whole-module compile, one core), into
# build/check/app-<app>.o.
check-embedded: apps-listed check-modules build/check/MeerkatTesting.o
	@$(MAKE) --no-print-directory -j2 $(addprefix check-app-,$(APPS))

check-app-%: FORCE
	@echo "check-embedded: $*"
	@$(CHECK_SWIFTC_APP) -module-name $(subst -,_,$*) -I build/check/modules -I Sources/WebUI/include \
	    -c $(wildcard Sources/$*/*.swift) -o build/check/app-$*.o

# ---- tests --------------------------------------------------------------------------

## integration: the HTTP suite against build/BOARD/bin (under qemu for ARM boards).
integration: firmware build/malloccount.so
	MEERKAT_BIN=$(OUT)/bin MEERKAT_RUNNER="$(RUNNER)" MEERKAT_BOARD=$(BOARD) \
	    $(PYTHON) -m pytest -q Tests/integration

## qemu-test: firmware for an ARM BOARD, then the integration suite under qemu-user.
qemu-test: integration

## integration-all: the integration suite on every board (the host's firmware, and each
## ARM board's under qemu-user), the boards side by side (a suite mostly waits for its
## servers and their timeouts), then the tests marked `timing` board after board, alone
## (scripts/suites.sh). Every board's firmware is built first, one board after the
## other (two jobs at a time), so that no build competes with a running suite. Logs:
## build/BOARD/suite*.log.
integration-all: build/malloccount.so
	@$(foreach b,host $(ARM_BOARDS),$(MAKE) -j2 -s firmware BOARD=$(b) &&) true
	MAKE="$(MAKE)" bash scripts/suites.sh host $(ARM_BOARDS)

## qemu-tests: the same for the ARM boards alone.
qemu-tests: build/malloccount.so
	@$(foreach b,$(ARM_BOARDS),$(MAKE) -j2 -s firmware BOARD=$(b) &&) true
	MAKE="$(MAKE)" bash scripts/suites.sh $(ARM_BOARDS)

build/malloccount.so: Tests/support/malloccount.c
	@mkdir -p build
	gcc -O2 -shared -fPIC $< -o $@ -ldl

## test: everything CI checks, the lint first.
test: deps
	$(MAKE) lint
	$(MAKE) unit
	$(MAKE) check-embedded
	$(foreach b,host $(ARM_BOARDS),$(MAKE) -j2 codec-vectors BOARD=$(b) &&) true
	$(MAKE) diff-fuzz
	$(MAKE) integration-all
	$(MAKE) board-test
	$(MAKE) size

## run [LISTEN=URL] [ARGS="..."]: serve the chat room on LISTEN (default
## http://127.0.0.1:8000; page at /, WebSocket at /ws), ARGS passed to chat-server after
## --listen: LISTEN=https://127.0.0.1:8443 ARGS="--cert FILE --key FILE" serves it over TLS.
LISTEN ?= http://127.0.0.1:8000
ARGS   ?=
run: deps firmware
	@echo "Over TLS instead: make run-tls (a certificate made for localhost, then https://127.0.0.1:8443)"
	$(RUNNER) $(OUT)/bin/chat-server --listen $(LISTEN) $(ARGS)

## run-tls: the chat room on https://127.0.0.1:8443 (and wss:// on the same port), with a
## self-signed ECDSA P-256 certificate for localhost/127.0.0.1 made once in build/tls/.
run-tls: deps firmware build/tls/server.crt
	@echo "Open https://127.0.0.1:8443/ (the certificate is self-signed: accept it, or trust build/tls/server.crt)"
	$(OUT)/bin/chat-server --listen https://127.0.0.1:8443 --cert build/tls/server.crt --key build/tls/server.key

build/tls/server.crt:
	@mkdir -p build/tls
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
	    -keyout build/tls/server.key -out build/tls/server.crt -subj /CN=localhost \
	    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"

## bench: wrk against the firmware echo-server and Debian's peers, as ratios; TLS ciphers
## per board and TLS against nginx (handshakes, resumption, keep-alive, RSS at 1,000 and
## 10,000 idle TLS connections); the client tools next to wrk and websocket-client (and
## TLS reconnects, resumed and full); static files against nginx; CPU per request and
## per message against bare C floors, nginx and node + ws (and user-space instructions
## per request, callgrind); charts of those, of RSS against idle connections and of TLS
## handshakes (docs/bench-*.png); MQTT through mosquitto against its own clients, and
## chat-server's RSS with 1,000 users, bridged and not; then the wait of a fresh client
## while the pools are under attack, on every board.
bench: deps
	$(foreach b,host $(ARM_BOARDS),$(MAKE) firmware BOARD=$(b) &&) true
	$(foreach b,host $(ARM_BOARDS),$(MAKE) -s tls-ciphers BOARD=$(b) &&) true
	bash scripts/bench.sh
	$(PYTHON) scripts/bench_cpu.py
	$(PYTHON) scripts/bench_ws.py
	$(PYTHON) scripts/bench_tls.py
	$(PYTHON) scripts/bench_tls_idle.py
	$(PYTHON) scripts/bench_handshake_cpu.py
	$(PYTHON) scripts/bench_client.py
	$(PYTHON) scripts/bench_static.py
	$(PYTHON) scripts/bench_mqtt.py
	$(PYTHON) -c "import matplotlib" 2>/dev/null || $(PYTHON) -m pip install -q matplotlib \
	    || $(PYTHON) -m pip install -q --break-system-packages matplotlib
	$(PYTHON) scripts/bench_charts.py
	$(PYTHON) scripts/bench_attacks.py host $(ARM_BOARDS)

## tls-ciphers: AES-128-GCM against ChaCha20-Poly1305 with BOARD's mbedTLS (what
## BOARD_TLS_CHACHA_FIRST is chosen from); part of make bench.
$(OUT)/bench/tls_ciphers: bench/tls_ciphers.c
	@mkdir -p $(dir $@)
	$(CROSS_CC) $(BOARD_CPU_FLAGS) -O2 $< $(MBEDTLS_LIBS) -o $@

tls-ciphers: $(OUT)/bench/tls_ciphers
	@echo "== $(BOARD_DESC)"
	$(RUNNER) $(OUT)/bench/tls_ciphers

## size: stripped sizes of every app, of the multi-call binary and of the packed bundle
## for every board (each built first), written into README.md's size tables too
## (test_size.py fails when a binary outgrows its row by > 2 %).
size:
	@bash scripts/size.sh --readme README.md host $(ARM_BOARDS)

## bundle: tarball for BOARD with the multi-call binary and a link to it per app, a
## systemd unit per server, sizes, an install note, LICENSE and NOTICE
## (build/BOARD/meerkat-VERSION-BOARD.tar.gz); with APP=DIR
## [APP_VERSION=X.Y.Z], the same for that app alone (NAME-APP_VERSION-BOARD.tar.gz next
## to APP_OUT, installed in /opt/NAME; APP_VERSION defaults to Meerkat's version). With
## OTA_KEY=FILE (the signing key, or its ota.pub) it carries ota.pub and bin/ota-launch (signed updates).
ifeq ($(APP),)
BUNDLE_TAR := build/$(BOARD)/meerkat-$(VERSION)-$(BOARD).tar.gz
bundle: firmware
	bash scripts/bundle.sh $(BOARD) build/$(BOARD) meerkat $(VERSION) $(if $(OTA_KEY),--ota-key $(OTA_KEY)) --multicall $(MULTICALL_BIN) $(APP_BINS)
else
APP_VERSION ?= $(VERSION)
BUNDLE_TAR := $(APP_OUT_DIR)/$(APP_NAME)-$(APP_VERSION)-$(BOARD).tar.gz
bundle: firmware
	bash scripts/bundle.sh $(BOARD) $(APP_OUT_DIR) $(APP_NAME) $(APP_VERSION) $(if $(OTA_KEY),--ota-key $(OTA_KEY)) $(APP_OUT)
endif

## ota-image [BOARD=…] [APP=DIR] [OTA_KEY=FILE]: a signed update of device-app (or of the
## app in DIR) for BOARD, what POST /api/ota takes: build/BOARD/ota/NAME.ota/ holds the
## image, its SHA-256 (hex), the signature (base64 DER ECDSA P-256), ota.pub and
## manifest.json (what a pull reads: --ota-url, the MQTT command). Without
## OTA_KEY a key is made once in build/BOARD/ota/ota.key (ignored by git; never commit it).
ifeq ($(APP),)
ota-image: $(OUT)/bin/device-app
	bash scripts/ota-image.sh $< build/$(BOARD)/ota $(OTA_KEY)
else
ota-image: $(APP_OUT)
	bash scripts/ota-image.sh $< build/$(BOARD)/ota $(OTA_KEY)
endif

## board-vm [APP=DIR] [UNIT=name]: BOARD's bundle (make bundle) booted on the board's
## Debian kernel in qemu-system with BOARD_VM_RAM_MB of RAM, its unit (default: the one
## on port 8000) run as INSTALL.txt installs it; prints the forwarded URL and the seconds
## from boot to serving. board-vm-stop stops it. ARM boards only.
ifneq ($(filter board-vm,$(MAKECMDGOALS)),)
ifeq ($(BOARD_VM_RAM_MB),)
$(error board-vm: board "$(BOARD)" has no VM profile (BOARD_VM_RAM_MB in boards/$(BOARD).mk): the ARM boards are $(ARM_BOARDS))
endif
endif
board-vm: bundle
	bash scripts/board-vm.sh start $(BOARD) $(BUNDLE_TAR) $(OUT)/vm "$(BOARD_VM_RAM_MB)" "$(BOARD_VM_CPU)" \
	    "$(VM_QEMU)" "$(VM_DEB_ARCH)" "$(CROSS_SYSROOT)" "$(UNIT)"

board-vm-stop:
	bash scripts/board-vm.sh stop $(OUT)/vm

## board-test: the board smoke suite (Tests/board: keep-alive, the guide's echo and chat
## over ws and wss, the chat's MQTT bridge to a mosquitto on the host, the dashboard in
## Chromium, RSS in the guest, a crash and a reboot) against each ARM board booted by make
## board-vm, one board at a time; each board's figures (boot and reboot to serving, RSS,
## MemAvailable, each test's seconds: build/BOARD/vm/figures) printed after its run.
## About 4 minutes for both boards with test_board_lowmem's smoke run. Part of make test.
board-test: deps
	@set -e; for b in $(ARM_BOARDS); do \
	    start=$$(date +%s); \
	    $(MAKE) -s bundle BOARD=$$b >/dev/null; \
	    BOARD_TEST_FULL=$(BOARD_TEST_FULL) LOWMEM_CONNECTIONS=$(BOARD_TEST_LOWMEM) MEERKAT_BOARD=$$b \
	        $(PYTHON) -m pytest -q Tests/board; \
	    cat build/$$b/vm/figures build/$$b/lowmem-figures; \
	    echo "board-test: $$b took $$(( $$(date +%s) - start )) s (build, boot and tests)"; \
	done

## board-test-full: board-test plus its long tests (BOARD_TEST_FULL=1), left out of make
## test's budget: test_board_ota's rollback across reboots (a release that never confirms,
## OTA_STARTS=2 set by a drop-in's Environment=, the guest rebooted between its starts and
## once more after the rollback): up to 80 s more on rpi3-armhf, 40 s on rpi4.
BOARD_TEST_FULL ?= 0
board-test-full:
	$(MAKE) board-test BOARD_TEST_FULL=1

## board-lowmem: the low-memory run (Tests/board/test_board_lowmem.py) with each ARM
## board's whole connection table: idle plain WebSockets, idle TLS ones, then all of them
## echoing, in the board's RAM; then the thread helper test in the guest. Prints each
## stage's connections, MemAvailable, VmRSS/VmHWM and OOM lines (none), and the time.
## make board-test runs the same file with BOARD_TEST_LOWMEM connections (the smoke run).
BOARD_TEST_LOWMEM ?= 32
board-lowmem: deps
	@set -e; for b in $(ARM_BOARDS); do \
	    start=$$(date +%s); \
	    $(MAKE) -s bundle BOARD=$$b >/dev/null; \
	    MEERKAT_BOARD=$$b $(PYTHON) -m pytest -q Tests/board/test_board_lowmem.py; \
	    cat build/$$b/lowmem-figures; \
	    echo "board-lowmem: $$b took $$(( $$(date +%s) - start )) s (build, boot and tests)"; \
	done

## new-app DIR=path [NAME=name]: a starter app repository in DIR, outside this tree
## (docs/your-own-app.md): the app, a host test, Package.swift and a Makefile.
new-app:
	@bash scripts/new-app.sh "$(DIR)" $(NAME)

clean:
	rm -rf build .build

## fuzz [FUZZ_SECONDS=N]: every libFuzzer target (Tests/fuzz/<target>.swift, one per
## parser, ASan on) built, then run N seconds (default 3) from its kept corpus
## (Tests/fuzz/corpus/<target>, read only; what a run finds goes to build/fuzz/corpus).
## fuzz-long MINUTES=N: each target for N minutes, with its executions and coverage.
## fuzz-merge: the kept corpora minimised again with what the runs found (a set cover of edges).
## fuzz-record [FUZZ_OUTPUT=FILE]: BENCHMARKS.md's fuzzing table from the last run of each target
## (its logs, or what make fuzz-long printed, saved in FILE).
## fuzz-<target> (e.g. fuzz-chunked): one target alone. Not part of `make test`.
FUZZ_SECONDS ?= 3
MINUTES      ?= 10
FUZZ_TARGETS := $(basename $(notdir $(sort $(wildcard Tests/fuzz/*.swift))))
FUZZ_BINS    := $(foreach t,$(FUZZ_TARGETS),build/fuzz/bin/$(t))
FUZZ_SWIFTC  := swiftc -use-ld=lld -sanitize=fuzzer,address -parse-as-library -O -I Sources/CMeerkat/include
# The vectors' answer functions (CodecVectors) are the targets' helpers too, so a crash
# found becomes a vector that every board runs.
FUZZ_HELPERS := Tests/MeerkatTests/Vectors/CodecVectors.swift $(wildcard Tests/fuzz/common/*.swift)

fuzz: $(FUZZ_BINS)
	bash scripts/fuzz.sh run $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-long: $(FUZZ_BINS)
	bash scripts/fuzz.sh run $$(( $(MINUTES) * 60 )) $(FUZZ_TARGETS)

fuzz-merge: $(FUZZ_BINS)
	bash scripts/fuzz.sh merge 0 $(FUZZ_TARGETS)

fuzz-record:
	$(PYTHON) scripts/fuzz_record.py $(FUZZ_OUTPUT)

$(addprefix fuzz-,$(FUZZ_TARGETS)): fuzz-%: build/fuzz/bin/%
	bash scripts/fuzz.sh run $(FUZZ_SECONDS) $*

build/fuzz/shim.o build/fuzz/tls.o build/fuzz/crypto.o: build/fuzz/%.o: Sources/CMeerkat/%.c
	@mkdir -p build/fuzz
	clang -fsanitize=address -O1 -c $< -I Sources/CMeerkat/include -o $@

# The library once, instrumented, as a module the targets import (@testable: they reach
# the internal codecs); each target is then one small file to compile and link.
build/fuzz/Meerkat.o: $(LIB_SOURCES) $(SHIM)
	@mkdir -p build/fuzz
	@echo "fuzz: the library with ASan and coverage (build/fuzz/Meerkat.o)"
	@$(FUZZ_SWIFTC) -wmo -enable-testing -module-name Meerkat -emit-module -emit-module-path build/fuzz/Meerkat.swiftmodule \
	    -c $(LIB_SOURCES) -o $@

build/fuzz/bin/%: Tests/fuzz/%.swift $(FUZZ_HELPERS) build/fuzz/Meerkat.o build/fuzz/shim.o build/fuzz/tls.o build/fuzz/crypto.o
	@mkdir -p build/fuzz/bin
	$(FUZZ_SWIFTC) -I build/fuzz -module-name fuzz_$* $< $(FUZZ_HELPERS) $(filter %.o,$^) \
	    -lmbedtls -lmbedx509 -lmbedcrypto -o $@
