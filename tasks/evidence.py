"""The evidence store: one folder per run, written once, sealed by a hash-chained manifest.

Each run's `manifest.json` holds the SHA-256 of every file in the run folder and the SHA-256 of the
previous run's manifest, so an auditor can later prove that nothing was altered, added or removed
(AI Security Policy 6.2). Files are written atomically (temporary name, then rename), so a crash never
leaves half a file.

A run is staged in a local folder (`RunFolder`) and sealed into an `EvidenceStore`: the same local
directory by default, or an S3 bucket (one PutObject per file, versioning, Object Lock retention when
the bucket has it). `chain-head.json` names the newest manifest, so removing the newest run is as
visible as removing any other; it is updated with a compare-and-swap, so concurrent runs form one
chain. Pruning past the retention period removes evidence files but keeps each manifest and adds a
tombstone, so the chain stays verifiable.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import pandas as pd

from complyflow.core.tables import AwsCall, call

if TYPE_CHECKING:
    from complyflow.core.deploy_config import EvidenceStoreConfig, S3StoreSpec
    from tasks.signing import Signer

MANIFEST = "manifest.json"
TOMBSTONE = "pruned.json"
CHAIN_HEAD = "chain-head.json"
SIGNATURE_FILE = "manifest.sig"  # tasks.signing.SIGNATURE
#: Files of a run folder the manifest does not list: itself, its signature.
SEAL_FILES = frozenset({MANIFEST, SIGNATURE_FILE})
RUNS = "runs"
EVIDENCE = "evidence"
AUDIT_PACKS = "audit-packs"
MANIFEST_VERSION = 1
SEAL_ATTEMPTS = 5
RUN_ID_PATTERN = re.compile(r"^(\d{8})T\d{6}Z-[0-9a-f]{6}$")


def evidence_root(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The evidence root: the flag, else COMPLYFLOW_EVIDENCE_DIR, else ./evidence."""
    return Path(explicit or os.environ.get("COMPLYFLOW_EVIDENCE_DIR") or "evidence").resolve()


