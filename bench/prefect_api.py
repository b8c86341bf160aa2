"""Which Prefect API the measured run talks to: its own ephemeral server, or one started once here.

`deployment` is the scheduled nightly: a standing server (`prefect server start`, before timing), the
nightly deployment created from the repository's prefect.yaml with `prefect deploy`, and per measured
run one flow run of it, executed by the command a process worker starts for it. `server` is
`complyflow run nightly` against that standing server. `ephemeral` is what `complyflow run nightly` does
out of the box: with no PREFECT_API_URL the run starts a Prefect server subprocess (and, with a fresh
PREFECT_HOME, creates its SQLite database), so that start-up is part of the run's wall time.
PREFECT_HOME is always the bench's own, never the user's.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from complyflow.demo import _free_port

STARTUP_TIMEOUT = 180
#: Prefect's default (20 s) is too short for a first start (database migrations) on a busy 2-core machine.
EPHEMERAL_TIMEOUT = "180"


_NOT_INHERITED = ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE", "SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL")


#: The deployment the `deployment` mode runs, as prefect.yaml names it, and the work pool it is deployed to.
NIGHTLY_DEPLOYMENT = "nightly-compliance/nightly-compliance"
BENCH_POOL = "bench"


@dataclass(frozen=True)
class PrefectApi:
    mode: str  # "ephemeral" (fresh PREFECT_HOME) | "ephemeral-warm" (database migrated) | "server" | "deployment"
    env: dict[str, str]
    startup_seconds: float = 0.0  # server start, deploy or migration: done before and outside the measured run

    def create_flow_run(self, parameters: dict[str, str]) -> str:
        """A flow run of the nightly deployment (as its schedule creates one), ready for a worker; its id."""
        args = [f"--param={k}={v}" for k, v in parameters.items()]
        out = _prefect(self.env, "deployment", "run", NIGHTLY_DEPLOYMENT, *args)
        match = re.search(r"UUID: ([0-9a-f-]{36})", out)
        if match is None:
            raise RuntimeError(f"no flow run id in `prefect deployment run` output:\n{out}")
        return match.group(1)


def _base_env(home: Path) -> dict[str, str]:
    return {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": EPHEMERAL_TIMEOUT,
    }


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without any Prefect API or Slack target of the user's, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    return {**env, **extra}


def _prefect(env: dict[str, str], *args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(["prefect", *args], env=child_env(env), cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"prefect {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def _deploy_nightly(env: dict[str, str], code: Path) -> None:
    """The repository's nightly deployment, from its prefect.yaml, on a process work pool of the bench's."""
    _prefect(env, "work-pool", "create", BENCH_POOL, "--type", "process", "--overwrite")
    _prefect(env, "--no-prompt", "deploy", "--name", NIGHTLY_DEPLOYMENT.split("/")[1], "--pool", BENCH_POOL, cwd=code)


def _wait_healthy(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:  # noqa: S310 - 127.0.0.1 only
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"prefect server not healthy after {STARTUP_TIMEOUT} s")


@contextmanager
def prefect_api(mode: str, home: Path, code: Path) -> Iterator[PrefectApi]:
    """Yield the environment the measured run needs for `mode`; stop what was started afterwards.

    `code` is the source tree a deployment is created from (the repository, or `--code`)."""
    home.mkdir(parents=True, exist_ok=True)
    env = _base_env(home)
    if mode == "ephemeral-warm":  # the database exists already, as on the second nightly of a machine
        clock = time.perf_counter()
        _prefect(env, "server", "database", "upgrade", "-y")
        yield PrefectApi(mode, env, time.perf_counter() - clock)
        return
    if mode == "ephemeral":
        yield PrefectApi(mode, env)
        return
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    log = (home / "server.log").open("wb")
    clock = time.perf_counter()
    proc = subprocess.Popen(
        ["prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=child_env(env),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_healthy(url, proc)
        env = {**env, "PREFECT_API_URL": url}
        if mode == "deployment":
            _deploy_nightly(env, code)
        yield PrefectApi(mode, env, time.perf_counter() - clock)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
