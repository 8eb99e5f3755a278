import CMeerkat
import Meerkat

/// The command line every Meerkat app shares: `--listen URL` (repeatable), `--cert FILE
/// --key FILE` for TLS (`--client-ca FILE`: ask clients for a certificate that CA signed),
/// `--poll` for the poll(2) backend, and overrides of the board's
/// limits (`--max-connections N`, `--buffers N` blocks per pool, `--idle-timeout-ms N`,
/// `--header-timeout-ms N`, `--tls-slots N`, `--tls-buffer-pairs N`, `--handshake-timeout-ms N`), and
/// `--dir PATH`, a folder the app keeps its files in. `--version` (for every app, the
/// client tools' own parsers too through `arguments`) prints the app's name, Meerkat's
/// version, the board and the git revision, and exits with 0.
/// Read from the process arguments through the C shim (Embedded Swift has no
/// `CommandLine`).
public struct AppOptions {
    public var listen: [String] = []
    public var cert: String? = nil
    public var key: String? = nil
    /// `--client-ca FILE`: TLS listeners ask every client for a certificate this CA signed
    /// (refusing others); the app reads who it names from `conn.tlsPeer`.
    public var clientCA: String? = nil
    public var poller: PollerBackend = .epoll
    public var maxConnections: Int? = nil
    public var buffers: Int? = nil
    public var idleTimeoutMs: Int? = nil
    public var headerTimeoutMs: Int? = nil
    public var tlsSlots: Int? = nil
    public var tlsBufferPairs: Int? = nil
    public var handshakeTimeoutMs: Int? = nil
    /// `--dir PATH`: where an app keeps files (uploads, later static files).
    public var dir: String = "."
    /// `--report URL` / `--report-ms N`: a server an app keeps a connection to and sends
    /// its status every N ms (device-app; nil: the app's own period).
    public var report: String? = nil
    public var reportMs: Int? = nil
    /// The app's own switches (`extra` of `parse`) that were given, and its own
    /// options with a value (`valued`) as given, read with `value(of:)`.
    public var flags: [String] = []
    public var values: [(name: String, value: String)] = []
    /// `parse`'s `extra` and `valued`, for a usage printed after it (`number(of:)`).
    var extra: [String] = []
    var valued: [String] = []

    /// The value given for one of the app's own options (`valued` of `parse`).
    public func value(of name: String) -> String? {
        values.last(where: { $0.name == name })?.value
    }

    /// The number given for one of the app's own options (`valued` of `parse`), or
    /// `default` when it was not given. Anything else than a decimal number in `range`
    /// ("abc", "10MB", "-5", 0 when the range starts at 1, a number too large) prints
    /// e.g. `--ota-limit: not a number of bytes in 1...1073741824: abc` and the usage, and
    /// exits with 2: a typo must not silently give the default. The unit is the option's
    /// placeholder (`"--ota-limit BYTES"`), in lower case.
    public func number(of name: String, default: Int, in range: ClosedRange<Int>) -> Int {
        guard let text = value(of: name) else { return `default` }
        if let n = AppOptions.decimal(text), n <= UInt64(Int.max), range.contains(Int(n)) { return Int(n) }
        let placeholder = valued.first(where: { AppOptions.optionName($0) == name }).flatMap { AppOptions.placeholder($0) }
        let unit = placeholder.map { " of " + String(decoding: $0.utf8.map { (65...90).contains($0) ? $0 + 32 : $0 }, as: UTF8.self) } ?? ""
        AppOptions.usage(
            "\(name): not a number\(unit) in \(range.lowerBound)...\(range.upperBound): \(text)", extra: extra, valued: valued)
    }

    /// Every value given for one of the app's own options, repeated or comma-separated
    /// (`--origin a,b --origin c`), in order, empty pieces dropped.
    public func list(of name: String) -> [String] {
        var out: [String] = []
        for (n, v) in values where n == name {
            for piece in v.split(separator: ",") where !piece.isEmpty { out.append(String(piece)) }
        }
        return out
    }

    /// This machine's host name, or nil when it has none.
    public static var hostName: String? {
        var buf = [CChar](repeating: 0, count: 256)
        return buf.withUnsafeMutableBufferPointer { b in
            guard mk_hostname(b.baseAddress, b.count) == 0, b[0] != 0 else { return nil }
            return String(cString: b.baseAddress!)
        }
    }

