import CMeerkat

/// A folder's listing (`serveDir(…, listing: true)` when it has no index.html): a small
/// HTML page of its entries (`File.list`), folders (and links to folders) marked with
/// "/", without the temporaries of files being written (`File.createTemporary`). Built
/// in an array (a listing is not on any hot path) and sent at any size.
extension Manager {
    /// Lists the folder whose path (ending in "/") is the first `folderLength` bytes of
    /// `staticPath`; 403 when `listing` is off. False, with nothing answered, when there
    /// is no such folder (the caller's 404 or fallback).
    func listFolder(_ s: Int32, _ hm: HttpMessage, folderLength: Int, listing: Bool) -> Bool {
        services.staticPath[folderLength] = 0
        var info = mk_file_info()
        let fd = openBelow(&info)
        if fd < 0 && -fd == EACCES { staticError(s, 403) }
        guard fd >= 0 else { return -fd == EACCES }
        guard info.is_dir != 0, listing else {
            _ = CMeerkat.close(fd)
            if info.is_dir != 0 { staticError(s, 403) }
            return info.is_dir != 0
        }
        var page: [UInt8] = []
        page.append(contentsOf: "<!doctype html><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>Index of ".utf8)
        FolderListing.appendEscaped(hm.uri.buffer, to: &page)
        page.append(contentsOf: "</title><h1>Index of ".utf8)
        FolderListing.appendEscaped(hm.uri.buffer, to: &page)
        page.append(contentsOf: "</h1><ul>".utf8)
        if hm.uri.count > 1 { page.append(contentsOf: "<li><a href=\"../\">../</a></li>".utf8) }
        // The entries as File.list gives them (uploads still being written left out); a
        // read error ends the list where it is.
        try? File.list(fd: fd, temporaries: false) { entry in
            let suffix = entry.isFolder ? "/" : ""
            page.append(contentsOf: "<li><a href=\"".utf8)
            page.append(contentsOf: urlEncode(entry.name.string).utf8)
            page.append(contentsOf: (suffix + "\">").utf8)
            FolderListing.appendEscaped(entry.name.buffer, to: &page)
            page.append(contentsOf: (suffix + "</a></li>").utf8)
        }
        page.append(contentsOf: "</ul>\n".utf8)
        do throws(ConnectionError) {
            try handlerReply(s, status: 200, body: Payload(page), headers: ["Content-Type": "text/html; charset=utf-8"])
        } catch {}
        return true
    }
}

enum FolderListing {
    /// Bytes made safe inside HTML: & < > " escaped, the rest as they are.
    static func appendEscaped(_ text: UnsafeRawBufferPointer, to page: inout [UInt8]) {
        for c in text {
            switch c {
            case UInt8(ascii: "&"): page.append(contentsOf: "&amp;".utf8)
            case UInt8(ascii: "<"): page.append(contentsOf: "&lt;".utf8)
            case UInt8(ascii: ">"): page.append(contentsOf: "&gt;".utf8)
            case UInt8(ascii: "\""): page.append(contentsOf: "&quot;".utf8)
            default: page.append(c)
            }
        }
    }
}
