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
import threading
import time
from collections.abc import Iterator
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
    seconds: int = 1800  # renewed while held (a flush of a long backlog can take longer); a dead holder's expires
    _token: str | None = None

    def acquire(self, wait_seconds: float) -> None:
        deadline = time.monotonic() + wait_seconds
        while True:
            current = self.store.read_versioned(LEASE_KEY)
            held = _parse(current[0]) if current else None
            if current is None or held is None or held["holder"] == self.holder or _expired(held):
                try:
                    self._write(current[1] if current else None)
                    return
                except ConcurrentSealError:
                    pass  # someone else took it between the read and the write: look again
            if time.monotonic() >= deadline:
                who = f"{held['holder']} until {held['expires_at']}" if held else "another run"
                raise NotificationLeaseTimeout(
                    f"the notification files in {self.store.url(LEASE_KEY).rsplit('/', 1)[0]} are in use by {who}; "
                    f"waited {wait_seconds:.0f} s. Retry later (`complyflow notify --flush` sends what is pending); "
                    f"delete {self.store.url(LEASE_KEY)} only if that run is known to be dead"
                )
            time.sleep(2.0)

    @contextmanager
    def renewed(self) -> Iterator[None]:
        """Keep the lease alive while the body runs: rewritten every third of its life, over its own version."""
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(self.seconds / 3):
                try:
                    self._write(self._token)
                except Exception as exc:  # noqa: BLE001 - a lost lease shows at the push (orphan copy), not here
                    log.error(
                        "could not renew %s (%s); the notification files are pushed only over the version pulled",
                        self.store.url(LEASE_KEY),
                        type(exc).__name__,
                    )
                    return

        thread = threading.Thread(target=renew, name="notify-lease", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def release(self) -> None:
        """Delete the lease if it is still this holder's version; a failure only delays the next run (expiry)."""
        try:
            current = self.store.read_versioned(LEASE_KEY)
            if current is not None and current[1] == self._token:
                self.store.delete(LEASE_KEY)
        except Exception as exc:  # noqa: BLE001 - never hide the step's own outcome behind the clean-up
            log.error(
                "could not release %s (%s: %s); it expires by itself",
                self.store.url(LEASE_KEY),
                type(exc).__name__,
                exc,
            )

    def _write(self, token: str | None) -> None:
        """(Re)write the lease over version `token` (None: over no lease) and remember the version written."""
        expires = datetime.now(UTC) + timedelta(seconds=self.seconds)
        self.store.swap(
            LEASE_KEY, json.dumps({"holder": self.holder, "expires_at": expires.isoformat()}).encode(), token
        )
        mine = self.store.read_versioned(LEASE_KEY)
        self._token = mine[1] if mine else None


def _parse(data: bytes) -> dict[str, str] | None:
    """The lease's holder and expiry; None for an unreadable lease, which is taken over rather than obeyed."""
    try:
        held = json.loads(data)
        if datetime.fromisoformat(held["expires_at"]).tzinfo is None:
            return None
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
def notification_files(
    evidence_root: Path,
    journal: str,
    snapshot: str,
    store: EvidenceStore | None = None,
    *,
    wait_seconds: float = 300.0,
    write: bool = True,
    lease_seconds: int = 1800,
) -> Iterator[None]:
    """Exclusive use of the outbox (`journal`) and state (`snapshot`) under `evidence_root`, both relative paths.

    With a shared store: the lease is taken, the store's copies are pulled in before and pushed back
    after, even when the body failed (the journal is the record of what was sent). `write=False` is for
    readers that change nothing the next run needs (listing, routing): they pull without the lease and
    push nothing, so they neither wait for a running notification step nor need write access.
    """
    with exclusive(evidence_root / journal):
        if not is_shared(store, evidence_root):
            yield
            return
        assert store is not None
        if not write:
            _pull(store, evidence_root, journal, snapshot)
            yield
            return
        lease = Lease(store, f"{socket.gethostname()}:{os.getpid()}:{time.time_ns()}", lease_seconds)
        lease.acquire(wait_seconds)
        try:
            pulled = _pull(store, evidence_root, journal, snapshot)
            try:
                with lease.renewed():
                    yield
            except BaseException:
                _push(store, evidence_root, pulled, lease.holder, quiet=True)  # the step's error comes first
                raise
            _push(store, evidence_root, pulled, lease.holder)
        finally:
            lease.release()


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def _pull(store: EvidenceStore, root: Path, journal: str, snapshot: str) -> dict[str, tuple[bytes, str] | None]:
    """Bring the store's copies in; returns them with their versions (to push back, conditionally, what differs).

    The journal is append-only, so the longer of two copies that agree is the newer one: a local copy
    that extends the store's (its last push failed) is kept with its snapshot. Copies that disagree
    cannot be merged safely: the store's wins and the local one is set aside, never deleted.
    """
    versions = {name: store.read_versioned(name) for name in (journal, snapshot)}
    remote = {name: (v[0] if v else None) for name, v in versions.items()}
    local = {name: _read(root / name) for name in (journal, snapshot)}
    mine, theirs = local[journal], remote[journal]
    if theirs is None or (mine is not None and mine.startswith(theirs)):
        return versions  # nothing shared yet, or the local copy is as new or newer: it is pushed after
    if mine is not None and not theirs.startswith(mine):
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        for name in (journal, snapshot):
            if local[name] is not None:
                (root / name).rename(root / f"{name}.diverged-{stamp}")
        log.warning(
            "the local notification journal %s disagrees with %s; the store's copy is used, the local "
            "one kept as %s.diverged-%s",
            root / journal,
            store.url(journal),
            journal,
            stamp,
        )
    for name in (journal, snapshot):
        data = remote[name]
        if data is not None:
            atomic_write_bytes(root / name, data)
        elif (root / name).exists():
            (root / name).unlink()  # a snapshot the store does not have is rebuilt from the journal
    return versions


def _push(
    store: EvidenceStore, root: Path, pulled: dict[str, tuple[bytes, str] | None], holder: str, *, quiet: bool = False
) -> None:
    """Write back what changed, only over the version pulled. Should that version have changed meanwhile
    (this run's lease expired and another run wrote), the local copy goes to `<name>.orphan-<holder>`
    beside it instead of overwriting the other run's: nothing is lost, and the log says where it is."""
    for name, before in pulled.items():
        data = _read(root / name)
        if data is None or (before is not None and data == before[0]):
            continue
        try:
            try:
                store.swap(name, data, before[1] if before else None)
            except ConcurrentSealError:
                orphan = f"{name}.orphan-{holder.replace(':', '-')}"
                store.put_bytes(orphan, data)
                log.error(
                    "%s changed while this run held an expired notification lease; this run's copy is kept "
                    "as %s: merge it by hand",
                    store.url(name),
                    store.url(orphan),
                )
        except Exception as exc:
            if not quiet:
                raise
            log.error(
                "could not push %s to %s (%s: %s); the local copy %s is the only one now",
                name,
                store.url(name),
                type(exc).__name__,
                exc,
                root / name,
            )