    /// The library's own options: an app's `extra` or `valued` may not take one of these.
    static let libraryFlags = [
        "--version", "--listen", "--cert", "--key", "--client-ca", "--poll", "--max-connections", "--buffers",
        "--idle-timeout-ms", "--header-timeout-ms", "--tls-slots", "--tls-buffer-pairs", "--handshake-timeout-ms", "--dir",
        "--report", "--report-ms", "--log-level", "--help", "-h",
    ]

    /// Parses the process arguments; on a bad one prints it with the usage (the app's own
    /// options too) and exits with 2. `extra` names switches (no value) of this app's own,
    /// collected in `flags`; `valued` names its options that take a value, collected in
    /// `values`, each with what its value is after a space for the usage
    /// (`"--ota-limit BYTES"`; the usage says VALUE for one without). An app option named
    /// like one of the library's (`--dir`) is refused at start, with exit 2: the library
    /// would take it.
    public static func parse(defaultListen: String, extra: [String] = [], valued: [String] = []) -> AppOptions {
        let valuedNames = valued.map { optionName($0) }
        for name in extra + valuedNames where libraryFlags.contains(name) {
            print("app option \(name) is one of Meerkat's own options: give it another name")
            exitProcess(2)
        }
        exitIfVersionAsked()
        var options = AppOptions()
        options.extra = extra
        options.valued = valued
        var i = 1
        let argc = Int(mk_argc())
        func usage(_ problem: String) -> Never { AppOptions.usage(problem, extra: extra, valued: valued) }
        func argument(_ i: Int) -> String? { mk_argv(Int32(i)).map { String(cString: $0) } }
        func value(_ i: Int) -> String {
            guard i < argc, let text = argument(i) else { usage("\(argument(i - 1) ?? "") needs a value") }
            return text
        }
        func number(_ i: Int) -> Int {
            let text = value(i)
            guard let n = AppOptions.number(text) else { usage("\(argument(i - 1) ?? ""): not a number: \(text)") }
            return n
        }
        while i < argc {
            let arg = value(i)
            switch arg {
            case "--listen": options.listen.append(value(i + 1)); i += 2
            case "--cert": options.cert = value(i + 1); i += 2
            case "--key": options.key = value(i + 1); i += 2
            case "--client-ca": options.clientCA = value(i + 1); i += 2
            case "--poll": options.poller = .poll; i += 1
            case "--max-connections": options.maxConnections = number(i + 1); i += 2
            case "--buffers": options.buffers = number(i + 1); i += 2
            case "--idle-timeout-ms": options.idleTimeoutMs = number(i + 1); i += 2
            case "--header-timeout-ms": options.headerTimeoutMs = number(i + 1); i += 2
            case "--tls-slots": options.tlsSlots = number(i + 1); i += 2
            case "--tls-buffer-pairs": options.tlsBufferPairs = number(i + 1); i += 2
            case "--handshake-timeout-ms": options.handshakeTimeoutMs = number(i + 1); i += 2
            case "--dir": options.dir = value(i + 1); i += 2
            case "--report": options.report = value(i + 1); i += 2
            case "--report-ms": options.reportMs = max(number(i + 1), 1); i += 2
            case "--log-level": Log.level = logLevel(value(i + 1)) { usage($0) }; i += 2
            case "--help", "-h": AppOptions.usage(nil, extra: extra, valued: valued)  // asked for: exit 0
            default:
                if valuedNames.contains(arg) {
                    options.values.append((arg, value(i + 1)))
                    i += 2
                    continue
                }
                guard extra.contains(arg) else { usage("unknown argument: \(arg)") }
                options.flags.append(arg)
                i += 1
            }
        }
        if options.listen.isEmpty { options.listen.append(defaultListen) }
        if (options.cert == nil) != (options.key == nil) {
            print("--cert and --key go together")
            exit(2)
        }
        if options.clientCA != nil && options.cert == nil {
            print("--client-ca needs --cert and --key")
            exit(2)
        }
        return options
    }

