"""Issue 26, the upload from the dashboard: the "Update the firmware" card sends an image
and the SHA-256 and signature from its manifest (what `make ota-image` writes) as
POST /api/ota, in Chromium, with the session and origin the page has; the board, run
by the launcher over a temporary install root as in test_ota.py, restarts into it."""
import os
import socket

from test_browser import chrome, wait_for  # noqa: F401 (chrome is a fixture, used as a parameter)
from test_dashboard import log_in
from test_ota import keys, release_id, service, staging  # noqa: F401 (keys, service: fixtures, used as parameters)
from test_ota_pull import ota_image


def text(d, element):
    return d.find_element("id", element).text


def test_the_dashboard_installs_a_signed_update(service, keys, chrome, tmp_path):  # noqa: F811 (fixtures)
    # A port of its own, as a board has, so that the page reaches the restarted board.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    s = service("--sntp", "none", "--listen", f"http://127.0.0.1:{port}")
    d = chrome("--window-size=1200,1400")
    d.get(f"http://127.0.0.1:{port}/")
    log_in(d)
    assert wait_for(lambda: text(d, "release") == f"Running release {service.first}, confirmed", 30)
    # A manifest that is not the image's is caught in the page; a forged image by the board.
    folder, image = ota_image(keys, tmp_path, b"dashboard")
    forged, _ = ota_image(keys, tmp_path, b"forged", key="other")
    d.find_element("id", "f-image").send_keys(os.path.join(forged, "image"))
    d.find_element("id", "f-manifest").send_keys(os.path.join(folder, "manifest.json"))
    d.find_element("css selector", "#update button").click()
    assert wait_for(lambda: text(d, "update-result").startswith("Not installed"), 30)
    d.find_element("id", "f-manifest").clear()
    d.find_element("id", "f-manifest").send_keys(os.path.join(forged, "manifest.json"))
    d.find_element("css selector", "#update button").click()
    assert wait_for(lambda: "signature" in text(d, "update-result"), 30), text(d, "update-result")
    assert s.starts == 1 and staging(service.root) == []
    # The good one: installed, the board restarts into it (ending the session); the page
    # asks until it answers, goes to log in, and then the card shows the new release.
    d.find_element("id", "f-image").clear()
    d.find_element("id", "f-image").send_keys(os.path.join(folder, "image"))
    d.find_element("id", "f-manifest").clear()
    d.find_element("id", "f-manifest").send_keys(os.path.join(folder, "manifest.json"))
    d.find_element("css selector", "#update button").click()
    assert wait_for(lambda: text(d, "update-result").startswith("Installed " + release_id(image)), 60)
    s.down()
    s.up()
    log_in(d)
    assert wait_for(lambda: text(d, "release") == f"Running release {release_id(image)}, confirmed", 30)
