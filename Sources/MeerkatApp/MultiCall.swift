import CMeerkat
import Meerkat

/// The start of the multi-call firmware (`build/BOARD/bin/meerkat`, made by `make
/// firmware`): one binary holding every app of the build, which runs the app its name
/// says, as busybox does. Started through a link named like an app (`echo-server ->
/// meerkat`), it runs that app; started under any other name, it runs the app its first
/// argument names (`meerkat echo-server --listen …`), which then sees its arguments as
/// if started alone (its name first: `--version` and usage name the app). `meerkat
/// --help` lists the apps (exit 0, or 2 with no argument at all), an unknown name gets
/// the list and exit 2, and `--version` among options with no app prints the binary's
/// version line.
public enum MultiCall {
    /// An app's entry: its `main`, renamed when the multi-call binary is linked (each
    /// app's object is the one its own binary is linked from).
    public typealias Entry = @convention(c) (Int32, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32

    /// What a command line asks of the multi-call binary.
    enum Choice: Equatable {
        /// The app at this index of the list; `shift` when its name was the first argument.
        case app(Int, shift: Bool)
        /// The list of apps; exit code 0 when asked for (`--help`), 2 when nothing was.
        case help(exitCode: Int32)
        case version
        case unknown(String)
    }

    /// Runs the app the command line names and exits with what its `main` returns (0
    /// when its top-level code ends), or lists the apps; never returns.
    public static func run(_ apps: [(name: String, main: Entry)]) -> Never {
        let names = apps.map { $0.name }
        switch choose(program: AppOptions.programName, arguments: AppOptions.rawArguments, names: names) {
        case .app(let index, let shift):
            if shift { mk_shift_args() }
            AppOptions.exitProcess(apps[index].main(mk_argc(), mk_args()))
        case .help(let code):
            print(usage(names))
            AppOptions.exitProcess(code)
        case .version:
            print(AppOptions.versionLine(program: AppOptions.programName))
            AppOptions.exitProcess(0)
        case .unknown(let name):
            print("\(AppOptions.programName): no app named \(name)")
            print(usage(names))
            AppOptions.exitProcess(2)
        }
    }

    /// The choice for a program started as `program` (argv[0]'s last component) with
    /// `arguments` (argv[1...]), the apps being `names`.
    static func choose(program: String, arguments: [String], names: [String]) -> Choice {
        if let index = names.firstIndex(of: program) { return .app(index, shift: false) }
        guard let first = arguments.first else { return .help(exitCode: 2) }
        if let index = names.firstIndex(of: first) { return .app(index, shift: true) }
        if first == "--help" || first == "-h" { return .help(exitCode: 0) }
        if first.hasPrefix("-") && arguments.contains("--version") { return .version }
        return .unknown(first)
    }

    static func usage(_ names: [String]) -> String {
        var text = "usage: \(AppOptions.programName) APP [ARGUMENT]..., or a link named APP to this binary\napps:"
        for name in names { text += " " + name }
        return text
    }
}
