"""One version everywhere: every app's --version (on the board under test, under its
runner) and device-app's /api/status name the version of Sources/Meerkat/Version.swift."""
import json
import os
import re
import subprocess
import urllib.request

import pytest

from conftest import BIN, BOARD, RUNNER, SLOW, VERSION, start_device

APPS = sorted(a for a in os.listdir(BIN) if os.access(os.path.join(BIN, a), os.X_OK))


def test_the_version_is_semver():
    assert re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", VERSION), VERSION


@pytest.mark.parametrize("app", APPS)
def test_every_app_prints_its_version(app):
    # Among other options too, before the app would have listened or connected.
    for args in (["--version"], ["--listen", "http://127.0.0.1:0", "--version"]):
        run = subprocess.run(RUNNER + [os.path.join(BIN, app)] + args, capture_output=True, text=True,
                             timeout=30 * SLOW)
        assert run.returncode == 0, run.stdout + run.stderr
        line = run.stdout.strip()
        m = re.fullmatch(r"(\S+) (\S+) \(board (\S+), git (\S+)\)", line)
        assert m, line
        assert m.groups()[:3] == (app, VERSION, BOARD), line
        assert re.fullmatch(r"[0-9a-f]{7,}(-dirty)?|unknown", m[4]), line


def test_device_app_status_has_the_version(start_server):
    s = start_device(start_server)
    request = urllib.request.Request(f"http://127.0.0.1:{s.port()}/api/status", headers={"Cookie": s.cookie})
    with urllib.request.urlopen(request, timeout=10 * SLOW) as r:
        assert json.loads(r.read())["version"] == VERSION
