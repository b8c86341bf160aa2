"""Signing sealed manifests, and checking the signatures with a public key an auditor can hold.

A hash chain proves that nothing changed *unless everything after the change was rehashed too*: its
own custodian can rewrite it consistently. A signature by a key the custodian cannot use (an AWS KMS
asymmetric key: `kms:Sign` only, the private key never leaves KMS) closes that gap: a rewritten manifest
is no longer *signed by the expected key*. The local Ed25519 key file is for the demo and tests.

Each manifest gets `manifest.sig` next to it: the algorithm, the key id, the SHA-256 of the public key
and the signature. What is signed is the manifest's SHA-256 as 64 hex characters (`signed_message`): the
same short message for every key type, within KMS's 4 KB limit for RAW messages whatever the manifest's
size, and exactly what the chain head and the witnesses record.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from complyflow.core.config import ConfigError
from complyflow.core.deploy_config import SigningSpec
from complyflow.core.tables import AwsCall, call

SIGNATURE = "manifest.sig"
#: The KMS calls of signing with `signing.kms_key_id`: the IAM policy's signing statement comes from here.
SIGNING_CALLS: tuple[AwsCall, ...] = (
    call("kms", "DescribeKey", when="signing.kms_key_id is set"),
    call("kms", "Sign", when="signing.kms_key_id is set"),
    call("kms", "GetPublicKey", when="signing.kms_key_id is set (verify without --public-key)"),
)
ED25519 = "ED25519"
#: KMS signing algorithms we use, by key spec family; all sign a SHA-256 digest.
KMS_ALGORITHMS = {"ECC": "ECDSA_SHA_256", "RSA": "RSASSA_PSS_SHA_256"}


class SigningError(RuntimeError):
    """A manifest could not be signed (no key, KMS refused): the run is not sealed."""


class Signer(Protocol):
    key_id: str
    algorithm: str

    def sign(self, data: bytes) -> bytes: ...

    def public_key_pem(self) -> bytes: ...


def signed_message(manifest: bytes) -> bytes:
    """The bytes a signature covers: the manifest's SHA-256, hex (KMS signs RAW, hashing it with SHA-256)."""
    return hashlib.sha256(manifest).hexdigest().encode("ascii")


def public_key_sha256(pem: bytes) -> str:
    """A short, stable name for a public key: the SHA-256 of its DER SubjectPublicKeyInfo."""
    key = serialization.load_pem_public_key(pem)
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


@dataclass
class LocalSigner:
    """An Ed25519 private key in a PEM file (mode 0600), created on first use when allowed."""

    path: Path
    key_id: str = ""
    algorithm: str = ED25519

    def __post_init__(self) -> None:
        self._key = _load_or_create(self.path)
        self.key_id = f"file:{self.path}"

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(signed_message(data))

    def public_key_pem(self) -> bytes:
        return self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def _load_or_create(path: Path, create: bool = True) -> ed25519.Ed25519PrivateKey:
    if not path.exists():
        if not create:
            raise ConfigError(f"{path}: signing key file not found (signing.key_file in evidence-store.yaml)")
        key = ed25519.Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # O_EXCL: two first runs at once must not end up with two keys
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(handle, "wb") as out:
                out.write(pem)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"{path}: not a PEM private key: {exc}") from exc
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise ConfigError(f"{path}: the local signing key must be Ed25519")
    return key


