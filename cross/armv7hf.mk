# 32-bit ARMv7 hard-float Linux boards. As aarch64, plus -mfloat-abi=hard for the Clang
# importer. The toolchain's embedded Unicode tables carry a soft-float attribute that
# the linker refuses to mix with hard-float objects; build/<board>/ keeps a copy with
# the .ARM.attributes section stripped (the tables are data only, no float code).
SWIFT_TARGET   := armv7-none-none-eabi
CROSS_CC       := arm-linux-gnueabihf-gcc
CROSS_SYSROOT  := /usr/arm-linux-gnueabihf
MULTIARCH      := arm-linux-gnueabihf
SWIFT_SYSROOT_FLAGS := -Xcc -mfloat-abi=hard -Xcc --sysroot=$(CROSS_SYSROOT) -Xcc -D__linux__ -Xcc -D__unix__ \
                       -Xcc -idirafter -Xcc /usr/include/$(MULTIARCH) -Xcc -idirafter -Xcc /usr/include
RUNNER         := qemu-arm -L $(CROSS_SYSROOT)
ARM_ATTRIBUTE_STRIP := 1
# make board-vm: the qemu that boots this architecture's Debian kernel (armmp, -M virt),
# and the Debian architecture whose kernel and busybox deps.sh unpacks.
VM_QEMU        := qemu-system-arm
VM_DEB_ARCH    := armhf