def new_run_id(now: datetime) -> str:
    """Sortable by time, unique across concurrent runs."""
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_open(path: Path, mode: Literal["w", "wb"] = "w") -> Iterator[IO[Any]]:
    """A file that appears at `path` whole or not at all: written under a temporary name, synced, renamed.

    Large reports are streamed through it, so a run never holds a whole findings file in memory.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    text = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
    try:
        with os.fdopen(fd, mode, **text) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_bytes(path, json.dumps(data, indent=2, sort_keys=True, default=str).encode("utf-8"))


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


@dataclass
class RunFolder:
    """The folder of one run under the evidence root."""

    root: Path
    run_id: str
    path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.path = self.root / RUNS / self.run_id

    def create(self) -> RunFolder:
        (self.path / EVIDENCE).mkdir(parents=True, exist_ok=False)
        return self

    def write_table(self, name: str, frame: pd.DataFrame) -> str:
        """Write one evidence table as Parquet; returns its path relative to the run folder."""
        relative = f"{EVIDENCE}/{name}.parquet"
        target = self.path / relative
        if target.exists():
            raise FileExistsError(f"{target}: evidence is written once per run")
        buffer = frame.reset_index(drop=True).to_parquet(index=False)
        atomic_write_bytes(target, buffer)
        return relative

    def write_json(self, relative: str, data: Any) -> str:
        atomic_write_json(self.path / relative, data)
        return relative

    def write_text(self, relative: str, text: str) -> str:
        atomic_write_text(self.path / relative, text)
        return relative

    @contextlib.contextmanager
    def open_text(self, relative: str) -> Iterator[IO[str]]:
        """Stream a UTF-8 file into the run folder (atomically, like every other write)."""
        with atomic_open(self.path / relative) as handle:
            yield handle


def list_runs(root: Path) -> list[Path]:
    """Run folders, oldest first (run ids sort by time)."""
    runs = root / RUNS
    if not runs.is_dir():
        return []
    return sorted(p for p in runs.iterdir() if p.is_dir())


def sealed_runs(root: Path) -> list[Path]:
    return [p for p in list_runs(root) if (p / MANIFEST).is_file()]


def previous_manifest(root: Path, run_id: str) -> tuple[str | None, str | None]:
    """(run id, SHA-256) of the newest sealed manifest before `run_id`; (None, None) for the first."""
    earlier = [p for p in sealed_runs(root) if p.name < run_id]
    if not earlier:
        return None, None
    last = earlier[-1]
    return last.name, sha256_file(last / MANIFEST)


def run_date(run_id: str) -> date | None:
    """The UTC date a run started, from its id; None for a name that is not a run id."""
    match = RUN_ID_PATTERN.match(run_id)
    return datetime.strptime(match.group(1), "%Y%m%d").date() if match else None


def run_key(run_id: str, relative: str = "") -> str:
    """Store key of a file of a run (POSIX, relative to the store root)."""
    return f"{RUNS}/{run_id}/{relative}"


def canonical_json(data: Any) -> bytes:
    """The one serialisation of manifests, tombstones and the chain head, so hashes are reproducible."""
    return json.dumps(data, indent=2, sort_keys=True, default=str).encode("utf-8")


def seal(
    folder: RunFolder, metadata: dict[str, Any], store: EvidenceStore | None = None, signer: Signer | None = None
) -> dict[str, Any]:
    """Write the run's manifest (every file's SHA-256, the previous manifest's SHA-256), sign it, store the run.

    The order makes a crash at any line harmless: evidence files first, then the manifest and its
    signature, and only then the chain head moves to this run, with a compare-and-swap (the last,
    conditional write). A crash before the head moves leaves an *interrupted* run that `verify` names as a
    warning and the chain never references; a concurrent run that won the race becomes our predecessor and
    the manifest is rewritten with the new link. Without a store the run's evidence root is the store.
    """
    store = store or LocalStore(folder.root)
    files = {
        str(p.relative_to(folder.path)).replace(os.sep, "/"): {"sha256": sha256_file(p), "bytes": p.stat().st_size}
        for p in sorted(folder.path.rglob("*"))
        if p.is_file() and p.name not in SEAL_FILES and not p.name.endswith(".tmp")
    }
    for relative in files:
        store.put_file(run_key(folder.run_id, relative), folder.path / relative)
    for _attempt in range(SEAL_ATTEMPTS):
        head, token = read_chain_head(store)
        if head is not None:
            prev_id, prev_hash = head.run_id, head.manifest_sha256
        else:
            prev_id, prev_hash = _previous_in_store(store, folder.run_id)
        manifest = {
            "version": MANIFEST_VERSION,
            "run_id": folder.run_id,
            "previous_run_id": prev_id,
            "previous_manifest_sha256": prev_hash,
            "files": files,
            "metadata": metadata,
        }
        data = canonical_json(manifest)
        if signer is not None:  # signed before it is stored: a stored manifest is always a signed one
            from tasks.signing import SIGNATURE, signature_record

            atomic_write_bytes(folder.path / SIGNATURE, signature_record(signer, data))
            store.put_file(run_key(folder.run_id, SIGNATURE), folder.path / SIGNATURE)
        atomic_write_bytes(folder.path / MANIFEST, data)
        store.put_file(run_key(folder.run_id, MANIFEST), folder.path / MANIFEST)
        new_head = ChainHead(folder.run_id, hashlib.sha256(data).hexdigest(), datetime.now(UTC).isoformat())
        try:
            store.swap(CHAIN_HEAD, canonical_json(new_head.to_dict()), token)
        except ConcurrentSealError:
            continue  # another run sealed meanwhile: link to it and write the manifest again
        return manifest
    raise ConcurrentSealError(
        f"{store.location}: the chain head kept changing; {SEAL_ATTEMPTS} attempts to seal "
        f"run {folder.run_id} lost the race. Its evidence is stored but unsealed: rerun it."
    )


def interrupted_runs(store: EvidenceStore, before: str) -> list[str]:
    """Runs stored after the chain head's run and before run `before` (this one): none of them was sealed.

    Sealing moves the head last, so a run newer than the head was killed (or is still running). Only
    the keys after the head's run are listed, so this stays cheap on a large S3 store.
    """
    head, _token = read_chain_head(store)
    after = run_key(head.run_id, "\U0010ffff") if head is not None else ""
    runs = {key.split("/", 2)[1] for key in store.keys(f"{RUNS}/", start_after=after) if key.count("/") >= 2}
    if head is None:  # no run ever moved a head (or a store from before chain heads): unsealed ones only
        return sorted(r for r in runs if r < before and not store.exists(run_key(r, MANIFEST)))
    return sorted(r for r in runs if r < before and r != head.run_id)


def manifest_witness(manifest: dict[str, Any]) -> str:
    """The SHA-256 the chain head records for this manifest: published outside the store as a witness."""
    return hashlib.sha256(canonical_json(manifest)).hexdigest()


def read_table(run_dir: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(run_dir / EVIDENCE / f"{name}.parquet")


# --- stores --------------------------------------------------------------------------------------


class EvidenceStoreError(RuntimeError):
    """The evidence store is misconfigured or unreachable; the message says what to fix."""


class ConcurrentSealError(RuntimeError):
    """The chain head changed between read and write (another run sealed first)."""


class MissingObjectError(KeyError):
    """No object under that key."""


class EvidenceStore(ABC):
    """Where sealed runs live. Keys are POSIX paths relative to the store root (`runs/<id>/...`)."""

    location: str

    @abstractmethod
    def put_bytes(self, key: str, data: bytes) -> None:
        """Write one object atomically (whole or not at all)."""

    @abstractmethod
    def put_file(self, key: str, path: Path) -> None:
        """Store a local file under `key`."""

    @abstractmethod
    def get_bytes(self, key: str) -> bytes:
        """The object's bytes; MissingObjectError when absent."""

    @abstractmethod
    def sha256(self, key: str) -> str:
        """SHA-256 of the object, streamed; MissingObjectError when absent."""

    @abstractmethod
    def keys(self, prefix: str = "", start_after: str = "") -> list[str]:
        """Every key under `prefix` (and after `start_after`, when given), sorted."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove an object (on a versioned bucket: a delete marker; older versions stay)."""

    @abstractmethod
    def read_versioned(self, key: str) -> tuple[bytes, str] | None:
        """The object and a token that changes whenever it does; None when absent."""

    @abstractmethod
    def swap(self, key: str, data: bytes, token: str | None) -> None:
        """Write only if the object is still at `token` (None: still absent); else ConcurrentSealError."""

    @abstractmethod
    def url(self, key: str) -> str:
        """Where a person finds the object (file:// or s3://); never a signed URL."""

    def exists(self, key: str) -> bool:
        try:
            self.sha256(key)
        except MissingObjectError:
            return False
        return True


