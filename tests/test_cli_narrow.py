"""The CLI at 80 columns: ids are never cut, `report` needs no --since."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from complyflow.cli import app
from complyflow.core.config import load_config

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def test_controls_at_80_columns_shows_whole_ids() -> None:
    result = CliRunner().invoke(app, ["controls", "--config", str(CONFIGS)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80
    for control in load_config(CONFIGS).controls:
        assert f" {control.id} " in result.output, control.id


def test_report_defaults_to_the_last_30_days(tmp_path: Path) -> None:
    from tests.evidence.conftest import make_run

    make_run(tmp_path / "evidence", "20260101T000000Z-aaaaaa")
    result = CliRunner().invoke(app, ["report", "--evidence-dir", str(tmp_path / "evidence")], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "Missing option" not in result.output
