import Foundation
import Meerkat
import MeerkatTesting
import Testing

/// `Limits(board:)` (Sources/MeerkatTesting/BoardProfiles.swift, generated from
/// boards/*.mk and committed) says what each profile says, for every profile: a test
/// that runs a handler with "rpi3-armhf" gets what that board's firmware runs with.
@Test func everyBoardProfileIsKnownByName() throws {
    let boards = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("boards")
    let files = try FileManager.default.contentsOfDirectory(atPath: boards.path).filter { $0.hasSuffix(".mk") }.sorted()
    #expect(Limits.boardNames == files.map { String($0.dropLast(3)) })
    for file in files {
        let text = try String(contentsOf: boards.appendingPathComponent(file), encoding: .utf8)
        func value(_ name: String) -> Int? {
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: "=", maxSplits: 1)  // "NAME := VALUE"
                guard parts.count == 2, parts[0].hasSuffix(":") else { continue }
                if parts[0].dropLast().trimmingCharacters(in: .whitespaces) == name {
                    return Int(parts[1].trimmingCharacters(in: .whitespaces))
                }
            }
            return nil
        }
        let limits = try #require(Limits(board: String(file.dropLast(3))), "\(file)")
        #expect(limits.maxConnections == value("BOARD_MAX_CONNECTIONS"), "\(file)")
        #expect(limits.recvBufferSize == value("BOARD_RECV_BUFFER"), "\(file)")
        #expect(limits.sendBufferSize == value("BOARD_SEND_BUFFER"), "\(file)")
        #expect(limits.recvBuffers == value("BOARD_RECV_BUFFERS"), "\(file)")
        #expect(limits.sendBuffers == value("BOARD_SEND_BUFFERS"), "\(file)")
        #expect(limits.tlsSlots == value("BOARD_TLS_SLOTS"), "\(file)")
        #expect(limits.tlsBufferPairs == value("BOARD_TLS_BUFFER_PAIRS"), "\(file)")
        #expect(limits.tlsChaChaFirst == (value("BOARD_TLS_CHACHA_FIRST") == 1), "\(file)")
        #expect(limits.reclaimGraceMs == value("BOARD_RECLAIM_GRACE_MS"), "\(file)")
        #expect(limits.reclaimMinRate == value("BOARD_RECLAIM_MIN_RATE"), "\(file)")
        #expect(limits.wsPingIntervalMs == value("BOARD_WS_PING_MS"), "\(file)")
    }
    #expect(Limits(board: "rpi3-armhf")?.sendBufferSize == 8192)  // the profile's name, as make takes it
}
