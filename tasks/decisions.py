"""Decisions by people (exception approvals, access-review attestations) sealed as runs of their own.

A decision is evidence like any collected table: it is written into a small run folder as
`decision.json`, sealed into the same hash chain and signed by the same key as the nightly runs, so
`complyflow verify` and the audit pack cover it with no extra code. Such a run has no findings: every
reader of "the latest run" skips it by its `decision.json` (`is_decision_run`).

Readers take a record into account only once its run is sealed and the record's SHA-256 matches the
manifest: an unsealed or edited decision never grants an exception nor completes a review.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tasks.evidence import (
    MANIFEST,
    RUNS,
    EvidenceStore,
    LocalStore,
    MissingObjectError,
    RunFolder,
    evidence_root,
    new_run_id,
    run_key,
    seal,
)

DECISION_RECORD = "decision.json"
RECORD_VERSION = 1


@dataclass(frozen=True, slots=True)
class SealedDecision:
    """A decision record read back from a sealed run."""

    run_id: str
    kind: str
    record: dict[str, Any]


def is_decision_run(store: EvidenceStore, run_id: str) -> bool:
    """A run that holds a person's decision instead of collected evidence and findings."""
    return store.exists(run_key(run_id, DECISION_RECORD))


def seal_decision(
    kind: str,
    record: dict[str, Any],
    *,
    config_dir: str,
    evidence_dir: str | None,
    store: EvidenceStore,
    now: datetime | None = None,
) -> tuple[str, dict[str, Any]]:
    """Write `record` as a run of its own, seal and sign it; returns (run id, manifest)."""
    from tasks.signing import run_signer

    now = now or datetime.now(UTC)
    folder = RunFolder(evidence_root(evidence_dir), new_run_id(now)).create()
    folder.write_json(DECISION_RECORD, {"kind": kind, "version": RECORD_VERSION, **record})
    manifest = seal(
        folder,
        {"flow": kind, "kind": "decision", "config_dir": config_dir, "started_at": now.isoformat()},
        store=store,
        signer=run_signer(config_dir),
    )
    return folder.run_id, manifest


def _decision_run_ids(store: EvidenceStore) -> list[str]:
    if isinstance(store, LocalStore):  # a glob, not a walk of every file of every run
        return sorted(p.parent.name for p in (store.root / RUNS).glob(f"*/{DECISION_RECORD}"))
    suffix = f"/{DECISION_RECORD}"
    return sorted({k.split("/", 2)[1] for k in store.keys(f"{RUNS}/") if k.endswith(suffix) and k.count("/") == 2})


def sealed_decisions(store: EvidenceStore, kind: str) -> tuple[list[SealedDecision], list[str]]:
    """Every sealed decision of `kind`, oldest first, and the problems with records that were left out."""
    found: list[SealedDecision] = []
    problems: list[str] = []
    for run_id in _decision_run_ids(store):
        try:
            data = store.get_bytes(run_key(run_id, DECISION_RECORD))
            manifest = json.loads(store.get_bytes(run_key(run_id, MANIFEST)))
        except MissingObjectError:
            problems.append(f"run {run_id}: decision not sealed (no manifest); ignored")
            continue
        except ValueError as exc:
            problems.append(f"run {run_id}: unreadable manifest ({exc}); ignored")
            continue
        listed = (manifest.get("files") or {}).get(DECISION_RECORD, {}).get("sha256")
        if listed != hashlib.sha256(data).hexdigest():
            problems.append(f"run {run_id}: {DECISION_RECORD} does not match its manifest; ignored")
            continue
        try:
            record = json.loads(data)
        except ValueError as exc:
            problems.append(f"run {run_id}: unreadable decision ({exc}); ignored")
            continue
        if isinstance(record, dict) and record.get("kind") == kind:
            found.append(SealedDecision(run_id, kind, record))
    return found, problems
