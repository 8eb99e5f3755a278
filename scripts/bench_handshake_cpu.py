"""make bench, TLS full handshakes: server CPU time per full handshake, Meerkat's
echo-server against Debian's nginx with the same certificate, and the levers tried on
Meerkat's side (issue 25 item 2). Each server is pinned to core 0 and `openssl s_time
-new` (PARALLEL clients at once, TLS 1.2) to core 1; the server's CPU time is read from
/proc/PID/stat (utime + stime) before and after and divided by the handshakes the
clients completed. Runs alternate between the configurations, ROUNDS times; the median
is kept. Printed as a Markdown table in microseconds per handshake.

The client chooses what it offers (OPENSSL_CONF sets its groups, -cipher its suites);
the server's certificate is P-256 ECDSA unless the row says RSA. A row with an
environment (GLIBC_TUNABLES) runs the same binary with it. MEERKAT_BIN and
MEERKAT_RUNNER measure another build (the runner's CPU time then counts: qemu)."""
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from bench_tls import make_cert, sh, wait_port  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BIN = os.environ.get("MEERKAT_BIN", f"{ROOT}/build/host/bin")
RUNNER = shlex.split(os.environ.get("MEERKAT_RUNNER", ""))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
SECONDS = int(os.environ.get("SECONDS_PER_RUN", "5"))
PARALLEL = int(os.environ.get("PARALLEL", "2"))
TICK = os.sysconf("SC_CLK_TCK")
ECDSA_CHACHA = "ECDHE-ECDSA-CHACHA20-POLY1305"


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])   # utime, stime (fields 14 and 15)


def client_conf(d, groups):
    """An OpenSSL config whose clients offer only `groups` (s_time has no -groups)."""
    path = f"{d}/client-{groups.replace(':', '-')}.cnf"
    with open(path, "w") as f:
        f.write("openssl_conf = conf\n[conf]\nssl_conf = ssl\n[ssl]\nsystem_default = sys\n"
                f"[sys]\nGroups = {groups}\n")
    return path


def full_handshakes(pid, port, groups_conf, cipher):
    """µs of server CPU per full handshake, and the handshakes made."""
    env = dict(os.environ, OPENSSL_CONF=groups_conf)
    before = cpu_ticks(pid)
    procs = [subprocess.Popen(["taskset", "-c", "1", "openssl", "s_time", "-connect", f"127.0.0.1:{port}", "-new",
                               "-time", str(SECONDS), "-cipher", cipher, "-tls1_2"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) for _ in range(PARALLEL)]
    total = 0
    for p in procs:
        m = re.search(r"(\d+) connections in [\d.]+s;", p.communicate()[0])
        total += int(m.group(1)) if m else 0
    time.sleep(0.2)   # the server finishes the last closes
    used = cpu_ticks(pid) - before
    return (used * 1e6 / TICK / total if total else float("nan")), total


class Server:
    def __init__(self, name, port, argv, env=None, worker=False):
        self.name, self.port = name, port
        self.proc = subprocess.Popen(["taskset", "-c", "0", *argv], env=dict(os.environ, **(env or {})),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(port)
        # nginx: the worker (the master's only child) does the handshakes.
        self.pid = int(sh("pgrep", "-P", str(self.proc.pid)).split()[0]) if worker else self.proc.pid

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def meerkat(port, d, cert, env=None, binary=None):
    argv = [*RUNNER, binary or f"{BIN}/echo-server", "--listen", f"https://127.0.0.1:{port}",
            "--cert", f"{d}/{cert}.crt", "--key", f"{d}/{cert}.key"]
    return Server("Meerkat", port, argv, env)


def nginx(port, d, cert, curves):
    conf = f"""user {os.popen('id -un').read().strip()};
worker_processes 1;
daemon off;
pid {d}/nginx-{port}.pid;
error_log {d}/nginx-{port}-error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {d}/{cert}.crt;
        ssl_certificate_key {d}/{cert}.key;
        ssl_protocols TLSv1.2;
        ssl_ecdh_curve {curves};
        ssl_session_cache off;
        ssl_session_tickets on;
        location / {{ return 200 "ok"; }}
    }}
}}
"""
    with open(f"{d}/nginx-{port}.conf", "w") as f:
        f.write(conf)
    return Server("nginx", port, ["nginx", "-c", f"{d}/nginx-{port}.conf"], worker=True)


def s_client_handshakes(port, count, groups):
    """`count` full handshakes, one `openssl s_client` each (the load under callgrind)."""
    for _ in range(count):
        subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_2", "-groups", groups,
                        "-cipher", ECDSA_CHACHA], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)


