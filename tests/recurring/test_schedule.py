"""recurring.yaml: cadence, grace and reminder boundaries, evidence dates, safe names, and the controls it becomes."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from complyflow.core.config import ConfigError, load_config
from complyflow.core.recurring import (
    RecurringTask,
    add_cadence,
    assess,
    date_in_name,
    document_path,
    load_recurring,
    parse_cell_date,
)
from tasks.check import check_config

TODAY = date(2026, 6, 15)


def task(**changes: object) -> RecurringTask:
    data: dict[str, object] = {
        "id": "ir-plan-drill",
        "title": "IR plan drill",
        "owner": "security-team",
        "policy_clause": {"document": "AI Security Policy", "section": "6.3 Incident Response"},
        "cadence": 30,
        "grace_days": 5,
        "remind_days": 7,
        "evidence": {"kind": "folder", "path": "drills"},
    }
    data.update(changes)
    return RecurringTask.model_validate(data)


@pytest.mark.parametrize(
    ("start", "cadence", "due"),
    [
        (date(2026, 1, 31), "monthly", date(2026, 2, 28)),  # the 31st becomes the month's last day
        (date(2024, 1, 31), "monthly", date(2024, 2, 29)),  # leap year
        (date(2026, 11, 30), "quarterly", date(2027, 2, 28)),
        (date(2026, 8, 31), "semiannual", date(2027, 2, 28)),
        (date(2024, 2, 29), "annual", date(2025, 2, 28)),
        (date(2026, 12, 31), 1, date(2027, 1, 1)),
        (date(2026, 1, 1), 90, date(2026, 4, 1)),
    ],
)
def test_cadence_is_calendar_months_or_days(start: date, cadence: str | int, due: date) -> None:
    assert add_cadence(start, cadence) == due


# last evidence 30 days before the due date; due = TODAY + offset; grace 5, reminder window 7
@pytest.mark.parametrize(
    ("due_offset", "overdue", "due_soon", "days_overdue"),
    [
        (8, False, False, 0),  # one day before the reminder window: current
        (7, False, True, 0),  # first day of the reminder window
        (0, False, True, 0),  # due today: a reminder, not overdue
        (-5, False, True, 0),  # exactly the last day of grace: still a reminder
        (-6, True, False, 1),  # the day after grace ends: overdue
        (-40, True, False, 35),
    ],
)
def test_reminder_and_grace_boundaries(due_offset: int, overdue: bool, due_soon: bool, days_overdue: int) -> None:
    last = date.fromordinal(TODAY.toordinal() + due_offset - 30)
    schedule = assess(last, TODAY, task())
    assert schedule.due_in_days == due_offset
    assert (schedule.overdue, schedule.due_soon, schedule.days_overdue) == (overdue, due_soon, days_overdue)


def test_no_evidence_at_all_is_overdue() -> None:
    schedule = assess(None, TODAY, task())
    assert schedule.overdue and not schedule.due_soon
    assert schedule.due is None and schedule.days_overdue is None


def test_zero_reminder_and_grace_windows() -> None:
    t = task(remind_days=0, grace_days=0)  # cadence 30 days: evidence of 2026-05-16 is due on TODAY
    tomorrow, today, yesterday = (assess(date(2026, 5, d), TODAY, t) for d in (17, 16, 15))
    assert (tomorrow.overdue, tomorrow.due_soon) == (False, False)
    assert (today.overdue, today.due_soon) == (False, True)  # due today: reminded, not overdue
    assert (yesterday.overdue, yesterday.due_soon, yesterday.days_overdue) == (True, False, 1)


@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("2026-10-14-committee-minutes.pdf", date(2026, 10, 14)),
        ("minutes_2026_10_14.docx", date(2026, 10, 14)),
        ("minutes-20261014.md", date(2026, 10, 14)),
        ("2026.10.14 minutes.md", date(2026, 10, 14)),
        ("review-2026-01-01-to-2026-03-31.pdf", date(2026, 3, 31)),  # a period: its end
        ("q3/2025-12-01/minutes-2026-01-05.md", date(2026, 1, 5)),  # the file's own name, not its folder
        ("minutes-2026-02-30.md", None),  # no such day
        ("minutes-2026-1014.md", None),  # mixed separators
        ("report-v20261014123.md", None),  # a longer number is not a date
        ("minutes.md", None),
    ],
)
def test_date_in_file_name(name: str, found: date | None) -> None:
    assert date_in_name(name) == found


def test_register_cells_are_iso_dates_and_relative_only_when_allowed() -> None:
    assert parse_cell_date(" 2026-03-01 ", TODAY, relative=False) == date(2026, 3, 1)
    assert parse_cell_date("today-15d", TODAY, relative=True) == date(2026, 5, 31)
    assert parse_cell_date("today", TODAY, relative=True) == TODAY
    with pytest.raises(ValueError, match="not a date"):
        parse_cell_date("today-15d", TODAY, relative=False)
    with pytest.raises(ValueError, match="not a date"):
        parse_cell_date("01/03/2026", TODAY, relative=False)


@pytest.mark.parametrize(
    "name",
    [
        "../../../etc/passwd",
        "..",
        "a/../../b.pdf",
        "C:\\Windows\\system32\\evil.dll",
        "minutes\n2026-01-01\r.md",
        "<!channel> *bold* `code`.md",
        "\u202egnp.exe",
        ".hidden",
        "x" * 5000 + ".pdf",
        "会议纪要-2026-01-01.pdf",
    ],
)
def test_document_paths_are_safe_whatever_the_name(name: str) -> None:
    path = document_path("ir-plan-drill", name, "ab" * 32)
    prefix = "evidence/documents/ir-plan-drill/abababababab-"
    assert path.startswith(prefix)
    rest = path.removeprefix(prefix)
    assert rest and "/" not in rest and rest != ".." and not rest.startswith(".")
    assert all(c.isascii() and (c.isalnum() or c in "._-") for c in rest)
    assert len(rest) <= 80


def write_recurring(configs: Path, tasks: list[dict]) -> None:
    (configs / "recurring.yaml").write_text(yaml.safe_dump({"tasks": tasks}), encoding="utf-8")


def raw_task(**changes: object) -> dict:
    data = task().model_dump(mode="json", exclude_defaults=True)
    data.update(changes)
    return data


def test_each_task_is_controls_in_the_catalog_with_its_clause(config_dir: Path) -> None:
    completion = {"column": "status", "completed_values": ["done"], "min_rate": 0.9}
    write_recurring(
        config_dir,
        [raw_task(), raw_task(id="training", evidence={"kind": "s3", "uri": "s3://b-1/x/"}, completion=completion)],
    )
    config = load_config(config_dir)
    recurring = {c.id: c for c in config.controls if c.id.startswith("recurring-")}
    assert set(recurring) == {
        "recurring-ir-plan-drill",
        "recurring-ir-plan-drill-due-soon",
        "recurring-training",
        "recurring-training-due-soon",
        "recurring-training-completion-rate",
    }
    for control in recurring.values():
        assert control.policy_clause.model_dump() == {
            "document": "AI Security Policy",
            "section": "6.3 Incident Response",
        }
        assert control.owner_role == "security-team"
        assert control.evidence_table == "recurring_evidence"
    assert recurring["recurring-ir-plan-drill-due-soon"].severity == "informational"
    assert recurring["recurring-training-completion-rate"].rule.kwargs == {"min_value": 0.9}
    check_config(config_dir)  # every synthesized control reads declared columns of recurring_evidence


def test_shipped_tasks_cover_the_clauses_no_api_can_see() -> None:
    settings = load_recurring(Path(__file__).resolve().parents[2] / "configs")
    sections = {(t.policy_clause.document, t.policy_clause.section.split()[0]) for t in settings.tasks}
    ai_policy = {s for d, s in sections if d == "AI Security Policy"}
    assert ai_policy == {"1.4", "2.1", "2.3", "6.3", "6.4", "9.1", "9.2", "10.1", "10.2", "11"}
    assert ("ML SecPol", "Exceptions") in sections and ("Vendor Security Guide", "Write") in sections
    assert any(t.completion for t in settings.tasks if t.policy_clause.section.startswith("9.1"))


@pytest.mark.parametrize(
    ("tasks", "message"),
    [
        ([raw_task(), raw_task()], "task ids used twice: ir-plan-drill"),
        ([raw_task(), raw_task(id="ir-plan-drill-due-soon")], "would both be control recurring-ir-plan-drill-due-soon"),
        ([raw_task(evidence={"kind": "folder", "path": "../outside"})], "inside the config directory"),
        ([raw_task(evidence={"kind": "folder", "path": "/etc"})], "inside the config directory"),
        ([raw_task(evidence={"kind": "s3", "uri": "s3://bucket/no-trailing-slash"})], "field evidence.s3.uri"),
        ([raw_task(cadence="weekly")], "field cadence"),
        ([raw_task(grace_days=-1)], "field grace_days"),
        (
            [
                raw_task(
                    evidence={"kind": "register", "path": "r.csv"},
                    completion={"column": "s", "completed_values": ["y"], "min_rate": 0.9},
                )
            ],
            "not a register",
        ),
        ([raw_task(owner="  ")], "field owner"),
    ],
)
def test_malformed_tasks_are_refused_naming_file_task_and_field(
    config_dir: Path, tasks: list[dict], message: str
) -> None:
    write_recurring(config_dir, tasks)
    with pytest.raises(ConfigError, match="recurring.yaml") as error:
        load_config(config_dir)
    assert message in str(error.value)


def test_a_yaml_control_with_a_recurring_id_clashes(config_dir: Path) -> None:
    write_recurring(config_dir, [raw_task()])
    shutil.copy(
        config_dir / "controls" / "kms-key-rotation.yaml", config_dir / "controls" / "recurring-ir-plan-drill.yaml"
    )
    text = (config_dir / "controls" / "recurring-ir-plan-drill.yaml").read_text(encoding="utf-8")
    (config_dir / "controls" / "recurring-ir-plan-drill.yaml").write_text(
        text.replace("id: kms-key-rotation", "id: recurring-ir-plan-drill"), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match="also declared in controls/"):
        load_config(config_dir)


def test_no_recurring_file_means_no_recurring_controls(config_dir: Path) -> None:
    (config_dir / "recurring.yaml").unlink()
    assert not [c for c in load_config(config_dir).controls if c.id.startswith("recurring-")]


def test_iam_policy_reads_only_the_prefixes_recurring_yaml_names(config_dir: Path) -> None:
    from tasks.iam_policy import generate_policy

    s3 = [
        raw_task(id="task-a", evidence={"kind": "s3", "uri": "s3://grc-1/minutes/"}),
        raw_task(id="task-b", evidence={"kind": "s3", "uri": "s3://grc-2/"}),
        raw_task(id="task-c", evidence={"kind": "s3", "uri": "s3://grc-1/drills/2026/"}, enabled=False),
    ]
    write_recurring(config_dir, [*s3, raw_task(id="task-d")])
    found = {s["Sid"]: s for s in generate_policy(config_dir)["Statement"]}
    read = found["ComplyflowReadRecurringEvidence"]
    assert (read["Action"], read["Resource"]) == (
        ["s3:GetObject"],
        ["arn:aws:s3:::grc-1/minutes/*", "arn:aws:s3:::grc-2/*"],
    )
    lists = [found["ComplyflowListRecurringEvidence1"], found["ComplyflowListRecurringEvidence2"]]
    assert [(s["Action"], s["Resource"], s["Condition"]["StringLike"]["s3:prefix"]) for s in lists] == [
        (["s3:ListBucket"], ["arn:aws:s3:::grc-1"], ["minutes/*"]),
        (["s3:ListBucket"], ["arn:aws:s3:::grc-2"], ["*"]),
    ]
    write_recurring(config_dir, [raw_task(id="task-d")])  # no S3 source: no S3 statement at all
    assert not [sid for sid in (s["Sid"] for s in generate_policy(config_dir)["Statement"]) if "Recurring" in sid]