class LocalStore(EvidenceStore):
    """A directory on disk (the default). Atomic renames; an flock serialises chain-head updates."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.location = str(self.root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if path != self.root and self.root not in path.parents:
            raise ValueError(f"{key!r} escapes the evidence root")
        return path

    def put_bytes(self, key: str, data: bytes) -> None:
        atomic_write_bytes(self._path(key), data)

    def put_file(self, key: str, path: Path) -> None:
        target = self._path(key)
        if target == Path(path).resolve():
            return  # staged in place: the default layout
        atomic_write_bytes(target, Path(path).read_bytes())

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise MissingObjectError(key) from exc

    def sha256(self, key: str) -> str:
        path = self._path(key)
        if not path.is_file():
            raise MissingObjectError(key)
        return sha256_file(path)

    def keys(self, prefix: str = "", start_after: str = "") -> list[str]:
        base = self._path(prefix) if prefix else self.root
        if base.is_file():
            return [prefix] if prefix > start_after else []
        if not base.is_dir():
            return []
        found = (str(p.relative_to(self.root)).replace(os.sep, "/") for p in base.rglob("*") if p.is_file())
        return sorted(key for key in found if key > start_after)

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        for parent in path.parents:  # tidy empty folders inside the run, never the root
            if parent == self.root or self.root not in parent.parents or any(parent.iterdir()):
                break
            parent.rmdir()

    def read_versioned(self, key: str) -> tuple[bytes, str] | None:
        try:
            data = self.get_bytes(key)
        except MissingObjectError:
            return None
        return data, hashlib.sha256(data).hexdigest()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".chain.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def swap(self, key: str, data: bytes, token: str | None) -> None:
        with self._locked():
            current = self.read_versioned(key)
            if (current[1] if current else None) != token:
                raise ConcurrentSealError(key)
            self.put_bytes(key, data)

    def url(self, key: str) -> str:
        return self._path(key).as_uri()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


#: Every S3 / KMS call the S3 evidence store makes: the IAM policy's evidence-store statements come from here.
S3_STORE_CALLS: tuple[AwsCall, ...] = (
    call("s3", "GetBucketVersioning"),
    call("s3", "GetObjectLockConfiguration", action="s3:GetBucketObjectLockConfiguration"),
    call("s3", "ListObjectsV2", action="s3:ListBucket"),
    call("s3", "GetObject"),
    call("s3", "HeadObject", action="s3:GetObject"),
    call("s3", "PutObject"),
    call("s3", "PutObject", when="the bucket has Object Lock", action="s3:PutObjectRetention"),
    call("s3", "DeleteObject", when="complyflow prune removes an expired run's evidence files"),
    call("kms", "GenerateDataKey", when="evidence-store.yaml names s3.kms_key_id"),
    call("kms", "Decrypt", when="evidence-store.yaml names s3.kms_key_id"),
)


class S3Store(EvidenceStore):
    """An S3 bucket: one PutObject per file (S3 checks its SHA-256), versioning required, Object Lock retention."""

    def __init__(self, spec: S3StoreSpec, retention_days: int, client: Any | None = None) -> None:
        import boto3

        from tasks.aws import RETRY_CONFIG

        self.spec = spec
        self.bucket = spec.bucket
        self.prefix = spec.prefix
        self.retention_days = retention_days
        self.client = client or boto3.client("s3", region_name=spec.region, config=RETRY_CONFIG)
        self.location = f"s3://{self.bucket}/{self.prefix}"
        self.object_lock = False

    def check(self) -> S3Store:
        """Refuse a bucket that cannot keep evidence safely, with the command that fixes it."""
        from botocore.exceptions import ClientError

        try:
            versioning = self.client.get_bucket_versioning(Bucket=self.bucket).get("Status")
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "NoSuchBucket":
                raise EvidenceStoreError(
                    f"{self.location}: bucket not found; create it (with Object Lock) or fix "
                    f"s3.bucket in configs/evidence-store.yaml"
                ) from exc
            raise EvidenceStoreError(
                f"{self.location}: cannot read the bucket's versioning ({code}); the evidence "
                f"writer needs s3:GetBucketVersioning and s3:GetBucketObjectLockConfiguration"
            ) from exc
        if self.spec.require_versioning and versioning != "Enabled":
            raise EvidenceStoreError(
                f"{self.location}: versioning is {versioning or 'off'}; evidence needs it. Run: aws s3api "
                f"put-bucket-versioning --bucket {self.bucket} --versioning-configuration Status=Enabled"
            )
        if self.spec.object_lock != "off":
            try:
                config = self.client.get_object_lock_configuration(Bucket=self.bucket)["ObjectLockConfiguration"]
                self.object_lock = config.get("ObjectLockEnabled") == "Enabled"
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ObjectLockConfigurationNotFoundError":
                    raise EvidenceStoreError(
                        f"{self.location}: cannot read the Object Lock configuration: "
                        f"{exc.response.get('Error', {}).get('Code')}"
                    ) from exc
            if self.spec.object_lock == "required" and not self.object_lock:
                raise EvidenceStoreError(
                    f"{self.location}: object_lock is 'required' but the bucket has no Object Lock. It can only "
                    f"be enabled at bucket creation (or through AWS support): create a new bucket with "
                    f"--object-lock-enabled-for-bucket, or set s3.object_lock: auto"
                )
        return self

    def _key(self, key: str) -> str:
        return self.prefix + key

    def _write_args(self) -> dict[str, Any]:
        args: dict[str, Any] = {}
        if self.object_lock:
            args["ObjectLockMode"] = self.spec.object_lock_mode
            args["ObjectLockRetainUntilDate"] = datetime.now(UTC) + timedelta(days=self.retention_days)
        if self.spec.kms_key_id:
            args["ServerSideEncryption"] = "aws:kms"
            args["SSEKMSKeyId"] = self.spec.kms_key_id
        return args

    def put_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=self._key(key), Body=data, **_checksum(data), **self._write_args()
        )

    def put_file(self, key: str, path: Path) -> None:
        """One PutObject streamed from disk, with its SHA-256 so S3 (and Object Lock) checks the upload."""
        checksum = base64.b64encode(bytes.fromhex(sha256_file(Path(path)))).decode()
        with Path(path).open("rb") as body:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._key(key),
                Body=body,
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=checksum,
                **self._write_args(),
            )

    def _get(self, key: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise MissingObjectError(key) from exc
            raise

    def get_bytes(self, key: str) -> bytes:
        return self._get(key)["Body"].read()

    def sha256(self, key: str) -> str:
        digest = hashlib.sha256()
        for chunk in self._get(key)["Body"].iter_chunks(1 << 20):
            digest.update(chunk)
        return digest.hexdigest()

    def keys(self, prefix: str = "", start_after: str = "") -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        found = []
        after = {"StartAfter": self._key(start_after)} if start_after else {}
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix), **after):
            found.extend(item["Key"][len(self.prefix) :] for item in page.get("Contents", []))
        return sorted(found)

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def read_versioned(self, key: str) -> tuple[bytes, str] | None:
        try:
            response = self._get(key)
        except MissingObjectError:
            return None
        return response["Body"].read(), response["ETag"]

    def swap(self, key: str, data: bytes, token: str | None) -> None:
        from botocore.exceptions import ClientError

        condition = {"IfNoneMatch": "*"} if token is None else {"IfMatch": token}
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, **_checksum(data), **condition, **self._write_args()
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise ConcurrentSealError(key) from exc
            raise

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key)}"


def _checksum(data: bytes) -> dict[str, str]:
    """The SHA-256 S3 verifies before it accepts an object (a corrupted upload is refused); Object Lock needs it."""
    return {"ChecksumAlgorithm": "SHA256", "ChecksumSHA256": base64.b64encode(hashlib.sha256(data).digest()).decode()}


def open_store(
    config_dir: str | Path | None = None,
    evidence_dir: str | os.PathLike[str] | None = None,
    settings: EvidenceStoreConfig | None = None,
) -> EvidenceStore:
    """The store `configs/evidence-store.yaml` names; local means the evidence root (flag, env, ./evidence)."""
    from complyflow.core.deploy_config import load_evidence_store_config

    settings = settings or load_evidence_store_config(config_dir)
    if settings.backend == "s3":
        assert settings.s3 is not None  # guaranteed by the schema
        return S3Store(settings.s3, settings.retention_days).check()
    return LocalStore(evidence_root(evidence_dir))


# --- the chain over a store ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The newest sealed manifest: removing the newest run breaks this link like any other."""

    run_id: str
    manifest_sha256: str
    sealed_at: str

    def to_dict(self) -> dict[str, str]:
        return {"run_id": self.run_id, "manifest_sha256": self.manifest_sha256, "sealed_at": self.sealed_at}


