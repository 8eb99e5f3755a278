// thread-test: BackgroundThread (Sources/Meerkat/Util/BackgroundThread.swift) on a board's
// own kernel. qemu-user cannot run it (qemu-aarch64 7.2 hangs in pthread_create), so it
// is built per board as an Embedded Swift program (make thread-test) and run inside the
// board's VM (Tests/board/test_board_lowmem.py), as AppHelpersTests runs it on the host.
// Two threads each get a piece of work (a sum), report progress and their answer to the
// loop through Manager.wakeup, and a last "done"; the loop waits for both "done"s, as a
// join of the detached threads. Prints "thread-test: PASS …" and exits 0, or
// "thread-test: FAIL …" and exits 1.
import CMeerkat
import Meerkat

/// The sum 1 + … + n, the work handed to a thread: long enough that the loop is
/// polling, not waiting on it, when the first wakeup arrives.
func sum(upTo n: UInt64) -> UInt64 {
    var total: UInt64 = 0
    var i: UInt64 = 1
    while i <= n {
        total &+= i
        i += 1
    }
    return total
}

func fail(_ why: String) -> Never {
    print("thread-test: FAIL " + why)
    exit(1)
}

func runTest() {
    var got: [String] = []
    var connected = false
    let manager = Manager { _, ev in
        if case .connect = ev { connected = true }
        if case let .wakeup(data) = ev { got.append(data.string) }
    }
    let port: Int
    do throws(ListenError) {
        guard let p = try manager.listen("tcp://127.0.0.1:0").localAddress?.port else { fail("no listening port") }
        port = p
    } catch {
        fail("cannot listen: \(error)")
    }
    let client: Connection
    do throws(ConnectError) {
        client = try manager.connect("tcp://127.0.0.1:" + String(port))
    } catch {
        fail("cannot connect to the loop's own listener: \(error)")
    }
    let deadline = mk_now_ms() + 20_000
    while !connected && mk_now_ms() < deadline { manager.poll(50) }
    guard connected else { fail("the loop's own connection never connected") }

    // The work for each thread: a sum with a known answer.
    let work: [(name: String, n: UInt64)] = [("a", 2_000_000), ("b", 3_000_000)]
    for job in work {
        let id = client.id
        do throws(BackgroundThread.StartError) {
            try BackgroundThread.start {
                _ = manager.wakeup(id, job.name + " started")
                _ = manager.wakeup(id, job.name + " sum " + String(sum(upTo: job.n)))
                _ = manager.wakeup(id, job.name + " done")
            }
        } catch {
            fail("thread \(job.name): \(error)")
        }
    }
    while got.filter({ $0.hasSuffix(" done") }).count < work.count && mk_now_ms() < deadline { manager.poll(50) }
    for job in work {
        // Each thread's own messages arrive in the order it sent them.
        let mine = got.filter { $0.hasPrefix(job.name + " ") }
        let expected = [job.name + " started", job.name + " sum " + String(job.n * (job.n + 1) / 2), job.name + " done"]
        guard mine == expected else { fail("thread \(job.name): got \(mine), expected \(expected)") }
    }
    print("thread-test: PASS \(work.count) threads, \(got.count) wakeups: " + got.joined(separator: ", "))
    manager.close()
}

runTest()
