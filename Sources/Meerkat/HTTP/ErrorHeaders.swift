/// The headers of every answer that is not a page: the library's own error answers
/// (bad input, refusals, serveDir's 403/404/405, the login throttle's 429, the busy
/// 503) and an app's through `Connection.replyError`. Such a body (a line of text or
/// JSON, sometimes echoing what was asked) should never run as a page, be sniffed as
/// a script or style, sit in a frame, or pass the URL on. `default-src 'none'` allows
/// the body nothing; `frame-ancestors` is not covered by `default-src`, so it is named.
/// Preformatted static lines: adding them allocates nothing.
enum ErrorHeaders {
    static let lines: StaticString = """
        Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n\
        X-Content-Type-Options: nosniff\r\n\
        Referrer-Policy: no-referrer\r\n
        """
}

extension Connection {
    /// `reply`, with the headers of an answer that is not a page (`ErrorHeaders`:
    /// `Content-Security-Policy: default-src 'none'; frame-ancestors 'none'`,
    /// `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`): for an error
    /// or refusal the app makes itself (`{"error": …}`), or a redirect.
    public func replyError(
        _ status: Int, _ body: some ByteSource,
        headers: KeyValuePairs<String, String> = [:]
    ) throws(ConnectionError) {
        let s = try openSlot()
        try Payload.lending(body) { (p) throws(ConnectionError) in
            try manager.handlerReply(s, status: status, body: p, headers: headers, extra: ErrorHeaders.lines)
        }
    }
}
