/// Which executables a board runs, from an ELF header's first 20 bytes (the ELF
/// specification: e_ident, e_type, e_machine). An update for another board would not
/// start, and rolling back from that costs a reboot loop: it is refused before install.
public struct ElfTarget: Equatable {
    /// ELFCLASS32 (1) or ELFCLASS64 (2).
    public var elfClass: UInt8
    /// e_machine: 62 x86_64, 183 aarch64, 40 arm.
    public var machine: UInt16

    public init(elfClass: UInt8, machine: UInt16) {
        self.elfClass = elfClass
        self.machine = machine
    }

    /// The architecture this code was compiled for (the firmware's board).
    public static var thisBoard: ElfTarget {
        #if arch(x86_64)
        return ElfTarget(elfClass: 2, machine: 62)
        #elseif arch(arm64)
        return ElfTarget(elfClass: 2, machine: 183)
        #elseif arch(arm)
        return ElfTarget(elfClass: 1, machine: 40)
        #else
        return ElfTarget(elfClass: 0, machine: 0)  // unknown: every image refused
        #endif
    }

    /// Bytes of the header this check reads.
    public static let headerCount = 20

    /// True when `header` (at least 20 bytes) starts a little-endian ELF executable or
    /// shared object (PIE) of this class and machine.
    public func matches(_ header: UnsafeRawBufferPointer) -> Bool {
        guard header.count >= ElfTarget.headerCount, header[0] == 0x7F, header[1] == UInt8(ascii: "E"),
            header[2] == UInt8(ascii: "L"), header[3] == UInt8(ascii: "F"), header[5] == 1
        else { return false }
        let type = UInt16(header[16]) | UInt16(header[17]) << 8
        let machine = UInt16(header[18]) | UInt16(header[19]) << 8
        return header[4] == elfClass && (type == 2 || type == 3) && machine == self.machine
    }
}
