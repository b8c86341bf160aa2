"""Where recurring evidence is found: a local folder, an S3 prefix (paginated), a register CSV.

Every name and key read here is untrusted text. A local folder is walked without following symlinks
(a symlink is skipped, never read), and only regular files inside the folder are opened, with
O_NOFOLLOW; the folder itself must resolve inside the config directory. Documents are read up to the
size limit only: a larger one is recorded, not copied.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from complyflow.core.recurring import FolderSource, RecurringTask, S3Source, date_in_name
from tasks.aws import paginate

#: Storage classes whose objects GetObject refuses (InvalidObjectState) until they are restored.
ARCHIVED = frozenset({"GLACIER", "DEEP_ARCHIVE"})


class RecurringSourceError(ValueError):
    """A source that cannot be read as evidence (missing folder, malformed CSV); the message names file and line."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One file or object found under a source."""

    name: str  # relative to the folder or prefix (untrusted)
    size: int
    modified: datetime
    location: str  # for people: configs/…/name or s3://bucket/key
    key: str  # local absolute path, or the S3 key
    archived: str = ""  # the S3 storage class when the object must be restored before it can be read


@dataclass(frozen=True, slots=True)
class Dated:
    entry: Entry
    day: date
    basis: str  # "file name" or "modified time"


@dataclass(frozen=True, slots=True)
class Listing:
    dated: list[Dated]  # evidence candidates, dated on or before today
    ignored: int  # undated, dated in the future, hidden files, symlinks, non-regular files


def shown(path: Path, config_dir: Path) -> str:
    """A path as the policy author wrote it: `configs/recurring/…`."""
    try:
        return str(Path(config_dir.name) / path.relative_to(config_dir))
    except ValueError:
        return str(path)


def local_folder(source: FolderSource, config_dir: Path) -> Path:
    """The folder, refused when missing or when it resolves outside the config directory (a symlink out)."""
    folder = config_dir / source.path
    root = config_dir.resolve()
    if not folder.is_dir():
        raise RecurringSourceError(f"{shown(folder, config_dir)}: evidence folder not found")
    resolved = folder.resolve()
    if resolved != root and root not in resolved.parents:
        raise RecurringSourceError(f"{shown(folder, config_dir)}: resolves outside the config directory; not read")
    return folder


def list_folder(folder: Path, config_dir: Path) -> tuple[list[Entry], int]:
    """Regular files under `folder` (recursively), symlinks and hidden files skipped (and counted)."""
    entries: list[Entry] = []
    skipped = 0
    for top, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(top) / name
            info = os.lstat(path)
            if name.startswith(".") or not stat.S_ISREG(info.st_mode):
                skipped += 1  # a symlink (to anywhere), a socket, a hidden file: never evidence
                continue
            entries.append(
                Entry(
                    name=str(path.relative_to(folder)).replace(os.sep, "/"),
                    size=info.st_size,
                    modified=datetime.fromtimestamp(info.st_mtime, UTC),
                    location=shown(path, config_dir),
                    key=str(path),
                )
            )
    return entries, skipped


def list_s3(client: Any, source: S3Source) -> list[Entry]:
    """Every object under the prefix (ListObjectsV2, all pages); "folder" marker keys are skipped."""
    entries = []
    for item in paginate(client, "list_objects_v2", "Contents", Bucket=source.bucket, Prefix=source.prefix):
        key = item["Key"]
        if key.endswith("/"):
            continue
        entries.append(
            Entry(
                name=key[len(source.prefix) :],
                size=int(item.get("Size", 0)),
                modified=item["LastModified"],
                location=f"s3://{source.bucket}/{key}",
                key=key,
                archived=item.get("StorageClass", "") if item.get("StorageClass") in ARCHIVED else "",
            )
        )
    return entries


def date_entries(entries: list[Entry], task: RecurringTask, today: date, skipped: int = 0) -> Listing:
    """Each entry's evidence date: a date in its name, else (if the task allows it) its modification time.

    Files dated after today are ignored: a document of a meeting that has not happened yet proves nothing.
    """
    dated = []
    ignored = skipped
    for entry in entries:
        if Path(entry.name).name.startswith("."):
            ignored += 1
            continue
        day, basis = date_in_name(entry.name), "file name"
        if day is None and task.undated_files == "modified_time":
            day, basis = entry.modified.astimezone(UTC).date(), "modified time"
        if day is None or day > today:
            ignored += 1
            continue
        dated.append(Dated(entry, day, basis))
    return Listing(dated, ignored)


def latest(listing: Listing, limit: int) -> list[Dated]:
    """The candidates of the latest date, by name, at most `limit` of them."""
    if not listing.dated:
        return []
    newest = max(d.day for d in listing.dated)
    return sorted((d for d in listing.dated if d.day == newest), key=lambda d: d.entry.name)[:limit]


def read_local(path: Path, limit: int) -> bytes | None:
    """A regular file's bytes without following a symlink; None when it is larger than `limit`."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise RecurringSourceError(f"{path.name}: not a regular file")
        data = handle.read(limit + 1)
    return None if len(data) > limit else data


def read_s3(client: Any, bucket: str, key: str, limit: int) -> bytes | None:
    """An object's bytes (GetObject), read up to `limit`; None when it is larger (it may have grown since listing)."""
    body = client.get_object(Bucket=bucket, Key=key)["Body"]
    try:
        data = body.read(limit + 1)
    finally:
        body.close()
    return None if len(data) > limit else data
