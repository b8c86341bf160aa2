"""Send what the outbox holds, oldest first, and record each acceptance the moment Slack gives it.

Replies wait for their thread's root; a channel or user Slack cannot reach gets the message in the
fallback channel instead (with a note saying so); Slack being down or the token being refused stops
the round, leaving the rest pending for the next run or `complyflow notify --flush`.

Exactly once: every post is preceded by an `attempt` record in the outbox. When an earlier attempt may
have reached Slack (a timeout, a dropped connection, a 5xx; or a crash, found on the next run or flush),
the message is looked up in Slack first and recorded as sent if it is there; it is posted again only
when it is not, and never while that cannot be checked. Such posts are retried here, not by slack-sdk.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.notify.blocks import context
from tasks.notify.lookup import LOOKUP_SCOPES, metadata
from tasks.notify.outbox import Outbox
from tasks.notify.state import NotifyState
from tasks.notify.text import safe
from tasks.notify.transport import DeliveryError, Posted, Transport

log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    sent: int = 0
    rerouted: int = 0
    waiting: int = 0  # replies whose thread root is not sent yet
    found: int = 0  # of `sent`: already in Slack from an attempt whose answer was lost, recorded without a post
    errors: list[str] = field(default_factory=list)
    stopped: str = ""  # why the round stopped early, if it did


def _note(blocks: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    return [*blocks, context(text)]


class Deliverer:
    def __init__(
        self,
        outbox: Outbox,
        state: NotifyState,
        state_path: Path,
        transport: Transport,
        fallback_channel: str,
        *,
        retries: int = 3,
        backoff_seconds: float = 0.5,
    ) -> None:
        self.outbox = outbox
        self.state = state
        self.state_path = state_path
        self.transport = transport
        self.fallback = fallback_channel
        self.retries = retries  # posts whose outcome is unknown: tried this many more times, each after a look-up
        self.backoff = backoff_seconds
        self._found: set[str] = set()

    def _already_posted(self, msg: dict[str, Any]) -> Posted | None:
        """The message in Slack, if an earlier attempt that may have reached it did; None when none did.

        Raises DeliveryError when it cannot be checked now (the message stays pending, unposted).
        """
        attempts = self.outbox.unsettled(msg["id"])
        if not attempts or not self.transport.can_look_up:
            return None
        places: dict[tuple[str, str], float] = {}
        for attempt in attempts:
            place = (str(attempt["channel"]), str(attempt.get("thread_ts") or ""))
            places[place] = min(places.get(place, float(attempt["at"])), float(attempt["at"]))
        for (channel, thread_ts), since in places.items():
            try:
                found = self.transport.find(
                    message_id=msg["id"], channel=channel, thread_ts=thread_ts or None, oldest=since
                )
            except DeliveryError as exc:
                self.outbox.mark_failed(msg["id"], error=f"look-up: {exc.code}", retryable=True)
                hint = f"; the bot needs {LOOKUP_SCOPES} to check" if exc.code == "missing_scope" else ""
                raise DeliveryError(
                    f"not posted again: an earlier attempt may have reached Slack and it cannot be checked now "
                    f"({exc.code}{hint})",
                    exc.kind if exc.kind in ("transient", "auth") else "message",  # never a reason to reroute
                ) from None
            if found is not None:
                log.info("%s already in Slack (%s, ts %s): recorded as sent", msg["id"], found.channel, found.ts)
                self._found.add(msg["id"])
                return found
        return None

    def _post(self, msg: dict[str, Any], channel: str, blocks: list[dict[str, Any]], thread_ts: str | None) -> Posted:
        """Post once (looking for an earlier attempt first); a post whose outcome is unknown is retried here,
        each time after looking it up, up to `retries` times."""
        for retry in range(self.retries + 1):
            found = self._already_posted(msg)
            if found is not None:
                return found
            self.outbox.mark_attempt(msg["id"], channel=channel, thread_ts=thread_ts)
            try:
                return self.transport.post(
                    channel=channel,
                    text=msg["text"],
                    blocks=blocks,
                    thread_ts=thread_ts,
                    metadata=metadata(msg["id"], msg["run_id"]),
                )
            except DeliveryError as exc:
                outcome = "unknown" if exc.unknown else "not_posted"
                self.outbox.mark_failed(msg["id"], error=exc.code, retryable=exc.kind != "message", outcome=outcome)
                if not exc.unknown or retry == self.retries:
                    raise
            time.sleep(self.backoff * 2**retry * (1 + random.random() / 2))  # noqa: S311 - jitter
        raise AssertionError("unreachable: the last retry returns or raises")

    def _post_with_fallbacks(self, msg: dict[str, Any], report: DeliveryReport) -> Posted:
        """Post in the thread of `thread_of` if known; on an unreachable destination, try the alternatives."""
        channel, thread_ts = msg["destination"], None
        parent = msg.get("thread_of")
        thread = self.state.threads.get(parent) if parent else None
        blocks = msg["blocks"]
        if self.transport.kind == "webhook":
            blocks = _note(blocks, f"Posted by incoming webhook; intended for {safe(channel, 90)}")
        elif thread is not None:
            channel, thread_ts = thread.channel, thread.ts
        try:
            return self._post(msg, channel, blocks, thread_ts)
        except DeliveryError as exc:
            if exc.kind != "destination" or self.transport.kind == "webhook":
                raise
            first = exc
        if thread_ts and first.code == "thread_not_found":
            posted = self._post(
                msg, channel, _note(blocks, "The original thread is gone; posted as a new message."), None
            )
            report.rerouted += 1
            return posted
        if channel == self.fallback:
            raise first
        note = (
            f"Could not post to {safe(msg['destination'], 90)} ({safe(first.code, 60)}); posted in the "
            "fallback channel instead. Fix the route in owners.yaml."
        )
        posted = self._post(msg, self.fallback, _note(msg["blocks"], note), None)
        report.rerouted += 1
        report.errors.append(f"{msg['id']}: {msg['destination']} unreachable ({first.code}); sent to {self.fallback}")
        return posted

    def run(self, report: DeliveryReport | None = None) -> DeliveryReport:
        """One round over what is pending, counted into `report` as it goes (a caller whose round is cut
        short by a failure outside Slack, e.g. the disk, still has the counts)."""
        report = report if report is not None else DeliveryReport()
        final_failures = {
            str(r["id"]) for r in self.outbox.records if r.get("kind") == "failed" and r.get("retryable") is False
        }
        for pending in self.outbox.pending():
            msg = pending.record
            parent = msg.get("thread_of")
            if parent and not self.outbox.is_sent(parent) and self.outbox.has(parent) and parent not in final_failures:
                report.waiting += 1  # the thread root is still pending: keep the order
                continue
            try:
                posted = self._post_with_fallbacks(msg, report)
            except DeliveryError as exc:  # recorded in the outbox where it happened
                report.errors.append(f"{msg['id']} to {msg['destination']}: {exc.code}")
                if exc.kind in ("transient", "auth"):
                    report.stopped = exc.code
                    break
                continue
            record = self.outbox.mark_sent(msg["id"], via=self.transport.kind, channel=posted.channel, ts=posted.ts)
            self.state.apply(record)
            self.state.save(self.state_path)
            report.sent += 1
            report.found += msg["id"] in self._found
        if report.stopped:
            log.warning(
                "Slack delivery stopped (%s); %d message(s) stay pending in %s",
                report.stopped,
                len(self.outbox.pending()),
                self.outbox.path,
            )
        return report
