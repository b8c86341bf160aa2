"""The measured child: exactly one nightly run, plus a JSON record of where its time went.

Two ways in, as the two ways a nightly run starts:

- `nightly_shim.py run nightly …` is `complyflow run nightly …` (the typer command, in-process);
- `nightly_shim.py --engine` is what a Prefect process worker starts for a deployment's flow run,
  `python -m prefect.engine` with `PREFECT__FLOW_RUN_ID` set (the scheduled nightly).

Around either it records wall-clock marks (imports, config check, flow body, return, exit), the
per-collector spans, the AWS calls botocore's event hooks saw and the run summary (with `timings`)
into `$BENCH_RESULT_JSON`. It changes no
behaviour: every hook calls the original function.

Imports are timed in three groups so that Prefect is charged only with what it adds: first the
third-party libraries complyflow's own modules import (`$BENCH_LIBRARIES`, from `bench/imports.py`),
then Prefect and the Prefect modules complyflow uses (`$BENCH_PREFECT_MODULES`), then complyflow.
A library both need (pydantic, yaml) is complyflow's: the run would load it without Prefect too.
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import runpy
import sys
import threading
import time
from typing import Any

MARKS: dict[str, float] = {"shim_start": time.time()}
RECORD: dict[str, Any] = {"marks": MARKS}


def _write() -> None:
    path = os.environ.get("BENCH_RESULT_JSON")
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(RECORD, handle, default=str)


def _import_all(env_var: str) -> None:
    for name in filter(None, os.environ.get(env_var, "").split(",")):
        importlib.import_module(name)


def _count_aws_calls() -> None:
    """Count AWS calls as botocore sees them in this process, through its event hooks on every session:
    `before-call` once per operation called, `before-send` once per HTTP attempt (retries included, as
    the moto server counts them). Keys are "signing name:Operation", as the server names them."""
    import botocore.session

    lock = threading.Lock()
    calls: dict[str, int] = RECORD.setdefault("botocore_calls", {})
    attempts: dict[str, int] = RECORD.setdefault("botocore_attempts", {})
    signing_names: dict[str, str] = {}

    def count(into: dict[str, int], key: str) -> None:
        with lock:
            into[key] = into.get(key, 0) + 1

    def on_call(model: Any, event_name: str, **_: Any) -> None:
        service = model.service_model
        signing_names[event_name.split(".")[1]] = service.signing_name or service.endpoint_prefix
        count(calls, f"{signing_names[event_name.split('.')[1]]}:{model.name}")

    def on_send(event_name: str, **_: Any) -> None:
        _, service_id, operation = event_name.split(".", 2)
        count(attempts, f"{signing_names.get(service_id, service_id)}:{operation}")

    init = botocore.session.Session.__init__

    def hooked_init(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.register("before-call", on_call, unique_id="bench-count-call")
        self.register("before-send", on_send, unique_id="bench-count-send")

    botocore.session.Session.__init__ = hooked_init  # type: ignore[method-assign]


def _time_collectors() -> None:
    """Seconds per (service, region) collector: the longest one bounds the collect step."""
    import tasks.steps as steps

    collect = getattr(steps, "run_collector", None)
    if collect is None:
        return
    spans: list[dict[str, Any]] = RECORD.setdefault("collectors", [])

    def timed(collector: Any, account: Any, region: str, *args: Any, **kwargs: Any) -> Any:
        start = time.time()
        try:
            return collect(collector, account, region, *args, **kwargs)
        finally:
            spans.append({"service": collector.service, "region": region, "start": start, "end": time.time()})

    steps.run_collector = timed


def _time_flow_body() -> None:
    """Mark the flow body; keep its result (the engine prints none). Patched where the flow modules find it."""
    import flows.nightly as nightly
    import flows.pipeline as pipeline

    run_compliance = getattr(pipeline, "run_compliance", None)
    if run_compliance is None:
        return

    def timed_run(**kwargs: Any) -> dict[str, Any]:
        MARKS["flow_body_start"] = time.time()
        try:
            result = run_compliance(**kwargs)
            RECORD["result"] = result
            return result
        finally:
            MARKS["flow_body_end"] = time.time()

    pipeline.run_compliance = timed_run  # a deployment's flow run loads flows/nightly.py afresh from here
    nightly.run_compliance = timed_run


def _mark_exit_handlers_done() -> None:
    """Registered before anything else, so it runs after every other atexit handler (Prefect's shutdown):
    what follows is the interpreter's own teardown, not Prefect's."""
    MARKS["atexit_done"] = time.time()
    _write()


def _hook_cli(cli: Any) -> None:
    """Mark the CLI's own config check and its printing, which are complyflow's and not Prefect's."""
    check, print_result = getattr(cli, "load_config_or_exit", None), getattr(cli, "_print_result", None)

    def checked(config: str | None) -> Any:
        try:
            return check(config)  # type: ignore[misc]
        finally:
            MARKS["config_checked"] = time.time()

    def printed(result: dict[str, Any]) -> None:
        MARKS["flow_returned"] = time.time()
        print_result(result)  # type: ignore[misc]
        MARKS["printed"] = time.time()

    if check is not None:
        cli.load_config_or_exit = checked
    if print_result is not None:
        cli._print_result = printed


def _run_engine() -> None:
    """`python -m prefect.engine`, as a process worker runs it (the flow run id comes from the environment)."""
    sys.argv = ["prefect.engine"]
    try:
        runpy.run_module("prefect.engine", run_name="__main__", alter_sys=True)
    finally:
        MARKS["flow_returned"] = time.time()


def main() -> None:
    atexit.register(_mark_exit_handlers_done)
    engine = sys.argv[1:2] == ["--engine"]
    _import_all("BENCH_LIBRARIES")
    MARKS["libraries_imported"] = time.time()
    import prefect  # noqa: F401

    _import_all("BENCH_PREFECT_MODULES")
    if engine:
        import prefect.engine  # noqa: F401 - what `python -m prefect.engine` imports first
    MARKS["prefect_imported"] = time.time()
    # A worker's flow-run process loads the flow, not the CLI (nor the CLI's exit handler).
    cli = None if engine else importlib.import_module("complyflow.cli")
    import flows.nightly  # noqa: F401

    MARKS["imported"] = time.time()
    # Should a hook's target disappear from the code, the run still happens; only the split of its time is lost.
    _count_aws_calls()
    _time_collectors()
    _time_flow_body()
    try:
        if cli is None:
            _run_engine()
        else:
            _hook_cli(cli)
            cli.app(args=sys.argv[1:], prog_name="complyflow")
    finally:
        MARKS["cli_done"] = time.time()
        _write()


if __name__ == "__main__":
    main()
