"""Churn: PROCS attacker processes, each with its share of the table plus ten
connections of ATTACK (a probe.py attack name), reopening what the server closes, for
SECONDS. Prints server CPU (/proc/PID/stat), evictions per second, fresh clients'
waits, descriptors and RSS before and after. Run:

    MEERKAT_BIN=build/B/bin MEERKAT_RUNNER="$(make -s print-runner BOARD=B)" MEERKAT_BOARD=B \
        python3 Tests/probes/churn.py ATTACK [PROCS] [SECONDS]"""
import multiprocessing
import os
import re
import sys
import time

import probe
from conftest import BOARD, Server, rss_kb


def attacker(name, port, count, seconds, out):
    a = probe.ATTACKS[name](port, count)
    time.sleep(seconds)
    out.put(a.reopened)
    a.stop()


def evictions(port):
    m = re.search(r"evictions (\d+)", probe.stats(port))
    return int(m.group(1)) if m else -1


def main():
    name = sys.argv[1]
    procs = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 10
    server = Server("echo-server", "--listen", "http://127.0.0.1:0")
    port, pid = server.port(), server.proc.pid
    time.sleep(0.5)
    fds0, rss0 = server.settled_fds(), rss_kb(pid)
    out = multiprocessing.Queue()
    share = probe.MAXC // procs + 10
    workers = [multiprocessing.Process(target=attacker, args=(name, port, share, seconds + 2, out))
               for _ in range(procs)]
    for w in workers:
        w.start()
    time.sleep(2)
    e0, c0, t0 = evictions(port), probe.cpu_ticks(pid), time.time()
    waits = []
    while time.time() - t0 < seconds - 0.5:
        waits.append(probe.fresh(port))
        time.sleep(0.3)
    e1, c1, t1 = evictions(port), probe.cpu_ticks(pid), time.time()
    reopened = sum(out.get() for _ in workers)
    for w in workers:
        w.join()
    # Descriptors and memory once the attackers are gone (closes finish in the background).
    deadline = time.time() + 15
    while server.open_fds() > fds0 and time.time() < deadline:
        time.sleep(0.5)
    fds1, rss1 = server.open_fds(), rss_kb(pid)
    cpu = (c1 - c0) / os.sysconf("SC_CLK_TCK") / (t1 - t0) * 100
    print(f"{BOARD} churn {name} x{procs} ({share} each), {t1 - t0:.1f} s: server CPU {cpu:.0f} %,"
          f" evictions {(e1 - e0) / (t1 - t0):.0f}/s (stats counted {e0 if e1 >= 0 else 'n/a'}->{e1}),"
          f" attackers reopened {reopened}")
    probe.summarize("fresh GET", waits)
    print(f"  fds {fds0} -> {fds1}, RSS {rss0} -> {rss1} kB; alive {server.alive()}", flush=True)
    server.stop()


if __name__ == "__main__":
    main()
