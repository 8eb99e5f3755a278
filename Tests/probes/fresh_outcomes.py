"""20 fresh GETs, 0.1 s apart, while ATTACK (a probe.py or crowd.py name) runs with the
table's size plus ten connections; counts each outcome ("200", "503", "reset",
"closed", ...), as test_pressure's whole-head test does (attack3). Run:

    MEERKAT_BIN=build/B/bin MEERKAT_RUNNER="$(make -s print-runner BOARD=B)" MEERKAT_BOARD=B \
        python3 Tests/probes/fresh_outcomes.py ATTACK"""
import sys
import time

import probe  # first: puts Tests/integration on the path

import attacks
import crowd  # noqa: F401  (registers bigstall)
from conftest import BOARD, Server


def main():
    name = sys.argv[1]
    server = Server("echo-server", "--listen", "http://127.0.0.1:0")
    a = probe.ATTACKS[name](server.port(), probe.MAXC + 10)
    time.sleep(probe.GRACE + 0.5)
    out = []
    for _ in range(20):
        out.append(attacks.fresh_outcome(server.port()))
        time.sleep(0.1)
    if a:
        a.stop()
    print(f"{BOARD} {name}: {({k: out.count(k) for k in sorted(set(out))})}; alive {server.alive()}", flush=True)
    server.stop()


if __name__ == "__main__":
    main()
