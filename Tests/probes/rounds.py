"""Leaks: ROUNDS rounds of ATTACK (probe.py names joined by '+', the table's size plus
ten connections each) against one echo-server, SECONDS each; after each round the
descriptors once settled (back to the baseline?) and RSS. Run:

    MEERKAT_BIN=build/B/bin MEERKAT_RUNNER="$(make -s print-runner BOARD=B)" MEERKAT_BOARD=B \
        python3 Tests/probes/rounds.py ATTACK [ROUNDS] [SECONDS]"""
import sys
import time

import probe
from conftest import BOARD, Server, rss_kb


def main():
    names = sys.argv[1].split("+")
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 6
    server = Server("echo-server", "--listen", "http://127.0.0.1:0")
    port, pid = server.port(), server.proc.pid
    time.sleep(0.5)
    fds0, rss0 = server.settled_fds(), rss_kb(pid)
    line = [f"{BOARD} {sys.argv[1]} x{rounds}: baseline fds {fds0} RSS {rss0} kB"]
    for _ in range(rounds):
        running = [probe.ATTACKS[n](port, probe.MAXC + 10) for n in names]
        time.sleep(seconds)
        for a in running:
            a.stop()
        deadline = time.time() + 15
        while server.open_fds() > fds0 and time.time() < deadline:
            time.sleep(0.5)
        line.append(f"fds {server.open_fds()} RSS {rss_kb(pid)} kB")
    print("; ".join(line) + f"; alive {server.alive()}")
    server.stop()


if __name__ == "__main__":
    main()
