"""Runs a firmware compile (the command after `--`) and passes its output through; when
it fails because the code uses something Embedded Swift lacks, adds one line per place
saying which rule it breaks and what to write instead (README, "Writing code that builds
as firmware"). Exits with the compiler's status.

  python3 scripts/embedded_explain.py -- swiftc … -c app/*.swift -o app.o"""
import re
import subprocess
import sys

# (pattern in swiftc's diagnostic, the rule, what to do instead)
RULES = [
    (r"no such module '(Foundation|FoundationEssentials|FoundationNetworking|Dispatch)'",
     "no Foundation in firmware",
     "drop the import; Meerkat has what an app needs (File, Json, ByteView, timers; AppOptions in MeerkatApp)"),
    (r"no such module '(Glibc|Darwin|Musl)'",
     "no Glibc import in firmware",
     "drop the import; the system calls an app needs are Meerkat's API (File, Manager.watch; AppOptions in MeerkatApp)"),
    (r"untyped throws is not available in Embedded Swift|value of protocol type 'any Error'",
     "typed throws only",
     "write `throws(MyError)` on the function and `do throws(MyError) { … }` around the call"),
    (r"value of protocol type 'any (?!Error)\w+'|existential",
     "no existentials of non-class protocols",
     "use a generic (`some P` / `<T: P>`), an enum of the cases, or make the protocol class-bound (`: AnyObject`)"),
    (r"protocol type 'Any'|protocol type 'AnyObject'",
     "no Any (as in [String: Any])",
     "use a struct with a typed field per key, an enum of the kinds of value, or JsonWriter to write JSON"),
    (r"attribute '(weak|unowned)' cannot be used in Embedded Swift",
     "no weak or unowned references",
     "capture what the closure needs (a Connection handle, a value) instead of self, and set the closure to "
     "nil when it is done to break a cycle"),
    (r"value of type '(String|Substring)' has no member '(firstRange|ranges|firstMatch|wholeMatch|prefixMatch|"
     r"matches|replacing|trimmingPrefix|split)'|cannot find type 'Regex' in scope|"
     r"cannot convert value of type 'String' to expected argument type 'String.Element'",
     "no string processing (Regex, firstRange(of:), replacing) in firmware",
     "work on the bytes: ByteView (`range(of:)`-like scans, split on a byte), `utf8`, hasPrefix/hasSuffix"),
    (r"'Mirror' is unavailable|'init\(describing:\)' is unavailable|'init\(reflecting:\)' is unavailable|"
     r"'dump' is unavailable|unavailable in embedded Swift",
     "no reflection or runtime metadata in firmware",
     "print the fields yourself (string interpolation of each), or give the type a `description` property"),
]

LOCATION = re.compile(r"^(?P<where>[^:\s][^:]*\.swift:\d+):\d+: (error|warning): (?P<text>.*)$")


def main():
    cmd = sys.argv[sys.argv.index("--") + 1:]
    run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    sys.stdout.write(run.stdout)
    explained = {}   # (place, rule) -> line: one per place and rule, an error over a warning
    for line in run.stdout.splitlines():
        m = LOCATION.match(line)
        if not m:
            continue
        for pattern, rule, instead in RULES:
            if re.search(pattern, m["text"]):
                # A warning (an untyped `throws` on a function nothing calls yet) is the
                # same rule: it becomes an error once the function is used.
                key = (m["where"], rule)
                if key not in explained or m[2] == "error":
                    explained[key] = (f"{m[2]}: {m['where']}: Embedded Swift rule broken: {rule} "
                                      f"({m['text'].split(' [#')[0]}); {instead}")
                break
    if explained:
        print("\nThis app must build as Embedded Swift (the firmware). What it uses that Embedded Swift lacks"
              + (":" if run.returncode else " (warnings now, errors once that code is used):"))
        print("\n".join(explained.values()))
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
