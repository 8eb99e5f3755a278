// file-server: serves a folder, like `python3 -m http.server` on the board.
//   GET or HEAD /<path>   the file below --dir (default "."), with ETag/Last-Modified
//                         (304), one byte range (206/416), a precompressed <path>.gz
//                         for clients that take gzip, and a listing of folders without
//                         an index.html (off with --no-listing)
// Flags: the common ones (--listen, --dir PATH, --cert/--key, …), --no-listing, and the
// library's ServeOptions: --header '[/PREFIX/ ]Name: value' (repeated), --type EXT=TYPE,
// --not-found PAGE (served with 404), --spa (a missing page gets /index.html, except
// under /api/ and for names with an extension).
import Meerkat
import MeerkatApp

let options = AppOptions.parse(
    defaultListen: "http://0.0.0.0:8000", extra: ["--no-listing", "--spa"],
    valued: ["--header", "--type", "--not-found"])
let listing = !options.flags.contains("--no-listing")
let root = options.dir

func refuse(_ problem: String) -> Never {
    print("file-server: " + problem)
    AppOptions.exitProcess(2)
}

/// The serving options from the command line, made once.
func serveOptions() -> ServeOptions {
    var serve = ServeOptions()
    for (name, value) in options.values {
        if name == "--header" {
            // "/prefix/ Name: value", or "Name: value" for every path.
            var prefix = "/"
            var line = Substring(value)
            if value.hasPrefix("/"), let space = value.firstIndex(of: " ") {
                prefix = String(value[..<space])
                line = value[value.index(after: space)...]
            }
            let colon = line.firstIndex(of: ":") ?? line.startIndex
            let headerValue = line[line.index(after: colon)...].drop(while: { $0 == " " })
            guard serve.header(String(line[..<colon]), String(headerValue), under: prefix) else { refuse("--header wants '[/PREFIX/ ]Name: value'") }
        } else if name == "--type" {
            let parts = value.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, serve.type(String(parts[1]), forExtension: String(parts[0])) else { refuse("--type wants EXT=TYPE") }
        } else if name == "--not-found" {
            serve.notFoundPage(value)
        }
    }
    if options.flags.contains("--spa") { serve.singlePageApp() }
    return serve
}
let serve = serveOptions()

let manager = Manager(limits: options.limits(.board), poller: options.poller) { conn, ev in
    if case let .httpMessage(hm) = ev {
        conn.serveDir(hm, root: root, listing: listing, options: serve)
    }
}
options.listenAll(manager)
manager.run()
