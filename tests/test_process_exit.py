"""The exit handler that skips the interpreter's last garbage-collection pass is registered once per process."""

from __future__ import annotations

import gc

import pytest

import complyflow.core.process_exit as process_exit


def test_gc_freeze_is_registered_once(monkeypatch: pytest.MonkeyPatch) -> None:
    registered: list[object] = []
    monkeypatch.setattr(process_exit, "_registered", False)
    monkeypatch.setattr(process_exit.atexit, "register", registered.append)
    process_exit.skip_final_gc_at_exit()
    process_exit.skip_final_gc_at_exit()
    assert registered == [gc.freeze]
