"""make bundle for the board under test: the tarball a firmware developer deploys."""
import os
import subprocess
import tarfile

from conftest import BOARD, ROOT, VERSION

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
        for name in ("LICENSE", "NOTICE"):   # the licence, and what the binaries link
            assert tar.extractfile(f"{top}/{name}").read() == open(os.path.join(ROOT, name), "rb").read()
        apps = [n.split("/")[-1] for n in names if n.startswith(f"{top}/bin/") and n != f"{top}/bin"]
        assert "echo-server" in apps and "device-app" in apps
        assert "ws-client" in apps and "fetch" in apps and "mqtt-client" in apps
        for app in apps:
            elf = tar.extractfile(f"{top}/bin/{app}").read(20)
            assert elf[:4] == b"\x7fELF"
            assert int.from_bytes(elf[18:20], "little") == ELF_MACHINE[BOARD]
            if app in ("ws-client", "fetch", "mqtt-client"):   # client tools: run by hand, no service
                assert f"{top}/systemd/meerkat-{app}.service" not in names
                continue
            unit = tar.extractfile(f"{top}/systemd/meerkat-{app}.service").read().decode()
            assert "Restart=on-failure" in unit
            assert f"ExecStart=/opt/meerkat/bin/{app} " in unit
