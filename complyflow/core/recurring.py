"""Recurring evidence tasks (`configs/recurring.yaml`): obligations no API can see, as data.

Committee minutes, drills, reviews, training completion: each task has an owner, a cadence, a grace
period, a reminder window, the policy clause it evidences and an evidence source (a local folder, an S3
prefix, or a register CSV). The collector (tasks/collect/recurring.py) finds the latest evidence; this
module holds the schema, the date rules and the controls each task becomes. The controls are synthesized
here, at config load, from data only (nothing is evaluated), so reports, Slack, coverage and `check` treat
them like any YAML control: `recurring-<task>` (current or overdue), `recurring-<task>-due-soon` (the
reminder) and, for a training export, `recurring-<task>-completion-rate`.

Why the evidence date comes from the document's name or the register row, never from a file's
modification time by default: mtime records when a file was copied, synced, uploaded or checked out,
not when the meeting, drill or review happened. `aws s3 sync`, a re-upload or a `git clone` makes a
year-old document look new (a false PASS), and a late upload of minutes of an on-time meeting look late.
A date the owner wrote (`2026-10-14-committee-minutes.pdf`, a register row) is the activity's own date.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from complyflow.core.config import ConfigError, Control, FrameworkName, NonBlank, PolicyClause, parse_model, read_yaml

RECURRING_FILE = "recurring.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: The evidence table the recurring-evidence collector fills: one row per task.
RECURRING_TABLE = "recurring_evidence"
CONTROL_PREFIX = "recurring-"
#: Calendar cadences, in months; an integer cadence is a number of days.
CADENCE_MONTHS = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}
Cadence = Literal["monthly", "quarterly", "semiannual", "annual"] | Annotated[int, Field(ge=1, le=3660)]


def _relative_path(value: str) -> str:
    path = PurePosixPath(value)
    if not value or path.is_absolute() or ".." in path.parts or "\\" in value:
        raise ValueError(f"{value!r} must be a relative path inside the config directory (no '..')")
    return value


class FolderSource(_Strict):
    """Documents in a local folder (relative to the config directory), read recursively; symlinks are skipped."""

    kind: Literal["folder"]
    path: str

    @field_validator("path")
    @classmethod
    def _inside(cls, value: str) -> str:
        return _relative_path(value)

    def describe(self) -> str:
        return f"folder {self.path}"


class S3Source(_Strict):
    """Documents under an S3 prefix (ListObjectsV2, paginated; GetObject of the latest ones only)."""

    kind: Literal["s3"]
    uri: str = Field(pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/([^\s]*/)?$")
    region: str | None = None  # the bucket's region; default: the scope's global region

    @property
    def bucket(self) -> str:
        return self.uri.removeprefix("s3://").split("/", 1)[0]

    @property
    def prefix(self) -> str:
        return self.uri.removeprefix("s3://").split("/", 1)[1]

    def describe(self) -> str:
        return self.uri


class RegisterSource(_Strict):
    """A register CSV (relative to the config directory): one row per occurrence, with its date and a link."""

    kind: Literal["register"]
    path: str = Field(pattern=r"(?i)\.csv$")
    date_column: str = "date"
    link_column: str = "link"

    @field_validator("path")
    @classmethod
    def _inside(cls, value: str) -> str:
        return _relative_path(value)

    def describe(self) -> str:
        return f"register {self.path}"


Source = Annotated[FolderSource | S3Source | RegisterSource, Field(discriminator="kind")]


class Completion(_Strict):
    """How to read a completion rate from the latest export (an HR training CSV): one row per person."""

    column: NonBlank  # e.g. status
    completed_values: list[NonBlank] = Field(min_length=1)  # compared case-insensitively, e.g. [completed]
    min_rate: float = Field(gt=0, le=1)  # e.g. 0.95: at least 95 % of the rows completed


class RecurringTask(_Strict):
    """One recurring obligation: who, how often, how late is tolerated, what it evidences, where the proof is."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,60}$")
    title: NonBlank
    owner: NonBlank  # team or e-mail: routed like a resource's owner tag (owners.yaml routes)
    policy_clause: PolicyClause
    clauses: list[str] = Field(default_factory=list)  # secondary clauses, `<policy-id>:<clause-id>` as on controls
    frameworks: dict[FrameworkName, list[str]] = Field(default_factory=dict)
    severity: Literal["critical", "high", "medium", "low"] = "medium"
    cadence: Cadence
    grace_days: int = Field(default=0, ge=0, le=365)
    remind_days: int = Field(default=14, ge=0, le=365)
    evidence: Source
    completion: Completion | None = None
    #: files without a date in their name: ignored (default), or dated by their modification time
    undated_files: Literal["ignore", "modified_time"] = "ignore"
    rationale: str = ""
    remediation: str = ""
    enabled: bool = True

    @model_validator(mode="after")
    def _completion_reads_an_export(self) -> RecurringTask:
        if self.completion is not None and isinstance(self.evidence, RegisterSource):
            raise ValueError("completion reads the latest export file of a folder or s3 source, not a register")
        return self

    @property
    def cadence_text(self) -> str:
        return self.cadence if isinstance(self.cadence, str) else f"every {self.cadence} days"

    @property
    def control_ids(self) -> tuple[str, ...]:
        ids = (f"{CONTROL_PREFIX}{self.id}", f"{CONTROL_PREFIX}{self.id}-due-soon")
        return (*ids, f"{CONTROL_PREFIX}{self.id}-completion-rate") if self.completion else ids


