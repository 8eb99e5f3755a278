import Testing
@testable import Meerkat

/// DESIGN.md: a connection slot is small (a few hundred bytes) and holds no buffer, so
/// idle connections cost kilobytes per thousand. Slot plus its links in every queue.
@Test func connectionSlotStaysSmall() {
    let perSlot = Manager().bytesPerSlot
    print("bytes per connection slot (slot + queue links): \(perSlot)")
    #expect(perSlot <= 256)
}

/// What a TLS session (no record buffers) and a record-buffer pair cost, as README and
/// scripts/size.sh state them (Debian's mbedTLS 2.28 sizes the context and buffers when
/// it is built). A different mbedTLS fails here first, so the figures are updated with it.
@Test func tlsSessionCostIsWhatTheReadmeSays() {
    #expect(Manager.tlsSessionBytes == 904)
    #expect(Manager.tlsPairBytes == 33_434)
}
