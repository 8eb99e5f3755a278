# Embedded Swift flags shared by every board. -wmo is required by Embedded mode; the
# optimisation level is the board's (BOARD_SWIFT_OPT in boards/*.mk, -Osize unless it
# says otherwise); the C shim's headers come in through its module map.
BOARD_SWIFT_OPT      ?= -Osize
SWIFT_EMBEDDED_FLAGS := -enable-experimental-feature Embedded -wmo $(BOARD_SWIFT_OPT) \
                        -I Sources/CMeerkat/include
EMBEDDED_LIB_DIR     := $(SWIFT_ROOT)/lib/swift/embedded/$(SWIFT_TARGET)
# The toolchain's Unicode tables (String comparison, Character) for this target.
UNICODE_TABLES       := $(EMBEDDED_LIB_DIR)/libswiftUnicodeDataTables.a
# Static mbedTLS from the target's multiarch libdir: no runtime dependency beyond glibc.
MBEDTLS_LIBS         := /usr/lib/$(MULTIARCH)/libmbedtls.a /usr/lib/$(MULTIARCH)/libmbedx509.a \
                        /usr/lib/$(MULTIARCH)/libmbedcrypto.a
