"""An account run's evidence reaches the parent run through Prefect's JSON result storage unchanged."""

from __future__ import annotations

import json

import pandas as pd

from complyflow.core.model import EvidenceGap
from flows.collection import Collected, pack, unpack


def test_evidence_round_trips_through_json_with_its_types() -> None:
    frame = pd.DataFrame(
        {
            "resource_id": ["a", "b"],
            "age_days": [91, None],
            "enabled": [True, False],
            "seen": pd.to_datetime(["2026-11-01", "2026-11-02"], utc=True),
            "tags": ['{"o": "é"}', "{}"],
        }
    )
    gap = EvidenceGap(
        account="111111111111",
        region="eu-west-1",
        service="kms",
        tables=("kms_keys",),
        operation="DescribeKey",
        error_code="AccessDenied",
        message="no",
        resource_id="arn:k",
    )
    sent = Collected(tables={"things": frame}, gaps=[gap], account_owners={"111111111111": "team"})
    data = json.loads(json.dumps(pack(sent, worker="worker-b")))  # what the result storage holds
    got = unpack(data, "prod")
    pd.testing.assert_frame_equal(got.tables["things"], frame)
    assert got.gaps == [gap]
    assert (got.account_owners, got.collected_by) == ({"111111111111": "team"}, {"prod": "worker-b"})
