"""Boards on a real ARM kernel (issue 28): the board's bundle booted on Debian's kernel in
qemu-system with the board's RAM (make board-vm), and host-side clients talking to it
through qemu's forwarded loopback ports. MEERKAT_BOARD picks the board (make board-test
runs this file once per ARM board); the VM boots once for the module.

The guest runs three of the bundle's units, installed as INSTALL.txt says: chat-server,
echo-server and device-app. What a board's owner would add to them goes in systemd
drop-ins (UNIT.service.d/board-test.conf, carried in with BOARD_VM_OVERLAY), the units
themselves untouched: an https listener with a certificate made here for chat-server and
echo-server, chat-server's bridge to a mosquitto on the host (the guest reaches the host's
loopback as 10.0.2.2 in qemu's user network), device-app's --password-file.

The whole file takes about a minute a board (make board-test prints each test's seconds),
inside make test's budget for the boards, so nothing here is set apart as long."""
import json
import os
import re
import socket
import ssl
import subprocess
import tarfile
import time
import urllib.request

import pytest
import websocket

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BOARD = os.environ.get("MEERKAT_BOARD", "rpi3-armhf")
VM = os.path.join(ROOT, "build", BOARD, "vm")
# The guest is a full ARM system emulated on a shared machine: waits are generous.
TIMEOUT = 30
UNITS = ("meerkat-chat-server", "meerkat-echo-server", "meerkat-device-app")
# Guest ports beyond chat-server's 8000, each forwarded from a loopback port (port-P):
# device-app, echo-server, and the https listeners the drop-ins add.
DEVICE, ECHO, CHAT_TLS, ECHO_TLS = 8001, 8002, 8443, 8445
PASSWORD = "owner-pass-1234"
ROOM = "vm"
FIGURES = {}     # boot to serving, RSS, MemAvailable, reboot to serving
DURATIONS = {}   # each test's seconds


