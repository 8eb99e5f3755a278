"""The non-blocking DNS resolver (issue 11) against a real DNS server the test starts on
127.0.0.1 at a port the kernel picks, built with dnslib: A, AAAA and the preference
between them, NXDOMAIN, no answer (timeout after the retries), a spoofed answer with a
wrong ID, a cut-short packet, a compression loop, the TC bit, and answers over 512
bytes without it. The client is `fetch`
(through `--dns udp://127.0.0.1:PORT`) asking for an HTTP server on loopback, so a right
answer shows as the server's page and a wrong one as an error. Every board (under qemu
for ARM)."""
import http.server
import socket
import struct
import threading
import time

import pytest
from dnslib import AAAA, QTYPE, RCODE, RR, A, DNSRecord

from conftest import SLOW
from test_client import made_then_closed, run


class DnsServer:
    """A UDP nameserver on 127.0.0.1. `zone` maps a name to a function of the query
    that returns the datagrams to send back (in order); it counts the queries per name."""

    def __init__(self, zone):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.zone = zone
        self.queries = {}
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                data, peer = self.sock.recvfrom(2048)
            except OSError:
                return
            query = DNSRecord.parse(data)
            name = str(query.q.qname).rstrip(".")
            kind = QTYPE[query.q.qtype]
            self.queries.setdefault(name, []).append(kind)
            for packet in self.zone.get(name, nxdomain)(query):
                self.sock.sendto(packet, peer)

    def close(self):
        self.sock.close()


def records(*rrs):
    """A good answer with the records of the type asked."""
    def answer(query):
        reply = query.reply()
        for rr in rrs:
            if rr.rtype == query.q.qtype:
                reply.add_answer(rr)
        return [reply.pack()]
    return answer


def nxdomain(query):
    reply = query.reply()
    reply.header.rcode = RCODE.NXDOMAIN
    return [reply.pack()]


def a(name, ip):
    return RR(name, QTYPE.A, rdata=A(ip), ttl=60)


def aaaa(name, ip):
    return RR(name, QTYPE.AAAA, rdata=AAAA(ip), ttl=60)


def first(bad, good):
    """Sends a bad datagram before the good answer: the resolver must skip it."""
    def answer(query):
        return [bad(query)] + good(query)
    return answer


def wrong_id(query):
    """An answer pointing elsewhere (127.0.0.2, where nothing listens), under another ID."""
    reply = query.reply()
    reply.header.id = (query.header.id + 1) & 0xFFFF
    reply.add_answer(a(str(query.q.qname), "127.0.0.2"))
    return reply.pack()


def cut_short(query):
    """A well-formed answer to 127.0.0.2 with its last bytes cut off."""
    reply = query.reply()
    reply.add_answer(a(str(query.q.qname), "127.0.0.2"))
    return reply.pack()[:-3]


def compression_loop(query):
    """An answer whose record name is a pointer to itself."""
    header = struct.pack("!HHHHHH", query.header.id, 0x8180, 1, 1, 0, 0)
    question = query.pack()[12:]
    at = 12 + len(question)
    record = struct.pack("!H", 0xC000 | at) + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("127.0.0.2")
    return header + question + record


def truncated(query):
    reply = query.reply()
    reply.header.tc = 1
    return [reply.pack()]


def silent(query):
    return []


class Page(http.server.BaseHTTPRequestHandler):
    """Answers every GET with the address family the server listens on."""

    def do_GET(self):
        body = self.server.label.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


class V6Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


@pytest.fixture
def pages():
    """HTTP servers on 127.0.0.1 and ::1, the same port, answering "v4" and "v6"."""
    for _ in range(20):
        v4 = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
        try:
            v6 = V6Server(("::1", v4.server_address[1]), Page)
            break
        except OSError:
            v4.server_close()
    v4.label, v6.label = "v4", "v6"
    for s in (v4, v6):
        threading.Thread(target=s.serve_forever, daemon=True).start()
    yield v4.server_address[1]
    for s in (v4, v6):
        s.shutdown()
        s.server_close()


@pytest.fixture
def dns():
    yield from made_then_closed(DnsServer)


def fetch(dns_server, name, port, *extra, timeout_ms=3000):
    return run("fetch", "--dns", f"udp://127.0.0.1:{dns_server.port}", "--timeout-ms", str(int(timeout_ms * SLOW)),
               *extra, f"http://{name}:{port}/")


