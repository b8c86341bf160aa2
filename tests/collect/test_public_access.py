"""S3 Block Public Access: account level (S3 Control), bucket level, effective = account OR bucket per flag.

Also the S3 Control custom-endpoint trap: botocore's ruleset puts `{AccountId}.` in front of any custom
endpoint; behind an address (a moto server on 127.0.0.1) that host does not exist.
"""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError
from moto.server import ThreadedMotoServer

from tasks.aws import unprefix_ip_endpoint
from tasks.collect.s3 import effective_block
from tests.support.evaluate import collect, evaluate, verdicts
from tests.support.faults import denied

ACCOUNT = "123456789012"
ALL = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
NONE = dict.fromkeys(ALL, False)


def _bucket(name: str, region: str = "us-east-1", flags: dict[str, bool] | None = None) -> None:
    s3 = boto3.client("s3", region_name=region)
    extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **extra)
    if flags is not None:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=flags)


def _account(flags: dict[str, bool]) -> None:
    control = boto3.client("s3control", region_name="us-east-1")
    control.put_public_access_block(AccountId=ACCOUNT, PublicAccessBlockConfiguration=flags)


@pytest.mark.usefixtures("aws")
class TestInProcess:
    def test_no_account_configuration_means_nothing_blocked(self) -> None:
        (finding,) = evaluate("s3-account-public-access-blocked")
        assert str(finding.status) == "FAIL" and "configured = False" in finding.observed
        assert finding.resource_arn == f"arn:aws:iam::{ACCOUNT}:root"

    @pytest.mark.parametrize(("missing", "expected"), [(None, "PASS"), ("RestrictPublicBuckets", "FAIL")])
    def test_account_needs_all_four_flags(self, missing: str | None, expected: str) -> None:
        _account({**ALL, **({missing: False} if missing else {})})
        (finding,) = evaluate("s3-account-public-access-blocked")
        assert str(finding.status) == expected

    def test_effective_block_is_account_or_bucket_flag_by_flag(self) -> None:
        _account({**NONE, "BlockPublicAcls": True, "IgnorePublicAcls": True})
        _bucket("split-flags", flags={**NONE, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
        _bucket("half-covered", flags={**NONE, "BlockPublicPolicy": True})
        _bucket("own-block", "eu-west-1", flags=ALL)
        _bucket("no-bucket-config", "eu-west-1")  # NoSuchPublicAccessBlockConfiguration: nothing at bucket level
        found = {f.resource_name: f for f in evaluate("s3-bucket-public-access-blocked")}
        assert {name: str(f.status) for name, f in found.items()} == {
            "split-flags": "PASS",
            "half-covered": "FAIL",
            "own-block": "PASS",
            "no-bucket-config": "FAIL",
        }
        assert "public_access_unblocked = RestrictPublicBuckets;" in found["half-covered"].observed
        assert (
            "public_access_unblocked = BlockPublicPolicy,RestrictPublicBuckets;" in found["no-bucket-config"].observed
        )

    def test_account_block_alone_protects_every_bucket(self) -> None:
        _account(ALL)
        _bucket("plain")
        assert verdicts("s3-bucket-public-access-blocked") == {"plain": "PASS"}

    def test_denied_account_read_is_an_error_except_where_the_bucket_blocks_everything(self) -> None:
        _bucket("self-protected", flags=ALL)
        _bucket("depends-on-account", flags={**ALL, "IgnorePublicAcls": False})
        with denied("GetPublicAccessBlock", when=lambda params: "AccountId" in params):
            result = collect("s3_buckets")
        (account,) = evaluate("s3-account-public-access-blocked", result=result)
        assert str(account.status) == "ERROR" and "AccessDenied" in account.message
        assert verdicts("s3-bucket-public-access-blocked", result=result) == {
            "self-protected": "PASS",
            "depends-on-account": "ERROR",
        }
        assert verdicts("s3-bucket-default-encryption", result=result) == {
            "self-protected": "FAIL",
            "depends-on-account": "FAIL",
        }

    def test_denied_bucket_read_is_an_error_for_that_control_only(self) -> None:
        _account(NONE)
        _bucket("locked", flags=ALL)
        with denied("GetPublicAccessBlock", when=lambda params: "Bucket" in params):
            result = collect("s3_buckets")
        assert verdicts("s3-bucket-public-access-blocked", result=result) == {"locked": "ERROR"}
        assert verdicts("s3-account-public-access-blocked", result=result) == {"test": "FAIL"}


def test_effective_block_edges() -> None:
    bucket = {**NONE, "BlockPublicAcls": True}
    assert effective_block(None, bucket)["public_access_unblocked"] == (
        "IgnorePublicAcls,BlockPublicPolicy,RestrictPublicBuckets"
    )
    assert effective_block(PermissionError("denied"), bucket)["public_access_blocked"] is None
    assert effective_block(
        {**NONE, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}, bucket
    ) == {
        "public_access_blocked": True,
        "public_access_unblocked": "",
        "bucket_public_access_block": "BlockPublicAcls",
    }


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"http://{ACCOUNT}.127.0.0.1:5000/v20180820/x", "http://127.0.0.1:5000/v20180820/x"),
        (f"http://{ACCOUNT}.[::1]:5000/v20180820/x", "http://[::1]:5000/v20180820/x"),
        (f"http://{ACCOUNT}.localhost:4566/v20180820/x", "http://localhost:4566/v20180820/x"),
        # DNS names keep AWS's label: AWS and PrivateLink answer {AccountId}.… with wildcard DNS
        (f"https://{ACCOUNT}.s3-control.us-east-1.amazonaws.com/v20180820/x", None),
        (f"https://{ACCOUNT}.control.vpce-1a2b.s3.us-east-1.vpce.amazonaws.com/v20180820/x", None),
        ("http://127.0.0.1:5000/v20180820/x", None),  # no account label
    ],
)
def test_account_label_is_dropped_only_in_front_of_an_address(url: str, expected: str | None) -> None:
    params = {"url": url}
    unprefix_ip_endpoint(params)
    assert params["url"] == (expected or url)


@pytest.fixture
def moto_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A moto server on 127.0.0.1 reached through AWS_ENDPOINT_URL, as the demo reaches it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    try:
        yield endpoint
    finally:
        reset = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")  # noqa: S310 - our own server
        urllib.request.urlopen(reset, timeout=30).close()  # noqa: S310
        server.stop()


def test_account_block_is_read_through_a_custom_endpoint_address(moto_endpoint: str) -> None:
    plain = boto3.client("s3control", region_name="us-east-1", config=Config(retries={"max_attempts": 1}))
    with pytest.raises(EndpointConnectionError, match=f"{ACCOUNT}.127.0.0.1"):  # botocore alone: the trap
        plain.get_public_access_block(AccountId=ACCOUNT)
    plain.meta.events.register("before-call.s3-control", unprefix_ip_endpoint)
    plain.put_public_access_block(AccountId=ACCOUNT, PublicAccessBlockConfiguration=ALL)
    result = collect("s3_account_public_access")
    assert not result.gaps
    assert verdicts("s3-account-public-access-blocked", result=result) == {"test": "PASS"}
