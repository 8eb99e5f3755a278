"""The README's dashboard pictures (docs/dashboard.png, docs/dashboard-phone.png): the
host firmware's device-app, a minute of made-up traffic so the charts have a shape,
then headless Chromium at a desktop and a phone size. Run by hand after a UI change:
    make firmware && python3 scripts/screenshot_dashboard.py"""
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "Tests", "integration"))
from test_browser import browser  # noqa: E402

PORT = 18931


def traffic(stop):
    """Bursts of requests, so the network and CPU charts move."""
    n = 0
    while not stop.is_set():
        burst = 20 + (n % 7) * 40
        for _ in range(burst):
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/app.js").read()
        n += 1
        time.sleep(0.5)


def main():
    data = tempfile.mkdtemp()
    with open(os.path.join(data, "settings.conf"), "w") as f:
        f.write("name=greenhouse-controller\ninterval=5\n")
    server = subprocess.Popen([os.path.join(ROOT, "build", "host", "bin", "device-app"), "--listen",
                               f"http://127.0.0.1:{PORT}", "--dir", data], stdout=subprocess.DEVNULL)
    time.sleep(1)
    stop = threading.Event()
    threading.Thread(target=traffic, args=(stop,), daemon=True).start()
    desk = browser("--window-size=1200,1060")
    phone = browser("--window-size=390,844")
    try:
        desk.get(f"http://127.0.0.1:{PORT}/")
        phone.get(f"http://127.0.0.1:{PORT}/")
        time.sleep(75)
        desk.save_screenshot(os.path.join(ROOT, "docs", "dashboard.png"))
        phone.save_screenshot(os.path.join(ROOT, "docs", "dashboard-phone.png"))
    finally:
        stop.set()
        desk.quit()
        phone.quit()
        server.terminate()


if __name__ == "__main__":
    main()
