import CMeerkat

/// Readiness for many descriptors: epoll by default, poll(2) where epoll is missing or
/// when asked for. Each descriptor carries a token (the connection's slot); `wait`
/// reports ready tokens, so the work per call follows the ready set, not the table size
/// (except on the poll(2) fallback, which is O(descriptors) by nature).
struct Poller {
    typealias Backend = PollerBackend

    struct Interest: OptionSet {
        let rawValue: UInt32
        static let read = Interest(rawValue: 1)
        static let write = Interest(rawValue: 2)
    }

    struct Ready {
        var token: UInt64
        var readable: Bool
        var writable: Bool
        /// Error or hang-up on the descriptor.
        var failed: Bool
    }

    let backend: Backend
    private let epfd: Int32
    private let maxEvents: Int
    private let tokens: UnsafeMutablePointer<UInt64>
    private let events: UnsafeMutablePointer<UInt32>
    // poll(2) fallback: one pollfd per token (tokens are dense slot numbers).
    private let pollfds: UnsafeMutablePointer<pollfd>
    private let pollTokens: UnsafeMutablePointer<UInt64>
    private let pollCapacity: Int
    private var pollUsed = 0

    init(backend: Backend, capacity: Int, maxEvents: Int) {
        var chosen = backend
        var fd: Int32 = -1
        if chosen == .epoll {
            fd = mk_epoll_create()
            if fd < 0 { chosen = .poll }
        }
        self.backend = chosen
        epfd = fd
        self.maxEvents = min(maxEvents, 64)
        tokens = .allocate(capacity: 64)
        events = .allocate(capacity: 64)
        pollCapacity = chosen == .poll ? capacity : 1
        pollfds = .allocate(capacity: pollCapacity)
        pollTokens = .allocate(capacity: pollCapacity)
    }

    private static func epollBits(_ interest: Interest) -> UInt32 {
        var bits: UInt32 = 0
        if interest.contains(.read) { bits |= UInt32(EPOLLIN.rawValue) | UInt32(EPOLLRDHUP.rawValue) }
        if interest.contains(.write) { bits |= UInt32(EPOLLOUT.rawValue) }
        return bits
    }

    private static func pollBits(_ interest: Interest) -> Int16 {
        var bits: Int16 = 0
        if interest.contains(.read) { bits |= Int16(POLLIN) }
        if interest.contains(.write) { bits |= Int16(POLLOUT) }
        return bits
    }

    mutating func add(_ fd: Int32, token: UInt64, _ interest: Interest) -> Bool {
        switch backend {
        case .epoll:
            return mk_epoll_ctl(epfd, EPOLL_CTL_ADD, fd, Poller.epollBits(interest), token) == 0
        case .poll:
            guard pollUsed < pollCapacity else { return false }
            pollfds[pollUsed] = pollfd(fd: fd, events: Poller.pollBits(interest), revents: 0)
            pollTokens[pollUsed] = token
            pollUsed += 1
            return true
        }
    }

    mutating func modify(_ fd: Int32, token: UInt64, _ interest: Interest) {
        switch backend {
        case .epoll:
            _ = mk_epoll_ctl(epfd, EPOLL_CTL_MOD, fd, Poller.epollBits(interest), token)
        case .poll:
            if let i = pollIndex(fd) { pollfds[i].events = Poller.pollBits(interest) }
        }
    }

    mutating func remove(_ fd: Int32) {
        switch backend {
        case .epoll:
            _ = mk_epoll_ctl(epfd, EPOLL_CTL_DEL, fd, 0, 0)
        case .poll:
            guard let i = pollIndex(fd) else { return }
            pollUsed -= 1
            pollfds[i] = pollfds[pollUsed]
            pollTokens[i] = pollTokens[pollUsed]
        }
    }

    private func pollIndex(_ fd: Int32) -> Int? {
        for i in 0..<pollUsed where pollfds[i].fd == fd { return i }
        return nil
    }

    /// Waits up to `timeoutMs` (-1: forever); returns how many descriptors are ready.
    /// Read them with `ready(i)` before the next wait. (A count, not a callback, so the
    /// caller may change interests while it goes through them.)
    mutating func wait(timeoutMs: Int32) -> Int {
        switch backend {
        case .epoll:
            let n = mk_epoll_wait(epfd, tokens, events, Int32(maxEvents), timeoutMs)
            return n > 0 ? Int(n) : 0
        case .poll:
            let n = CMeerkat.poll(pollfds, nfds_t(pollUsed), timeoutMs)
            guard n > 0 else { return 0 }
            // Snapshot: handlers may add or remove descriptors while the caller reports.
            var ready = 0
            for i in 0..<pollUsed where pollfds[i].revents != 0 && ready < maxEvents {
                tokens[ready] = pollTokens[i]
                events[ready] = UInt32(UInt16(bitPattern: pollfds[i].revents))
                ready += 1
            }
            return ready
        }
    }

    func ready(_ i: Int) -> Ready {
        let e = events[i]
        switch backend {
        case .epoll:
            return Ready(
                token: tokens[i],
                readable: e & (UInt32(EPOLLIN.rawValue) | UInt32(EPOLLRDHUP.rawValue)) != 0,
                writable: e & UInt32(EPOLLOUT.rawValue) != 0,
                failed: e & (UInt32(EPOLLERR.rawValue) | UInt32(EPOLLHUP.rawValue)) != 0)
        case .poll:
            return Ready(
                token: tokens[i], readable: e & UInt32(POLLIN) != 0,
                writable: e & UInt32(POLLOUT) != 0,
                failed: e & (UInt32(POLLERR) | UInt32(POLLHUP) | UInt32(POLLNVAL)) != 0)
        }
    }

    /// Closes the epoll descriptor and frees the event buffers: the manager's deinit
    /// calls it once (a manager made and dropped, as tests and restarting apps do,
    /// leaks nothing; found by `make sanitize`).
    func close() {
        if epfd >= 0 { _ = CMeerkat.close(epfd) }
        tokens.deallocate()
        events.deallocate()
        pollfds.deallocate()
        pollTokens.deallocate()
    }
}