    /// Prints `problem` and the usage, the library's options and then the app's own
    /// (`extra` switches, `valued` options with a value), and exits with 2; with no
    /// problem (`--help`), the usage alone and exit 0.
    static func usage(_ problem: String?, extra: [String] = [], valued: [String] = []) -> Never {
        if let problem { print(problem) }
        print("usage: \(programName) [--version] [--listen URL]... [--cert FILE --key FILE [--client-ca FILE]]", terminator: "")
        print(" [--poll]", terminator: "")
        print(" [--max-connections N] [--buffers N] [--idle-timeout-ms N] [--header-timeout-ms N]", terminator: "")
        print(" [--tls-slots N] [--tls-buffer-pairs N] [--handshake-timeout-ms N] [--dir PATH] [--report URL [--report-ms N]]", terminator: "")
        print(" [--log-level error|info|debug|verbose|none]", terminator: "")
        for name in extra { print(" [\(name)]", terminator: "") }
        for option in valued { print(" [\(optionName(option)) \(placeholder(option) ?? "VALUE")]", terminator: "") }
        print("")
        exitProcess(problem == nil ? 0 : 2)
    }

    /// The level `text` names; otherwise `refuse` is called with the problem in words.
    static func logLevel(_ text: String, refuse: (String) -> Never) -> LogLevel {
        guard let level = LogLevel(name: text) else {
            refuse("--log-level: unknown level: \(text) (error, info, debug, verbose or none)")
        }
        return level
    }

    /// A number of at most 8 digits (fits a 32-bit Int), or nil.
    static func number(_ text: String) -> Int? {
        guard text.utf8.count < 9, let n = decimal(text) else { return nil }
        return Int(n)
    }

    /// Decimal digits alone as a number, or nil (no digits, anything else, or more than
    /// UInt64 holds). Never through Int: on ARMv7 it has 32 bits.
    static func decimal(_ text: String) -> UInt64? {
        guard !text.isEmpty else { return nil }
        var n: UInt64 = 0
        for c in text.utf8 {
            guard (48...57).contains(c) else { return nil }
            let (times, over) = n.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times.addingReportingOverflow(UInt64(c - 48))
            guard !over, !carry else { return nil }
            n = sum
        }
        return n
    }

    /// A `valued` entry's option name: `"--ota-limit"` of `"--ota-limit BYTES"`.
    static func optionName(_ entry: String) -> String {
        entry.split(separator: " ", maxSplits: 1).first.map(String.init) ?? entry
    }

    /// A `valued` entry's placeholder: `"BYTES"` of `"--ota-limit BYTES"`, nil without.
    static func placeholder(_ entry: String) -> String? {
        let parts = entry.split(separator: " ", maxSplits: 1)
        return parts.count == 2 ? String(parts[1]) : nil
    }

    /// `base` with the command line's overrides applied.
    public func limits(_ base: Limits) -> Limits {
        var l = base
        if let n = maxConnections { l.maxConnections = n }
        if let n = buffers, n > 0 {
            l.recvBuffers = n
            l.sendBuffers = n
        }
        if let n = idleTimeoutMs { l.idleTimeoutMs = n }
        if let n = headerTimeoutMs { l.headerTimeoutMs = n }
        if let n = tlsSlots { l.tlsSlots = n }
        if let n = tlsBufferPairs { l.tlsBufferPairs = n }
        if let n = handshakeTimeoutMs { l.handshakeTimeoutMs = n }
        return l
    }

    /// The certificate and key of `--cert`/`--key` (and the CA of `--client-ca`), read
    /// once; nil when not given. Exits with 1 and a message when a file cannot be read.
    public func tlsOpts() -> TlsOpts? {
        guard let cert, let key else { return nil }
        do {
            return try TlsOpts.files(cert: cert, key: key, ca: clientCA)
        } catch {
            print("cannot read --cert \(cert) / --key \(key)\(clientCA.map { " / --client-ca \($0)" } ?? ""): \(error)")
            exit(1)
        }
    }

    /// The log line of a completed TLS handshake (`.tlsHandshake`): the ALPN protocol
    /// agreed on, who the peer's certificate names, when it gave one, and "; resumed"
    /// when the handshake resumed a session.
    public static func tlsLine(_ conn: Connection) -> String {
        var line = "tls: alpn \(conn.alpn ?? "none")"
        if let peer = conn.tlsPeer {
            line += "; peer CN \(peer.commonName), DNS"
            for name in peer.dnsNames { line += " " + name }
            if peer.dnsNames.isEmpty { line += " none" }
            line += peer.truncated ? " (truncated)" : ""
            line += ", sha256 \(peer.fingerprint)"
        }
        if conn.tlsResumed { line += "; resumed" }
        return line
    }

