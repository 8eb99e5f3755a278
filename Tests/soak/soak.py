"""make soak (issue 27): echo-server and upload-server on one board under a mixed load
(load.py) that goes through fault proxies (fault_proxy.py), with a reference model
checking every answer, chat message and stored upload (model.py, check_uploads), and
the servers sampled every 10 s: RSS and open descriptors (/proc), and echo-server's
GET /stats (asked directly, not through a proxy).

It fails when a check fails, or when, once the load has gone, a server does not come
back to where it started (its descriptors; echo-server's every I/O block and TLS pair
free, one connection: the one asking; no upload temporaries left), or when RSS grows
past warm-up (see `trend`).

    python3 Tests/soak/soak.py --minutes 2 [--seed N] [--out DIR] [--chart PNG] [--lie]
with MEERKAT_BIN / MEERKAT_RUNNER / MEERKAT_BOARD as for the integration tests."""
import argparse
import json
import os
import sys
import tempfile
import threading
import time
import zlib
from collections import Counter

sys.path.insert(0, os.path.dirname(__file__))
from fault_proxy import FaultProxy  # noqa: E402
from fleet import Fleet  # noqa: E402
from load import Load  # noqa: E402
from model import Failures, check_room  # noqa: E402
from servers import BOARD, SLOW, TIMEOUT, EchoServer, UploadServer  # noqa: E402


def sample(echo, upload, fleet, t0):
    k = fleet.apps["k"]
    return {"t": round(time.monotonic() - t0, 1), "rss_kb": echo.rss_kb(), "fds": echo.fds(),
            "upload_rss_kb": upload.rss_kb(), "upload_fds": upload.fds(), "fleet_rss_kb": k.rss_kb(),
            "fleet_fds": k.fds(), **echo.stats()}


