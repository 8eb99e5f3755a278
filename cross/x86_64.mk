# x86_64 Linux (the host): native gcc, native glibc and mbedTLS.
SWIFT_TARGET   := x86_64-unknown-linux-gnu
CROSS_CC       := gcc
CROSS_SYSROOT  :=
MULTIARCH      := x86_64-linux-gnu
SWIFT_SYSROOT_FLAGS :=
RUNNER         :=
