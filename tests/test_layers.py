"""Imports point down only: core <- tasks <- flows <- cli, and nothing but the demo (and tests) imports moto."""

from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: package prefix -> prefixes it must never import (directly or lazily, inside functions)
FORBIDDEN = {
    "complyflow.core": ("tasks", "flows", "complyflow.cli", "complyflow.demo", "prefect", "boto3", "moto"),
    "tasks": ("flows", "complyflow.cli", "complyflow.demo", "moto"),
    "flows": ("complyflow.cli", "complyflow.demo", "moto"),
    "complyflow.cli": ("moto",),
}


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _violations() -> list[str]:
    found = []
    for folder in ("complyflow", "tasks", "flows"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            module = _module(path)
            for owner, banned in FORBIDDEN.items():
                if module != owner and not module.startswith(owner + "."):
                    continue
                for name in _imports(path):
                    if any(name == b or name.startswith(b + ".") for b in banned):
                        found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


def test_imports_point_down_only() -> None:
    assert _violations() == []


def test_the_layer_check_sees_an_upward_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = ROOT / "complyflow" / "core" / "_layer_probe.py"
    bad.write_text("from flows.nightly import nightly_compliance\n", encoding="utf-8")
    try:
        assert _violations() == ["complyflow/core/_layer_probe.py imports flows.nightly"]
    finally:
        bad.unlink()


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff comes with the dev extra")
@pytest.mark.parametrize("command", [["ruff", "check", "."], ["ruff", "format", "--check", "."]])
def test_ruff_is_clean(command: list[str]) -> None:
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
