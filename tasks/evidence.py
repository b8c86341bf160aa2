"""The evidence store: one folder per run, written once, sealed by a hash-chained manifest.

Each run's `manifest.json` holds the SHA-256 of every file in the run folder and the SHA-256 of the
previous run's manifest, so an auditor can later prove that nothing was altered, added or removed.
Files are written atomically (temporary name, then rename), so a crash never leaves half a file.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

MANIFEST = "manifest.json"
RUNS = "runs"
EVIDENCE = "evidence"
MANIFEST_VERSION = 1


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


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


def seal(folder: RunFolder, metadata: dict[str, Any]) -> dict[str, Any]:
    """Write the run's manifest: every file's SHA-256 and the previous manifest's SHA-256."""
    files = {
        str(p.relative_to(folder.path)).replace(os.sep, "/"): {"sha256": sha256_file(p), "bytes": p.stat().st_size}
        for p in sorted(folder.path.rglob("*"))
        if p.is_file() and p.name != MANIFEST and not p.name.endswith(".tmp")
    }
    prev_id, prev_hash = previous_manifest(folder.root, folder.run_id)
    manifest = {
        "version": MANIFEST_VERSION,
        "run_id": folder.run_id,
        "previous_run_id": prev_id,
        "previous_manifest_sha256": prev_hash,
        "files": files,
        "metadata": metadata,
    }
    atomic_write_json(folder.path / MANIFEST, manifest)
    return manifest


def read_table(run_dir: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(run_dir / EVIDENCE / f"{name}.parquet")
