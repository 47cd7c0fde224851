"""One PNG per benchmark run: throughput against the floor, latency, and the two scaling curves."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _measured(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in runs if r.get("status") == "measured"]


def plot(results: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    (ax_rps, ax_lat), (ax_size, ax_hook) = axes
    runs = _measured(results["endpoints"])
    names = [r["name"] for r in runs]
    floor = results.get("floor_rps")

    ratios = [r.get("ratio_to_floor") or 0.0 for r in runs]
    colors = ["#3b75af" if ratio >= 0.75 else "#c0392b" for ratio in ratios]
    ax_rps.barh(names, ratios, color=colors)
    ax_rps.axvline(1.0, color="#555555", linestyle="--", linewidth=1, label="floor (bare Flask)")
    ax_rps.axvline(0.75, color="#c0392b", linestyle=":", linewidth=1, label="target: 0.75 x floor")
    ax_rps.legend(loc="lower right", fontsize=8)
    for y, run in enumerate(runs):
        ax_rps.text(ratios[y], y, f" {ratios[y]:.2f}x ({run['rps']:,.0f} req/s)", va="center", fontsize=8)
    ax_rps.invert_yaxis()
    ax_rps.set_xlim(0, max([1.3, *[r * 1.5 for r in ratios]]))
    ax_rps.set_xlabel("throughput / floor throughput (each run paired with a floor run)")
    ax_rps.set_title(
        f"Throughput vs floor ({floor:,.0f} req/s mean), {results['server']['workers']} sync workers, "
        f"{results['settings']['load_generator']} x{results['settings']['connections']}"
        if floor
        else "Throughput vs floor",
        fontsize=10,
    )

    y = range(len(runs))
    ax_lat.barh([i - 0.2 for i in y], [r["p50_ms"] for r in runs], height=0.4, label="p50", color="#3b75af")
    ax_lat.barh([i + 0.2 for i in y], [r["p99_ms"] for r in runs], height=0.4, label="p99", color="#e67e22")
    ax_lat.set_yticks(list(y), names)
    ax_lat.invert_yaxis()
    ax_lat.set_xscale("log")
    ax_lat.set_xlabel("latency under saturation (closed loop), ms, log scale")
    rate = results.get("rate_limited") or {}
    title = "Latency at maximum rate"
    if rate.get("status") == "measured":
        title += f"; hook at {rate['target_rate']:.0f} req/s: p99 {rate['p99_ms']:.1f} ms"
    ax_lat.set_title(title)
    ax_lat.legend(fontsize=8)

    scaling = _measured((results.get("scaling") or {}).get("runs", []))
    for op, marker in (("validate-code", "o"), ("lookup", "s"), ("expand-filter", "^")):
        points = sorted(
            (int(r["name"].split("@")[1]), r["p50_ms"]) for r in scaling if r["name"].startswith(op + "@")
        )
        if points:
            ax_size.plot([p[0] for p in points], [p[1] for p in points], marker=marker, label=op)
    ax_size.set_xscale("log")
    ax_size.set_yscale("log")
    ax_size.set_xlabel("concepts in the CodeSystem")
    ax_size.set_ylabel("p50 latency, ms (1 connection), log scale")
    ax_size.set_title("Terminology cost as the CodeSystem grows")
    ax_size.grid(True, which="both", alpha=0.3)
    if ax_size.lines:
        ax_size.legend(fontsize=8)

    hook = sorted(
        (int(r["name"].split("@")[1]), r["p50_ms"], r["p99_ms"], r["request_bytes"])
        for r in scaling
        if r["name"].startswith("order-sign@")
    )
    if hook:
        ax_hook.plot([h[0] for h in hook], [h[1] for h in hook], marker="o", label="p50")
        ax_hook.plot([h[0] for h in hook], [h[2] for h in hook], marker="o", label="p99")
        for h in hook:
            ax_hook.annotate(
                f"{h[3] / 1024:,.0f} KB",
                (h[0], h[1]),
                fontsize=7,
                textcoords="offset points",
                xytext=(4, -10),
            )
        ax_hook.legend(fontsize=8)
    ax_hook.set_xscale("log")
    ax_hook.set_yscale("log")
    ax_hook.set_xlabel("resources in the prefetch")
    ax_hook.set_ylabel("latency, ms (1 connection), log scale")
    ax_hook.set_title("order-sign cost as the prefetch grows")
    ax_hook.grid(True, which="both", alpha=0.3)

    fig.suptitle(
        f"cpt-plugin benchmark {results['started_at']} ({results['commit'][:12]}), "
        f"{results['machine']['cores']} cores",
        fontsize=11,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