class RecurringConfig(_Strict):
    #: a document larger than this is recorded (date, name, size) but not copied into the sealed run
    max_document_mb: float = Field(default=25, gt=0, le=1024)
    #: at most this many documents of the latest date are copied per task
    max_documents_per_task: int = Field(default=10, ge=1, le=100)
    #: demo registers only: accept `today`, `today-30d` in register date cells (a real register must age)
    relative_dates: bool = False
    tasks: list[RecurringTask] = Field(default_factory=list)

    @field_validator("tasks")
    @classmethod
    def _unique_ids(cls, tasks: list[RecurringTask]) -> list[RecurringTask]:
        ids = [t.id for t in tasks]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"task ids used twice: {', '.join(duplicates)}")
        controls = [c for t in tasks for c in t.control_ids]
        clashes = sorted({c for c in controls if controls.count(c) > 1})
        if clashes:
            raise ValueError(f"two tasks would both be control {', '.join(clashes)}: rename one of them")
        return tasks

    @property
    def max_document_bytes(self) -> int:
        return int(self.max_document_mb * 1024 * 1024)

    def task(self, task_id: str) -> RecurringTask:
        return next(t for t in self.tasks if t.id == task_id)


def load_recurring(directory: Path) -> RecurringConfig:
    """`recurring.yaml` of a config directory; no file means no recurring tasks."""
    path = directory / RECURRING_FILE
    if not path.exists():
        return RecurringConfig()
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with 'tasks'")
    tasks = data.get("tasks") or []
    if not isinstance(tasks, list):
        raise ConfigError(f"{path}: field tasks: must be a list")
    for index, raw in enumerate(tasks):  # one by one, so that an error names its task
        name = raw.get("id", f"#{index + 1}") if isinstance(raw, dict) else f"#{index + 1}"
        parse_model(RecurringTask, raw, path, str(name))
    return parse_model(RecurringConfig, data, path)


# --- dates -----------------------------------------------------------------------------------------


def add_cadence(day: date, cadence: str | int) -> date:
    """`day` plus one cadence: calendar months (the 31st becomes the month's last day), or days."""
    if isinstance(cadence, int):
        return day + timedelta(days=cadence)
    months = day.month - 1 + CADENCE_MONTHS[cadence]
    year, month = day.year + months // 12, months % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class Schedule:
    """Where a task stands on `today`, from the date of its latest evidence."""

    due: date | None  # last evidence + cadence; None: no evidence at all
    grace_end: date | None  # due + grace: the last day that is not overdue
    due_in_days: int | None  # negative: past due
    days_overdue: int | None  # days past grace_end (0: not overdue); None: no evidence
    overdue: bool  # no evidence, or today after grace_end
    due_soon: bool  # not overdue and today within remind_days of due (or past due, in grace)


def assess(last: date | None, today: date, task: RecurringTask) -> Schedule:
    """Due today and the last day of grace are reminders, not violations; the day after grace ends is overdue."""
    if last is None:
        return Schedule(None, None, None, None, overdue=True, due_soon=False)
    due = add_cadence(last, task.cadence)
    grace_end = due + timedelta(days=task.grace_days)
    overdue = today > grace_end
    return Schedule(
        due=due,
        grace_end=grace_end,
        due_in_days=(due - today).days,
        days_overdue=max(0, (today - grace_end).days),
        overdue=overdue,
        due_soon=not overdue and today >= due - timedelta(days=task.remind_days),
    )


_NAME_DATE = re.compile(r"(?<!\d)(\d{4})([-_.]?)(\d{2})\2(\d{2})(?!\d)")


