"""Declared evidence tables: the generated reference is current, declarations are well formed."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from complyflow.cli import app
from complyflow.core.config import load_config
from tasks.collect import COLLECTORS
from tasks.tables_reference import DOC_PATH, render_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_docs_evidence_tables_is_current() -> None:
    expected = render_markdown(load_config(ROOT / "configs").controls)
    assert (ROOT / DOC_PATH).read_text(encoding="utf-8") == expected, (
        "regenerate: complyflow tables --config configs --markdown > docs/evidence-tables.md"
    )


def test_cli_lists_every_table_with_columns_and_permissions() -> None:
    result = CliRunner().invoke(app, ["tables", "--config", str(ROOT / "configs")], terminal_width=200)
    assert result.exit_code == 0, result.output
    for collector in COLLECTORS:
        for spec in collector.declares:
            assert spec.name in result.output
    assert "rotation_enabled" in result.output and "kms:GetKeyRotationStatus" in result.output


def test_collector_names_are_unique_and_tables_declared_once() -> None:
    names = [c.name for c in COLLECTORS]
    assert len(names) == len(set(names))
    tables = [t for c in COLLECTORS for t in c.tables]
    assert len(tables) == len(set(tables))


def test_every_fed_column_is_a_column_of_the_collector() -> None:
    for collector in COLLECTORS:
        columns = {name for spec in collector.declares for name in spec.column_names}
        for declared in collector.calls:
            assert set(declared.feeds) <= columns, (collector.name, declared.operation)
