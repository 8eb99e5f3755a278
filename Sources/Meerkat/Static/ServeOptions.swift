/// What `serveDir` and `serveFile` add to the files they serve (what Mongoose's
/// `mg_http_serve_opts` carries): extra headers by path prefix, Content-Type overrides by
/// extension, a page for 404 and a single-page-app fallback. Built once at start; all
/// its text lives in one array, so serving only reads it (no allocation per request).
///
/// Paths are matched against the request's path as `serveDir` resolves it (decoded once,
/// "." and ".." handled), never the raw URI, so `/%61pi/x` is under "/api/" too.
public struct ServeOptions {
    /// A byte range in `text`.
    struct Span {
        var start: Int
        var count: Int
    }

    struct HeaderRule {
        var prefix: Span  // without its leading "/"
        var name: Span
        var line: Span  // "Name: value\r\n"
    }

    /// Every prefix, name, header line, extension, type and page path, back to back.
    var text: [UInt8] = []
    var rules: [HeaderRule] = []
    var types: [(ext: Span, type: Span)] = []
    var notFound: Span? = nil
    var spaIndex: Span? = nil
    var spaExcept: [Span] = []
    var assetExtensions: [Span]? = nil  // nil: every extension is an asset's

    /// Header rules a request can match: one bit each in a 64-bit mask.
    public static let maxHeaders = 64

    public init() {}

    /// Adds `name: value` to every answer (200, 206, 304, 416 and the 404 page) whose path
    /// is under `prefix` ("/" for all; "/assets/" also covers "/assets"). When rules
    /// for the same header name overlap, the longest prefix wins (the later, for equal
    /// ones): "/" may say `Cache-Control: no-cache` and "/assets/" `max-age=31536000`.
    /// False, with nothing added, for a name that is not an HTTP token, a value with a
    /// control byte (no header can be smuggled in), or past `maxHeaders` rules.
    @discardableResult
    public mutating func header(_ name: String, _ value: String, under prefix: String = "/") -> Bool {
        guard rules.count < ServeOptions.maxHeaders, !name.isEmpty, name.utf8.allSatisfy(ASCII.isTokenChar),
            value.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F || $0 == ASCII.tab })
        else { return false }
        let p = add(ServeOptions.relative(prefix))
        let n = add(name)
        let line = add(name + ": " + value + "\r\n")
        rules.append(HeaderRule(prefix: p, name: n, line: line))
        return true
    }

    /// Files ending in `.ext` are sent as `type` (before the library's own table); false,
    /// with nothing added, for a type with a control byte.
    @discardableResult
    public mutating func type(_ type: String, forExtension ext: String) -> Bool {
        guard !type.isEmpty, type.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x7F }) else { return false }
        let e = add(ext.hasPrefix(".") ? String(ext.dropFirst()) : ext)
        types.append((e, add(type)))
        return true
    }

    /// What a missing file gets: the page at `path` (below the root, or in the packed
    /// folder), sent with status 404 and the header rules of the path asked.
    public mutating func notFoundPage(_ path: String) {
        notFound = add(ServeOptions.relative(path))
    }

    /// A single-page app: a missing file is answered with `index` (200), so a client-side
    /// route such as /settings/wifi loads the app. Never under `except` (an API's 404
    /// must stay a 404, not a page) and never for an asset: a path whose last segment
    /// ends in one of `assets` (nil: any extension), so a missing script is a 404 rather
    /// than HTML the browser refuses to run.
    public mutating func singlePageApp(index: String = "/index.html", except: [String] = ["/api/"], assets: [String]? = nil) {
        spaIndex = add(ServeOptions.relative(index))
        spaExcept = except.map { add(ServeOptions.relative($0)) }
        assetExtensions = assets.map { list in list.map { add($0.hasPrefix(".") ? String($0.dropFirst()) : $0) } }
    }

    private mutating func add(_ s: String) -> Span {
        let start = text.count
        text.append(contentsOf: s.utf8)
        return Span(start: start, count: text.count - start)
    }

    /// A path as the options keep it: without its leading "/".
    private static func relative(_ path: String) -> String {
        path.hasPrefix("/") ? String(path.dropFirst()) : path
    }
}

