"""The temporary Prefect server starts in the background and the flow waits for it; a standing server is left alone."""

from __future__ import annotations

import threading

import pytest
from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED, temporary_settings

from complyflow.cli.prefect_api import TemporaryServerWarmup


@pytest.fixture
def slow_start(monkeypatch: pytest.MonkeyPatch) -> dict[str, threading.Event]:
    """Replace the server's start with one that blocks until released (no real server process in a unit test)."""
    events = {"called": threading.Event(), "release": threading.Event(), "done": threading.Event()}

    def start(self: SubprocessASGIServer, timeout: int | None = None) -> None:
        events["called"].set()
        events["release"].wait(10)
        events["done"].set()

    monkeypatch.setattr(SubprocessASGIServer, "start", start)
    return events


def test_without_an_api_url_the_server_starts_in_the_background_and_wait_blocks_until_it_answers(
    slow_start: dict[str, threading.Event],
) -> None:
    with temporary_settings({PREFECT_API_URL: None, PREFECT_SERVER_EPHEMERAL_ENABLED: True}):
        warmup = TemporaryServerWarmup().start()
        assert slow_start["called"].wait(5), "the start must begin at once, not at wait()"
        waiter = threading.Thread(target=warmup.wait)
        waiter.start()
        waiter.join(0.2)
        assert waiter.is_alive(), "wait() returned before the server answered"
        slow_start["release"].set()
        waiter.join(5)
        assert not waiter.is_alive() and slow_start["done"].is_set()


def test_a_configured_api_or_no_ephemeral_mode_starts_nothing(slow_start: dict[str, threading.Event]) -> None:
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        TemporaryServerWarmup().start().wait()
    with temporary_settings({PREFECT_API_URL: None, PREFECT_SERVER_EPHEMERAL_ENABLED: False}):
        TemporaryServerWarmup().start().wait()
    assert not slow_start["called"].is_set()


def test_a_failed_start_is_kept_for_the_flow_to_report(monkeypatch: pytest.MonkeyPatch) -> None:
    def start(self: SubprocessASGIServer, timeout: int | None = None) -> None:
        raise RuntimeError("Timed out while attempting to connect to ephemeral Prefect API server.")

    monkeypatch.setattr(SubprocessASGIServer, "start", start)
    with temporary_settings({PREFECT_API_URL: None, PREFECT_SERVER_EPHEMERAL_ENABLED: True}):
        warmup = TemporaryServerWarmup().start()
        warmup.wait()
    assert isinstance(warmup.error, RuntimeError)
