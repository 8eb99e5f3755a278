import Testing
@testable import MeerkatApp

/// The pieces of `AppOptions.number(of:default:in:)` and of the `valued` entries'
/// placeholders (the whole, with its exit 2, runs in test_ota.py on every board).
@Suite struct AppOptionsTests {
    @Test func decimalTakesDigitsAloneAndNeverOverflows() {
        #expect(AppOptions.decimal("0") == 0)
        #expect(AppOptions.decimal("3145728") == 3_145_728)
        #expect(AppOptions.decimal("18446744073709551615") == UInt64.max)
        for bad in ["", "18446744073709551616", "99999999999999999999999", "-5", "+5", "10MB", " 7", "7 ", "0x10", "1e3"] {
            #expect(AppOptions.decimal(bad) == nil, "\(bad)")
        }
        #expect(AppOptions.number("99999999") == 99_999_999)
        #expect(AppOptions.number("100000000") == nil)  // more than 8 digits, as before
    }

    @Test func aValuedEntryCarriesItsPlaceholderAfterASpace() {
        #expect(AppOptions.optionName("--ota-limit BYTES") == "--ota-limit")
        #expect(AppOptions.placeholder("--ota-limit BYTES") == "BYTES")
        #expect(AppOptions.optionName("--room") == "--room")
        #expect(AppOptions.placeholder("--room") == nil)
    }
}
