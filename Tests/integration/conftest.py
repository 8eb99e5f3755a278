"""Starts the firmware apps (build/<board>/bin, under qemu-user for ARM boards) for the
integration suite. Environment: MEERKAT_BIN (folder of the binaries), MEERKAT_RUNNER
(e.g. "qemu-aarch64 -L /usr/aarch64-linux-gnu"), MEERKAT_BOARD."""
import base64
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.abspath(os.environ.get("MEERKAT_BIN", os.path.join(ROOT, "build", "host", "bin")))
RUNNER = shlex.split(os.environ.get("MEERKAT_RUNNER", ""))
BOARD = os.environ.get("MEERKAT_BOARD", "host")
# Under qemu-user everything runs several times slower; timeouts in tests scale by this.
SLOW = 4.0 if RUNNER else 1.0
# Meerkat's version, from its one source (as the Makefile reads it).
VERSION = subprocess.run(["bash", os.path.join(ROOT, "scripts", "version.sh")],
                         capture_output=True, text=True, check=True).stdout.strip()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "timing: bounds a wall-clock wait by a figure not scaled by SLOW (a fresh client served "
        "within 2 s under attack, an owner's login within 1 s under guessing); make integration-all runs "
        "these alone, board after board, once the boards' other tests have run side by side")


class Server:
    """One running app: its process, and the ports it printed ("listening on URL")."""

    def __init__(self, app, *args, env=None):
        self.app = app
        if os.path.basename(app) == "device-app" and "--sntp" not in args:
            args += ("--sntp", "none")  # tests reach 127.0.0.1 only, never pool.ntp.org
        cmd = RUNNER + [os.path.join(BIN, app)] + list(args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})})
        self.urls = []
        wanted = max(1, sum(1 for a in args if a == "--listen"))
        deadline = time.time() + 30
        while len(self.urls) < wanted:
            line = self.proc.stdout.readline().decode(errors="replace")
            if not line:
                raise RuntimeError(f"{app} exited before listening (code {self.proc.poll()})")
            m = re.match(r"listening on (\S+)", line)
            if m:
                self.urls.append(m.group(1))
            if time.time() > deadline:
                raise RuntimeError(f"{app} did not print 'listening on'")

    def port(self, i=0):
        return int(self.urls[i].rsplit(":", 1)[1])

    @property
    def host(self):
        return "127.0.0.1"

    def connect(self, i=0, timeout=10):
        url = self.urls[i]
        if "[" in url:
            s = socket.create_connection(("::1", self.port(i)), timeout=timeout * SLOW)
        else:
            s = socket.create_connection(("127.0.0.1", self.port(i)), timeout=timeout * SLOW)
        return s

    def alive(self):
        return self.proc.poll() is None

    def open_fds(self):
        """Descriptors the server process holds (the qemu process for ARM boards)."""
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def settled_fds(self):
        """open_fds once it has stopped changing (closes finish in the background)."""
        deadline = time.time() + 10 * SLOW
        n = self.open_fds()
        while time.time() < deadline:
            time.sleep(0.2)
            m = self.open_fds()
            if m == n:
                return m
            n = m
        return n

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


@pytest.fixture
def start_server():
    started = []

    def start(app="echo-server", *args, env=None):
        if not any(a == "--listen" for a in args):
            args = ("--listen", "http://127.0.0.1:0") + tuple(args)
        s = Server(app, *args, env=env)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


@pytest.fixture(scope="module", params=["epoll", "poll"])
def echo(request):
    """A shared echo-server on 127.0.0.1 and [::1]; every test using it runs against
    the epoll backend and the poll(2) fallback."""
    extra = ("--poll",) if request.param == "poll" else ()
    s = Server("echo-server", "--listen", "http://127.0.0.1:0", "--listen", "http://[::1]:0", *extra)
    yield s
    assert s.alive(), "echo-server died during the module"
    s.stop()


class RawClient:
    """A raw socket that keeps unread bytes between responses (for pipelining)."""

    def __init__(self, sock):
        self.sock = sock
        self.pending = b""

    def send(self, data):
        self.sock.sendall(data)

    def response(self, timeout=10, head_only=False):
        self.sock.settimeout(timeout * SLOW)
        while b"\r\n\r\n" not in self.pending:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.pending += chunk
        head, rest = self.pending.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        length = 0 if head_only else int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        self.pending = rest[length:]
        return status, headers, rest[:length]

    def closed_by_peer(self, timeout=10):
        """True when the server closes the connection (EOF or reset) within timeout."""
        self.sock.settimeout(timeout * SLOW)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def final_response(self, request, status):
        """Sends `request`; the answer must be `status` with `Connection: close`, and
        the server must then close the connection. Returns the response."""
        try:
            self.send(request)
        except (BrokenPipeError, ConnectionResetError):
            pass   # the server may answer and close before it has read everything
        resp = self.response()
        assert resp is not None, "no answer before close"
        assert resp[0] == status
        assert resp[1].get("connection") == "close"
        assert self.closed_by_peer()
        return resp

    def close(self):
        self.sock.close()


