"""One chat user of the soak, for echo-server's rooms and the fleet's chat-servers alike:
it joins over a WebSocket through a fault proxy, sends a few messages, says bye, and
leaves once its bye came back, recording what model.check_room needs (when it joined,
sent, had its own messages back and said bye; what it got, in order).

Each message's text is `SENDER|K|CRC|PAD`: who sent it, its number, and a CRC-32 of its
random padding, so a message changed on the way is caught where it arrives. The two
servers wrap it differently (`RoomWire`, `FleetWire`)."""
import json
import socket
import threading
import time
import zlib

import websocket
from servers import TIMEOUT


def text_of(uid, k, pad):
    return f"{uid}|{k}|{zlib.crc32(pad.encode())}|{pad}"


def sender_of(text):
    """(sender, k) of a message's text; ValueError when it changed on the way."""
    sender, k, crc, pad = text.split("|")
    if int(crc) != zlib.crc32(pad.encode()):
        raise ValueError(f"{sender}'s message {k} arrived changed: {text[:60]!r}")
    return sender, k


class RoomWire:
    """echo-server's rooms: the text as it is, after the room's name."""

    def __init__(self, room):
        self.room, self.path = room, f"/ws/room/{room}"

    def encode(self, text):
        return f"{self.room}|{text}"

    def decode(self, frame):
        room, text = frame.split("|", 1)
        return (room, *sender_of(text))


class FleetWire:
    """chat-server's JSON protocol: the text in a message event; joins, leaves and
    counts are not ours (None)."""

    path = "/ws"

    def encode(self, text):
        return json.dumps({"type": "message", "text": text})

    def decode(self, frame):
        event = json.loads(frame)
        if event.get("type") != "message":
            return None
        return ("fleet", *sender_of(event["text"]))


def chat_user(load, proxy, wire, user, rng, most, pad_max, gap, what):
    """Runs `user` (a dict with its room, uid and server) to its end through `proxy`:
    up to `most` messages, `gap` (low, high) seconds apart; counts `what` on the load."""
    s, plan = load.connect_to(proxy)
    uid = user["uid"]
    user.update(port=s.getsockname()[1], plan=plan, joined=None, sent={}, echoed={}, got=[], bye_sent=None,
                error=None)
    bye = threading.Event()
    try:
        if plan["kind"] == "silent":
            raise OSError("silent")
        ws = websocket.create_connection(f"ws://127.0.0.1:{proxy.port}{wire.path}", socket=s, timeout=TIMEOUT,
                                         suppress_origin=True)
        user["joined"] = time.monotonic()

        def receive():
            try:
                while True:
                    frame = ws.recv()
                    if not frame:
                        return
                    now = time.monotonic()
                    got = wire.decode(frame)
                    if got is None:
                        continue
                    user["got"].append(got)
                    if got[1] == uid:
                        user["echoed"][got[2]] = now
                        if got[2] == "bye":
                            bye.set()
                            return
            except (OSError, websocket.WebSocketException, ValueError) as e:
                user["error"] = user["error"] or f"receiving: {e!r}"
                bye.set()

        reader = threading.Thread(target=receive, daemon=True)
        reader.start()
        try:
            for k in range(rng.randint(1, most)):
                if load.stop.is_set() or user["error"]:
                    break
                pad = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(0, pad_max)))
                user["sent"][str(k)] = time.monotonic()
                ws.send(wire.encode(text_of(uid, k, pad)))
                load.count(f"{what} messages sent")
                time.sleep(rng.uniform(*gap))
            user["bye_sent"] = time.monotonic()
            ws.send(wire.encode(text_of(uid, "bye", "")))
            if not bye.wait(TIMEOUT):
                user["error"] = user["error"] or "its bye never came back"
        finally:
            ws.close(timeout=1)
            reader.join(TIMEOUT)
    except (OSError, websocket.WebSocketException, socket.timeout) as e:
        user["error"] = user["error"] or repr(e)
    finally:
        s.close()
        user["left"] = time.monotonic()
    load.outcome(f"{what} user", f"{uid} from port {user['port']}", plan, user["error"])
