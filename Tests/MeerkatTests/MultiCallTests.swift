import Testing
@testable import Meerkat
@testable import MeerkatApp

/// The multi-call firmware's choice of app (issue 22): by the name it was started under
/// (a link named like the app), else by its first argument, as busybox does.
@Suite struct MultiCallTests {
    let names = ["echo-server", "fetch"]

    func choice(_ program: String, _ arguments: [String]) -> MultiCall.Choice {
        MultiCall.choose(program: program, arguments: arguments, names: names)
    }

    @Test func aLinkNamedLikeAnAppRunsItWithItsArguments() {
        #expect(choice("fetch", ["echo-server"]) == .app(1, shift: false))
        #expect(choice("echo-server", []) == .app(0, shift: false))
        #expect(choice("echo-server", ["--help"]) == .app(0, shift: false))  // the app's own
    }

    @Test func anyOtherNameRunsTheAppOfTheFirstArgument() {
        #expect(choice("meerkat", ["echo-server", "--listen", "http://127.0.0.1:0"]) == .app(0, shift: true))
        #expect(choice("meerkat-0.9", ["fetch", "--version"]) == .app(1, shift: true))  // a renamed copy
    }

    @Test func noAppListsThemOrPrintsTheVersion() {
        #expect(choice("meerkat", []) == .help(exitCode: 2))
        #expect(choice("meerkat", ["--help"]) == .help(exitCode: 0))
        #expect(choice("meerkat", ["-h"]) == .help(exitCode: 0))
        #expect(choice("meerkat", ["--version"]) == .version)
        #expect(choice("meerkat", ["--listen", "http://127.0.0.1:0", "--version"]) == .version)
    }

    @Test func anUnknownAppIsNamed() {
        #expect(choice("meerkat", ["echo"]) == .unknown("echo"))
        #expect(choice("meerkat", ["Echo-Server", "--version"]) == .unknown("Echo-Server"))
        #expect(choice("meerkat", ["--listen", "x"]) == .unknown("--listen"))
    }
}