def board_profile(board=BOARD):
    """The board's profile values (boards/<board>.mk), e.g. BOARD_RECV_BUFFERS."""
    values = {}
    with open(os.path.join(ROOT, "boards", f"{board}.mk")) as f:
        for line in f:
            m = re.match(r"(BOARD_\w+)\s*:=\s*(.*)", line)
            if m:
                values[m.group(1)] = m.group(2).strip()
    return values


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def read_to_eof(sock):
    """Everything the peer sends until it closes."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def malloc_counter(proc, report):
    """For a process started under our LD_PRELOAD allocation counter (host only) with
    MALLOCCOUNT_FILE=`report`: a function that reads its allocation count so far."""
    def count():
        report.unlink(missing_ok=True)
        proc.send_signal(signal.SIGUSR2)
        for _ in range(100):
            if report.exists() and report.read_text().endswith("\n"):
                return int(report.read_text().split()[1])
            time.sleep(0.02)
        raise AssertionError("no report from the malloc counter")
    return count


def line_roundtrip(proc):
    """For a line tool (stdin and stdout pipes): a function that writes lines and reads
    as many lines back."""
    def roundtrip(lines):
        proc.stdin.write(b"".join(line + b"\n" for line in lines))
        proc.stdin.flush()
        return [proc.stdout.readline().rstrip(b"\n") for _ in lines]
    return roundtrip


def start_counted(start_server, tmp_path, *args, app="echo-server"):
    """`app` (with `args`) under our LD_PRELOAD allocation counter (host only); returns
    the server and a function that reads the process's allocation count so far."""
    report = tmp_path / "count"
    so = os.path.join(ROOT, "build", "malloccount.so")
    s = start_server(app, *args, env={"LD_PRELOAD": so, "MALLOCCOUNT_FILE": str(report)})
    return s, malloc_counter(s.proc, report)


@pytest.fixture
def counted_server(start_server, tmp_path):
    """echo-server on plain HTTP under the allocation counter: (server, count)."""
    return start_counted(start_server, tmp_path)


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    """A test CA, and a server certificate it signed for localhost, 127.0.0.1 and ::1."""
    d = tmp_path_factory.mktemp("certs")
    p = {name: str(d / name) for name in ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt", "ext.cnf",
                                        "other.key", "other.crt")}
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", p["ca.key"], "-out", p["ca.crt"], "-days", "2", "-subj", "/CN=Meerkat test CA")
    openssl("req", *ec, "-keyout", p["server.key"], "-out", p["server.csr"], "-subj", "/CN=localhost")
    with open(p["ext.cnf"], "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=CA:FALSE\n")
    openssl("x509", "-req", "-in", p["server.csr"], "-CA", p["ca.crt"], "-CAkey", p["ca.key"], "-CAcreateserial",
            "-out", p["server.crt"], "-days", "2", "-extfile", p["ext.cnf"])
    # A self-signed certificate of another key: a mismatched --key for the start-up test.
    openssl("req", "-x509", *ec, "-keyout", p["other.key"], "-out", p["other.crt"], "-days", "2", "-subj", "/CN=other")
    # What Chromium's --ignore-certificate-errors-spki-list takes: base64(SHA-256(SPKI)).
    spki = subprocess.run(f"openssl x509 -in {p['server.crt']} -pubkey -noout | openssl pkey -pubin -outform der"
                          " | openssl dgst -sha256 -binary | base64", shell=True, check=True, capture_output=True)
    p["spki"] = spki.stdout.decode().strip()
    return p


# device-app is locked (issue 24): its tests provision the admin password and log in.
DEVICE_PASSWORD = "owner-pass-1234"


def device_record(password=DEVICE_PASSWORD, iterations=1000):
    """A PasswordRecord line for `password`, made here (hashlib), with few iterations so
    that a test's logins are quick on every board (the record carries its count)."""
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations, 32)
    return f"pbkdf2-sha256${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}\n"


def device_login(server, password=DEVICE_PASSWORD):
    """POST /api/login as the dashboard's login page does: the `session=…` cookie."""
    c = RawClient(server.connect())
    body = json.dumps({"password": password}).encode()
    c.send(b"POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    status, headers, answer = c.response()
    c.sock.close()
    assert status == 200, answer
    return headers["set-cookie"].split(";")[0]


def start_device(start_server, *args, app="device-app", env=None):
    """device-app provisioned (--password-file with a record) in its own --dir (a new
    folder unless given), logged in: `server.cookie` is `session=…`, `server.origin` its
    own origin (what the dashboard's writes carry)."""
    args = list(args)
    if "--dir" not in args:
        import tempfile
        args += ["--dir", tempfile.mkdtemp(prefix="device-")]
    folder = args[args.index("--dir") + 1]
    record = os.path.join(folder, "provisioned")
    with open(record, "w") as f:
        f.write(device_record())
    s = start_server(app, "--password-file", record, *args, env=env)
    s.cookie = device_login(s)
    s.origin = f"http://127.0.0.1:{s.port()}"
    return s


# SNTP (test_sntp.py, test_time.py): chrony, a real NTP server, on 127.0.0.1.
def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def chrony(tmp_path):
    """chronyd serving NTP on 127.0.0.1 from its local clock (stratum 8); its port."""
    chronyd = shutil.which("chronyd") or "/usr/sbin/chronyd"
    assert os.path.exists(chronyd), "chrony is missing (make deps installs it)"
    port = free_udp_port()
    conf = tmp_path / "chrony.conf"
    conf.write_text(f"port {port}\nbindaddress 127.0.0.1\nallow 127.0.0.1\nlocal stratum 8\ncmdport 0\n"
                    f"pidfile {tmp_path}/chronyd.pid\ndriftfile {tmp_path}/drift\n")
    proc = subprocess.Popen([chronyd, "-d", "-x", "-f", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # Up when it answers a request of its own kind.
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.settimeout(0.2)
    for _ in range(50):
        probe.sendto(bytes([0x23]) + bytes(47), ("127.0.0.1", port))
        try:
            probe.recvfrom(100)
            break
        except OSError:
            time.sleep(0.1)
    probe.close()
    yield port
    proc.terminate()
    proc.wait(timeout=10)
