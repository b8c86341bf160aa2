"""Wall time and peak memory of `complyflow demo`, from cold and with a standing Prefect server.

Goals (issue 17): under 30 s from cold (a fresh Prefect home: temporary server and migrations
included) and under 20 s with a standing server, on these 2-core machines.
Usage: python -m bench.demo [--runs N]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.prefect_api import child_env, prefect_api

GOALS = {"cold": 30.0, "standing server": 20.0}


def _demo(env: dict[str, str], evidence: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "complyflow.cli", "demo", "--evidence-dir", str(evidence)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"demo failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[float]] = {"cold": [], "standing server": []}
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="complyflow-bench-demo-") as scratch:
        for run in range(args.runs):  # a fresh Prefect home each time: temporary server and migrations included
            with prefect_api("ephemeral", Path(scratch) / f"cold-{run}", root) as api:
                results["cold"].append(_demo(child_env(api.env), Path(scratch) / f"evidence-cold-{run}"))
        with prefect_api("server", Path(scratch) / "standing", root) as api:
            for run in range(args.runs):
                results["standing server"].append(_demo(child_env(api.env), Path(scratch) / f"evidence-standing-{run}"))
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    met = True
    for name, walls in results.items():
        median = statistics.median(walls)
        ok = median < GOALS[name]
        met &= ok
        print(
            f"demo, {name}: median {median:.1f} s (min {min(walls):.1f}, max {max(walls):.1f}) — goal < "
            f"{GOALS[name]:.0f} s {'met' if ok else 'NOT met'}"
        )
    print(f"peak RSS of one demo process: {peak_mb:.0f} MB")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