def trend(samples, key, warmup_s):
    """`key` (an RSS) past warm-up must not trend upward: the median of the last third
    of the samples may exceed the median of the first third by at most 1 % (and 256 KB)."""
    after = [s[key] for s in samples if s["t"] >= warmup_s]
    if len(after) < 3:
        return None
    third = max(1, len(after) // 3)
    first, last = sorted(after[:third])[third // 2], sorted(after[-third:])[third // 2]
    allowed = max(256, first // 100)
    return None if last - first <= allowed else f"{key} grew from {first} KB to {last} KB past warm-up (allowed {allowed})"


def settle(echo, upload, fleet, baseline, failures):
    """Once the load is gone, the servers must come back to where they began (a fleet
    board's MQTT link may be between connections: one descriptor either way)."""
    deadline = time.monotonic() + 30 * SLOW
    while True:
        st, fds, ufds = echo.stats(), echo.fds(), upload.fds()
        ffds = [app.fds() for app in fleet.apps.values()]
        # The /stats request holds a receive block while it is answered, and its
        # connection is still open on our side while we count.
        whole = (st.get("connections") == 1 and st["recv_free"] >= st["recv_total"] - 1 and st["send_free"] == st["send_total"]
                 and st.get("pairs_free", 0) == st.get("pairs_total", 0))
        if whole and fds <= baseline[0] + 1 and ufds <= baseline[1] and all(
                f <= b + 1 for f, b in zip(ffds, baseline[2:])):
            return st, fds, ufds
        if time.monotonic() > deadline:
            failures.add(f"after the load: echo-server {st}, {fds} descriptors (at start {baseline[0]});"
                         f" upload-server {ufds} descriptors (at start {baseline[1]}); fleet's chat-servers"
                         f" {ffds} (at start {baseline[2:]})")
            return st, fds, ufds
        time.sleep(0.5)


def check_uploads(folder, uploads, failures):
    """Every upload answered 201 is stored whole under its name; any other that is
    there is whole too (it was stored, its answer lost to the proxy); no temporaries."""
    names = set(os.listdir(folder))
    for name in sorted(names):
        if name.startswith("."):
            failures.add(f"upload temporary left: {name}")
            continue
        with open(os.path.join(folder, name), "rb") as f:
            data = f.read()
        size, crc, _ = uploads.get(name, (None, None, None))
        if (len(data), zlib.crc32(data)) != (size, crc):
            failures.add(f"upload {name}: stored {len(data)} bytes, CRC {zlib.crc32(data):08x}; sent {size}, {crc}")
    for name, (size, crc, answer) in uploads.items():
        failures.checked += 1
        if answer == "stored" and name not in names:
            failures.add(f"upload {name} was answered 201 but is not there")


def chart(samples, path, title):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("soak: no matplotlib, no chart")
        return
    fig, axes = plt.subplots(3, 1, figsize=(8, 7), sharex=True)
    t = [s["t"] / 60 for s in samples]
    axes[0].plot(t, [s["rss_kb"] for s in samples], color="#0f766e", label="echo-server")
    axes[0].plot(t, [s["upload_rss_kb"] for s in samples], color="#7c3aed", label="upload-server")
    axes[0].plot(t, [s["fleet_rss_kb"] for s in samples], color="#ca8a04", label="chat-server (fleet, k)")
    axes[0].set_ylabel("RSS (KB)")
    axes[1].plot(t, [s["fds"] for s in samples], color="#0f766e", label="echo-server")
    axes[1].plot(t, [s["upload_fds"] for s in samples], color="#7c3aed", label="upload-server")
    axes[1].plot(t, [s["fleet_fds"] for s in samples], color="#ca8a04", label="chat-server (fleet, k)")
    axes[1].set_ylabel("descriptors")
    for key, color in (("recv_lowest", "#0f766e"), ("send_lowest", "#7c3aed"), ("pairs_lowest", "#ca8a04")):
        axes[2].plot(t, [s.get(key, 0) for s in samples], label=key.replace("_", " "), color=color)
    axes[2].plot(t, [s.get("evictions", 0) for s in samples], label="evictions", color="#94a3b8")
    axes[2].set_ylabel("echo-server's pools")
    axes[2].set_xlabel("minutes")
    for a in axes:
        a.set_ylim(bottom=0)
        a.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=80)


class Tee:
    def __init__(self, *files):
        self.files = files

    def write(self, text):
        for f in self.files:
            f.write(text)

    def flush(self):
        for f in self.files:
            f.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=2)
    ap.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    ap.add_argument("--out", default=None)
    ap.add_argument("--chart", default=None, help="where to draw the samples (PNG)")
    ap.add_argument("--lie", action="store_true", help="the proxy corrupts some clean connections: the checks must fail")
    args = ap.parse_args()
    out = args.out or tempfile.mkdtemp(prefix=f"soak-{BOARD}-")
    os.makedirs(out, exist_ok=True)
    sys.stdout = Tee(sys.stdout, open(os.path.join(out, "soak.log"), "w"))   # for make soak-record
    print(f"soak: {BOARD}, {args.minutes} min, seed {args.seed}, logs in {out}", flush=True)
    failures = Failures()
    echo, upload = EchoServer(out), UploadServer(out)
    proxies = [FaultProxy(port, f"{args.seed}:{i}", os.path.join(out, "plans.jsonl"), lie=args.lie)
               for i, port in enumerate(echo.ports + upload.ports)]
    load = Load(proxies, args.seed, failures)
    fleet = Fleet(out, args.seed, load, lie=args.lie)
    servers = (echo, upload, *fleet.apps.values())
    t0 = time.monotonic()
    baseline = (echo.fds(), upload.fds(), *(app.fds() for app in fleet.apps.values()))
    samples = [sample(echo, upload, fleet, t0)]
    workers = [threading.Thread(target=load.http_worker, args=(i,)) for i in range(2)]
    workers += [threading.Thread(target=load.wss_worker, args=(0,)), threading.Thread(target=load.upload_worker, args=(0,))]
    workers += [threading.Thread(target=load.room_worker, args=(room, i)) for room in "ab" for i in range(3)]
    workers += fleet.workers()
    for w in workers:
        w.start()
    end = t0 + args.minutes * 60
    try:
        while time.monotonic() < end and all(s.proc.poll() is None for s in servers):
            time.sleep(min(10, max(0, end - time.monotonic())))
            samples.append(sample(echo, upload, fleet, t0))
            last = samples[-1]
            print(f"  {last['t']:6.0f} s  rss {last['rss_kb']} + {last['upload_rss_kb']} KB  fds {last['fds']} +"
                  f" {last['upload_fds']}  recv lowest {last.get('recv_lowest')}  evictions {last.get('evictions')}"
                  f"  {dict(sorted(load.tally.items()))}", flush=True)
    finally:
        load.stop.set()
        for w in workers:
            w.join(TIMEOUT * 2)
    dead = [s for s in servers if s.proc.poll() is not None]
    for s in dead:
        failures.add(f"{s.app} exited with {s.proc.returncode}")
    if not dead:
        time.sleep(4.5)   # the proxies' silent holds end
        st, fds, ufds = settle(echo, upload, fleet, baseline, failures)
        samples.append(sample(echo, upload, fleet, t0))
        print(f"settled: {st}, {fds} + {ufds} descriptors (at start {baseline[0]} + {baseline[1]})")
        check_uploads(upload.dir, load.uploads, failures)
        fleet.check(failures)
    for room in "ab":
        check_room([u for u in load.users if u["room"] == room], failures)
    for key in ("rss_kb", "upload_rss_kb", "fleet_rss_kb"):
        grew = trend(samples, key, warmup_s=min(30, args.minutes * 15))
        if grew:
            failures.add(grew)
    for p in proxies:
        p.close()
    fleet.stop()
    for s in (echo, upload):
        if s.proc.poll() is None:
            s.stop()
    with open(os.path.join(out, "samples.jsonl"), "w") as f:
        f.writelines(json.dumps(s) + "\n" for s in samples)
    chart(samples, args.chart or os.path.join(out, "soak.png"), f"make soak on {BOARD}, {args.minutes:g} min")
    plans = Counter()
    for p in proxies + fleet.proxies():
        plans.update(p.counts)
    print(f"tally: {dict(sorted(load.tally.items()))}")
    print(f"plans: {dict(sorted(plans.items()))}; chat users {len(load.users)}, fleet users {len(fleet.users)};"
          f" messages and uploads checked"
          f" {failures.checked}")
    print(f"RSS echo-server {samples[0]['rss_kb']} -> {samples[-1]['rss_kb']} KB (max {max(s['rss_kb'] for s in samples)}),"
          f" upload-server {samples[0]['upload_rss_kb']} -> {samples[-1]['upload_rss_kb']} KB"
          f" (max {max(s['upload_rss_kb'] for s in samples)}); samples in {out}/samples.jsonl")
    if failures.items:
        print(f"soak FAILED ({len(failures.items)} failures; replay with --seed {args.seed}):")
        for item in failures.items[:30]:
            print("  " + item)
        return 1
    print("soak passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