def read_chain_head(store: EvidenceStore) -> tuple[ChainHead | None, str | None]:
    """The chain head and its version token; (None, None) for a store without one."""
    current = store.read_versioned(CHAIN_HEAD)
    if current is None:
        return None, None
    data, token = current
    try:
        raw = json.loads(data)
        return ChainHead(raw["run_id"], raw["manifest_sha256"], raw.get("sealed_at", "")), token
    except (ValueError, KeyError, TypeError) as exc:
        raise EvidenceStoreError(
            f"{store.url(CHAIN_HEAD)}: not a chain head ({exc}); run `complyflow verify` "
            f"and restore it from a trusted copy or the bucket's versions"
        ) from exc


def store_run_ids(store: EvidenceStore) -> list[str]:
    """Names of the run folders in the store, oldest first (run ids sort by time)."""
    if isinstance(store, LocalStore):  # the folders themselves, without walking every file of every run
        return [p.name for p in list_runs(store.root) if next(p.iterdir(), None) is not None]
    return sorted({key.split("/", 2)[1] for key in store.keys(f"{RUNS}/") if key.count("/") >= 2})


def _previous_in_store(store: EvidenceStore, run_id: str) -> tuple[str | None, str | None]:
    """Before the first chain head existed: the newest sealed run before `run_id` (the original rule)."""
    for candidate in reversed([r for r in store_run_ids(store) if r < run_id]):
        try:
            return candidate, store.sha256(run_key(candidate, MANIFEST))
        except MissingObjectError:
            continue
    return None, None


