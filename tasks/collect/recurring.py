"""Recurring evidence tasks (configs/recurring.yaml): the latest evidence of each task, one row per task.

For each task the collector finds the newest dated document (a date in the file name; the file's
modification time only where the task allows it) or register row, records where the task stands on the
collection day (due date, grace end, days overdue, reminder window), reads a training export's
completion rate, and hands the documents of the latest date to the run, which copies them into the
sealed run folder (so the manifest and the audit pack hold the document, not just its date).

A source that cannot be read (a denied S3 call, a missing folder, a malformed CSV) leaves the task's
facts empty with an evidence gap naming the call or the file and line: its controls report ERROR,
never PASS, and the other tasks are still evaluated.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from complyflow.core.config import DEFAULT_CONFIG_DIR
from complyflow.core.model import EvidenceDocument
from complyflow.core.recurring import (
    RECURRING_TABLE,
    FolderSource,
    RecurringConfig,
    RecurringTask,
    RegisterSource,
    S3Source,
    assess,
    document_path,
    load_recurring,
)
from complyflow.core.tables import Column, TableSpec, call
from tasks.aws import AWS_ERRORS, error_code
from tasks.collect.base import CollectContext, Collector
from tasks.recurring.csvfiles import count_completion, read_register
from tasks.recurring.sources import (
    Dated,
    RecurringSourceError,
    date_entries,
    latest,
    list_folder,
    list_s3,
    local_folder,
    read_local,
    read_s3,
    shown,
)

RESOURCE_TYPE = "RecurringEvidenceTask"
OPERATION = "ReadRecurringEvidence"
#: The S3 prefixes recurring.yaml names: the IAM policy grants ListBucket and GetObject on them only.
RECURRING_PREFIXES = "recurring-evidence-prefixes"
RECURRING_OBJECTS = "recurring-evidence-objects"


@dataclass
class Found:
    """What a task's source shows: the latest evidence and the documents to seal."""

    candidates: int = 0
    ignored: int = 0
    day: date | None = None
    basis: str | None = None
    file: str | None = None
    link: str | None = None
    sha256: str | None = None
    size: int | None = None
    copy: str | None = None
    note: str | None = None
    completion: tuple[int, int] | None = None  # (people, completed)
    documents: list[EvidenceDocument] = field(default_factory=list)


def collect_recurring(ctx: CollectContext) -> None:
    config_dir = ctx.config_dir or DEFAULT_CONFIG_DIR
    settings = load_recurring(config_dir)
    as_of = ctx.as_of if ctx.as_of.tzinfo else ctx.as_of.replace(tzinfo=UTC)
    today = as_of.astimezone(UTC).date()
    for task in settings.tasks:
        if not task.enabled:
            continue
        try:
            found = _find(ctx, task, settings, config_dir, today)
        except (*AWS_ERRORS, RecurringSourceError, OSError) as exc:
            operation = getattr(exc, "operation_name", None) or OPERATION
            _add(ctx, task, today, None)
            ctx.gap(operation, _named(exc, task), resource_id=_resource_id(task), tables=(RECURRING_TABLE,))
            continue
        _add(ctx, task, today, found)
        ctx.documents.extend(found.documents)


def local_problems(config_dir: Path, today: date) -> list[str]:
    """What a run would report as ERROR for the tasks whose evidence is on disk (for `complyflow check`).

    S3 sources are not read here: the check makes no AWS call.
    """
    settings = load_recurring(config_dir)
    problems = []
    for task in settings.tasks:
        if not task.enabled or isinstance(task.evidence, S3Source):
            continue
        try:
            if isinstance(task.evidence, RegisterSource):
                _from_register(task, task.evidence, settings, config_dir, today)
            else:
                list_folder(local_folder(task.evidence, config_dir), config_dir)
        except (RecurringSourceError, OSError) as exc:
            problems.append(f"recurring task {task.id}: {_named(exc, task)}")
    return problems


def _named(exc: Exception, task: RecurringTask) -> Exception:
    """An OS error names the file it could not read, without the absolute path of the machine."""
    if isinstance(exc, OSError) and not isinstance(exc, RecurringSourceError):
        return RecurringSourceError(f"{task.evidence.describe()}: {exc.strerror or type(exc).__name__}")
    return exc


def _resource_id(task: RecurringTask) -> str:
    return f"recurring:{task.id}"


