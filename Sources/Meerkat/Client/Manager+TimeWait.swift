import CMeerkat

/// TLS clients that wait for the time (`TlsTimePolicy.deferUntilSynced`): their TCP is
/// up, nothing is read or written, no handshake starts, until an SNTP answer syncs the
/// manager's clock (`timeAnswered`) or their wait runs out. Few clients, so the client
/// table is walked; with none waiting the loop never looks.
extension Manager {
    func awaitTime(_ s: Int32) {
        let e = Int(slots[Int(s)].client)
        services.clients.entries[e].phase = .awaitingTime
        services.clients.entries[e].timeWaitUntil = now + services.clients.entries[e].timeWaitMs
        services.timeWaiting += 1
        setInterest(s, .read, adding: false)
        Log.conn(.debug, s, "TLS waits for the time (SNTP)")
    }

    /// The time is known: every waiting client goes on (TLS, then `.connect`).
    func resumeTimeWaiters() {
        guard services.timeWaiting > 0 else { return }
        for e in 0..<services.clients.capacity where services.clients.entries[e].phase == .awaitingTime {
            let s = services.clients.slotOf[e]
            services.clients.entries[e].phase = .connecting
            services.timeWaiting -= 1
            clientUp(s)
        }
    }

    func expireTimeWaits() {
        for e in 0..<services.clients.capacity
        where services.clients.entries[e].phase == .awaitingTime && now >= services.clients.entries[e].timeWaitUntil {
            let s = services.clients.slotOf[e]
            deliverError(s, "TLS: the time is not known (no SNTP answer in time): deferred connection given up", errno: ETIMEDOUT)
            closeNow(s)
        }
    }

    var timeWaitDue: Int64 {
        var due = Int64.max
        for e in 0..<services.clients.capacity where services.clients.entries[e].phase == .awaitingTime {
            due = min(due, services.clients.entries[e].timeWaitUntil)
        }
        return due
    }
}
