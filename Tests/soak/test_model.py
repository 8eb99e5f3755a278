"""The soak's model catches what it is there to catch: a chat room's history, made by
hand, with one fault put in at a time (a lost, doubled, reordered or misrouted message)."""
from model import Failures, check_room

CLEAN = {"kind": "clean"}


def user(uid, joined, sent, got, bye_sent, left, echoed=None, room="a", plan=CLEAN):
    return {"room": room, "uid": uid, "plan": plan, "joined": joined, "sent": sent, "got": got,
            "echoed": echoed or {}, "bye_sent": bye_sent, "left": left}


def room(got_by_b=None, got_by_a=None):
    """a and b both in room a from t=0 to t=10; a sends 0 and 1 (back at 2 and 4), b
    sends 0 (back at 3); each leaves after its bye came back."""
    a_got = got_by_a or [("a", "A", "0"), ("a", "B", "0"), ("a", "A", "1"), ("a", "A", "bye")]
    b_got = got_by_b or [("a", "A", "0"), ("a", "B", "0"), ("a", "A", "1"), ("a", "B", "bye")]
    a = user("A", 0.5, {"0": 1.0, "1": 3.5}, a_got, 8.0, 9.0, echoed={"0": 2.0, "1": 4.0, "bye": 8.5})
    b = user("B", 0.6, {"0": 2.5}, b_got, 9.0, 10.0, echoed={"0": 3.0, "bye": 9.5})
    return [a, b]


def verdict(users):
    f = Failures()
    check_room(users, f)
    return f


def test_a_whole_history_passes_and_its_deliveries_are_counted():
    f = verdict(room())
    assert f.items == []
    assert f.checked == 3   # b must have A0, A1; a must have B0


def test_a_lost_message_is_caught():
    f = verdict(room(got_by_b=[("a", "A", "0"), ("a", "B", "0"), ("a", "B", "bye")]))
    assert any("missed A's message 1" in x for x in f.items), f.items


def test_a_doubled_message_is_caught():
    f = verdict(room(got_by_b=[("a", "A", "0"), ("a", "A", "0"), ("a", "B", "0"), ("a", "A", "1"), ("a", "B", "bye")]))
    assert any("twice" in x for x in f.items), f.items


def test_a_sender_reordered_is_caught():
    f = verdict(room(got_by_b=[("a", "A", "1"), ("a", "A", "0"), ("a", "B", "0"), ("a", "B", "bye")]))
    assert any("after a later one" in x for x in f.items), f.items


def test_two_users_seeing_two_senders_in_different_orders_is_caught():
    f = verdict(room(got_by_b=[("a", "B", "0"), ("a", "A", "0"), ("a", "A", "1"), ("a", "B", "bye")]))
    assert any("different orders" in x for x in f.items), f.items


def test_a_message_of_the_other_room_is_caught():
    f = verdict(room(got_by_b=[("a", "A", "0"), ("b", "C", "0"), ("a", "B", "0"), ("a", "A", "1"), ("a", "B", "bye")]))
    assert any("of room b" in x for x in f.items), f.items


def test_a_user_the_proxy_broke_is_not_owed_anything():
    users = room(got_by_b=[("a", "A", "0")])
    users[1]["plan"] = {"kind": "reset", "after": 10, "dir": "down"}
    assert verdict(users).items == []


def test_a_user_who_joined_after_a_message_was_sent_is_not_owed_it():
    users = room(got_by_b=[("a", "B", "0"), ("a", "A", "1"), ("a", "B", "bye")])
    users[1]["joined"] = 1.5   # after A sent 0 (at 1.0)
    assert verdict(users).items == []
