"""The persistent outbox: a JSON-lines journal of every message, pending until its channel accepts it.

A message is recorded (and fsynced) before delivery is attempted; it becomes `sent` only when a
`sent` record follows it, written after Slack accepted it. So an outage or a crash loses nothing and a
later run or `complyflow notify --flush` sends exactly what is still pending. Records are only ever
appended; a line torn by a crash is skipped on reading and never glued to the next record.

Exactly once: before each post an `attempt` record is written (where to, and when, as a Unix time).
An attempt that no `failed` record with `outcome: not_posted` answers may have reached Slack (a timeout,
a dropped connection, a crash before the `sent` record): such attempts are `unsettled`, and delivery
looks the message up from the first of them on before posting it again, after a crash too.

Record kinds: `message` (what to post, with `seq`, `id`, `via`, `destination`, `thread_of`, `blocks`,
`events`, `items`), `attempt` (id, channel, thread_ts, at), `sent` (id, channel id, ts), `failed` (id,
error, whether retrying may help, `outcome`: `not_posted`, `unknown`, or "" for a failed look-up).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
_lock = threading.Lock()
#: Messages posted by the bot or the webhook wait for an acknowledgement; outbox-only ones are final.
DELIVERABLE = ("slack", "webhook")


def append(path: Path, record: dict[str, Any]) -> None:
    """Append one record durably (fsync); a torn last line from an earlier crash is terminated first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"recorded_at": datetime.now(UTC).isoformat(), **record}, sort_keys=True, default=str)
    with _lock, path.open("ab+") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() > 0:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                handle.write(b"\n")
        handle.write(line.encode("utf-8") + b"\n")
        handle.flush()
        os.fsync(handle.fileno())


def read(path: Path) -> list[dict[str, Any]]:
    """Every readable record, in file order; unreadable (torn) lines are skipped with a warning."""
    if not path.exists():
        return []
    records = []
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                log.warning("%s:%d: unreadable outbox line skipped (torn by a crash?)", path, number)
    return records


@dataclass
class Pending:
    """A message still waiting for its channel, with the last error met, if any."""

    record: dict[str, Any]
    attempts: int
    last_error: str


class Outbox:
    """The journal of one evidence root, read once and kept in step with every append."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records = read(path)
        self.seq = max((int(r.get("seq") or 0) for r in self.records), default=0)
        self._ids = {str(r["id"]) for r in self.records if r.get("kind") == "message"}
        self._sent = {str(r["id"]) for r in self.records if r.get("kind") == "sent"}
        self._unsettled: dict[str, list[dict[str, Any]]] = {}
        for record in self.records:
            self._settle(record)

    def _settle(self, record: dict[str, Any]) -> None:
        """Track attempts that may have reached Slack: each is settled by an answer saying it did not."""
        if record.get("kind") == "attempt":
            self._unsettled.setdefault(str(record["id"]), []).append(record)
        elif record.get("kind") == "failed" and record.get("outcome") == "not_posted":
            attempts = self._unsettled.get(str(record["id"]))
            if attempts:
                attempts.pop()

    def _append(self, record: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        record = {**record, "seq": self.seq, "recorded_at": datetime.now(UTC).isoformat()}
        append(self.path, record)
        self.records.append(record)
        self._settle(record)
        if record["kind"] == "message":
            self._ids.add(str(record["id"]))
        elif record["kind"] == "sent":
            self._sent.add(str(record["id"]))
        return record

    def messages(self) -> dict[str, dict[str, Any]]:
        return {str(r["id"]): r for r in self.records if r.get("kind") == "message"}

    def has(self, message_id: str) -> bool:
        return message_id in self._ids

    def count_for_run(self, run_id: str) -> int:
        return sum(1 for r in self.records if r.get("kind") == "message" and r.get("run_id") == run_id)

    def queue(self, message: dict[str, Any]) -> dict[str, Any] | None:
        """Record a message before any delivery attempt; a message id already recorded is not queued twice."""
        if self.has(str(message["id"])):
            return None
        return self._append({**message, "kind": "message"})

    def mark_sent(self, message_id: str, *, via: str, channel: str = "", ts: str = "") -> dict[str, Any]:
        return self._append({"kind": "sent", "id": message_id, "via": via, "channel": channel, "ts": ts})

    def mark_attempt(self, message_id: str, *, channel: str, thread_ts: str | None) -> dict[str, Any]:
        """Record (durably) that a post is about to go out: after a crash, this is where and since when to look."""
        return self._append(
            {"kind": "attempt", "id": message_id, "channel": channel, "thread_ts": thread_ts or "", "at": time.time()}
        )

    def mark_failed(self, message_id: str, *, error: str, retryable: bool, outcome: str = "") -> dict[str, Any]:
        """`outcome`: "not_posted" (Slack said no, or was never reached), "unknown" (it may have posted), or
        "" for a failure that was no post (a look-up)."""
        return self._append(
            {"kind": "failed", "id": message_id, "error": error, "retryable": retryable, "outcome": outcome}
        )

    def unsettled(self, message_id: str) -> list[dict[str, Any]]:
        """Attempts at posting `message_id` that may have reached Slack (oldest first)."""
        return [] if message_id in self._sent else list(self._unsettled.get(message_id, []))

    def sent_ids(self) -> set[str]:
        return set(self._sent)

    def is_sent(self, message_id: str) -> bool:
        return message_id in self._sent

    def pending(self) -> list[Pending]:
        """Deliverable messages without a `sent` record, oldest first."""
        sent = self.sent_ids()
        failures: dict[str, list[str]] = {}
        for r in self.records:
            if r.get("kind") == "failed":
                failures.setdefault(str(r["id"]), []).append(str(r.get("error", "")))
        waiting = [
            r
            for r in self.records
            if r.get("kind") == "message" and r.get("via") in DELIVERABLE and str(r["id"]) not in sent
        ]
        waiting.sort(key=lambda r: int(r.get("seq") or 0))
        return [
            Pending(r, len(failures.get(str(r["id"]), [])), (failures.get(str(r["id"])) or [""])[-1]) for r in waiting
        ]


@contextlib.contextmanager
def exclusive(path: Path, timeout: float = 300.0) -> Iterator[None]:
    """Hold the outbox's lock file, so that two runs or a run and a flush never post the same message."""
    lock_path = path.with_name(path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    with lock_path.open("a") as handle:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"{lock_path}: another complyflow run or flush holds the outbox lock; "
                        "retry when it has finished"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
