"""`complyflow check`: every file under a config directory, validated as a run would read it, with no AWS call.

A run reads its policy in several places (load_config, models.yaml for drift, vendors.yaml and the
questionnaire for vendor reviews, the evidence-store and deployment settings); this module calls the
same loaders up front, so that a bad file stops the run before any AWS call, with a ConfigError naming
file, entry and field. Register rows that a run would report as ERROR findings (a malformed vendor, a
recurring task's missing folder or malformed register) are warnings here: the run still evaluates the rest.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from complyflow.core.conditions import parse_condition
from complyflow.core.config import Config, ConfigError, Control, load_config
from complyflow.core.deploy_config import load_deployments_config, load_evidence_store_config
from complyflow.core.recurring import CONTROL_PREFIX, RECURRING_FILE
from complyflow.core.tables import Column, TableSpec


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
    config: Config
    warnings: list[str] = field(default_factory=list)

    def line(self) -> str:
        vendors = f"{self.vendors} vendors" if self.vendors is not None else "vendor register not local"
        return (
            f"configuration OK: {self.controls} controls ({self.enabled_controls} enabled), {self.accounts} "
            f"account(s), {self.regions} region(s), {self.exceptions} exception(s), {self.models} model(s), "
            f"{vendors}, {self.questions} question(s), {self.deployments} deployment(s), "
            f"{len(self.config.policies)} policy document(s) with "
            f"{sum(len(d.clauses) for d in self.config.policies)} clause(s)"
        )


def check_config(directory: str | Path | None = None) -> CheckSummary:
    """Validate everything under the config directory; the first problem raises ConfigError."""
    from tasks.drift.inventory import load_inventory

    config = load_config(directory)
    folder = Path(config.directory)
    check_evidence_tables(config)
    inventory = load_inventory(folder)
    vendors, questions, warnings = check_vendors(folder)
    warnings += check_recurring(folder)
    load_evidence_store_config(folder)
    deployments = load_deployments_config(folder)
    check_no_unread_files(folder)
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
        config=config,
        warnings=warnings,
    )


#: The YAML files a run reads at the top of the config directory.
READ_FILES = (
    "scope.yaml",
    "owners.yaml",
    "notify.yaml",
    "exceptions.yaml",
    "access-review.yaml",
    "models.yaml",
    "vendors.yaml",
    "vendor-questionnaire.yaml",
    "deployments.yaml",
    "evidence-store.yaml",
    "recurring.yaml",
)


def check_no_unread_files(folder: Path) -> None:
    """A YAML file no run reads (`scope.yml`, `Owners.yaml`) is refused by name rather than silently ignored."""
    from tasks.vendors.settings import FileSource, load_settings

    source = load_settings(folder).source
    register = (folder / source.path).resolve() if isinstance(source, FileSource) else None
    for path in sorted(folder.iterdir()):
        if not path.is_file() or not re.search(r"(?i)\.ya?ml$", path.name) or path.name in READ_FILES:
            continue
        if register is not None and path.resolve() == register:
            continue
        close = difflib.get_close_matches(path.name.lower().replace(".yml", ".yaml"), READ_FILES, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise ConfigError(
            f"{path}: not read: a run reads {', '.join(READ_FILES)} and controls/*.yaml here{hint} "
            "(rename the file, or move it out of the config directory)"
        )


def check_evidence_tables(config: Config) -> None:
    """Every control reads a declared table, columns of it, with thresholds of the column's type."""
    from tasks.collect import TABLE_SOURCES

    specs = {spec.name: spec for collector in TABLE_SOURCES.values() for spec in collector.declares}
    for control in config.controls:
        path = _control_file(Path(config.directory), control.id)
        where = f"{path}: entry {control.id!r}"
        spec = specs.get(control.evidence_table)
        if spec is None:
            raise ConfigError(
                f"{where}: field evidence_table: unknown evidence table {control.evidence_table!r}; "
                f"known: {', '.join(sorted(specs))} (complyflow tables lists them)"
            )
        for field_name, problem in control_column_problems(control, spec):
            raise ConfigError(f"{where}: field {field_name}: {problem}")


def control_column_problems(control: Control, spec: TableSpec) -> list[tuple[str, str]]:
    """(field, problem) for every column the control names that `spec` lacks, or a threshold of the wrong type."""
    known = set(spec.column_names)

    def unknown(column: str) -> str:
        close = difflib.get_close_matches(column, sorted(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; columns: {', '.join(spec.column_names)}"
        return f"{spec.name} has no column {column!r}{hint}"

    problems: list[tuple[str, str]] = []
    if control.rule.column not in known:
        problems.append(("rule.column", unknown(control.rule.column)))
    for index, column in enumerate(control.observed_columns):
        if column not in known:
            problems.append((f"observed_columns[{index}]", unknown(column)))
    if control.applies_when:
        for column in sorted(parse_condition(control.applies_when).columns):
            if column not in known:
                problems.append(("applies_when", unknown(column)))
    rule_column = spec.column(control.rule.column)
    if rule_column is not None:
        problems += [("rule.kwargs", p) for p in threshold_problems(control, rule_column)]
    return problems


def threshold_problems(control: Control, column: Column) -> list[str]:
    """Thresholds that could never match the rule column's type (a string bound on a number, …)."""
    rule = control.rule
    kwargs = rule.kwargs
    problems = []
    if "value_set" in kwargs:
        wrong = [v for v in kwargs["value_set"] if not _fits(v, column)]
        if wrong:
            problems.append(
                f"value_set items {wrong!r} are not {column.type} values, but {column.name} is a {column.type} column"
            )
    for bound in ("min_value", "max_value"):
        between = rule.expectation == "expect_column_values_to_be_between"
        if kwargs.get(bound) is not None and between and not column.numeric:
            problems.append(
                f"{bound}: {rule.expectation} compares numbers, but {column.name} is a {column.type} column"
            )
    return problems


def _fits(value: object, column: Column) -> bool:
    if value is None:
        return True
    if column.type == "boolean":
        return isinstance(value, bool)
    if column.type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if column.type == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str)


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


def check_recurring(folder: Path) -> list[str]:
    """Recurring tasks whose local folder or register a run would report as ERROR (missing, malformed)."""
    from tasks.collect.recurring import local_problems

    return local_problems(folder, datetime.now(UTC).date())


def _control_file(folder: Path, control_id: str) -> Path:
    for suffix in (".yaml", ".yml"):
        path = folder / "controls" / f"{control_id}{suffix}"
        if path.exists():
            return path
    if control_id.startswith(CONTROL_PREFIX):  # synthesized from a recurring task
        return folder / RECURRING_FILE
    return folder / "controls" / f"{control_id}.yaml"
