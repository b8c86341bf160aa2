"""Documents come from organisation-scope collection, which stays in the parent run when accounts fan out."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pytest

import flows.collection as collection
from complyflow.core.config import load_config
from complyflow.core.model import CollectorResult, EvidenceDocument
from flows.collection import Collected, collect_fanned_out, pack
from tasks.collect import collectors_for
from tests.conftest import CONFIGS

DOCUMENT = EvidenceDocument(
    "evidence/documents/t/abababababab-m.md", b"m", hashlib.sha256(b"m").hexdigest(), "s3://b/m"
)


def test_collected_keeps_the_documents_of_every_result() -> None:
    merged = Collected()
    merged.extend([CollectorResult(documents=[DOCUMENT]), CollectorResult(tables={"t": pd.DataFrame()})])
    assert merged.documents == [DOCUMENT]


class _Done:
    def __init__(self, value: Any) -> None:
        self.value = value

    def result(self) -> Any:
        return self.value


def test_fanned_out_runs_keep_the_parents_documents(monkeypatch: pytest.MonkeyPatch) -> None:
    config = load_config(CONFIGS)
    account_part = Collected(tables={"kms_keys": pd.DataFrame({"resource_id": ["k"]})}, account_owners={"1": "x"})

    class _AccountRun:
        @staticmethod
        def submit(*_: Any) -> _Done:
            return _Done(pack(account_part, "worker"))  # what the account's deployment run returns

    def organisation(*_: Any, **__: Any) -> Collected:
        return Collected(documents=[DOCUMENT])

    monkeypatch.setattr(collection, "account_run_task", _AccountRun)
    monkeypatch.setattr(collection, "collect_in_flow", organisation)
    needed = collectors_for({"kms_keys", "recurring_evidence"})
    merged = collect_fanned_out(
        config, config.scope.accounts, needed, datetime.now(UTC), run_id="r", deployment="d", timeout_s=1
    )
    assert merged.documents == [DOCUMENT]
    assert list(merged.tables["kms_keys"]["resource_id"]) == ["k"]
