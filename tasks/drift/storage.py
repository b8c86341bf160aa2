"""Read drift evidence from S3 (`s3://bucket/key`) or from disk (paths relative to the config dir).

One small interface for both, so that the report readers do not care where a team keeps its files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tasks.aws import paginate


@dataclass(frozen=True, slots=True)
class StoredObject:
    """One file: its full location (s3://… URI or absolute path) and when it was last written."""

    uri: str
    modified: datetime


def is_s3(uri: str) -> bool:
    return uri.startswith("s3://")


def split_s3(uri: str) -> tuple[str, str]:
    """(bucket, key) of an s3:// URI."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not bucket:
        raise ValueError(f"{uri!r} is not an S3 URI (s3://bucket/key)")
    return bucket, key


class Store:
    """Lists and reads files under S3 URIs or local paths; the S3 client is created on first use."""

    def __init__(self, s3_client: Callable[[], Any], base_dir: Path | None) -> None:
        self._s3_factory = s3_client
        self._s3: Any = None
        self.base_dir = base_dir

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            self._s3 = self._s3_factory()
        return self._s3

    def local(self, location: str) -> Path:
        """A local location as an absolute path (relative ones are under the config dir)."""
        path = Path(location).expanduser()
        if not path.is_absolute():
            if self.base_dir is None:
                raise ValueError(f"{location!r} is a relative path but no config directory is known")
            path = self.base_dir / path
        return path

    def files(self, location: str) -> list[StoredObject]:
        """Every file under a prefix / folder (recursively), or the one file the location names."""
        if is_s3(location):
            bucket, prefix = split_s3(location)
            return [
                StoredObject(f"s3://{bucket}/{item['Key']}", _utc(item["LastModified"]))
                for item in paginate(self.s3, "list_objects_v2", "Contents", Bucket=bucket, Prefix=prefix)
                if not item["Key"].endswith("/")
            ]
        path = self.local(location)
        if path.is_file():
            return [self._stat(path)]
        if not path.is_dir():
            raise FileNotFoundError(f"{path}: no such file or folder")
        return [self._stat(p) for p in sorted(path.rglob("*")) if p.is_file()]

    def location(self, location: str) -> str:
        """The location as `files` names it: S3 URIs as given, local paths made absolute."""
        return location if is_s3(location) else str(self.local(location))

    def read(self, uri: str) -> bytes:
        if is_s3(uri):
            bucket, key = split_s3(uri)
            return bytes(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        return self.local(uri).read_bytes()

    def stat(self, uri: str) -> StoredObject:
        """When one file was last written."""
        if is_s3(uri):
            bucket, key = split_s3(uri)
            return StoredObject(uri, _utc(self.s3.head_object(Bucket=bucket, Key=key)["LastModified"]))
        return self._stat(self.local(uri))

    @staticmethod
    def _stat(path: Path) -> StoredObject:
        return StoredObject(str(path), datetime.fromtimestamp(path.stat().st_mtime, tz=UTC))


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
