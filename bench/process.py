"""Run a child process and measure it: wall time, its own peak RSS (kernel high-water mark) and the
sampled peak RSS of its whole process tree (an ephemeral Prefect server is a grandchild)."""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
SAMPLE_SECONDS = 0.05


@dataclass(frozen=True)
class Measured:
    returncode: int
    started: float  # time.time() at spawn
    wall: float
    peak_rss_mb: float  # the child process alone (ru_maxrss)
    peak_tree_rss_mb: float  # child and descendants, sampled every 50 ms
    cpu_seconds: float  # user + system of the child and the descendants it reaped: robust to a busy machine
    load_avg: float  # 1-minute load average when the child ended (2 cores here: above 2 means waiting)
    rss_samples: list[tuple[float, float]]  # (time.time(), MB of the child process alone), every 50 ms
    stdout: str
    stderr: str


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return kids


def tree_rss_bytes(root: int) -> int:
    """Resident memory of a process and all its descendants (0 once it is gone)."""
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue
        stack += _children(pid)
    return total


def run_measured(cmd: list[str], env: dict[str, str], cwd: str | None = None, timeout: float = 7200) -> Measured:
    """Spawn, sample the tree's RSS until exit, then reap with wait4 for the child's own peak RSS."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started, clock = time.time(), time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=err)
        peak_tree = 0
        samples: list[tuple[float, float]] = []
        done = threading.Event()

        def sample() -> None:
            nonlocal peak_tree
            while not done.is_set():
                peak_tree = max(peak_tree, tree_rss_bytes(proc.pid))
                try:
                    own = int(Path(f"/proc/{proc.pid}/statm").read_text().split()[1]) * PAGE
                    samples.append((time.time(), own / 2**20))
                except (OSError, IndexError, ValueError):
                    pass
                done.wait(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        deadline = clock + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
            time.sleep(0.01)
        wall = time.perf_counter() - clock
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    return Measured(
        returncode=proc.returncode,
        started=started,
        wall=wall,
        peak_rss_mb=usage.ru_maxrss / 1024,
        peak_tree_rss_mb=peak_tree / 2**20,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        load_avg=os.getloadavg()[0],
        rss_samples=samples,
        stdout=stdout,
        stderr=stderr,
    )
