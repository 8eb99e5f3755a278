"""make bench, the charts (issue 13): draws BENCHMARKS.md's pictures from the figures the
benchmark scripts leave in build/bench/ (matplotlib from PyPI, installed by make bench):
- docs/bench-cpu.png: server CPU per keep-alive request and per WebSocket echo, and
  user-space instructions per request (bench_cpu.py's cpu.json);
- docs/bench-idle-rss.png: RSS against idle WebSocket connections (bench_ws.py's idle.json);
- docs/bench-tls.png: TLS handshakes and keep-alive requests per second against nginx
  (bench_tls.py's tls.json).
A chart whose figures are missing (that part of the benchmark did not run) is skipped."""
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DATA = os.path.join(ROOT, "build", "bench")
DOCS = os.path.join(ROOT, "docs")
MEERKAT, FLOOR = "Meerkat echo-server", "bare C floor (epoll)"
COLORS = {MEERKAT: "#0f766e", FLOOR: "#94a3b8", "nginx 1 worker (return 200)": "#c2410c",
          "node + ws": "#7c3aed", "Python websockets": "#ca8a04", "Meerkat": "#0f766e", "nginx": "#c2410c"}


def figures(name):
    path = os.path.join(DATA, name)
    if not os.path.exists(path):
        print(f"bench_charts: no {path}, its chart is skipped")
        return None
    with open(path) as f:
        return json.load(f)


def tidy(ax):
    ax.spines[["top", "right"]].set_visible(False)


def bars(ax, values, title, unit, label, goal=None):
    """Horizontal bars, one per server, each labelled with `label(value)`."""
    names = list(values)
    ax.barh(names, [values[n] for n in names], color=[COLORS.get(n, "#64748b") for n in names])
    if goal:
        ax.axvline(goal, color="#1f2933", linestyle="--", linewidth=1)
        unit += "\n(dashed: 1.10 × the C floor, the goal)"
    for y, n in enumerate(names):
        ax.text(values[n], y, " " + label(values[n]), va="center", fontsize=9)
    ax.set_title(title, fontsize=11)
    ax.set_xlabel(unit)
    ax.set_xlim(0, max(values.values()) * 1.5)
    ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k" if v >= 10000 else f"{v:g}"))
    ax.invert_yaxis()
    tidy(ax)


def cpu_chart(d):
    http = {n: v[0] for n, v in d["http"].items()}
    ws = {n: v[0] for n, v in d["websocket"].items()}
    panels = 3 if d.get("instructions") else 2
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 3.8))
    floor = http[FLOOR]
    bars(axes[0], http, f"Keep-alive HTTP ({d['response_bytes']}-byte response)", "server CPU µs per request",
         lambda v: f"{v:.2f} µs ({v / floor:.2f}×)", goal=floor * 1.10)
    wfloor = ws[FLOOR]
    bars(axes[1], ws, "WebSocket echo (16-byte text)", "server CPU µs per round trip",
         lambda v: f"{v:.2f} µs ({v / wfloor:.2f}×)", goal=wfloor * 1.10)
    if panels == 3:
        bars(axes[2], d["instructions"], "User-space instructions per HTTP request", "instructions (callgrind)",
             lambda v: f"{v:,.0f}")
    fig.suptitle("Server work per unit: server on core 0, load on core 1, median of alternated runs",
                 fontsize=10)
    fig.tight_layout()
    save(fig, "bench-cpu.png")


def idle_chart(d):
    fig, ax = plt.subplots(figsize=(8, 4))
    steps = d["connections"]
    for name, rss in d["rss_kb"].items():
        ax.plot(steps, [r / 1024 for r in rss], marker="o", color=COLORS.get(name, "#64748b"), label=name)
        ax.annotate(f"{rss[-1] / 1024:.1f} MiB", (steps[-1], rss[-1] / 1024), textcoords="offset points",
                    xytext=(6, -3), fontsize=9)
    ax.set_xlabel("idle WebSocket connections (upgraded, nothing pending)")
    ax.set_ylabel("server RSS (MiB, log scale)")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_title("Memory against idle connections (Meerkat's table is sized at start for 10,100)", fontsize=11)
    ax.set_xlim(0, steps[-1] * 1.18)
    ax.legend(frameon=False, fontsize=9)
    tidy(ax)
    fig.tight_layout()
    save(fig, "bench-idle-rss.png")


def tls_chart(d):
    names = list(d["figures"])
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3))
    for ax, name in zip(axes, names):
        values = d["figures"][name]
        ratio = values["Meerkat"] / values["nginx"]
        bars(ax, values, f"{name}\nMeerkat / nginx = {ratio:.2f}", "per second", lambda v: f"{v:,.0f}")
    fig.suptitle(f"TLS 1.2, {d['suite']}, P-256; Meerkat (mbedTLS 2.28) and nginx (OpenSSL 3.0), "
                 f"one core each, median of {d['rounds']} alternated runs", fontsize=10)
    fig.tight_layout()
    save(fig, "bench-tls.png")


def save(fig, name):
    path = os.path.join(DOCS, name)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"bench_charts: {path}")


def main():
    for name, draw in (("cpu.json", cpu_chart), ("idle.json", idle_chart), ("tls.json", tls_chart)):
        d = figures(name)
        if d:
            draw(d)


if __name__ == "__main__":
    main()