def _find(ctx: CollectContext, task: RecurringTask, settings: RecurringConfig, config_dir: Path, today: date) -> Found:
    source = task.evidence
    limit = settings.max_document_bytes
    if isinstance(source, RegisterSource):
        return _from_register(task, source, settings, config_dir, today)
    too_large = f"larger than {settings.max_document_mb:g} MB"
    if isinstance(source, FolderSource):
        folder = local_folder(source, config_dir)
        entries, skipped = list_folder(folder, config_dir)

        def read(chosen: Dated) -> bytes | str:
            data = read_local(Path(chosen.entry.key), limit)
            return too_large if data is None else data

    else:
        assert isinstance(source, S3Source)
        s3 = ctx.client("s3", source.region or ctx.region)
        entries, skipped = list_s3(s3, source), 0

        def read(chosen: Dated) -> bytes | str:
            if chosen.entry.size > limit:
                return too_large  # not even downloaded
            if chosen.entry.archived:
                return f"archived in {chosen.entry.archived}: restore it to have it copied"
            try:
                data = read_s3(s3, source.bucket, chosen.entry.key, limit)
            except ClientError as exc:  # an archive tier of Intelligent-Tiering is only known when read
                if error_code(exc) != "InvalidObjectState":
                    raise
                return "archived: restore it to have it copied"
            return too_large if data is None else data

    listing = date_entries(entries, task, today, skipped)
    found = Found(candidates=len(listing.dated), ignored=listing.ignored)
    chosen = latest(listing, settings.max_documents_per_task)
    if task.completion:
        chosen = chosen[-1:]  # one export: the last by name of the latest date
    for index, item in enumerate(chosen):
        data = read(item)
        if index == 0:
            found.day, found.basis, found.file, found.size = item.day, item.basis, item.entry.name, item.entry.size
        if isinstance(data, str):
            found.note = f"{item.entry.name}: {data}; recorded, not copied"
            if task.completion:  # a rate nobody can read is unknown, never a PASS
                raise RecurringSourceError(f"{item.entry.location}: export {data}; not read")
            continue
        document = _document(task, item.entry.name, item.entry.location, data, found)
        if index == 0:
            found.sha256, found.copy = document.sha256, document.path
        if task.completion:
            counted = count_completion(data, item.entry.location, task.completion)
            found.completion = (counted.total, counted.completed)
    return found


def _document(task: RecurringTask, name: str, location: str, data: bytes, found: Found) -> EvidenceDocument:
    digest = hashlib.sha256(data).hexdigest()
    document = EvidenceDocument(document_path(task.id, name, digest), data, digest, location)
    if all(d.path != document.path for d in found.documents):
        found.documents.append(document)
    return document


def _from_register(
    task: RecurringTask, source: RegisterSource, settings: RecurringConfig, config_dir: Path, today: date
) -> Found:
    """The register's newest row dates the task; the register itself (and a local linked document) is sealed."""
    path = config_dir / source.path
    where = shown(path, config_dir)
    if not path.is_file():
        raise RecurringSourceError(f"{where}: register not found")
    if path.is_symlink() or config_dir.resolve() not in path.resolve().parents:
        raise RecurringSourceError(f"{where}: a symlink or outside the config directory; not read")
    data = read_local(path, settings.max_document_bytes)
    if data is None:
        raise RecurringSourceError(f"{where}: larger than {settings.max_document_mb:g} MB; not read")
    register = read_register(data, where, source, today, settings.relative_dates)
    found = Found(candidates=len(register.rows), ignored=register.future_rows)
    register_copy = _document(task, Path(source.path).name, where, data, found)
    if not register.rows:
        return found  # readable and empty: nothing was ever recorded (FAIL, not ERROR)
    newest = max(register.rows, key=lambda r: (r.day, r.line))
    found.day, found.basis, found.link = newest.day, f"register row (line {newest.line})", newest.link or None
    found.file, found.sha256, found.copy, found.size = where, register_copy.sha256, register_copy.path, len(data)
    linked = _linked_document(newest.link, config_dir, settings.max_document_bytes)
    if linked is not None:
        document = _document(task, Path(newest.link).name, shown(linked[0], config_dir), linked[1], found)
        found.file, found.sha256, found.copy, found.size = newest.link, document.sha256, document.path, len(linked[1])
    elif newest.link and "://" not in newest.link:
        found.note = f"linked document {newest.link!r} not found inside the config directory; not copied"
    return found


def _linked_document(link: str, config_dir: Path, limit: int) -> tuple[Path, bytes] | None:
    """A register link that names a regular file inside the config directory: read it. URLs are recorded only
    (never fetched: a register must not make complyflow call arbitrary hosts)."""
    if not link or "://" in link or link.startswith(("/", "\\")):
        return None
    path = config_dir / link
    root = config_dir.resolve()
    try:
        resolved = path.resolve()
    except OSError:
        return None
    if root not in resolved.parents or path.is_symlink() or not path.is_file():
        return None
    data = read_local(path, limit)
    return (path, data) if data is not None else None


