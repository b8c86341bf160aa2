"""`complyflow check`: every file under a config directory, validated as a run would read it, with no AWS call.

A run reads its policy in several places (load_config, models.yaml for drift, vendors.yaml and the
questionnaire for vendor reviews, the evidence-store and deployment settings); this module calls the
same loaders up front, so that a bad file stops the run before any AWS call, with a ConfigError naming
file, entry and field. Register rows that a run would report as ERROR findings (a malformed vendor) are
warnings here: the run still evaluates every other vendor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from complyflow.core.config import Config, ConfigError, load_config
from complyflow.core.deploy_config import load_deployments_config, load_evidence_store_config


@dataclass
class CheckSummary:
    """What a valid configuration declares, and what a run would report as row-level errors."""

    directory: str
    controls: int
    enabled_controls: int
    accounts: int
    regions: int
    exceptions: int
    models: int
    vendors: int | None  # None: the register is not in the config directory (DynamoDB, S3)
    questions: int
    deployments: int
    warnings: list[str] = field(default_factory=list)

    def line(self) -> str:
        vendors = f"{self.vendors} vendors" if self.vendors is not None else "vendor register not local"
        return (
            f"configuration OK: {self.controls} controls ({self.enabled_controls} enabled), {self.accounts} "
            f"account(s), {self.regions} region(s), {self.exceptions} exception(s), {self.models} model(s), "
            f"{vendors}, {self.questions} question(s), {self.deployments} deployment(s)"
        )


def check_config(directory: str | Path | None = None) -> CheckSummary:
    """Validate everything under the config directory; the first problem raises ConfigError."""
    from tasks.drift.inventory import load_inventory

    config = load_config(directory)
    folder = Path(config.directory)
    check_evidence_tables(config)
    inventory = load_inventory(folder)
    vendors, questions, warnings = check_vendors(folder)
    load_evidence_store_config(folder)
    deployments = load_deployments_config(folder)
    return CheckSummary(
        directory=str(folder),
        controls=len(config.controls),
        enabled_controls=len(config.enabled_controls),
        accounts=len(config.scope.accounts),
        regions=len(config.scope.regions),
        exceptions=len(config.exceptions.exceptions),
        models=len(inventory.models),
        vendors=vendors,
        questions=questions,
        deployments=len(deployments.deployments),
        warnings=warnings,
    )


def check_evidence_tables(config: Config) -> None:
    """Every control reads a table that some collector fills."""
    from tasks.collect import TABLE_SOURCES

    for control in config.controls:
        if control.evidence_table not in TABLE_SOURCES:
            path = _control_file(Path(config.directory), control.id)
            raise ConfigError(
                f"{path}: entry {control.id!r}: field evidence_table: unknown evidence table "
                f"{control.evidence_table!r}; known: {', '.join(sorted(TABLE_SOURCES))}"
            )


def check_vendors(folder: Path) -> tuple[int | None, int, list[str]]:
    """vendors.yaml, the questionnaire and the answers folder, read with the collector's own functions.

    Returns (vendor rows or None when the register is remote, questions, row-level problems).
    """
    from tasks.vendors.answers import check_answer_folder, merge_answer_file
    from tasks.vendors.questionnaire import load_questionnaire
    from tasks.vendors.register import parse_row
    from tasks.vendors.settings import DynamoDBSource, S3Source, load_settings
    from tasks.vendors.sources import read_rows, shown_path

    settings = load_settings(folder)
    questionnaire = load_questionnaire(folder)
    answers = folder / settings.source.answers_dir if settings.source.answers_dir else None
    if isinstance(settings.source, DynamoDBSource | S3Source):
        if answers is not None and not answers.is_dir():
            raise ConfigError(
                f"{shown_path(answers, folder)}: answers_dir not found (source.answers_dir in vendors.yaml)"
            )
        return None, len(questionnaire.questions), []

    def no_aws(service: str, region: str) -> None:  # pragma: no cover - local sources never call AWS
        raise AssertionError(f"the config check must not call AWS ({service} in {region})")

    today = datetime.now(UTC).date()
    rows = [
        parse_row(row, today=today, relative_dates=settings.source.relative_dates, question_ids=questionnaire.ids)
        for row in read_rows(settings, folder, no_aws)
    ]
    if answers is not None:
        shown = shown_path(answers, folder)
        check_answer_folder(answers, shown, {row.key for row in rows})
        for row in rows:
            merge_answer_file(row, answers, shown, questionnaire.ids)
    warnings = [error for row in rows for error in row.errors]
    return len(rows), len(questionnaire.questions), warnings


def _control_file(folder: Path, control_id: str) -> Path:
    for suffix in (".yaml", ".yml"):
        path = folder / "controls" / f"{control_id}{suffix}"
        if path.exists():
            return path
    return folder / "controls" / f"{control_id}.yaml"
