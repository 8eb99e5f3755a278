import Meerkat
import MeerkatTesting
import Testing
@testable import __MODULE__

// The handler, fed requests and WebSocket messages with no socket listening and no port
// (Meerkat's TestChannel), the same code that runs on the board.
//
// Swift Testing runs these tests in parallel, each with its own TestChannel (and
// manager). A handler that keeps global state (a list of clients, a counter) would be
// shared by tests running at once: put those in a `@Suite(.serialized) struct`, or keep
// the state in an object each test makes.

@Test func thePageIsServed() throws {
    let channel = try TestChannel(handler: handle)
    let reply = try #require(channel.request("GET", "/"))
    #expect(reply.status == 200)
    #expect(reply.header("Content-Type") == "text/html; charset=utf-8")
    #expect(reply.text.contains("<title>__NAME__</title>"))
}

@Test func theWebSocketSendsEachMessageBack() throws {
    let channel = try TestChannel(handler: handle)
    #expect(channel.upgrade("/ws")?.status == 101)
    channel.sendText("hello")
    #expect(channel.receiveText() == "hello")
    channel.sendText("and again")
    #expect(channel.receiveText() == "and again")
    channel.sendMessage([0, 1, 255])   // binary
    #expect(channel.receiveMessage() == TestMessage(opcode: WEBSOCKET_OP_BINARY, data: [0, 1, 255]))
}

// With each board's sizes (boards/*.mk in Meerkat): a reply too large for rpi3-armhf's
// 8 KiB send block fails here, on the host, as it would on the board.
@Test(arguments: Limits.boardNames) func thePageIsServedOnEveryBoard(board: String) throws {
    let channel = try TestChannel(limits: #require(Limits(board: board)), handler: handle)
    #expect(channel.request("GET", "/")?.status == 200)
}

@Test func otherPathsAreNotFound() throws {
    let channel = try TestChannel(handler: handle)
    #expect(channel.request("GET", "/nothing")?.status == 404)
    #expect(channel.request("GET", "/ws")?.status == 400)   // /ws without the upgrade headers
}
