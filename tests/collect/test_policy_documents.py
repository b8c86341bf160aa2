"""Policy-document rules at their edges: each accepted spelling, and the nearest spelling that must not pass."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from tasks.collect.policy_documents import denies_insecure_transport, grants_full_admin, statements

ADMIN = {"Effect": "Allow", "Action": "*", "Resource": "*"}
BUCKET = "evidence"
BUCKET_ARNS = [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]
TLS_DENY = {
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": BUCKET_ARNS,
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def tls(**changes: Any) -> dict[str, Any]:
    """The canonical TLS-only statement with some elements replaced (None removes one)."""
    statement = {**TLS_DENY, **changes}
    return {key: value for key, value in statement.items() if value is not None}


def admin(**changes: Any) -> dict[str, Any]:
    statement = {**ADMIN, **changes}
    return {key: value for key, value in statement.items() if value is not None}


# --- statements ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param(doc(ADMIN), [ADMIN], id="dict-with-list"),
        pytest.param({"Statement": ADMIN}, [ADMIN], id="single-statement-object"),
        pytest.param(json.dumps(doc(ADMIN)), [ADMIN], id="json-string"),
        pytest.param(quote(json.dumps(doc(ADMIN)), safe=""), [ADMIN], id="url-encoded-json"),
        pytest.param(json.dumps(doc(ADMIN)).encode(), [ADMIN], id="json-bytes"),
        pytest.param(f"  {json.dumps(doc(ADMIN))}\n", [ADMIN], id="surrounding-whitespace"),
        pytest.param(doc(), [], id="no-statements"),
    ],
)
def test_statements_accepts_every_form_aws_returns(document: Any, expected: list[dict[str, Any]]) -> None:
    assert statements(document) == expected


def test_plain_json_is_not_url_decoded() -> None:
    """A literal "%25" in a plain JSON document is data, and must survive."""
    statement = admin(Resource="arn:aws:s3:::reports/100%25.csv")
    assert statements(json.dumps(doc(statement))) == [statement]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param(None, "dict or a JSON string", id="none"),
        pytest.param(42, "dict or a JSON string", id="number"),
        pytest.param("{not json", "neither JSON nor URL-encoded", id="broken-json"),
        pytest.param("%7Bbroken", "neither JSON nor URL-encoded", id="broken-url-encoded"),
        pytest.param("[]", "JSON object", id="json-array"),
        pytest.param({"Version": "2012-10-17"}, "no Statement", id="missing-statement"),
        pytest.param({"Statement": "Allow"}, "Statement must be", id="statement-string"),
        pytest.param({"Statement": [ADMIN, 1]}, r"Statement\[1\] must be an object", id="statement-item-number"),
        pytest.param(doc(admin(Action=5)), r"Statement\[0\]\.Action", id="action-number"),
        pytest.param(doc(admin(Resource=["*", None])), r"Statement\[0\]\.Resource", id="resource-list-with-null"),
        pytest.param(doc(admin(Condition="MFA")), r"Statement\[0\]\.Condition", id="condition-string"),
        pytest.param(doc(tls(Principal=["*"])), r"Statement\[0\]\.Principal", id="principal-list"),
    ],
)
def test_statements_rejects_malformed_documents(document: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        statements(document)


# --- grants_full_admin --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(doc(ADMIN), id="star-on-star"),
        pytest.param({"Statement": admin(Action=["*"], Resource=["*"])}, id="single-statement-lists"),
        pytest.param(doc(admin(Action=["s3:GetObject", "*"], Resource=["arn:aws:s3:::x", "*"])), id="star-in-lists"),
        pytest.param(doc(admin(Action="*:*")), id="star-colon-star"),
        pytest.param(doc(admin(Action="**")), id="double-star"),
        pytest.param(doc(admin(Action=None, NotAction=["iam:*", "organizations:*"])), id="not-action-list"),
        pytest.param(doc(admin(Action=None, NotAction=[])), id="not-action-empty"),
        pytest.param(doc(admin(Resource=None, NotResource="arn:aws:s3:::secret/*")), id="not-resource"),
        pytest.param(doc(admin(Action=None, NotAction="iam:*", Resource=None, NotResource=[])), id="not-both"),
        pytest.param(doc(admin(Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})), id="conditional"),
        pytest.param(doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, ADMIN), id="second-statement"),
        pytest.param(quote(json.dumps(doc(ADMIN)), safe=""), id="url-encoded"),
        pytest.param(doc(ADMIN, admin(Effect="Deny", Action="iam:*")), id="partial-deny-not-modelled"),
        pytest.param(
            doc(ADMIN, admin(Effect="Deny", Condition={"Bool": {"aws:MultiFactorAuthPresent": "false"}})),
            id="conditional-deny-does-not-cancel",
        ),
    ],
)
def test_full_admin_is_recognised_in_every_spelling(document: Any) -> None:
    assert grants_full_admin(document)


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(doc(admin(Action="s3:*")), id="one-service"),
        pytest.param(doc(admin(Action="*:Get*")), id="every-service-read-only"),
        pytest.param(doc(admin(Action=["iam:*", "s3:*"])), id="several-services"),
        pytest.param(doc(admin(Resource="arn:aws:s3:::x")), id="one-resource"),
        pytest.param(doc(admin(Resource=["arn:aws:s3:::x", "arn:aws:s3:::x/*"])), id="resource-list"),
        pytest.param(doc(admin(Effect="allow")), id="effect-lower-case"),
        pytest.param(doc(admin(Effect="Deny")), id="deny-only"),
        pytest.param(doc(admin(Effect=None)), id="no-effect"),
        pytest.param(doc(admin(Action=None, NotAction="*")), id="not-action-star-allows-nothing"),
        pytest.param(doc(admin(Resource=None, NotResource=["*"])), id="not-resource-star-allows-nothing"),
        pytest.param(doc(admin(Resource=None)), id="no-resource-element"),
        pytest.param(doc(ADMIN, admin(Effect="Deny")), id="explicit-deny-wins"),
        pytest.param(doc(admin(Effect="Deny", Action="*:*")), id="explicit-deny-wins-star-colon-star"),
        pytest.param(doc(ADMIN, admin(Effect="Deny", Condition={})), id="empty-condition-is-no-condition"),
        pytest.param(doc(), id="no-statements"),
    ],
)
def test_full_admin_is_not_claimed_for_less(document: Any) -> None:
    assert not grants_full_admin(document)


# --- denies_insecure_transport ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(TLS_DENY, id="canonical"),
        pytest.param(tls(Principal={"AWS": "*"}), id="principal-aws-star"),
        pytest.param(tls(Principal={"AWS": ["*"]}), id="principal-aws-star-list"),
        pytest.param(tls(Principal={"AWS": ["arn:aws:iam::111122223333:root", "*"]}), id="principal-list-with-star"),
        pytest.param(tls(Action="*"), id="action-star"),
        pytest.param(tls(Action="*:*"), id="action-star-colon-star"),
        pytest.param(tls(Action="S3:*"), id="action-upper-case"),
        pytest.param(tls(Action=["s3:GetObject", "s3:*"]), id="action-list"),
        pytest.param(tls(Resource="*"), id="resource-star"),
        pytest.param(tls(Resource=f"arn:aws:s3:::{BUCKET}*"), id="resource-bucket-prefix"),
        pytest.param(tls(Resource=[f"arn:aws-cn:s3:::{BUCKET}", f"arn:aws-cn:s3:::{BUCKET}/*"]), id="china"),
        pytest.param(tls(Resource=[f"arn:aws-us-gov:s3:::{BUCKET}", f"arn:*:s3:::{BUCKET}/*"]), id="gov-cloud"),
        pytest.param(tls(Condition={"BoolIfExists": {"aws:SecureTransport": "false"}}), id="bool-if-exists"),
        pytest.param(tls(Condition={"Bool": {"aws:securetransport": "false"}}), id="key-lower-case"),
        pytest.param(tls(Condition={"Bool": {"aws:SecureTransport": False}}), id="json-false"),
        pytest.param(tls(Condition={"Bool": {"aws:SecureTransport": ["false"]}}), id="false-in-list"),
        pytest.param(tls(Condition={"Bool": {"aws:SecureTransport": "False"}}), id="false-capitalised"),
        pytest.param(tls(Condition={"Bool": {"aws:SecureTransport": ["true", "false"]}}), id="values-are-ored"),
        pytest.param(
            tls(Condition={"Bool": {"aws:SecureTransport": "false"}, "BoolIfExists": {"AWS:SecureTransport": False}}),
            id="two-tls-tests",
        ),
    ],
)
def test_tls_only_policy_is_recognised(statement: dict[str, Any]) -> None:
    assert denies_insecure_transport(doc(statement), bucket=BUCKET)


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(tls(Effect="Allow"), id="allow"),
        pytest.param(tls(Effect="deny"), id="effect-lower-case"),
        pytest.param(tls(Principal={"AWS": "arn:aws:iam::111122223333:root"}), id="one-account"),
        pytest.param(tls(Principal={"Service": "cloudtrail.amazonaws.com"}), id="one-service-principal"),
        pytest.param(tls(Principal=None), id="no-principal"),
        pytest.param(tls(Principal=None, NotPrincipal={"AWS": "arn:aws:iam::111122223333:root"}), id="not-principal"),
        pytest.param(tls(Action="s3:GetObject"), id="get-object-only"),
        pytest.param(tls(Action=["s3:Get*", "s3:Put*"]), id="some-actions"),
        pytest.param(tls(Action="s3:?*"), id="unrecognised-wildcard-spelling"),
        pytest.param(tls(Action=None, NotAction="s3:GetObject"), id="not-action"),
        pytest.param(tls(Resource=BUCKET_ARNS[0]), id="bucket-without-objects"),
        pytest.param(tls(Resource=BUCKET_ARNS[1]), id="objects-without-bucket"),
        pytest.param(tls(Resource=[f"arn:aws:s3:::{BUCKET}/logs/*", BUCKET_ARNS[0]]), id="some-objects"),
        pytest.param(tls(Resource=["arn:aws:s3:::other", "arn:aws:s3:::other/*"]), id="other-bucket"),
        pytest.param(tls(Resource=[BUCKET_ARNS[0], f"arn:aws-cn:s3:::{BUCKET}/*"]), id="mixed-partitions"),
        pytest.param(tls(Resource=None, NotResource="arn:aws:s3:::other"), id="not-resource"),
        pytest.param(tls(Condition={"Bool": {"aws:SecureTransport": "true"}}), id="value-true"),
        pytest.param(tls(Condition={"Bool": {"aws:SecureTransport": True}}), id="json-true"),
        pytest.param(tls(Condition={"Bool": {"aws:SecureTransport": "0"}}), id="value-zero"),
        pytest.param(tls(Condition={"StringEquals": {"aws:SecureTransport": "false"}}), id="string-operator"),
        pytest.param(tls(Condition={"NumericLessThan": {"s3:TlsVersion": "1.2"}}), id="tls-version"),
        pytest.param(
            tls(Condition={"Bool": {"aws:SecureTransport": "false"}, "StringNotEquals": {"aws:SourceVpce": "vpce-1"}}),
            id="narrowed-by-second-condition",
        ),
        pytest.param(tls(Condition=None), id="deny-everything-is-no-tls-rule"),
        pytest.param(tls(Condition={}), id="empty-condition"),
    ],
)
def test_tls_only_policy_is_not_claimed_for_less(statement: dict[str, Any]) -> None:
    assert not denies_insecure_transport(doc(statement), bucket=BUCKET)


@pytest.mark.parametrize(
    ("policy", "bucket", "expected"),
    [
        pytest.param(None, BUCKET, False, id="no-policy"),
        pytest.param({}, BUCKET, False, id="empty-dict"),
        pytest.param("", BUCKET, False, id="empty-string"),
        pytest.param(json.dumps(doc(TLS_DENY)), BUCKET, True, id="json-string"),
        pytest.param(quote(json.dumps(doc(TLS_DENY)), safe=""), BUCKET, True, id="url-encoded"),
        pytest.param({"Statement": TLS_DENY}, BUCKET, True, id="single-statement-object"),
        pytest.param(doc(admin(Effect="Allow", Principal="*"), TLS_DENY), BUCKET, True, id="among-others"),
        pytest.param(doc(TLS_DENY), "other", False, id="other-bucket-name"),
        pytest.param(doc(tls(Resource="arn:aws:s3:::other/*")), None, True, id="no-bucket-no-resource-check"),
    ],
)
def test_tls_only_policy_input_forms(policy: Any, bucket: str | None, expected: bool) -> None:
    assert denies_insecure_transport(policy, bucket=bucket) is expected
