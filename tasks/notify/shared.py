"""The notification journal and state, kept in the evidence store so that any machine can run the next step.

Deduplication across runs, reminders, Slack threads and "nothing lost when Slack is down" all rest on
two files: the outbox (an append-only journal) and the state (its snapshot). With the local store
they live under the evidence root and an flock serialises their users. With an S3 store, flow runs
start on machines whose disks are thrown away (Kubernetes or ECS jobs), so the files live in the
store too: under a lease, a run pulls them into its evidence root, works on them as usual and pushes
them back. Only the lease holder writes them, so no update is lost between overlapping runs.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tasks.evidence import ConcurrentSealError, EvidenceStore, LocalStore, atomic_write_bytes
from tasks.notify.outbox import exclusive

log = logging.getLogger(__name__)
LEASE_KEY = "notify/lease.json"


class NotificationLeaseTimeout(TimeoutError):
    """Another run held the notification lease for longer than this one could wait."""


@dataclass
class Lease:
    """Who works on the shared notification files now, until when: one object, written conditionally."""

    store: EvidenceStore
    holder: str
    seconds: int = 1800  # far longer than a notify step; a crashed holder's lease simply expires

    def acquire(self, wait_seconds: float, *, sleep: Callable[[float], None] = time.sleep) -> None:
        deadline = time.monotonic() + wait_seconds
        while True:
            current = self.store.read_versioned(LEASE_KEY)
            held = _parse(current[0]) if current else None
            if current is None or held is None or held["holder"] == self.holder or _expired(held):
                try:
                    self.store.swap(LEASE_KEY, self._body(), current[1] if current else None)
                    return
                except ConcurrentSealError:
                    pass  # someone else took it between the read and the write: look again
            if time.monotonic() >= deadline:
                who = f"{held['holder']} until {held['expires_at']}" if held else "another run"
                raise NotificationLeaseTimeout(
                    f"the notification files in {self.store.url(LEASE_KEY).rsplit('/', 1)[0]} are in use by {who}; "
                    f"waited {wait_seconds:.0f} s. Retry later (`complyflow notify --flush` sends what is pending); "
                    f"delete {self.store.url(LEASE_KEY)} only if that run is known to be dead")
            sleep(2.0)

    def release(self) -> None:
        current = self.store.read_versioned(LEASE_KEY)
        held = _parse(current[0]) if current else None
        if held is not None and held["holder"] == self.holder:
            self.store.delete(LEASE_KEY)

    def _body(self) -> bytes:
        expires = datetime.now(UTC) + timedelta(seconds=self.seconds)
        return json.dumps({"holder": self.holder, "expires_at": expires.isoformat()}).encode()


def _parse(data: bytes) -> dict[str, str] | None:
    """The lease's holder and expiry; None for an unreadable lease, which is taken over rather than obeyed."""
    try:
        held = json.loads(data)
        datetime.fromisoformat(held["expires_at"])
        return {"holder": str(held["holder"]), "expires_at": str(held["expires_at"])}
    except (ValueError, KeyError, TypeError):
        return None


def _expired(held: dict[str, str]) -> bool:
    return datetime.fromisoformat(held["expires_at"]) <= datetime.now(UTC)


def is_shared(store: EvidenceStore | None, evidence_root: Path) -> bool:
    """True when the store is not the evidence root itself (S3, or a local store elsewhere)."""
    if store is None:
        return False
    return not (isinstance(store, LocalStore) and store.root == Path(evidence_root).resolve())


@contextmanager
def notification_files(evidence_root: Path, journal: str, snapshot: str, store: EvidenceStore | None = None, *,
                       wait_seconds: float = 300.0) -> Iterator[None]:
    """Exclusive use of the outbox (`journal`) and state (`snapshot`) under `evidence_root`, both relative paths.

    With a shared store: the lease is taken, the store's copies are pulled in before and pushed back
    after, even when the body failed (the journal is the record of what was sent).
    """
    with exclusive(evidence_root / journal):
        if not is_shared(store, evidence_root):
            yield
            return
        assert store is not None
        lease = Lease(store, f"{socket.gethostname()}:{os.getpid()}:{time.time_ns()}")
        lease.acquire(wait_seconds)
        try:
            pulled = _pull(store, evidence_root, journal, snapshot)
            try:
                yield
            finally:
                _push(store, evidence_root, pulled)
        finally:
            lease.release()


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def _pull(store: EvidenceStore, root: Path, journal: str, snapshot: str) -> dict[str, bytes | None]:
    """Bring the store's copies in; returns the store's copies (to push back whatever differs from them).

    The journal is append-only, so the longer of two copies that agree is the newer one: a local copy
    that extends the store's (its last push failed) is kept with its snapshot. Copies that disagree
    cannot be merged safely: the store's wins and the local one is set aside, never deleted.
    """
    remote = {name: _get(store, name) for name in (journal, snapshot)}
    local = {name: _read(root / name) for name in (journal, snapshot)}
    mine, theirs = local[journal], remote[journal]
    if theirs is None or (mine is not None and mine.startswith(theirs)):
        return remote  # nothing shared yet, or the local copy is as new or newer: it is pushed after
    if mine is not None and not theirs.startswith(mine):
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        for name in (journal, snapshot):
            if local[name] is not None:
                (root / name).rename(root / f"{name}.diverged-{stamp}")
        log.warning("the local notification journal %s disagrees with %s; the store's copy is used, the local "
                    "one kept as %s.diverged-%s", root / journal, store.url(journal), journal, stamp)
    for name in (journal, snapshot):
        data = remote[name]
        if data is not None:
            atomic_write_bytes(root / name, data)
        elif (root / name).exists():
            (root / name).unlink()  # a snapshot the store does not have is rebuilt from the journal
    return remote


def _get(store: EvidenceStore, key: str) -> bytes | None:
    current = store.read_versioned(key)
    return current[0] if current else None


def _push(store: EvidenceStore, root: Path, pulled: dict[str, bytes | None]) -> None:
    for name, before in pulled.items():
        data = _read(root / name)
        if data is not None and data != before:
            store.put_bytes(name, data)
