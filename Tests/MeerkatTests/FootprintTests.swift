import Testing
@testable import Meerkat

/// DESIGN.md: a connection slot is small (a few hundred bytes) and holds no buffer, so
/// idle connections cost kilobytes per thousand. Slot plus its links in every queue.
@Test func connectionSlotStaysSmall() {
    let perSlot = Manager().bytesPerSlot
    print("bytes per connection slot (slot + queue links): \(perSlot)")
    #expect(perSlot <= 256)
}
