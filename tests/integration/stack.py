"""A real local Prefect stack for integration tests: `prefect server start` (SQLite) and a process worker.

Every process runs in its own session under a temporary PREFECT_HOME, bound to 127.0.0.1, and `stop()`
kills it with every descendant (flow-run processes included), so nothing outlives the test session.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PREFECT = [sys.executable, "-m", "prefect"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    """Direct children of a process, from /proc (Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def descendants(pid: int) -> list[int]:
    out, queue = [], [pid]
    while queue:
        for child in _children(queue.pop()):
            out.append(child)
            queue.append(child)
    return out


@dataclass
class LocalPrefect:
    """A Prefect server and (optionally) workers; `env` is what every Prefect CLI call needs."""

    home: Path
    port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        scratch = self.home / "tmp"  # Prefect's runners keep `runner_storage` in the temp dir: keep it in ours
        scratch.mkdir(parents=True, exist_ok=True)
        env.update(
            {
                "TMPDIR": str(scratch),
                "PREFECT_HOME": str(self.home),
                "PREFECT_API_URL": self.api_url,
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PREFECT_CLI_PROMPT": "false",
                "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{self.home / 'prefect.db'}",
                "PREFECT_WORKER_QUERY_SECONDS": "2",
                "PREFECT_WORKER_HEARTBEAT_SECONDS": "10",
                "PREFECT_LOGGING_LEVEL": "INFO",
            }
        )
        return env

    def spawn(self, name: str, args: list[str], extra_env: dict[str, str]) -> subprocess.Popen[bytes]:
        """Any long-running command against this server (e.g. `complyflow serve`), stopped with the rest."""
        return self._spawn(name, args, {**self.env, **extra_env})

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.home / f"{name}.log").open("ab")
        process = subprocess.Popen(
            args,
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def start_server(self, timeout: float = 240) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        server = self._spawn(
            "server", [*PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(self.port)], self.env
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"prefect server exited with {server.returncode}:\n{self.log('server')}")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=5) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(1)
        raise TimeoutError(f"prefect server not healthy after {timeout}s:\n{self.log('server')}")

    def cli(self, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 300) -> str:
        """Run a Prefect CLI command against this server; a failure raises with its output."""
        result = subprocess.run(
            [*PREFECT, *args],
            cwd=REPO,
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"prefect {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result.stdout

    def deploy(self, *deploy_args: str) -> str:
        """Start the server, create the work pool of configs/deployments.yaml and run `prefect deploy` with
        `deploy_args` from prefect.yaml, as a newcomer would; returns the pool's name for the workers."""
        from complyflow.core.deploy_config import load_deployments_config

        pool = load_deployments_config().work_pool
        self.start_server()
        self.cli("work-pool", "create", pool.name, "--type", pool.type)
        self.cli("deploy", *deploy_args)
        return pool.name

    def start_worker(
        self, pool: str, extra_env: dict[str, str], name: str | None = None, limit: int | None = None
    ) -> subprocess.Popen[bytes]:
        args = [*PREFECT, "worker", "start", "--pool", pool, "--type", "process"]
        args += ["--name", name] if name else []
        args += ["--limit", str(limit)] if limit else []
        return self._spawn(f"worker-{name or pool}", args, {**self.env, **extra_env})

    def log(self, name: str) -> str:
        path = self.home / f"{name}.log"
        return path.read_text(errors="replace")[-6000:] if path.exists() else ""

    def stop(self) -> None:
        """SIGTERM every process and its descendants, then SIGKILL whatever is left.

        Each pid is remembered with its start time, so a pid reused by someone else's process is never signalled.
        """
        ours = {}
        for process in self.processes:
            for pid in (process.pid, *descendants(process.pid)):
                ours[pid] = _started(pid)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid, started in ours.items():
                if started is not None and _started(pid) == started:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, sig)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and any(_alive(pid, started) for pid, started in ours.items()):
                for process in self.processes:
                    process.poll()  # reap our direct children
                time.sleep(0.2)
        for process in self.processes:
            process.wait(timeout=5)


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _started(pid: int) -> str | None:
    """The process's start time in clock ticks (field 22 of /proc/PID/stat): with the pid, a unique identity."""
    fields = _stat(pid)
    return fields[19] if fields else None


def _alive(pid: int, started: str | None) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[19] == started and fields[0] != "Z"