def instructions_per_handshake(d, argv, port, groups, counts=(1, 11)):
    """User-space instructions per full handshake (callgrind): the difference between
    runs of counts[0] and counts[1] handshakes, so start-up and the first handshake
    (which parses the certificate) drop out. Does not vary from run to run. The two
    profiles stay in d (callgrind.PORT.N) for `profile`."""
    totals = []
    for n in counts:
        out = f"{d}/callgrind.{port}.{n}"
        p = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *argv],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(port)
        s_client_handshakes(port, n, groups)
        time.sleep(0.3)
        p.terminate()
        p.wait()
        with open(out) as f:
            totals.append(int(re.search(r"^(?:summary|totals):\s+(\d+)", f.read(), re.M).group(1)))
    return (totals[1] - totals[0]) / (counts[1] - counts[0])


def per_function(path, inclusive):
    """Instructions by function name in a callgrind profile (self cost, or inclusive)."""
    out = sh("callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}", "--threshold=100", path)
    costs = {}
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) \([^)]*\)\s+(?:\?\?\?|[^:]*):(\S+)", line)
        if m and "PROGRAM" not in line:
            name = m.group(2).split(".")[0]
            costs[name] = costs.get(name, 0) + int(m.group(1).replace(",", ""))
    return costs


def profile(d, port, counts=(1, 11), top=12):
    """Where a full handshake's instructions go: the difference between the two profiles
    `instructions_per_handshake` left, per handshake, as Markdown tables."""
    low, high = (f"{d}/callgrind.{port}.{n}" for n in counts)
    n = counts[1] - counts[0]
    parts = {"mbedtls_ecdsa_write_signature": "ECDSA signature (the certificate's key)",
             "mbedtls_ecdh_make_params": "ECDHE key pair (ServerKeyExchange)",
             "mbedtls_ecdh_calc_secret": "ECDHE shared secret",
             "mbedtls_ssl_derive_keys": "key derivation (PRF)"}
    a, b = per_function(low, True), per_function(high, True)
    total = (sum(per_function(high, False).values()) - sum(per_function(low, False).values())) / n
    print(f"\nWhere the {total:,.0f} instructions of one full handshake go (inclusive):")
    print("| part | instructions | share |\n|---|---|---|")
    for name, what in parts.items():
        cost = (b.get(name, 0) - a.get(name, 0)) / n
        print(f"| {what} (`{name}`) | {cost:,.0f} | {100 * cost / total:.0f} % |")
    a, b = per_function(low, False), per_function(high, False)
    diff = sorted(((b.get(k, 0) - a.get(k, 0)) / n, k) for k in set(a) | set(b))[::-1][:top]
    print("\n| function (self) | instructions | share |\n|---|---|---|")
    for cost, name in diff:
        print(f"| `{name}` | {cost:,.0f} | {100 * cost / total:.1f} % |")


def make_rsa_cert(d):
    sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{d}/rsa.key", "-out", f"{d}/rsa.crt",
       "-days", "2", "-subj", "/CN=localhost")