# --- retention -----------------------------------------------------------------------------------


@dataclass(slots=True)
class PruneResult:
    pruned: list[str] = field(default_factory=list)  # run ids whose evidence files were removed
    skipped_unsealed: list[str] = field(default_factory=list)  # old run folders without a manifest


def prune(store: EvidenceStore, retention_days: int, now: datetime | None = None, dry_run: bool = False) -> PruneResult:
    """Remove the evidence files of runs older than the retention period; keep manifests, add tombstones.

    The tombstone is written first (it records the manifest's SHA-256, so an edited manifest still shows),
    then the files listed in the manifest are deleted: a crash in between leaves a verifiable run. On a
    versioned bucket a delete is a delete marker; expire noncurrent versions with a lifecycle rule.
    """
    now = now or datetime.now(UTC)
    cutoff = now.date() - timedelta(days=retention_days)
    result = PruneResult()
    for run_id in store_run_ids(store):
        started = run_date(run_id)
        if started is None or started >= cutoff:
            continue
        if store.exists(run_key(run_id, TOMBSTONE)):
            continue
        try:
            manifest_bytes = store.get_bytes(run_key(run_id, MANIFEST))
        except MissingObjectError:
            result.skipped_unsealed.append(run_id)
            continue
        files = sorted(json.loads(manifest_bytes)["files"])
        result.pruned.append(run_id)
        if dry_run:
            continue
        tombstone = {
            "run_id": run_id,
            "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(),
            "pruned_at": now.isoformat(),
            "retention_days": retention_days,
            "files_removed": files,
        }
        store.put_bytes(run_key(run_id, TOMBSTONE), canonical_json(tombstone))
        for relative in files:
            store.delete(run_key(run_id, relative))
    return result
