"""make bundle for the board under test: the tarball a firmware developer deploys, with
every app in one multi-call binary (bin/meerkat) and a link to it per app."""
import os
import re
import shutil
import subprocess
import tarfile

import pytest

from conftest import BIN, BOARD, ROOT, RUNNER, SLOW, VERSION, Server

ELF_MACHINE = {"host": 0x3E, "rpi4": 0xB7, "rpi3-armhf": 0x28}   # x86-64, AArch64, ARM


def test_bundle_has_binaries_units_and_note():
    subprocess.run(["make", "-s", "bundle", f"BOARD={BOARD}"], cwd=ROOT, check=True, capture_output=True)
    path = os.path.join(ROOT, "build", BOARD, f"meerkat-{VERSION}-{BOARD}.tar.gz")
    with tarfile.open(path) as tar:
        names = tar.getnames()
        top = f"meerkat-{VERSION}-{BOARD}"
        assert f"{top}/INSTALL.txt" in names
        install = tar.extractfile(f"{top}/INSTALL.txt").read().decode()
        assert install.startswith(f"meerkat {VERSION} firmware bundle for board '{BOARD}' (built with Meerkat {VERSION}, git ")
        assert "--password-file PATH" in install     # how device-app ships with its password set
        for name in ("LICENSE", "NOTICE"):   # the licence, and what the binaries link
            assert tar.extractfile(f"{top}/{name}").read() == open(os.path.join(ROOT, name), "rb").read()
        apps = [n.split("/")[-1] for n in names if n.startswith(f"{top}/bin/") and n != f"{top}/bin"]
        ports = []
        assert "echo-server" in apps and "device-app" in apps
        assert "ws-client" in apps and "fetch" in apps and "mqtt-client" in apps
        # One binary holds every app (the multi-call firmware); each app is a link to it.
        assert tar.getmember(f"{top}/bin/meerkat").isfile()
        apps.remove("meerkat")
        for app in apps:
            link = tar.getmember(f"{top}/bin/{app}")
            assert link.issym() and link.linkname == "meerkat", f"bin/{app} is not a link to meerkat"
            elf = tar.extractfile(f"{top}/bin/{app}").read(20)
            assert elf[:4] == b"\x7fELF"
            assert int.from_bytes(elf[18:20], "little") == ELF_MACHINE[BOARD]
            if app in ("ws-client", "fetch", "mqtt-client"):   # client tools: run by hand, no service
                assert f"{top}/systemd/meerkat-{app}.service" not in names
                continue
            unit = tar.extractfile(f"{top}/systemd/meerkat-{app}.service").read().decode()
            assert "Restart=on-failure" in unit
            assert f"ExecStart=/opt/meerkat/bin/{app} " in unit
            # DynamicUser + ProtectSystem=strict: the state folder is all the app can write.
            assert "DynamicUser=yes" in unit and "ProtectSystem=strict" in unit
            assert f"StateDirectory=meerkat-{app}\n" in unit
            # systemd's default soft limit (1,024 descriptors) is below a table of 1,024
            # connections (the host's, or a board's raised --max-connections): past it a
            # new client would wait unanswered, not get its 503.
            assert "LimitNOFILE=65536\n" in unit
            assert f" --dir /var/lib/meerkat-{app}\n" in unit
            ports.append(re.search(r"--listen http://0\.0\.0\.0:(\d+) ", unit)[1])
        # Every service can run at once: each has a port of its own, as INSTALL.txt says.
        assert len(ports) == len(set(ports)) >= 4, ports
        assert "chat-server 8000, device-app 8001" in install


