"""make fuzz-record [FUZZ_OUTPUT=FILE]: BENCHMARKS.md's fuzzing table, made from the last
run of every target (build/fuzz/logs/<target>.log, what libFuzzer printed with
-print_final_stats, and <target>.load, the load average before and after it, written by
scripts/fuzz.sh) or, given FILE, from what `make fuzz-long` printed (its `fuzz: TARGET:
S s, N executions, cov C ft F` lines), and the kept corpora (Tests/fuzz/corpus/<target>,
after make fuzz-merge if it ran). The table sits between markers in BENCHMARKS.md and is
replaced whole."""
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
LOGS = os.path.join(ROOT, "build", "fuzz", "logs")
BEGIN, END = "<!-- make fuzz-record: one row a target -->", "<!-- end of make fuzz-record -->"
HEAD = "| target | minutes | executions | per second | cov | ft | kept corpus | load average (before, after) |"
RULE = "|---|---|---|---|---|---|---|---|"


def corpus(target):
    folder = os.path.join(ROOT, "Tests", "fuzz", "corpus", target)
    sizes = [os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder)]
    return f"{len(sizes)} / {sum(sizes):,} B"


def row_from_output(target, line):
    """A row from fuzz.sh's own summary line of a run."""
    m = re.match(r"(\d+) s, (\d+) executions, cov (\d+) ft (\d+)", line)
    seconds, runs, cov, ft = (int(g) for g in m.groups())
    return (f"| {target} | {seconds / 60:.1f} | {runs:,} | {runs // max(seconds, 1):,} | {cov} | {ft} |"
            f" {corpus(target)} | not recorded |")


def row(target):
    log = open(os.path.join(LOGS, f"{target}.log"), errors="replace").read()
    done = re.search(r"^Done (\d+) runs in (\d+) second", log, re.M)
    if not done:
        return f"| {target} | crashed or stopped: see build/fuzz/logs/{target}.log | | | | | | |"
    runs, seconds = int(done.group(1)), int(done.group(2))
    last = [line for line in log.splitlines() if re.match(r"^#\d+.*cov: ", line)][-1]
    cov, ft = re.search(r"cov: (\d+)", last).group(1), re.search(r"ft: (\d+)", last).group(1)
    load_file = os.path.join(LOGS, f"{target}.load")
    load = ", ".join(open(load_file).read().split()) if os.path.exists(load_file) else "not recorded"
    return (f"| {target} | {seconds / 60:.1f} | {runs:,} | {runs // max(seconds, 1):,} | {cov} | {ft} |"
            f" {corpus(target)} | {load} |")


def main():
    path = os.path.join(ROOT, "BENCHMARKS.md")
    text = open(path).read()
    if BEGIN not in text:
        sys.exit(f"fuzz-record: BENCHMARKS.md has no {BEGIN!r}")
    if len(sys.argv) > 1:  # what make fuzz-long printed
        lines = re.findall(r"^fuzz: (\S+): (\d+ s, .*)$", open(sys.argv[1]).read(), re.M)
        rows = [row_from_output(t, line) for t, line in sorted(dict(lines).items())]
    else:
        targets = sorted(f[:-4] for f in os.listdir(LOGS) if f.endswith(".log") and not f.endswith(".merge.log"))
        rows = [row(t) for t in targets]
    before, rest = text.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    body = "\n".join([HEAD, RULE, *rows])
    open(path, "w").write(f"{before}{BEGIN}\n{body}\n{END}{after}")
    print(body)


if __name__ == "__main__":
    main()