def main():
    d = tempfile.mkdtemp()
    os.chmod(d, 0o755)
    make_cert(d)   # server.crt / server.key: ECDSA P-256
    make_rsa_cert(d)
    p256, x25519_p256 = client_conf(d, "P-256"), client_conf(d, "X25519:P-256")
    ecdsa_aes = "ECDHE-ECDSA-AES128-GCM-SHA256"
    rsa_chacha = "ECDHE-RSA-CHACHA20-POLY1305"
    big_tcache = {"GLIBC_TUNABLES": "glibc.malloc.tcache_count=1000"}
    no_trim = {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=67108864:glibc.malloc.top_pad=1048576"}
    # (row, make the server, client groups, client suites)
    rows = [
        ("Meerkat, X25519 ECDHE (client X25519:P-256, OpenSSL's default order)", lambda p: meerkat(p, d, "server"),
         x25519_p256, ECDSA_CHACHA),
        ("nginx, X25519 ECDHE", lambda p: nginx(p, d, "server", "X25519:prime256v1"), x25519_p256, ECDSA_CHACHA),
        ("Meerkat, P-256 ECDHE (client P-256 only)", lambda p: meerkat(p, d, "server"), p256, ECDSA_CHACHA),
        ("nginx, P-256 ECDHE", lambda p: nginx(p, d, "server", "prime256v1"), p256, ECDSA_CHACHA),
        ("Meerkat, X25519, AES-128-GCM suite", lambda p: meerkat(p, d, "server"), x25519_p256, ecdsa_aes),
        ("Meerkat, X25519, RSA-2048 certificate", lambda p: meerkat(p, d, "rsa"), x25519_p256, rsa_chacha),
        ("nginx, X25519, RSA-2048 certificate", lambda p: nginx(p, d, "rsa", "X25519:prime256v1"), x25519_p256,
         rsa_chacha),
        ("Meerkat, X25519, glibc tcache 1000 entries a size", lambda p: meerkat(p, d, "server", big_tcache),
         x25519_p256, ECDSA_CHACHA),
        ("Meerkat, X25519, glibc no trim (64 MiB threshold, 1 MiB top pad)",
         lambda p: meerkat(p, d, "server", no_trim), x25519_p256, ECDSA_CHACHA),
    ]
    # Other builds of echo-server, to compare a change: EXTRA_BINS="label=path,..."
    # (the client offers X25519 then P-256, OpenSSL's default order, to them).
    for i, extra in enumerate(e for e in os.environ.get("EXTRA_BINS", "").split(",") if e):
        label, path = extra.split("=", 1)
        rows.insert(4 + i, (f"Meerkat {label}, client X25519:P-256",
                            lambda p, path=path: meerkat(p, d, "server", binary=path), x25519_p256, ECDSA_CHACHA))
    runs = {name: [] for name, *_ in rows}
    counts = {name: 0 for name, *_ in rows}
    for _ in range(ROUNDS):
        for i, (name, start, groups, cipher) in enumerate(rows):   # alternated, one server at a time
            server = start(18460 + i)
            try:
                us, n = full_handshakes(server.pid, server.port, groups, cipher)
            finally:
                server.stop()
            runs[name].append(us)
            counts[name] += n
    base = statistics.median(runs[rows[0][0]])
    model = re.search(r"model name\s*:\s*(.*)", open("/proc/cpuinfo").read()).group(1)
    print(f"machine: {os.cpu_count()} cores, {model}; server on core 0, {PARALLEL} `openssl s_time -new` "
          f"(TLS 1.2) on core 1; median of {ROUNDS} alternated runs of {SECONDS} s")
    print("| server, lever | µs server CPU / full handshake | / first row | handshakes counted |")
    print("|---|---|---|---|")
    for name, *_ in rows:
        m = statistics.median(runs[name])
        print(f"| {name} | {m:.0f} | {m / base:.2f} | {counts[name]} |")
    if RUNNER:   # valgrind runs host binaries only
        return
    builds = [("Meerkat echo-server", f"{BIN}/echo-server", "X25519:P-256"),
              ("Meerkat echo-server", f"{BIN}/echo-server", "P-256")]
    builds += [(f"Meerkat {e.split('=', 1)[0]}", e.split("=", 1)[1], "X25519:P-256")
               for e in os.environ.get("EXTRA_BINS", "").split(",") if e]
    print("\nUser-space instructions per full handshake (callgrind; P-256 ECDSA certificate, "
          "ECDHE-ECDSA-CHACHA20-POLY1305, `openssl s_client` one handshake each):")
    print("| server | client's groups | instructions / full handshake |\n|---|---|---|")
    for i, (name, path, groups) in enumerate(builds):
        port = 18480 + i
        argv = [path, "--listen", f"https://127.0.0.1:{port}", "--cert", f"{d}/server.crt", "--key", f"{d}/server.key"]
        print(f"| {name} | {groups} | {instructions_per_handshake(d, argv, port, groups):,.0f} |")
    nginx(18479, d, "server", "X25519:prime256v1").stop()   # writes the config
    argv = ["nginx", "-g", "master_process off;", "-c", f"{d}/nginx-18479.conf"]
    for groups in ("X25519:P-256", "P-256"):
        print(f"| nginx (OpenSSL 3) | {groups} | {instructions_per_handshake(d, argv, 18479, groups):,.0f} |")
    profile(d, 18480)   # the first build's, X25519


if __name__ == "__main__":
    main()
