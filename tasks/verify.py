"""Verify sealed evidence: recompute every file's SHA-256 and walk the manifest hash chain.

The walk starts at the chain head and follows each manifest's `previous_run_id`, so it names an
altered file, a missing file, an extra file, an edited manifest, a removed run and a sealed run that
is not on the chain. With a public key it also checks every manifest's signature, so a chain rewritten
consistently (files, manifests and head rehashed) is reported as *not signed by the expected key*.

An *interrupted* run is a warning, never a break in the chain: a run folder without a manifest (killed
before sealing), or a signed manifest whose chain head never moved to it (killed between the two writes)
while its link points into the chain. Sealing writes the head last, so these are the only states a crash
can leave.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tasks.evidence import (
    CHAIN_HEAD,
    MANIFEST,
    RUNS,
    SIGNATURE_FILE,
    TOMBSTONE,
    EvidenceStore,
    EvidenceStoreError,
    MissingObjectError,
    read_chain_head,
    run_date,
    run_key,
)

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Issue:
    """One mismatch, named by the store key a person should look at."""

    #: altered | missing | extra | run-missing | unlinked | head-missing | interrupted | pruned-early | signature
    kind: str
    path: str
    detail: str
    severity: str = ERROR

    def __str__(self) -> str:
        return f"{self.severity.upper()} {self.kind}: {self.path}: {self.detail}"


@dataclass(slots=True)
class VerifyReport:
    location: str
    since: date | None
    runs_checked: list[str] = field(default_factory=list)
    interrupted: list[str] = field(default_factory=list)
    signatures_checked: int = 0
    files_checked: int = 0
    issues: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not [i for i in self.issues if i.severity == ERROR]

    def to_dict(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "since": self.since.isoformat() if self.since else None,
            "ok": self.ok,
            "runs_checked": self.runs_checked,
            "interrupted": self.interrupted,
            "signatures_checked": self.signatures_checked,
            "files_checked": self.files_checked,
            "issues": [
                {"kind": i.kind, "path": i.path, "detail": i.detail, "severity": i.severity} for i in self.issues
            ],
        }


def _load_json(store: EvidenceStore, key: str) -> tuple[bytes, dict[str, Any]] | None:
    try:
        data = store.get_bytes(key)
    except MissingObjectError:
        return None
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = None
    return data, parsed if isinstance(parsed, dict) else {}


def _in_range(run_id: str, since: date | None) -> bool:
    started = run_date(run_id)
    return since is None or (started is not None and started >= since)


def _walk_chain(
    store: EvidenceStore, present: set[str], since: date | None, report: VerifyReport
) -> tuple[set[str], dict[str, tuple[bytes, dict[str, Any]]]]:
    """Follow the chain from the head; returns the runs on it and their manifests (bytes read, parsed)."""
    manifests: dict[str, tuple[bytes, dict[str, Any]]] = {}  # run id -> (bytes read, parsed)
    try:
        head, _token = read_chain_head(store)
    except EvidenceStoreError as exc:
        report.issues.append(Issue("altered", CHAIN_HEAD, str(exc)))
        head = None
    sealed = sorted(r for r in present if store.exists(run_key(r, MANIFEST)))
    if head is None:
        if sealed:
            report.issues.append(
                Issue(
                    "head-missing",
                    CHAIN_HEAD,
                    f"no chain head, yet {len(sealed)} sealed run(s) exist: the newest run may have been removed",
                )
            )
            current, expected, referrer = sealed[-1], None, "the newest sealed run"
        else:
            return set(), manifests
    else:
        current, expected, referrer = head.run_id, head.manifest_sha256, "the chain head"
    visited: set[str] = set()
    while current is not None:
        if current in visited:
            report.issues.append(Issue("altered", run_key(current, MANIFEST), "the chain loops back to this run"))
            break
        loaded = _load_json(store, run_key(current, MANIFEST))
        if loaded is None:
            kind = "missing" if current in present else "run-missing"
            path = run_key(current, MANIFEST) if current in present else run_key(current)
            report.issues.append(Issue(kind, path, f"referenced by {referrer}, not in the store"))
            # Carry on below the gap, so one removed run does not hide the state of the older ones.
            gap, older = current, [r for r in sealed if r < current and r not in visited]
            current, expected, referrer = (older[-1] if older else None), None, f"the gap left by {gap}"
            continue
        data, manifest = loaded
        visited.add(current)
        manifests[current] = data, manifest
        actual = hashlib.sha256(data).hexdigest()
        if expected is not None and actual != expected:
            report.issues.append(
                Issue(
                    "altered",
                    run_key(current, MANIFEST),
                    f"SHA-256 {actual[:12]}… differs from {expected[:12]}… recorded by {referrer}",
                )
            )
        if manifest.get("run_id") != current:
            report.issues.append(
                Issue(
                    "altered",
                    run_key(current, MANIFEST),
                    f"names run {manifest.get('run_id')!r}, not its folder {current!r}",
                )
            )
        if not _in_range(current, since):
            break  # the link into the period is checked; older runs are out of scope
        referrer, expected, current = (
            f"run {current}",
            manifest.get("previous_manifest_sha256"),
            manifest.get("previous_run_id"),
        )
    return visited, manifests


def _check_files(
    store: EvidenceStore,
    run_id: str,
    manifest: dict[str, Any],
    keys: list[str],
    retention_days: int | None,
    today: date,
    report: VerifyReport,
) -> None:
    listed: dict[str, Any] = manifest.get("files") or {}
    pruned = _load_json(store, run_key(run_id, TOMBSTONE))
    if pruned is not None:
        tombstone = pruned[1]
        manifest_hash = store.sha256(run_key(run_id, MANIFEST))
        if tombstone.get("manifest_sha256") != manifest_hash:
            report.issues.append(
                Issue("altered", run_key(run_id, TOMBSTONE), "its manifest hash differs from the manifest's")
            )
        started = run_date(run_id)
        if retention_days is not None and started is not None and started >= today - timedelta(days=retention_days):
            report.issues.append(
                Issue(
                    "pruned-early",
                    run_key(run_id, TOMBSTONE),
                    f"run is younger than the {retention_days}-day retention period",
                )
            )
    present = {key[len(run_key(run_id)) :] for key in keys}
    for relative, entry in sorted(listed.items()):
        key = run_key(run_id, relative)
        if relative not in present:
            if pruned is None:
                report.issues.append(Issue("missing", key, "listed in the manifest, not in the store"))
            continue
        report.files_checked += 1
        actual = store.sha256(key)
        if actual != entry.get("sha256"):
            report.issues.append(
                Issue(
                    "altered",
                    key,
                    f"SHA-256 {actual[:12]}… differs from the manifest's {str(entry.get('sha256'))[:12]}…",
                )
            )
    for relative in sorted(present - set(listed) - {MANIFEST, TOMBSTONE, SIGNATURE_FILE}):
        report.issues.append(Issue("extra", run_key(run_id, relative), "not listed in the run's manifest"))


def verify_store(
    store: EvidenceStore,
    since: date | None = None,
    retention_days: int | None = None,
    today: date | None = None,
    public_key_pem: bytes | None = None,
) -> VerifyReport:
    """Recompute hashes, signatures and the chain of every run started on or after `since` (default: all)."""
    today = today or datetime.now(UTC).date()
    report = VerifyReport(location=store.location, since=since)
    by_run: dict[str, list[str]] = {}
    for key in store.keys(f"{RUNS}/"):
        parts = key.split("/", 2)
        if len(parts) < 3:
            report.issues.append(Issue("extra", key, "a file directly under runs/"))
            continue
        by_run.setdefault(parts[1], []).append(key)
    for foreign in sorted(r for r in by_run if run_date(r) is None):
        report.issues.append(Issue("extra", run_key(foreign), "not a run id (YYYYMMDDTHHMMSSZ-xxxxxx)"))
        del by_run[foreign]
    on_chain, manifests = _walk_chain(store, set(by_run), since, report)
    signed_seen = False
    for run_id in sorted(r for r in by_run if _in_range(r, since)):
        loaded = manifests.get(run_id) or _load_json(store, run_key(run_id, MANIFEST))  # each manifest read once
        if loaded is None:
            _interrupted(report, run_id, by_run[run_id], "killed before its manifest was written")
            continue
        data, manifest = loaded
        if run_id not in on_chain:
            if manifest.get("previous_run_id") in on_chain or (
                not on_chain and manifest.get("previous_run_id") is None
            ):
                _interrupted(report, run_id, by_run[run_id], "sealed, but killed before the chain head moved to it")
                _check_signature(store, run_id, data, public_key_pem, report, required=signed_seen)
                continue
            report.issues.append(
                Issue(
                    "unlinked", run_key(run_id, MANIFEST), "sealed, but no later manifest or the chain head links to it"
                )
            )
        report.runs_checked.append(run_id)
        signed_seen |= _check_signature(store, run_id, data, public_key_pem, report, required=signed_seen)
        _check_files(store, run_id, manifest, by_run[run_id], retention_days, today, report)
    return report


def _interrupted(report: VerifyReport, run_id: str, keys: list[str], why: str) -> None:
    files = sorted(key[len(run_key(run_id)) :] for key in keys)
    shown = ", ".join(files[:8]) + (f", … ({len(files)} files)" if len(files) > 8 else "")
    report.interrupted.append(run_id)
    report.issues.append(
        Issue(
            "interrupted", run_key(run_id), f"interrupted run ({why}); never part of the chain; files: {shown}", WARNING
        )
    )


def _check_signature(
    store: EvidenceStore,
    run_id: str,
    manifest: bytes,
    public_key_pem: bytes | None,
    report: VerifyReport,
    *,
    required: bool,
) -> bool:
    """Check the run's manifest signature; True when it has one. Once runs are signed, every later one must be."""
    from tasks.signing import check_signature

    try:
        record = store.get_bytes(run_key(run_id, SIGNATURE_FILE))
    except MissingObjectError:
        if required:
            report.issues.append(
                Issue("signature", run_key(run_id, MANIFEST), "not signed, although earlier manifests are")
            )
        return False
    if public_key_pem is None:
        return True
    problem = check_signature(public_key_pem, manifest, record)
    report.signatures_checked += 1
    if problem:
        report.issues.append(Issue("signature", run_key(run_id, MANIFEST), problem))
    return True