def _add(ctx: CollectContext, task: RecurringTask, today: date, found: Found | None) -> None:
    """One row per task; `found` None: the source could not be read, so every evidence fact stays unknown."""
    facts: dict[str, Any] = dict.fromkeys(FACTS)
    facts.update(
        task_id=task.id,
        title=task.title,
        policy_clause=f"{task.policy_clause.document} {task.policy_clause.section}",
        cadence=task.cadence_text,
        grace_days=task.grace_days,
        remind_days=task.remind_days,
        source=task.evidence.describe(),
        min_completion_rate=task.completion.min_rate if task.completion else None,
    )
    if found is not None:
        schedule = assess(found.day, today, task)
        facts.update(
            evidence_found=found.day is not None,
            documents_found=found.candidates,
            ignored_files=found.ignored,
            last_evidence_date=_iso(found.day),
            evidence_date_basis=found.basis,
            evidence_file=found.file,
            evidence_link=found.link,
            evidence_sha256=found.sha256,
            evidence_bytes=found.size,
            evidence_copy=found.copy,
            note=found.note,
            due_date=_iso(schedule.due),
            grace_end=_iso(schedule.grace_end),
            due_in_days=schedule.due_in_days,
            days_overdue=schedule.days_overdue,
            overdue=schedule.overdue,
            due_soon=schedule.due_soon,
        )
        if found.completion is not None:
            total, completed = found.completion
            facts.update(people_total=total, people_completed=completed, completion_rate=round(completed / total, 4))
    ctx.add(
        RECURRING_TABLE,
        resource_arn=f"complyflow:recurring/{task.id}",
        resource_id=_resource_id(task),
        resource_type=RESOURCE_TYPE,
        resource_name=task.title,
        tags={"owner": task.owner},
        **facts,
    )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


_COLUMNS = (
    Column("task_id", "string", "the task's id in recurring.yaml"),
    Column("title", "string", "what the task is"),
    Column("policy_clause", "string", "the clause the task evidences"),
    Column("cadence", "string", "monthly, quarterly, semiannual, annual or every N days"),
    Column("grace_days", "integer", "days after the due date before the task is overdue"),
    Column("remind_days", "integer", "days before the due date that the owner is reminded"),
    Column("source", "string", "where the evidence is read: a folder, an S3 prefix or a register"),
    Column("evidence_found", "boolean", "some dated evidence exists (false: never done, or never filed)"),
    Column("documents_found", "integer", "dated documents (or register rows) on or before the collection day"),
    Column("ignored_files", "integer", "files not counted: undated, dated in the future, hidden, symlinks"),
    Column("last_evidence_date", "date", "date of the latest evidence"),
    Column("evidence_date_basis", "string", "where that date comes from: file name, register row, modified time"),
    Column("evidence_file", "string", "the latest document's name (untrusted text) or register link"),
    Column("evidence_link", "string", "the register row's link, if any (recorded, never fetched)"),
    Column("evidence_sha256", "string", "SHA-256 of the latest document as copied into the run"),
    Column("evidence_bytes", "integer", "its size"),
    Column("evidence_copy", "string", "its path in the sealed run folder; null: not copied (see note)"),
    Column("note", "string", "why a document was not copied, if it was not"),
    Column("due_date", "date", "latest evidence + cadence (calendar months, or days)"),
    Column("grace_end", "date", "due_date + grace_days: the last day that is not overdue"),
    Column("due_in_days", "integer", "days until due_date (negative: past due)"),
    Column("days_overdue", "integer", "days past grace_end (0: not overdue)"),
    Column("overdue", "boolean", "no evidence at all, or the collection day is after grace_end"),
    Column("due_soon", "boolean", "not overdue, and due within remind_days (or past due, within grace)"),
    Column("min_completion_rate", "number", "training tasks: the completion rate required (0-1)"),
    Column("people_total", "integer", "training tasks: people in the latest export"),
    Column("people_completed", "integer", "training tasks: of them, people who completed"),
    Column("completion_rate", "number", "training tasks: people_completed / people_total"),
)
FACTS = tuple(c.name for c in _COLUMNS)

COLLECTOR = Collector(
    name="recurring-evidence",
    service="recurring",
    scope="organization",
    declares=(
        TableSpec(
            RECURRING_TABLE,
            "One row per recurring evidence task of recurring.yaml: its latest evidence and where it stands.",
            _COLUMNS,
        ),
    ),
    calls=(
        call(
            "s3",
            "ListObjectsV2",
            when="recurring.yaml task evidence kind: s3",
            action="s3:ListBucket",
            resources=RECURRING_PREFIXES,
        ),
        call("s3", "GetObject", when="recurring.yaml task evidence kind: s3", resources=RECURRING_OBJECTS),
    ),
    collect=collect_recurring,
    description="Recurring evidence tasks (configs/recurring.yaml): folders, S3 prefixes, registers",
)
