"""Honest WebSockets, opened before an attack, that send a message in two writes while
the table is full (issue 21 review: is a WebSocket waiting for a receive block with half
a frame in its socket closed for a newcomer?). Run:

    MEERKAT_BIN=build/B/bin MEERKAT_RUNNER="$(make -s print-runner BOARD=B)" MEERKAT_BOARD=B \
        python3 Tests/probes/ws_mid_message.py [ATTACK] [CLIENTS] [GAP_S]

ATTACK is a probe.py attack name (default stalled), with the table's size plus ten
connections. Each client sends a text message of 3000 bytes to /ws in two writes GAP_S
apart (default 0.05) and waits for "Echo: ..."; prints how many came back, were closed,
or got nothing."""
import sys
import time

import probe
from conftest import BOARD, Server


def frame(payload):
    n = len(payload)
    return bytes([0x81, 0x80 | 126]) + n.to_bytes(2, "big") + b"\0\0\0\0" + payload


def main():
    attack = sys.argv[1] if len(sys.argv) > 1 else "stalled"
    clients = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    gap = float(sys.argv[3]) if len(sys.argv) > 3 else 0.05
    server = Server("echo-server", "--listen", "http://127.0.0.1:0")
    port = server.port()
    socks = [probe.ws_connect(port) for _ in range(clients)]
    a = probe.ATTACKS[attack](port, probe.MAXC + 10)
    time.sleep(probe.GRACE + 1)
    message = b"m" * 3000
    outcome = {}
    for s in socks:
        f = frame(message)
        try:
            s.sendall(f[:100])
            time.sleep(gap)
            s.sendall(f[100:])
            s.settimeout(5)
            got = b""
            while len(got) < 4 + 6 + 3000:
                c = s.recv(65536)
                if not c:
                    break
                got += c
            r = "echoed" if got.endswith(message) else ("closed" if not got or got[0] == 0x88 else "other")
        except ConnectionResetError:
            r = "reset"
        except TimeoutError:
            r = "timeout"
        except OSError as e:
            r = type(e).__name__
        outcome[r] = outcome.get(r, 0) + 1
        time.sleep(0.2)
    a.stop()
    print(f"{BOARD} {attack}: {clients} WebSockets opened before, a 3000-byte message in 2 writes"
          f" {gap * 1000:.0f} ms apart under the attack: {outcome}")
    server.stop()


if __name__ == "__main__":
    main()
