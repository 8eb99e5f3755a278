"""chat-server (issue 9): the guide's chat room and its JSON protocol, with the guide's
own client library (websocket-client)."""
import json
import time

import websocket

from conftest import SLOW


def join(server):
    ws = websocket.create_connection(f"ws://127.0.0.1:{server.port()}/ws", timeout=10 * SLOW)
    return ws


def recv(ws):
    return json.loads(ws.recv())


def test_chat_room_with_three_clients(start_server):
    s = start_server("chat-server")
    a = join(s)
    assert recv(a) == {"type": "join", "username": "User1", "count": 1}
    b = join(s)
    assert recv(a) == recv(b) == {"type": "join", "username": "User2", "count": 2}
    c = join(s)
    third = {"type": "join", "username": "User3", "count": 3}
    assert recv(a) == recv(b) == recv(c) == third

    b.send(json.dumps({"type": "setname", "username": "Bob \"the builder\" ☃"}))
    rename = {"type": "rename", "old": "User2", "new": "Bob \"the builder\" ☃"}
    assert recv(a) == recv(b) == recv(c) == rename

    before = time.time()
    b.send(json.dumps({"type": "message", "text": "hi all\nline two"}))
    for ws in (a, b, c):
        m = recv(ws)
        assert (m["type"], m["username"], m["text"]) == ("message", "Bob \"the builder\" ☃", "hi all\nline two")
        assert abs(m["timestamp"] - before) < 60   # seconds since 1970, with a fraction
        assert isinstance(m["timestamp"], float)

    for bad in ("not json", json.dumps({"type": "message"}), json.dumps({"text": "no type"}), "{\"type\": \"message\", "):
        c.send(bad)
        assert recv(c) == {"error": "Invalid message"}      # to the sender only
    a.send(json.dumps({"type": "message", "text": "after the errors"}))
    assert recv(b)["text"] == "after the errors"             # b got no error messages
    assert recv(c)["text"] == "after the errors"
    assert recv(a)["text"] == "after the errors"

    c.close()
    leave = {"type": "leave", "username": "User3", "count": 2}
    assert recv(a) == recv(b) == leave
    a.close()
    assert recv(b) == {"type": "leave", "username": "User1", "count": 1}
    b.close()


def test_an_event_too_long_for_the_buffer_is_answered_with_an_error(start_server):
    """An event over chat-server's 8 KB buffer once escaped goes to no one, and its sender
    is told. Sizes that fit the smallest board's 8 KB receive block: a 3000-byte name and
    2700 quotes, 5400 bytes escaped, together past 8 KB."""
    s = start_server("chat-server")
    a = join(s)
    recv(a)
    b = join(s)
    recv(a), recv(b)
    name = "n" * 3000
    a.send(json.dumps({"type": "setname", "username": name}))
    assert recv(a) == recv(b) == {"type": "rename", "old": "User1", "new": name}

    a.send(json.dumps({"type": "message", "text": '"' * 2700}))
    assert recv(a) == {"error": "Message too long"}
    a.send(json.dumps({"type": "setname", "username": "m" * 5500}))      # old and new: past 8 KB
    assert recv(a) == {"error": "Message too long"}

    a.send(json.dumps({"type": "message", "text": "short"}))
    for ws in (b, a):     # b heard nothing of the two, and the name did not change
        m = recv(ws)
        assert (m["type"], m["username"], m["text"]) == ("message", name, "short")
    a.close()
    b.close()


def test_chat_page_is_served(start_server):
    import urllib.request
    s = start_server("chat-server")
    with urllib.request.urlopen(f"http://127.0.0.1:{s.port()}/", timeout=10 * SLOW) as r:
        page = r.read().decode()
    assert "new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws')" in page \
        and 'id="send"' in page
