"""Slack credentials: from the environment or a Prefect Secret block, never from config files.

Values are returned, never logged; `redact` scrubs them from any error text before it is recorded.
A credential is withheld (with the reason among the problems) when it would travel unencrypted: a bot
token when the API URL (SLACK_API_URL or notify.yaml) is plain http to another machine, a webhook URL
that is. Messages then stay pending for a flush once that is fixed, rather than being sent.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from complyflow.core.config import NotifySettings

TOKEN_ENV = "SLACK_BOT_TOKEN"  # noqa: S105 - the variable's name, not a token
WEBHOOK_ENV = "SLACK_WEBHOOK_URL"
API_URL_ENV = "SLACK_API_URL"


class CredentialError(RuntimeError):
    """A configured Secret block could not be read."""


class ApiUrlError(ValueError):
    """SLACK_API_URL is not a URL a token may be sent to."""


@dataclass(frozen=True, slots=True)
class Credentials:
    token: str | None = None
    webhook_url: str | None = None
    problems: tuple[str, ...] = ()
    withheld: str = ""  # "slack" or "webhook": a credential found but not used (see problems)

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.token, self.webhook_url) if s)


def read_secret_block(name: str) -> str:
    """The value of a Prefect Secret block (needs the Prefect API the flow or CLI talks to)."""
    from prefect.blocks.system import Secret

    try:
        value = Secret.load(name).get()
    except Exception as exc:  # noqa: BLE001 - any failure means the same thing to the operator
        raise CredentialError(
            f"Prefect Secret block {name!r} could not be loaded ({type(exc).__name__}); create it "
            f"with `Secret(value=...).save({name!r})` or set the environment variable"
        ) from None
    if not isinstance(value, str) or not value.strip():
        raise CredentialError(f"Prefect Secret block {name!r} holds no text value")
    return value.strip()


def _one(env: str, block: str | None) -> tuple[str | None, str | None]:
    value = os.environ.get(env, "").strip()
    if value:
        return value, None
    if not block:
        return None, None
    try:
        return read_secret_block(block), None
    except CredentialError as exc:
        return None, str(exc)


def resolve(settings: NotifySettings) -> Credentials:
    """Bot token and webhook URL as configured for `settings.delivery`; problems are described, not raised."""
    token = webhook = None
    problems = []
    if settings.delivery in ("auto", "bot"):
        token, problem = _one(TOKEN_ENV, settings.token_secret_block)
        problems += [problem] if problem else []
    if settings.delivery in ("auto", "webhook") and not token:
        webhook, problem = _one(WEBHOOK_ENV, settings.webhook_secret_block)
        problems += [problem] if problem else []
    withheld = ""
    if token:
        try:
            api_url(settings)
        except ApiUrlError as exc:
            token, withheld = None, "slack"
            problems.append(f"{exc}; the bot token is not sent there and messages stay pending")
    if webhook:
        try:
            NotifySettings.check_api_url(webhook)
        except ValueError as exc:
            problems.append(f"{WEBHOOK_ENV} (or its Secret block) refused: {redact(str(exc), (webhook,))}")
            webhook, withheld = None, "webhook"
    return Credentials(token=token, webhook_url=webhook, problems=tuple(problems), withheld=withheld)


def api_url(settings: NotifySettings) -> str:
    """The Slack Web API base URL: SLACK_API_URL, else notify.yaml (checked on load); always ending with a slash.

    Raises ApiUrlError for a SLACK_API_URL the token must not be sent to (see `NotifySettings.check_api_url`).
    """
    url = os.environ.get(API_URL_ENV, "").strip()
    if not url:
        return NotifySettings.check_api_url(settings.slack_api_url)
    try:
        return NotifySettings.check_api_url(url)
    except ValueError as exc:
        raise ApiUrlError(f"{API_URL_ENV} refused: {exc}") from None


def redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text