def read(name):
    with open(os.path.join(VM, name)) as f:
        return f.read().strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    """mosquitto on a loopback port, anonymous, for chat-server's bridge in the guest."""
    d = tmp_path_factory.mktemp("mosquitto")
    port = free_port()
    conf = d / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    proc = subprocess.Popen(["/usr/sbin/mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + TIMEOUT
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None and time.time() < deadline, "mosquitto did not start"
            time.sleep(0.1)
    yield port
    proc.kill()
    proc.wait()


def password_record(password, iterations=1000):
    """device-app's PBKDF2 record for --password-file, with few iterations: logins under
    emulation stay quick (the record carries its count)."""
    import base64
    import hashlib
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations, 32)
    return f"pbkdf2-sha256${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}\n"


def bundle_exec_start(unit):
    """ExecStart of `unit` in the board's bundle, as make bundle wrote it."""
    tars = [f for f in os.listdir(os.path.join(ROOT, "build", BOARD))
            if f.startswith("meerkat-") and f.endswith(f"-{BOARD}.tar.gz")]
    assert len(tars) == 1, tars
    with tarfile.open(os.path.join(ROOT, "build", BOARD, tars[0])) as t:
        name = next(n for n in t.getnames() if n.endswith(f"/systemd/{unit}.service"))
        text = t.extractfile(name).read().decode()
    return re.search(r"^ExecStart=(.*)$", text, re.M).group(1)


def overlay(d, broker_port):
    """The files a board's owner adds: a certificate and key, a password record, and a
    drop-in per unit that keeps the bundle's ExecStart and adds to it."""
    etc = d / "etc" / "meerkat"
    etc.mkdir(parents=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(etc / "server.key"), "-out", str(etc / "server.crt"), "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    (etc / "device-app.password").write_text(password_record(PASSWORD))
    tls = "--cert /etc/meerkat/server.crt --key /etc/meerkat/server.key"
    extra = {
        "meerkat-chat-server": f"--listen https://0.0.0.0:{CHAT_TLS} {tls} "
                               f"--mqtt mqtt://10.0.2.2:{broker_port} --room {ROOM} --board {BOARD}",
        "meerkat-echo-server": f"--listen https://0.0.0.0:{ECHO_TLS} {tls}",
        # --sntp none: tests reach loopback only (the guest has no resolver for pool.ntp.org
        # either: no resolv.conf in the initramfs).
        "meerkat-device-app": "--password-file /etc/meerkat/device-app.password --sntp none",
    }
    for unit, more in extra.items():
        drop = d / "etc" / "systemd" / "system" / f"{unit}.service.d"
        drop.mkdir(parents=True)
        (drop / "board-test.conf").write_text(f"[Service]\nExecStart=\nExecStart={bundle_exec_start(unit)} {more}\n")
    return str(etc / "server.crt")


@pytest.fixture(scope="module")
def vm(broker, tmp_path_factory):
    subprocess.run(["make", "-s", "bundle", f"BOARD={BOARD}"], cwd=ROOT, check=True, timeout=3600,
                   stdout=subprocess.DEVNULL)
    d = tmp_path_factory.mktemp("overlay")
    cert = overlay(d, broker)
    env = dict(os.environ, BOARD_VM_OVERLAY=str(d), BOARD_VM_FORWARD=f"{DEVICE} {ECHO} {CHAT_TLS} {ECHO_TLS}")
    subprocess.run(["make", "-s", "board-vm", f"BOARD={BOARD}", f"UNIT={' '.join(UNITS)}"], cwd=ROOT, check=True,
                   timeout=600, env=env)
    try:
        ports = {p: int(read(f"port-{p}")) for p in (DEVICE, ECHO, CHAT_TLS, ECHO_TLS)}
        # make board-vm waits for the first unit; the others may still be starting.
        deadline = time.time() + TIMEOUT
        while any(http_code(f"http://127.0.0.1:{ports[p]}/") == "000" for p in (DEVICE, ECHO)):
            assert time.time() < deadline, "device-app and echo-server not serving"
            time.sleep(0.5)
        yield {"url": read("url"), "probe": read("probe-url"), "boot_seconds": float(read("boot-seconds")),
               "ports": ports, "cert": cert, "broker": broker}
    finally:
        subprocess.run(["make", "-s", "board-vm-stop", f"BOARD={BOARD}"], cwd=ROOT, check=True, timeout=60)
        # make board-test prints this file after the board's run (board-vm keeps it).
        with open(os.path.join(VM, "figures"), "w") as f:
            f.write(f"{BOARD} ({time.strftime('%Y-%m-%d %H:%M')}): "
                    + ", ".join(f"{k} {v}" for k, v in FIGURES.items()) + "\n")
            f.write(f"{BOARD} test seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in DURATIONS.items()) + "\n")


@pytest.fixture(autouse=True)
def timed(request):
    """Each test's duration, for make board-test's figures."""
    start = time.time()
    yield
    DURATIONS[request.node.name.removeprefix("test_")] = time.time() - start


def test_http_keep_alive_through_the_forwarded_port(vm):
    """Four requests in one curl: one TCP connection, reused for the three after it."""
    urls = [f"{vm['url']}/"] * 4
    out = subprocess.run(["curl", "-sv", "--max-time", str(TIMEOUT), "-w", "%{http_code} %{num_connects}\n"]
                         + sum((["-o", "/dev/null", u] for u in urls), []),
                         capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:4] == ["200 1", "200 0", "200 0", "200 0"], out.stdout
    assert out.stderr.count("Re-using existing connection") == 3, out.stderr


def join(vm, tls=False):
    """A user in chat-server's room, over ws (guest port 8000) or wss (the drop-in's 8443,
    its certificate checked against the one made for the guest)."""
    if tls:
        return websocket.create_connection(f"wss://127.0.0.1:{vm['ports'][CHAT_TLS]}/ws", timeout=TIMEOUT,
                                           sslopt={"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": vm["cert"]})
    return websocket.create_connection(vm["url"].replace("http://", "ws://") + "/ws", timeout=TIMEOUT)


def recv(ws):
    return json.loads(ws.recv())


@pytest.mark.parametrize("tls", [False, True], ids=["ws", "wss"])
def test_the_guides_chat_between_two_users(vm, tls):
    a = join(vm, tls)
    assert recv(a) == {"type": "join", "username": "User1", "count": 1}
    b = join(vm, tls)
    assert recv(a) == recv(b) == {"type": "join", "username": "User2", "count": 2}
    a.send(json.dumps({"type": "message", "text": "hello from a"}))
    b.send(json.dumps({"type": "message", "text": "hello from b"}))
    # Two connections through qemu's forwarder: either message may reach the room first,
    # but both users hear both, in the one order the room broadcast them.
    heard = [[(m["username"], m["text"]) for m in (recv(ws), recv(ws))] for ws in (a, b)]
    assert sorted(heard[0]) == [("User1", "hello from a"), ("User2", "hello from b")]
    assert heard[0] == heard[1]
    a.close()
    assert recv(b) == {"type": "leave", "username": "User1", "count": 1}
    b.close()


@pytest.mark.parametrize("tls", [False, True], ids=["ws", "wss"])
def test_the_guides_echo(vm, tls):
    """echo-server's /ws, as the guide's page uses it: "Hello!" comes back as "Echo: Hello!";
    over wss through the drop-in's https listener, the certificate checked."""
    if tls:
        ws = websocket.create_connection(f"wss://127.0.0.1:{vm['ports'][ECHO_TLS]}/ws", timeout=TIMEOUT,
                                         sslopt={"cert_reqs": ssl.CERT_REQUIRED, "ca_certs": vm["cert"]})
    else:
        ws = websocket.create_connection(f"ws://127.0.0.1:{vm['ports'][ECHO]}/ws", timeout=TIMEOUT)
    for text in ("Hello!", "x" * 3000):
        ws.send(text)
        assert ws.recv() == f"Echo: {text}"
    ws.close()


def mosquitto_sub(vm, topic, count):
    """mosquitto_sub on the host, started: its output once `count` messages came."""
    return subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(vm["broker"]), "-V", "mqttv311",
                             "-t", topic, "-C", str(count), "-W", str(TIMEOUT)], stdout=subprocess.PIPE, text=True)


def test_the_chat_bridged_to_mosquitto_on_the_host(vm):
    """chat-server in the guest reaches the host's mosquitto through 10.0.2.2: a message
    said in the VM's room reaches a subscriber on the host, and an event published on the
    host (another board of the fleet) reaches the VM's user."""
    events = f"meerkat/chat/{ROOM}/events"
    # The bridge is up once its retained user count is on the broker.
    count = mosquitto_sub(vm, f"meerkat/chat/{ROOM}/count/{BOARD}", 1)
    assert count.communicate(timeout=TIMEOUT + 5)[0].strip() != "" and count.returncode == 0, "the bridge never came up"
    sub = mosquitto_sub(vm, events, 2)
    time.sleep(1)   # mosquitto_sub subscribed
    a = join(vm)
    assert recv(a)["type"] == "join"
    a.send(json.dumps({"type": "message", "text": "from the board"}))
    assert recv(a)["text"] == "from the board"
    out, _ = sub.communicate(timeout=TIMEOUT + 5)
    heard = [json.loads(line) for line in out.splitlines()]
    assert [(e["type"], e["board"]) for e in heard] == [("join", BOARD), ("message", BOARD)], out
    assert heard[1]["text"] == "from the board"
    event = {"type": "message", "username": "Host", "text": "from the host", "timestamp": 1.5, "board": "host",
             "run": "r1", "seq": 1, "boardCount": 1}
    subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(vm["broker"]), "-V", "mqttv311", "-q", "1",
                    "-t", events, "-m", json.dumps(event)], check=True)
    assert recv(a) == {"type": "message", "username": "Host", "text": "from the host", "timestamp": 1.5,
                       "board": "host"}
    a.close()


