"""Waiting for a person's answer in the Prefect UI, without holding a worker.

In a deployment the run is *suspended*: its process exits and the worker is free; when the form is
submitted (UI or `resume_flow_run(..., run_input=...)`), the run is scheduled again and starts from the
top, and the same `suspend_flow_run` call returns the answer. So everything before the wait must be
safe to repeat (notices have stable ids; nothing is sealed before the answer). Outside a deployment
(a local `python flows/...py`) suspending is not possible, and the run pauses in its process instead.
"""

from __future__ import annotations

from typing import TypeVar

from prefect import runtime
from prefect.flow_runs import pause_flow_run, suspend_flow_run
from prefect.input import RunInput
from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def form(model: type[M], description: str) -> type[RunInput]:
    """The model as a Prefect form, with a markdown description shown above its fields."""
    return RunInput.subclass_from_base_model_type(model).with_initial_data(description=description)


def wait_for_answer(model: type[M], form_cls: type[RunInput], key: str, timeout_seconds: int) -> M:
    """The answer submitted on `form_cls` (see `form`), as `model`; suspends in a deployment, pauses otherwise."""
    if runtime.deployment.id:
        answer = suspend_flow_run(wait_for_input=form_cls, key=key, timeout=timeout_seconds)
    else:
        answer = pause_flow_run(wait_for_input=form_cls, key=key, timeout=timeout_seconds)
    return model.model_validate(answer.model_dump())


def flow_run_id() -> str:
    return str(runtime.flow_run.id or "")


def flow_run_url(run_id: str | None = None) -> str:
    """A run's page in the Prefect UI (where its form is; default: this run), or "" when no UI address is
    known. Built with `url_for` (`/runs/flow-run/<id>`), the path the UI serves."""
    from prefect.utilities.urls import url_for

    run_id = run_id or flow_run_id()
    url = (url_for("flow-run", obj_id=run_id) or "") if run_id else ""
    return url if url.startswith(("http://", "https://")) else ""
