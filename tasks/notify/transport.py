"""Posting to Slack: the Web API with a bot token, or an incoming webhook, through slack-sdk.

slack-sdk's retry handlers absorb 429 (honouring Retry-After), 5xx and connection errors; what is left
is classified so that delivery knows whether to stop (Slack down, bad token), to reroute (the channel
or user cannot be reached) or to move on (this one message is at fault).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from http.client import RemoteDisconnected
from typing import Any, Literal, Protocol
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import (
    BackoffRetryIntervalCalculator,
    ConnectionErrorRetryHandler,
    Jitter,
    RateLimitErrorRetryHandler,
    RetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.webhook import WebhookClient

from complyflow.core.config import NotifySettings
from tasks.notify.credentials import Credentials, api_url, redact

ErrorKind = Literal["transient", "auth", "destination", "message"]
AUTH_ERRORS = {
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "no_permission",
    "missing_scope",
    "not_allowed_token_type",
    "ekm_access_denied",
    "team_access_not_granted",
    "invalid_token",
    "action_prohibited",
    "no_service",
    "no_team",
    "no_active_hooks",
}
DESTINATION_ERRORS = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "channel_is_archived",
    "user_not_found",
    "cannot_dm_bot",
    "user_disabled",
    "restricted_action",
    "restricted_action_read_only_channel",
    "restricted_action_thread_only_channel",
    "restricted_action_non_threadable_channel",
    "team_not_found",
    "thread_not_found",
}
TRANSIENT_ERRORS = {
    "ratelimited",
    "rate_limited",
    "fatal_error",
    "internal_error",
    "service_unavailable",
    "request_timeout",
}
SERVER_ERROR_STATUSES = (500, 502, 503, 504)


class DeliveryError(Exception):
    """A post Slack did not accept, after retries: `kind` says what delivery should do next."""

    def __init__(self, code: str, kind: ErrorKind) -> None:
        super().__init__(code)
        self.code = code
        self.kind = kind


def classify(code: str, status: int | None = None) -> ErrorKind:
    if code in AUTH_ERRORS or status in (401, 403):
        return "auth"
    if code in DESTINATION_ERRORS or status in (404, 410):
        return "destination"
    if code in TRANSIENT_ERRORS or status == 429 or (status is not None and status >= 500):
        return "transient"
    return "message"


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


def retry_handlers(settings: NotifySettings) -> list[RetryHandler]:
    backoff = BackoffRetryIntervalCalculator(
        backoff_factor=settings.retry_backoff_seconds, jitter=_ProportionalJitter()
    )
    return [
        ConnectionErrorRetryHandler(
            max_retry_count=settings.max_retries,
            interval_calculator=backoff,
            error_types=[URLError, ConnectionResetError, RemoteDisconnected, TimeoutError],
        ),
        RateLimitErrorRetryHandler(max_retry_count=settings.max_retries),
        ServerErrorRetryHandler(max_retry_count=settings.max_retries, interval_calculator=backoff),
    ]


def _quiet_logger(name: str) -> logging.Logger:
    """slack-sdk logs request bodies and URLs at DEBUG; a webhook URL is a secret, so never below WARNING."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.WARNING)
    return logger


@dataclass(frozen=True, slots=True)
class Posted:
    channel: str = ""  # channel id Slack answered with ("" for webhooks, which answer only "ok")
    ts: str = ""


class Transport(Protocol):
    kind: str  # "slack", "webhook" or "outbox"

    def post(
        self, *, channel: str, text: str, blocks: list[dict[str, Any]], thread_ts: str | None, metadata: dict[str, Any]
    ) -> Posted: ...


class BotTransport:
    """chat.postMessage and users.lookupByEmail with a bot token."""

    kind = "slack"

    def __init__(self, token: str, settings: NotifySettings, secrets: tuple[str, ...]) -> None:
        self.secrets = secrets
        self.client = WebClient(
            token=token,
            base_url=api_url(settings),
            timeout=settings.timeout_seconds,
            retry_handlers=retry_handlers(settings),
            logger=_quiet_logger("complyflow.slack"),
        )

    def _error(self, exc: Exception) -> DeliveryError:
        if isinstance(exc, SlackApiError):
            response = exc.response
            data = response.data if isinstance(response.data, dict) else {}
            status = getattr(response, "status_code", None)
            code = str(data.get("error") or f"http_{status}")
            return DeliveryError(code, classify(code, status))
        if isinstance(exc, SlackClientError | OSError | URLError):  # connection refused, reset, timeout
            return DeliveryError(redact(f"{type(exc).__name__}: {exc}", self.secrets)[:300], "transient")
        raise exc

    def post(
        self, *, channel: str, text: str, blocks: list[dict[str, Any]], thread_ts: str | None, metadata: dict[str, Any]
    ) -> Posted:
        try:
            response = self.client.chat_postMessage(
                channel=channel,
                text=text,
                blocks=blocks,
                thread_ts=thread_ts,
                unfurl_links=False,
                unfurl_media=False,
                metadata=metadata,
            )
        except Exception as exc:  # noqa: BLE001 - classified below; unknown errors are re-raised there
            raise self._error(exc) from None
        return Posted(channel=str(response.get("channel") or channel), ts=str(response.get("ts") or ""))

    def lookup_email(self, email: str) -> str | None:
        """The Slack user id for an e-mail, None when Slack knows no such user; DeliveryError otherwise."""
        try:
            response = self.client.users_lookupByEmail(email=email)
        except SlackApiError as exc:
            if (exc.response.data or {}).get("error") == "users_not_found":
                return None
            raise self._error(exc) from None
        except Exception as exc:  # noqa: BLE001 - connection errors become DeliveryError
            raise self._error(exc) from None
        return str((response.get("user") or {}).get("id") or "") or None


class WebhookTransport:
    """An incoming webhook: one channel chosen when the webhook was created, no thread ids, no lookups."""

    kind = "webhook"

    def __init__(self, url: str, settings: NotifySettings, secrets: tuple[str, ...]) -> None:
        self.secrets = secrets
        self.client = WebhookClient(
            url=url,
            timeout=settings.timeout_seconds,
            retry_handlers=retry_handlers(settings),
            logger=_quiet_logger("complyflow.slack.webhook"),
        )

    def post(
        self, *, channel: str, text: str, blocks: list[dict[str, Any]], thread_ts: str | None, metadata: dict[str, Any]
    ) -> Posted:
        try:
            response = self.client.send(
                text=text, blocks=blocks, unfurl_links=False, unfurl_media=False, metadata=metadata
            )
        except (OSError, URLError) as exc:
            raise DeliveryError(redact(f"{type(exc).__name__}: {exc}", self.secrets)[:300], "transient") from None
        if response.status_code == 200:
            return Posted()
        code = (response.body or "").strip()[:100] or f"http_{response.status_code}"
        raise DeliveryError(redact(code, self.secrets), classify(code, response.status_code))


def open_transport(settings: NotifySettings, credentials: Credentials) -> BotTransport | WebhookTransport | None:
    """The transport credentials allow, or None (outbox only)."""
    if settings.delivery == "outbox":
        return None
    if credentials.token:
        return BotTransport(credentials.token, settings, credentials.secrets)
    if credentials.webhook_url:
        return WebhookTransport(credentials.webhook_url, settings, credentials.secrets)
    return None
