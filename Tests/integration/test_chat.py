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


def test_chat_page_is_served(start_server):
    import urllib.request
    s = start_server("chat-server")
    with urllib.request.urlopen(f"http://127.0.0.1:{s.port()}/", timeout=10 * SLOW) as r:
        page = r.read().decode()
    assert "new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws')" in page \
        and 'id="send"' in page
