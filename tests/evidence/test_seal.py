"""Sealing into a store: chain head, compare-and-swap, the pre-head fallback, and atomic local writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks.evidence import (
    CHAIN_HEAD,
    MANIFEST,
    ConcurrentSealError,
    LocalStore,
    RunFolder,
    read_chain_head,
    seal,
    sha256_file,
)
from tasks.verify import verify_store
from tests.evidence.conftest import make_run


class _RacingStore(LocalStore):
    """Another run seals between our read of the chain head and our swap, `races` times."""

    def __init__(self, root: Path, races: int) -> None:
        super().__init__(root)
        self.races = races

    def swap(self, key: str, data: bytes, token: str | None) -> None:
        if key == CHAIN_HEAD and self.races > 0:
            self.races -= 1
            raise ConcurrentSealError(key)
        super().swap(key, data, token)


def test_a_lost_race_is_retried_against_the_new_head(tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    make_run(root, "20260101T020000Z-aaaaaa")
    store = _RacingStore(root, races=2)
    folder = make_run(root, "20260102T020000Z-bbbbbb", store=store)
    assert store.races == 0
    manifest = json.loads((folder.path / MANIFEST).read_text())
    assert manifest["previous_run_id"] == "20260101T020000Z-aaaaaa"
    assert verify_store(LocalStore(root)).ok


def test_endless_races_fail_loudly_and_leave_the_run_unsealed(tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    make_run(root, "20260101T020000Z-aaaaaa")
    before = read_chain_head(LocalStore(root))
    with pytest.raises(ConcurrentSealError, match="rerun it"):
        make_run(root, "20260102T020000Z-bbbbbb", store=_RacingStore(root, races=99))
    assert read_chain_head(LocalStore(root)) == before
    report = verify_store(LocalStore(root))  # a manifest the head never moved to: interrupted, not sealed
    assert report.ok and report.interrupted == ["20260102T020000Z-bbbbbb"]
    assert report.runs_checked == ["20260101T020000Z-aaaaaa"]


def test_stale_token_is_refused_by_the_local_swap(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.swap("head.json", b"1", None)
    with pytest.raises(ConcurrentSealError):
        store.swap("head.json", b"2", None)
    _data, token = store.read_versioned("head.json")  # type: ignore[misc]
    store.swap("head.json", b"2", token)
    assert store.get_bytes("head.json") == b"2"


def test_store_without_a_head_links_to_the_newest_sealed_run(tmp_path: Path) -> None:
    root = tmp_path / "evidence"
    make_run(root, "20260101T020000Z-aaaaaa")
    (root / CHAIN_HEAD).unlink()  # a store sealed before chain heads existed
    folder = make_run(root, "20260102T020000Z-bbbbbb")
    manifest = json.loads((folder.path / MANIFEST).read_text())
    assert manifest["previous_manifest_sha256"] == sha256_file(root / "runs" / "20260101T020000Z-aaaaaa" / MANIFEST)
    assert verify_store(LocalStore(root)).ok


def test_sealing_into_another_store_copies_every_file(tmp_path: Path) -> None:
    archive = LocalStore(tmp_path / "archive")
    folder = make_run(tmp_path / "staging", "20260101T020000Z-aaaaaa", store=archive)
    copied = archive.keys("runs/")
    assert copied == sorted(
        f"runs/{folder.run_id}/{p}"
        for p in ("manifest.json", "evidence/s3_buckets.parquet", "findings/findings.json", "findings/findings.csv")
    )
    assert archive.get_bytes(f"runs/{folder.run_id}/{MANIFEST}") == (folder.path / MANIFEST).read_bytes()
    assert verify_store(archive).ok
    assert not (tmp_path / "staging" / CHAIN_HEAD).exists()  # the chain lives in the store


def test_keys_cannot_escape_the_local_root(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="escapes"):
        LocalStore(tmp_path / "evidence").put_bytes("../outside.txt", b"x")


def test_run_folder_is_written_once(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path, "20260101T020000Z-aaaaaa").create()
    with pytest.raises(FileExistsError):
        RunFolder(tmp_path, "20260101T020000Z-aaaaaa").create()
    folder.write_json("x.json", {"a": 1})
    assert not list(folder.path.glob(".*.tmp"))  # temporary names are renamed away
    seal(folder, {})
    assert json.loads((folder.path / MANIFEST).read_text())["files"]["x.json"]["bytes"] == len(
        (folder.path / "x.json").read_bytes()
    )
