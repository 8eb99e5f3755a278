"""The soak's servers: echo-server (http and https listeners, GET /stats) and
upload-server, each started from MEERKAT_BIN under MEERKAT_RUNNER (qemu-user for ARM
boards), with what the soak samples of them (/proc: RSS and descriptors; under
qemu-user, qemu's process)."""
import http.client
import os
import re
import shlex
import shutil
import subprocess
import threading

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.abspath(os.environ.get("MEERKAT_BIN", os.path.join(ROOT, "build", "host", "bin")))
RUNNER = shlex.split(os.environ.get("MEERKAT_RUNNER", ""))
BOARD = os.environ.get("MEERKAT_BOARD", "host")
SLOW = 4.0 if RUNNER else 1.0
TIMEOUT = 15 * SLOW   # a client's patience: the longest stall is 2 s


def make_certs(d):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    key, crt = os.path.join(d, "server.key"), os.path.join(d, "server.crt")
    subprocess.run(["openssl", "req", "-x509", *ec, "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return crt, key


class App:
    """One app, started, its ports read from its "listening on" lines, its output kept
    in OUT/NAME.log (NAME: the app's, unless given)."""

    def __init__(self, app, args, listeners, out, name=None):
        self.app = name or app
        self.log = open(os.path.join(out, f"{self.app}.log"), "w")
        cmd = RUNNER + [os.path.join(BIN, app), *args, "--log-level", os.environ.get("SOAK_LOG_LEVEL", "info")]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.ports = []
        while len(self.ports) < listeners:
            line = self.proc.stdout.readline().decode(errors="replace")
            if not line:
                raise RuntimeError(f"{app} exited before listening ({self.proc.poll()})")
            m = re.match(r"listening on \S+:(\d+)", line)
            if m:
                self.ports.append(int(m.group(1)))
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stdout:
            self.log.write(line.decode(errors="replace"))

    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))

    def fds(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


class EchoServer(App):
    def __init__(self, out):
        crt, key = make_certs(out)
        super().__init__("echo-server", ["--listen", "http://127.0.0.1:0", "--listen", "https://127.0.0.1:0",
                                         "--cert", crt, "--key", key], 2, out)

    def stats(self):
        c = http.client.HTTPConnection("127.0.0.1", self.ports[0], timeout=TIMEOUT)
        try:
            c.request("GET", "/stats")
            return parse_stats(c.getresponse().read().decode())
        finally:
            c.close()


class UploadServer(App):
    """upload-server storing into OUT/uploads."""

    def __init__(self, out):
        self.dir = os.path.join(out, "uploads")
        shutil.rmtree(self.dir, ignore_errors=True)   # an earlier run's, in the same OUT
        os.makedirs(self.dir)
        super().__init__("upload-server", ["--listen", "http://127.0.0.1:0", "--dir", self.dir], 1, out)


def parse_stats(text):
    """The pools' figures from echo-server's /stats line, as numbers."""
    out = {}
    for name, key in (("recv", "recv"), ("send", "send"), ("tls pairs", "pairs")):
        m = re.search(rf"{name} (\d+)/(\d+) lowest (\d+)", text)
        if m:
            out[f"{key}_free"], out[f"{key}_total"], out[f"{key}_lowest"] = map(int, m.groups())
    for name in ("evictions", "connections", "parks", "unparks", "handshakes"):
        m = re.search(rf"{name} (\d+)", text)
        if m:
            out[name] = int(m.group(1))
    return out



def read_response(s, data):
    """One HTTP/1.1 answer with a Content-Length from `s`: (status, body, bytes left over)."""
    while b"\r\n\r\n" not in data:
        more = s.recv(65536)
        if not more:
            raise OSError(f"closed after {len(data)} bytes of a head")
        data += more
    head, _, data = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
    length = int(m.group(1)) if m else 0
    while len(data) < length:
        more = s.recv(65536)
        if not more:
            raise OSError(f"closed after {len(data)} of {length} body bytes")
        data += more
    return status, data[:length], data[length:]

