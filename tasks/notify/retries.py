"""Which Slack requests slack-sdk may retry by itself, and how long it may wait for Slack.

Reads (history look-ups, users.lookupByEmail) are safe to repeat, so they are retried on connection
errors, timeouts and 5xx. A post is not: a timeout or a dropped connection after the request went out
leaves it unknown whether Slack posted it, and a blind retry is how a message appears twice. So posts
get no connection-error or 5xx retries here; delivery retries them itself, after looking the message
up (`delivery`, `lookup`). A 429 is Slack saying "not posted, come back later": every request may
retry it, but all waits together stay within `max_retry_after_seconds`, so a rate-limited workspace
never holds a run; what is not sent then stays in the outbox for the next run or a flush.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from http.client import RemoteDisconnected
from typing import Any
from urllib.error import URLError

from slack_sdk.http_retry import (
    BackoffRetryIntervalCalculator,
    ConnectionErrorRetryHandler,
    Jitter,
    RetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from complyflow.core.config import NotifySettings

SERVER_ERROR_STATUSES = (500, 502, 503, 504)


class _ProportionalJitter(Jitter):
    """Up to +50% of the interval (slack-sdk's default adds up to a whole second to any interval)."""

    def recalculate(self, duration: float) -> float:
        return duration * (1 + random.random() / 2)  # noqa: S311 - jitter, not cryptography


class ServerErrorRetryHandler(RetryHandler):
    """Retries 500, 502, 503 and 504 (slack-sdk's own handler covers 500 and 503 only)."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code in SERVER_ERROR_STATUSES


def retry_after(headers: Mapping[str, Any]) -> float | None:
    """Seconds Slack asks to wait (Retry-After), None when the header is missing or not a number."""
    for name, values in headers.items():
        if name.lower() == "retry-after":
            value = values[0] if isinstance(values, list) and values else values
            try:
                return max(0.0, float(str(value)))
            except ValueError:
                return None
    return None


class RetryAfterBudget(RetryHandler):
    """Honours 429 Retry-After while the waits, all requests together, fit in `budget` seconds.

    slack-sdk's RateLimitErrorRetryHandler sleeps whatever Slack asks, however long; one instance of this
    handler is shared by every client of a transport, so the budget covers a whole run or flush.
    """

    def __init__(self, max_retry_count: int, budget: float) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.budget = budget
        self.waited = 0.0

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = retry_after(response.headers)
        return self.waited + (1.0 if wait is None else wait) <= self.budget

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        wait = retry_after(response.headers if response is not None else {})
        wait = 1.0 if wait is None else wait
        wait = min(wait * (1 + random.random() / 10), self.budget - self.waited)  # noqa: S311 - jitter
        self.waited += wait
        state.next_attempt_requested = True
        time.sleep(wait)
        state.increment_current_attempt()


def _backoff(settings: NotifySettings) -> BackoffRetryIntervalCalculator:
    return BackoffRetryIntervalCalculator(backoff_factor=settings.retry_backoff_seconds, jitter=_ProportionalJitter())


def read_handlers(settings: NotifySettings, budget: RetryAfterBudget) -> list[RetryHandler]:
    """For requests that change nothing in Slack: connection errors, timeouts, 5xx and 429."""
    return [
        ConnectionErrorRetryHandler(
            max_retry_count=settings.max_retries,
            interval_calculator=_backoff(settings),
            error_types=[URLError, ConnectionResetError, RemoteDisconnected, TimeoutError],
        ),
        budget,
        ServerErrorRetryHandler(max_retry_count=settings.max_retries, interval_calculator=_backoff(settings)),
    ]


def post_handlers(budget: RetryAfterBudget) -> list[RetryHandler]:
    """For chat.postMessage: 429 only, the one answer that says for certain the message was not posted."""
    return [budget]


def webhook_handlers(settings: NotifySettings, budget: RetryAfterBudget) -> list[RetryHandler]:
    """An incoming webhook cannot be read back, so its posts are retried as before: at least once."""
    return read_handlers(settings, budget)
