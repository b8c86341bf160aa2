"""Tags come from one tag:GetResources page per type and region; a refused tagging API falls back.

Either way the evidence must carry the same tags (owners are routed by them), and only the fallback
may ask resource by resource.
"""

from __future__ import annotations

import json

import boto3
import pytest

from complyflow.demo import _bucket
from tasks.collect.parallel import map_bounded
from tests.support.api_calls import recorded_actions
from tests.support.evaluate import collect
from tests.support.faults import denied

pytestmark = pytest.mark.usefixtures("aws")

PER_RESOURCE_TAG_CALLS = {
    "s3_buckets": "s3:GetBucketTagging",
    "kms_keys": "kms:ListResourceTags",
    "log_groups": "logs:ListTagsForResource",
    "dynamodb_tables": "dynamodb:ListTagsOfResource",
    "sagemaker_notebooks": "sagemaker:ListTags",
}


def _seed() -> dict[str, dict[str, dict[str, str]]]:
    """One tagged and one untagged resource per table; the tags each should carry, by name."""
    _bucket("tagged-bucket", "us-east-1", "data-eng", "AES256", False)
    _bucket("plain-bucket", "us-east-1", None, "AES256", False)
    kms = boto3.client("kms")
    kms.create_key(Description="tagged-key", Tags=[{"TagKey": "owner", "TagValue": "sec"}])
    kms.create_key(Description="plain-key")
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName="/tagged", tags={"owner": "ml-research", "env": "prod"})
    logs.create_log_group(logGroupName="/plain")
    ddb = boto3.client("dynamodb")
    for name, tags in (("tagged-table", [{"Key": "owner", "Value": "data-eng"}]), ("plain-table", [])):
        ddb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            Tags=tags,
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        )
    sm = boto3.client("sagemaker")
    for name, tags in (("tagged-nb", [{"Key": "owner", "Value": "ml-research"}]), ("plain-nb", [])):
        sm.create_notebook_instance(
            NotebookInstanceName=name,
            InstanceType="ml.t3.medium",
            RoleArn="arn:aws:iam::123456789012:role/sm",
            Tags=tags,
        )
    return {
        "s3_buckets": {"tagged-bucket": {"owner": "data-eng"}, "plain-bucket": {}},
        "kms_keys": {"tagged-key": {"owner": "sec"}, "plain-key": {}},
        "log_groups": {"/tagged": {"owner": "ml-research", "env": "prod"}, "/plain": {}},
        "dynamodb_tables": {"tagged-table": {"owner": "data-eng"}, "plain-table": {}},
        "sagemaker_notebooks": {"tagged-nb": {"owner": "ml-research"}, "plain-nb": {}},
    }


def _tags(table: str) -> tuple[dict[str, dict[str, str]], list[str]]:
    with recorded_actions() as actions:
        result = collect(table)
    assert result.gaps == []
    frame = result.tables[table]
    return {row.resource_name: json.loads(row.tags) for row in frame.itertuples()}, list(actions)


@pytest.mark.parametrize("table", sorted(PER_RESOURCE_TAG_CALLS))
def test_tags_come_from_the_tagging_api_without_per_resource_calls(table: str) -> None:
    expected = _seed()[table]
    tags, actions = _tags(table)
    assert tags == expected
    assert "tag:GetResources" in actions
    assert PER_RESOURCE_TAG_CALLS[table] not in actions


@pytest.mark.parametrize("table", sorted(PER_RESOURCE_TAG_CALLS))
def test_refused_tagging_api_falls_back_to_each_resource_with_the_same_tags(table: str) -> None:
    expected = _seed()[table]
    with denied("GetResources"):
        tags, actions = _tags(table)
    assert tags == expected
    assert actions.count(PER_RESOURCE_TAG_CALLS[table]) >= 1


def test_tags_unreadable_both_ways_are_a_gap_for_that_resource() -> None:
    _seed()
    with denied("GetResources"), denied("ListTagsForResource"):
        result = collect("log_groups")
    assert {(g.operation, g.error_code) for g in result.gaps} == {("ListTagsForResource", "AccessDenied")}
    assert {g.resource_id.rsplit(":", 1)[-1] for g in result.gaps} == {"/tagged", "/plain"}


def _tables_with(key: str, names: list[str]) -> None:
    ddb = boto3.client("dynamodb")
    for name in names:
        ddb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key},
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        )


def test_dynamodb_key_kind_comes_from_the_aliases_not_a_call_per_key() -> None:
    key = boto3.client("kms").create_key(Description="tables")["KeyMetadata"]["Arn"]
    _tables_with(key, [f"t{i}" for i in range(12)])
    with recorded_actions() as actions:
        result = collect("dynamodb_tables")
    assert (actions.count("kms:ListAliases"), actions.count("kms:DescribeKey")) == (1, 0)
    assert set(result.tables["dynamodb_tables"]["encryption"]) == {"CUSTOMER_MANAGED"}


def test_dynamodb_without_aliases_describes_each_distinct_key_once() -> None:
    key = boto3.client("kms").create_key(Description="tables")["KeyMetadata"]["Arn"]
    _tables_with(key, [f"t{i}" for i in range(12)])
    with denied("ListAliases"), recorded_actions() as actions:
        result = collect("dynamodb_tables")
    assert actions.count("kms:DescribeKey") == 1
    assert set(result.tables["dynamodb_tables"]["encryption"]) == {"CUSTOMER_MANAGED"}


def test_dynamodb_unreadable_key_is_a_gap_for_each_table_using_it() -> None:
    key = boto3.client("kms").create_key(Description="tables")["KeyMetadata"]["Arn"]
    _tables_with(key, ["a", "b"])
    with denied("ListAliases"), denied("DescribeKey"):
        result = collect("dynamodb_tables")
    assert sorted(g.resource_id.rsplit("/", 1)[-1] for g in result.gaps) == ["a", "b"]
    assert result.tables["dynamodb_tables"]["encryption"].isna().all()


def test_bounded_map_keeps_input_order_and_raises_what_a_worker_raised() -> None:
    assert map_bounded(lambda i: i * i, range(50), workers=4) == [i * i for i in range(50)]
    with pytest.raises(ZeroDivisionError):
        map_bounded(lambda i: 1 // (i - 7), range(10), workers=3)