// What serving reads: pure functions of the options and a resolved path (no leading "/").
extension ServeOptions {
    /// The header rules that apply to `path`, one bit per rule, overridden names taken out.
    func headerMask(_ path: ByteView) -> UInt64 {
        guard !rules.isEmpty else { return 0 }
        return text.withUnsafeBytes { t in
            var mask: UInt64 = 0
            for (i, r) in rules.enumerated() where ServeOptions.isUnder(path, t, r.prefix) { mask |= 1 << UInt64(i) }
            for (i, r) in rules.enumerated() where mask >> UInt64(i) & 1 != 0 {
                let name = ByteView(t, r.name)
                for (j, o) in rules.enumerated() where j != i && mask >> UInt64(j) & 1 != 0 {
                    let wins = o.prefix.count > r.prefix.count || (o.prefix.count == r.prefix.count && j > i)
                    if wins && ByteView(t, o.name).equalsIgnoringCase(name.buffer) {
                        mask &= ~(1 << UInt64(i))
                        break
                    }
                }
            }
            return mask
        }
    }

    /// Appends the header lines of the rules in `mask`.
    func writeHeaders(_ mask: UInt64, _ w: inout ByteWriter) {
        guard mask != 0 else { return }
        text.withUnsafeBytes { t in
            for (i, r) in rules.enumerated() where mask >> UInt64(i) & 1 != 0 {
                w.append(UnsafeRawBufferPointer(rebasing: t[r.line.start..<r.line.start + r.line.count]))
            }
        }
    }

    /// The index of the type override for `path`'s extension, if any.
    func typeOverride(_ path: ByteView) -> Int? {
        guard !types.isEmpty, let ext = ServeOptions.extensionOf(path) else { return nil }
        return text.withUnsafeBytes { t in
            types.firstIndex { ByteView(t, $0.ext).equalsIgnoringCase(ext.buffer) }
        }
    }

    /// Appends the type of override `i`.
    func writeType(_ i: Int, _ w: inout ByteWriter) {
        text.withUnsafeBytes { t in
            w.append(UnsafeRawBufferPointer(rebasing: t[types[i].type.start..<types[i].type.start + types[i].type.count]))
        }
    }

    /// Whether a missing `path` gets the single-page app's index.
    func fallsBackToIndex(_ path: ByteView) -> Bool {
        guard spaIndex != nil else { return false }
        return text.withUnsafeBytes { t in
            if spaExcept.contains(where: { ServeOptions.isUnder(path, t, $0) }) { return false }
            guard let ext = ServeOptions.extensionOf(path) else { return true }
            guard let assets = assetExtensions else { return false }
            return !assets.contains { ByteView(t, $0).equalsIgnoringCase(ext.buffer) }
        }
    }

    /// Writes page `span` (a path below the root) at `w`.
    func writePath(_ span: Span, _ w: inout ByteWriter) {
        text.withUnsafeBytes { t in w.append(UnsafeRawBufferPointer(rebasing: t[span.start..<span.start + span.count])) }
    }

    /// `path` starts with `prefix`; a prefix ending in "/" also covers the folder's own
    /// name ("api/" covers "api").
    static func isUnder(_ path: ByteView, _ t: UnsafeRawBufferPointer, _ prefix: Span) -> Bool {
        let p = ByteView(t, prefix)
        if p.count <= path.count && path.slice(0, p.count) == p { return true }
        return p.count > 0 && p.buffer[p.count - 1] == UInt8(ascii: "/") && path == p.slice(0, p.count - 1)
    }

    /// The last segment's extension, without its dot ("js" of "a/b.js"); nil without one.
    static func extensionOf(_ path: ByteView) -> ByteView? {
        var i = path.count - 1
        while i >= 0 {
            let c = path.buffer[i]
            if c == UInt8(ascii: "/") { return nil }
            if c == UInt8(ascii: ".") {
                // ".profile" is a name, not an extension.
                let named = i > 0 && path.buffer[i - 1] != UInt8(ascii: "/")
                return named && i + 1 < path.count ? path.slice(i + 1, path.count) : nil
            }
            i -= 1
        }
        return nil
    }
}

extension ByteView {
    /// A span of the options' text.
    fileprivate init(_ t: UnsafeRawBufferPointer, _ s: ServeOptions.Span) {
        self.init(base: t.baseAddress.map { $0.assumingMemoryBound(to: UInt8.self) + s.start }, count: s.count)
    }
}
