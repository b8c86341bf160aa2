"""Send what the outbox holds, oldest first, and record each acceptance the moment Slack gives it.

Replies wait for their thread's root; a channel or user Slack cannot reach gets the message in the
fallback channel instead (with a note saying so); Slack being down or the token being refused stops
the round, leaving the rest pending for the next run or `complyflow notify --flush`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.notify.blocks import context
from tasks.notify.outbox import Outbox
from tasks.notify.state import NotifyState
from tasks.notify.text import safe
from tasks.notify.transport import DeliveryError, Posted, Transport

log = logging.getLogger(__name__)
METADATA_EVENT = "complyflow_notification"


@dataclass
class DeliveryReport:
    sent: int = 0
    rerouted: int = 0
    waiting: int = 0  # replies whose thread root is not sent yet
    errors: list[str] = field(default_factory=list)
    stopped: str = ""  # why the round stopped early, if it did


def _note(blocks: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    return [*blocks, context(text)]


class Deliverer:
    def __init__(
        self, outbox: Outbox, state: NotifyState, state_path: Path, transport: Transport, fallback_channel: str
    ) -> None:
        self.outbox = outbox
        self.state = state
        self.state_path = state_path
        self.transport = transport
        self.fallback = fallback_channel

    def _post(self, msg: dict[str, Any], channel: str, blocks: list[dict[str, Any]], thread_ts: str | None) -> Posted:
        metadata = {"event_type": METADATA_EVENT, "event_payload": {"message_id": msg["id"], "run_id": msg["run_id"]}}
        return self.transport.post(
            channel=channel, text=msg["text"], blocks=blocks, thread_ts=thread_ts, metadata=metadata
        )

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

    def run(self) -> DeliveryReport:
        report = DeliveryReport()
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
            except DeliveryError as exc:
                retryable = exc.kind != "message"
                self.outbox.mark_failed(msg["id"], error=exc.code, retryable=retryable)
                report.errors.append(f"{msg['id']} to {msg['destination']}: {exc.code}")
                if exc.kind in ("transient", "auth"):
                    report.stopped = exc.code
                    break
                continue
            record = self.outbox.mark_sent(msg["id"], via=self.transport.kind, channel=posted.channel, ts=posted.ts)
            self.state.apply(record)
            self.state.save(self.state_path)
            report.sent += 1
        if report.stopped:
            log.warning(
                "Slack delivery stopped (%s); %d message(s) stay pending in %s",
                report.stopped,
                len(self.outbox.pending()),
                self.outbox.path,
            )
        return report