@dataclass
class KmsSigner:
    """An AWS KMS asymmetric SIGN_VERIFY key (kms:Sign only: the private key never leaves KMS)."""

    client: Any
    key_id: str
    algorithm: str = ""

    def __post_init__(self) -> None:
        try:
            meta = self.client.describe_key(KeyId=self.key_id)["KeyMetadata"]
        except Exception as exc:  # noqa: BLE001 - any failure: the run cannot be signed, say which key
            raise SigningError(f"KMS key {self.key_id}: {exc}") from exc
        spec = meta.get("KeySpec") or meta.get("CustomerMasterKeySpec", "")
        family = spec.split("_")[0]
        if meta.get("KeyUsage") != "SIGN_VERIFY" or family not in KMS_ALGORITHMS:
            raise SigningError(f"KMS key {self.key_id}: needs an asymmetric SIGN_VERIFY ECC or RSA key, not {spec}")
        self.algorithm = KMS_ALGORITHMS[family]
        self.key_id = meta["Arn"]

    def sign(self, data: bytes) -> bytes:
        answer = self.client.sign(
            KeyId=self.key_id, Message=signed_message(data), MessageType="RAW", SigningAlgorithm=self.algorithm
        )
        return bytes(answer["Signature"])

    def public_key_pem(self) -> bytes:
        der = self.client.get_public_key(KeyId=self.key_id)["PublicKey"]
        key = serialization.load_der_public_key(bytes(der))
        return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_signer(spec: SigningSpec, config_dir: Path | None, region: str | None = None) -> Signer:
    """The signer the evidence-store settings name (KMS in production, else the local key file)."""
    if spec.kms_key_id:
        import boto3

        from tasks.aws import RETRY_CONFIG

        client = boto3.client("kms", region_name=spec.kms_region or region, config=RETRY_CONFIG)
        return KmsSigner(client, spec.kms_key_id)
    path = Path(os.path.expanduser(spec.local_key_path))
    if not path.is_absolute() and config_dir is not None:
        path = config_dir / path
    if not path.exists() and not spec.create_key_file:
        raise ConfigError(f"{path}: signing key file not found (signing.key_file in evidence-store.yaml)")
    return LocalSigner(path)


def signature_record(signer: Signer, data: bytes) -> bytes:
    """The `manifest.sig` bytes for manifest `data`."""
    record = {
        "algorithm": signer.algorithm,
        "key_id": signer.key_id,
        "public_key_sha256": public_key_sha256(signer.public_key_pem()),
        "manifest_sha256": hashlib.sha256(data).hexdigest(),
        "signature": base64.b64encode(signer.sign(data)).decode("ascii"),
    }
    return json.dumps(record, indent=2, sort_keys=True).encode("utf-8")


def check_signature(public_key_pem: bytes, data: bytes, record_bytes: bytes) -> str | None:
    """None when `record_bytes` is a valid signature of `data` by the key; else why not, for a person."""
    try:
        record = json.loads(record_bytes)
        signature = base64.b64decode(record["signature"], validate=True)
        algorithm = record["algorithm"]
    except (ValueError, KeyError, TypeError) as exc:
        return f"unreadable signature record ({exc})"
    key = serialization.load_pem_public_key(public_key_pem)
    data = signed_message(data)
    try:
        if algorithm == ED25519 and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        elif algorithm == "ECDSA_SHA_256" and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        elif algorithm == "RSASSA_PSS_SHA_256" and isinstance(key, rsa.RSAPublicKey):
            # KMS uses a 32-byte salt; AUTO reads it from the signature (any valid PSS salt verifies)
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
            key.verify(signature, data, pss, hashes.SHA256())
        else:
            return f"signed with {algorithm}, which the expected key cannot verify: not signed by the expected key"
    except InvalidSignature:
        return "not signed by the expected key"
    return None


def run_signer(config_dir: str | Path | None) -> Signer:
    """The signer of `evidence-store.yaml` for a run (KMS region: the S3 store's, else the SDK default)."""
    from complyflow.core.deploy_config import load_evidence_store_config

    settings = load_evidence_store_config(config_dir)
    region = settings.s3.region if settings.s3 is not None else None
    return load_signer(settings.signing, Path(config_dir) if config_dir else None, region)


def expected_public_key(config_dir: str | Path | None, public_key_file: str | None) -> bytes:
    """The public key `verify` checks signatures against: the auditor's file, else the configured signer's."""
    if public_key_file:
        try:
            pem = Path(public_key_file).read_bytes()
            serialization.load_pem_public_key(pem)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{public_key_file}: not a PEM public key: {exc}") from exc
        return pem
    return run_signer(config_dir).public_key_pem()
