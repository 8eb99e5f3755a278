"""Many fresh clients, one after another, under ATTACK (probe.py names joined by '+'):
how many are answered, and how the others fail ('closed' is a FIN with no answer: the
connection was closed before its request was read). Run:

    MEERKAT_BIN=build/B/bin MEERKAT_RUNNER="$(make -s print-runner BOARD=B)" MEERKAT_BOARD=B \
        python3 Tests/probes/fresh_many.py ATTACK [CLIENTS]"""
import sys
import time

import probe
from conftest import BOARD, Server


def main():
    names = sys.argv[1].split("+")
    clients = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    server = Server("echo-server", "--listen", "http://127.0.0.1:0")
    port = server.port()
    running = []
    for name in names:
        count = probe.BLOCKS + 10 if name.endswith("@blocks") else probe.MAXC + 10
        running.append(probe.ATTACKS[name.split("@")[0]](port, count))
    time.sleep(probe.GRACE + 0.5)
    results = []
    for _ in range(clients):
        results.append(probe.fresh(port))
        time.sleep(0.1)
    for a in running:
        a.stop()
    print(f"{BOARD} {sys.argv[1]}:", end="")
    probe.summarize(f"{clients} fresh GETs", results)
    server.stop()


if __name__ == "__main__":
    main()
