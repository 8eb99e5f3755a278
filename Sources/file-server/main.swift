// file-server: serves a folder, like `python3 -m http.server` on the board.
//   GET or HEAD /<path>   the file below --dir (default "."), with ETag/Last-Modified
//                         (304), one byte range (206/416), a precompressed <path>.gz
//                         for clients that take gzip, and a listing of folders without
//                         an index.html (off with --no-listing)
// Flags: the common ones (--listen, --dir PATH, --cert/--key, …) and --no-listing.
import Meerkat
import MeerkatApp

let options = AppOptions.parse(defaultListen: "http://0.0.0.0:8000", extra: ["--no-listing"])
let listing = !options.flags.contains("--no-listing")
let root = options.dir

let manager = Manager(limits: options.limits(.board), poller: options.poller) { conn, ev in
    if case let .httpMessage(hm) = ev {
        conn.serveDir(hm, root: root, listing: listing)
    }
}
options.listenAll(manager)
manager.run()