    /// Listens on every `--listen` URL, printing `listening on URL` for each (with the
    /// real port when 0 was asked for). `https://`, `wss://` and `tls://` URLs use
    /// `--cert`/`--key`. On failure (a TLS URL without them too) prints why and exits with 1.
    public func listenAll(_ manager: Manager) {
        let tls = tlsOpts()
        for url in listen {
            let isTLS = EndpointURL(url)?.isTLS ?? false
            if isTLS && tls == nil {
                print("cannot listen on \(url): a TLS URL needs --cert FILE --key FILE")
                exit(1)
            }
            do {
                let listener = try manager.listen(url, tls: isTLS ? tls : nil)
                print("listening on \(AppOptions.announce(url, listener.localAddress?.port ?? 0))")
            } catch {
                print("cannot listen on \(url): \(error)")
                exit(1)
            }
        }
        mk_flush_stdout()
    }

    /// `url` with its port replaced by `port`.
    static func announce(_ url: String, _ port: Int) -> String {
        guard let parsed = EndpointURL(url) else { return url }
        let host = parsed.host.contains(":") ? "[\(parsed.host)]" : parsed.host
        let scheme = url.split(separator: ":").first.map(String.init) ?? "http"
        return "\(scheme)://\(host):\(port)"
    }

    /// The process arguments after the program name (for apps with their own flags);
    /// `--version` among them prints the version line and exits with 0, and
    /// `--log-level LEVEL` sets `Log.level` and is taken out (an unknown level: usage, exit 2).
    public static var arguments: [String] { arguments { usage($0) } }

    /// `arguments` for an app with a usage line of its own (a client such as fetch): a
    /// bad `--log-level` prints the problem and `line`, and exits with 2; `--help` or
    /// `-h` prints `line` and exits with 0.
    public static func arguments(usage line: String) -> [String] {
        if rawArguments.contains(where: { $0 == "--help" || $0 == "-h" }) {
            print(line)
            exitProcess(0)
        }
        return arguments { problem in
            print(problem)
            print(line)
            exitProcess(2)
        }
    }

    static func arguments(refuse: (String) -> Never) -> [String] {
        exitIfVersionAsked()
        var args = rawArguments
        while let i = args.firstIndex(of: "--log-level") {
            guard i + 1 < args.count else { refuse("--log-level needs a value") }
            Log.level = logLevel(args[i + 1], refuse: refuse)
            args.removeSubrange(i...(i + 1))
        }
        return args
    }

    static var rawArguments: [String] {
        (1..<max(Int(mk_argc()), 1)).compactMap { mk_argv(Int32($0)).map { String(cString: $0) } }
    }

    /// A client's line for an `.error` event: `error: TEXT`, then the errno's and the
    /// protocol code's numbers when there are any (`[errno 111]`, `[code -9984]`).
    public static func errorLine(_ why: StaticString, _ conn: Connection) -> String {
        var line = "error: \(why)"
        if conn.lastErrno != 0 { line += " [errno \(conn.lastErrno)]" }
        if conn.lastErrorCode != 0 { line += " [code \(conn.lastErrorCode)]" }
        return line
    }

    /// One line, e.g. `echo-server 0.9.0 (board rpi4, git 5c78764)`: the program's name,
    /// `Meerkat.version`, and the board and revision the build came from.
    public static func versionLine(program: String) -> String {
        "\(program) \(version) (board \(BuildInfo.board), git \(BuildInfo.revision))"
    }

    /// The program's name: its path's last component.
    static var programName: String {
        guard mk_argc() > 0, let p = mk_argv(0) else { return "meerkat" }
        let path = String(cString: p)
        return path.split(separator: "/").last.map(String.init) ?? path
    }

    static func exitIfVersionAsked() {
        guard rawArguments.contains("--version") else { return }
        print(versionLine(program: programName))
        exitProcess(0)
    }

    /// Sends what `print` wrote so far to stdout (a pipe is block-buffered otherwise).
    public static func flushOutput() { mk_flush_stdout() }

    /// Ends the process with `code` (Embedded Swift has no `exit` of its own).
    public static func exitProcess(_ code: Int32) -> Never {
        mk_flush_stdout()
        exit(code)
    }

    /// A client tool's TLS options from `--ca FILE` / `--insecure`: that CA, no check, or
    /// nil (the system's CAs). Exits with 1 when the file cannot be read.
    public static func clientTls(caFile: String?, insecure: Bool) -> TlsOpts? {
        if insecure { return TlsOpts(skipVerification: true) }
        guard let caFile else { return nil }
        guard let ca = try? File.contents(caFile) else {
            print("error: cannot read \(caFile)")
            exitProcess(1)
        }
        return TlsOpts(ca: ca)
    }
}