def bundle_dir(tmp_path):
    subprocess.run(["make", "-s", "bundle", f"BOARD={BOARD}"], cwd=ROOT, check=True, capture_output=True)
    with tarfile.open(os.path.join(ROOT, "build", BOARD, f"meerkat-{VERSION}-{BOARD}.tar.gz")) as tar:
        tar.extractall(tmp_path, filter="data")
    return tmp_path / f"meerkat-{VERSION}-{BOARD}"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_units_verify(tmp_path):
    """systemd-analyze verify on every unit, installed as INSTALL.txt says into a root of
    its own (the machine's targets linked in): no warning, no error."""
    top = bundle_dir(tmp_path / "bundle")
    root = tmp_path / "root"
    shutil.copytree(top / "bin", root / "opt" / "meerkat" / "bin")
    shutil.copytree(top / "systemd", root / "etc" / "systemd" / "system")
    (root / "usr" / "lib" / "systemd").mkdir(parents=True)
    os.symlink("/lib/systemd/system", root / "usr" / "lib" / "systemd" / "system")
    units = sorted(os.listdir(top / "systemd"))
    out = subprocess.run(["systemd-analyze", "verify", f"--root={root}"]
                         + [f"/etc/systemd/system/{u}" for u in units], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout + out.stderr == "", out.stdout + out.stderr


def test_every_link_runs_its_app(tmp_path):
    """The bundle's bin/<app>, as installed: each runs its own app (its --version names it)."""
    top = bundle_dir(tmp_path / "bundle")
    for app in sorted(os.listdir(top / "bin")):
        run = subprocess.run(RUNNER + [str(top / "bin" / app), "--version"], capture_output=True, text=True,
                             timeout=30 * SLOW)
        assert run.returncode == 0 and run.stdout.startswith(f"{app} {VERSION} (board {BOARD}, git "), run.stdout


def test_unit_state_folder_is_where_the_app_writes(tmp_path):
    """device-app, the bundle's own (its link to the multi-call binary), started with its
    unit's flags (the state folder moved to tmp_path), makes its uploads folder there, not
    in the working directory."""
    top = bundle_dir(tmp_path / "bundle")
    unit = (top / "systemd" / "meerkat-device-app.service").read_text()
    execstart = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    args = execstart.split()[1:]
    assert execstart.split()[0] == "ExecStart=/opt/meerkat/bin/device-app"
    state = tmp_path / "state"
    state.mkdir()
    args[args.index("--dir") + 1] = str(state)
    args[args.index("--listen") + 1] = "http://127.0.0.1:0"
    server = Server(str(top / "bin" / "device-app"), *args)
    try:
        assert (state / "uploads").is_dir()
    finally:
        server.stop()


def ota_bundle(tmp_path):
    """Meerkat's bundle made with a signing key (make bundle OTA_KEY=…), unpacked."""
    key = tmp_path / "ota.key"
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)], check=True)
    apps = [os.path.join(BIN, a) for a in ("device-app", "echo-server")]
    out = subprocess.run(["bash", os.path.join(ROOT, "scripts", "bundle.sh"), BOARD, str(tmp_path / "out"), "meerkat",
                          VERSION, "--ota-key", str(key), "--multicall", os.path.join(BIN, "meerkat"), *apps],
                         check=True, capture_output=True, text=True).stdout.strip()
    with tarfile.open(out) as tar:
        tar.extractall(tmp_path / "bundle", filter="data")
    return tmp_path / "bundle" / f"meerkat-{VERSION}-{BOARD}"


