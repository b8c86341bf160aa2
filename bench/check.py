"""Wall time of `complyflow check` on the shipped configs, as a new process each time (the user's view).

Goal (issue 15): under 2 s on these 2-core machines, with no AWS, no Prefect server, no GX context.
Usage: python -m bench.check [--runs N] [--config DIR]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 2.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--config", default=str(ROOT / "configs"))
    args = parser.parse_args()
    walls = []
    for _ in range(args.runs):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "complyflow.cli", "check", "--config", args.config],
            capture_output=True,
            text=True,
            check=False,
        )
        walls.append(time.perf_counter() - start)
        if done.returncode != 0:
            print(done.stdout, done.stderr, file=sys.stderr)
            return done.returncode
    median = statistics.median(walls)
    print(f"complyflow check: median {median:.2f} s, min {min(walls):.2f} s, max {max(walls):.2f} s over {args.runs}")
    print(f"goal < {GOAL_SECONDS:.1f} s: {'met' if median < GOAL_SECONDS else 'NOT met'}")
    return 0 if median < GOAL_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
