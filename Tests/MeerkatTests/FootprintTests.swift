import Testing
@testable import Meerkat

/// DESIGN.md: a connection slot is small (a few hundred bytes) and holds no buffer, so
/// idle connections cost kilobytes per thousand. Slot plus its six queue links.
@Test func connectionSlotStaysSmall() {
    let perSlot = MemoryLayout<Slot>.stride + 6 * (4 + 4 + 8)
    print("bytes per connection slot (slot + queue links): \(perSlot)")
    #expect(perSlot <= 256)
}
