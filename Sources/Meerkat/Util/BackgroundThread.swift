import CMeerkat

/// Starts a thread for an app: the library itself runs on one thread, and
/// `Manager.wakeup(id, data)` is the one call another thread may make, so a thread
/// started here hands its results to the loop through `wakeup`. It runs `body` once,
/// detached. Works in Embedded Swift (a C-convention entry and an `Unmanaged` box).
public enum BackgroundThread {
    public enum StartError: Error, Equatable, CustomStringConvertible {
        /// pthread_create failed with this errno (EAGAIN: out of threads or memory).
        case system(Int32)

        public var description: String {
            switch self {
            case let .system(code): return "cannot start a thread: " + systemErrorText(code)
            }
        }
    }

    public static func start(_ body: @escaping () -> Void) throws(StartError) {
        let box = Unmanaged.passRetained(Body(body)).toOpaque()
        let rc = mk_thread_start(
            { arg in
                let body = Unmanaged<Body>.fromOpaque(arg!).takeRetainedValue()
                body.run()
                return nil
            }, box)
        if rc != 0 {
            Unmanaged<Body>.fromOpaque(box).release()
            throw .system(rc)
        }
    }

    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }
}
