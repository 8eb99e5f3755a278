"""make soak-record BOARD=…: BENCHMARKS.md's line for BOARD in the soak table, made from
that board's last `make soak` (build/soak/BOARD: soak.log, what the soak printed, and
samples.jsonl), and its chart copied to docs/soak-BOARD.png. The table sits between
markers in BENCHMARKS.md; a board's row is replaced, the others kept."""
import ast
import json
import os
import re
import shutil
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BEGIN, END = "<!-- make soak-record: one row a board -->", "<!-- end of make soak-record -->"
HEAD = ("| board | minutes (seed) | result | HTTP requests, WSS echoes, chat and fleet messages, uploads |"
        " connections through the proxies (broken by plan) | messages, deliveries and uploads checked |"
        " RSS past warm-up, first third → last third (median KB) | descriptors (median, max) | lowest free (recv, send, pairs); evictions |")
RULE = "|---|---|---|---|---|---|---|---|---|"


def median(xs):
    return sorted(xs)[len(xs) // 2]


def row(board):
    folder = os.path.join(ROOT, "build", "soak", board)
    log = open(os.path.join(folder, "soak.log")).read()
    samples = [json.loads(line) for line in open(os.path.join(folder, "samples.jsonl"))]
    m = re.search(r"soak: (\S+), ([\d.]+) min, seed (\d+)", log)
    minutes, seed = float(m.group(2)), m.group(3)
    tally = ast.literal_eval(re.search(r"^tally: (\{.*\})$", log, re.M).group(1))
    plans = ast.literal_eval(re.search(r"^plans: (\{.*?\});", log, re.M).group(1))
    checked = int(re.search(r"(?:deliveries checked|messages and uploads checked) (\d+)", log).group(1))
    result = "passed" if "soak passed" in log else "FAILED"
    broken = sum(plans.get(k, 0) for k in ("reset", "halfclose", "silent"))
    work = (f"{tally.get('http requests', 0):,}, {tally.get('wss echoes', 0):,},"
            f" {tally.get('chat messages sent', 0):,}, {tally.get('fleet messages sent', 0):,},"
            f" {tally.get('uploads stored', 0):,}")
    after = [s for s in samples if s["t"] >= 30]
    third = max(1, len(after) // 3)
    rss = []
    for key, name in (("rss_kb", "echo"), ("upload_rss_kb", "upload"), ("fleet_rss_kb", "chat")):
        if key in after[0]:
            rss.append(f"{name} {median([s[key] for s in after[:third]]):,} → {median([s[key] for s in after[-third:]]):,}")
    fds = f"{median([s['fds'] for s in after])}, {max(s['fds'] for s in after)}"
    last = samples[-1]
    pools = f"{last.get('recv_lowest')}/{last.get('recv_total')}, {last.get('send_lowest')}/{last.get('send_total')}," \
            f" {last.get('pairs_lowest')}/{last.get('pairs_total')}; {last.get('evictions')}"
    return (f"| {board} | {minutes:g} ({seed}) | {result} | {work} | {sum(plans.values()):,} ({broken:,}) | {checked:,} |"
            f" {'; '.join(rss)} | {fds} | {pools} |")


def main():
    board = sys.argv[1]
    path = os.path.join(ROOT, "BENCHMARKS.md")
    text = open(path).read()
    if BEGIN not in text:
        sys.exit(f"soak-record: BENCHMARKS.md has no {BEGIN!r}")
    before, rest = text.split(BEGIN, 1)
    table, after = rest.split(END, 1)
    rows = {line.split("|")[1].strip(): line for line in table.strip().splitlines()[2:] if line.startswith("|")}
    rows[board] = row(board)
    order = [b for b in ("host", "rpi4", "rpi3-armhf") if b in rows]
    body = "\n".join([HEAD, RULE, *(rows[b] for b in order)])
    open(path, "w").write(f"{before}{BEGIN}\n{body}\n{END}{after}")
    chart = os.path.join(ROOT, "build", "soak", board, "soak.png")
    if os.path.exists(chart):
        shutil.copy(chart, os.path.join(ROOT, "docs", f"soak-{board}.png"))
    print(rows[board])


if __name__ == "__main__":
    main()
