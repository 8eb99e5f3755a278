/// Content-Type from a file name's extension: the types a board's web UI uses. Anything
/// else is `application/octet-stream` (the browser downloads it rather than guess).
enum MimeTypes {
    private static let table: [(StaticString, StaticString)] = [
        ("html", "text/html; charset=utf-8"), ("htm", "text/html; charset=utf-8"),
        ("css", "text/css; charset=utf-8"), ("js", "text/javascript; charset=utf-8"),
        ("mjs", "text/javascript; charset=utf-8"), ("json", "application/json"),
        ("map", "application/json"), ("txt", "text/plain; charset=utf-8"),
        ("csv", "text/csv; charset=utf-8"), ("xml", "application/xml"),
        ("svg", "image/svg+xml"), ("png", "image/png"), ("jpg", "image/jpeg"),
        ("jpeg", "image/jpeg"), ("gif", "image/gif"), ("ico", "image/x-icon"),
        ("webp", "image/webp"), ("woff", "font/woff"), ("woff2", "font/woff2"),
        ("ttf", "font/ttf"), ("wasm", "application/wasm"), ("pdf", "application/pdf"),
        ("mp4", "video/mp4"), ("webm", "video/webm"), ("mp3", "audio/mpeg"),
        ("wav", "audio/wav"), ("gz", "application/gzip"), ("zip", "application/zip"),
        ("webmanifest", "application/manifest+json"),
    ]

    static let fallback: StaticString = "application/octet-stream"

    /// The type for the last path segment's extension (case-insensitive).
    static func type(of path: ByteView) -> StaticString {
        var dot = -1
        for i in stride(from: path.count - 1, through: 0, by: -1) {
            let c = path.buffer[i]
            if c == UInt8(ascii: "/") { break }
            if c == UInt8(ascii: ".") {
                dot = i
                break
            }
        }
        guard dot >= 0 else { return fallback }
        let ext = path.slice(dot + 1, path.count)
        for (name, type) in table where ext.equalsIgnoringCase(name) { return type }
        return fallback
    }
}
