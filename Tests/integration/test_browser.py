"""Headless Chromium (Debian's chromium and chromium-driver, selenium from PyPI) against
the apps: the guide's mixed page logs the echo, and two browser sessions share the chat
room (issue 9)."""
import time

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from conftest import SLOW


def browser(*extra):
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", *extra):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def wait_for(check, timeout=20):
    deadline = time.time() + timeout * SLOW
    while time.time() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


@pytest.fixture
def chrome():
    drivers = []

    def make(*extra):
        d = browser(*extra)
        drivers.append(d)
        return d
    yield make
    for d in drivers:
        d.quit()


def test_mixed_page_logs_the_echo(start_server, chrome):
    s = start_server("echo-server")
    d = chrome()
    d.get(f"http://127.0.0.1:{s.port()}/")
    assert wait_for(lambda: d.find_element(By.ID, "echo").text == "Echo: Hello!")
    logs = " ".join(entry["message"] for entry in d.get_log("browser"))
    assert "Echo: Hello!" in logs


def test_two_browsers_share_the_chat_room(start_server, chrome):
    s = start_server("chat-server")
    url = f"http://127.0.0.1:{s.port()}/"
    alice, bob = chrome(), chrome()
    alice.get(url)
    assert wait_for(lambda: "User1 joined" in alice.find_element(By.ID, "log").text)
    bob.get(url)
    assert wait_for(lambda: "User2 joined" in alice.find_element(By.ID, "log").text)
    assert wait_for(lambda: "User2 joined" in bob.find_element(By.ID, "log").text)

    alice.find_element(By.ID, "name").send_keys("Alice")
    alice.find_element(By.ID, "rename").click()
    assert wait_for(lambda: "User1 is now Alice" in bob.find_element(By.ID, "log").text)

    bob.find_element(By.ID, "text").send_keys("hello from bob")
    bob.find_element(By.ID, "send").click()
    assert wait_for(lambda: "User2: hello from bob" in alice.find_element(By.ID, "log").text)
    alice.find_element(By.ID, "text").send_keys("hi bob\n")
    assert wait_for(lambda: "Alice: hi bob" in bob.find_element(By.ID, "log").text)

    alice.quit()
    assert wait_for(lambda: "Alice left" in bob.find_element(By.ID, "log").text)


def test_chat_over_https_and_wss(start_server, chrome, certs):
    s = start_server("chat-server", "--listen", "https://127.0.0.1:0", "--cert", certs["server.crt"],
                     "--key", certs["server.key"])
    trust = f"--ignore-certificate-errors-spki-list={certs['spki']}"
    alice, bob = chrome(trust), chrome(trust)
    url = f"https://127.0.0.1:{s.port()}/"
    alice.get(url)
    assert wait_for(lambda: "User1 joined" in alice.find_element(By.ID, "log").text)
    bob.get(url)
    assert wait_for(lambda: "User2 joined" in alice.find_element(By.ID, "log").text)
    bob.find_element(By.ID, "text").send_keys("hello over wss\n")
    assert wait_for(lambda: "User2: hello over wss" in alice.find_element(By.ID, "log").text)
    assert alice.execute_script("return location.protocol") == "https:"


def test_untrusted_certificate_is_refused_by_the_browser(start_server, chrome, certs):
    s = start_server("echo-server", "--listen", "https://127.0.0.1:0", "--cert", certs["server.crt"],
                     "--key", certs["server.key"])
    d = chrome()   # no trust flag: Chromium shows its interstitial, the page never runs
    d.get(f"https://127.0.0.1:{s.port()}/")
    time.sleep(1)
    assert "Meerkat" not in d.title
    assert s.alive()
