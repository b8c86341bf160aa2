"""What Prefect's task runs cost inside a flow body, which the nightly bench cannot split from the steps.

    python bench/task_overhead.py [--tasks 29] [--repeat 3]

A nightly run makes 29 task runs (16 collect, 12 validate, 1 account; counted in the bench's Prefect
database). This starts `prefect server start` on 127.0.0.1 (the bench's own PREFECT_HOME), then in
one child process runs a flow of that many do-nothing tasks on the nightly's task runner
(ThreadPoolTaskRunner, 8 workers), after one warm-up run, and prints the flow body's wall and CPU
seconds with and without the tasks: the difference is Prefect's bookkeeping for those task runs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.complyflow_run import REPO  # noqa: E402
from bench.prefect_api import child_env, prefect_api  # noqa: E402

CHILD = """
import sys, time
from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner

@task
def noop(i: int) -> int:
    return i

@flow(task_runner=ThreadPoolTaskRunner(max_workers=8))
def tasks_flow(n: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for future in [noop.submit(i) for i in range(n)]:
        future.result()
    return time.perf_counter() - wall, time.process_time() - cpu

tasks_flow(int(sys.argv[1]))  # warm-up: first-use imports and clients
for n in [0, int(sys.argv[1])] * int(sys.argv[2]):
    wall, cpu = tasks_flow(n)
    print(f"{n} {wall:.3f} {cpu:.3f}", flush=True)
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=29, help="task runs per flow (default 29, as a nightly)")
    parser.add_argument("--repeat", type=int, default=3, help="flows with and without the tasks (default 3)")
    args = parser.parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="complyflow-task-overhead-") as home,
        prefect_api("server", Path(home), REPO) as api,
    ):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(args.tasks), str(args.repeat)],
            env=child_env(api.env),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    rows = [line.split() for line in out.splitlines() if line.strip()]
    for n in (0, args.tasks):
        walls = sorted(float(w) for k, w, _ in rows if int(k) == n)
        cpus = sorted(float(c) for k, _, c in rows if int(k) == n)
        print(
            f"{n:3d} tasks: flow body wall {walls[len(walls) // 2]:.3f} s (median of {len(walls)}), "
            f"CPU {cpus[len(cpus) // 2]:.3f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