def test_a_record(dns, pages):
    server = dns({"board.test": records(a("board.test", "127.0.0.1"))})
    assert fetch(server, "board.test", pages) == (0, "status 200\nv4")
    assert server.queries["board.test"] == ["A"]


def test_aaaa_when_the_name_has_no_a_record(dns, pages):
    server = dns({"six.test": records(aaaa("six.test", "::1"))})
    assert fetch(server, "six.test", pages) == (0, "status 200\nv6")
    assert server.queries["six.test"] == ["A", "AAAA"]


def test_the_preferred_family_comes_first(dns, pages):
    both = records(a("both.test", "127.0.0.1"), aaaa("both.test", "::1"))
    server = dns({"both.test": both})
    assert fetch(server, "both.test", pages) == (0, "status 200\nv4")
    assert fetch(server, "both.test", pages, "--ipv6-first") == (0, "status 200\nv6")
    assert server.queries["both.test"] == ["A", "AAAA"]


def test_nxdomain_is_an_error(dns, pages):
    server = dns({})
    code, out = fetch(server, "missing.test", pages)
    # The server's RCODE rides along as the error's code (conn.lastErrorCode): NXDOMAIN, 3.
    assert code == 1 and "error: dns: no such host [code 3]" in out


def test_a_silent_nameserver_is_asked_three_times_then_an_error(dns, pages):
    server = dns({"quiet.test": silent})
    started = time.monotonic()
    code, out = fetch(server, "quiet.test", pages, timeout_ms=1500)
    assert code == 1 and "error: dns: no answer in time [errno 110]" in out     # ETIMEDOUT
    assert server.queries["quiet.test"] == ["A", "A", "A"]      # Limits.dnsTries
    assert time.monotonic() - started >= 1.4


@pytest.mark.parametrize("bad", [wrong_id, cut_short, compression_loop], ids=["wrong-id", "cut-short", "loop"])
def test_a_bad_answer_is_ignored_and_the_good_one_taken(dns, pages, bad):
    server = dns({"board.test": first(bad, records(a("board.test", "127.0.0.1")))})
    assert fetch(server, "board.test", pages) == (0, "status 200\nv4")


@pytest.mark.parametrize("bad", [wrong_id, compression_loop], ids=["wrong-id", "loop"])
def test_only_bad_answers_end_in_an_error(dns, pages, bad):
    server = dns({"board.test": lambda q: [bad(q)]})
    code, out = fetch(server, "board.test", pages, timeout_ms=900)
    assert code == 1 and "error: dns: no answer in time" in out
    assert len(server.queries["board.test"]) == 3


def test_a_truncated_answer_is_an_error(dns, pages):
    server = dns({"big.test": truncated})
    code, out = fetch(server, "big.test", pages)
    assert code == 1 and "error: dns: truncated answer" in out


def test_a_name_that_cannot_be_asked_fails_at_once(dns, pages):
    server = dns({})
    code, out = fetch(server, "bad_name!.test", pages)
    assert code == 1 and "cannot resolve" in out
    assert server.queries == {}


def oversized(*rrs):
    """An answer over UDP's 512 bytes without TC (servers that ignore the limit): the
    records as given, every type, and no truncation flag."""
    def answer(query):
        reply = query.reply()
        for rr in rrs:
            reply.add_answer(rr)
        packet = reply.pack()
        assert len(packet) > 512 and not reply.header.tc
        return [packet]
    return answer


def test_an_answer_over_512_bytes_without_tc_uses_the_records_that_fit(dns, pages):
    # 40 A records, 666 bytes: the first ones arrive whole in the 512-byte read.
    many = [a("many.test", "127.0.0.1")] + [a("many.test", f"127.0.0.{i}") for i in range(2, 41)]
    server = dns({"many.test": oversized(*many)})
    assert fetch(server, "many.test", pages) == (0, "status 200\nv4")
    assert server.queries["many.test"] == ["A"]             # asked once: the answer was taken


def test_an_answer_over_512_bytes_with_no_address_in_reach_is_as_tc(dns, pages):
    from dnslib import TXT
    # A 600-byte TXT record first: nothing of our type arrives whole, as if TC were set.
    big = RR("far.test", QTYPE.TXT, rdata=TXT(["x" * 200, "y" * 200, "z" * 200]), ttl=60)
    server = dns({"far.test": oversized(big, a("far.test", "127.0.0.1"))})
    code, out = fetch(server, "far.test", pages)
    assert code == 1 and "error: dns: truncated answer" in out
    assert server.queries["far.test"] == ["A"]
