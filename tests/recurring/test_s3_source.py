"""Recurring evidence under an S3 prefix: every page listed, only the latest documents read, denied calls are ERROR."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest.mock import patch

import boto3
import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from tests.recurring.support import collect, evaluate, row, statuses, task, write_tasks
from tests.support.api_calls import recorded_calls
from tests.support.faults import denied

BUCKET = "grc-evidence"


@pytest.fixture
def bucket(aws: None) -> object:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    return s3


def source(prefix: str = "drills/") -> dict[str, str]:
    return {"kind": "s3", "uri": f"s3://{BUCKET}/{prefix}"}


def test_every_page_is_listed_and_only_the_latest_document_is_read(bucket: object, config_dir: Path) -> None:
    s3 = bucket
    for n in range(1005):  # more than one ListObjectsV2 page (1,000 keys)
        s3.put_object(Bucket=BUCKET, Key=f"drills/a/2025-01-01-drill-{n:04d}.md", Body=b"old")
    s3.put_object(Bucket=BUCKET, Key="drills/z/2026-06-01-drill.md", Body=b"latest")  # sorts after the first page
    s3.put_object(Bucket=BUCKET, Key="drills/folder/", Body=b"")  # a console "folder"
    s3.put_object(Bucket=BUCKET, Key="other/2026-06-14-drill.md", Body=b"outside the prefix")
    write_tasks(config_dir, [task("drill", source())])
    with recorded_calls() as calls:
        result = collect(config_dir)
    operations = [operation for _, operation, _ in calls]
    assert operations.count("ListObjectsV2") == 2 and operations.count("GetObject") == 1
    facts = row(result, "drill")
    assert (facts["last_evidence_date"], facts["documents_found"]) == ("2026-06-01", 1006)
    assert facts["evidence_file"] == "z/2026-06-01-drill.md"
    (document,) = result.documents
    assert document.data == b"latest" and document.sha256 == hashlib.sha256(b"latest").hexdigest()
    assert document.source == f"s3://{BUCKET}/drills/z/2026-06-01-drill.md"
    assert statuses(evaluate(config_dir, result))["recurring-drill"] == "PASS"


def test_hostile_keys_become_safe_document_paths(bucket: object, config_dir: Path) -> None:
    key = "drills/../..//2026-06-10 ..%2F<!channel>\u202e*drill*.md"
    bucket.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    write_tasks(config_dir, [task("drill", source())])
    result = collect(config_dir)
    (document,) = result.documents
    assert document.path.startswith("evidence/documents/drill/") and ".." not in document.path.split("/")
    assert row(result, "drill")["evidence_file"] == key.removeprefix("drills/")


@pytest.mark.parametrize("operation", ["ListObjectsV2", "GetObject"])
def test_a_denied_call_is_an_error_for_that_task_only(bucket: object, config_dir: Path, operation: str) -> None:
    bucket.put_object(Bucket=BUCKET, Key="drills/2026-06-10-drill.md", Body=b"x")
    bucket.put_object(Bucket=BUCKET, Key="minutes/2026-06-10-minutes.md", Body=b"y")
    write_tasks(config_dir, [task("drill", source()), task("minutes", source("minutes/"))])
    with denied(operation, when=lambda params: params.get("Prefix", params.get("Key", "")).startswith("drills/")):
        result = collect(config_dir)
    (gap,) = result.gaps
    assert (gap.resource_id, gap.operation, gap.error_code) == ("recurring:drill", operation, "AccessDenied")
    assert row(result, "drill")["overdue"] is None
    assert statuses(evaluate(config_dir, result)) == {
        "recurring-drill": "ERROR",
        "recurring-drill-due-soon": "ERROR",
        "recurring-minutes": "PASS",
        "recurring-minutes-due-soon": "PASS",
    }


def test_a_missing_bucket_is_an_error(aws: None, config_dir: Path) -> None:
    write_tasks(config_dir, [task("drill", source())])
    result = collect(config_dir)
    (gap,) = result.gaps
    assert gap.error_code == "NoSuchBucket"
    assert set(statuses(evaluate(config_dir, result)).values()) == {"ERROR"}


def test_an_empty_prefix_is_a_failure(bucket: object, config_dir: Path) -> None:
    write_tasks(config_dir, [task("drill", source())])
    result = collect(config_dir)
    assert not result.gaps
    assert statuses(evaluate(config_dir, result)) == {"recurring-drill": "FAIL"}


def test_an_object_over_the_limit_is_not_downloaded(bucket: object, config_dir: Path) -> None:
    bucket.put_object(Bucket=BUCKET, Key="drills/2026-06-10-recording.mp4", Body=b"x" * 5000)
    write_tasks(config_dir, [task("drill", source())], max_document_mb=0.001)
    with recorded_calls() as calls:
        result = collect(config_dir)
    assert "GetObject" not in [operation for _, operation, _ in calls]
    facts = row(result, "drill")
    assert (facts["evidence_copy"], facts["evidence_bytes"], facts["last_evidence_date"]) == (None, 5000, "2026-06-10")


def test_an_archived_document_is_dated_but_not_read(bucket: object, config_dir: Path) -> None:
    bucket.put_object(Bucket=BUCKET, Key="drills/2026-06-10-drill.md", Body=b"x", StorageClass="GLACIER")
    write_tasks(config_dir, [task("drill", source())])
    with recorded_calls() as calls:
        result = collect(config_dir)
    assert "GetObject" not in [operation for _, operation, _ in calls]
    facts = row(result, "drill")
    assert (facts["last_evidence_date"], facts["evidence_copy"]) == ("2026-06-10", None)
    assert "archived in GLACIER" in facts["note"]
    assert statuses(evaluate(config_dir, result))["recurring-drill"] == "PASS"


@contextmanager
def invalid_object_state() -> Iterator[None]:
    """GetObject as S3 answers it for an object in an Intelligent-Tiering archive tier (moto has no such tier)."""
    original = BaseClient._make_api_call

    def guarded(self: BaseClient, name: str, params: dict) -> object:
        if name == "GetObject":
            raise ClientError({"Error": {"Code": "InvalidObjectState", "Message": "archived"}}, name)
        return original(self, name, params)

    with patch.object(BaseClient, "_make_api_call", guarded):
        yield


def test_an_object_in_an_archive_tier_is_recorded_not_copied(bucket: object, config_dir: Path) -> None:
    bucket.put_object(Bucket=BUCKET, Key="drills/2026-06-10-drill.md", Body=b"x", StorageClass="INTELLIGENT_TIERING")
    completion = {"column": "status", "completed_values": ["done"], "min_rate": 0.9}
    bucket.put_object(Bucket=BUCKET, Key="hr/export-2026-06-10.csv", Body=b"status\ndone\n")
    write_tasks(config_dir, [task("drill", source()), task("hr", source("hr/"), completion=completion)])
    with invalid_object_state():
        result = collect(config_dir)
    assert "archived" in row(result, "drill")["note"] and not result.documents
    (gap,) = result.gaps  # a completion rate that cannot be read is unknown: ERROR
    assert gap.resource_id == "recurring:hr" and "archived" in gap.message


def test_the_training_rate_comes_from_the_last_export_of_the_latest_date(bucket: object, config_dir: Path) -> None:
    completion = {"column": "status", "completed_values": ["done"], "min_rate": 0.9}
    for name, body in (("a", "status\nno\n"), ("b", "status\ndone\n")):
        bucket.put_object(Bucket=BUCKET, Key=f"hr/2026-06-10-export-{name}.csv", Body=body.encode())
    bucket.put_object(Bucket=BUCKET, Key="hr/2026-06-01-export-z.csv", Body=b"status\nno\n")
    write_tasks(config_dir, [task("hr", source("hr/"), completion=completion)])
    result = collect(config_dir)
    facts = row(result, "hr")
    assert (facts["evidence_file"], facts["completion_rate"]) == ("2026-06-10-export-b.csv", 1.0)
    assert [d.source for d in result.documents] == [f"s3://{BUCKET}/hr/2026-06-10-export-b.csv"]
