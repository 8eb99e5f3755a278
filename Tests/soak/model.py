"""The soak's reference model for the chat rooms: what each user must have received,
from what the users themselves saw (times are one process's time.monotonic()).

A room broadcasts every message to everyone in it, the sender too, in the one order the
server read them. So, for a user R and a message k of a user S, neither of whose
connections the proxy broke:
- R must have k if R had joined before S sent k, and R sent its bye only after S saw k
  come back. The server then had R in the room when it read k (R's handshake was over),
  and had not yet read R's bye when it sent k out (S had k back first).
- S must have every message of its own, and its bye (the server read them all).
Whatever anyone received, broken or not, must be: in its own room, never twice, each
sender's messages in the order sent, and in the same order as every other user who got
the same two messages from the same server (users of a fleet's two boards may see the
boards' events interleaved differently)."""
import bisect
import threading


class Failures:
    def __init__(self):
        self.items = []
        self.checked = 0
        self.lock = threading.Lock()

    def add(self, text):
        with self.lock:
            self.items.append(text)


def whole(user):
    return user["plan"]["kind"] not in ("reset", "halfclose", "silent") and user["joined"] is not None


def check_room(users, failures, went_out=None):
    """`went_out(r, s, k)`: when s's message k went out to the users of r's server (for
    a fleet, where that is not s's own); by default, when s had it back."""
    for r in users:
        check_what_arrived(r, failures)
    receivers = Receivers(users)
    for s in users:
        if not whole(s):
            continue
        own = {k for room, sender, k in s["got"] if sender == s["uid"]}
        for k in s["sent"]:
            if k not in own:
                failures.add(f"room {s['room']}: user {s['uid']} never got its own message {k} back")
        for k in s["echoed"]:
            if k != "bye":
                check_delivery(s, k, receivers, failures, went_out)
    for server in {u.get("server") for u in users}:
        check_common_order([u for u in users if u.get("server") == server], failures)


class Receivers:
    """The whole users who said bye, by when they joined, so that the ones there when a
    message was sent are found without walking an hour's users for each message."""

    def __init__(self, users):
        self.users = sorted((u for u in users if whole(u) and u["bye_sent"] is not None), key=lambda u: u["joined"])
        self.joins = [u["joined"] for u in self.users]
        self.longest = max((u["bye_sent"] - u["joined"] for u in self.users), default=0)

    def joined_before(self, t):
        """Those who joined before t and may not have said bye yet."""
        i = bisect.bisect_left(self.joins, t) - 1
        while i >= 0 and self.joins[i] >= t - self.longest:
            yield self.users[i]
            i -= 1


def check_delivery(s, k, receivers, failures, went_out):
    sent = s["sent"][k]
    for r in receivers.joined_before(sent):
        if r is s:
            continue
        out = went_out(r, s, k) if went_out else s["echoed"][k]
        if out is None or r["bye_sent"] <= out:
            continue
        failures.checked += 1
        if (r["room"], s["uid"], k) not in r["set"]:
            failures.add(f"room {s['room']}: {r['uid']} (plan {r['plan']['kind']}) missed {s['uid']}'s"
                         f" message {k}, though it joined before it was sent and left after it went out")


def check_what_arrived(r, failures):
    seen = set()
    last = {}
    for room, sender, k in r["got"]:
        key = (room, sender, k)
        if room != r["room"]:
            failures.add(f"{r['uid']} in room {r['room']} got a message of room {room}")
        if key in seen:
            failures.add(f"{r['uid']} got {sender}'s message {k} twice")
        seen.add(key)
        n = 1 << 30 if k == "bye" else int(k)
        if n <= last.get(sender, -1):
            failures.add(f"{r['uid']} got {sender}'s message {k} after a later one")
        last[sender] = n
    r["set"] = seen


def check_common_order(users, failures):
    """Any two users who got the same two messages got them in the same order."""
    users = sorted((u for u in users if u["got"]), key=lambda u: u["joined"])
    for i, a in enumerate(users):
        position = {key: n for n, key in enumerate(a["got"])}
        for b in users[i + 1:]:
            if b["joined"] > a["left"]:
                break   # joined after a left: nothing in common with a, nor are the later ones
            common = [position[key] for key in b["got"] if key in position]
            if any(x > y for x, y in zip(common, common[1:])):
                failures.add(f"{a['uid']} and {b['uid']} got the same messages in different orders")
