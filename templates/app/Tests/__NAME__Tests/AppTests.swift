import Meerkat
import Testing
@testable import __MODULE__

// The handler, fed requests and WebSocket messages with no socket listening and no port
// (Meerkat's TestChannel), the same code that runs on the board.

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
}

@Test func otherPathsAreNotFound() throws {
    let channel = try TestChannel(handler: handle)
    #expect(channel.request("GET", "/nothing")?.status == 404)
    #expect(channel.request("GET", "/ws")?.status == 400)   // /ws without the upgrade headers
}