def test_ota_bundle_takes_the_public_key_and_refuses_what_is_no_key(tmp_path):
    """OTA_KEY may name ota.pub (all a bundle carries); a file that is no key stops make
    bundle with a reason, not with no word and a bundle without ota.pub."""
    key, pub, junk = tmp_path / "ota.key", tmp_path / "ota.pub", tmp_path / "junk.key"
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)], check=True)
    subprocess.run(["openssl", "ec", "-in", str(key), "-pubout", "-out", str(pub)], check=True, capture_output=True)
    junk.write_text("not a key\n")
    script = os.path.join(ROOT, "scripts", "bundle.sh")
    app = os.path.join(BIN, "device-app")
    out = subprocess.run(["bash", script, BOARD, str(tmp_path / "a"), "meerkat", VERSION, "--ota-key", str(pub), app],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    top = tmp_path / "a" / "bundle" / f"meerkat-{VERSION}-{BOARD}"
    assert (top / "ota.pub").read_text() == pub.read_text() and os.access(top / "bin" / "ota-launch", os.X_OK)
    out = subprocess.run(["bash", script, BOARD, str(tmp_path / "b"), "meerkat", VERSION, "--ota-key", str(junk), app],
                         capture_output=True, text=True)
    assert out.returncode != 0 and f"OTA_KEY={junk} is not a P-256 key" in out.stderr, out.stderr


def test_ota_bundle_runs_device_app_through_the_launcher(tmp_path):
    top = ota_bundle(tmp_path)
    unit = (top / "systemd" / "meerkat-device-app.service").read_text()
    assert re.search(r"\nExecStart=/opt/meerkat/bin/ota-launch /var/lib/meerkat-device-app/ota device-app --listen "
                     r"http://0\.0\.0\.0:80\d\d --dir /var/lib/meerkat-device-app --ota-root "
                     r"/var/lib/meerkat-device-app/ota --ota-key /opt/meerkat/ota\.pub\n", unit), unit
    # A rollback ends the launcher with status 0 after the app's exit: always restarted.
    assert "Restart=always\n" in unit
    assert "DynamicUser=yes" in unit and "ProtectSystem=strict" in unit and "ReadWritePaths" not in unit
    other = (top / "systemd" / "meerkat-echo-server.service").read_text()
    assert "ExecStart=/opt/meerkat/bin/echo-server " in other and "Restart=on-failure\n" in other
    assert os.access(top / "bin" / "ota-launch", os.X_OK) and (top / "ota.pub").exists()
    install = (top / "INSTALL.txt").read_text()
    assert "/var/lib/<unit>/ota" in install and "meerkat-device-app" in install
    assert "\n  sudo cp ota.pub /opt/meerkat/\n" in install   # where the unit's --ota-key looks
    if shutil.which("systemd-analyze"):
        root = tmp_path / "root"
        shutil.copytree(top / "bin", root / "opt" / "meerkat" / "bin", symlinks=True)
        shutil.copytree(top / "systemd", root / "etc" / "systemd" / "system")
        (root / "usr" / "lib" / "systemd").mkdir(parents=True)
        os.symlink("/lib/systemd/system", root / "usr" / "lib" / "systemd" / "system")
        out = subprocess.run(["systemd-analyze", "verify", f"--root={root}",
                              "/etc/systemd/system/meerkat-device-app.service"], capture_output=True, text=True)
        assert out.returncode == 0 and out.stdout + out.stderr == "", out.stdout + out.stderr


BUSYBOX = shutil.which("busybox")


def launcher_start(top, unit, state, env, shell):
    """One start of the unit's ExecStart (paths moved under tmp), as systemd runs it:
    (process, URL or None when the start ended without listening)."""
    execstart = next(line for line in unit.splitlines() if line.startswith("ExecStart=")).split("=", 1)[1]
    args = [a.replace("/opt/meerkat", str(top)).replace("/var/lib/meerkat-device-app", str(state))
            for a in execstart.split()]
    args[args.index("--listen") + 1] = "http://127.0.0.1:0"
    args += ["--password-file", str(state / "provisioned"), "--sntp", "none"]
    proc = subprocess.Popen(shell + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    for raw in proc.stdout:
        if m := re.match(r"listening on (\S+)", raw.decode(errors="replace")):
            return proc, m[1]
    proc.wait()
    return proc, None


@pytest.mark.skipif(BUSYBOX is None, reason="no busybox here (busybox-static)")
def test_the_launcher_installs_the_bundle_and_rolls_back_under_busybox(tmp_path):
    """What a small board's userland has: the launcher run by busybox sh with only
    busybox's commands (mv -T, sync FILE, cp, ln, readlink, sed) on its PATH: the first
    start copies the bundle's binary in as release "first"; a release that cannot start
    is rolled back to it after OTA_STARTS starts."""
    import json
    from conftest import RawClient, device_login, device_record
    top = ota_bundle(tmp_path)
    unit = (top / "systemd" / "meerkat-device-app.service").read_text()
    state = tmp_path / "state"   # /var/lib/meerkat-device-app, StateDirectory=
    state.mkdir()
    (state / "provisioned").write_text(device_record())
    applets = tmp_path / "applets"
    applets.mkdir()
    subprocess.run([BUSYBOX, "--install", "-s", str(applets)], check=True)
    env = {"PATH": f"{applets}:/usr/bin" if RUNNER else str(applets), "OTA_RUNNER": " ".join(RUNNER),
           "OTA_STARTS": "2"}   # the first release: bin/device-app, beside bin/ota-launch
    shell = [BUSYBOX, "sh"]

    class Target:
        def __init__(self, url):
            self.url = url

        def connect(self, i=0, timeout=10):
            import socket
            return socket.create_connection(("127.0.0.1", int(self.url.rsplit(":", 1)[1])), timeout=timeout * SLOW)

    def version(url):
        t = Target(url)
        c = RawClient(t.connect())
        c.send(f"GET /api/version HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {device_login(t)}\r\n\r\n".encode())
        status, _, body = c.response()
        c.close()
        assert status == 200, body
        return json.loads(body)

    def stop(proc):
        proc.terminate()
        proc.wait(timeout=10 * SLOW)
        proc.stdout.close()

    ota = state / "ota"
    proc, url = launcher_start(top, unit, state, env, shell)
    assert url, "the first start did not listen"
    v = version(url)
    stop(proc)
    assert v["release"] == "first" and v["confirmed"] is True
    assert (ota / "releases" / "first" / "device-app").read_bytes() == (top / "bin" / "meerkat").read_bytes()
    assert os.readlink(ota / "current") == "releases/first"
    # A release that exits at once (the fetch tool, refusing device-app's options).
    (ota / "releases" / "bad").mkdir()
    shutil.copy(os.path.join(BIN, "fetch"), ota / "releases" / "bad" / "device-app")
    os.symlink("releases/first", ota / "previous")
    os.symlink("releases/bad", ota / "current.new")
    os.replace(ota / "current.new", ota / "current")
    for start in range(1, 4):   # Restart=always: starts until one listens
        proc, url = launcher_start(top, unit, state, env, shell)
        if url:
            break
        assert proc.returncode != 0, "a failed start must fail (Restart= restarts it)"
        proc.stdout.close()
    assert url and start == 3, start   # two failed starts of "bad", then the rollback
    v = version(url)
    stop(proc)
    assert v["release"] == "first" and "rolled back to first" in v["rollback"] and v["previous"] is None, v
    assert os.readlink(ota / "current") == "releases/first" and (ota / "state" / "bad.bad").exists()
    # previous named the running release: removed; "bad" pruned at the confirmation, its marker kept
    assert sorted(os.listdir(ota)) == ["current", "releases", "staging", "state"]
    assert os.listdir(ota / "releases") == ["first"]