def guest_status(vm):
    with urllib.request.urlopen(vm["probe"], timeout=TIMEOUT) as r:
        return r.read().decode()


def unit_status(status, unit):
    """The status page's lines for one unit: {"Pid": …, "VmRSS": kB, "VmHWM": kB}."""
    block = re.search(rf"^Unit: {unit}\n((?:(?!Unit:).*\n)*)", status, re.M)
    assert block, status
    return {k: int(v) for k, v in re.findall(r"^(\w+):\s+(\d+)", block.group(1), re.M)}


def test_the_firmware_rss_inside_the_guest(vm):
    """The guest's own numbers, from its status page (busybox httpd, /proc/<pid>/status and
    /proc/meminfo), after the tests above."""
    status = guest_status(vm)
    mem = {k: int(v) for k, v in re.findall(r"^(Mem\w+):\s+(\d+) kB$", status, re.M)}
    FIGURES["boot to serving"] = f"{vm['boot_seconds']} s"
    for unit in UNITS:
        u = unit_status(status, unit)
        # An app with the board's limits (chat-server with TLS and its bridge): a few MB.
        assert 500 < u["VmRSS"] < 8 * 1024, status
        FIGURES[f"{unit.removeprefix('meerkat-')} VmRSS"] = f"{u['VmRSS']} kB (VmHWM {u['VmHWM']} kB)"
    assert mem["MemAvailable"] > 8 * 1024, status
    FIGURES["MemTotal"] = f"{mem['MemTotal']} kB"
    FIGURES["MemAvailable"] = f"{mem['MemAvailable']} kB"


def device_api(vm, path, cookie=None, body=None):
    """device-app's /api/* through its forwarded port: (status, JSON or text, headers)."""
    base = f"http://127.0.0.1:{vm['ports'][DEVICE]}"
    req = urllib.request.Request(base + path, data=None if body is None else json.dumps(body).encode())
    if body is not None:
        req.add_header("Content-Type", "application/json")
        req.add_header("Origin", base)
    if cookie:
        req.add_header("Cookie", cookie)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as r:
            return r.status, json.loads(r.read() or b"null"), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers


def device_login(vm):
    status, _, headers = device_api(vm, "/api/login", body={"password": PASSWORD})
    assert status == 200
    return headers["Set-Cookie"].split(";")[0]


