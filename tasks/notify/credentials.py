"""Slack credentials: from the environment or a Prefect Secret block, never from config files.

Values are returned, never logged; `redact` scrubs them from any error text before it is recorded.
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


@dataclass(frozen=True, slots=True)
class Credentials:
    token: str | None = None
    webhook_url: str | None = None
    problems: tuple[str, ...] = ()

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
    return Credentials(token=token, webhook_url=webhook, problems=tuple(problems))


def api_url(settings: NotifySettings) -> str:
    """The Slack Web API base URL: SLACK_API_URL, else notify.yaml; always ending with a slash."""
    url = os.environ.get(API_URL_ENV, "").strip() or settings.slack_api_url
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"{API_URL_ENV}={url!r} is not an http(s) URL such as https://slack.com/api/")
    return url if url.endswith("/") else url + "/"


def redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text
