"""make bundle for the board under test: the tarball a firmware developer deploys, with
every app in one multi-call binary (bin/meerkat) and a link to it per app."""
import os
import re
import shutil
import subprocess
import tarfile

import pytest

from conftest import BOARD, ROOT, RUNNER, SLOW, VERSION, Server

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
            # systemd's default soft limit (1,024 descriptors) is below rpi4's table of
            # 1,024 connections: past it a new client would wait unanswered, not get its 503.
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