def test_the_dashboard_in_chromium(vm):
    """device-app's dashboard in headless Chromium through the forwarded port: the login
    page, the live charts fed over the WebSocket from the guest, a setting saved."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,1000"):
        options.add_argument(arg)
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    base = f"http://127.0.0.1:{vm['ports'][DEVICE]}"

    def wait_for(check, timeout=TIMEOUT):
        deadline = time.time() + timeout
        while not check():
            assert time.time() < deadline
            time.sleep(0.2)
    try:
        d.get(base + "/")
        wait_for(lambda: d.current_url.endswith("/login.html"))
        d.find_element("id", "f-password").send_keys(PASSWORD)
        d.find_element("css selector", "#login button").click()
        wait_for(lambda: not d.current_url.endswith("/login.html"))
        # A sample a second over /ws/live: the guest's own CPU and memory.
        wait_for(lambda: int(d.execute_script("return document.body.dataset.samples || 0")) >= 3)
        assert d.execute_script("return document.getElementById('link').textContent") == "live"
        wait_for(lambda: d.execute_script("return document.getElementById('f-name').value") != "")
        name = d.find_element("id", "f-name")
        name.clear()
        name.send_keys("Greenhouse")
        d.find_element("css selector", "#settings button").click()
        wait_for(lambda: "Saved: Greenhouse" in d.find_element("id", "settings-result").text)
    finally:
        d.quit()
    assert device_api(vm, "/api/settings", device_login(vm))[1]["name"] == "Greenhouse"


def test_a_crashed_service_is_restarted_as_its_unit_says(vm):
    """SIGKILL in the guest (a crash): each unit's Restart=on-failure and RestartSec=2 bring
    its app back, a new process, serving again through the same port."""
    old = {unit: unit_status(guest_status(vm), unit)["Pid"] for unit in UNITS}
    with urllib.request.urlopen(vm["probe"].replace("/status", "/kill"), timeout=TIMEOUT) as r:
        assert f"killed meerkat-chat-server {old['meerkat-chat-server']}" in r.read().decode()
    urls = [f"{vm['url']}/"] + [f"http://127.0.0.1:{vm['ports'][p]}/" for p in (DEVICE, ECHO)]
    deadline = time.time() + 2 + TIMEOUT
    while True:
        status = guest_status(vm)
        new = {unit: unit_status(status, unit)["Pid"] for unit in UNITS}
        codes = [http_code(url) for url in urls]
        if all(new[u] != old[u] for u in UNITS) and "000" not in codes:
            break
        assert time.time() < deadline, f"not restarted: pids {old} -> {new}, HTTP {codes}"
        time.sleep(0.5)
    for unit in UNITS:
        assert f"{unit} exited with status 137" in console()


def http_code(url):
    """curl's status code for `url`: "000" while nothing answers."""
    return subprocess.run(["curl", "-s", "-o", "/dev/null", "-m", "5", "-w", "%{http_code}", url],
                          capture_output=True, text=True).stdout


def console():
    with open(os.path.join(VM, "console.log"), errors="replace") as f:
        return f.read()


def test_a_reboot_brings_the_services_back_with_their_state(vm):
    """The guest rebooted as a board is (busybox reboot: /init stops the services and
    unmounts the state disk, the kernel restarts the machine): every unit comes back by
    itself, device-app's settings on the state disk are still there, chat-server's room
    starts empty (it keeps none)."""
    cookie = device_login(vm)
    status, saved, _ = device_api(vm, "/api/settings", cookie, {"name": "Survivor", "interval": 7})
    assert (status, saved) == (200, {"name": "Survivor", "interval": 7})
    boots = console().count("board-vm: up")
    start = time.time()
    with urllib.request.urlopen(vm["probe"].replace("/status", "/reboot"), timeout=TIMEOUT) as r:
        assert "rebooting" in r.read().decode()
    deadline = start + 120
    while console().count("board-vm: up") == boots:
        assert time.time() < deadline, "the guest never rebooted"
        time.sleep(0.5)
    assert "board-vm: state disk unmounted" in console()
    while http_code(f"{vm['url']}/") != "200":
        assert time.time() < deadline, "chat-server not serving after the reboot"
        time.sleep(0.5)
    FIGURES["reboot to serving"] = f"{time.time() - start:.1f} s"
    while http_code(f"http://127.0.0.1:{vm['ports'][DEVICE]}/api/settings") != "401":
        assert time.time() < deadline, "device-app not serving after the reboot"
        time.sleep(0.5)
    status = guest_status(vm)
    for unit in UNITS:
        unit_status(status, unit)
    assert device_api(vm, "/api/settings", device_login(vm))[1] == {"name": "Survivor", "interval": 7}
    a = join(vm, tls=True)
    assert recv(a) == {"type": "join", "username": "User1", "count": 1}
    a.close()