def date_in_name(name: str) -> date | None:
    """The latest real date written in a file name (2026-10-14, 2026_10_14, 2026.10.14, 20261014), or None.

    The latest, because a name such as `review-2026-01-01-to-2026-03-31.pdf` covers a period that ends on it.
    """
    found = []
    for match in _NAME_DATE.finditer(PurePosixPath(name).name):
        try:
            found.append(date(int(match.group(1)), int(match.group(3)), int(match.group(4))))
        except ValueError:
            continue  # 20261399 is not a date
    return max(found) if found else None


_RELATIVE = re.compile(r"^today(?:([+-])(\d{1,5})d)?$")


def parse_cell_date(text: str, today: date, relative: bool) -> date:
    """A register date cell: YYYY-MM-DD (or `today-30d` when relative dates are on, for demo registers)."""
    value = text.strip()
    match = _RELATIVE.match(value) if relative else None
    if match:
        days = int(match.group(2) or 0)
        return today + timedelta(days=-days if match.group(1) == "-" else days)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None


# --- documents -----------------------------------------------------------------------------------

DOCUMENTS_DIR = "evidence/documents"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def document_path(task_id: str, name: str, sha256: str) -> str:
    """Where a copied document lives in the run folder: `evidence/documents/<task>/<hash12>-<safe name>`.

    The name is untrusted (an S3 key or file name may hold `../`, slashes, control characters, a
    leading dot, thousands of characters): only its last component is kept, reduced to [A-Za-z0-9._-],
    and the hash prefix keeps two documents with the same safe name apart.
    """
    base = _UNSAFE.sub("_", PurePosixPath(name.replace("\\", "/")).name).strip("._") or "document"
    return f"{DOCUMENTS_DIR}/{task_id}/{sha256[:12]}-{base[-80:]}"


# --- the controls each task becomes ---------------------------------------------------------------


def recurring_controls(settings: RecurringConfig) -> list[Control]:
    """The catalog entries of every task (data only: the rule, thresholds and text come from recurring.yaml)."""
    controls = []
    for task in settings.tasks:
        on_task = f"task_id == '{task.id}'"
        where = f"{task.evidence.describe()}; every {task.cadence_text}, {task.grace_days} days of grace"
        common: dict[str, Any] = {
            "policy_clause": task.policy_clause,
            "clauses": task.clauses,
            "frameworks": task.frameworks,
            "owner_role": task.owner,
            "evidence_table": RECURRING_TABLE,
            "enabled": task.enabled,
        }
        observed = ["last_evidence_date", "due_date", "grace_end", "days_overdue", "evidence_file"]
        remediation = (
            task.remediation or f"Hold the activity and file its dated evidence in {task.evidence.describe()}."
        )
        controls.append(
            Control(
                id=f"{CONTROL_PREFIX}{task.id}",
                title=f"{task.title} ({task.cadence_text})",
                rationale=task.rationale or f"Recurring evidence task: {where}. Overdue the day after the grace ends.",
                severity=task.severity,
                applies_when=on_task,
                observed_columns=observed,
                rule={
                    "expectation": "expect_column_values_to_be_in_set",
                    "column": "overdue",
                    "kwargs": {"value_set": [False]},
                },
                remediation=remediation,
                **common,
            )
        )
        controls.append(
            Control(
                id=f"{CONTROL_PREFIX}{task.id}-due-soon",
                title=f"Reminder: {task.title} due within {task.remind_days} days",
                rationale=f"A reminder before {task.title.lower()} falls due ({where}); an overdue task is reported by "
                f"{CONTROL_PREFIX}{task.id} instead. Due today and the last day of grace are reminded.",
                severity="informational",
                applies_when=f"{on_task} and overdue == false",
                observed_columns=["due_date", "due_in_days", "grace_end", "last_evidence_date"],
                rule={
                    "expectation": "expect_column_values_to_be_in_set",
                    "column": "due_soon",
                    "kwargs": {"value_set": [False]},
                },
                remediation=remediation,
                **common,
            )
        )
        if task.completion is not None:
            controls.append(
                Control(
                    id=f"{CONTROL_PREFIX}{task.id}-completion-rate",
                    title=f"{task.title}: completion rate at least {task.completion.min_rate:.0%}",
                    rationale=f"The latest export in {task.evidence.describe()} shows who completed it; "
                    f"rows whose {task.completion.column} is one of {task.completion.completed_values} count.",
                    severity=task.severity,
                    applies_when=f"{on_task} and evidence_found == true",
                    observed_columns=["people_completed", "people_total", "evidence_file", "last_evidence_date"],
                    rule={
                        "expectation": "expect_column_values_to_be_between",
                        "column": "completion_rate",
                        "kwargs": {"min_value": task.completion.min_rate},
                    },
                    remediation=f"Have the remaining people complete {task.title.lower()}, then file a new export.",
                    **common,
                )
            )
    return controls
