# Embedded Swift flags shared by every board. -wmo is required by Embedded mode; the
# optimisation level is the board's (BOARD_SWIFT_OPT in boards/*.mk, -Osize unless it
# says otherwise); the C shim's headers come in through its module map.
BOARD_SWIFT_OPT      ?= -Osize
# Dead-code elimination at link (issue 22): every Swift function and every C function and
# datum in a section of its own, and the linker drops the sections nothing reaches, so an
# app keeps only the library code it calls (echo-server loses MQTT, DNS, static files...).
# Measured on echo-server, host, stripped: 1,062,224 bytes without, 808,112 with; the C
# flags and --gc-sections alone buy 32 bytes (the Swift module is one section without
# -function-sections). Debian's mbedTLS archives are not built with sections, so they
# shrink only by whole objects, as before.
SWIFT_SECTION_FLAGS  := -Xfrontend -function-sections
C_SECTION_FLAGS      := -ffunction-sections -fdata-sections
LINK_GC_FLAGS        := -Wl,--gc-sections
# A board's own link flags (BOARD_LINK_FLAGS in boards/*.mk), after the shared ones.
BOARD_LINK_FLAGS     ?=
LINK_FLAGS           := $(LINK_GC_FLAGS) $(BOARD_LINK_FLAGS)
# No unwind tables (issue 22): nothing in the firmware unwinds (Embedded Swift traps,
# never throws through C; no C++, no backtrace(), no pthread_exit or cancellation), and
# Embedded Swift emits none for its own code, so a debugger's backtrace already stops at
# the first Swift frame; a crash report keeps what it had, the faulting function (the
# symbols of build/<board>/bin). The C shim is compiled without them and the firmware
# links copies of Debian's mbedTLS archives without their .eh_frame (64-bit boards; the
# armhf archives have none). Measured on echo-server, stripped: 64 KiB smaller on the
# host (4 of them the shim's), 64 KiB on rpi4, nothing on rpi3-armhf.
C_UNWIND_FLAGS       := -fno-asynchronous-unwind-tables -fno-unwind-tables
SWIFT_EMBEDDED_FLAGS := -enable-experimental-feature Embedded -wmo $(BOARD_SWIFT_OPT) \
                        $(SWIFT_SECTION_FLAGS) -I Sources/CMeerkat/include
EMBEDDED_LIB_DIR     := $(SWIFT_ROOT)/lib/swift/embedded/$(SWIFT_TARGET)
# The toolchain's Unicode tables (String comparison, Character) for this target.
UNICODE_TABLES       := $(EMBEDDED_LIB_DIR)/libswiftUnicodeDataTables.a
# Static mbedTLS from the target's multiarch libdir: no runtime dependency beyond glibc.
MBEDTLS_LIBS         := /usr/lib/$(MULTIARCH)/libmbedtls.a /usr/lib/$(MULTIARCH)/libmbedx509.a \
                        /usr/lib/$(MULTIARCH)/libmbedcrypto.a
# What the firmware links: those archives without unwind tables (build/<board>/lib), and
# Sources/CMeerkat/mbedtls_trim.c, which keeps out the objects only unused code reaches.
