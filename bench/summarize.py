"""Markdown rows for bench/README.md from one or more results.json files (python bench/summarize.py a.json b.json)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HEADERS = (
    "N",
    "resources",
    "Prefect",
    "wall s",
    "CPU s",
    "load",
    "collect s",
    "validate s",
    "notify s",
    "Prefect s (share)",
    "calls",
    "min calls (svc / tagging)",
    "ratio (svc / tagging)",
    "peak RSS MB (tree)",
    "resources/s",
    "Prowler wall s",
    "Prowler calls",
    "Prowler/complyflow",
)


def rows(results: dict[str, Any]) -> list[list[str]]:
    out = []
    prowler = results.get("prowler") or {}
    minimum = results.get("minimum_calls", {})
    for run in results.get("complyflow_runs", []):
        wall, prefect = run["wall_seconds"], run.get("prefect_seconds") or 0.0
        timings = run.get("timings", {})
        out.append(
            [
                str(results["scale"]),
                str(results["resources"]),
                run["prefect_mode"] + (f" #{run['repeat']}" if results.get("repeat", 1) > 1 else ""),
                f"{wall:.1f}",
                f"{run['cpu_seconds']:.1f}",
                f"{run['load_avg_1m_at_end']:.1f}",
                f"{timings.get('collect', 0):.1f}",
                f"{timings.get('validate', 0):.1f}",
                f"{timings.get('notify', 0):.2f}",
                f"{prefect:.1f} ({100 * prefect / wall:.0f}%)",
                str(run["calls_total"]),
                f"{minimum.get('service_apis')} / {minimum.get('with_tagging_api')}",
                f"{run['calls_ratio']:.2f} / {run['calls_ratio_tagging']:.2f}",
                f"{run['peak_rss_mb']:.0f} ({run['peak_tree_rss_mb']:.0f})",
                f"{run['resources_per_second']:.1f}",
                f"{prowler.get('wall_seconds', '-')}",
                str(prowler.get("calls_total", "-")),
                f"{prowler['wall_seconds'] / wall:.2f}x" if prowler.get("wall_seconds") else "-",
            ]
        )
    return out


def main(paths: list[str]) -> None:
    print("| " + " | ".join(HEADERS) + " |")
    print("|" + "---|" * len(HEADERS))
    for path in paths:
        for row in rows(json.loads(Path(path).read_text())):
            print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
