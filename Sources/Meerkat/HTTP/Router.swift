/// A small router: patterns in the spirit of Mongoose's `mg_match`, matched against the
/// request path without allocating. A helper, not a framework: the plain handler style
/// keeps working, and `router.handle(conn, hm)` fits inside it.
///
///     var router = Router()
///     router.get("/api/sensors/*") { conn, hm, captures in … captures[0] … }
///     router.post("/upload/#") { conn, hm, captures in … }
///     … case .httpMessage(let hm): if !router.handle(conn, hm) { try? conn.replyError(404, "Not Found\n") }
public struct Router {
    public typealias Route = (Connection, HttpMessage, Captures) -> Void

    private struct Entry {
        let method: StaticString?
        let pattern: StaticString
        let handler: Route
    }

    private var routes: [Entry] = []

    public init() {}

    /// A GET route; it answers HEAD too (the library leaves the body out).
    public mutating func get(_ pattern: StaticString, _ handler: @escaping Route) { add("GET", pattern, handler) }
    public mutating func post(_ pattern: StaticString, _ handler: @escaping Route) { add("POST", pattern, handler) }
    public mutating func put(_ pattern: StaticString, _ handler: @escaping Route) { add("PUT", pattern, handler) }
    public mutating func delete(_ pattern: StaticString, _ handler: @escaping Route) { add("DELETE", pattern, handler) }

    /// A route for `method` (any method when nil).
    public mutating func add(_ method: StaticString?, _ pattern: StaticString, _ handler: @escaping Route) {
        routes.append(Entry(method: method, pattern: pattern, handler: handler))
    }

    /// Runs the first route whose pattern matches `hm.uri` and whose method is the
    /// request's (GET routes take HEAD). A path that only other methods' routes match
    /// gets 405 with an `Allow` header. False when no route matches the path.
    @discardableResult
    public func handle(_ conn: Connection, _ hm: HttpMessage) -> Bool {
        var pathMatched = false
        for route in routes {
            var captures = Captures()
            guard Pattern.match(hm.uri, route.pattern, captures: &captures) else { continue }
            pathMatched = true
            if let method = route.method {
                let asGet = hm.method == "HEAD" && method.utf8CodeUnitCount == 3 && ByteView(method.rawBuffer) == "GET"
                guard hm.method.equals(method.rawBuffer) || asGet else { continue }
            }
            route.handler(conn, hm, captures)
            return true
        }
        guard pathMatched else { return false }
        try? conn.replyError(405, "Method Not Allowed\n", headers: ["Allow": allowed(for: hm)])
        return true
    }

    private func allowed(for hm: HttpMessage) -> String {
        var list = ""
        for route in routes {
            var captures = Captures()
            guard let method = route.method, Pattern.match(hm.uri, route.pattern, captures: &captures) else { continue }
            let name = ByteView(method.rawBuffer).string
            if !list.isEmpty { list += ", " }
            list += name
            if name == "GET" { list += ", HEAD" }
        }
        return list
    }
}

/// What a pattern's wildcards matched, in order (at most four; views into the request).
public struct Captures {
    private var views: (ByteView, ByteView, ByteView, ByteView) = (.empty, .empty, .empty, .empty)
    public private(set) var count = 0

    public init() {}

    public subscript(i: Int) -> ByteView {
        switch i {
        case 0: return views.0
        case 1: return views.1
        case 2: return views.2
        case 3: return views.3
        default: return .empty
        }
    }

    mutating func set(_ i: Int, _ v: ByteView) {
        switch i {
        case 0: views.0 = v
        case 1: views.1 = v
        case 2: views.2 = v
        case 3: views.3 = v
        default: return
        }
        count = max(count, min(i + 1, 4))
    }
}

/// `mg_match`-style glob patterns: `?` matches one byte, `*` any run of bytes without
/// '/', `#` any run of bytes ('/' included); everything else matches itself. The whole
/// text must match. Each wildcard's match is captured.
public enum Pattern {
    public static func match(_ text: ByteView, _ pattern: StaticString, captures: inout Captures) -> Bool {
        match(text, 0, pattern.rawBuffer, 0, &captures, 0)
    }

    public static func match(_ text: ByteView, _ pattern: StaticString) -> Bool {
        var captures = Captures()
        return match(text, pattern, captures: &captures)
    }

    private static func match(
        _ s: ByteView, _ start: Int, _ p: UnsafeRawBufferPointer, _ patternStart: Int,
        _ caps: inout Captures, _ capture: Int
    ) -> Bool {
        var si = start, pi = patternStart, ci = capture
        while pi < p.count {
            let c = p[pi]
            switch c {
            case UInt8(ascii: "*"), UInt8(ascii: "#"):
                // Shortest match first; each longer one is tried on failure.
                var end = si
                while true {
                    if match(s, end, p, pi + 1, &caps, ci + 1) {
                        caps.set(ci, s.slice(si, end))
                        return true
                    }
                    if end == s.count || (c == UInt8(ascii: "*") && s[end] == UInt8(ascii: "/")) { return false }
                    end += 1
                }
            case UInt8(ascii: "?"):
                guard si < s.count else { return false }
                caps.set(ci, s.slice(si, si + 1))
                ci += 1
                si += 1
                pi += 1
            default:
                guard si < s.count && s[si] == c else { return false }
                si += 1
                pi += 1
            }
        }
        return si == s.count
    }
}
