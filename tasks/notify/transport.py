"""Posting to Slack: the Web API with a bot token, or an incoming webhook, through slack-sdk.

slack-sdk retries only what is safe to repeat (`retries`): reads on connection errors and 5xx, any
request on 429 within a time budget. A post that failed without a clear answer from Slack (timeout,
connection dropped after the send, 5xx) says so (`DeliveryError.unknown`), and the bot transport can
look a message up (`find`), so that delivery checks before it posts again. What is left is classified
so that delivery knows whether to stop (Slack down, bad token), to reroute (the channel or user cannot
be reached) or to move on (this one message is at fault).
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient

from complyflow.core.config import NotifySettings
from tasks.notify.credentials import Credentials, api_url, redact
from tasks.notify.lookup import ChannelIds, LookupIncomplete, find_posted
from tasks.notify.retries import RetryAfterBudget, post_handlers, read_handlers, retry_after, webhook_handlers

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
NOT_THERE = ("channel_not_found", "thread_not_found")  # a look-up there: nothing of ours can be in it


class DeliveryError(Exception):
    """A request Slack did not accept, after retries: `kind` says what delivery should do next.

    `unknown`: the request may have been carried out all the same (no answer, or a 5xx), so a post must
    be looked up before it is sent again.
    """

    def __init__(self, code: str, kind: ErrorKind, *, unknown: bool = False) -> None:
        super().__init__(code)
        self.code = code
        self.kind = kind
        self.unknown = unknown


def classify(code: str, status: int | None = None) -> ErrorKind:
    if code in AUTH_ERRORS or status in (401, 403):
        return "auth"
    if code in DESTINATION_ERRORS or status in (404, 410):
        return "destination"
    if code in TRANSIENT_ERRORS or status == 429 or (status is not None and status >= 500):
        return "transient"
    return "message"


def _never_sent(exc: Exception) -> bool:
    """True when the request certainly never reached Slack: connection refused, or the name did not resolve."""
    reason = exc.reason if isinstance(exc, URLError) else exc
    return isinstance(reason, ConnectionRefusedError | socket.gaierror)


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
    can_look_up: bool  # whether `find` can tell that a message is already in Slack

    def post(
        self, *, channel: str, text: str, blocks: list[dict[str, Any]], thread_ts: str | None, metadata: dict[str, Any]
    ) -> Posted: ...

    def find(self, *, message_id: str, channel: str, thread_ts: str | None, oldest: float) -> Posted | None: ...


class BotTransport:
    """chat.postMessage, users.lookupByEmail and message look-ups with a bot token.

    Two clients on the one token: `poster` is never retried blindly by slack-sdk, `client` (reads) is.
    """

    kind = "slack"
    can_look_up = True

    def __init__(self, token: str, settings: NotifySettings, secrets: tuple[str, ...]) -> None:
        self.secrets = secrets
        self.budget = RetryAfterBudget(settings.max_retries, settings.max_retry_after_seconds)
        common: dict[str, Any] = {
            "token": token,
            "base_url": api_url(settings),
            "timeout": settings.timeout_seconds,
            "logger": _quiet_logger("complyflow.slack"),
        }
        self.client = WebClient(**common, retry_handlers=read_handlers(settings, self.budget))
        self.poster = WebClient(**common, retry_handlers=post_handlers(self.budget))
        self.channel_ids = ChannelIds(self.client)

    def _error(self, exc: Exception, *, write: bool = False) -> DeliveryError:
        """`exc` as a DeliveryError; for a write, whether Slack may have carried it out all the same."""
        if isinstance(exc, SlackApiError):
            response = exc.response
            data = response.data if isinstance(response.data, dict) else {}
            status = getattr(response, "status_code", None)
            code = str(data.get("error") or f"http_{status}")
            kind = classify(code, status)
            if status == 429:
                code = self._rate_limited(code, getattr(response, "headers", None) or {})
            return DeliveryError(code, kind, unknown=write and status is not None and status >= 500)
        if isinstance(exc, SlackClientError):  # refused by slack-sdk itself, before anything was sent
            return DeliveryError(redact(f"{type(exc).__name__}: {exc}", self.secrets)[:300], "transient")
        if isinstance(exc, OSError | URLError):  # connection refused, reset, timeout
            text = redact(f"{type(exc).__name__}: {exc}", self.secrets)[:300]
            return DeliveryError(text, "transient", unknown=write and not _never_sent(exc))
        raise exc

    def _rate_limited(self, code: str, headers: dict[str, Any]) -> str:
        """Why a 429 was not waited out: the wait asked for is over what is left of the budget."""
        wait = retry_after(headers)
        asked = f"Retry-After {wait:.0f} s" if wait is not None else "rate limited"
        return (
            f"{code}: {asked}, over the {self.budget.budget:.0f} s of waiting allowed per run or flush "
            f"({self.budget.waited:.0f} s used; max_retry_after_seconds in notify.yaml); left in the outbox"
        )

    def post(
        self, *, channel: str, text: str, blocks: list[dict[str, Any]], thread_ts: str | None, metadata: dict[str, Any]
    ) -> Posted:
        try:
            response = self.poster.chat_postMessage(
                channel=channel,
                text=text,
                blocks=blocks,
                thread_ts=thread_ts,
                unfurl_links=False,
                unfurl_media=False,
                metadata=metadata,
            )
        except Exception as exc:  # noqa: BLE001 - classified below; unknown errors are re-raised there
            raise self._error(exc, write=True) from None
        posted = Posted(channel=str(response.get("channel") or channel), ts=str(response.get("ts") or ""))
        self.channel_ids.remember(channel, posted.channel)
        return posted

    def find(self, *, message_id: str, channel: str, thread_ts: str | None, oldest: float) -> Posted | None:
        """The message carrying `message_id` in `channel` (in the thread `thread_ts`, if given) since `oldest`
        (a Unix time), or None when it is not there.

        A channel or thread Slack does not know holds nothing of ours: None as well. Any other failure
        raises DeliveryError: the message cannot be checked now, so it must not be posted again now.
        """
        try:
            channel_id = self.channel_ids.resolve(channel)
            if channel_id is None:
                return None
            ts = find_posted(self.client, channel_id, message_id, thread_ts=thread_ts, oldest=oldest)
        except LookupIncomplete as exc:
            raise DeliveryError(f"look-up incomplete: {exc}", "message") from None
        except Exception as exc:  # noqa: BLE001 - classified below; unknown errors are re-raised there
            error = self._error(exc)
            if error.code in NOT_THERE:
                return None
            raise error from None
        return Posted(channel=channel_id, ts=ts) if ts else None

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
    can_look_up = False  # a webhook posts and cannot read: its messages are delivered at least once

    def __init__(self, url: str, settings: NotifySettings, secrets: tuple[str, ...]) -> None:
        self.secrets = secrets
        self.budget = RetryAfterBudget(settings.max_retries, settings.max_retry_after_seconds)
        self.client = WebhookClient(
            url=url,
            timeout=settings.timeout_seconds,
            retry_handlers=webhook_handlers(settings, self.budget),
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

    def find(self, *, message_id: str, channel: str, thread_ts: str | None, oldest: float) -> Posted | None:
        return None  # nothing to read back with


def open_transport(settings: NotifySettings, credentials: Credentials) -> BotTransport | WebhookTransport | None:
    """The transport credentials allow, or None (outbox only)."""
    if settings.delivery == "outbox":
        return None
    if credentials.token:
        return BotTransport(credentials.token, settings, credentials.secrets)
    if credentials.webhook_url:
        return WebhookTransport(credentials.webhook_url, settings, credentials.secrets)
    return None
