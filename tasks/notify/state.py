"""Notification state under the evidence root: what is announced and still open, and Slack thread ids.

The outbox is the journal and this file its snapshot: every queued message carries the state changes
it announces (`events`), every accepted message its thread id, and the state remembers the last outbox
record it folded in (`seq`). Loading replays whatever the snapshot missed, so a crash between writing
the outbox and writing the state neither loses an announcement nor repeats one. Written atomically.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tasks.evidence import atomic_write_json

log = logging.getLogger(__name__)
STATE_VERSION = 1


@dataclass(slots=True)
class OpenItem:
    """A finding that was announced and is not resolved yet: enough to remind, thread and close it."""

    key: str
    owner: str
    destination: str
    route: str
    category: str  # violation, lapsed, gap, reminder
    control_id: str
    resource_name: str
    resource_arn: str
    account: str
    region: str
    status: str
    first_seen: str  # ISO timestamps, UTC
    notified_at: str
    thread: str = ""  # outbox id of the message that announced it (the root of its Slack thread)
    mention: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OpenItem:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def age_days(self, now: datetime) -> int:
        return max(0, (now - datetime.fromisoformat(self.first_seen)).days)

    def reminder_due(self, now: datetime, every_days: int) -> bool:
        if every_days <= 0:
            return False
        return (now - datetime.fromisoformat(self.notified_at)).total_seconds() >= every_days * 86400


@dataclass(slots=True)
class Thread:
    """Where Slack put a message: replies need the channel id and the message ts."""

    channel: str
    ts: str


@dataclass
class NotifyState:
    seq: int = 0  # the last outbox record folded into this snapshot
    open: dict[str, OpenItem] = field(default_factory=dict)
    threads: dict[str, Thread] = field(default_factory=dict)
    emails: dict[str, dict[str, str]] = field(default_factory=dict)  # e-mail → {"user": id or "", "checked_at"}

    # --- folding the outbox journal in ---------------------------------------------------------

    def apply(self, record: dict[str, Any]) -> None:
        """Fold one outbox record in: announcements from messages, thread ids from acknowledgements."""
        seq = int(record.get("seq") or 0)
        if seq <= self.seq:
            return
        if record.get("kind") == "message":
            for event in record.get("events") or []:
                self.apply_event(event)
        elif record.get("kind") == "sent" and record.get("ts") and record.get("channel"):
            self.threads[str(record["id"])] = Thread(channel=str(record["channel"]), ts=str(record["ts"]))
        self.seq = seq

    def apply_event(self, event: dict[str, Any]) -> None:
        if event["change"] == "resolved":
            self.open.pop(event["key"], None)
        else:  # new or reminder: the item as announced now
            self.open[event["key"]] = OpenItem.from_dict(event["item"])

    def catch_up(self, records: list[dict[str, Any]]) -> int:
        """Fold in every record newer than the snapshot; returns how many were applied."""
        newer = sorted((r for r in records if int(r.get("seq") or 0) > self.seq), key=lambda r: int(r["seq"]))
        for record in newer:
            self.apply(record)
        return len(newer)

    # --- persistence ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "seq": self.seq,
            "open": {k: v.to_dict() for k, v in sorted(self.open.items())},
            "threads": {k: asdict(v) for k, v in sorted(self.threads.items())},
            "emails": dict(sorted(self.emails.items())),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NotifyState:
        return cls(
            seq=int(data.get("seq", 0)),
            open={k: OpenItem.from_dict(v) for k, v in (data.get("open") or {}).items()},
            threads={k: Thread(**v) for k, v in (data.get("threads") or {}).items()},
            emails=dict(data.get("emails") or {}),
        )

    def save(self, path: Path) -> None:
        atomic_write_json(path, self.to_dict())


def load_state(path: Path) -> NotifyState:
    """The snapshot, or an empty state when there is none or it is unreadable (the outbox replay rebuilds it).

    An unreadable file is kept beside it for inspection rather than overwritten silently.
    """
    if not path.exists():
        return NotifyState()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported version {data.get('version')!r}")
        return NotifyState.from_dict(data)
    except (ValueError, KeyError, TypeError) as exc:
        keep = path.with_name(f"{path.name}.unreadable-{datetime.now(UTC):%Y%m%dT%H%M%S}")
        path.replace(keep)
        log.warning("notification state %s unreadable (%s); kept as %s, rebuilding from the outbox", path, exc, keep)
        return NotifyState()
