"""make bench, the charts (issue 13): draws BENCHMARKS.md's pictures from the figures the
benchmark scripts leave in build/bench/ (matplotlib from PyPI, installed by make bench).
So far: CPU per request and per WebSocket message by server (bench_cpu.py's cpu.json)
-> docs/bench-cpu.png."""
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DATA = os.path.join(ROOT, "build", "bench", "cpu.json")
OUT = os.path.join(ROOT, "docs", "bench-cpu.png")
COLORS = {"Meerkat echo-server": "#0f766e", "bare C floor (epoll)": "#94a3b8",
          "nginx 1 worker (return 200)": "#c2410c", "node + ws": "#7c3aed"}


def bars(ax, figures, title, unit):
    names = list(figures)
    values = [figures[n][0] for n in names]
    floor = figures["bare C floor (epoll)"][0]
    ax.barh(names, values, color=[COLORS.get(n, "#64748b") for n in names])
    ax.axvline(floor * 1.10, color="#1f2933", linestyle="--", linewidth=1, label="1.10 × the C floor (the goal)")
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    for y, v in enumerate(values):
        ax.text(v, y, f" {v:.2f} µs ({v / floor:.2f}×)", va="center", fontsize=9)
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(unit)
    ax.set_xlim(0, max(values) * 1.45)
    ax.invert_yaxis()
    ax.spines[["top", "right"]].set_visible(False)


def main():
    with open(DATA) as f:
        d = json.load(f)
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 3.4))
    bars(a, d["http"], f"Keep-alive HTTP ({d['response_bytes']}-byte response)", "server CPU µs per request")
    bars(b, d["websocket"], "WebSocket echo (16-byte text)", "server CPU µs per round trip")
    fig.suptitle("Server CPU per unit of work, server on core 0, load on core 1, median of 5 alternated runs",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(OUT, dpi=110)
    print(f"bench_charts: {OUT}")


if __name__ == "__main__":
    main()
