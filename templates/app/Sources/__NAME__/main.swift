// __NAME__: a page at / and a WebSocket echo at /ws (the handler is in App.swift, where
// the tests reach it). Takes Meerkat's usual flags: --listen URL (repeatable), --cert and
// --key for https://, --max-connections N, …
import Meerkat
import MeerkatApp

let options = AppOptions.parse(defaultListen: "http://0.0.0.0:8000")
let manager = Manager(limits: options.limits(.board), poller: options.poller, handler: handle)
options.listenAll(manager)
manager.run()
manager.close()
