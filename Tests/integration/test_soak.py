"""The soak (issue 27), short: `make test` runs Tests/soak/soak.py for SOAK_MINUTES (2,
as the issue asks) on each board, through the fault proxies, with its model's checks; and, on the host,
shows that those checks fail when the proxy secretly corrupts connections it calls
clean. `make soak MINUTES=60` is the long run."""
import os
import subprocess
import sys

import pytest

from conftest import BOARD, ROOT

SOAK = os.path.join(ROOT, "Tests", "soak")
MINUTES = os.environ.get("SOAK_MINUTES", "2")


def soak(tmp_path, *args, timeout):
    out = subprocess.run([sys.executable, os.path.join(SOAK, "soak.py"), "--out", str(tmp_path), *args],
                         capture_output=True, text=True, timeout=timeout)
    return out.returncode, out.stdout + out.stderr


def test_the_model_catches_each_kind_of_fault():
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", os.path.join(SOAK, "test_model.py")],
                         capture_output=True, text=True, cwd=SOAK, timeout=120)
    assert out.returncode == 0, out.stdout


def test_a_short_soak_through_the_fault_proxies_loses_nothing(tmp_path):
    code, log = soak(tmp_path, "--minutes", MINUTES, "--seed", "27", timeout=float(MINUTES) * 60 + 300)
    print(log)
    assert code == 0, log[-3000:]
    assert "soak passed" in log
    # Every kind of fault was dealt, and every kind of client was served through them.
    for kind in ("clean", "delay", "split", "stall", "reset", "halfclose", "silent"):
        assert f"'plan {kind}'" in log, kind
    for served in ("http connection served", "wss connection served", "chat user served", "upload served",
                   "fleet user served", "mqtt links reset"):
        assert f"'{served}'" in log, served


@pytest.mark.skipif(BOARD != "host", reason="the checks' own check runs once, on the host")
def test_the_soak_fails_when_the_proxy_corrupts_a_connection_it_calls_clean(tmp_path):
    code, log = soak(tmp_path, "--minutes", "0.25", "--seed", "28", "--lie", timeout=200)
    assert code == 1, log[-3000:]
    assert "soak FAILED" in log
    assert "'kind': 'clean'} connection" in log
