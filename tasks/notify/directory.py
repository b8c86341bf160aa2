"""E-mail → Slack user id, via users.lookupByEmail, cached in the notification state.

Owners are often written as e-mail addresses (tags, owners.yaml); Slack rate-limits lookups, so each
address is asked once per `email_cache_hours`, misses included. A lookup that fails for another reason
(no scope, Slack down) is not cached: routing falls through to the next step and the error is reported.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from complyflow.core.config import EMAIL_RE

Lookup = Callable[[str], str | None]  # raises on errors other than "no such user"


class EmailDirectory:
    def __init__(self, lookup: Lookup | None, cache: dict[str, dict[str, str]], ttl: timedelta, now: datetime) -> None:
        self.lookup = lookup
        self.cache = cache  # the state's dict: updated in place, saved with the state
        self.ttl = ttl
        self.now = now
        self.errors: list[str] = []
        self._failed: set[str] = set()

    @staticmethod
    def is_email(text: str) -> bool:
        return bool(EMAIL_RE.fullmatch(text.strip()))

    def user_for(self, email: str) -> str | None:
        """The Slack user id for `email`, or None (unknown to Slack, lookups off, or the lookup failed)."""
        email = email.strip().lower()
        if self.lookup is None or not self.is_email(email) or email in self._failed:
            return None
        cached = self.cache.get(email)
        if cached and self.now - datetime.fromisoformat(cached["checked_at"]) < self.ttl:
            return cached["user"] or None
        try:
            user = self.lookup(email)
        except Exception as exc:  # noqa: BLE001 - any failure: fall through to the next routing step
            self._failed.add(email)
            self.errors.append(f"users.lookupByEmail failed ({exc}); routing without it")
            return None
        self.cache[email] = {"user": user or "", "checked_at": self.now.isoformat()}
        return user
