"""Helpers for the evidence tests: small sealed runs with chosen dates, without a compliance run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tasks.evidence import EvidenceStore, RunFolder, seal
from tasks.signing import Signer

RUN_IDS = ("20260101T020000Z-aaaaaa", "20260102T020000Z-bbbbbb", "20260103T020000Z-cccccc")


def make_run(
    root: Path, run_id: str, store: EvidenceStore | None = None, rows: int = 3, signer: Signer | None = None
) -> RunFolder:
    """A sealed run: one Parquet evidence table and a findings file, like a compliance run writes."""
    folder = RunFolder(root, run_id).create()
    frame = pd.DataFrame(
        {
            "account": ["123456789012"] * rows,
            "resource_id": [f"r{i}" for i in range(rows)],
            "encrypted": [i % 2 == 0 for i in range(rows)],
        }
    )
    folder.write_table("s3_buckets", frame)
    folder.write_json("findings/findings.json", {"run": {"run_id": run_id}, "findings": []})
    folder.write_text("findings/findings.csv", "control_id,status\n")
    seal(folder, {"flow": "test"}, store=store, signer=signer)
    return folder


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A local evidence root holding three sealed runs on consecutive days."""
    evidence = tmp_path / "evidence"
    for run_id in RUN_IDS:
        make_run(evidence, run_id)
    return evidence
