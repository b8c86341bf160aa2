"""Manifest signatures with an AWS KMS asymmetric key (moto) and with the local Ed25519 key file."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from complyflow.core.config import ConfigError
from complyflow.core.deploy_config import SigningSpec
from tasks.evidence import LocalStore
from tasks.signing import KmsSigner, SigningError, check_signature, load_signer, signature_record
from tasks.verify import verify_store
from tests.evidence.conftest import RUN_IDS, make_run


@pytest.mark.parametrize(
    ("spec", "algorithm"), [("ECC_NIST_P256", "ECDSA_SHA_256"), ("RSA_2048", "RSASSA_PSS_SHA_256")]
)
@pytest.mark.usefixtures("aws")
def test_kms_signatures_verify_with_the_exported_public_key(tmp_path: Path, spec: str, algorithm: str) -> None:
    kms = boto3.client("kms", region_name="us-east-1")
    key = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec=spec)["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/complyflow-evidence", TargetKeyId=key)
    signer = load_signer(SigningSpec(kms_key_id="alias/complyflow-evidence"), None, "us-east-1")
    assert signer.algorithm == algorithm and signer.key_id.startswith("arn:aws:kms:")
    root = tmp_path / "evidence"
    for run_id in RUN_IDS:
        make_run(root, run_id, signer=signer)
    public = signer.public_key_pem()
    report = verify_store(LocalStore(root), public_key_pem=public)
    assert report.ok and report.signatures_checked == 3
    assert check_signature(public, b"other bytes", signature_record(signer, b"manifest")) == (
        "not signed by the expected key"
    )


@pytest.mark.usefixtures("aws")
def test_a_symmetric_kms_key_is_refused() -> None:
    key = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["KeyId"]
    with pytest.raises(SigningError, match="asymmetric SIGN_VERIFY"):
        KmsSigner(boto3.client("kms", region_name="us-east-1"), key)


def test_local_key_is_created_once_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "signing.pem"
    first = load_signer(SigningSpec(key_file=str(path)), None)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_signer(SigningSpec(key_file=str(path)), None).public_key_pem() == first.public_key_pem()


def test_missing_local_key_without_creation_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="signing key file not found"):
        load_signer(SigningSpec(key_file=str(tmp_path / "absent.pem"), create_key_file=False), None)


def test_kms_and_key_file_together_are_refused() -> None:
    with pytest.raises(ValueError, match="either kms_key_id"):
        SigningSpec(kms_key_id="alias/x", key_file="k.pem")
