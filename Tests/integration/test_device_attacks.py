"""device-app attacked as a hostile LAN peer and as a foreign web page would (issue 24
review): setup after a damaged password file, setup and writes from other origins and
rebinding Hosts, a session cookie the attacker chose, and guessers rotating through
many addresses (the headers of every error answer: test_error_headers.py). Real
sockets; every board (under qemu for ARM). One login per module, but for the tests
that need a device of their own."""
import json
import threading
import time

import pytest

from conftest import DEVICE_PASSWORD, SLOW, RawClient, device_record, start_device
from test_device_access import device, json_post, request, upgrade  # noqa: F401 (device: the module's login)


def as_host(server, host, method, path, headers=(), body=b""):
    """One request whose Host is `host` (a DNS-rebinding page's name): its status."""
    c = RawClient(server.connect(timeout=10 * SLOW))
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    c.send(("\r\n".join(lines + [f"{k}: {v}" for k, v in headers]) + "\r\n\r\n").encode() + body)
    status = c.response()[0]
    c.sock.close()
    return status


def test_two_visitors_setting_up_at_once_make_one_password(start_server, tmp_path):
    s = start_server("device-app", "--dir", str(tmp_path))
    own = [("Origin", f"http://127.0.0.1:{s.port()}")]
    answers = []
    threads = [threading.Thread(target=lambda p=p: answers.append(json_post(s, "/api/setup", {"password": p}, own)[0]))
               for p in ("first visitor pw", "second visitor pw")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [200, 403]


def test_a_rebinding_page_cannot_set_the_first_password(start_server, tmp_path):
    s = start_server("device-app", "--dir", str(tmp_path))
    evil = f"evil.example:{s.port()}"
    status = as_host(s, evil, "POST", "/api/setup", [("Origin", f"http://{evil}"), ("Content-Type", "application/json")],
                     b'{"password": "attacker pw"}')
    assert status == 421 and not (tmp_path / "password").exists()
    assert as_host(s, evil, "GET", "/setup.html") == 421


FOREIGN = [[("Origin", "null")], [("Origin", "http://evil.example")], [("Sec-Fetch-Site", "cross-site")],
           [("Sec-Fetch-Site", "same-site")], [("Origin", "http://sub.127.0.0.1.nip.io")]]
BODIES = [("text/plain", b'{"name": "pwned", "interval": 9}'), ("application/x-www-form-urlencoded", b"name=pwned&interval=9"),
          ("application/json", b'{"name": "pwned", "interval": 9}')]


def test_no_write_from_another_origin_goes_through_even_with_the_cookie(device):  # noqa: F811 (the fixture imported above)
    for foreign in FOREIGN:
        for ctype, body in BODIES:
            for path in ("/api/settings", "/api/upload", "/api/logout", "/api/login", "/api/setup"):
                status = request(device, "POST", path, [("Cookie", device.cookie), ("Content-Type", ctype), *foreign], body)[0]
                assert status == 403, (path, ctype, foreign, status)
        assert upgrade(device, [("Cookie", device.cookie), *foreign]) == 403 or "Sec-Fetch-Site" in foreign[0][0]
    assert json.loads(request(device, "GET", "/api/settings", [("Cookie", device.cookie)])[2])["name"] != "pwned"
    assert request(device, "GET", "/api/status", [("Cookie", device.cookie)])[0] == 200     # still logged in


def test_a_cookie_the_attacker_chose_is_never_a_session(device):  # noqa: F811 (the fixture imported above)
    chosen = "session=" + "A" * 43
    assert request(device, "GET", "/api/status", [("Cookie", chosen)])[0] == 401
    status, h, _ = json_post(device, "/api/login", {"password": DEVICE_PASSWORD}, [("Cookie", chosen)])
    assert status == 200 and h["set-cookie"].split(";")[0] != chosen
    assert request(device, "GET", "/api/status", [("Cookie", chosen)])[0] == 401


@pytest.mark.parametrize("damage", [b"", b"pbkdf2-sha256$1000$c2FsdA==$trunc", b"\x00" * 64])
def test_a_damaged_password_file_does_not_reopen_setup(start_server, tmp_path, damage):
    (tmp_path / "password").write_bytes(damage)
    s = start_server("device-app", "--dir", str(tmp_path))
    own = [("Origin", f"http://127.0.0.1:{s.port()}")]
    status, _, body = json_post(s, "/api/setup", {"password": "attacker pw 123"}, own)
    assert status == 503 and b"--password-file" in body
    assert (tmp_path / "password").read_bytes() == damage
    status, _, body = json_post(s, "/api/login", {"password": "attacker pw 123"}, own)
    assert status == 503
    assert request(s, "GET", "/api/status")[0] == 503


@pytest.mark.timing   # the guessers fill the global cap's 1 s window while the owner logs in
def test_guessers_on_many_addresses_do_not_lock_the_owner_out(device):  # noqa: F811 (the fixture imported above)
    """Threads rotating through 127.0.k.x keep the global cap (5 failures a second) full;
    the owner, who logged in from 127.0.0.1 before (the fixture), still gets in at once."""
    stop = time.time() + 3 * SLOW
    seen = []

    def guess(k):
        i = 0
        while time.time() < stop:
            seen.append(json_post(device, "/api/login", {"password": "guess"}, source=f"127.0.{k}.{2 + i % 200}")[0])
            i += 1
    threads = [threading.Thread(target=guess, args=(k,)) for k in (1, 2)]
    for t in threads:
        t.start()
    time.sleep(0.5 * SLOW)
    owner = []
    while time.time() < stop - 0.5 * SLOW:
        owner.append(json_post(device, "/api/login", {"password": DEVICE_PASSWORD})[0])
        time.sleep(0.2)
    for t in threads:
        t.join()
    assert seen.count(429) > seen.count(401) and owner and set(owner) == {200}, (owner, len(seen))


@pytest.mark.timing   # the owner's logins within 1 s
def test_a_guesser_rotating_through_more_addresses_than_the_table_gets_slower(start_server):
    """Two threads guess from 127.0.0.2-200, more addresses than the throttle's table
    (64): once it is full, the addresses without an entry share one overflow entry
    whose delay grows (Retry-After 1, 2, 4, 8 s…), where before each new address
    started afresh and waited at most the global cap's 1 s. The owner, who logged in
    from 127.0.0.1 before, gets in within 1 s all along."""
    s = start_device(start_server)
    start = time.time()
    stop = start + 45 * SLOW  # ends sooner: once a guesser is told to wait 8 s
    guesses, owner = [], []  # (seconds since start, status, Retry-After); (status, seconds)

    def guess(k):
        i = k
        while time.time() < stop:
            status, h, _ = json_post(s, "/api/login", {"password": "guess"}, source=f"127.0.0.{2 + i % 199}")
            guesses.append((time.time() - start, status, int(h.get("retry-after", 0))))
            i += 2
            time.sleep(0.01)  # 200 tries a second in all: 40 times what the global cap lets through
    threads = [threading.Thread(target=guess, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    while time.time() < stop and max((r for _, _, r in guesses), default=0) < 8:
        t0 = time.time()
        status = json_post(s, "/api/login", {"password": DEVICE_PASSWORD})[0]
        owner.append((status, round(time.time() - t0, 3)))
        time.sleep(0.3)
    stop = 0
    for t in threads:
        t.join()
    first = {}  # when each Retry-After was first told
    for at, _, wait in guesses:
        first.setdefault(wait, round(at, 1))
    checked = [at for at, status, _ in guesses if status == 401]
    print(f"rotating guesser: {len(guesses)} tries, {len(checked)} checked; first Retry-After at (s): "
          f"{dict(sorted(first.items()))}; {len(owner)} owner logins took {min(t for _, t in owner)}-"
          f"{max(t for _, t in owner)} s")
    assert max(first) >= 8, first
    assert owner and all(status == 200 and took < 1 for status, took in owner), owner


def test_a_folder_redirect_never_leaves_the_board(start_server, tmp_path):
    """`GET //sub` (a folder) was answered `Location: //sub/`, which a browser follows to
    the host "sub": an open redirect through any folder name."""
    web = tmp_path / "web"
    (web / "sub").mkdir(parents=True)
    (web / "sub" / "index.html").write_text("hi")
    (tmp_path / "provisioned").write_text(device_record())
    s = start_server("device-app", "--dir", str(tmp_path), "--password-file", str(tmp_path / "provisioned"),
                     "--web", str(web))
    for path, where in (("/sub", "/sub/"), ("//sub", "/sub/"), ("///sub?x=1", "/sub/?x=1"), ("/.//sub", "/.//sub/")):
        status, h, _ = request(s, "GET", path)
        assert (status, h.get("location")) == (301, where), path


def test_a_record_left_half_written_by_a_kill_is_removed_at_start(start_server, tmp_path):
    """kill -9 during setup leaves no password or a whole one (write, fsync, rename); the
    temporary it may leave holds a hash the board never uses, so it goes at start."""
    left = tmp_path / ".password.0123abcd.part"
    left.write_text(device_record())
    s = start_server("device-app", "--dir", str(tmp_path))
    assert request(s, "GET", "/")[0] == 303 and not left.exists()
