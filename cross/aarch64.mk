# 64-bit ARM Linux boards. Swift compiles for the bare-metal Embedded target (the
# toolchain's embedded stdlib), with the Clang importer pointed at Debian's aarch64 glibc
# sysroot; gcc-aarch64-linux-gnu links against glibc.
SWIFT_TARGET   := aarch64-none-none-elf
CROSS_CC       := aarch64-linux-gnu-gcc
CROSS_SYSROOT  := /usr/aarch64-linux-gnu
MULTIARCH      := aarch64-linux-gnu
SWIFT_SYSROOT_FLAGS := -Xcc --sysroot=$(CROSS_SYSROOT) -Xcc -D__linux__ -Xcc -D__unix__ \
                       -Xcc -idirafter -Xcc /usr/include/$(MULTIARCH) -Xcc -idirafter -Xcc /usr/include
RUNNER         := qemu-aarch64 -L $(CROSS_SYSROOT)
# make board-vm: the qemu that boots this architecture's Debian kernel (-M virt), and the
# Debian architecture whose kernel and busybox deps.sh unpacks.
VM_QEMU        := qemu-system-aarch64
VM_DEB_ARCH    := arm64
