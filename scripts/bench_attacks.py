"""make bench: how long a fresh client waits for GET / while the fixed pools are under
attack (issues 7 and 21), per board (ARM under qemu-user). The pool attacks use the
board's block count plus ten connections, the table attack its table plus ten, the
floods 300 WebSocket clients; the figure is the wait of 10 fresh clients, one every
0.3 s, measured once the attack has emptied the pool.
usage: bench_attacks.py BOARD..."""
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "Tests", "integration"))
import attacks  # noqa: E402
from conftest import board_profile  # noqa: E402


def runner(board):
    out = subprocess.run(["make", "-s", "--no-print-directory", "print-runner", f"BOARD={board}"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.split()


def measure(board, name, start_attack, pool):
    cmd = runner(board) + [os.path.join(ROOT, "build", board, "bin", "echo-server"),
                           "--listen", "http://127.0.0.1:0"]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    port = int(re.search(rb":(\d+)", server.stdout.readline()).group(1))
    attack = start_attack(port)
    deadline = time.time() + 60
    if pool is None:   # no pool to empty: the table, or the loop itself
        time.sleep(2)
    while pool and not re.search(pool + r" [01]/", attacks.stats(port)) and time.time() < deadline:
        time.sleep(0.2)
    waits = []
    for _ in range(10):
        try:
            waits.append(attacks.fresh_wait(port))
        except (AssertionError, OSError):   # a 503 or no answer: counted as never served
            waits.append(float("inf"))
        time.sleep(0.3)
    figures = attacks.stats(port).strip()
    attack.stop()
    server.terminate()
    server.wait()
    print(f"| {board} | {name} | {statistics.median(waits):.2f} | {max(waits):.2f} | {figures} |")


print("| board | attack | median wait (s) | max wait (s) | pools after (echo-server /stats) |")
print("|---|---|---|---|---|")
for board in sys.argv[1:]:
    p = board_profile(board)
    blocks = int(p["BOARD_RECV_BUFFERS"])
    body = 12000 if int(p["BOARD_RECV_BUFFER"]) >= 16384 else 5000
    measure(board, f"{blocks + 10} stalled heads", lambda port: attacks.stalled_heads(port, blocks + 10), "recv")
    measure(board, f"{blocks + 10} never-read pipelines of {body}-byte POSTs",
            lambda port: attacks.pipelined_posts(port, blocks + 10, body), "send")
    measure(board, f"{blocks + 10} rolling half-requests (each finished with the next begun, every 0.3-0.5 s)",
            lambda port: attacks.rolling_half_units(port, blocks + 10), "recv")
    table = int(p["BOARD_MAX_CONNECTIONS"])
    measure(board, f"{table + 10} silent connections (the table full)",
            lambda port: attacks.silent_connects(port, table + 10), None)
    measure(board, "300 WebSocket clients flooding 4 KiB frames, never reading",
            lambda port: attacks.ws_flood(port, 300, attacks.ws_frame(1, b"x" * 4096)), None)
    measure(board, "300 WebSocket clients flooding pings, never reading",
            lambda port: attacks.ws_flood(port, 300, attacks.ws_frame(9, b"p")), None)
