import Foundation
import Testing

/// Issue 22 item 6: on a board `print("\(error)")` prints "(cannot print value in embedded
/// Swift)" for a value with no `description`. Every public error type of the library
/// (an `Error`, or named `…Error`) must be `CustomStringConvertible`, where it is
/// declared or in an extension.
@Test func everyPublicErrorTypeHasADescription() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    var declared: [String] = []
    var described = Set<String>()
    for folder in ["Sources/Meerkat", "Sources/MeerkatApp"] {
        let base = root.appendingPathComponent(folder)
        let files = try #require(FileManager.default.enumerator(atPath: base.path))
        for case let path as String in files where path.hasSuffix(".swift") {
            let text = try String(contentsOf: base.appendingPathComponent(path), encoding: .utf8)
            for line in text.split(separator: "\n") {
                let words = line.split(whereSeparator: { " :,{".contains($0) }).map(String.init)
                if let i = words.firstIndex(of: "enum") ?? words.firstIndex(of: "struct"), i > 0,
                    words[i - 1] == "public", i + 1 < words.count
                {
                    let name = words[i + 1]
                    if name.hasSuffix("Error") || words[(i + 2)...].contains("Error") { declared.append(name) }
                    if words[(i + 2)...].contains("CustomStringConvertible") { described.insert(name) }
                }
                if words.first == "extension", words.count > 2, words[2...].contains("CustomStringConvertible") {
                    described.insert(String(words[1].split(separator: ".").last!))
                }
            }
        }
    }
    #expect(declared.count >= 9)
    #expect(declared.filter { !described.contains($0) } == [])
}
